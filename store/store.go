// Package store keeps the replicated state in one bbolt file: fragments,
// targets, sync status, sources, and the raft bookkeeping (last applied index
// and term, cluster id) that must commit in the same transaction as the data.
//
// The store knows nothing about raft; package fsm decodes log entries and
// calls Tx methods. Every write method is deterministic: given the same
// state and arguments it produces the same bytes on every node.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/internal/failpoint"
)

var (
	bucketMeta      = []byte("meta")
	bucketFragments = []byte("fragments") // targetKey \x00 sourceKey -> Fragment
	bucketBySource  = []byte("by_source") // sourceKey \x00 targetKey -> nil
	bucketTargets   = []byte("targets")   // targetKey -> TargetRecord
	bucketStatus    = []byte("status")    // targetKey -> SyncStatus
	bucketSources   = []byte("sources")   // sourceKey -> Source

	allBuckets = [][]byte{bucketMeta, bucketFragments, bucketBySource, bucketTargets, bucketStatus, bucketSources}

	keyApplied   = []byte("applied")
	keyTerm      = []byte("term")
	keyClusterID = []byte("cluster_id")
	keyFormat    = []byte("format")
)

// formatVersion is the layout of the buckets. Open refuses a file written by
// a newer layout rather than misread it.
const formatVersion = 1

// ErrNewerFormat is returned for a file written by a newer release.
var ErrNewerFormat = errors.New("store: file was written by a newer release")

// Options tune the bbolt file. The zero value is the documented default.
type Options struct {
	// InitialMmapSize avoids remapping (which waits for every open read
	// transaction, including a snapshot being streamed) as the file grows.
	// Default 1 GiB of address space; it costs no memory until used.
	InitialMmapSize int
	// NoSync skips fsync on commit. The file then survives a crash of the
	// process (the kernel holds every write) but not of the machine, so
	// Open leaves a marker naming this boot of the machine, Close syncs and
	// removes it, and NeedsRebuild tells a caller at the next start that
	// the file cannot be trusted. Only use it where the state can be
	// rebuilt from elsewhere — the raft log and snapshots, for the FSM.
	NoSync bool
}

// Store is the bbolt-backed state. It is safe for concurrent use.
type Store struct {
	path string
	opts Options

	mu sync.RWMutex // guards db against Replace
	db *bolt.DB
	// retired are the files Replace swapped out, closed in the background
	// once their last snapshot is released (see Replace); Close waits.
	retired sync.WaitGroup

	noSpace atomic.Pointer[error] // see WriteErr
}

// Open opens (creating if needed) the store at path.
func Open(path string, opts Options) (*Store, error) {
	if opts.InitialMmapSize == 0 {
		opts.InitialMmapSize = 1 << 30
	}
	s := &Store{path: path, opts: opts}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	db, err := s.openDB(path)
	if err != nil {
		return nil, err
	}
	// A restore cut short by a crash leaves its temporary image behind;
	// it was never the state (Replace renames it only when complete), so
	// it is only taking space. The file lock bbolt now holds means no
	// other process is writing it.
	if err := os.Remove(path + ".restore"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		db.Close()
		return nil, fmt.Errorf("store: remove the leftover of an interrupted restore: %w", err)
	}
	if opts.NoSync {
		if err := writeOpenMarker(path); err != nil {
			db.Close()
			return nil, err
		}
	}
	s.db = db
	return s, nil
}

func (s *Store) openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         5 * time.Second,
		InitialMmapSize: s.opts.InitialMmapSize,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		NoSync:          s.opts.NoSync,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyFormat); v != nil {
			if f := binary.BigEndian.Uint64(v); f > formatVersion {
				return fmt.Errorf("%w (format %d, this release reads up to %d)", ErrNewerFormat, f, formatVersion)
			}
			return nil
		}
		return meta.Put(keyFormat, u64(formatVersion))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initialise %s: %w", path, err)
	}
	return db, nil
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	var errs []error
	if s.opts.NoSync {
		errs = append(errs, s.db.Sync())
	}
	errs = append(errs, s.db.Close())
	s.db = nil
	s.retired.Wait()
	if s.opts.NoSync && errors.Join(errs...) == nil {
		errs = append(errs, removeOpenMarker(s.path))
	}
	return errors.Join(errs...)
}

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("store: closed")

// View runs fn in a read-only transaction: a consistent point-in-time view.
func (s *Store) View(fn func(*View) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(&View{tx: tx}) })
}

// Update runs fn in one read-write transaction; an error rolls back all of it.
func (s *Store) Update(fn func(*Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{View: View{tx: tx}}) })
	s.noteWrite(err)
	return err
}

// Snapshot is an open read transaction that can be streamed later, while
// writes go on. Release it exactly once.
type Snapshot struct {
	View
	released bool
}

// Release ends the read transaction.
func (s *Snapshot) Release() {
	if !s.released {
		s.released = true
		s.tx.Rollback()
	}
}

// WriteTo streams the bbolt image of the snapshot.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	return s.tx.WriteTo(midWrite(w, failpoint.StoreSnapshotMidWrite))
}

// Size is the size in bytes of the image WriteTo writes.
func (s *Snapshot) Size() int64 { return s.tx.Size() }

