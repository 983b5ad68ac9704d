package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenMarkerTellsAMachineCrashFromAProcessCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// Open, as after a crash of the process: same boot, trusted.
	if rebuild, err := NeedsRebuild(path); err != nil || rebuild {
		t.Fatalf("while open in this boot: rebuild=%v err=%v, want false", rebuild, err)
	}
	// The same marker seen from another boot: distrusted.
	if rebuild, err := needsRebuild(path, []byte("another-boot")); err != nil || !rebuild {
		t.Fatalf("after a reboot: rebuild=%v err=%v, want true", rebuild, err)
	}
	if rebuild, _ := needsRebuild(path, nil); !rebuild {
		t.Fatal("without a boot id a leftover marker must be distrusted")
	}
	// A clean close removes the marker: trusted from any boot.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if rebuild, err := needsRebuild(path, []byte("another-boot")); err != nil || rebuild {
		t.Fatalf("after a clean close: rebuild=%v err=%v, want false", rebuild, err)
	}
	if err := Discard(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Discard left the file: %v", err)
	}
}
