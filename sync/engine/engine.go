// Package engine is the leader-only sync engine: it watches targets change,
// debounces and coalesces the changes per target, computes each target's
// aggregate, hands it to the kind's Flusher under a shared rate limit, and
// records every attempt's outcome through the raft log (fsm.RecordSync).
// Failures are retried with exponential backoff and full jitter; a periodic
// drift pass makes every flusher re-read its downstream object. A flush
// that waits for another target (WaitFor: a tunnel not created yet) or is
// blocked by one (BlockedBy: it holds the tunnel this one names) is
// flushed again as soon as that target records an outcome, through an
// index of what waits on what: no backoff, no polling.
//
// In a dry run (Config.DryRun) the same passes plan instead of writing:
// each flusher reads downstream, decides what it would do and returns it
// as Outcome.Plan, and the engine records that plan (api.SyncStatus.DryRun
// and Plan) without touching the synced hash, so the first real run after
// it flushes every target.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Flusher writes one kind's desired state downstream. It is declared here
// and implemented by the kind packages.
type Flusher interface {
	Kind() string
	// Flush makes the downstream object match req.Result (Desired nil = the
	// target has no fragments left: remove what we own) and returns what to
	// record. It must be safe to repeat: a crash or a failover can run it
	// again for the same revision.
	Flush(ctx context.Context, req Request) (Outcome, error)
}

// Request is one flush.
type Request struct {
	Target api.TargetRef
	// Revision is the target revision Result was computed at.
	Revision uint64
	Result   kind.Result
	// Prev is the last recorded status; nil if the target never synced.
	Prev *api.SyncStatus
	// ClusterID names the cluster; kinds build their ownership marker
	// from it.
	ClusterID string
	// Drift is set on the periodic pass (and on forced syncs): the
	// flusher must read the downstream object back even when Prev says
	// it is in sync.
	Drift bool
	// Checkpoint records downstream ids through the raft log before the
	// flush ends, merged into Prev's. A flusher calls it right after it
	// creates an object it cannot otherwise recognise as its own (a tunnel,
	// an Access application), so that a crash before the outcome is
	// recorded does not leave the object orphaned. A dry run refuses it.
	Checkpoint func(ctx context.Context, ids map[string]string) error
	// DryRun asks for the plan alone: the flusher reads what it needs,
	// decides what it would do through the code path of a real flush,
	// returns that decision as Outcome.Plan, and writes nothing (ctx
	// refuses writes as well: see WithDryRun) and checkpoints nothing. The
	// ids it returns are what it found (a tunnel it would take over); they
	// are recorded as the status's PlannedIDs, never as DownstreamIDs. A
	// dry run is always a Drift pass: a plan reads what is downstream.
	DryRun bool
}

// Outcome is what a successful flush records.
type Outcome struct {
	// SyncedHash is the hash now downstream; empty means Result.Hash().
	SyncedHash    string
	DownstreamIDs map[string]string
	// Recheck names kinds whose targets may have been waiting for this
	// one (e.g. a new tunnel id that configurations and DNS records point
	// at): every target of those kinds is flushed again, reading back
	// downstream.
	Recheck []string
	// Plan says what the flush did or, in a dry run, would do: one line
	// per action, e.g. "create tunnel edge" or "take over DNS record
	// app.example.com CNAME … (TXT _managed.app.example.com names this
	// tunnel)". Empty when there was nothing to do (recorded as
	// PlanInSync). The engine records it only for a dry run.
	Plan []string
	// Waiting lists the parts of the desired output the flush left
	// unwritten because they wait for another target (recorded as
	// api.SyncStatus.Waiting). The flush still succeeds: the rest is
	// written, and the target that is waited for names this kind in its
	// Recheck when it is ready.
	Waiting []api.WaitingPart
	// Refused lists the parts of the desired output downstream refused
	// (or that clash with objects conflux-sync does not own), recorded as
	// api.SyncStatus.Refused. The flush still succeeds: the rest is
	// written, and the refused parts are reported per part instead of
	// failing the target for every source.
	Refused []api.RefusedPart
}

// PlanInSync is the plan of a target that needs no write.
const PlanInSync = api.PlanInSync

