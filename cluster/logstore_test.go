package cluster

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// Raft truncates the tail of its log when a new leader overwrites entries
// the old one never committed ("clearing log suffix"), and a node may be
// killed right after. Both log stores must reopen with every entry that
// was kept. raft-wal before v0.4.1 marked the truncated segment sealed
// without writing its index, and every read failed after a restart
// ("sealed segment has no index block", found by TestFaults).
func TestLogStoreReopensAfterTailTruncation(t *testing.T) {
	for _, kind := range []string{LogStoreBoltDB, LogStoreWAL} {
		t.Run(kind, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), LogStore: kind, Logger: testLogger(t)}
			store, _, err := openStores(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var logs []*raft.Log
			for i := uint64(1); i <= 10; i++ {
				logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: fmt.Appendf(nil, "entry-%d", i)})
			}
			if err := store.StoreLogs(logs); err != nil {
				t.Fatal(err)
			}
			if err := store.DeleteRange(9, 10); err != nil {
				t.Fatal(err)
			}
			if err := store.StoreLogs([]*raft.Log{{Index: 9, Term: 2, Type: raft.LogCommand, Data: []byte("entry-9-term-2")}}); err != nil {
				t.Fatal(err)
			}
			// Reopen, as a restart does. The broken segment was on
			// disk before the close, which does not repair it.
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			store, _, err = openStores(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			last, err := store.LastIndex()
			if err != nil || last != 9 {
				t.Fatalf("last index %d (%v), want 9", last, err)
			}
			for i := uint64(1); i <= 9; i++ {
				var l raft.Log
				if err := store.GetLog(i, &l); err != nil {
					t.Fatalf("entry %d after reopening: %v", i, err)
				}
				want := fmt.Sprintf("entry-%d", i)
				if i == 9 {
					want = "entry-9-term-2"
				}
				if string(l.Data) != want {
					t.Fatalf("entry %d holds %q, want %q", i, l.Data, want)
				}
			}
		})
	}
}
