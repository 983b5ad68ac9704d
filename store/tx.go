package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
)

// Tx is a read-write transaction. Methods take the raft index of the entry
// being applied; it becomes the modify index of whatever they change.
type Tx struct {
	View
}

// SetApplied records the raft index and term of the last applied entry.
func (t *Tx) SetApplied(index, term uint64) error {
	m := t.tx.Bucket(bucketMeta)
	if err := m.Put(keyApplied, u64(index)); err != nil {
		return err
	}
	return m.Put(keyTerm, u64(term))
}

// SetClusterID records the cluster id once; later calls keep the first.
func (t *Tx) SetClusterID(id string) error {
	m := t.tx.Bucket(bucketMeta)
	if m.Get(keyClusterID) != nil {
		return nil
	}
	return m.Put(keyClusterID, []byte(id))
}

// PutResult says what a PutFragment did.
type PutResult struct {
	Changed bool
	// Stale is set when the stored fragment has a higher generation; the
	// write was ignored.
	Stale            bool
	StoredGeneration int64
}

// PutFragment stores f. A lower generation than the stored one is ignored
// (a stale producer); an identical fragment changes nothing, so a producer
// re-sending its state does not bump the target revision.
func (t *Tx) PutFragment(f api.Fragment, index uint64) (PutResult, error) {
	old, exists, err := t.fragment(f.Target, f.Source, false)
	if err != nil {
		return PutResult{}, err
	}
	if exists {
		if f.Generation < old.Generation {
			return PutResult{Stale: true, StoredGeneration: old.Generation}, nil
		}
		if f.Generation == old.Generation && sameSpec(f.Spec, old.Spec) {
			return PutResult{}, nil
		}
		f.CreateIndex = old.CreateIndex
	} else {
		f.CreateIndex = index
	}
	f.ModifyIndex = index
	if err := t.writeFragment(f); err != nil {
		return PutResult{}, err
	}
	delta := 0
	if !exists {
		delta = 1
	}
	return PutResult{Changed: true}, t.touchTarget(f.Target, index, delta)
}

func (t *Tx) writeFragment(f api.Fragment) error {
	tk, sk := f.Target.Key(), f.Source.Key()
	if err := t.tx.Bucket(bucketFragments).Put(compositeKey(tk, sk), f.AppendBinary(nil)); err != nil {
		return fmt.Errorf("store: put fragment: %w", err)
	}
	if err := t.tx.Bucket(bucketBySource).Put(compositeKey(sk, tk), nil); err != nil {
		return fmt.Errorf("store: index fragment: %w", err)
	}
	return nil
}

// DeleteFragment removes the fragment of s for target; false if none.
func (t *Tx) DeleteFragment(target api.TargetRef, s api.SourceRef, index uint64) (bool, error) {
	tk, sk := target.Key(), s.Key()
	frags := t.tx.Bucket(bucketFragments)
	if frags.Get(compositeKey(tk, sk)) == nil {
		return false, nil
	}
	if err := frags.Delete(compositeKey(tk, sk)); err != nil {
		return false, err
	}
	if err := t.tx.Bucket(bucketBySource).Delete(compositeKey(sk, tk)); err != nil {
		return false, err
	}
	return true, t.touchTarget(target, index, -1)
}

// ReplaceSourceFragments makes frags the complete set of fragments of source
// s: listed fragments are put (keeping their create index if they existed,
// so conflict precedence survives a resync), all others of s are deleted.
// Generations are not compared: a resync lists the producer's truth.
// It returns how many fragments were created, changed or deleted.
func (t *Tx) ReplaceSourceFragments(s api.SourceRef, frags []api.Fragment, index uint64) (int, error) {
	existing, err := t.SourceFragments(s)
	if err != nil {
		return 0, err
	}
	keep := make(map[string]bool, len(frags))
	changed := 0
	for _, f := range frags {
		f.Source = s
		keep[f.Target.Key()] = true
		old, exists, err := t.fragment(f.Target, s, false)
		if err != nil {
			return 0, err
		}
		if exists && old.Generation == f.Generation && sameSpec(f.Spec, old.Spec) {
			continue
		}
		delta := 1
		f.CreateIndex = index
		if exists {
			delta = 0
			f.CreateIndex = old.CreateIndex
		}
		f.ModifyIndex = index
		if err := t.writeFragment(f); err != nil {
			return 0, err
		}
		if err := t.touchTarget(f.Target, index, delta); err != nil {
			return 0, err
		}
		changed++
	}
	for _, old := range existing {
		if keep[old.Target.Key()] {
			continue
		}
		if _, err := t.DeleteFragment(old.Target, s, index); err != nil {
			return 0, err
		}
		changed++
	}
	return changed, nil
}

