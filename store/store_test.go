package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/api"
)

// --- helpers ---------------------------------------------------------------

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func tref(name string) api.TargetRef {
	return api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: name}
}

func sref(name string) api.SourceRef {
	return api.SourceRef{Kind: "Ingress", Namespace: "default", Name: name}
}

func frag(target, source string, gen int64, spec string) api.Fragment {
	return api.Fragment{Target: tref(target), Source: sref(source), Generation: gen, Spec: json.RawMessage(spec)}
}

func mustUpdate(t testing.TB, s *Store, fn func(*Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t testing.TB, s *Store, fn func(*View) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func put(t testing.TB, s *Store, f api.Fragment, index uint64) PutResult {
	t.Helper()
	var r PutResult
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		r, err = tx.PutFragment(f, index)
		return err
	})
	return r
}

func getFragment(t testing.TB, s *Store, target, source string) (api.Fragment, bool) {
	t.Helper()
	var f api.Fragment
	var ok bool
	mustView(t, s, func(v *View) error {
		var err error
		f, ok, err = v.Fragment(tref(target), sref(source))
		return err
	})
	return f, ok
}

func getTarget(t testing.TB, s *Store, target string) (TargetRecord, bool) {
	t.Helper()
	var r TargetRecord
	var ok bool
	mustView(t, s, func(v *View) error {
		var err error
		r, ok, err = v.Target(tref(target))
		return err
	})
	return r, ok
}

func dump(t testing.TB, s *Store) string {
	t.Helper()
	var b bytes.Buffer
	mustView(t, s, func(v *View) error { return v.Dump(&b) })
	return b.String()
}

// checkConsistency verifies the invariants between the buckets: every
// fragment row has its by_source row and vice versa, the stored fragment
// agrees with its key, and every target's fragment count is the number of
// its fragment rows (targets with no row have no fragments).
func checkConsistency(t testing.TB, s *Store) {
	t.Helper()
	mustView(t, s, func(v *View) error {
		frags := map[string]bool{}
		perTarget := map[string]int{}
		c := v.tx.Bucket(bucketFragments).Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.Next() {
			f, err := api.DecodeBinary(raw, true)
			if err != nil {
				return err
			}
			if want := string(compositeKey(f.Target.Key(), f.Source.Key())); want != string(k) {
				t.Errorf("fragment row %q holds fragment of key %q", k, want)
			}
			frags[string(compositeKey(f.Source.Key(), f.Target.Key()))] = true
			perTarget[f.Target.Key()]++
		}
		idx := map[string]bool{}
		c = v.tx.Bucket(bucketBySource).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			idx[string(k)] = true
			if !frags[string(k)] {
				t.Errorf("by_source row %q has no fragment", quote(k))
			}
		}
		for k := range frags {
			if !idx[k] {
				t.Errorf("fragment %q has no by_source row", quote([]byte(k)))
			}
		}
		err := v.Targets("", func(r TargetRecord) bool {
			if got := perTarget[r.Target.Key()]; got != r.Fragments {
				t.Errorf("target %s counts %d fragments, has %d", r.Target, r.Fragments, got)
			}
			delete(perTarget, r.Target.Key())
			return true
		})
		for k, n := range perTarget {
			t.Errorf("target %q has %d fragments but no target row", quote([]byte(k)), n)
		}
		return err
	})
}

// --- PutFragment -----------------------------------------------------------

