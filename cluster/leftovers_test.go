package cluster

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRemoveSnapshotLeftovers(t *testing.T) {
	tests := []struct {
		name       string
		dirs       []string // folders under raft/snapshots
		files      []string // plain files under raft/snapshots
		wantRemain []string
	}{
		{name: "no snapshot folder"},
		{name: "finished snapshots stay", dirs: []string{"2-10-100", "2-20-200"}, wantRemain: []string{"2-10-100", "2-20-200"}},
		{name: "unfinished ones go", dirs: []string{"2-10-100", "2-20-200.tmp"}, wantRemain: []string{"2-10-100"}},
		{name: "a file named .tmp is not raft's", dirs: []string{"3-30-300.tmp"}, files: []string{"notes.tmp"}, wantRemain: []string{"notes.tmp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raftDir := t.TempDir()
			snaps := filepath.Join(raftDir, "snapshots")
			for _, d := range tt.dirs {
				if err := os.MkdirAll(filepath.Join(snaps, d), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(snaps, d, "state.bin"), []byte("partial"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(snaps, f), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeSnapshotLeftovers(raftDir, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(snaps)
			var remain []string
			for _, e := range entries {
				remain = append(remain, e.Name())
			}
			if !slices.Equal(remain, tt.wantRemain) {
				t.Errorf("left %q, want %q", remain, tt.wantRemain)
			}
		})
	}
}