// touchTarget bumps the revision of target to index and adjusts its
// fragment count by delta.
func (t *Tx) touchTarget(target api.TargetRef, index uint64, delta int) error {
	rec, _, err := t.Target(target)
	if err != nil {
		return err
	}
	rec.Target = target
	rec.Revision = index
	rec.Fragments += delta
	if rec.Fragments < 0 {
		return fmt.Errorf("store: fragment count of %s would go negative", target)
	}
	return t.tx.Bucket(bucketTargets).Put([]byte(target.Key()), encodeTargetRecord(rec))
}

// RecordSync stores the outcome of a sync attempt. An outcome for an older
// revision than the one recorded is ignored (it finished late), and false
// is returned.
func (t *Tx) RecordSync(target api.TargetRef, st api.SyncStatus) (bool, error) {
	old, err := t.Status(target)
	if err != nil {
		return false, err
	}
	if old != nil && st.Revision < old.Revision {
		return false, nil
	}
	return true, t.tx.Bucket(bucketStatus).Put([]byte(target.Key()), mustJSON(st))
}

// PutSource registers or updates a source.
func (t *Tx) PutSource(src api.Source, index uint64) (bool, error) {
	old, exists, err := t.Source(src.Source)
	if err != nil {
		return false, err
	}
	if exists && (bytes.Equal(old.Spec, src.Spec) || len(src.Spec) > 0 && sameSpec(src.Spec, old.Spec)) {
		return false, nil
	}
	src.CreateIndex, src.Status = index, nil
	if exists {
		// The status belongs to the producer: a spec change keeps it
		// (ObservedGeneration tells that it is about an older spec).
		src.CreateIndex, src.Status = old.CreateIndex, old.Status
	}
	src.ModifyIndex = index
	b, err := json.Marshal(src)
	if err != nil {
		return false, err
	}
	return true, t.tx.Bucket(bucketSources).Put([]byte(src.Source.Key()), b)
}

// RecordSourceStatus replaces the status of a registered source without
// touching its spec or ModifyIndex. It reports false when the source is
// not registered (it was deleted meanwhile) or the status is unchanged.
func (t *Tx) RecordSourceStatus(ref api.SourceRef, status json.RawMessage) (bool, error) {
	src, exists, err := t.Source(ref)
	if err != nil || !exists || sameSpec(src.Status, status) {
		return false, err
	}
	src.Status = status
	b, err := json.Marshal(src)
	if err != nil {
		return false, err
	}
	return true, t.tx.Bucket(bucketSources).Put([]byte(ref.Key()), b)
}

// DeleteSource removes a source registration and every fragment it
// produced: a producer that is gone contributes nothing. It returns the
// number of rows removed.
func (t *Tx) DeleteSource(s api.SourceRef, index uint64) (int, error) {
	n, err := t.ReplaceSourceFragments(s, nil, index)
	if err != nil {
		return 0, err
	}
	srcs := t.tx.Bucket(bucketSources)
	if srcs.Get([]byte(s.Key())) != nil {
		if err := srcs.Delete([]byte(s.Key())); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// sameSpec reports whether two specs are the same JSON, so a spec that
// differs only in whitespace does not bump the revision. The compact forms
// are only computed when the bytes differ.
func sameSpec(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}
