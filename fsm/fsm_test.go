package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

// --- helpers ---------------------------------------------------------------

type applyCall struct {
	index   uint64
	changed []api.TargetRef
}

type harness struct {
	t     testing.TB
	path  string
	opts  store.Options
	store *store.Store
	fsm   *FSM
	calls []applyCall
	sizes []int
}

func newHarness(t testing.TB, opts store.Options) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "fsm.db"), opts: opts}
	h.open()
	t.Cleanup(func() {
		if h.store != nil {
			h.store.Close()
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	s, err := store.Open(h.path, h.opts)
	if err != nil {
		h.t.Fatalf("store.Open: %v", err)
	}
	f, err := New(Config{
		Store: s,
		OnApply: func(index uint64, changed []api.TargetRef) {
			h.calls = append(h.calls, applyCall{index, append([]api.TargetRef(nil), changed...)})
		},
		ObserveBatch: func(_ time.Duration, n int) { h.sizes = append(h.sizes, n) },
	})
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	h.store, h.fsm = s, f
}

// reopen simulates a restart: close the file, open it again, new FSM.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.store.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.store = nil
	h.calls, h.sizes = nil, nil
	h.open()
}

func (h *harness) apply(logs ...*raft.Log) []Response {
	h.t.Helper()
	out := h.fsm.ApplyBatch(logs)
	if len(out) != len(logs) {
		h.t.Fatalf("ApplyBatch returned %d responses for %d entries", len(out), len(logs))
	}
	resps := make([]Response, len(out))
	for i, r := range out {
		if r == nil {
			continue
		}
		resp, ok := r.(Response)
		if !ok {
			h.t.Fatalf("response %d is %T", i, r)
		}
		resps[i] = resp
	}
	return resps
}

func (h *harness) dump() string {
	h.t.Helper()
	var b bytes.Buffer
	if err := h.store.View(func(v *store.View) error { return v.Dump(&b) }); err != nil {
		h.t.Fatal(err)
	}
	return b.String()
}

func (h *harness) applied() (uint64, uint64) {
	h.t.Helper()
	var idx, term uint64
	if err := h.store.View(func(v *store.View) error { idx, term = v.AppliedIndex(); return nil }); err != nil {
		h.t.Fatal(err)
	}
	return idx, term
}

func (h *harness) fragment(target api.TargetRef, source api.SourceRef) (api.Fragment, bool) {
	h.t.Helper()
	var f api.Fragment
	var ok bool
	err := h.store.View(func(v *store.View) error {
		var err error
		f, ok, err = v.Fragment(target, source)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return f, ok
}

func (h *harness) target(target api.TargetRef) store.TargetRecord {
	h.t.Helper()
	var r store.TargetRecord
	err := h.store.View(func(v *store.View) error {
		var err error
		r, _, err = v.Target(target)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func cmdLog(t testing.TB, index, term uint64, c Command) *raft.Log {
	t.Helper()
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: b}
}

func tgt(name string) api.TargetRef {
	return api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: name}
}

func src(name string) api.SourceRef {
	return api.SourceRef{Kind: "Ingress", Namespace: "ns", Name: name}
}

func putCmd(target, source string, gen int64, spec string) *PutFragment {
	return &PutFragment{Fragment: api.Fragment{Target: tgt(target), Source: src(source), Generation: gen, Spec: json.RawMessage(spec)}}
}

// --- ApplyBatch ------------------------------------------------------------

// TestApplyBatchSkipsRedelivered applies 1..10, restarts, and has raft
// re-deliver 1..12 (as it does with NoSnapshotRestoreOnStart): only 11 and
// 12 may take effect. The re-delivered 1..10 carry different data here, so
// applying any of them would show.
func TestApplyBatchSkipsRedelivered(t *testing.T) {
	h := newHarness(t, store.Options{})
	var first []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		first = append(first, cmdLog(t, i, 1, putCmd(fmt.Sprintf("t%02d", i), "web", 1, fmt.Sprintf(`{"i":%d}`, i))))
	}
	// Two batches, as raft might deliver them.
	h.apply(first[:4]...)
	h.apply(first[4:]...)
	if got := h.fsm.AppliedIndex(); got != 10 {
		t.Fatalf("AppliedIndex = %d, want 10", got)
	}
	before := h.dump()

	h.reopen()
	if got := h.fsm.AppliedIndex(); got != 10 {
		t.Fatalf("AppliedIndex after reopen = %d, want 10 (read from disk)", got)
	}
	var again []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		// Same targets, new generation and spec: would change each.
		again = append(again, cmdLog(t, i, 1, putCmd(fmt.Sprintf("t%02d", i), "web", 9, `{"replayed":true}`)))
	}
	again = append(again,
		cmdLog(t, 11, 2, putCmd("t01", "web", 2, `{"i":"eleven"}`)),
		cmdLog(t, 12, 2, putCmd("t12", "web", 1, `{"i":12}`)),
	)
	resps := h.apply(again...)
	for i, r := range resps[:10] {
		if r.Err != nil || r.Result.Changed != 0 || r.Result.Index != uint64(i+1) {
			t.Errorf("re-delivered entry %d: response %+v, want index only", i+1, r)
		}
	}
	for i, r := range resps[10:] {
		if r.Err != nil || r.Result.Changed != 1 || r.Result.Index != uint64(i+11) {
			t.Errorf("entry %d: response %+v, want 1 change", i+11, r)
		}
	}

	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("t%02d", i)
		f, _ := h.fragment(tgt(name), src("web"))
		wantModify, wantGen := uint64(i), int64(1)
		if i == 1 {
			wantModify, wantGen = 11, 2
		}
		if f.CreateIndex != uint64(i) || f.ModifyIndex != wantModify || f.Generation != wantGen || strings.Contains(string(f.Spec), "replayed") {
			t.Errorf("%s = %+v, want create %d modify %d gen %d", name, f, i, wantModify, wantGen)
		}
		if r := h.target(tgt(name)); r.Revision != wantModify || r.Fragments != 1 {
			t.Errorf("target %s = %+v, want revision %d", name, r, wantModify)
		}
	}
	if f, ok := h.fragment(tgt("t12"), src("web")); !ok || f.CreateIndex != 12 || f.ModifyIndex != 12 {
		t.Errorf("t12 = %+v, %v", f, ok)
	}
	if idx, term := h.applied(); idx != 12 || term != 2 {
		t.Errorf("stored applied = %d/%d, want 12/2", idx, term)
	}
	if h.fsm.AppliedIndex() != 12 {
		t.Errorf("AppliedIndex = %d", h.fsm.AppliedIndex())
	}
	if len(h.calls) != 1 || h.calls[0].index != 12 || !reflect.DeepEqual(h.calls[0].changed, []api.TargetRef{tgt("t01"), tgt("t12")}) {
		t.Errorf("OnApply calls = %+v, want one at 12 with t01, t12", h.calls)
	}
	if before == h.dump() {
		t.Error("11 and 12 did not change the state")
	}

	// A batch made only of already-applied entries changes nothing, not
	// even the stored applied index, and does not call OnApply.
	h.calls = nil
	before = h.dump()
	h.apply(again[3:8]...)
	if h.dump() != before || len(h.calls) != 0 {
		t.Errorf("an all-skipped batch changed something (calls %+v)", h.calls)
	}
	if idx, _ := h.applied(); idx != 12 {
		t.Errorf("stored applied = %d after an all-skipped batch", idx)
	}
}

func TestApplyBatchPersistsAppliedIndex(t *testing.T) {
	tests := []struct {
		name      string
		logs      func(t testing.TB) []*raft.Log
		wantIndex uint64
		wantTerm  uint64
	}{
		{"commands", func(t testing.TB) []*raft.Log {
			return []*raft.Log{cmdLog(t, 1, 1, putCmd("a", "s", 1, `{}`)), cmdLog(t, 2, 3, putCmd("b", "s", 1, `{}`))}
		}, 2, 3},
		{"configuration only", func(t testing.TB) []*raft.Log {
			return []*raft.Log{{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("cfg")}}
		}, 1, 1},
		{"undecodable last", func(t testing.TB) []*raft.Log {
			return []*raft.Log{cmdLog(t, 1, 1, putCmd("a", "s", 1, `{}`)), {Index: 2, Term: 2, Type: raft.LogCommand, Data: []byte{9, 9}}}
		}, 2, 2},
		{"no-op commands", func(t testing.TB) []*raft.Log {
			return []*raft.Log{cmdLog(t, 5, 4, &DeleteFragment{Target: tgt("x"), Source: src("y")})}
		}, 5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, store.Options{})
			h.apply(tt.logs(t)...)
			h.reopen()
			if idx, term := h.applied(); idx != tt.wantIndex || term != tt.wantTerm {
				t.Errorf("stored applied = %d/%d, want %d/%d", idx, term, tt.wantIndex, tt.wantTerm)
			}
			if h.fsm.AppliedIndex() != tt.wantIndex {
				t.Errorf("AppliedIndex after reopen = %d", h.fsm.AppliedIndex())
			}
		})
	}
}

