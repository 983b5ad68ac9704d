package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/raft"
)

// A user restore (raft.Restore) is not a log entry. The leader writes the
// image as a raft snapshot at an index one past its log, installs it in its
// FSM, and only then sends it to the followers. If the leader dies before a
// quorum has it, the others elect a leader that never saw the restore and
// reuse that index for an entry of their own, while the old leader's
// snapshot claims it: back as a follower, it serves the restored state
// that the cluster does not hold, and raft cannot repair it (the
// conflicting index is in a snapshot, not in its log) until the leader
// happens to send it a newer snapshot.
//
// So a restore is recorded before it starts, in a marker listing the
// snapshots that existed then, and the marker goes only once a quorum has
// confirmed the restore (a barrier after it commits). A node that starts
// with the marker still there crashed during or just after a restore: it
// drops the unconfirmed snapshot and, with it, its state file (which may
// hold the restored image), and rebuilds from its older snapshot and log
// like any follower. If the cluster did adopt the restore, the leader sends
// it again; if not, the node agrees with the cluster.

const pendingRestoreFile = "user-restore-pending.json"

type pendingRestore struct {
	// Before lists the ids of the snapshots that existed before the
	// restore began.
	Before []string `json:"before"`
}

func pendingRestorePath(dataDir string) string {
	return filepath.Join(dataDir, "raft", pendingRestoreFile)
}

// beginUserRestore writes the marker, fsync'd, before raft.Restore runs,
// and returns it.
func (n *Node) beginUserRestore() (pendingRestore, error) {
	list, err := n.snaps.List()
	if err != nil {
		return pendingRestore{}, fmt.Errorf("cluster: restore: list snapshots: %w", err)
	}
	m := pendingRestore{Before: []string{}}
	for _, s := range list {
		m.Before = append(m.Before, s.ID)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return pendingRestore{}, err
	}
	path := pendingRestorePath(n.cfg.DataDir)
	if err := writeSynced(path, raw); err != nil {
		return pendingRestore{}, fmt.Errorf("cluster: restore: record the restore: %w", err)
	}
	return m, nil
}

// restoreInstalled reports whether a snapshot that m does not list exists:
// raft.Restore got as far as writing the restored snapshot.
func (n *Node) restoreInstalled(m pendingRestore) bool {
	list, err := n.snaps.List()
	if err != nil {
		return false
	}
	for _, s := range list {
		if !slices.Contains(m.Before, s.ID) {
			return true
		}
	}
	return false
}

