package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/failpoint"
)

// TestCrashAtFailpoints kills one node with SIGKILL at each dangerous point
// of the write path — half-way through applying a batch, half-way through
// streaming a raft snapshot, half-way through installing a snapshot sent by
// the leader, and between checking a restored image and swapping it in —
// while writes continue through another node. Restarted without the
// failpoint, the node must become ready, hold exactly the fragments the
// others hold, lose no acknowledged write, leave no partial files behind
// and keep applying new writes.
func TestCrashAtFailpoints(t *testing.T) {
	tests := []struct {
		name  string
		point string
		// arm restarts the victim (stopped) so that it reaches the point;
		// writes keep going through another node meanwhile.
		wipe bool
	}{
		// A follower catching up after a restart applies many entries
		// per batch.
		{name: "apply mid-batch", point: failpoint.FSMApplyMidBatch},
		// The restarted follower takes a raft snapshot once 32 entries
		// are committed (--raft-snapshot-threshold).
		{name: "raft snapshot mid-write", point: failpoint.StoreSnapshotMidWrite},
		// A wiped follower is sent the leader's snapshot (the log it
		// would need is compacted away): raft stores it, then the FSM
		// restores it — the path of a user restore as well.
		{name: "install snapshot mid-write", point: failpoint.StoreRestoreMidWrite, wipe: true},
		{name: "install snapshot before swap", point: failpoint.StoreRestoreBeforeSwap, wipe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, 3, snapshotFlags...)
			victim := c.follower()
			writer := (victim + 1) % 3
			w := c.startWrites(writer, "pre", 4)
			t.Cleanup(func() { w.halt() })
			w.waitFor(t, 60, 30*time.Second)

			c.stop(victim)
			if tt.wipe {
				c.wipe(victim)
				// A wiped node has a new node key: its id's binding to
				// the old one is dropped first (docs/operations.md,
				// Replace a node).
				c.mustCLI(c.leader(), "peers", "remove", c.nodes[victim].id)
				// Its log must be gone from the others, so that only a
				// snapshot can bring the wiped node back.
				for _, i := range c.live() {
					c.waitSnapshot(i, 40)
				}
			}
			c.nodes[victim].env = []string{failpoint.EnvVar + "=" + tt.point + "=crash"}
			c.start(victim, snapshotFlags...)
			start := time.Now()
			c.waitKilled(victim, 60*time.Second)
			if !c.logContains(victim, "failpoint "+tt.point+": crash") {
				t.Fatalf("%s died, but its log does not show the failpoint %s firing", c.nodes[victim].id, tt.point)
			}
			t.Logf("%s killed at %s %s after its restart", c.nodes[victim].id, tt.point, time.Since(start).Round(time.Millisecond))

			// Back without the failpoint, while the writes go on.
			c.nodes[victim].env = nil
			c.start(victim, snapshotFlags...)
			c.waitReady(victim)
			w.waitFor(t, 30, 30*time.Second)
			acked := w.halt()

			// The recovered node takes writes itself and applies them.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.client(victim).PutFragment(ctx, fragment("after-crash", "after-crash.example.com", nil)); err != nil {
				t.Fatalf("write through the recovered %s: %v", c.nodes[victim].id, err)
			}
			acked[edgeTunnel+"|Ingress/default/after-crash"] = "after-crash.example.com"

			list := c.converged("", 0, 1, 2)
			checkAcked(t, list, acked)
			t.Logf("%d acknowledged writes present on all three nodes (%d fragments)", len(acked), len(fragmentKeys(t, list)))

			if _, unfinished := c.snapshotIndexes(victim); unfinished > 0 {
				t.Errorf("%s keeps %d unfinished raft snapshot folder(s) after its restart", c.nodes[victim].id, unfinished)
			}
			if _, err := os.Stat(filepath.Join(c.nodes[victim].dataDir, "state.db.restore")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the image of the interrupted restore is still there (stat: %v)", err)
			}
		})
	}
}

