package cluster

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

func TestGossipKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	nodes, specs, leader := startCluster(t, 3, func(c *Config) { c.GossipKey = key })
	idx := apply(t, leader, "secret")
	waitAllApplied(t, nodes, idx)
	// A node with another key cannot join.
	spec := newSpecs(t, "other", 1)[0]
	cfg := testConfig(t, spec, nil, 3)
	cfg.GossipKey = []byte("fedcba9876543210")
	other := startNode(t, cfg)
	if n, err := other.ml.Join([]string{specs[0].gossipAddr}); err == nil || n != 0 {
		t.Fatalf("join with a different gossip key: contacted %d, err %v", n, err)
	}
	if _, err := New(Config{NodeID: "x", DataDir: t.TempDir(), FSM: newTestFSM(t, t.TempDir()), GossipKey: []byte("short")}); err == nil {
		t.Fatal("New accepted a 5-byte gossip key")
	}
}

// After losing the cluster, one node is recovered with a single-peer
// configuration: it starts, becomes leader and keeps its data.
func TestRecoverCluster(t *testing.T) {
	nodes, specs, leader := startCluster(t, 3, nil)
	cmds := applyN(t, leader, "keep", 10)
	// Force a snapshot on the chosen node so recovery also covers restoring
	// from a snapshot plus later log entries.
	survivor := nodes[0]
	testutil.WaitFor(t, 5*time.Second, "survivor applied everything", func() bool { return fsmOf(survivor).has(cmds...) })
	if err := survivor.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	apply(t, leader, "after-snapshot")
	cmds = append(cmds, "after-snapshot")
	testutil.WaitFor(t, 5*time.Second, "survivor applied after-snapshot", func() bool { return fsmOf(survivor).has(cmds...) })
	for _, n := range nodes {
		if err := n.Kill(); err != nil {
			t.Fatal(err)
		}
	}

	cfg := testConfig(t, specs[0], nil, 3)
	err := RecoverCluster(cfg, []raft.Server{{
		Suffrage: raft.Voter, ID: raft.ServerID(specs[0].id), Address: raft.ServerAddress(specs[0].raftAddr),
	}})
	if err != nil {
		t.Fatalf("RecoverCluster: %v", err)
	}
	// Start with a fresh FSM (the recovery FSM is discarded).
	cfg = testConfig(t, specs[0], nil, 3)
	n := startNode(t, cfg)
	testutil.WaitFor(t, 15*time.Second, "recovered node leads", n.IsLeader)
	if got := voterIDs(n); len(got) != 1 || got[0] != specs[0].id {
		t.Fatalf("voters after recovery: %v", got)
	}
	if !fsmOf(n).has(cmds...) {
		t.Fatalf("recovered node lost data: %v", fsmOf(n).commands())
	}
	apply(t, n, "after-recovery")
	if got := len(fsmOf(n).commands()); got != len(cmds)+1 {
		t.Fatalf("recovered node has %d commands, want %d", got, len(cmds)+1)
	}
	// Recovering a data dir without state is refused.
	empty := testConfig(t, newSpecs(t, "e", 1)[0], nil, 3)
	if err := RecoverCluster(empty, []raft.Server{{ID: "e0", Address: "127.0.0.1:1"}}); err == nil {
		t.Fatal("RecoverCluster without state succeeded")
	}
}