// BeginSnapshot opens a read transaction that stays open until Release.
// It holds off neither writers nor Replace: a snapshot must never wait on
// anything that waits on it. Raft takes the FSM's snapshot and then asks
// its main loop for the configuration, while that loop may be waiting for
// the FSM to install a snapshot from the leader (Replace); a snapshot that
// held Replace off would deadlock the node. A snapshot open across a
// Replace keeps reading the old file, which is closed once it is released.
func (s *Store) BeginSnapshot() (*Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("store: begin snapshot: %w", err)
	}
	return &Snapshot{View: View{tx: tx}}, nil
}

// Replace swaps the whole state for the bbolt image read from r. The image is
// written to a temporary file, synced and opened to check it before the live
// file is renamed over; on any error the current state is untouched.
func (s *Store) Replace(r io.Reader) error {
	tmp := s.path + ".restore"
	if err := writeFileSync(tmp, r, failpoint.StoreRestoreMidWrite); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write restored image: %w", err)
	}
	if err := checkImage(tmp, s.opts.InitialMmapSize); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: restored image is not a valid state file: %w", err)
	}
	check, err := s.openDB(tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: restored image is not a valid state file: %w", err)
	}
	if err := check.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: close restored image: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		os.Remove(tmp)
		return ErrClosed
	}
	// No write is in flight (writers hold mu), so the old file is final;
	// a crash before the rename leaves it, whole, as the state.
	failpoint.Inject(failpoint.StoreRestoreBeforeSwap)
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: install restored image: %w", err)
	}
	syncDir(filepath.Dir(s.path))
	s.retire(s.db)
	s.db = nil
	db, err := s.openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	return nil
}

// retire closes a file Replace swapped out once its open snapshots are
// released (bbolt's Close waits for them). The renamed-over file stays
// readable through its open descriptor meanwhile, and its lock does not
// cover the new file, which is another inode.
func (s *Store) retire(db *bolt.DB) {
	s.retired.Add(1)
	go func() {
		defer s.retired.Done()
		db.Close()
	}()
}

// checkImage verifies a restored image before it is opened for writing.
// bbolt would initialise an empty file as a fresh database (silently wiping
// the state); it memory-maps a truncated file whose meta page counts pages
// past its end, and the first read of such a page is a SIGBUS that kills
// the process; and opening for writing rebuilds the freelist by walking
// every page on a goroutine of its own, which panics (unrecoverably) on a
// corrupt page. So: the file must not be empty, must hold every page its
// meta page counts, must read back completely here (where a panic or a
// fault can be recovered) and pass bbolt's consistency check, and must
// carry this store's format marker.
//
// mmapSize is the live store's: reads past the end of the file must fault
// here exactly as they would there.
func checkImage(path string, mmapSize int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return errors.New("the image is empty")
	}
	// Read-only: no freelist rebuild, nothing written.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second, InitialMmapSize: mmapSize})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		// tx.Size reads only the meta page.
		if tx.Size() > fi.Size() {
			return fmt.Errorf("the image is truncated: %d bytes, its meta page needs %d", fi.Size(), tx.Size())
		}
		if err := walkImage(tx); err != nil {
			return err
		}
		// bbolt's own check finds what a walk cannot (a page referenced
		// twice); it recovers its panics. Drain the channel: its goroutine
		// reads the mapped file until it closes it.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("the image is corrupt: %w", first)
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil || len(meta.Get(keyFormat)) != 8 {
			return errors.New("the image has no conflux-sync format marker")
		}
		return nil
	})
}

// walkImage reads every key and value of every bucket, checking the order
// of the keys, and
// turns bbolt's panics and memory faults on a corrupt page into an error.
func walkImage(tx *bolt.Tx) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the image is corrupt: %v", r)
		}
	}()
	// sum makes the reads observable so the compiler keeps them.
	var sum byte
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walkBucket(name, b, &sum) })
	runtime.KeepAlive(sum)
	return err
}

func walkBucket(name []byte, b *bolt.Bucket, sum *byte) error {
	var prev []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("the image is corrupt: keys out of order in bucket %q", name)
		}
		prev = k
		// Read every byte: a corrupt element can point past the file,
		// and it must fault here, not in a later reader.
		for _, x := range [][]byte{k, v} {
			for i := range x {
				*sum ^= x[i]
			}
		}
		if v == nil {
			if child := b.Bucket(k); child != nil {
				if err := walkBucket(k, child, sum); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeFileSync writes r to path and fsyncs it. fp names the failpoint
// reached half-way through, or is empty.
func writeFileSync(path string, r io.Reader, fp string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	var w io.Writer = f
	if fp != "" {
		w = midWrite(f, fp)
	}
	if _, err := io.Copy(w, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// midWrite returns w, or when failpoints are armed a writer that reaches
// failpoint fp once part of the stream is out: half-way through the first
// write (a small image may come in one), and before every later write.
func midWrite(w io.Writer, fp string) io.Writer {
	if !failpoint.Armed() {
		return w
	}
	return &failpointWriter{w: w, name: fp}
}

type failpointWriter struct {
	w       io.Writer
	name    string
	written bool
}

func (f *failpointWriter) Write(p []byte) (int, error) {
	if f.written {
		failpoint.Inject(f.name)
		return f.w.Write(p)
	}
	half := len(p) / 2
	n, err := f.w.Write(p[:half])
	if err != nil {
		return n, err
	}
	f.written = true
	failpoint.Inject(f.name)
	m, err := f.w.Write(p[half:])
	return n + m, err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// compositeKey joins two keys with a NUL, which no validated name contains,
// so a prefix scan on "a\x00" finds exactly the pairs starting with a.
func compositeKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

func prefixKey(a string) []byte { return append([]byte(a), 0) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs are marshalled here.
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return b
}
