package server_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/server"
)

// A machine crash may leave the unsynced state file with pages missing in
// any order. The node must not trust it: it rebuilds from the newest raft
// snapshot plus the log after it (both fsync'd) and ends with the same
// state as the others. Here the log before the snapshot is compacted away,
// so only a correct snapshot-plus-log rebuild can succeed.
func TestStateIsRebuiltFromRaftAfterAMachineCrash(t *testing.T) {
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		cfg.Raft.SnapshotThreshold = 8
		cfg.Raft.SnapshotInterval = 50 * time.Millisecond
		cfg.Raft.TrailingLogs = 4
	})
	want := c.converge(writeFragments(t, c, "pre", 40))

	victim := c.follower()
	c.kill(victim)
	statePath := filepath.Join(c.cfgs[victim].DataDir, "state.db")
	// What a machine crash leaves: the marker of an earlier boot, and a
	// file whose content cannot be trusted.
	if err := os.WriteFile(statePath+".open", []byte("an-earlier-boot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, []byte("torn pages"), 0o600); err != nil {
		t.Fatal(err)
	}
	if snaps, _ := filepath.Glob(filepath.Join(c.cfgs[victim].DataDir, "raft", "snapshots", "*")); len(snaps) == 0 {
		t.Fatal("no raft snapshot was taken; the test would not exercise the snapshot path")
	}

	c.start(victim)
	if got := c.converge(c.lastIndex()); got != want {
		t.Fatalf("rebuilt state differs:\nwant:\n%s\ngot:\n%s", want, got)
	}
	if _, err := os.Stat(statePath + ".open"); err != nil {
		t.Fatalf("the running node has no open marker: %v", err)
	}
}
