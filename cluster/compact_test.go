package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// replayRecordingFSM is a testFSM that remembers every command it was
// given to apply, including those a later snapshot replaced.
type replayRecordingFSM struct {
	*testFSM
	mu   sync.Mutex
	seen []string
}

func (f *replayRecordingFSM) ApplyBatch(logs []*raft.Log) []any {
	f.mu.Lock()
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			f.seen = append(f.seen, string(l.Data))
		}
	}
	f.mu.Unlock()
	return f.testFSM.ApplyBatch(logs)
}

func (f *replayRecordingFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *replayRecordingFSM) applied() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// After a user restore every node drops the log entries the restored
// snapshot replaced, so a node that joins later starts from the snapshot
// instead of replaying the history before it.
func TestLogCompactedAfterUserRestore(t *testing.T) {
	nodes, specs, leader := startCluster(t, 3, nil)
	// More entries than one AppendEntries carries: a shorter log reaches
	// the restore's gap in the first batch, and raft sends the snapshot
	// instead even without the compaction.
	applyN(t, leader, "old", 2*MaxAppendEntries)

	image, err := json.Marshal(testFSMState{Cmds: []string{"restored"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Size: int64(len(image))}
	if err := leader.Restore(ctx, meta, bytes.NewReader(image)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	restoreIndex := leader.raft.LastIndex() - 1 // the barrier follows the restored snapshot
	after := apply(t, leader, "after")
	waitAllApplied(t, nodes, after)

	// The leader compacts at once; a follower at its next check.
	for _, n := range nodes {
		testutil.WaitFor(t, 3*compactCheckInterval, n.ID()+" compacted the superseded log", func() bool {
			// An empty log (everything compacted) has first index 0.
			first, err := n.store.FirstIndex()
			return err == nil && (first == 0 || first > restoreIndex)
		})
		if got := fsmOf(n).commands(); strings.Join(got, ",") != "restored,after" {
			t.Fatalf("%s holds %v, want [restored after]", n.ID(), got)
		}
	}

	extra := newSpecs(t, "z", 1)[0]
	cfg := testConfig(t, extra, gossipAddrs(specs), 3)
	joiner := &replayRecordingFSM{testFSM: newTestFSM(t, extra.dir)}
	cfg.FSM = joiner
	startNode(t, cfg)
	testutil.WaitFor(t, 20*time.Second, "the new node holds the restored state", func() bool {
		return joiner.has("restored", "after")
	})
	for _, cmd := range joiner.applied() {
		if strings.HasPrefix(cmd, "old-") {
			t.Fatalf("the new node replayed %q, an entry the restore replaced (applied %v)", cmd, joiner.applied())
		}
	}
}

// An ordinary snapshot keeps TrailingLogs entries: the check leaves that
// log alone.
func TestOwnSnapshotKeepsTrailingLogs(t *testing.T) {
	_, _, leader := startCluster(t, 3, nil)
	applyN(t, leader, "x", 20)
	if err := leader.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if superseded, _, err := leader.logSuperseded(); err != nil || superseded {
		t.Fatalf("superseded=%v err=%v after the node's own snapshot, want false", superseded, err)
	}
	before, err := leader.store.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.compactSupersededLog(); err != nil {
		t.Fatal(err)
	}
	if after, _ := leader.store.FirstIndex(); after != before {
		t.Fatalf("first index %d -> %d: an ordinary snapshot's trailing log was compacted", before, after)
	}
}
