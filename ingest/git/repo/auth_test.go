package repo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/conflux-sync/conflux-sync/ingest/git/repo"
	"github.com/conflux-sync/conflux-sync/internal/gittest"
)

func fmtV(err error) string      { return fmt.Sprintf("%v", err) }
func fmtPlusV(err error) string  { return fmt.Sprintf("%+v", err) }
func fmtSharpV(err error) string { return fmt.Sprintf("%#v", err) }
func wrap(err error) error       { return fmt.Errorf("wrapped: %w", err) }

const passphrase = "p4ssphr4se-S3cret"

// keyPair is a generated ed25519 key.
type keyPair struct {
	signer    ssh.Signer
	plain     []byte // OpenSSH private key
	encrypted []byte // the same, encrypted with passphrase
}

func newKey(t *testing.T) keyPair {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{signer: signer, plain: pem.EncodeToMemory(plain), encrypted: pem.EncodeToMemory(enc)}
}

func knownHostsLine(addr string, key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n")
}

func TestAuthFromSecret(t *testing.T) {
	t.Parallel()
	client, host := newKey(t), newKey(t)
	kh := knownHostsLine("github.com", host.signer.PublicKey())
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{TLS: true}, nil)
	ca := srv.CAPEM()
	const (
		https = "https://example.com/r.git"
		sshU  = "ssh://git@example.com/r.git"
		scp   = "git@github.com:org/r.git"
	)
	type d = map[string][]byte
	for _, tc := range []struct {
		name   string
		url    string
		data   d
		want   repo.Auth
		errHas []string // substrings of the error; nil: no error
	}{
		{"empty https", https, d{}, repo.Auth{}, nil},
		{"basic", https, d{"username": []byte(user), "password": []byte(password)}, repo.Auth{Username: user, Password: password}, nil},
		{"bearer", https, d{"bearerToken": []byte(token)}, repo.Auth{BearerToken: token}, nil},
		{"bearer with ca", https, d{"bearerToken": []byte(token), "ca.crt": ca}, repo.Auth{BearerToken: token, CAFile: ca}, nil},
		{"plain http", "http://127.0.0.1/r.git", d{"username": []byte(user), "password": []byte(password)}, repo.Auth{Username: user, Password: password}, nil},
		{"ssh keys ignored for https", https, d{"identity": client.plain}, repo.Auth{}, nil},
		{"username without password", https, d{"username": []byte(user)}, repo.Auth{}, []string{`"username" without "password"`}},
		{"password without username", https, d{"password": []byte(password)}, repo.Auth{}, []string{`"password" without "username"`}},
		{"bearer and basic", https, d{"bearerToken": []byte(token), "username": []byte(user), "password": []byte(password)}, repo.Auth{}, []string{`"bearerToken"`, `"username"`}},
		{"bad ca", https, d{"ca.crt": []byte("not a certificate " + password)}, repo.Auth{}, []string{`"ca.crt"`}},
		{"ssh", sshU, d{"identity": client.plain, "known_hosts": kh}, repo.Auth{Identity: client.plain, KnownHosts: kh}, nil},
		{"scp-like is ssh", scp, d{"identity": client.plain, "known_hosts": kh, "identity.pub": []byte("x")}, repo.Auth{Identity: client.plain, KnownHosts: kh}, nil},
		{"encrypted identity", sshU, d{"identity": client.encrypted, "known_hosts": kh, "password": []byte(passphrase)},
			repo.Auth{Identity: client.encrypted, KnownHosts: kh, Passphrase: passphrase}, nil},
		{"identity without known_hosts", sshU, d{"identity": client.plain}, repo.Auth{}, []string{`"identity" without "known_hosts"`}},
		{"ssh without identity", sshU, d{"known_hosts": kh}, repo.Auth{}, []string{`no "identity"`}},
		{"encrypted identity without password", sshU, d{"identity": client.encrypted, "known_hosts": kh}, repo.Auth{}, []string{`"identity" is encrypted`, `"password"`}},
		{"encrypted identity with wrong password", sshU, d{"identity": client.encrypted, "known_hosts": kh, "password": []byte(password)}, repo.Auth{}, []string{`"identity"`, `"password"`}},
		{"invalid identity", sshU, d{"identity": []byte("-----BEGIN " + password + "-----\n"), "known_hosts": kh}, repo.Auth{}, []string{`"identity"`}},
		{"invalid known_hosts", sshU, d{"identity": client.plain, "known_hosts": []byte("github.com ssh-ed25519 !!!\n")}, repo.Auth{}, []string{`"known_hosts"`}},
		{"comment-only known_hosts", sshU, d{"identity": client.plain, "known_hosts": []byte("# nothing\n")}, repo.Auth{}, []string{`"known_hosts"`}},
		{"git with keys", "git://example.com/r.git", d{"username": []byte(user), "password": []byte(password)}, repo.Auth{}, []string{`"password", "username"`, "git://"}},
		{"file without keys", "file:///srv/r.git", d{}, repo.Auth{}, nil},
		{"invalid URL", "ftp://example.com/r.git", d{}, repo.Auth{}, []string{"allowed schemes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := repo.AuthFromSecret(tc.url, tc.data)
			if tc.errHas == nil {
				if err != nil {
					t.Fatalf("AuthFromSecret: %v", err)
				}
				if got.String() != tc.want.String() || got.Username != tc.want.Username || got.Password != tc.want.Password ||
					got.BearerToken != tc.want.BearerToken || got.Passphrase != tc.want.Passphrase ||
					!bytes.Equal(got.Identity, tc.want.Identity) || !bytes.Equal(got.KnownHosts, tc.want.KnownHosts) ||
					!bytes.Equal(got.CAFile, tc.want.CAFile) {
					t.Errorf("AuthFromSecret = %v, want %v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("AuthFromSecret = %v, want an error", got)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			assertNoSecret(t, err, password, token, passphrase, string(client.plain), "BEGIN "+password)
		})
	}
}

func TestAuthStringHidesSecrets(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	a := repo.Auth{Username: user, Password: password, BearerToken: token, Identity: k.plain, Passphrase: passphrase}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), fmt.Sprintf("%v", &a)} {
		for _, secret := range []string{password, token, passphrase, string(k.plain[40:60])} {
			if strings.Contains(s, secret) {
				t.Errorf("formatted Auth reveals a secret: %s", s)
			}
		}
	}
}

