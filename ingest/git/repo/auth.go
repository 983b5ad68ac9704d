package repo

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	skeemaknownhosts "github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// Keys of the Secret data AuthFromSecret reads, as Flux's GitRepository
// uses them.
const (
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyBearerToken = "bearerToken"
	KeyIdentity    = "identity"
	KeyKnownHosts  = "known_hosts"
	KeyCA          = "ca.crt"
)

// Auth holds credentials read from a Secret. Its fields are never printed
// by this package; do not log them.
type Auth struct {
	Username, Password string // https basic auth
	BearerToken        string // https "Authorization: Bearer"
	Identity           []byte // ssh private key (PEM/OpenSSH)
	KnownHosts         []byte // ssh known_hosts; required with Identity (host keys are always checked)
	Passphrase         string // for an encrypted Identity (Flux's key is "password" for ssh)
	CAFile             []byte // extra CA certificates (PEM) for https
}

// String hides the credentials should an Auth reach a log.
func (a Auth) String() string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"username", a.Username != ""}, {"password", a.Password != ""}, {"bearerToken", a.BearerToken != ""},
		{"identity", len(a.Identity) > 0}, {"known_hosts", len(a.KnownHosts) > 0},
		{"passphrase", a.Passphrase != ""}, {"ca", len(a.CAFile) > 0},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return "Auth{" + strings.Join(set, ",") + "}"
}

// GoString hides the credentials from %#v too.
func (a Auth) GoString() string { return a.String() }

func authError(format string, args ...any) *Error {
	return newError(ReasonAuthenticationFailed, format, args...)
}

