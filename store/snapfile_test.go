package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// populated returns a store with every kind of row and raft bookkeeping.
func populated(t testing.TB) *Store {
	t.Helper()
	s := openStore(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.SetClusterID("cafe0123"); err != nil {
			return err
		}
		for i := 0; i < 40; i++ {
			f := frag(fmt.Sprintf("t%02d", i%10), fmt.Sprintf("s%02d", i), int64(i), fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat("x", 200)))
			if _, err := tx.PutFragment(f, uint64(i+1)); err != nil {
				return err
			}
		}
		for i := 0; i < 3; i++ {
			if _, err := tx.RecordSync(tref(fmt.Sprintf("t%02d", i)), api.SyncStatus{Revision: 40, SyncedHash: "h", Time: time.Unix(1700000000, 0).UTC()}); err != nil {
				return err
			}
		}
		for i := 0; i < 2; i++ {
			if _, err := tx.PutSource(api.Source{Source: sref(fmt.Sprintf("s%02d", i)), Spec: json.RawMessage(`{}`)}, 41); err != nil {
				return err
			}
		}
		return tx.SetApplied(42, 3)
	})
	return s
}

func writeSnapshotFile(t testing.TB, s *Store) ([]byte, api.SnapshotMeta) {
	t.Helper()
	snap, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var b bytes.Buffer
	meta, err := WriteSnapshotFile(&b, snap)
	if err != nil {
		t.Fatalf("WriteSnapshotFile: %v", err)
	}
	return b.Bytes(), meta
}

func TestSnapshotFileRoundTrip(t *testing.T) {
	s := populated(t)
	file, written := writeSnapshotFile(t, s)

	wantMeta := api.SnapshotMeta{
		Format: SnapshotFormat, ClusterID: "cafe0123", Index: 42, Term: 3,
		Fragments: 40, Targets: 10, Sources: 2, Statuses: 3,
	}
	if written.Format != wantMeta.Format || written.ClusterID != wantMeta.ClusterID || written.Index != 42 || written.Term != 3 ||
		written.Fragments != 40 || written.Targets != 10 || written.Sources != 2 || written.Statuses != 3 {
		t.Errorf("written meta = %+v, want %+v", written, wantMeta)
	}
	if _, err := time.Parse(time.RFC3339, written.CreatedAt); err != nil {
		t.Errorf("CreatedAt %q: %v", written.CreatedAt, err)
	}
	sum := sha256.Sum256(file[:len(file)-sha256.Size])
	if written.SHA256 != hex.EncodeToString(sum[:]) || !bytes.Equal(file[len(file)-sha256.Size:], sum[:]) {
		t.Errorf("SHA256 %s is not the checksum of the file", written.SHA256)
	}

	var state bytes.Buffer
	read, err := ReadSnapshotFile(bytes.NewReader(file), &state)
	if err != nil {
		t.Fatalf("ReadSnapshotFile: %v", err)
	}
	if read != written {
		t.Errorf("read meta = %+v\nwritten    %+v", read, written)
	}
	if int64(state.Len()) != read.StateSize {
		t.Errorf("state image is %d bytes, meta says %d", state.Len(), read.StateSize)
	}

	// The image restores into another store with the same state.
	other := openStore(t, Options{})
	put(t, other, frag("to-be-replaced", "x", 1, `{}`), 1)
	if err := other.Replace(&state); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if got, want := dump(t, other), dump(t, s); got != want {
		t.Errorf("restored dump differs:\n%s\n---\n%s", got, want)
	}
	mustView(t, other, func(v *View) error {
		if idx, term := v.AppliedIndex(); idx != 42 || term != 3 {
			t.Errorf("restored applied = %d/%d, want 42/3", idx, term)
		}
		if c := v.Counts(); c != (Counts{Fragments: 40, Targets: 10, Statuses: 3, Sources: 2}) {
			t.Errorf("restored counts = %+v", c)
		}
		return nil
	})
	checkConsistency(t, other)
	if _, err := os.Stat(other.Path() + ".restore"); !os.IsNotExist(err) {
		t.Errorf("temporary restore file left behind: %v", err)
	}

	// io.Discard only verifies.
	if _, err := ReadSnapshotFile(bytes.NewReader(file), io.Discard); err != nil {
		t.Errorf("verify only: %v", err)
	}
}

