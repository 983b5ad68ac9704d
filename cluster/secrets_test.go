package cluster

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

func TestParseClusterSecrets(t *testing.T) {
	good1, _ := GenerateClusterSecret()
	good2, _ := GenerateClusterSecret()
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1, 2, 3, 200}, 4))
	typed := base64.StdEncoding.EncodeToString([]byte("this is my very secret passphrase!!"))
	pattern := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0, 255}, 16))
	placeholder := "cmVwbGFjZS13aXRoLTMyLXJhbmRvbS1ieXRlcy0hISE="
	for _, tc := range []struct {
		name    string
		content string
		want    int    // secrets parsed
		err     string // substring of the error
	}{
		{"one", good1 + "\n", 1, ""},
		{"comments and blanks", "# rotation\n\n  " + good1 + "  \n# old\n" + good2 + "\n", 2, ""},
		{"empty", "# nothing\n\n", 0, "no secret"},
		{"not base64", "# x\nnot-base64!\n", 0, "f line 2: not standard base64"},
		{"short", short, 0, "f line 1: 16 bytes, at least 32"},
		{"placeholder", good1 + "\n" + placeholder, 0, "f line 2: it is a published placeholder"},
		{"typed passphrase", typed, 0, "f line 1: every byte is printable ASCII"},
		{"pattern", pattern, 0, "f line 1: only 2 distinct byte values"},
		{"duplicate", good1 + "\n" + good1, 0, "f line 2: the same secret as line 1"},
		{"too many", strings.Repeat(good1+"\n", 1) + good2 + "\n" + mustSecret(t) + "\n" + mustSecret(t) + "\n" + mustSecret(t), 0, "5 secrets, at most 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseClusterSecrets("f", []byte(tc.content))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want it to contain %q", err, tc.err)
				}
				// The error never quotes key material.
				for _, line := range strings.Split(tc.content, "\n") {
					if len(line) > 8 && !strings.HasPrefix(line, "#") && strings.Contains(err.Error(), strings.TrimSpace(line)) {
						t.Fatalf("error %q quotes the secret", err)
					}
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %d secrets, err %v; want %d", len(got), err, tc.want)
			}
		})
	}
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := GenerateClusterSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckGossipKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  []byte
		err  string
	}{
		{"random 32", mustRandom(t, 32), ""},
		{"random 16", mustRandom(t, 16), ""},
		{"20 bytes", mustRandom(t, 20), "20 bytes"},
		{"deploy/base placeholder", []byte("replace-with-32-random-bytes-!!!"), "published placeholder"},
		{"typed", []byte("0123456789abcdef"), "printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckGossipKey(base64.StdEncoding.EncodeToString(tc.key), tc.key)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

func mustRandom(t *testing.T, n int) []byte {
	t.Helper()
	b, err := RandomSecret()
	if err != nil {
		t.Fatal(err)
	}
	for len(b) < n {
		more, _ := RandomSecret()
		b = append(b, more...)
	}
	return b[:n]
}

// Every server derives the same CA and gossip key from a secret, and
// different secrets give unrelated ones.
func TestDerivationIsDeterministic(t *testing.T) {
	s1, s2 := mustRandom(t, 32), mustRandom(t, 32)
	a, err := deriveCA(s1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := deriveCA(append([]byte(nil), s1...))
	c, _ := deriveCA(s2)
	if !bytes.Equal(a.cert.Raw, b.cert.Raw) {
		t.Error("the same secret derived two different CA certificates")
	}
	if bytes.Equal(a.cert.RawSubjectPublicKeyInfo, c.cert.RawSubjectPublicKeyInfo) {
		t.Error("two secrets derived the same CA key")
	}
	g1, g2 := gossipKeyring([][]byte{s1}), gossipKeyring([][]byte{s1})
	if !bytes.Equal(g1[0], g2[0]) || len(g1[0]) != 32 || bytes.Equal(g1[0], a.key.Seed()) {
		t.Error("gossip key not derived deterministically or not separate from the CA key")
	}
	if SecretsDigest([][]byte{s1, s2}) == SecretsDigest([][]byte{s2, s1}) {
		t.Error("the digest does not tell the primary apart")
	}
}

// A node keeps its key across restarts, its certificate names its id,
// chains to the primary CA, is re-issued after two thirds of its life and
// from a new primary; peers verify against every loaded secret.
func TestNodeCertificate(t *testing.T) {
	dir := t.TempDir()
	s1, s2 := mustRandom(t, 32), mustRandom(t, 32)
	p, err := newPKI("node-a", dir, [][]byte{s1}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	again, err := newPKI("node-a", dir, [][]byte{s1}, time.Hour)
	if err != nil || again.fp != p.fp {
		t.Fatalf("the node key changed across restarts (err %v)", err)
	}
	cert, err := p.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if id := certNodeID(cert.Leaf); id != "node-a" {
		t.Fatalf("certificate names %q", id)
	}
	other, _ := newPKI("node-b", t.TempDir(), [][]byte{s1}, time.Hour)
	if id, fp, err := other.verifyLeaf(cert.Certificate); err != nil || id != "node-a" || fp != p.fp {
		t.Fatalf("verify: id %q fp match %v err %v", id, fp == p.fp, err)
	}
	stranger, _ := newPKI("node-c", t.TempDir(), [][]byte{s2}, time.Hour)
	if _, _, err := stranger.verifyLeaf(cert.Certificate); err == nil {
		t.Fatal("a server of another secret accepted the certificate")
	}

	// Renewal after two thirds of the lifetime.
	now := time.Now()
	p.now = func() time.Time { return now.Add(39 * time.Minute) }
	renewed, _ := p.certificate()
	if renewed.Leaf.SerialNumber.Cmp(cert.Leaf.SerialNumber) != 0 {
		t.Fatal("re-issued before two thirds of the lifetime")
	}
	p.now = func() time.Time { return now.Add(41 * time.Minute) }
	renewed, _ = p.certificate()
	if renewed.Leaf.SerialNumber.Cmp(cert.Leaf.SerialNumber) == 0 || !renewed.Leaf.NotAfter.After(cert.Leaf.NotAfter) {
		t.Fatal("not re-issued after two thirds of the lifetime")
	}
	// An expired certificate is refused.
	other.now = func() time.Time { return now.Add(2 * time.Hour) }
	if _, _, err := other.verifyLeaf(cert.Certificate); err == nil {
		t.Fatal("an expired certificate was accepted")
	}
	other.now = time.Now

	// Rotation: begin (s1 primary, s2 accepted), promote (s2 primary).
	p.now = time.Now
	if err := stranger.setSecrets([][]byte{s2, s1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := stranger.verifyLeaf(cert.Certificate); err != nil {
		t.Fatalf("a server that accepts both secrets refused the old primary's certificate: %v", err)
	}
	if err := p.setSecrets([][]byte{s2, s1}); err != nil {
		t.Fatal(err)
	}
	promoted, _ := p.certificate()
	if _, err := promoted.Leaf.Verify(x509.VerifyOptions{Roots: stranger.roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatal(err)
	}
	if err := other.setSecrets([][]byte{s1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.verifyLeaf(promoted.Certificate); err == nil {
		t.Fatal("a server that only knows the old secret accepted the new primary's certificate")
	}
}

// A full secret rotation on a live cluster (begin, promote, finish, each
// step loaded by every server before the next) keeps raft and gossip up:
// writes go on, the leader stays, and afterwards only the new secret
// admits a server.
func TestLiveSecretRotation(t *testing.T) {
	nodes, specs, leader := startCluster(t, 3, withIdentities)
	term := leader.raft.CurrentTerm()
	stop := make(chan struct{})
	done := make(chan int)
	go func() { // the write load: every write must succeed
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _, err := leader.Apply(ctx, []byte(fmt.Sprintf("rot-%d", n)))
			cancel()
			if err != nil {
				t.Errorf("write %d during the rotation: %v", n, err)
				return
			}
			n++
		}
	}()
	old, fresh := testSecret, mustRandom(t, 32)
	steps := [][][]byte{{old, fresh}, {fresh, old}, {fresh}}
	for i, secrets := range steps {
		for _, n := range nodes {
			if err := n.SetClusterSecrets(secrets); err != nil {
				t.Fatalf("step %d on %s: %v", i, n.ID(), err)
			}
		}
		digest := SecretsDigest(secrets)
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("every server gossips step %d", i), func() bool {
			for _, n := range nodes {
				for _, id := range ids(nodes) {
					if m := n.gossipMembers()[id]; m.state != gossipAlive || m.meta.Secrets != digest {
						return false
					}
				}
			}
			return true
		})
		// New raft connections work at every step: a snapshot-free
		// check is a write that every server applies.
		waitAllApplied(t, nodes, apply(t, leader, fmt.Sprintf("step-%d", i)))
	}
	close(stop)
	if n := <-done; n == 0 {
		t.Fatal("no write went through during the rotation")
	}
	if l := agreedLeader(nodes); l != leader || leader.raft.CurrentTerm() != term {
		t.Fatalf("leadership changed during the rotation (term %d -> %d)", term, leader.raft.CurrentTerm())
	}
	// Raft connections are pooled: drop them, so that the check below
	// handshakes with the certificates and CAs of the last step.
	for _, n := range nodes {
		n.trans.CloseStreams()
	}
	waitAllApplied(t, nodes, apply(t, leader, "after-rotation"))

	// A server of the old secret is not admitted any more; one of the new
	// secret is.
	stale := newSpecs(t, "stale", 1)[0]
	scfg := testConfig(t, stale, gossipAddrs(specs), 3)
	scfg.ClusterSecrets = [][]byte{old}
	startNode(t, scfg)
	ws := newSpecs(t, "fresh", 1)[0]
	wcfg := testConfig(t, ws, gossipAddrs(specs), 3)
	wcfg.ClusterSecrets = [][]byte{fresh}
	withIdentities(&wcfg)
	startNode(t, wcfg)
	testutil.WaitFor(t, 30*time.Second, "the new-secret server joins", func() bool {
		return strings.Contains(configString(leader), ws.id+"@")
	})
	if cf := configString(leader); strings.Contains(cf, stale.id) {
		t.Fatalf("a server of the retired secret joined: %s", cf)
	}
	if _, ok := leader.gossipMembers()[stale.id]; ok {
		t.Fatal("a server of the retired secret is a gossip member")
	}
}