// TestApplyBatchStoreFailureWritesNothing: a batch whose transaction
// cannot commit panics (the node must stop) and leaves neither data nor the
// applied index behind.
func TestApplyBatchStoreFailureWritesNothing(t *testing.T) {
	h := newHarness(t, store.Options{})
	h.apply(cmdLog(t, 1, 1, putCmd("a", "s", 1, `{}`)))
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), "index 2") {
				t.Errorf("recover() = %v, want a panic naming index 2", r)
			}
		}()
		h.fsm.ApplyBatch([]*raft.Log{cmdLog(t, 2, 1, putCmd("b", "s", 1, `{}`))})
	}()
	h.open()
	if idx, _ := h.applied(); idx != 1 || h.fsm.AppliedIndex() != 1 {
		t.Errorf("applied = %d (FSM %d), want 1", idx, h.fsm.AppliedIndex())
	}
	if _, ok := h.fragment(tgt("b"), src("s")); ok {
		t.Error("fragment of the failed batch is on disk")
	}
}

// The cluster id comes from a SetClusterID entry, never from the
// bootstrap configuration: two clusters bootstrapped with the same servers
// at the same addresses got the same id, and each deleted the other's DNS
// records as its own.
func TestApplyBatchClusterID(t *testing.T) {
	clusterID := func(h *harness) (string, bool) {
		var id string
		var logged bool
		h.store.View(func(v *store.View) error { id, logged = v.ClusterID(), v.ClusterIDLogged(); return nil })
		return id, logged
	}
	bootstrap := []byte("bootstrap configuration: node-0, node-1, node-2 at the same addresses")

	a, b := newHarness(t, store.Options{}), newHarness(t, store.Options{})
	for _, h := range []*harness{a, b} {
		h.apply(&raft.Log{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: bootstrap})
		if id, _ := clusterID(h); id != "" {
			t.Fatalf("a configuration entry set cluster id %q", id)
		}
	}
	idA, err := NewClusterID()
	if err != nil {
		t.Fatal(err)
	}
	idB, _ := NewClusterID()
	if idA == idB || ValidateClusterID(idA) != nil {
		t.Fatalf("NewClusterID gave %q and %q, want two distinct valid ids", idA, idB)
	}
	r := a.apply(cmdLog(t, 2, 1, &SetClusterID{ID: idA}))
	b.apply(cmdLog(t, 2, 1, &SetClusterID{ID: idB}))
	if r[0].Err != nil || r[0].Result.Changed != 1 {
		t.Fatalf("SetClusterID response %+v", r[0])
	}
	if got, logged := clusterID(a); got != idA || !logged {
		t.Fatalf("cluster id %q (logged %v), want %q", got, logged, idA)
	}
	if got, _ := clusterID(b); got != idB {
		t.Fatalf("the second cluster's id %q, want its own %q", got, idB)
	}

	// A later entry (a second leader that proposed before it saw the
	// first) changes nothing, nor do configurations or a restart.
	r = a.apply(
		cmdLog(t, 3, 2, &SetClusterID{ID: idB}),
		&raft.Log{Index: 4, Term: 2, Type: raft.LogConfiguration, Data: []byte("added a voter")},
	)
	if !r[0].Result.Stale || r[0].Result.Changed != 0 {
		t.Errorf("second SetClusterID response %+v, want stale", r[0])
	}
	a.reopen()
	if got, _ := clusterID(a); got != idA {
		t.Errorf("cluster id after a later entry and a restart = %q, want %q", got, idA)
	}

	// A malformed id is refused, naming the reason, and stores nothing.
	c := newHarness(t, store.Options{})
	r = c.apply(cmdLog(t, 1, 1, &SetClusterID{ID: "not-hex"}))
	if r[0].Err == nil || !strings.Contains(r[0].Err.Error(), "cluster id") {
		t.Errorf("malformed id: response %+v, want an error naming the cluster id", r[0])
	}
	if got, _ := clusterID(c); got != "" {
		t.Errorf("malformed id stored as %q", got)
	}
}