func TestPutFragment(t *testing.T) {
	type step struct {
		f     api.Fragment
		index uint64
		want  PutResult
		// what is stored afterwards
		wantCreate, wantModify uint64
		wantGen                int64
		wantSpec               string
		wantRevision           uint64
		wantCount              int
		// unchanged: the whole state must be byte-identical to before
		unchanged bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "create sets create and modify index, revision and count",
			steps: []step{
				{f: frag("edge", "web", 1, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 1, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
			},
		},
		{
			name: "update keeps create index",
			steps: []step{
				{f: frag("edge", "web", 1, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 1, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 2, `{"a":2}`), index: 9, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 9, wantGen: 2, wantSpec: `{"a":2}`, wantRevision: 9, wantCount: 1},
			},
		},
		{
			name: "identical re-put changes nothing",
			steps: []step{
				{f: frag("edge", "web", 3, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 3, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 3, `{"a":1}`), index: 9, want: PutResult{},
					wantCreate: 5, wantModify: 5, wantGen: 3, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1, unchanged: true},
			},
		},
		{
			name: "identical re-put with other whitespace changes nothing",
			steps: []step{
				{f: frag("edge", "web", 3, `{"a": 1, "h": "<b>"}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 3, wantSpec: `{"a": 1, "h": "<b>"}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 3, "{ \"a\" :1,\n\"h\":\"<b>\" }"), index: 9, want: PutResult{},
					wantCreate: 5, wantModify: 5, wantGen: 3, wantSpec: `{"a": 1, "h": "<b>"}`, wantRevision: 5, wantCount: 1, unchanged: true},
			},
		},
		{
			name: "lower generation is stale and changes nothing",
			steps: []step{
				{f: frag("edge", "web", 7, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 7, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 6, `{"a":"older"}`), index: 9, want: PutResult{Stale: true, StoredGeneration: 7},
					wantCreate: 5, wantModify: 5, wantGen: 7, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1, unchanged: true},
				{f: frag("edge", "web", 0, `{"a":1}`), index: 10, want: PutResult{Stale: true, StoredGeneration: 7},
					wantCreate: 5, wantModify: 5, wantGen: 7, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1, unchanged: true},
			},
		},
		{
			name: "equal generation with a different spec is applied",
			steps: []step{
				{f: frag("edge", "web", 4, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 4, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 4, `{"a":2}`), index: 9, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 9, wantGen: 4, wantSpec: `{"a":2}`, wantRevision: 9, wantCount: 1},
			},
		},
		{
			name: "higher generation with the same spec is applied",
			steps: []step{
				{f: frag("edge", "web", 1, `{"a":1}`), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 1, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
				{f: frag("edge", "web", 2, `{"a":1}`), index: 6, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 6, wantGen: 2, wantSpec: `{"a":1}`, wantRevision: 6, wantCount: 1},
			},
		},
		{
			name: "caller-supplied indexes are ignored",
			steps: []step{
				{f: func() api.Fragment {
					f := frag("edge", "web", 1, `{"a":1}`)
					f.CreateIndex, f.ModifyIndex = 1000, 2000
					return f
				}(), index: 5, want: PutResult{Changed: true},
					wantCreate: 5, wantModify: 5, wantGen: 1, wantSpec: `{"a":1}`, wantRevision: 5, wantCount: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, Options{})
			for i, st := range tt.steps {
				before := dump(t, s)
				got := put(t, s, st.f, st.index)
				if got != st.want {
					t.Errorf("step %d: PutFragment = %+v, want %+v", i, got, st.want)
				}
				f, ok := getFragment(t, s, st.f.Target.Name, st.f.Source.Name)
				if !ok {
					t.Fatalf("step %d: fragment not stored", i)
				}
				if f.CreateIndex != st.wantCreate || f.ModifyIndex != st.wantModify || f.Generation != st.wantGen || string(f.Spec) != st.wantSpec {
					t.Errorf("step %d: stored create=%d modify=%d gen=%d spec=%s, want create=%d modify=%d gen=%d spec=%s",
						i, f.CreateIndex, f.ModifyIndex, f.Generation, f.Spec, st.wantCreate, st.wantModify, st.wantGen, st.wantSpec)
				}
				r, ok := getTarget(t, s, st.f.Target.Name)
				if !ok {
					t.Fatalf("step %d: no target row", i)
				}
				if r.Revision != st.wantRevision || r.Fragments != st.wantCount || r.Target != st.f.Target {
					t.Errorf("step %d: target %+v, want revision %d, %d fragments", i, r, st.wantRevision, st.wantCount)
				}
				if after := dump(t, s); st.unchanged && after != before {
					t.Errorf("step %d: state changed:\nbefore:\n%s\nafter:\n%s", i, before, after)
				}
				checkConsistency(t, s)
			}
		})
	}
}

func TestPutFragmentSecondSourceCountsAndRevision(t *testing.T) {
	s := openStore(t, Options{})
	put(t, s, frag("edge", "a", 1, `{}`), 1)
	put(t, s, frag("edge", "b", 1, `{}`), 2)
	put(t, s, frag("other", "a", 1, `{}`), 3)
	if r, _ := getTarget(t, s, "edge"); r.Revision != 2 || r.Fragments != 2 {
		t.Errorf("edge = %+v, want revision 2, 2 fragments", r)
	}
	if r, _ := getTarget(t, s, "other"); r.Revision != 3 || r.Fragments != 1 {
		t.Errorf("other = %+v, want revision 3, 1 fragment", r)
	}
	mustView(t, s, func(v *View) error {
		fs, err := v.TargetFragments(tref("edge"))
		if err != nil {
			return err
		}
		if len(fs) != 2 || fs[0].Source.Name != "a" || fs[1].Source.Name != "b" {
			t.Errorf("TargetFragments(edge) = %+v, want a then b", fs)
		}
		return nil
	})
	checkConsistency(t, s)
}

func TestTargetFragmentsPrefixIsolation(t *testing.T) {
	s := openStore(t, Options{})
	put(t, s, frag("edge", "a", 1, `{}`), 1)
	put(t, s, frag("edge2", "a", 1, `{}`), 2)
	put(t, s, api.Fragment{Target: tref("edge"), Source: api.SourceRef{Kind: "Ingress", Namespace: "default2", Name: "a"}, Spec: json.RawMessage(`{}`)}, 3)
	mustView(t, s, func(v *View) error {
		fs, err := v.TargetFragments(tref("edge"))
		if err != nil {
			return err
		}
		if len(fs) != 2 {
			t.Errorf("TargetFragments(edge) = %d fragments, want 2", len(fs))
		}
		fs, err = v.SourceFragments(sref("a"))
		if err != nil {
			return err
		}
		if len(fs) != 2 || fs[0].Target.Name != "edge" || fs[1].Target.Name != "edge2" {
			t.Errorf("SourceFragments(a) = %+v", fs)
		}
		return nil
	})
}

// --- DeleteFragment --------------------------------------------------------

func TestDeleteFragment(t *testing.T) {
	s := openStore(t, Options{})
	put(t, s, frag("edge", "a", 1, `{}`), 1)
	put(t, s, frag("edge", "b", 1, `{}`), 2)

	del := func(target, source string, index uint64) bool {
		t.Helper()
		var ok bool
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			ok, err = tx.DeleteFragment(tref(target), sref(source), index)
			return err
		})
		return ok
	}
	steps := []struct {
		target, source string
		index          uint64
		want           bool
		wantRevision   uint64
		wantCount      int
	}{
		{"edge", "a", 3, true, 3, 1},
		{"edge", "a", 4, false, 3, 1}, // already gone: nothing changes
		{"edge", "b", 5, true, 5, 0},  // last fragment: row stays with 0
		{"edge", "b", 6, false, 5, 0},
	}
	for i, st := range steps {
		before := dump(t, s)
		if got := del(st.target, st.source, st.index); got != st.want {
			t.Errorf("step %d: DeleteFragment = %v, want %v", i, got, st.want)
		}
		if !st.want && dump(t, s) != before {
			t.Errorf("step %d: a no-op delete changed the state", i)
		}
		r, ok := getTarget(t, s, st.target)
		if !ok {
			t.Fatalf("step %d: target row is gone", i)
		}
		if r.Revision != st.wantRevision || r.Fragments != st.wantCount {
			t.Errorf("step %d: target = %+v, want revision %d, %d fragments", i, r, st.wantRevision, st.wantCount)
		}
		if _, ok := getFragment(t, s, st.target, st.source); ok {
			t.Errorf("step %d: fragment still there", i)
		}
		checkConsistency(t, s)
	}
	mustView(t, s, func(v *View) error {
		if fs, err := v.TargetFragments(tref("edge")); err != nil || len(fs) != 0 {
			t.Errorf("TargetFragments = %v, %v; want none", fs, err)
		}
		if fs, err := v.SourceFragments(sref("a")); err != nil || len(fs) != 0 {
			t.Errorf("SourceFragments = %v, %v; want none", fs, err)
		}
		return nil
	})

	// Deleting from a target that never existed creates no row.
	if del("never", "a", 7) {
		t.Error("DeleteFragment of a missing fragment reported true")
	}
	if _, ok := getTarget(t, s, "never"); ok {
		t.Error("DeleteFragment created a target row")
	}
}

