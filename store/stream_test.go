package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A snapshot streams: saving or verifying a large state allocates a small
// fraction of its size, so a 1 GiB state does not need 1 GiB of memory.
// (Allocation counts, not timings: they do not depend on machine load.)
func TestSnapshotFileStreamsWithoutBufferingTheState(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MiB state")
	}
	s := openStore(t, Options{NoSync: true})
	spec := `{"pad":"` + strings.Repeat("x", 16<<10) + `"}`
	for batch := range 16 {
		mustUpdate(t, s, func(tx *Tx) error {
			for i := range 256 {
				f := frag(fmt.Sprintf("t%d", batch), fmt.Sprintf("s%d", i), 1, spec)
				if _, err := tx.PutFragment(f, uint64(batch*256+i+1)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	path := filepath.Join(t.TempDir(), "state.snap")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	snap, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	size := snap.Size()
	if size < 64<<20 {
		t.Fatalf("state is only %d bytes; the test wants at least 64 MiB", size)
	}
	allocated := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	saved := allocated(func() {
		if _, err := WriteSnapshotFile(out, snap); err != nil {
			t.Fatal(err)
		}
	})
	snap.Release()
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	verified := allocated(func() {
		if _, err := ReadSnapshotFile(out, io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	for name, n := range map[string]uint64{"save": saved, "verify": verified} {
		if n > uint64(size)/16 {
			t.Errorf("%s allocated %d bytes for a %d-byte state: it buffers", name, n, size)
		}
	}
	t.Logf("state %d MiB: save allocated %d KiB, verify %d KiB", size>>20, saved>>10, verified>>10)
}
