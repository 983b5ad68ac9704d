package server_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// Issue #19 finding 1: a node runs unprotected only when told so, and then
// says so. (The refusal without --insecure-cluster is checked on the
// command line: TestE2EServerStartupErrors.)
func TestInsecureClusterWarns(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	c := newTestClusterWith(t, 1, func(cfg *server.Config) {
		cfg.ClusterSecrets = nil
		cfg.InsecureCluster = true
		cfg.InsecureReminder = 50 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	c.leader()
	// At start, and again every reminder interval while it runs.
	testutil.WaitFor(t, 10*time.Second, "the insecure-cluster warning repeated", func() bool {
		return strings.Count(logs.String(), "INSECURE CLUSTER") >= 3
	})
	out := logs.String()
	if !strings.Contains(out, "INSECURE CLUSTER") || !strings.Contains(out, "raft runs without mutual TLS and gossip is not encrypted") {
		t.Fatalf("no insecure-cluster warning in the log:\n%s", out)
	}
	if st := c.nodes[0].Cluster().Status(); st.Security != "insecure" {
		t.Fatalf("status security %q, want insecure", st.Security)
	}
}

// Without a secret, operator TLS with a gossip key, or InsecureCluster,
// a node refuses to start and says which flags to set.
func TestUnprotectedClusterRefused(t *testing.T) {
	cfg := server.Config{
		NodeID: "solo", DataDir: t.TempDir(), Tokens: testTokens(),
		HTTPAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
		GossipKey: "cmVwbGFjZS13aXRoLTMyLXJhbmRvbS1ieXRlcy0hISE=",
	}
	if _, err := server.Start(cfg); err == nil || !strings.Contains(err.Error(), "--gossip-key: it is a published placeholder") {
		t.Fatalf("placeholder gossip key: %v", err)
	}
	cfg.GossipKey = ""
	_, err := server.Start(cfg)
	if err == nil {
		t.Fatal("an unprotected node started")
	}
	for _, want := range []string{"--cluster-secret-file", "conflux-sync operator keygen", "--insecure-cluster"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
