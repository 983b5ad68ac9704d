package api

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// fragmentBinaryVersion is the first byte of a binary fragment.
const fragmentBinaryVersion = 1

// ErrBadBinary is wrapped by every failure to decode a binary fragment.
var ErrBadBinary = errors.New("malformed binary fragment")

// AppendBinary appends the compact binary form of f to b: a version byte,
// the indices and generation as varints, the five names length-prefixed,
// then the spec bytes as they are. The raft log and the store use it
// because decoding it never scans the spec, which JSON must.
func (f *Fragment) AppendBinary(b []byte) []byte {
	b = append(b, fragmentBinaryVersion)
	b = binary.AppendUvarint(b, f.CreateIndex)
	b = binary.AppendUvarint(b, f.ModifyIndex)
	b = binary.AppendVarint(b, f.Generation)
	for _, s := range [...]string{f.Target.Kind, f.Target.Name, f.Source.Kind, f.Source.Namespace, f.Source.Name} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, f.Spec...)
}

// DecodeBinary decodes a fragment written by AppendBinary. With copySpec
// false the returned Spec aliases b, which is enough for comparing it while
// b is valid (inside a bbolt transaction) and saves a copy.
func DecodeBinary(b []byte, copySpec bool) (Fragment, error) {
	var f Fragment
	if len(b) == 0 || b[0] != fragmentBinaryVersion {
		return f, fmt.Errorf("%w: unknown version", ErrBadBinary)
	}
	b = b[1:]
	var ok bool
	if f.CreateIndex, b, ok = uvarint(b); !ok {
		return f, fmt.Errorf("%w: create index", ErrBadBinary)
	}
	if f.ModifyIndex, b, ok = uvarint(b); !ok {
		return f, fmt.Errorf("%w: modify index", ErrBadBinary)
	}
	gen, n := binary.Varint(b)
	if n <= 0 {
		return f, fmt.Errorf("%w: generation", ErrBadBinary)
	}
	f.Generation, b = gen, b[n:]
	for _, dst := range [...]*string{&f.Target.Kind, &f.Target.Name, &f.Source.Kind, &f.Source.Namespace, &f.Source.Name} {
		l, rest, ok := uvarint(b)
		if !ok || l > uint64(len(rest)) {
			return f, fmt.Errorf("%w: name", ErrBadBinary)
		}
		*dst, b = string(rest[:l]), rest[l:]
	}
	if copySpec {
		f.Spec = append([]byte(nil), b...)
	} else {
		f.Spec = b
	}
	return f, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}