// PlanWaitsForTunnel is the plan of a target whose tunnel a dry run would
// create first: what it writes depends on the new tunnel's id. name is the
// cloudflare.Tunnel target's name.
func PlanWaitsForTunnel(name string) string {
	return "waits for tunnel " + name + " (to be created)"
}

// Cluster is the part of the raft node the engine needs.
type Cluster interface {
	Apply(ctx context.Context, cmd []byte) (any, uint64, error)
	// VerifyLeaderLease confirms that this node leads and that no newer
	// leader can exist: a quorum confirmed it (by committing an entry of
	// this term, which no answer to an older request can do) less than a
	// lease ago, measured on the monotonic clock, so a leader woken from
	// a pause must confirm again. Once per lease, not per write, so the
	// gate adds no log entry per downstream call.
	VerifyLeaderLease(ctx context.Context) error
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one retrying cannot fix (e.g. a 4xx other than
// 429): the target is not retried until its revision changes.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// retryAfter is implemented by errors that know when to try again (an HTTP
// Retry-After header).
type retryAfter interface{ RetryAfter() time.Duration }

// Config configures an Engine. Zero values take the defaults noted.
type Config struct {
	Store    *store.Store
	Cache    *kind.Cache
	Cluster  Cluster
	Flushers []Flusher

	// Debounce is the window in which changes of one target cost one
	// flush; default 500ms.
	Debounce time.Duration
	// RateLimit and Burst size a token bucket every flush waits on;
	// default unlimited. Downstream limits are per account and per
	// request, so the Cloudflare clients (sync/cfapi) carry those buckets;
	// this one only caps flushes as a whole.
	RateLimit rate.Limit
	Burst     int
	// BackoffBase and BackoffMax bound the exponential backoff with full
	// jitter between failed attempts; defaults 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// DriftInterval is the period of the drift pass, which re-flushes every
	// target so flushers re-read downstream; default 10m.
	DriftInterval time.Duration
	// Workers is the number of concurrent flushes; default 4.
	Workers int
	// DryRun plans instead of writing (conflux-sync server --dry-run):
	// every flush gets Request.DryRun, every downstream write is refused
	// (VerifyWrite), and each outcome is recorded as a plan
	// (api.SyncStatus.DryRun and Plan) that leaves the synced hash and the
	// downstream ids as they were. A target counts as up to date when a
	// plan without error was recorded for its current hash; an engine
	// without DryRun flushes every target whose last record is a plan.
	DryRun bool

	Logger *slog.Logger
	// Registerer receives the metrics; default a private registry.
	Registerer prometheus.Registerer
}

// Engine is the sync engine. Run it as a leader task; Notify and Enqueue
// are safe to call at any time from any goroutine.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	flushers map[string]Flusher
	limiter  *rate.Limiter

	flushes  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	depth    prometheus.GaugeFunc
	dryRun   prometheus.GaugeFunc
	mu       sync.Mutex
	q        *queue            // non-nil while Run runs
	scanAll  chan struct{}     // non-nil while Run runs; buffered 1
	permFail map[string]uint64 // target key → revision that failed permanently
	deps     *deps             // non-nil while Run runs: what waits on what
	// awaitID holds the targets that wait for the cluster id (a new
	// cluster's first moments): no flush may build an ownership marker
	// without it. Notify sends them back to the queue once it is applied.
	awaitID map[string]awaiting
}

type awaiting struct {
	target api.TargetRef
	why    reason
}

// Flush results (label values of conflux_sync_flushes_total).
const (
	resultSuccess   = "success"
	resultError     = "error"
	resultPermanent = "permanent"
	// resultWaiting: the flush waits for another target (WaitFor).
	resultWaiting = "waiting"
)

// New builds an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Cache == nil || cfg.Cluster == nil {
		return nil, errors.New("engine: Store, Cache and Cluster are required")
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 500 * time.Millisecond
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = rate.Inf
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.DriftInterval <= 0 {
		cfg.DriftInterval = 10 * time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger,
		flushers: make(map[string]Flusher, len(cfg.Flushers)),
		limiter:  rate.NewLimiter(cfg.RateLimit, cfg.Burst),
		permFail: make(map[string]uint64),
	}
	for _, f := range cfg.Flushers {
		if _, dup := e.flushers[f.Kind()]; dup {
			return nil, fmt.Errorf("engine: two flushers for kind %q", f.Kind())
		}
		e.flushers[f.Kind()] = f
	}
	e.flushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "conflux_sync_flushes_total",
		Help: "Flush attempts by target kind and result (success, error, permanent, waiting).",
	}, []string{"kind", "result"})
	e.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "conflux_sync_flush_duration_seconds",
		Help:    "Duration of one downstream flush by target kind.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"kind"})
	e.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conflux_sync_queue_depth",
		Help: "Targets waiting in the sync queue (ready or scheduled).",
	}, e.queueDepth)
	e.dryRun = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conflux_sync_dry_run",
		Help: "1 while the sync engine runs as a dry run (plans, writes nothing downstream), else 0.",
	}, func() float64 {
		if cfg.DryRun {
			return 1
		}
		return 0
	})
	for _, c := range []prometheus.Collector{e.flushes, e.latency, e.depth, e.dryRun} {
		if err := cfg.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("engine: register metrics: %w", err)
		}
	}
	return e, nil
}