// --- ReplaceSourceFragments ------------------------------------------------

func replace(t testing.TB, s *Store, source string, frags []api.Fragment, index uint64) int {
	t.Helper()
	var n int
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		n, err = tx.ReplaceSourceFragments(sref(source), frags, index)
		return err
	})
	return n
}

func TestReplaceSourceFragments(t *testing.T) {
	s := openStore(t, Options{})
	put(t, s, frag("t1", "src", 1, `{"v":1}`), 1)
	put(t, s, frag("t2", "src", 1, `{"v":1}`), 2)
	put(t, s, frag("t3", "src", 5, `{"v":1}`), 3)
	put(t, s, frag("t2", "other", 1, `{"o":1}`), 4)
	otherBefore, _ := getFragment(t, s, "t2", "other")

	set := []api.Fragment{
		frag("t2", "src", 1, `{"v":2}`), // update
		frag("t3", "src", 5, `{"v":1}`), // same
		frag("t4", "src", 1, `{"v":1}`), // new
		{Target: tref("t5"), Source: sref("somebody-else"), Spec: json.RawMessage(`{}`)}, // source is forced to src
	}
	if n := replace(t, s, "src", set, 10); n != 4 {
		t.Errorf("changed = %d, want 4 (t1 deleted, t2 updated, t4 and t5 created)", n)
	}
	checkConsistency(t, s)

	wantFrags := []struct {
		target         string
		create, modify uint64
		spec           string
	}{
		{"t2", 2, 10, `{"v":2}`},
		{"t3", 3, 3, `{"v":1}`},
		{"t4", 10, 10, `{"v":1}`},
		{"t5", 10, 10, `{}`},
	}
	var got []api.Fragment
	mustView(t, s, func(v *View) error {
		var err error
		got, err = v.SourceFragments(sref("src"))
		return err
	})
	if len(got) != len(wantFrags) {
		t.Fatalf("SourceFragments = %d fragments, want %d: %+v", len(got), len(wantFrags), got)
	}
	for i, w := range wantFrags {
		g := got[i]
		if g.Target.Name != w.target || g.Source != sref("src") || g.CreateIndex != w.create || g.ModifyIndex != w.modify || string(g.Spec) != w.spec {
			t.Errorf("fragment %d = %+v, want %+v", i, g, w)
		}
	}
	if _, ok := getFragment(t, s, "t1", "src"); ok {
		t.Error("t1 fragment of src not deleted")
	}
	if _, ok := getFragment(t, s, "t5", "somebody-else"); ok {
		t.Error("fragment stored under the source named in the fragment, not the replaced one")
	}
	if o, _ := getFragment(t, s, "t2", "other"); !reflect.DeepEqual(o, otherBefore) {
		t.Errorf("another source's fragment changed: %+v -> %+v", otherBefore, o)
	}
	wantTargets := []struct {
		name      string
		revision  uint64
		fragments int
	}{
		{"t1", 10, 0}, {"t2", 10, 2}, {"t3", 3, 1}, {"t4", 10, 1}, {"t5", 10, 1},
	}
	for _, w := range wantTargets {
		r, ok := getTarget(t, s, w.name)
		if !ok || r.Revision != w.revision || r.Fragments != w.fragments {
			t.Errorf("target %s = %+v (exists %v), want revision %d, %d fragments", w.name, r, ok, w.revision, w.fragments)
		}
	}

	// Re-running the same replace changes nothing at all.
	before := dump(t, s)
	if n := replace(t, s, "src", set, 11); n != 0 {
		t.Errorf("re-run changed = %d, want 0", n)
	}
	if after := dump(t, s); after != before {
		t.Errorf("idempotent re-run changed the state:\n%s\n---\n%s", before, after)
	}

	// Generations are not compared: a resync lists the producer's truth.
	if n := replace(t, s, "src", []api.Fragment{frag("t3", "src", 1, `{"v":"resync"}`)}, 12); n != 4 {
		t.Errorf("changed = %d, want 4 (t3 updated with lower generation, t2 t4 t5 deleted)", n)
	}
	if f, _ := getFragment(t, s, "t3", "src"); f.Generation != 1 || f.CreateIndex != 3 || f.ModifyIndex != 12 {
		t.Errorf("t3 after resync = %+v", f)
	}
	checkConsistency(t, s)

	// An empty set removes everything of the source.
	if n := replace(t, s, "src", nil, 13); n != 1 {
		t.Errorf("changed = %d, want 1", n)
	}
	mustView(t, s, func(v *View) error {
		fs, err := v.SourceFragments(sref("src"))
		if len(fs) != 0 {
			t.Errorf("fragments left: %+v", fs)
		}
		return err
	})
	checkConsistency(t, s)
}