// A data dir written by an older release has the id it derived from the
// bootstrap configuration, not marked as logged: it keeps it, and a
// SetClusterID entry with that id (the leader's, see server) marks it.
func TestApplyBatchKeepsAnExistingClusterID(t *testing.T) {
	h := newHarness(t, store.Options{})
	const legacy = "00112233445566ff"
	if err := h.store.Update(func(tx *store.Tx) error { return tx.SetClusterID(legacy) }); err != nil {
		t.Fatal(err)
	}
	other, _ := NewClusterID()
	h.apply(cmdLog(t, 1, 1, &SetClusterID{ID: other}))
	var id string
	var logged bool
	h.store.View(func(v *store.View) error { id, logged = v.ClusterID(), v.ClusterIDLogged(); return nil })
	if id != legacy || !logged {
		t.Errorf("cluster id %q (logged %v), want the existing %q, logged", id, logged, legacy)
	}
}

func TestApplyBatchUndecodableCommand(t *testing.T) {
	h := newHarness(t, store.Options{})
	resps := h.apply(
		cmdLog(t, 1, 1, putCmd("a", "s", 1, `{}`)),
		&raft.Log{Index: 2, Term: 1, Type: raft.LogCommand, Data: []byte("garbage")},
		&raft.Log{Index: 3, Term: 1, Type: raft.LogCommand, Data: nil},
		&raft.Log{Index: 4, Term: 1, Type: raft.LogCommand, Data: []byte{Version, byte(TypePutFragment), '{'}},
		cmdLog(t, 5, 1, putCmd("b", "s", 1, `{}`)),
	)
	for _, i := range []int{1, 2, 3} {
		if !errors.Is(resps[i].Err, ErrMalformed) || resps[i].Result.Index != uint64(i+1) || resps[i].Result.Changed != 0 {
			t.Errorf("entry %d: response %+v, want ErrMalformed", i+1, resps[i])
		}
	}
	for _, i := range []int{0, 4} {
		if resps[i].Err != nil || resps[i].Result.Changed != 1 {
			t.Errorf("entry %d: response %+v", i+1, resps[i])
		}
	}
	if idx, _ := h.applied(); idx != 5 {
		t.Errorf("applied = %d, want 5", idx)
	}
	// A batch of only a bad entry advances the index too.
	h.apply(&raft.Log{Index: 6, Term: 1, Type: raft.LogCommand, Data: []byte{1}})
	if idx, _ := h.applied(); idx != 6 || h.fsm.AppliedIndex() != 6 {
		t.Errorf("applied = %d (FSM %d), want 6", idx, h.fsm.AppliedIndex())
	}
}