// sshServer is an in-process ssh server that authenticates clients by
// public key and then rejects every channel: enough to test host key
// checking and client authentication (there is no git behind it).
func sshServer(t *testing.T, hostKey ssh.Signer, clientKey ssh.PublicKey) string {
	t.Helper()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), clientKey.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown key")
		},
	}
	cfg.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for ch := range chans {
					_ = ch.Reject(ssh.Prohibited, "no git here")
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func TestSSHAuth(t *testing.T) {
	t.Parallel()
	client, host, other := newKey(t), newKey(t), newKey(t)
	addr := sshServer(t, host.signer, client.signer.PublicKey())
	url := "ssh://git@" + addr + "/r.git"
	for _, tc := range []struct {
		name   string
		url    string
		auth   repo.Auth
		reason string
	}{
		// Host key and client key accepted: the failure comes after authentication.
		{"authenticated", url, repo.Auth{Identity: client.plain, KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "GitOperationFailed"},
		{"authenticated, encrypted key", url, repo.Auth{Identity: client.encrypted, Passphrase: passphrase, KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "GitOperationFailed"},
		{"host key mismatch", url, repo.Auth{Identity: client.plain, KnownHosts: knownHostsLine(addr, other.signer.PublicKey())}, "AuthenticationFailed"},
		{"host unknown", url, repo.Auth{Identity: client.plain, KnownHosts: knownHostsLine("example.com", host.signer.PublicKey())}, "AuthenticationFailed"},
		{"client key refused", url, repo.Auth{Identity: other.plain, KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "AuthenticationFailed"},
		{"no known_hosts", url, repo.Auth{Identity: client.plain}, "AuthenticationFailed"},
		{"no identity", url, repo.Auth{KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "AuthenticationFailed"},
		{"wrong passphrase", url, repo.Auth{Identity: client.encrypted, Passphrase: "nope", KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "AuthenticationFailed"},
		{"closed port", "ssh://git@127.0.0.1:" + closedPort(t) + "/r.git", repo.Auth{Identity: client.plain, KnownHosts: knownHostsLine(addr, host.signer.PublicKey())}, "Unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := repo.Head(c, tc.url, repo.Ref{}, tc.auth)
			if err == nil {
				t.Fatal("Head succeeded against a server without git")
			}
			if got := repo.ReasonOf(err); got != tc.reason {
				t.Errorf("ReasonOf(%q) = %s, want %s", err, got, tc.reason)
			}
			assertNoSecret(t, err, passphrase, string(client.plain))
		})
	}
}