// TestReplaceSourceFragmentsAtomicUnderReaders has a writer flip a source
// between two sets of 50 fragments while readers check, in one View each,
// that they see exactly one complete set.
func TestReplaceSourceFragmentsAtomicUnderReaders(t *testing.T) {
	s := openStore(t, Options{NoSync: true})
	const n = 50
	// A covers t000..t049, B covers t025..t074: switching adds, updates
	// and deletes fragments.
	mkSet := func(version string, first int) ([]api.Fragment, map[string]bool) {
		var fs []api.Fragment
		names := map[string]bool{}
		for i := first; i < first+n; i++ {
			name := fmt.Sprintf("t%03d", i)
			names[name] = true
			fs = append(fs, frag(name, "src", 1, fmt.Sprintf(`{"version":%q,"i":%d}`, version, i)))
		}
		return fs, names
	}
	setA, namesA := mkSet("A", 0)
	setB, namesB := mkSet("B", 25)
	names := map[string]map[string]bool{"A": namesA, "B": namesB}
	replace(t, s, "src", setA, 1)

	versionOf := func(f api.Fragment) string {
		var spec struct{ Version string }
		if err := json.Unmarshal(f.Spec, &spec); err != nil {
			return "undecodable: " + err.Error()
		}
		return spec.Version
	}

	const iterations = 200
	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		mu      sync.Mutex
		seen    = map[string]int{}
		readers = 4
	)
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
	}
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			defer func() {
				mu.Lock()
				for k, v := range local {
					seen[k] += v
				}
				mu.Unlock()
			}()
			for {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(func(v *View) error {
					fs, err := v.SourceFragments(sref("src"))
					if err != nil {
						return err
					}
					if len(fs) != n {
						return fmt.Errorf("SourceFragments: %d fragments, want %d", len(fs), n)
					}
					version := versionOf(fs[0])
					want := names[version]
					if want == nil {
						return fmt.Errorf("unknown version %q", version)
					}
					for _, f := range fs {
						if vv := versionOf(f); vv != version || !want[f.Target.Name] {
							return fmt.Errorf("mixed sets: %s has version %s, first has %s", f.Target.Name, vv, version)
						}
					}
					local[version]++
					// The per-target side, in the same view: t000 only in
					// A, t030 in both, t060 only in B.
					for _, name := range []string{"t000", "t030", "t060"} {
						tfs, err := v.TargetFragments(tref(name))
						if err != nil {
							return err
						}
						rec, _, err := v.Target(tref(name))
						if err != nil {
							return err
						}
						wantN := 0
						if want[name] {
							wantN = 1
						}
						if len(tfs) != wantN || rec.Fragments != wantN {
							return fmt.Errorf("version %s: target %s has %d fragments (row says %d), want %d", version, name, len(tfs), rec.Fragments, wantN)
						}
						if wantN == 1 && versionOf(tfs[0]) != version {
							return fmt.Errorf("version %s: target %s has version %s", version, name, versionOf(tfs[0]))
						}
					}
					return nil
				})
				if err != nil {
					fail("reader: %v", err)
					return
				}
			}
		}()
	}

	for i := 0; i < iterations; i++ {
		set := setB
		if i%2 == 1 {
			set = setA
		}
		var changed int
		err := s.Update(func(tx *Tx) error {
			var err error
			changed, err = tx.ReplaceSourceFragments(sref("src"), set, uint64(i+2))
			return err
		})
		if err != nil {
			t.Fatalf("replace %d: %v", i, err)
		}
		// 25 updated + 25 created + 25 deleted.
		if changed != 75 {
			t.Fatalf("replace %d changed %d, want 75", i, changed)
		}
	}
	close(done)
	wg.Wait()
	checkConsistency(t, s)
	t.Logf("reads: %v", seen)
	if seen["A"]+seen["B"] == 0 {
		t.Error("readers never read")
	}
}