func (e *Engine) queueDepth() float64 {
	e.mu.Lock()
	q := e.q
	e.mu.Unlock()
	if q == nil {
		return 0
	}
	return float64(q.depth())
}

// Run is the leader task body. It checks every target on start, then
// flushes changes until ctx ends (leadership lost), and returns only after
// every goroutine it started has stopped.
func (e *Engine) Run(ctx context.Context) {
	q := newQueue()
	scanAll := make(chan struct{}, 1)
	e.mu.Lock()
	if e.q != nil {
		e.mu.Unlock()
		e.log.Error("sync engine: Run called while already running")
		return
	}
	e.q, e.scanAll = q, scanAll
	// Each term retries permanent failures once: the new leader may
	// have what the old one lacked (a token, a permission).
	e.permFail = make(map[string]uint64)
	e.deps = newDeps()
	e.awaitID = make(map[string]awaiting)
	e.mu.Unlock()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { q.runTimers(stop) })
	for range e.cfg.Workers {
		wg.Go(func() { e.work(ctx, q) })
	}

	e.log.Info("sync engine started", "workers", e.cfg.Workers, "dryRun", e.cfg.DryRun)
	e.enqueueAll(q, reasonCheck)
	drift := time.NewTicker(e.cfg.DriftInterval)
	defer drift.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-scanAll:
			e.enqueueAll(q, reasonChange)
		case <-drift.C:
			e.enqueueAll(q, reasonDrift)
		}
	}

	e.mu.Lock()
	e.q, e.scanAll, e.deps = nil, nil, nil
	e.mu.Unlock()
	close(stop)
	q.close()
	wg.Wait()
	e.log.Info("sync engine stopped")
}

// enqueueAll queues every target that has a flusher. Change scans are
// debounced like any change; the others are ready now.
func (e *Engine) enqueueAll(q *queue, why reason) {
	var targets []api.TargetRef
	err := e.cfg.Store.View(func(v *store.View) error {
		return v.Targets("", func(r store.TargetRecord) bool {
			if _, ok := e.flushers[r.Target.Kind]; ok {
				targets = append(targets, r.Target)
			}
			return true
		})
	})
	if err != nil {
		e.log.Error("sync engine: list targets", "err", err)
		return
	}
	for _, t := range targets {
		if why == reasonChange {
			q.addAfter(t, why, e.cfg.Debounce)
		} else {
			q.add(t, why)
		}
	}
}

// Notify tells the engine that targets changed (nil: anything may have
// changed). It is called from the FSM's OnApply on every node, never
// blocks, and does nothing while the engine is not running.
func (e *Engine) Notify(changed []api.TargetRef) {
	e.mu.Lock()
	q, scanAll := e.q, e.scanAll
	e.mu.Unlock()
	if q == nil {
		return
	}
	e.releaseAwaiting(q)
	if changed == nil {
		select {
		case scanAll <- struct{}{}:
		default:
		}
		return
	}
	for _, t := range changed {
		if _, ok := e.flushers[t.Kind]; ok {
			q.addAfter(t, reasonChange, e.cfg.Debounce)
		}
	}
}