func TestApplyBatchOnApplyAndResults(t *testing.T) {
	h := newHarness(t, store.Options{})
	h.apply(
		cmdLog(t, 1, 1, putCmd("t4", "rep", 1, `{}`)),
		cmdLog(t, 2, 1, putCmd("t1", "web", 5, `{}`)),
		cmdLog(t, 3, 1, &PutSource{Source: api.Source{Source: src("git"), Spec: json.RawMessage(`{}`)}}),
		cmdLog(t, 4, 1, putCmd("t6", "gone", 1, `{}`)),
		cmdLog(t, 5, 1, putCmd("t7", "gone", 1, `{}`)),
	)
	if len(h.calls) != 1 || h.calls[0].index != 5 || !reflect.DeepEqual(h.calls[0].changed, []api.TargetRef{tgt("t4"), tgt("t1"), tgt("t6"), tgt("t7")}) {
		t.Fatalf("OnApply = %+v", h.calls)
	}
	h.calls = nil

	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		cmd  Command
		want api.WriteResult // Index filled in below
	}{
		{putCmd("t1", "web", 6, `{"v":1}`), api.WriteResult{Changed: 1}},
		{putCmd("t2", "web", 1, `{}`), api.WriteResult{Changed: 1}},
		{putCmd("t1", "web", 6, `{"v":1}`), api.WriteResult{}},                                     // identical
		{putCmd("t1", "web", 2, `{"v":"old"}`), api.WriteResult{Stale: true, StoredGeneration: 6}}, // stale
		{&RecordSync{Target: tgt("t3"), Status: api.SyncStatus{Revision: 9, Time: at}}, api.WriteResult{Changed: 1}},
		{&RecordSync{Target: tgt("t3"), Status: api.SyncStatus{Revision: 8, Time: at}}, api.WriteResult{Stale: true}},
		{&ReplaceSourceFragments{Source: src("rep"), Fragments: []api.SourceFragment{{Target: tgt("t5"), Generation: 1, Spec: json.RawMessage(`{}`)}}}, api.WriteResult{Changed: 2}},
		{&ReplaceSourceFragments{Source: src("rep"), Fragments: []api.SourceFragment{{Target: tgt("t5"), Generation: 1, Spec: json.RawMessage(`{}`)}}}, api.WriteResult{}},
		{&PutSource{Source: api.Source{Source: src("git"), Spec: json.RawMessage(`{"u":2}`)}}, api.WriteResult{Changed: 1}},
		{&PutSource{Source: api.Source{Source: src("git"), Spec: json.RawMessage(`{"u":2}`)}}, api.WriteResult{}},
		{&DeleteFragment{Target: tgt("t2"), Source: src("web")}, api.WriteResult{Changed: 1}},
		{&DeleteFragment{Target: tgt("t2"), Source: src("web")}, api.WriteResult{}},
		{&DeleteSource{Source: src("gone")}, api.WriteResult{Changed: 2}},
		{&DeleteSource{Source: src("git")}, api.WriteResult{Changed: 1}},
	}
	var logs []*raft.Log
	for i, tt := range tests {
		logs = append(logs, cmdLog(t, uint64(10+i), 2, tt.cmd))
	}
	resps := h.apply(logs...)
	for i, tt := range tests {
		want := tt.want
		want.Index = uint64(10 + i)
		if resps[i].Err != nil || !reflect.DeepEqual(resps[i].Result, want) {
			t.Errorf("entry %d (%T): result %+v, err %v; want %+v", 10+i, tt.cmd, resps[i].Result, resps[i].Err, want)
		}
	}
	wantChanged := []api.TargetRef{tgt("t1"), tgt("t2"), tgt("t3"), tgt("t4"), tgt("t5"), tgt("t6"), tgt("t7")}
	if len(h.calls) != 1 || h.calls[0].index != uint64(10+len(tests)-1) || !reflect.DeepEqual(h.calls[0].changed, wantChanged) {
		t.Errorf("OnApply = %+v, want index %d changed %v", h.calls, 10+len(tests)-1, wantChanged)
	}
	if !reflect.DeepEqual(h.sizes, []int{5, len(tests)}) {
		t.Errorf("ObserveBatch sizes = %v", h.sizes)
	}
	// Apply (single entry) goes through the same path.
	r := h.fsm.Apply(cmdLog(t, 100, 2, putCmd("t9", "web", 1, `{}`)))
	if resp, ok := r.(Response); !ok || resp.Result.Changed != 1 || resp.Result.Index != 100 {
		t.Errorf("Apply = %#v", r)
	}
	if h.fsm.AppliedIndex() != 100 {
		t.Errorf("AppliedIndex = %d", h.fsm.AppliedIndex())
	}
}

