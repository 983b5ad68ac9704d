package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func clusterIDOf(t *testing.T, s *Store) (string, bool) {
	t.Helper()
	var id string
	var logged bool
	if err := s.View(func(v *View) error { id, logged = v.ClusterID(), v.ClusterIDLogged(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id, logged
}

// An image restored into another cluster carries the id written into it,
// marked as logged, with the rest of the state untouched.
func TestSetImageClusterID(t *testing.T) {
	src := openStore(t, Options{})
	if err := src.Update(func(tx *Tx) error {
		if err := tx.SetClusterID("aaaaaaaaaaaaaaaa"); err != nil {
			return err
		}
		_, err := tx.PutFragment(frag("web", "ing", 1, `{"a":1}`), 7)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := src.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	_, err = snap.WriteTo(&img)
	snap.Release()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "image.db")
	if err := os.WriteFile(path, img.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetImageClusterID(path, "bbbbbbbbbbbbbbbb"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := openStore(t, Options{})
	if err := dst.Replace(f); err != nil {
		t.Fatal(err)
	}
	if id, logged := clusterIDOf(t, dst); id != "bbbbbbbbbbbbbbbb" || !logged {
		t.Fatalf("restored cluster id %q (logged %v), want bbbbbbbbbbbbbbbb, logged", id, logged)
	}
	var srcDump, dstDump bytes.Buffer
	src.View(func(v *View) error { return v.Dump(&srcDump) })
	dst.View(func(v *View) error { return v.Dump(&dstDump) })
	rest := func(s string) string { return s[strings.Index(s, "\n"):] }
	if rest(srcDump.String()) != rest(dstDump.String()) {
		t.Fatalf("state other than the id changed:\n%s\nwant:\n%s", dstDump.String(), srcDump.String())
	}

	for name, tc := range map[string]struct{ path, id, want string }{
		"empty id":     {path, "", "the id is empty"},
		"missing file": {filepath.Join(t.TempDir(), "none.db"), "cccccccccccccccc", "no such file"},
	} {
		if err := SetImageClusterID(tc.path, tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}
