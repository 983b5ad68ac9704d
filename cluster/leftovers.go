package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// snapshotTmpSuffix is what raft.FileSnapshotStore appends to the folder
// of a snapshot while it is written; Close renames it away.
const snapshotTmpSuffix = ".tmp"

// removeSnapshotLeftovers deletes the folders of raft snapshots whose
// writing was cut short by a crash (DataDir/raft/snapshots/*.tmp).
// FileSnapshotStore never lists them, so they are harmless to correctness,
// but it never reaps them either: each crash during a snapshot would keep
// a partial copy of the state on the volume for good. It must run before
// the snapshot store is in use (only then can no .tmp folder be live).
func removeSnapshotLeftovers(raftDir string, log *slog.Logger) error {
	dir := filepath.Join(raftDir, "snapshots")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: list snapshots: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), snapshotTmpSuffix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("cluster: remove unfinished snapshot %s: %w", path, err)
		}
		log.Warn("removed a raft snapshot left unfinished by a crash", "path", path)
	}
	return nil
}