// --- RecordSync, sources ---------------------------------------------------

func TestRecordSync(t *testing.T) {
	s := openStore(t, Options{})
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		revision     uint64
		hash         string
		want         bool
		wantRevision uint64
		wantHash     string
	}{
		{5, "h5", true, 5, "h5"},
		{3, "h3", false, 5, "h5"},  // finished late: ignored
		{5, "h5b", true, 5, "h5b"}, // a retry of the same revision
		{7, "h7", true, 7, "h7"},
		{6, "h6", false, 7, "h7"},
	}
	for i, st := range steps {
		var ok bool
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			ok, err = tx.RecordSync(tref("edge"), api.SyncStatus{Revision: st.revision, SyncedHash: st.hash, Time: at, Attempts: i})
			return err
		})
		if ok != st.want {
			t.Errorf("step %d: RecordSync = %v, want %v", i, ok, st.want)
		}
		mustView(t, s, func(v *View) error {
			got, err := v.Status(tref("edge"))
			if err != nil {
				return err
			}
			if got == nil || got.Revision != st.wantRevision || got.SyncedHash != st.wantHash || !got.Time.Equal(at) {
				t.Errorf("step %d: status = %+v, want revision %d hash %s", i, got, st.wantRevision, st.wantHash)
			}
			return nil
		})
	}
	mustView(t, s, func(v *View) error {
		if st, err := v.Status(tref("other")); st != nil || err != nil {
			t.Errorf("Status(other) = %v, %v; want nil", st, err)
		}
		return nil
	})
}