// Enqueue syncs t now, skipping the debounce: the flusher is called even
// when the recorded hash matches or the last attempt failed permanently.
// It implements httpapi.Syncer; it does nothing while not running.
func (e *Engine) Enqueue(t api.TargetRef) {
	e.mu.Lock()
	q := e.q
	e.mu.Unlock()
	if q == nil {
		return
	}
	if _, ok := e.flushers[t.Kind]; ok {
		q.add(t, reasonForce)
	}
}

func (e *Engine) work(ctx context.Context, q *queue) {
	for {
		t, why, ok := q.get()
		if !ok {
			return
		}
		if retry, delay := e.attempt(ctx, t, why); retry && ctx.Err() == nil {
			q.addAfter(t, reasonCheck, delay)
		}
		q.done(t)
	}
}

// attempt runs one sync pass for t and reports whether (and after how long)
// to try again.
func (e *Engine) attempt(ctx context.Context, t api.TargetRef, why reason) (retry bool, delay time.Duration) {
	log := e.log.With("target", t.String())
	flusher := e.flushers[t.Kind]
	var (
		rec  store.TargetRecord
		prev *api.SyncStatus
		res  kind.Result
	)
	exists := false
	clusterID := ""
	err := e.cfg.Store.View(func(v *store.View) error {
		var err error
		clusterID = v.ClusterID()
		if rec, exists, err = v.Target(t); err != nil || !exists {
			return err
		}
		if prev, err = v.Status(t); err != nil {
			return err
		}
		res, err = e.cfg.Cache.Get(t, rec.Revision, func() ([]api.Fragment, error) { return v.TargetFragments(t) })
		return err
	})
	if err != nil {
		// Aggregation is deterministic and the store local: retrying the
		// same revision cannot help; the next change re-enqueues.
		log.Error("sync engine: read target", "err", err)
		return false, 0
	}
	if !exists {
		return false, 0 // never had a fragment: nothing to do
	}
	hash := res.Hash()
	upToDate := e.upToDate(prev, hash)
	// A failure of the other mode (a plan that failed, before a real run)
	// is not this mode's to wait on.
	failedHere := prev != nil && prev.Error != "" && prev.Revision == rec.Revision && prev.DryRun == e.cfg.DryRun
	// A target that waits for another one at this revision is flushed
	// again when that one is recorded (see deps), not on the news of its
	// own recorded wait. A new term's first pass (reasonCheck with an
	// empty index) tries it again, which registers it again.
	waitingHere := prev != nil && prev.DependsOn != nil && prev.Error == "" && prev.Revision == rec.Revision && prev.DryRun == e.cfg.DryRun
	e.mu.Lock()
	permRev, perm := e.permFail[t.Key()]
	var startSeq uint64
	indexed := false
	if e.deps != nil {
		startSeq, indexed = e.deps.seq, e.deps.waiting(t)
	}
	e.mu.Unlock()
	perm = perm && permRev == rec.Revision
	switch {
	case why&reasonForce != 0:
	case why&reasonDrift != 0 && !failedHere:
	case why&reasonCheck != 0 && !upToDate && !perm && !(waitingHere && indexed):
	case why&reasonChange != 0 && !upToDate && !failedHere && !waitingHere:
	default:
		return false, 0
	}

	if clusterID == "" {
		// A new cluster's leader proposes the id as it starts leading;
		// until it is applied nothing flushes, and nothing is recorded
		// against the target (no error, no attempt, no backoff).
		e.awaitClusterID(t, why)
		return false, 0
	}

	if err := e.limiter.Wait(ctx); err != nil {
		return false, 0 // ctx ended
	}
	if err := e.cfg.Cluster.VerifyLeaderLease(ctx); err != nil {
		if ctx.Err() != nil {
			return false, 0
		}
		log.Warn("sync engine: not flushing, leadership not verified", "err", err)
		return true, e.backoff(prevAttempts(prev) + 1)
	}

	cp := e.newCheckpointer(t, rec.Revision, hash, prev)
	req := Request{
		Target:    t,
		Revision:  rec.Revision,
		Result:    res,
		Prev:      prev,
		ClusterID: clusterID,
		// A plan reads what is downstream; and after a plan, downstream
		// may have changed while conflux-sync only watched (the previous
		// controller still ran), so the first real flush reads back too.
		Drift:      why&(reasonDrift|reasonForce) != 0 || e.cfg.DryRun || prev != nil && prev.DryRun,
		Checkpoint: cp.record,
		DryRun:     e.cfg.DryRun,
	}
	fctx := withWriteGate(ctx, e.cfg.Cluster.VerifyLeaderLease)
	if e.cfg.DryRun {
		fctx = WithDryRun(fctx)
		req.Checkpoint = refuseCheckpoint
	}
	start := time.Now()
	out, ferr := flusher.Flush(fctx, req)
	e.latency.WithLabelValues(t.Kind).Observe(time.Since(start).Seconds())
	if ferr != nil && ctx.Err() != nil {
		return false, 0 // cancelled mid-flush; the next leader resyncs
	}

	st := api.SyncStatus{Revision: rec.Revision, AttemptedHash: hash, Time: time.Now().UTC(), DryRun: e.cfg.DryRun}
	result := resultSuccess
	dep, isDep := dependencyOf(ferr)
	if isDep {
		st.DependsOn = &dep.On
	}
	if isDep && !dep.Blocked {
		// Not a failure: nothing was written, and the target is flushed
		// again when what it waits for is recorded.
		result = resultWaiting
		if e.cfg.DryRun {
			recordPlan(&st, prev, out)
			if len(out.Plan) == 0 {
				st.Plan = []string{"waits: " + dep.Err.Error()}
			}
		} else {
			if prev != nil {
				st.SyncedHash = prev.SyncedHash
			}
			st.DownstreamIDs = cp.ids()
		}
		st.Waiting = []api.WaitingPart{{For: dep.Err.Error()}}
		ferr = nil
	} else if ferr == nil {
		if e.cfg.DryRun {
			recordPlan(&st, prev, out)
		} else {
			st.SyncedHash = cmp.Or(out.SyncedHash, hash)
			st.DownstreamIDs = out.DownstreamIDs
		}
		st.Waiting = out.Waiting
		st.Refused = out.Refused
		e.mu.Lock()
		delete(e.permFail, t.Key())
		e.mu.Unlock()
	} else {
		result = resultError
		if IsPermanent(ferr) || isDep {
			result = resultPermanent
			st.Permanent = true
			e.mu.Lock()
			e.permFail[t.Key()] = rec.Revision
			e.mu.Unlock()
		}
		st.Error = ferr.Error()
		st.Attempts = prevAttempts(prev) + 1
		if prev != nil {
			st.SyncedHash = prev.SyncedHash
		}
		// Keep what the flush checkpointed before failing (e.g. that it
		// is creating a tunnel), or the next attempt would not know.
		st.DownstreamIDs = cp.ids()
		if e.cfg.DryRun {
			// What was planned before the error (e.g. every write but a
			// clash) still tells what a real run would do.
			st.Plan = out.Plan
		}
	}
	e.flushes.WithLabelValues(t.Kind, result).Inc()

	recorded := e.record(ctx, t, st)
	if recorded && isDep && e.waitFor(t, dep.On, startSeq) {
		// What it waits for was recorded while this attempt ran.
		e.mu.Lock()
		q := e.q
		e.mu.Unlock()
		if q != nil {
			q.add(t, reasonForce)
		}
	}
	switch {
	case ctx.Err() != nil:
		return false, 0
	case isDep && dep.Blocked:
		log.Warn("sync engine: flush blocked by another target; waiting for it to change", "revision", rec.Revision, "by", dep.On.String(), "err", ferr)
		return false, 0
	case result == resultWaiting && recorded:
		log.Debug("sync engine: waiting for another target", "revision", rec.Revision, "for", dep.On.String(), "why", dep.Err)
		return false, 0
	case ferr == nil && recorded:
		if e.cfg.DryRun {
			log.Debug("sync engine: planned (dry run)", "revision", rec.Revision, "hash", hash, "plan", st.Plan)
		} else {
			log.Debug("sync engine: flushed", "revision", rec.Revision, "hash", st.SyncedHash, "actions", out.Plan)
		}
		e.release(t)
		if len(out.Recheck) > 0 {
			e.recheck(out.Recheck)
		}
		return false, 0
	case ferr == nil:
		// Downstream is right but the outcome is not recorded: try again
		// (flushes are idempotent).
		return true, e.backoff(prevAttempts(prev) + 1)
	case result == resultPermanent:
		log.Warn("sync engine: flush failed permanently; waiting for a new revision", "revision", rec.Revision, "err", ferr)
		return false, 0
	default:
		delay := e.backoff(st.Attempts)
		var ra retryAfter
		if errors.As(ferr, &ra) {
			delay = max(delay, ra.RetryAfter())
		}
		log.Warn("sync engine: flush failed; retrying", "revision", rec.Revision, "attempts", st.Attempts, "in", delay, "err", ferr)
		return true, delay
	}
}

