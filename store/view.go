package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/api"
)

// TargetRecord is the stored row of one target.
type TargetRecord struct {
	Target api.TargetRef `json:"target"`
	// Revision is the raft index of the last change to any of the target's
	// fragments. Aggregates are cached by it.
	Revision uint64 `json:"revision"`
	// Fragments counts the target's fragments; a target whose last fragment
	// was deleted keeps its row (with 0) so the sync engine can tear down
	// what it wrote.
	Fragments int `json:"fragments"`
}

// Counts are the sizes of the buckets.
type Counts struct {
	Fragments int `json:"fragments"`
	Targets   int `json:"targets"`
	Statuses  int `json:"statuses"`
	Sources   int `json:"sources"`
}

// View reads one consistent state.
type View struct {
	tx *bolt.Tx
}

// AppliedIndex returns the raft index and term of the last applied entry.
func (v *View) AppliedIndex() (index, term uint64) {
	m := v.tx.Bucket(bucketMeta)
	return getU64(m, keyApplied), getU64(m, keyTerm)
}

// ClusterID returns the id of the cluster the state belongs to.
func (v *View) ClusterID() string { return string(v.tx.Bucket(bucketMeta).Get(keyClusterID)) }

// Counts returns the number of rows of each kind.
func (v *View) Counts() Counts {
	return Counts{
		Fragments: v.tx.Bucket(bucketFragments).Stats().KeyN,
		Targets:   v.tx.Bucket(bucketTargets).Stats().KeyN,
		Statuses:  v.tx.Bucket(bucketStatus).Stats().KeyN,
		Sources:   v.tx.Bucket(bucketSources).Stats().KeyN,
	}
}

// Fragment returns the fragment of source s for target t.
func (v *View) Fragment(t api.TargetRef, s api.SourceRef) (api.Fragment, bool, error) {
	return v.fragment(t, s, true)
}

// fragment reads one fragment row; with copySpec false the Spec is only
// valid inside the transaction.
func (v *View) fragment(t api.TargetRef, s api.SourceRef, copySpec bool) (api.Fragment, bool, error) {
	raw := v.tx.Bucket(bucketFragments).Get(compositeKey(t.Key(), s.Key()))
	if raw == nil {
		return api.Fragment{}, false, nil
	}
	f, err := api.DecodeBinary(raw, copySpec)
	if err != nil {
		return api.Fragment{}, false, fmt.Errorf("store: decode fragment %s from %s: %w", t, s, err)
	}
	return f, true, nil
}

