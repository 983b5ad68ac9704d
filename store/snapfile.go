package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// The snapshot file is one stream, written and verified without holding it
// in memory:
//
//	magic   8 bytes  "CFXSNAP\n"
//	format  4 bytes  big-endian, SnapshotFormat
//	metaLen 4 bytes  big-endian
//	meta    metaLen bytes of JSON (api.SnapshotMeta without SHA256)
//	state   meta.StateSize bytes: the bbolt image
//	sum     32 bytes: SHA-256 of everything before it
const (
	snapshotMagic = "CFXSNAP\n"
	// SnapshotFormat is the file format version this release writes and
	// reads.
	SnapshotFormat = 1
	maxMetaLen     = 1 << 20
)

// ErrBadSnapshot is wrapped by every refusal of a snapshot file.
var ErrBadSnapshot = errors.New("invalid snapshot file")

// WriteSnapshotFile streams the state of snap, with its metadata, to w. It
// returns the metadata written, SHA256 filled in.
func WriteSnapshotFile(w io.Writer, snap *Snapshot) (api.SnapshotMeta, error) {
	index, term := snap.AppliedIndex()
	counts := snap.Counts()
	meta := api.SnapshotMeta{
		Format:    SnapshotFormat,
		ClusterID: snap.ClusterID(),
		Index:     index,
		Term:      term,
		Fragments: counts.Fragments,
		Targets:   counts.Targets,
		Sources:   counts.Sources,
		Statuses:  counts.Statuses,
		StateSize: snap.Size(),
		CreatedAt: time.Now().UTC().Format(time.RFC3339),
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return meta, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	var hdr [16]byte
	copy(hdr[:8], snapshotMagic)
	binary.BigEndian.PutUint32(hdr[8:12], SnapshotFormat)
	binary.BigEndian.PutUint32(hdr[12:16], uint32(len(metaJSON)))
	bw.Write(hdr[:])
	bw.Write(metaJSON)
	n, err := snap.WriteTo(bw)
	if err != nil {
		return meta, fmt.Errorf("snapshot: write state: %w", err)
	}
	if n != meta.StateSize {
		return meta, fmt.Errorf("snapshot: state was %d bytes, announced %d", n, meta.StateSize)
	}
	if err := bw.Flush(); err != nil {
		return meta, fmt.Errorf("snapshot: write: %w", err)
	}
	sum := h.Sum(nil)
	if _, err := w.Write(sum); err != nil {
		return meta, fmt.Errorf("snapshot: write checksum: %w", err)
	}
	meta.SHA256 = hex.EncodeToString(sum)
	return meta, nil
}

// ReadSnapshotFile reads and verifies a snapshot file from r, copying the
// state image to state (io.Discard to only verify). Nothing about the file
// is trusted until the checksum matches: callers must not use what they
// wrote to state when an error is returned.
func ReadSnapshotFile(r io.Reader, state io.Writer) (api.SnapshotMeta, error) {
	var meta api.SnapshotMeta
	h := sha256.New()
	br := bufio.NewReaderSize(r, 256<<10)
	tee := io.TeeReader(br, h)

	var hdr [16]byte
	if _, err := io.ReadFull(tee, hdr[:]); err != nil {
		return meta, badSnapshot("file is shorter than the header (%v)", err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return meta, badSnapshot("not a conflux-sync snapshot (bad magic)")
	}
	if f := binary.BigEndian.Uint32(hdr[8:12]); f != SnapshotFormat {
		return meta, badSnapshot("format %d is not supported (this release reads %d)", f, SnapshotFormat)
	}
	metaLen := binary.BigEndian.Uint32(hdr[12:16])
	if metaLen == 0 || metaLen > maxMetaLen {
		return meta, badSnapshot("metadata length %d is out of range", metaLen)
	}
	metaJSON := make([]byte, metaLen)
	if _, err := io.ReadFull(tee, metaJSON); err != nil {
		return meta, badSnapshot("truncated in the metadata (%v)", err)
	}
	// The metadata is checked like API input: an exact, unrepeated,
	// valid UTF-8 field set, or the file is refused.
	if fe := api.CheckJSON(metaJSON, reflect.TypeOf(meta), "metadata"); fe != nil {
		return meta, badSnapshot("metadata is not valid: %v", fe)
	}
	dec := json.NewDecoder(bytes.NewReader(metaJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return meta, badSnapshot("metadata is not valid: %v", err)
	}
	if meta.StateSize <= 0 {
		return meta, badSnapshot("state size %d is not valid", meta.StateSize)
	}
	n, err := io.Copy(state, io.LimitReader(tee, meta.StateSize))
	if err != nil {
		return meta, fmt.Errorf("snapshot: copy state: %w", err)
	}
	if n != meta.StateSize {
		return meta, badSnapshot("truncated: expected %d bytes of state, found %d", meta.StateSize, n)
	}
	return meta, verifyTrailer(br, h, &meta)
}

func verifyTrailer(br *bufio.Reader, h hash.Hash, meta *api.SnapshotMeta) error {
	want := h.Sum(nil)
	var got [sha256.Size]byte
	if _, err := io.ReadFull(br, got[:]); err != nil {
		return badSnapshot("truncated: the checksum is missing")
	}
	if !bytes.Equal(want, got[:]) {
		return badSnapshot("checksum mismatch: the file is corrupt (computed %x, file says %x)", want, got)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return badSnapshot("unexpected data after the checksum")
	}
	meta.SHA256 = hex.EncodeToString(want)
	return nil
}

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
}
