package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// bootIDPath names the current boot of a Linux machine; it changes at every
// boot, and is the host's inside a container too.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

func markerPath(path string) string { return path + ".open" }

func currentBootID() []byte {
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return nil
	}
	return bytes.TrimSpace(b)
}

// writeOpenMarker records that path is open without fsync during this boot.
func writeOpenMarker(path string) error {
	id := currentBootID()
	if len(id) == 0 {
		id = []byte("unknown")
	}
	m := markerPath(path)
	if err := writeFileSync(m, bytes.NewReader(id), ""); err != nil {
		return fmt.Errorf("store: write open marker: %w", err)
	}
	syncDir(filepath.Dir(m))
	return nil
}

func removeOpenMarker(path string) error {
	if err := os.Remove(markerPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove open marker: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// NeedsRebuild reports whether the store file at path, opened with NoSync,
// was still open when its machine went down: it was not closed cleanly and
// the machine has booted since, so writes the kernel held may never have
// reached the disk, in any order. Such a file must be discarded and the
// state rebuilt. A crash of the process alone (same boot) loses nothing.
func NeedsRebuild(path string) (bool, error) {
	return needsRebuild(path, currentBootID())
}

func needsRebuild(path string, bootID []byte) (bool, error) {
	recorded, err := os.ReadFile(markerPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: read open marker: %w", err)
	}
	// Without a boot id (not Linux) a leftover marker cannot be told apart
	// from a machine crash: distrust the file.
	return len(bootID) == 0 || !bytes.Equal(bytes.TrimSpace(recorded), bootID), nil
}

// Discard removes the store file at path and its marker, so the next Open
// starts empty.
func Discard(path string) error {
	for _, p := range []string{path, markerPath(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: discard %s: %w", p, err)
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}