// awaitClusterID parks t until the cluster id is applied. The id may have
// been applied since attempt read the store, before Notify could see t
// parked: the queue is checked again here.
func (e *Engine) awaitClusterID(t api.TargetRef, why reason) {
	e.mu.Lock()
	first := len(e.awaitID) == 0
	e.awaitID[t.Key()] = awaiting{target: t, why: e.awaitID[t.Key()].why | why}
	q := e.q
	e.mu.Unlock()
	if first {
		e.log.Info("sync engine: waiting for the cluster id before flushing (the ownership markers carry it)")
	}
	if q != nil {
		e.releaseAwaiting(q)
	}
}

// releaseAwaiting queues the parked targets once the cluster id is known.
// It is cheap when none are parked (every Notify calls it).
func (e *Engine) releaseAwaiting(q *queue) {
	e.mu.Lock()
	n := len(e.awaitID)
	e.mu.Unlock()
	if n == 0 {
		return
	}
	id := ""
	if err := e.cfg.Store.View(func(v *store.View) error { id = v.ClusterID(); return nil }); err != nil || id == "" {
		return
	}
	e.mu.Lock()
	parked := e.awaitID
	e.awaitID = make(map[string]awaiting)
	e.mu.Unlock()
	if len(parked) > 0 {
		e.log.Info("sync engine: the cluster id is known; flushing the targets that waited for it", "clusterId", id, "targets", len(parked))
	}
	for _, a := range parked {
		q.add(a.target, a.why)
	}
}