func TestPutSourceDeleteSource(t *testing.T) {
	s := openStore(t, Options{})
	src := func(name, spec string) api.Source {
		return api.Source{Source: sref(name), Spec: json.RawMessage(spec)}
	}
	putSrc := func(x api.Source, index uint64) bool {
		t.Helper()
		var ok bool
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			ok, err = tx.PutSource(x, index)
			return err
		})
		return ok
	}
	getSrc := func(name string) (api.Source, bool) {
		t.Helper()
		var x api.Source
		var ok bool
		mustView(t, s, func(v *View) error {
			var err error
			x, ok, err = v.Source(sref(name))
			return err
		})
		return x, ok
	}
	steps := []struct {
		spec                   string
		index                  uint64
		want                   bool
		wantCreate, wantModify uint64
	}{
		{`{"url":"a"}`, 1, true, 1, 1},
		{`{"url":"a"}`, 2, false, 1, 1},
		{`{ "url": "a" }`, 3, false, 1, 1},
		{`{"url":"b"}`, 4, true, 1, 4},
	}
	for i, st := range steps {
		if got := putSrc(src("git", st.spec), st.index); got != st.want {
			t.Errorf("step %d: PutSource = %v, want %v", i, got, st.want)
		}
		x, ok := getSrc("git")
		if !ok || x.CreateIndex != st.wantCreate || x.ModifyIndex != st.wantModify {
			t.Errorf("step %d: source = %+v, want create %d modify %d", i, x, st.wantCreate, st.wantModify)
		}
	}
	if !putSrc(api.Source{Source: sref("bare")}, 5) || putSrc(api.Source{Source: sref("bare")}, 6) {
		t.Error("a source without spec: first put must change, second must not")
	}

	// The producer's status: recorded without touching spec or indexes,
	// kept by a spec change, refused for an unknown source.
	recordStatus := func(name, status string) bool {
		t.Helper()
		var ok bool
		mustUpdate(t, s, func(tx *Tx) error {
			var err error
			ok, err = tx.RecordSourceStatus(sref(name), json.RawMessage(status))
			return err
		})
		return ok
	}
	if !recordStatus("git", `{"lastSyncedCommit":"c1"}`) || recordStatus("git", `{ "lastSyncedCommit": "c1" }`) {
		t.Error("RecordSourceStatus: first must change, an equal status must not")
	}
	if recordStatus("nope", `{}`) {
		t.Error("RecordSourceStatus stored a status for an unregistered source")
	}
	if !putSrc(src("git", `{"url":"c"}`), 7) {
		t.Error("spec change ignored")
	}
	if x, _ := getSrc("git"); string(x.Status) != `{"lastSyncedCommit":"c1"}` || x.ModifyIndex != 7 || string(x.Spec) != `{"url":"c"}` {
		t.Errorf("after a spec change: %+v", x)
	}

	// The source produced fragments on two targets; another source shares one.
	put(t, s, frag("t1", "git", 1, `{}`), 10)
	put(t, s, frag("t2", "git", 1, `{}`), 11)
	put(t, s, frag("t2", "keep", 1, `{}`), 12)

	var n int
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		n, err = tx.DeleteSource(sref("git"), 20)
		return err
	})
	if n != 3 {
		t.Errorf("DeleteSource removed %d rows, want 3 (2 fragments + registration)", n)
	}
	if _, ok := getSrc("git"); ok {
		t.Error("source registration still there")
	}
	for _, name := range []string{"t1", "t2"} {
		if _, ok := getFragment(t, s, name, "git"); ok {
			t.Errorf("fragment of deleted source on %s still there", name)
		}
	}
	if _, ok := getFragment(t, s, "t2", "keep"); !ok {
		t.Error("another source's fragment was deleted")
	}
	if r, _ := getTarget(t, s, "t1"); r.Fragments != 0 || r.Revision != 20 {
		t.Errorf("t1 = %+v, want 0 fragments, revision 20", r)
	}
	if r, _ := getTarget(t, s, "t2"); r.Fragments != 1 || r.Revision != 20 {
		t.Errorf("t2 = %+v, want 1 fragment, revision 20", r)
	}
	checkConsistency(t, s)

	// Fragments without a registration are removed too; an unknown source
	// removes nothing.
	put(t, s, frag("t3", "unregistered", 1, `{}`), 21)
	mustUpdate(t, s, func(tx *Tx) error {
		var err error
		if n, err = tx.DeleteSource(sref("unregistered"), 22); err != nil || n != 1 {
			t.Errorf("DeleteSource(unregistered) = %d, %v; want 1", n, err)
		}
		if n, err = tx.DeleteSource(sref("nobody"), 23); err != nil || n != 0 {
			t.Errorf("DeleteSource(nobody) = %d, %v; want 0", n, err)
		}
		return nil
	})
	var all []string
	mustView(t, s, func(v *View) error {
		return v.Sources(func(x api.Source) bool { all = append(all, x.Source.Name); return true })
	})
	if !reflect.DeepEqual(all, []string{"bare"}) {
		t.Errorf("sources left = %v, want [bare]", all)
	}
	checkConsistency(t, s)
}