// layout returns the offsets of the parts of a snapshot file.
func layout(t testing.TB, file []byte) (metaEnd, stateEnd int) {
	t.Helper()
	metaLen := int(binary.BigEndian.Uint32(file[12:16]))
	metaEnd = 16 + metaLen
	stateEnd = len(file) - sha256.Size
	return metaEnd, stateEnd
}

// offsets returns every offset in [0, metaEnd+64), every 97th in the
// state, and every offset in the last 64 bytes.
func offsets(metaEnd, size int) []int {
	var out []int
	for i := 0; i < size; i++ {
		if i < metaEnd+64 || i >= size-64 || i%97 == 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestSnapshotFileTruncated(t *testing.T) {
	file, _ := writeSnapshotFile(t, populated(t))
	metaEnd, stateEnd := layout(t, file)
	for _, cut := range offsets(metaEnd, len(file)) {
		var want string
		switch {
		case cut < 16:
			want = "shorter than the header"
		case cut < metaEnd:
			want = "truncated in the metadata"
		case cut < stateEnd:
			want = "truncated: expected"
		default:
			want = "checksum is missing"
		}
		_, err := ReadSnapshotFile(bytes.NewReader(file[:cut]), io.Discard)
		if !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("cut at %d of %d: err = %v, want ErrBadSnapshot", cut, len(file), err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("cut at %d: %q does not say %q", cut, err, want)
		}
	}
}

func TestSnapshotFileCorrupt(t *testing.T) {
	file, _ := writeSnapshotFile(t, populated(t))
	metaEnd, stateEnd := layout(t, file)
	bad := make([]byte, len(file))
	for _, pos := range offsets(metaEnd, len(file)) {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			copy(bad, file)
			bad[pos] ^= flip
			_, err := ReadSnapshotFile(bytes.NewReader(bad), io.Discard)
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrBadSnapshot", pos, flip, err)
			}
			msg := err.Error()
			var want []string
			switch {
			case pos < 8:
				want = []string{"bad magic"}
			case pos < 12:
				want = []string{"format"}
			case pos < 16:
				// The metadata length: out of range, or the parts shift.
				want = []string{"metadata", "truncated", "checksum", "unexpected data"}
			case pos < metaEnd:
				want = []string{"metadata is not valid", "checksum mismatch", "truncated", "state size", "unexpected data"}
			case pos < stateEnd:
				want = []string{"checksum mismatch"}
			default:
				want = []string{"checksum mismatch"}
			}
			ok := false
			for _, w := range want {
				ok = ok || strings.Contains(msg, w)
			}
			if !ok {
				t.Errorf("byte %d ^ %#x: %q says none of %q", pos, flip, msg, want)
			}
		}
	}
}

