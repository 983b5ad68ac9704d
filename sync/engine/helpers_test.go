package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

const testKind = "test.Thing"

// thingKind aggregates fragments into a sorted JSON list of their specs.
type thingKind struct{}

func (thingKind) Name() string { return testKind }

func (thingKind) Validate(api.TargetRef, api.SourceRef, json.RawMessage) error { return nil }

func (thingKind) Aggregate(_ api.TargetRef, frags []api.Fragment) (kind.Result, error) {
	if len(frags) == 0 {
		return kind.Result{}, nil
	}
	type item struct {
		Source string          `json:"source"`
		Spec   json.RawMessage `json:"spec"`
	}
	items := make([]item, 0, len(frags))
	for _, f := range frags {
		items = append(items, item{Source: f.Source.String(), Spec: f.Spec})
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.Source < b.Source {
			return -1
		}
		if a.Source > b.Source {
			return 1
		}
		return 0
	})
	b, err := json.Marshal(items)
	return kind.Result{Desired: b}, err
}

// env is a single-node raft cluster with an engine wired into its FSM.
type env struct {
	t       *testing.T
	store   *store.Store
	cache   *kind.Cache
	node    *cluster.Node
	flusher *fakeFlusher
	engine  *Engine
	// current is what the FSM notifies; see reconfigure.
	current *atomic.Pointer[Engine]
}

// newEnv starts the cluster, waits for leadership and builds an engine with
// cfg (Store, Cache, Cluster and Flushers are filled in).
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	v := newEnvWithoutClusterID(t, cfg)
	v.setClusterID(testClusterID)
	return v
}

const testClusterID = "0123456789abcdef"