// upToDate reports whether prev already answers for hash in the engine's
// mode: a real sync of it, or in a dry run a plan for it. A plan is never
// up to date for a real run (nothing was written), nor is a real sync for
// a dry run (which is there to plan every target once).
func (e *Engine) upToDate(prev *api.SyncStatus, hash string) bool {
	if prev == nil || prev.Error != "" || prev.DryRun != e.cfg.DryRun {
		return false
	}
	if e.cfg.DryRun {
		return prev.AttemptedHash == hash
	}
	return prev.SyncedHash == hash
}

// recordPlan fills a dry run's outcome into st: the plan and the ids it
// found, with the synced hash and the downstream ids of the last real sync
// kept as they were. A dry run syncs nothing, and recording what it found
// as ours would let a later real flush skip the checks that prove it.
func recordPlan(st, prev *api.SyncStatus, out Outcome) {
	st.Plan = out.Plan
	if len(st.Plan) == 0 {
		st.Plan = []string{PlanInSync}
	}
	st.PlannedIDs = out.DownstreamIDs
	if prev != nil {
		st.SyncedHash, st.DownstreamIDs = prev.SyncedHash, prev.DownstreamIDs
	}
}

// refuseCheckpoint is a dry run's Request.Checkpoint: a checkpoint records
// the ids of a write, and a dry run makes none.
func refuseCheckpoint(context.Context, map[string]string) error {
	return Permanent(fmt.Errorf("%w: a checkpoint records the ids of a write (a flusher did not honour Request.DryRun: this is a bug)", ErrDryRun))
}