func TestSnapshotFileRefusals(t *testing.T) {
	file, _ := writeSnapshotFile(t, populated(t))
	with := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), file...))
	}
	resum := func(b []byte) []byte {
		sum := sha256.Sum256(b[:len(b)-sha256.Size])
		copy(b[len(b)-sha256.Size:], sum[:])
		return b
	}
	header := func(metaJSON string, format uint32) []byte {
		var h [16]byte
		copy(h[:], snapshotMagic)
		binary.BigEndian.PutUint32(h[8:], format)
		binary.BigEndian.PutUint32(h[12:], uint32(len(metaJSON)))
		return append(h[:], metaJSON...)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than the header"},
		{"trailing byte", with(func(b []byte) []byte { return append(b, 0) }), "unexpected data after the checksum"},
		{"trailing garbage", with(func(b []byte) []byte { return append(b, []byte("garbage garbage garbage garbage garbage")...) }), "unexpected data after the checksum"},
		{"second copy appended", append(append([]byte(nil), file...), file...), "unexpected data after the checksum"},
		{"text", []byte("this is not a snapshot, just some text that is long enough"), "bad magic"},
		{"newer format", with(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], SnapshotFormat+1); return resum(b) }), "format 2 is not supported"},
		{"zero meta length", with(func(b []byte) []byte { binary.BigEndian.PutUint32(b[12:], 0); return b }), "metadata length 0"},
		{"huge meta length", with(func(b []byte) []byte { binary.BigEndian.PutUint32(b[12:], 1<<31); return b }), "out of range"},
		{"meta not JSON", header("not json", SnapshotFormat), "metadata is not valid"},
		{"meta unknown field", header(`{"format":1,"stateSize":10,"bogus":1}`, SnapshotFormat), "metadata is not valid"},
		{"zero state size", header(`{"format":1,"stateSize":0}`, SnapshotFormat), "state size 0"},
		{"negative state size", header(`{"format":1,"stateSize":-5}`, SnapshotFormat), "state size -5"},
		{"state size past the end", header(`{"format":1,"stateSize":1000}`, SnapshotFormat), "truncated: expected 1000 bytes of state, found 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSnapshotFile(bytes.NewReader(tt.data), io.Discard)
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("err = %v, want ErrBadSnapshot", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q does not say %q", err, tt.want)
			}
		})
	}
}

func TestReplaceRefusesGarbage(t *testing.T) {
	img := image(t, populated(t))
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rnd.UintN(256))
	}
	otherDB := func() []byte {
		// A valid bbolt file that is not a conflux-sync state file.
		path := filepath.Join(t.TempDir(), "other.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, s, func(tx *Tx) error { return tx.tx.DeleteBucket(bucketMeta) })
		b := image(t, s)
		s.Close()
		return b
	}()
	corruptPage := append([]byte(nil), img...)
	// Scribble over a page past the meta pages.
	for i := 3 * 4096; i < 3*4096+512 && i < len(corruptPage); i++ {
		corruptPage[i] = 0xAB
	}
	inputs := map[string][]byte{
		"empty":                  nil,
		"short text":             []byte("garbage"),
		"zeros 5000":             make([]byte, 5000),
		"zeros 70000":            make([]byte, 70000),
		"random 64KiB":           random,
		"half an image":          img[:len(img)/2],
		"image minus one page":   img[:len(img)-4096],
		"two pages of an image":  img[:8192],
		"four pages of an image": img[:4*4096],
		"no format marker":       otherDB,
		"corrupt page":           corruptPage,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			s := populated(t)
			before := dump(t, s)
			err := s.Replace(bytes.NewReader(in))
			if err == nil {
				t.Fatalf("Replace accepted %s", name)
			}
			t.Logf("refused: %v", err)
			if after := dump(t, s); after != before {
				t.Errorf("state changed by a refused Replace")
			}
			if _, err := os.Stat(s.Path() + ".restore"); !os.IsNotExist(err) {
				t.Errorf("temporary restore file left behind: %v", err)
			}
			// Still usable.
			put(t, s, frag("after", "a", 1, `{}`), 100)
			if _, ok := getFragment(t, s, "after", "a"); !ok {
				t.Error("store not writable after a refused Replace")
			}
			checkConsistency(t, s)
		})
	}
	// And a good image still restores after all that.
	s := populated(t)
	put(t, s, frag("extra", "a", 1, `{}`), 100)
	if err := s.Replace(bytes.NewReader(img)); err != nil {
		t.Fatalf("Replace(good image): %v", err)
	}
	if _, ok := getFragment(t, s, "extra", "a"); ok {
		t.Error("good image did not replace the state")
	}
}

// errReader fails after n bytes: an I/O error is reported, not taken for
// a bad file, and leaves the state alone.
type errReader struct {
	r io.Reader
	n int
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("connection reset")
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func TestReplaceReadError(t *testing.T) {
	s := populated(t)
	img := image(t, s)
	before := dump(t, s)
	err := s.Replace(&errReader{r: bytes.NewReader(img), n: len(img) / 2})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Replace = %v, want the read error", err)
	}
	if dump(t, s) != before {
		t.Error("state changed")
	}
}
