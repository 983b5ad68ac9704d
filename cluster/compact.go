package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// A snapshot this node did not take from its own log — a user restore, or
// the leader's snapshot sent to a follower that fell behind — supersedes
// every log entry before it. hashicorp/raft drops those entries only from a
// monotonic log store (raft-wal); from raft-boltdb it keeps TrailingLogs of
// them. While they are there, a leader replicates them, from the first, to
// a new or wiped node, which applies the whole history before it meets the
// gap at the snapshot's index and is sent the snapshot that replaces all it
// applied: a catch-up costs every write ever made instead of one snapshot
// (docs/benchmarks.md, "Node catch-up").
//
// compactLoop finds such a log (it lacks the entry at the latest
// snapshot's index, yet holds older ones) and compacts it: a snapshot
// taken with TrailingLogs set to zero for its duration. It checks at start
// (a restart after an install), after a user restore, and every
// compactCheckInterval (an install on a follower).
const compactCheckInterval = 10 * time.Second

func (n *Node) compactLoop(ctx context.Context) {
	t := time.NewTicker(compactCheckInterval)
	defer t.Stop()
	for {
		if err := n.compactSupersededLog(); err != nil && ctx.Err() == nil {
			n.log.Warn("cannot compact the raft log entries an installed snapshot superseded; trying again", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.compactNow:
		}
	}
}

// requestCompaction wakes compactLoop without waiting for it.
func (n *Node) requestCompaction() {
	select {
	case n.compactNow <- struct{}{}:
	default:
	}
}

// compactSupersededLog compacts the log when its entries before the latest
// snapshot are superseded by it (see compactLoop); otherwise it does
// nothing.
func (n *Node) compactSupersededLog() error {
	superseded, snapIndex, err := n.logSuperseded()
	if err != nil || !superseded {
		return err
	}
	keep := n.raft.ReloadableConfig()
	now := keep
	now.TrailingLogs = 0
	if err := n.raft.ReloadConfig(now); err != nil {
		return fmt.Errorf("cluster: compact: %w", err)
	}
	defer func() {
		if err := n.raft.ReloadConfig(keep); err != nil {
			n.log.Error("cannot restore the raft configuration after compacting the log", "error", err, "trailing_logs", keep.TrailingLogs)
		}
	}()
	n.log.Info("compacting the raft log entries an installed snapshot superseded", "snapshot_index", snapIndex)
	err = n.raft.Snapshot().Error()
	if errors.Is(err, raft.ErrNothingNewToSnapshot) {
		// Nothing applied since the install: the next check, after a
		// write, compacts.
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: compact: snapshot: %w", err)
	}
	return nil
}

// logSuperseded reports whether the log holds entries from before the
// latest snapshot but not the snapshot's own index: the snapshot was
// installed, not taken here.
func (n *Node) logSuperseded() (bool, uint64, error) {
	list, err := n.snaps.List()
	if err != nil {
		return false, 0, fmt.Errorf("cluster: list snapshots: %w", err)
	}
	if len(list) == 0 {
		return false, 0, nil
	}
	snapIndex := list[0].Index
	first, err := n.store.FirstIndex()
	if err != nil {
		return false, 0, fmt.Errorf("cluster: raft log first index: %w", err)
	}
	if first == 0 || first >= snapIndex {
		return false, snapIndex, nil
	}
	var entry raft.Log
	switch err := n.store.GetLog(snapIndex, &entry); {
	case err == nil:
		return false, snapIndex, nil
	case errors.Is(err, raft.ErrLogNotFound):
		return true, snapIndex, nil
	default:
		return false, 0, fmt.Errorf("cluster: raft log entry %d: %w", snapIndex, err)
	}
}