// checkpointer implements Request.Checkpoint for one attempt: it records
// the ids merged into the previous status, leaving the synced hash and
// error as they were, so only the ids are news.
type checkpointer struct {
	e        *Engine
	target   api.TargetRef
	revision uint64
	hash     string

	mu sync.Mutex
	st api.SyncStatus
}

func (e *Engine) newCheckpointer(t api.TargetRef, rev uint64, hash string, prev *api.SyncStatus) *checkpointer {
	cp := &checkpointer{e: e, target: t, revision: rev, hash: hash}
	if prev != nil {
		cp.st = *prev
		cp.st.DownstreamIDs = maps.Clone(prev.DownstreamIDs)
		// Only a real flush checkpoints: what a plan found is not ours.
		cp.st.DryRun, cp.st.Plan, cp.st.PlannedIDs = false, nil, nil
	}
	return cp
}

func (cp *checkpointer) record(ctx context.Context, ids map[string]string) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.st.DownstreamIDs == nil {
		cp.st.DownstreamIDs = make(map[string]string, len(ids))
	}
	maps.Copy(cp.st.DownstreamIDs, ids)
	cp.st.Revision, cp.st.AttemptedHash, cp.st.Time = cp.revision, cp.hash, time.Now().UTC()
	if !cp.e.record(ctx, cp.target, cp.st) {
		return fmt.Errorf("checkpoint %s: the ids could not be recorded through the log", cp.target)
	}
	return nil
}

// ids returns the previous ids with every checkpoint merged in.
func (cp *checkpointer) ids() map[string]string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return maps.Clone(cp.st.DownstreamIDs)
}

// waitFor registers that t waits for on; true when on was recorded since
// the attempt started at seq (t must be flushed again at once).
func (e *Engine) waitFor(t, on api.TargetRef, seq uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deps != nil && e.deps.wait(t, on, seq)
}

// release queues, for a read-back flush now, every target that waited for
// t, whose outcome was just recorded.
func (e *Engine) release(t api.TargetRef) {
	e.mu.Lock()
	q := e.q
	var waiters []api.TargetRef
	if e.deps != nil {
		e.deps.forget(t)
		waiters = e.deps.done(t)
	}
	e.mu.Unlock()
	if q == nil {
		return
	}
	for _, w := range waiters {
		q.add(w, reasonForce)
	}
}

// recheck queues every target of the kinds for a read-back flush.
func (e *Engine) recheck(kinds []string) {
	e.mu.Lock()
	q := e.q
	e.mu.Unlock()
	if q == nil {
		return
	}
	for _, k := range kinds {
		err := e.cfg.Store.View(func(v *store.View) error {
			return v.Targets(k, func(r store.TargetRecord) bool {
				if _, ok := e.flushers[r.Target.Kind]; ok {
					q.add(r.Target, reasonForce)
				}
				return true
			})
		})
		if err != nil {
			e.log.Error("sync engine: list targets to recheck", "kind", k, "err", err)
		}
	}
}

func prevAttempts(prev *api.SyncStatus) int {
	if prev == nil {
		return 0
	}
	return prev.Attempts
}

// record proposes the outcome through the log.
func (e *Engine) record(ctx context.Context, t api.TargetRef, st api.SyncStatus) bool {
	cmd, err := fsm.Encode(fsm.RecordSync{Target: t, Status: st})
	if err != nil {
		e.log.Error("sync engine: encode RecordSync", "target", t.String(), "err", err)
		return false
	}
	resp, _, err := e.cfg.Cluster.Apply(ctx, cmd)
	if err == nil {
		if r, ok := resp.(fsm.Response); ok && r.Err != nil {
			err = r.Err
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("sync engine: record sync outcome", "target", t.String(), "err", err)
		}
		return false
	}
	return true
}

// backoff returns the delay before attempt n+1 after n consecutive
// failures: full jitter over min(max, base·2^(n-1)).
func (e *Engine) backoff(n int) time.Duration {
	d := e.cfg.BackoffBase
	for i := 1; i < n && d < e.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, e.cfg.BackoffMax)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