// --- Dump ------------------------------------------------------------------

type op func(tx *Tx) error

func opPut(f api.Fragment, index uint64) op {
	return func(tx *Tx) error { _, err := tx.PutFragment(f, index); return err }
}

func TestDumpDeterministic(t *testing.T) {
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	base := []op{
		func(tx *Tx) error { return tx.SetClusterID("c1") },
		opPut(frag("edge", "a", 1, `{"r":1}`), 1),
		opPut(frag("edge", "b", 1, `{"r":2}`), 2),
		func(tx *Tx) error {
			_, err := tx.ReplaceSourceFragments(sref("c"), []api.Fragment{frag("t2", "c", 1, `{}`), frag("t3", "c", 1, `{}`)}, 3)
			return err
		},
		func(tx *Tx) error { _, err := tx.DeleteFragment(tref("edge"), sref("a"), 4); return err },
		func(tx *Tx) error {
			_, err := tx.RecordSync(tref("edge"), api.SyncStatus{Revision: 4, SyncedHash: "x", Time: at, DownstreamIDs: map[string]string{"b": "2", "a": "1"}})
			return err
		},
		func(tx *Tx) error {
			_, err := tx.PutSource(api.Source{Source: sref("g"), Spec: json.RawMessage(`{"u":1}`)}, 6)
			return err
		},
	}
	build := func(t *testing.T, ops []op, applied uint64) string {
		s := openStore(t, Options{})
		for _, o := range ops {
			mustUpdate(t, s, o)
		}
		mustUpdate(t, s, func(tx *Tx) error { return tx.SetApplied(applied, 1) })
		return dump(t, s)
	}
	want := build(t, base, 6)
	if !strings.Contains(want, "cluster_id c1\n") || !strings.Contains(want, "fragments ") || !strings.Contains(want, "status ") || !strings.Contains(want, "sources ") {
		t.Fatalf("dump misses rows:\n%s", want)
	}
	if got := build(t, base, 6); got != want {
		t.Errorf("same operations, different dump:\n%s\n---\n%s", want, got)
	}
	// The raft bookkeeping is not part of the replicated state.
	if got := build(t, base, 99); got != want {
		t.Errorf("the applied index changed the dump")
	}

	swapped := append([]op{}, base...)
	swapped[1], swapped[2] = opPut(frag("edge", "b", 1, `{"r":2}`), 1), opPut(frag("edge", "a", 1, `{"r":1}`), 2)
	differ := map[string][]op{
		"other order":      swapped,
		"one op fewer":     base[:len(base)-1],
		"other index":      append(append([]op{}, base[:2]...), append([]op{opPut(frag("edge", "b", 1, `{"r":2}`), 9)}, base[3:]...)...),
		"other cluster id": append([]op{func(tx *Tx) error { return tx.SetClusterID("c2") }}, base[1:]...),
		"extra op":         append(append([]op{}, base...), opPut(frag("zz", "a", 1, `{}`), 7)),
	}
	for name, ops := range differ {
		t.Run(name, func(t *testing.T) {
			if got := build(t, ops, 6); got == want {
				t.Errorf("dump is the same as the base:\n%s", got)
			}
		})
	}
}