func TestApplyBatchStaleGeneration(t *testing.T) {
	h := newHarness(t, store.Options{})
	resps := h.apply(
		cmdLog(t, 1, 1, putCmd("edge", "web", 10, `{"v":10}`)),
		cmdLog(t, 2, 1, putCmd("edge", "web", 9, `{"v":9}`)),
	)
	if r := resps[1].Result; !r.Stale || r.StoredGeneration != 10 || r.Changed != 0 || r.Index != 2 {
		t.Errorf("stale put result = %+v", r)
	}
	if f, _ := h.fragment(tgt("edge"), src("web")); f.Generation != 10 || string(f.Spec) != `{"v":10}` || f.ModifyIndex != 1 {
		t.Errorf("fragment = %+v", f)
	}
	if len(h.calls) != 1 || !reflect.DeepEqual(h.calls[0].changed, []api.TargetRef{tgt("edge")}) {
		t.Errorf("OnApply = %+v", h.calls)
	}
}

// --- Snapshot / Restore ----------------------------------------------------

type memSink struct {
	bytes.Buffer
	id        string
	closed    bool
	cancelled bool
	failAfter int // fail writes after this many bytes; 0 = never
}

func (s *memSink) Write(p []byte) (int, error) {
	if s.failAfter > 0 && s.Len()+len(p) > s.failAfter {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *memSink) ID() string    { return s.id }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return nil }