// endUserRestore removes the marker: the restore was confirmed by a
// quorum, or never created a snapshot.
func (n *Node) endUserRestore() {
	if err := os.Remove(pendingRestorePath(n.cfg.DataDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		n.log.Error("cannot remove the marker of a finished restore; the next start will drop the restored snapshot and fetch the state from the leader", "error", err)
	}
	syncDirectory(filepath.Join(n.cfg.DataDir, "raft"))
}

// userRestore runs raft.Restore between the marker's writing and its
// removal, and waits for a quorum to hold the restored state.
func (n *Node) userRestore(ctx context.Context, meta *raft.SnapshotMeta, r io.Reader) error {
	marker, err := n.beginUserRestore()
	if err != nil {
		return err
	}
	d, err := timeout(ctx, n.cfg.ApplyTimeout)
	if err != nil {
		n.endUserRestore()
		return fmt.Errorf("cluster: restore: %w", err)
	}
	confirm := ctx
	if err := n.raft.Restore(meta, r, d); err != nil {
		// raft fails a restore before the restored snapshot is complete
		// (a failure after it takes the process down), with one
		// exception: its timer also bounds the wait to enqueue the
		// no-op that follows the installed snapshot. Then the restore
		// stands and is confirmed below, with time of its own.
		if !errors.Is(err, raft.ErrEnqueueTimeout) || !n.restoreInstalled(marker) {
			n.endUserRestore()
			if errors.Is(err, raft.ErrNotLeader) {
				return n.notLeaderErr(err)
			}
			return fmt.Errorf("cluster: restore snapshot: %w", err)
		}
		var cancel context.CancelFunc
		confirm, cancel = context.WithTimeout(context.WithoutCancel(ctx), n.cfg.ApplyTimeout)
		defer cancel()
	}
	// The barrier's entry follows the restored snapshot in the log: once
	// it commits, a quorum installed the snapshot.
	if err := n.Barrier(confirm); err != nil {
		return fmt.Errorf("cluster: restore: the snapshot is installed on this node, but a quorum has not confirmed it yet (if this node restarts before they do, it drops the restore and follows the cluster): %w", err)
	}
	n.endUserRestore()
	n.requestCompaction()
	return nil
}

// DropUnconfirmedRestore undoes, on a stopped node, a user restore that
// the node was running when it stopped (see pendingRestore): it deletes the
// restore's snapshot, so raft starts from the state before it. It reports
// whether it did; the caller must then discard the FSM's state file, which
// may hold the restored image, and let it be rebuilt. Call it before the
// node's stores are opened.
func DropUnconfirmedRestore(dataDir string, log *slog.Logger) (bool, error) {
	path := pendingRestorePath(dataDir)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: read %s: %w", path, err)
	}
	var m pendingRestore
	if err := json.Unmarshal(raw, &m); err != nil {
		return false, fmt.Errorf("cluster: %s is not valid: %w", path, err)
	}
	dropped, err := dropRestoreSnapshot(dataDir, m, log)
	if err != nil {
		return false, err
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("cluster: remove %s: %w", path, err)
	}
	syncDirectory(filepath.Dir(path))
	return dropped, nil
}

func dropRestoreSnapshot(dataDir string, m pendingRestore, log *slog.Logger) (bool, error) {
	store, snaps, err := openStores(Config{DataDir: dataDir, Logger: log})
	if err != nil {
		return false, err
	}
	defer store.Close()
	list, err := snaps.List()
	if err != nil {
		return false, fmt.Errorf("cluster: list snapshots: %w", err)
	}
	var added []*raft.SnapshotMeta
	for _, s := range list {
		if !slices.Contains(m.Before, s.ID) {
			added = append(added, s)
		}
	}
	switch {
	case len(added) == 0:
		// The restore stopped before its snapshot was complete.
		return false, nil
	case len(added) > 1:
		// The node took or received a snapshot after the restore, so
		// entries after it committed: the cluster has the restore.
		return false, nil
	}
	snap := added[0]
	last, err := store.LastIndex()
	if err != nil {
		return false, fmt.Errorf("cluster: read the last log index: %w", err)
	}
	if last == 0 || last >= snap.Index {
		// The log was emptied by the restore (a monotonic log store
		// such as raft-wal), or entries were written after it: without
		// the snapshot the log would not reach the present without a
		// hole. Raft's own repair is all there is.
		log.Warn("a snapshot restore was interrupted, but this node's log cannot do without it; keeping it", "snapshot", snap.ID)
		return false, nil
	}
	// The log must reach the restore with no gap, from the newest
	// remaining snapshot (or from the start), or raft could not rebuild
	// the state before it.
	var base uint64
	for _, s := range list {
		if s.ID != snap.ID && s.Index > base {
			base = s.Index
		}
	}
	first, err := store.FirstIndex()
	if err != nil {
		return false, fmt.Errorf("cluster: read the first log index: %w", err)
	}
	if first > base+1 {
		log.Warn("a restore was interrupted, but the log before it is compacted; keeping it", "snapshot", snap.ID)
		return false, nil
	}
	dir := filepath.Join(dataDir, "raft", "snapshots", snap.ID)
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("cluster: remove the unconfirmed restore %s: %w", dir, err)
	}
	syncDirectory(filepath.Dir(dir))
	log.Warn("this node stopped during a snapshot restore that the cluster had not confirmed; dropped it, the node follows the cluster's state (restore again if it is still wanted)",
		"snapshot", snap.ID, "index", snap.Index)
	return true, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	syncDirectory(filepath.Dir(path))
	return nil
}

func syncDirectory(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