// --- Open ------------------------------------------------------------------

func TestOpenRefusesNewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, u64(formatVersion+1)) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Open = %v, want ErrNewerFormat", err)
	}
}

func TestClosedStore(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.View(func(*View) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("View = %v, want ErrClosed", err)
	}
	if err := s.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update = %v, want ErrClosed", err)
	}
	if _, err := s.BeginSnapshot(); !errors.Is(err, ErrClosed) {
		t.Errorf("BeginSnapshot = %v, want ErrClosed", err)
	}
}

func TestUpdateErrorRollsBack(t *testing.T) {
	s := openStore(t, Options{})
	before := dump(t, s)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if _, err := tx.PutFragment(frag("edge", "a", 1, `{}`), 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if after := dump(t, s); after != before {
		t.Errorf("failed transaction left changes:\n%s", after)
	}
}

// --- Replace while a snapshot is open --------------------------------------

// Replace must not wait for an open snapshot: raft holds the FSM's snapshot
// while it waits on its main loop, which may itself be waiting for the FSM
// to install the leader's snapshot (a deadlock seen as a hung node).
func TestReplaceDoesNotWaitForOpenSnapshot(t *testing.T) {
	src := openStore(t, Options{})
	mustUpdate(t, src, func(tx *Tx) error {
		_, err := tx.PutFragment(frag("from-image", "a", 1, `{}`), 7)
		return err
	})
	img := image(t, src)

	s := openStore(t, Options{})
	mustUpdate(t, s, func(tx *Tx) error {
		_, err := tx.PutFragment(frag("live", "a", 1, `{}`), 1)
		return err
	})
	before := image(t, s)
	snap, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Replace(bytes.NewReader(img)) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Replace with a snapshot open: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Replace waits for an open snapshot")
	}
	if _, ok := getFragment(t, s, "from-image", "a"); !ok {
		t.Error("replaced state misses the image's fragment")
	}
	if _, ok := getFragment(t, s, "live", "a"); ok {
		t.Error("replaced state still has the old fragment")
	}
	if dump(t, s) != dump(t, src) {
		t.Error("replaced state differs from the image's store")
	}
	// The open snapshot still reads the old state, completely.
	if _, ok, _ := snap.Fragment(tref("live"), sref("a")); !ok {
		t.Error("open snapshot lost the live fragment")
	}
	var b bytes.Buffer
	if _, err := snap.WriteTo(&b); err != nil {
		t.Fatalf("snapshot WriteTo after Replace: %v", err)
	}
	if !bytes.Equal(b.Bytes(), before) {
		t.Error("open snapshot's image changed under Replace")
	}
	snap.Release()
	snap.Release() // a second release is a no-op

	// The new file is writable, and Close returns once the old one is
	// closed.
	put(t, s, frag("after", "a", 1, `{}`), 8)
	checkConsistency(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func image(t testing.TB, s *Store) []byte {
	t.Helper()
	snap, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var b bytes.Buffer
	n, err := snap.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n != snap.Size() || int64(b.Len()) != n {
		t.Fatalf("WriteTo wrote %d (buffer %d), Size says %d", n, b.Len(), snap.Size())
	}
	return b.Bytes()
}