var _ raft.SnapshotSink = (*memSink)(nil)

func fill(t testing.TB, h *harness) {
	t.Helper()
	logs := []*raft.Log{{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("boot")}}
	for i := 2; i < 40; i++ {
		logs = append(logs, cmdLog(t, uint64(i), 1, putCmd(fmt.Sprintf("t%d", i%7), fmt.Sprintf("s%d", i), int64(i), fmt.Sprintf(`{"i":%d}`, i))))
	}
	logs = append(logs,
		cmdLog(t, 40, 2, &RecordSync{Target: tgt("t1"), Status: api.SyncStatus{Revision: 30, SyncedHash: "h", Time: time.Unix(1, 0).UTC()}}),
		cmdLog(t, 41, 2, &PutSource{Source: api.Source{Source: src("git"), Spec: json.RawMessage(`{}`)}}),
		cmdLog(t, 42, 2, &DeleteFragment{Target: tgt("t3"), Source: src("s3")}),
	)
	h.apply(logs...)
}

func persist(t testing.TB, f *FSM) *memSink {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &memSink{id: "snap-1"}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	if !sink.closed || sink.cancelled {
		t.Errorf("sink closed=%v cancelled=%v, want closed", sink.closed, sink.cancelled)
	}
	return sink
}

func TestSnapshotRestore(t *testing.T) {
	a := newHarness(t, store.Options{})
	fill(t, a)
	sink := persist(t, a.fsm)

	b := newHarness(t, store.Options{})
	if err := b.fsm.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, want := b.dump(), a.dump(); got != want {
		t.Errorf("restored dump differs:\n%s\n---\n%s", got, want)
	}
	if b.fsm.AppliedIndex() != 42 {
		t.Errorf("restored AppliedIndex = %d, want 42", b.fsm.AppliedIndex())
	}
	if idx, term := b.applied(); idx != 42 || term != 2 {
		t.Errorf("restored stored applied = %d/%d", idx, term)
	}
	if len(b.calls) != 1 || b.calls[0].index != 42 || b.calls[0].changed != nil {
		t.Errorf("OnApply after restore = %+v, want (42, nil)", b.calls)
	}

	// The restored FSM goes on from there: old entries skipped, new applied.
	resps := b.apply(cmdLog(t, 42, 2, putCmd("zz", "x", 1, `{}`)), cmdLog(t, 43, 2, putCmd("zz", "y", 1, `{}`)))
	if resps[0].Result.Changed != 0 || resps[1].Result.Changed != 1 {
		t.Errorf("after restore: %+v", resps)
	}
	a.apply(cmdLog(t, 43, 2, putCmd("zz", "y", 1, `{}`)))
	if a.dump() != b.dump() {
		t.Error("leader and restored follower diverged after the same entry")
	}

	// Restart after restore: the state and index survive.
	b.reopen()
	if b.fsm.AppliedIndex() != 43 || b.dump() != a.dump() {
		t.Errorf("after reopen: applied %d", b.fsm.AppliedIndex())
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	a := newHarness(t, store.Options{})
	fill(t, a)
	before := a.dump()
	snap, err := a.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes go on while the snapshot is open.
	a.apply(cmdLog(t, 43, 2, putCmd("later", "x", 1, `{}`)))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	b := newHarness(t, store.Options{})
	if err := b.fsm.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if b.dump() != before || b.fsm.AppliedIndex() != 42 {
		t.Errorf("snapshot is not the state when it was taken (applied %d)", b.fsm.AppliedIndex())
	}
}

func TestRestoreTakesTheImagesClusterID(t *testing.T) {
	a := newHarness(t, store.Options{})
	fill(t, a)
	a.apply(cmdLog(t, 43, 2, &SetClusterID{ID: "aaaaaaaaaaaaaaaa"}))
	sink := persist(t, a.fsm)

	b := newHarness(t, store.Options{})
	b.apply(cmdLog(t, 1, 1, &SetClusterID{ID: "0123456789abcdef"}))
	if err := b.fsm.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	// Every node that restores the same image, whatever it applied before,
	// ends with the same state, cluster id included.
	if b.dump() != a.dump() {
		t.Errorf("state after restore differs from the image:\n%s\nwant:\n%s", b.dump(), a.dump())
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestRestoreGarbage(t *testing.T) {
	h := newHarness(t, store.Options{})
	fill(t, h)
	before := h.dump()
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("definitely not a bbolt file"),
		"zeros":   make([]byte, 32<<10),
	} {
		t.Run(name, func(t *testing.T) {
			rc := &closeRecorder{Reader: bytes.NewReader(data)}
			if err := h.fsm.Restore(rc); err == nil {
				t.Fatal("Restore accepted garbage")
			}
			if !rc.closed {
				t.Error("Restore did not close the reader")
			}
			if h.dump() != before || h.fsm.AppliedIndex() != 42 {
				t.Error("a failed restore changed the state")
			}
		})
	}
	// Still applies.
	if r := h.apply(cmdLog(t, 43, 2, putCmd("after", "x", 1, `{}`))); r[0].Result.Changed != 1 {
		t.Errorf("apply after failed restores: %+v", r)
	}
}

func TestPersistFailureCancels(t *testing.T) {
	h := newHarness(t, store.Options{})
	fill(t, h)
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &memSink{failAfter: 100}
	if err := snap.Persist(sink); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Persist = %v, want the write error", err)
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("sink cancelled=%v closed=%v, want cancelled only", sink.cancelled, sink.closed)
	}
}