// setClusterID applies the entry that names the cluster (the server's
// leader task proposes it).
func (v *env) setClusterID(id string) {
	v.t.Helper()
	cmd, err := fsm.Encode(fsm.SetClusterID{ID: id})
	if err != nil {
		v.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := v.node.Apply(ctx, cmd); err != nil {
		v.t.Fatal(err)
	}
}

// newEnvWithoutClusterID is newEnv in a cluster whose id is not applied
// yet.
func newEnvWithoutClusterID(t *testing.T, cfg Config) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cache := kind.NewCache(kind.NewRegistry(thingKind{}), 128)
	var eng atomic.Pointer[Engine]
	f, err := fsm.New(fsm.Config{
		Store: st,
		OnApply: func(_ uint64, changed []api.TargetRef) {
			if changed == nil {
				cache.Purge()
			}
			if e := eng.Load(); e != nil {
				e.Notify(changed)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ports := testutil.FreePorts(t, 2)
	node, err := cluster.New(cluster.Config{
		NodeID:          "n0",
		DataDir:         dir,
		RaftBindAddr:    testutil.Addr(ports[0]),
		GossipBindAddr:  testutil.Addr(ports[1]),
		HTTPAdvertise:   "http://n0.test:7780",
		BootstrapExpect: 1,
		ApplyTimeout:    5 * time.Second,
		FSM:             f,
		Raft: cluster.RaftTuning{
			HeartbeatTimeout:   300 * time.Millisecond,
			ElectionTimeout:    300 * time.Millisecond,
			LeaderLeaseTimeout: 150 * time.Millisecond,
			CommitTimeout:      5 * time.Millisecond,
		},
		Gossip: cluster.GossipTuning{
			ProbeInterval:       200 * time.Millisecond,
			ProbeTimeout:        150 * time.Millisecond,
			GossipInterval:      50 * time.Millisecond,
			MetaRefreshInterval: 100 * time.Millisecond,
			JoinInterval:        200 * time.Millisecond,
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "leadership", node.IsLeader)

	v := &env{t: t, store: st, cache: cache, node: node, flusher: newFakeFlusher(), current: &eng}
	v.reconfigure(cfg)
	return v
}

// reconfigure replaces the engine with one built from cfg (Store, Cache,
// Cluster and Flushers are filled in; the fake flusher is kept), as a
// restart with other flags would. Stop the running engine first.
func (v *env) reconfigure(cfg Config) {
	v.t.Helper()
	cfg.Store, cfg.Cache, cfg.Cluster, cfg.Flushers = v.store, v.cache, v.node, []Flusher{v.flusher}
	e, err := New(cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	v.engine = e
	v.current.Store(e)
}

func target(name string) api.TargetRef { return api.TargetRef{Kind: testKind, Name: name} }

// put proposes one fragment and returns its raft index.
func (v *env) put(tg api.TargetRef, source string, gen int64) uint64 {
	v.t.Helper()
	cmd, err := fsm.Encode(fsm.PutFragment{Fragment: api.Fragment{
		Target:     tg,
		Source:     api.SourceRef{Kind: "API", Name: source},
		Generation: gen,
		Spec:       json.RawMessage(fmt.Sprintf(`{"gen":%d}`, gen)),
	}})
	if err != nil {
		v.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, idx, err := v.node.Apply(ctx, cmd)
	if err != nil {
		v.t.Error(err)
	}
	return idx
}

// state reads the target's revision, current hash and recorded status.
func (v *env) state(tg api.TargetRef) (rev uint64, hash string, st *api.SyncStatus) {
	v.t.Helper()
	err := v.store.View(func(view *store.View) error {
		rec, _, err := view.Target(tg)
		if err != nil {
			return err
		}
		rev = rec.Revision
		if st, err = view.Status(tg); err != nil {
			return err
		}
		res, err := v.cache.Get(tg, rev, func() ([]api.Fragment, error) { return view.TargetFragments(tg) })
		hash = res.Hash()
		return err
	})
	if err != nil {
		v.t.Fatal(err)
	}
	return rev, hash, st
}

// waitSynced waits until the target's recorded status is a success at its
// current revision and hash.
func (v *env) waitSynced(tg api.TargetRef) *api.SyncStatus {
	v.t.Helper()
	var got *api.SyncStatus
	testutil.WaitFor(v.t, 15*time.Second, "synced "+tg.Name, func() bool {
		rev, hash, st := v.state(tg)
		got = st
		// A plan keeps the synced hash of the sync before it: only a real
		// status is a sync.
		return st != nil && !st.DryRun && st.Error == "" && st.Revision == rev && st.SyncedHash == hash
	})
	return got
}

// run starts Run and returns a stop function that cancels it and waits for
// it to return (also registered as cleanup).
func (v *env) run() (stop func()) {
	v.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e := v.engine
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	testutil.WaitFor(v.t, 5*time.Second, "engine running", e.running)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				v.t.Error("Run did not return after cancel")
			}
		})
	}
	v.t.Cleanup(stop)
	return stop
}

func (e *Engine) running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.q != nil
}

type flushCall struct {
	target api.TargetRef
	hash   string
	prev   *api.SyncStatus
	at     time.Time
	// gate is what VerifyWrite said inside the flush.
	gate error
	// gated is whether the flush's context carried the write gate.
	gated bool
	// dryRun is the request's DryRun; wrote is whether the flush wrote
	// (passed the write gate and "wrote" downstream).
	dryRun, wrote bool
	drift         bool
	clusterID     string
}

// retryAfterErr is a transient error with a server-given delay.
type retryAfterErr struct{ d time.Duration }

func (r retryAfterErr) Error() string             { return "429 slow down" }
func (r retryAfterErr) RetryAfter() time.Duration { return r.d }

var errTransient = errors.New("503 unavailable")

// fakeFlusher records calls and returns the queued errors in turn (then
// success). With block set it waits for ctx to end.
type fakeFlusher struct {
	mu    sync.Mutex
	calls []flushCall
	errs  []error
	block bool
	// checkpoint, when set, is recorded through req.Checkpoint at the
	// start of every flush.
	checkpoint map[string]string
	// ignoreDryRun makes the flusher write whatever req.DryRun says, as a
	// flusher path that forgot it would.
	ignoreDryRun bool
}

func newFakeFlusher() *fakeFlusher { return &fakeFlusher{} }

func (f *fakeFlusher) Kind() string { return testKind }

func (f *fakeFlusher) Flush(ctx context.Context, req Request) (Outcome, error) {
	tg, res, prev := req.Target, req.Result, req.Prev
	f.mu.Lock()
	_, gated := ctx.Value(writeGateKey{}).(writeGate)
	gate := VerifyWrite(ctx)
	call := flushCall{target: tg, hash: res.Hash(), prev: prev, at: time.Now(), gate: gate, gated: gated, dryRun: req.DryRun, drift: req.Drift, clusterID: req.ClusterID}
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	block, checkpoint, ignoreDryRun := f.block, f.checkpoint, f.ignoreDryRun
	// The same decision either way; only the write depends on DryRun.
	plan := []string{"write " + tg.Name + " " + res.Hash()}
	write := !req.DryRun || ignoreDryRun
	call.wrote = write && gate == nil && err == nil && !block
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if checkpoint != nil && write {
		if err := req.Checkpoint(ctx, checkpoint); err != nil {
			return Outcome{}, err
		}
	}
	if block {
		<-ctx.Done()
		return Outcome{}, ctx.Err()
	}
	if err != nil {
		return Outcome{}, err
	}
	if write && gate != nil {
		return Outcome{}, fmt.Errorf("write %s: %w", tg.Name, gate)
	}
	return Outcome{DownstreamIDs: map[string]string{"id": "remote-" + tg.Name}, Plan: plan}, nil
}

func (f *fakeFlusher) failWith(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, errs...)
}

func (f *fakeFlusher) setBlock(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.block = b
}

// callsFor returns the calls made for tg.
func (f *fakeFlusher) callsFor(tg api.TargetRef) []flushCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flushCall
	for _, c := range f.calls {
		if c.target == tg {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeFlusher) all() []flushCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