// TestCrashDuringUserRestore kills the leader half-way through installing
// a snapshot file an operator restores (`conflux-sync snapshot restore`).
// The operator sees the restore fail; whatever the cluster then settles on
// — the state before the restore or the restored one — every node must
// hold the same, and the cluster must take writes.
func TestCrashDuringUserRestore(t *testing.T) {
	c := startCluster(t, 3)
	var frags []map[string]any
	for i := range 6 {
		frags = append(frags, tunnelFragmentJSON(edgeTunnel, fmt.Sprintf("saved-%d", i), 1, fmt.Sprintf("saved-%d.example.com", i)))
	}
	c.putFragments(c.leader(), frags...)
	saved := c.converged("", 0, 1, 2)
	file := filepath.Join(t.TempDir(), "cluster.snap")
	c.mustCLI(c.leader(), "snapshot", "save", file)

	c.putFragments(c.leader(), tunnelFragmentJSON(edgeTunnel, "later", 1, "later.example.com"))
	before := c.converged("", 0, 1, 2)

	// Whichever node leads runs the restore: arm all three, one at a time.
	for i := range c.nodes {
		c.stop(i)
		c.nodes[i].env = []string{failpoint.EnvVar + "=" + failpoint.StoreRestoreMidWrite + "=crash"}
		c.start(i)
		c.waitReady(i)
	}
	victim := c.leader()
	if r := c.cli(victim, "snapshot", "restore", file); r.code == 0 {
		t.Fatalf("snapshot restore succeeded although the leader should have died in it:\n%s", r.stdout)
	}
	c.waitKilled(victim, 30*time.Second)
	if !c.logContains(victim, "failpoint "+failpoint.StoreRestoreMidWrite+": crash") {
		t.Fatalf("%s died, but its log does not show the failpoint firing", c.nodes[victim].id)
	}

	// Disarm the survivors, then bring the victim back.
	for i := range c.nodes {
		c.nodes[i].env = nil
		if i != victim {
			c.stop(i)
			c.start(i)
			c.waitReady(i)
		}
	}
	c.start(victim)
	c.waitReady(victim)
	c.leader()
	got := c.converged("", 0, 1, 2)
	switch got {
	case before:
		t.Logf("the interrupted restore did not take effect; every node holds the state before it")
	case saved:
		t.Logf("the interrupted restore took effect on every node")
	default:
		t.Fatalf("after the interrupted restore the nodes agree on a state that is neither the one before it nor the restored one:\n%s", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.client(victim).PutFragment(ctx, fragment("after-crash", "after-crash.example.com", nil)); err != nil {
		t.Fatalf("write through the recovered %s: %v", c.nodes[victim].id, err)
	}
	checkAcked(t, c.converged("", 0, 1, 2), map[string]string{edgeTunnel + "|Ingress/default/after-crash": "after-crash.example.com"})
}

// TestCrashFailpointsRefuseABadSetting: a mistyped CONFLUX_FAILPOINTS
// stops the server at start with a message naming the variable, rather
// than leaving a fault drill silently disarmed.
func TestCrashFailpointsRefuseABadSetting(t *testing.T) {
	needBinary(t)
	for _, tt := range []struct{ value, want string }{
		{"fsm/apply-mid-bach=crash", `unknown failpoint "fsm/apply-mid-bach"`},
		{"fsm/apply-mid-batch=panic", `unknown action "panic"`},
		{"fsm/apply-mid-batch=crash@0", "is not a hit number"},
	} {
		r := cliWith(t, cliOptions{env: []string{failpoint.EnvVar + "=" + tt.value}},
			"server", "--node-id", "n", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0",
			"--raft-addr", "127.0.0.1:0", "--gossip-addr", "127.0.0.1:0")
		if r.code == 0 || !strings.Contains(r.stderr, failpoint.EnvVar) || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s=%s: exit %d, stderr %q; want a failure naming the variable and %q", failpoint.EnvVar, tt.value, r.code, r.stderr, tt.want)
		}
	}
}