// AuthFromSecret maps the data of a Secret to an Auth for url: keys
// username, password, bearerToken and ca.crt for https and http; identity,
// known_hosts and password (the identity's passphrase) for ssh; other keys
// are ignored. Errors (Reason AuthenticationFailed, or InvalidURL for a bad
// url) name the keys at fault, never their values.
func AuthFromSecret(url string, data map[string][]byte) (Auth, error) {
	s, err := scheme(url)
	if err != nil {
		return Auth{}, err
	}
	has := func(k string) bool { return len(data[k]) > 0 }
	str := func(k string) string { return string(data[k]) }
	var a Auth
	switch s {
	case "https", "http":
		a.Username, a.Password, a.BearerToken = str(KeyUsername), str(KeyPassword), str(KeyBearerToken)
		switch {
		case has(KeyBearerToken) && (has(KeyUsername) || has(KeyPassword)):
			return Auth{}, authError("Secret has both %q and %q/%q: use either a bearer token or basic auth", KeyBearerToken, KeyUsername, KeyPassword)
		case has(KeyUsername) && !has(KeyPassword):
			return Auth{}, authError("Secret has %q without %q", KeyUsername, KeyPassword)
		case has(KeyPassword) && !has(KeyUsername):
			return Auth{}, authError("Secret has %q without %q", KeyPassword, KeyUsername)
		}
		if has(KeyCA) {
			if !x509.NewCertPool().AppendCertsFromPEM(data[KeyCA]) {
				return Auth{}, authError("Secret key %q holds no PEM certificate", KeyCA)
			}
			a.CAFile = bytes.Clone(data[KeyCA])
		}
	case "ssh":
		a.Username, a.Passphrase = str(KeyUsername), str(KeyPassword)
		a.Identity, a.KnownHosts = bytes.Clone(data[KeyIdentity]), bytes.Clone(data[KeyKnownHosts])
		if !has(KeyIdentity) {
			return Auth{}, authError("Secret has no %q for an ssh URL", KeyIdentity)
		}
		if !has(KeyKnownHosts) {
			return Auth{}, authError("Secret has %q without %q", KeyIdentity, KeyKnownHosts)
		}
		if _, err := parseIdentity("git", a); err != nil {
			return Auth{}, err
		}
		if err := checkKnownHosts(a.KnownHosts); err != nil {
			return Auth{}, err
		}
	default: // git, file
		var keys []string
		for _, k := range []string{KeyUsername, KeyPassword, KeyBearerToken, KeyIdentity, KeyKnownHosts, KeyCA} {
			if has(k) {
				keys = append(keys, fmt.Sprintf("%q", k))
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			return Auth{}, authError("Secret keys %s are not supported with %s:// URLs", strings.Join(keys, ", "), s)
		}
	}
	return a, nil
}

func parseIdentity(user string, a Auth) (*gitssh.PublicKeys, error) {
	var missing *ssh.PassphraseMissingError
	_, err := ssh.ParsePrivateKey(a.Identity)
	if errors.As(err, &missing) && a.Passphrase == "" {
		return nil, authError("Secret key %q is encrypted and %q (its passphrase) is empty", KeyIdentity, KeyPassword)
	}
	pk, err := gitssh.NewPublicKeys(user, a.Identity, a.Passphrase)
	if err == nil {
		return pk, nil
	}
	if errors.Is(err, x509.IncorrectPasswordError) || strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "passphrase") {
		return nil, authError("cannot decrypt Secret key %q with %q", KeyIdentity, KeyPassword)
	}
	// The parser's messages hold no key material, but mask the passphrase anyway.
	return nil, authError("Secret key %q is not a valid private key: %s",
		KeyIdentity, redactor{secrets: nonEmpty(a.Passphrase)}.string(err.Error()))
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func checkKnownHosts(data []byte) error {
	rest, n := data, 0
	for {
		_, _, _, _, r, err := ssh.ParseKnownHosts(rest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return authError("Secret key %q is invalid: %v", KeyKnownHosts, err)
		}
		n++
		rest = r
	}
	if n == 0 {
		return authError("Secret key %q holds no host key", KeyKnownHosts)
	}
	return nil
}

// sshTarget returns the user, host and port of an ssh URL or scp-like address.
func sshTarget(raw string) (user, host, port string) {
	if !strings.Contains(raw, "://") {
		m := scpLikeRE.FindStringSubmatch(raw)
		if m == nil {
			return "", "", "22"
		}
		return m[1], m[2], "22"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "22"
	}
	if u.User != nil {
		user = u.User.Username()
	}
	port = u.Port()
	if port == "" {
		port = "22"
	}
	return user, u.Hostname(), port
}

// method builds the go-git auth method (and CA bundle) for url.
func (a Auth) method(rawURL string) (transport.AuthMethod, []byte, error) {
	s, err := scheme(rawURL)
	if err != nil {
		return nil, nil, err
	}
	switch s {
	case "https", "http":
		var ca []byte
		if s == "https" && len(a.CAFile) > 0 {
			ca = a.CAFile
		}
		switch {
		case a.BearerToken != "":
			return &githttp.TokenAuth{Token: a.BearerToken}, ca, nil
		case a.Username != "" || a.Password != "":
			return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, ca, nil
		}
		return nil, ca, nil
	case "ssh":
		if len(a.Identity) == 0 {
			// Never fall back to an ssh agent or ~/.ssh.
			return nil, nil, authError("an ssh URL needs an identity (Secret key %q)", KeyIdentity)
		}
		if len(a.KnownHosts) == 0 {
			return nil, nil, authError("an ssh identity needs known_hosts (Secret key %q)", KeyKnownHosts)
		}
		user, host, port := sshTarget(rawURL)
		if user == "" {
			user = a.Username
		}
		if user == "" {
			user = "git"
		}
		pk, err := parseIdentity(user, a)
		if err != nil {
			return nil, nil, err
		}
		cb, algos, err := hostKeyCallback(a.KnownHosts, net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, err
		}
		pk.HostKeyCallback = cb
		pk.HostKeyAlgorithms = algos
		return pk, nil, nil
	}
	return nil, nil, nil
}

// hostKeyCallback checks host keys against knownHosts (OpenSSH format,
// including hashed hosts, @cert-authority and @revoked lines) and returns
// the host key algorithms known for hostPort. The parsers read files only,
// so knownHosts (public data) is written to a temporary file for the time
// of parsing.
func hostKeyCallback(knownHosts []byte, hostPort string) (ssh.HostKeyCallback, []string, error) {
	if err := checkKnownHosts(knownHosts); err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp("", "known_hosts-*")
	if err != nil {
		return nil, nil, newError(ReasonGitOperationFailed, "write known_hosts: %v", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(knownHosts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, newError(ReasonGitOperationFailed, "write known_hosts: %v", err)
	}
	db, err := skeemaknownhosts.NewDB(f.Name())
	if err != nil {
		return nil, nil, authError("Secret key %q is invalid: %v", KeyKnownHosts, err)
	}
	return db.HostKeyCallback(), db.HostKeyAlgorithms(hostPort), nil
}
