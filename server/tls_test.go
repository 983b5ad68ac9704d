package server_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// With certificates the API serves HTTPS, followers forward to the leader
// over HTTPS, raft runs mutual TLS, and gossip is encrypted.
func TestTLSAndGossipEncryption(t *testing.T) {
	ca := testutil.NewCA(t, "conflux test CA")
	key := make([]byte, 32)
	rand.Read(key)
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = ca.WriteFiles(t, t.TempDir(), cfg.NodeID)
		cfg.GossipKey = base64.StdEncoding.EncodeToString(key)
	})
	leader := c.leader()
	f := (leader + 1) % 3
	if url := c.nodes[f].URL(); !strings.HasPrefix(url, "https://") {
		t.Fatalf("node URL %s is not https", url)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	cl, err := api.NewClient(c.nodes[f].URL(), api.WithToken(writeToken), api.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.PutFragment(context.Background(), tunnelFragment("web", 1, "app.example.com"))
	if err != nil {
		t.Fatalf("write through a follower over HTTPS: %v", err)
	}
	c.converge(res.Index)

	// A client that does not trust the CA is refused.
	plain, _ := api.NewClient(c.nodes[f].URL(), api.WithToken(writeToken))
	if _, err := plain.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted client: got %v, want a certificate error", err)
	}
}