// TargetFragments returns the fragments of t, ordered by source key.
func (v *View) TargetFragments(t api.TargetRef) ([]api.Fragment, error) {
	var out []api.Fragment
	err := v.scanPrefix(bucketFragments, prefixKey(t.Key()), func(_, raw []byte) error {
		f, err := api.DecodeBinary(raw, true)
		if err != nil {
			return fmt.Errorf("store: decode fragment of %s: %w", t, err)
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// SourceFragments returns the fragments of source s, ordered by target key.
func (v *View) SourceFragments(s api.SourceRef) ([]api.Fragment, error) {
	var out []api.Fragment
	err := v.scanPrefix(bucketBySource, prefixKey(s.Key()), func(k, _ []byte) error {
		targetKey := string(k[len(s.Key())+1:])
		t, err := api.ParseTargetKey(targetKey)
		if err != nil {
			return err
		}
		f, ok, err := v.Fragment(t, s)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("store: index names fragment %s from %s that does not exist", t, s)
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// FragmentFilter selects fragments; empty fields match everything.
type FragmentFilter struct {
	TargetKind, TargetName string
	SourceKind, SourceNS   string
	SourceName             string
}

func (f FragmentFilter) match(fr *api.Fragment) bool {
	return (f.TargetKind == "" || f.TargetKind == fr.Target.Kind) &&
		(f.TargetName == "" || f.TargetName == fr.Target.Name) &&
		(f.SourceKind == "" || f.SourceKind == fr.Source.Kind) &&
		(f.SourceNS == "" || f.SourceNS == fr.Source.Namespace) &&
		(f.SourceName == "" || f.SourceName == fr.Source.Name)
}

// Fragments calls fn for every fragment matching filter, in key order
// (target, then source). fn returning false stops the scan.
func (v *View) Fragments(filter FragmentFilter, fn func(api.Fragment) bool) error {
	c := v.tx.Bucket(bucketFragments).Cursor()
	var k, raw []byte
	if filter.TargetKind != "" && filter.TargetName != "" {
		prefix := prefixKey(api.TargetRef{Kind: filter.TargetKind, Name: filter.TargetName}.Key())
		for k, raw = c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			if cont, err := v.visit(filter, raw, fn); err != nil || !cont {
				return err
			}
		}
		return nil
	}
	for k, raw = c.First(); k != nil; k, raw = c.Next() {
		if cont, err := v.visit(filter, raw, fn); err != nil || !cont {
			return err
		}
	}
	return nil
}

func (v *View) visit(filter FragmentFilter, raw []byte, fn func(api.Fragment) bool) (bool, error) {
	f, err := api.DecodeBinary(raw, true)
	if err != nil {
		return false, fmt.Errorf("store: decode fragment: %w", err)
	}
	if !filter.match(&f) {
		return true, nil
	}
	return fn(f), nil
}

// Target returns the row of target t.
func (v *View) Target(t api.TargetRef) (TargetRecord, bool, error) {
	raw := v.tx.Bucket(bucketTargets).Get([]byte(t.Key()))
	if raw == nil {
		return TargetRecord{}, false, nil
	}
	r, err := decodeTargetRecord(t, raw)
	if err != nil {
		return TargetRecord{}, false, fmt.Errorf("store: decode target %s: %w", t, err)
	}
	return r, true, nil
}

// Target rows are two uvarints, revision then fragment count; the target
// itself is the row's key. They are rewritten on every fragment change.
func encodeTargetRecord(r TargetRecord) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 12), r.Revision)
	return binary.AppendUvarint(b, uint64(r.Fragments))
}

func decodeTargetRecord(t api.TargetRef, raw []byte) (TargetRecord, error) {
	rev, n := binary.Uvarint(raw)
	if n <= 0 {
		return TargetRecord{}, errors.New("malformed revision")
	}
	count, m := binary.Uvarint(raw[n:])
	if m <= 0 || n+m != len(raw) {
		return TargetRecord{}, errors.New("malformed fragment count")
	}
	return TargetRecord{Target: t, Revision: rev, Fragments: int(count)}, nil
}

// Targets calls fn for every target, ordered by key, optionally of one kind.
func (v *View) Targets(kind string, fn func(TargetRecord) bool) error {
	c := v.tx.Bucket(bucketTargets).Cursor()
	var prefix []byte
	if kind != "" {
		prefix = []byte(kind + "\x1f")
	}
	for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
		t, err := api.ParseTargetKey(string(k))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		r, err := decodeTargetRecord(t, raw)
		if err != nil {
			return fmt.Errorf("store: decode target %s: %w", t, err)
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// Status returns the recorded sync status of t, or nil.
func (v *View) Status(t api.TargetRef) (*api.SyncStatus, error) {
	raw := v.tx.Bucket(bucketStatus).Get([]byte(t.Key()))
	if raw == nil {
		return nil, nil
	}
	var s api.SyncStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("store: decode status of %s: %w", t, err)
	}
	return &s, nil
}

// Source returns the registration of s.
func (v *View) Source(s api.SourceRef) (api.Source, bool, error) {
	raw := v.tx.Bucket(bucketSources).Get([]byte(s.Key()))
	if raw == nil {
		return api.Source{}, false, nil
	}
	var src api.Source
	if err := json.Unmarshal(raw, &src); err != nil {
		return api.Source{}, false, fmt.Errorf("store: decode source %s: %w", s, err)
	}
	return src, true, nil
}

// Sources calls fn for every registered source, ordered by key.
func (v *View) Sources(fn func(api.Source) bool) error {
	c := v.tx.Bucket(bucketSources).Cursor()
	for k, raw := c.First(); k != nil; k, raw = c.Next() {
		var src api.Source
		if err := json.Unmarshal(raw, &src); err != nil {
			return fmt.Errorf("store: decode source: %w", err)
		}
		if !fn(src) {
			return nil
		}
	}
	return nil
}

func (v *View) scanPrefix(bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := v.tx.Bucket(bucket).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		if err := fn(k, val); err != nil {
			return err
		}
	}
	return nil
}
