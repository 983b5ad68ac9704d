// Package git is the Git producer: while its node leads, it polls Git
// sources (GitSources registered through the admin API, ConfluxSource
// objects in Kubernetes), renders the ConfluxConfig files of each new
// commit and replaces the source's conflux.Config fragments in one raft
// entry, so a commit lands all or nothing.
package git

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git/repo"
	"github.com/conflux-sync/conflux-sync/render"
)

// Store is the replicated state the producer reads and writes on the
// leader; the node's admin API implements it in-process (httpapi.Server).
type Store interface {
	ReplaceSourceFragments(ctx context.Context, req api.ReplaceSourceRequest) (api.WriteResult, error)
	// SourceFragments returns every fragment whose source is of kind sourceKind.
	SourceFragments(ctx context.Context, sourceKind string) ([]api.Fragment, error)
	Target(ctx context.Context, ref api.TargetRef) (api.Target, bool, error)
}

// Source is one Git source as its front end (the admin API's registry or
// Kubernetes) describes it.
type Source struct {
	Ref  api.SourceRef
	Spec api.GitSourceSpec
	// Generation is the spec's version (metadata.generation, or the
	// registration's ModifyIndex); the status reports it as observed.
	Generation int64
	// SecretNamespace is where spec.secretRef and the files' secretsRef
	// are read: the ConfluxSource's namespace, "" for --secrets-dir.
	SecretNamespace string
	// Narrowing lists patterns the URL must match on top of the server's
	// (a namespace's --source-allow-namespaces entry).
	Narrowing []Narrowing
}

// Event is something worth telling the source's owner once.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Reporter receives each poll's status and new events; the front end
// writes them where its users look (Source.Status, a CRD status and
// Kubernetes Events).
type Reporter func(ctx context.Context, src Source, status api.GitSourceStatus, events []Event)

// Condition types and reasons (kstatus, as Flux uses them).
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"

	ReasonSucceeded     = "Succeeded"
	ReasonProgressing   = "Progressing"
	ReasonInvalidSpec   = "InvalidSpec"
	ReasonInvalidConfig = "InvalidConfig"
	ReasonSecretError   = "SecretError"
	ReasonProposeFailed = "ProposeFailed"
	ReasonPublishFailed = "PublishFailed"
	ReasonSuspended     = "Suspended"
	ReasonConflict      = "Conflict"
	// ReasonURLNotAllowed: the server's --source-allow (or the namespace's
	// narrowing, or --local-sources-dir) refuses spec.url.
	ReasonURLNotAllowed = "URLNotAllowed"
	// ReasonCredentialsNotAllowed: spec.url names a host the credentials
	// of spec.secretRef are not bound to; they are not sent.
	ReasonCredentialsNotAllowed = "CredentialsNotAllowed"
)

// PollerConfig configures Pollers. Zero values take the defaults noted.
type PollerConfig struct {
	// Store is the node's replicated state. Required.
	Store Store
	// Secrets reads Git credentials and the files' Secrets. Nil: sources
	// with a secretRef fail with a SecretError.
	Secrets SecretReader
	// URLPolicy decides which URLs are polled; nil: DefaultSourceAllow
	// and no local sources.
	URLPolicy *URLPolicy
	// Bindings records the hosts each Secret's credentials may be sent
	// to; nil: kept in memory by these Pollers only.
	Bindings CredentialBindings
	// Report receives every status. Required.
	Report Reporter
	// StatusEvery is how often a source whose configs are not all
	// published yet re-reads their sync status; default 1s.
	StatusEvery time.Duration
	Logger      *slog.Logger
	// Metrics are shared by every Pollers of a node (API and Kubernetes
	// sources); nil: private ones.
	Metrics *Metrics
}

// Metrics of the Git producer.
type Metrics struct {
	polls     *prometheus.CounterVec
	fetches   prometheus.Counter
	proposals prometheus.Counter
	sources   prometheus.Gauge
}

// NewMetrics registers the Git producer's metrics with reg (nil: a
// private registry).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conflux_git_polls_total", Help: "Polls of Git sources by result (Succeeded or the failure reason).",
		}, []string{"result"}),
		fetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conflux_git_fetches_total", Help: "Commits fetched (only when a source's ref moved).",
		}),
		proposals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conflux_git_proposals_total", Help: "Fragment sets proposed by Git sources (unchanged sets are not proposed).",
		}),
		sources: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conflux_git_sources", Help: "Git sources polled by this node (non-zero on the leader only).",
		}),
	}
	for _, c := range []prometheus.Collector{m.polls, m.fetches, m.proposals, m.sources} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("git: register metrics: %w", err)
		}
	}
	return m, nil
}

// Pollers runs one poller goroutine per source for one leadership term.
// Update starts, restarts and stops them; Stop (or the context) ends all.
type Pollers struct {
	cfg PollerConfig
	log *slog.Logger
	ctx context.Context

	mu      sync.Mutex
	running map[string]*poller // by source key
	wg      sync.WaitGroup
}

// NewPollers returns Pollers bound to ctx (the leadership term).
func NewPollers(ctx context.Context, cfg PollerConfig) *Pollers {
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics, _ = NewMetrics(nil)
	}
	if cfg.URLPolicy == nil {
		cfg.URLPolicy = defaultURLPolicy()
	}
	if cfg.Bindings == nil {
		cfg.Bindings = &memoryBindings{}
	}
	return &Pollers{cfg: cfg, log: cfg.Logger, ctx: ctx, running: map[string]*poller{}}
}

// Update makes the running pollers match sources: new ones start, removed
// ones stop, and a changed spec (or requestedAt) wakes its poller for a
// poll now, keeping its fetched files (an unmoved head is not fetched).
// prev supplies the last known status of a source (from where the front
// end keeps it) the first time it is seen in this term.
func (p *Pollers) Update(sources []Source, prev func(api.SourceRef) api.GitSourceStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	seen := map[string]bool{}
	for _, src := range sources {
		key := src.Ref.Key()
		seen[key] = true
		if cur, ok := p.running[key]; ok {
			cur.update(src)
			continue
		}
		var st api.GitSourceStatus
		if prev != nil {
			st = prev(src.Ref)
		}
		pl := newPoller(p, src, st)
		p.running[key] = pl
		p.wg.Go(pl.run)
	}
	for key, pl := range p.running {
		if !seen[key] {
			pl.stop()
			delete(p.running, key)
		}
	}
	p.cfg.Metrics.sources.Set(float64(len(p.running)))
}

// Wait returns once every poller stopped (after the context ended).
func (p *Pollers) Wait() {
	p.wg.Wait()
	p.cfg.Metrics.sources.Set(0)
}

// poller owns one source within a term.
type poller struct {
	p      *Pollers
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}

	mu  sync.Mutex
	src Source // guarded by mu; replaced by update

	// Owned by run:
	status     api.GitSourceStatus
	files      map[string][]byte // the last fetched commit's files
	filesOf    string            // its commit
	filesSpec  string            // URL and path they were fetched with
	lastEvents map[string]string // reason → last message told
}

func newPoller(p *Pollers, src Source, st api.GitSourceStatus) *poller {
	ctx, cancel := context.WithCancel(p.ctx)
	return &poller{
		p: p, log: p.log.With("source", src.Ref.String()), ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), src: src, status: st, lastEvents: map[string]string{},
	}
}

func (pl *poller) update(src Source) {
	pl.mu.Lock()
	changed := pl.src.Generation != src.Generation || pl.src.Spec.RequestedAt != src.Spec.RequestedAt || pl.src.SecretNamespace != src.SecretNamespace
	pl.src = src
	pl.mu.Unlock()
	if changed {
		select {
		case pl.wake <- struct{}{}:
		default:
		}
	}
}

func (pl *poller) stop() { pl.cancel() }

func (pl *poller) source() Source {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.src
}

func (pl *poller) run() {
	defer pl.cancel()
	for {
		src := pl.source()
		pending := pl.poll(src)
		interval, _, err := src.Spec.Durations()
		if err != nil {
			interval = api.DefaultGitInterval
		}
		next := time.Now().Add(interval)
		// While configs wait for their flush, refresh only the status
		// (local reads) until they settle or the next poll is due.
		for pending && time.Until(next) > 0 {
			select {
			case <-pl.ctx.Done():
				return
			case <-pl.wake:
				next = time.Now()
			case <-time.After(min(pl.p.cfg.StatusEvery, time.Until(next))):
				pending = pl.refreshStatus(pl.source())
			}
		}
		if d := time.Until(next); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-pl.ctx.Done():
				timer.Stop()
				return
			case <-pl.wake:
				timer.Stop()
			case <-timer.C:
			}
		}
		if pl.ctx.Err() != nil {
			return
		}
	}
}

// poll runs one cycle and reports it; it returns whether configs still
// wait for their flush.
func (pl *poller) poll(src Source) (pending bool) {
	st, events, pending := pl.sync(src)
	pl.status = st
	pl.report(src, events)
	return pending
}

func (pl *poller) report(src Source, events []Event) {
	var fresh []Event
	for _, e := range events {
		if pl.lastEvents[e.Reason] == e.Message {
			continue
		}
		pl.lastEvents[e.Reason] = e.Message
		fresh = append(fresh, e)
	}
	pl.p.cfg.Report(pl.ctx, src, pl.status, fresh)
}

// failure is a poll that stopped before proposing.
type failure struct {
	reason  string
	message string
	stalled bool // retrying cannot help until the spec changes
}

func (pl *poller) sync(src Source) (api.GitSourceStatus, []Event, bool) {
	st := cloneStatus(pl.status)
	st.ObservedGeneration = src.Generation
	if src.Spec.RequestedAt != "" {
		st.LastHandledReconcileAt = src.Spec.RequestedAt
	}
	metrics := pl.p.cfg.Metrics
	if src.Spec.Suspend {
		setCondition(&st, ConditionReconciling, "False", ReasonSuspended, "the source is suspended")
		setCondition(&st, ConditionStalled, "False", ReasonSuspended, "")
		if c := findCondition(st.Conditions, ConditionReady); c == nil {
			setCondition(&st, ConditionReady, "Unknown", ReasonSuspended, "the source is suspended")
		}
		metrics.polls.WithLabelValues(ReasonSuspended).Inc()
		return st, nil, false
	}
	commit, built, fail := pl.fetchAndBuild(src, &st)
	if fail != nil {
		metrics.polls.WithLabelValues(fail.reason).Inc()
		msg := fail.message
		pl.log.Warn("git source failed", "reason", fail.reason, "error", msg)
		setCondition(&st, ConditionReady, "False", fail.reason, msg)
		setCondition(&st, ConditionReconciling, boolStatus(!fail.stalled), "ProgressingWithRetry", "retrying at the next interval")
		setCondition(&st, ConditionStalled, boolStatus(fail.stalled), fail.reason, stalledMessage(fail.stalled, msg))
		return st, []Event{{Warning: true, Reason: eventReason(fail.reason), Message: msg}}, false
	}
	metrics.polls.WithLabelValues(ReasonSucceeded).Inc()
	var events []Event
	st.LastAttemptedCommit = commit
	st.FileErrors = nil
	for _, p := range built.Problems {
		st.FileErrors = append(st.FileErrors, p.Error())
	}
	if len(built.Problems) == 0 {
		if st.LastSyncedCommit != commit {
			events = append(events, Event{Reason: "NewCommit", Message: fmt.Sprintf("commit %s: %d configs proposed", short(commit), len(built.Fragments))})
		}
		st.LastSyncedCommit = commit
	} else {
		events = append(events, Event{Warning: true, Reason: ReasonInvalidConfig, Message: fmt.Sprintf("commit %s: %s", short(commit), strings.Join(st.FileErrors, "; "))})
	}
	st.Inventory = withFiles(built.Inventory, pl.status.Inventory)
	pending, publishEvents := pl.applyInventory(src, &st)
	return st, append(events, publishEvents...), pending
}

// fetchAndBuild resolves the ref, fetches the commit when it moved, builds
// the fragment set and proposes it when it differs from the stored one.
func (pl *poller) fetchAndBuild(src Source, st *api.GitSourceStatus) (string, Built, *failure) {
	spec := src.Spec
	if err := spec.Validate(); err != nil {
		return "", Built{}, &failure{reason: ReasonInvalidSpec, message: err.Error(), stalled: true}
	}
	url, err := pl.p.cfg.URLPolicy.Check(spec.URL, src.Narrowing...)
	if err != nil {
		return "", Built{}, &failure{reason: ReasonURLNotAllowed, message: err.Error(), stalled: true}
	}
	_, timeout, _ := spec.Durations()
	var auth repo.Auth
	var secretValues map[string]string
	if spec.SecretRef != "" {
		name := api.SecretName{Namespace: src.SecretNamespace, Name: spec.SecretRef}
		if fail := pl.checkBinding(name, url); fail != nil {
			return "", Built{}, fail
		}
		if pl.p.cfg.Secrets == nil {
			return "", Built{}, &failure{reason: ReasonSecretError, message: fmt.Sprintf("spec.secretRef: cannot read %s: this server has no Secrets source", name)}
		}
		values, err := pl.p.cfg.Secrets.Secret(pl.ctx, name)
		if err != nil {
			return "", Built{}, &failure{reason: ReasonSecretError, message: "spec.secretRef: " + err.Error()}
		}
		secretValues = values
		data := make(map[string][]byte, len(values))
		for k, v := range values {
			data[k] = []byte(v)
		}
		if auth, err = repo.AuthFromSecret(url, data); err != nil {
			return "", Built{}, &failure{reason: ReasonSecretError, message: fmt.Sprintf("spec.secretRef %s: %s", name, render.Mask(err.Error(), values)), stalled: true}
		}
	}
	ref := repo.Ref{Branch: spec.Ref.Branch, Tag: spec.Ref.Tag, Commit: spec.Ref.Commit}
	gitFail := func(op string, err error) *failure {
		return &failure{reason: repo.ReasonOf(err), message: render.Mask(fmt.Sprintf("%s %s: %v", op, ref, err), secretValues)}
	}
	ctx, cancel := context.WithTimeout(pl.ctx, timeout)
	defer cancel()
	commit, err := repo.Head(ctx, url, ref, auth)
	if err != nil {
		return "", Built{}, gitFail("resolve", err)
	}
	fetchedWith := url + "\x00" + spec.Path
	if pl.files == nil || pl.filesOf != commit || pl.filesSpec != fetchedWith {
		files, err := repo.Checkout(ctx, url, ref, commit, spec.Path, auth)
		if err != nil {
			st.LastAttemptedCommit = commit
			return "", Built{}, gitFail("fetch", err)
		}
		pl.p.cfg.Metrics.fetches.Inc()
		pl.files, pl.filesOf, pl.filesSpec = RepoPath(spec.Path, files), commit, fetchedWith
		pl.log.Info("fetched commit", "commit", commit, "files", len(files))
	}

	all, err := pl.p.cfg.Store.SourceFragments(pl.ctx, src.Ref.Kind)
	if err != nil {
		return "", Built{}, &failure{reason: ReasonProposeFailed, message: "read stored fragments: " + err.Error()}
	}
	var previous []api.Fragment
	for _, f := range all {
		if f.Source == src.Ref {
			previous = append(previous, f)
		}
	}
	built := Build(pl.ctx, BuildInput{
		Files: pl.files, DefaultTenant: defaultTenant(src), SecretNamespace: src.SecretNamespace,
		Secrets: pl.p.cfg.Secrets, Previous: previous, Prune: spec.PruneEnabled(),
	})
	if !sameFragments(previous, built.Fragments) {
		res, err := pl.p.cfg.Store.ReplaceSourceFragments(pl.ctx, api.ReplaceSourceRequest{Source: src.Ref, Fragments: built.Fragments})
		if err != nil {
			st.LastAttemptedCommit = commit
			var ae *api.Error
			stalled := errors.As(err, &ae) && ae.Code == api.CodeBadRequest
			return "", Built{}, &failure{reason: ReasonProposeFailed, message: fmt.Sprintf("commit %s: %v", short(commit), err), stalled: stalled}
		}
		pl.p.cfg.Metrics.proposals.Inc()
		pl.log.Info("proposed configs", "commit", commit, "configs", len(built.Fragments), "changed", res.Changed, "index", res.Index)
	}
	return commit, built, nil
}

// checkBinding lets the credentials of secret go to the host of url only
// when they are bound to it; credentials used for the first time are bound
// to it now (a source registered before bindings existed, or a
// ConfluxSource). Schemes that carry no credentials need no binding.
func (pl *poller) checkBinding(secret api.SecretName, url string) *failure {
	e, err := api.ParseGitURL(url)
	if err != nil || (e.Scheme != "https" && e.Scheme != "http" && e.Scheme != "ssh") {
		return nil
	}
	bound, ok, err := pl.p.cfg.Bindings.CredentialHosts(pl.ctx, secret)
	if err != nil {
		return &failure{reason: ReasonSecretError, message: fmt.Sprintf("spec.secretRef: read the hosts %s is bound to: %v", secret, err)}
	}
	if !ok {
		if bound, err = pl.p.cfg.Bindings.BindCredentials(pl.ctx, secret, api.GitCredentialsSpec{Hosts: []string{e.Host}}); err != nil {
			return &failure{reason: ReasonSecretError, message: fmt.Sprintf("spec.secretRef: bind %s to %s: %v", secret, e.Host, err)}
		}
		pl.log.Info("Git credentials bound to a host", "secret", secret.String(), "hosts", strings.Join(bound.Hosts, ","))
	}
	if !bound.AllowsHost(e.Host) {
		return &failure{reason: ReasonCredentialsNotAllowed, message: "spec.url: " + bound.Refusal(secret, e.Host), stalled: true}
	}
	return nil
}

// defaultTenant is the tenant of files without metadata.namespace: the
// spec's, else the ConfluxSource's namespace.
func defaultTenant(src Source) string {
	if src.Spec.Tenant != "" {
		return src.Spec.Tenant
	}
	return src.SecretNamespace
}

// refreshStatus re-reads the inventory's sync status; it reports whether
// configs still wait.
func (pl *poller) refreshStatus(src Source) bool {
	st := cloneStatus(pl.status)
	pending, events := pl.applyInventory(src, &st)
	pl.status = st
	pl.report(src, events)
	return pending
}

// applyInventory fills in version ids from the targets' recorded sync
// status and sets the conditions: Ready once every config of the commit
// is published. It reports whether configs still wait for their flush.
func (pl *poller) applyInventory(src Source, st *api.GitSourceStatus) (bool, []Event) {
	waiting := 0
	var failures []string
	reason := ""
	targets := map[string]*api.Target{}
	for i := range st.Inventory {
		e := &st.Inventory[i]
		t, seen := targets[e.Config]
		if !seen {
			got, ok, err := pl.p.cfg.Store.Target(pl.ctx, api.TargetRef{Kind: api.KindConfluxConfig, Name: e.Config})
			if err == nil && ok {
				t = &got
				for _, c := range got.Conflicts {
					if c.Loser == src.Ref {
						failures, reason = append(failures, c.Reason), ReasonConflict
					}
				}
				if s := got.Status; s != nil && s.Error != "" && s.AttemptedHash == got.Hash {
					failures = append(failures, fmt.Sprintf("config %s: %s", e.Config, s.Error))
					if reason == "" {
						reason = ReasonPublishFailed
					}
				}
			}
			targets[e.Config] = t
		}
		e.VersionID = ""
		if t != nil && t.Status != nil {
			ids := t.Status.DownstreamIDs
			if base := "release." + e.Release; ids[base+".sha"] == e.ContentSHA256 {
				e.VersionID = ids[base]
			}
		}
		if e.VersionID == "" {
			waiting++
		}
	}
	commit := short(st.LastAttemptedCommit)
	var events []Event
	switch {
	case len(st.FileErrors) > 0:
		msg := fmt.Sprintf("commit %s: %d of its files failed, the others are published: %s", commit, len(st.FileErrors), st.FileErrors[0])
		setCondition(st, ConditionReady, "False", ReasonInvalidConfig, msg)
		setCondition(st, ConditionStalled, "True", ReasonInvalidConfig, "fix the files and push a new commit")
	case len(failures) > 0:
		msg := strings.Join(failures, "; ")
		setCondition(st, ConditionReady, "False", reason, msg)
		setCondition(st, ConditionStalled, boolStatus(reason == ReasonConflict), reason, stalledMessage(reason == ReasonConflict, msg))
		events = append(events, Event{Warning: true, Reason: reason, Message: msg})
	case waiting > 0:
		setCondition(st, ConditionReady, "Unknown", ReasonProgressing, fmt.Sprintf("commit %s: waiting for %d of %d releases to be published", commit, waiting, len(st.Inventory)))
		setCondition(st, ConditionStalled, "False", ReasonProgressing, "")
	default:
		msg := fmt.Sprintf("commit %s: %d releases published", commit, len(st.Inventory))
		setCondition(st, ConditionReady, "True", ReasonSucceeded, msg)
		setCondition(st, ConditionStalled, "False", ReasonSucceeded, "")
		events = append(events, Event{Reason: "Published", Message: msg})
	}
	if waiting > 0 {
		setCondition(st, ConditionReconciling, "True", ReasonProgressing, fmt.Sprintf("waiting for %d releases to be published", waiting))
	} else {
		setCondition(st, ConditionReconciling, "False", ReasonSucceeded, "")
	}
	return waiting > 0, events
}

// cloneStatus copies a status deeply: a reported status belongs to the
// reporter, and the next poll must not write into it.
func cloneStatus(st api.GitSourceStatus) api.GitSourceStatus {
	st.Conditions = slices.Clone(st.Conditions)
	st.Inventory = slices.Clone(st.Inventory)
	st.FileErrors = slices.Clone(st.FileErrors)
	return st
}

// withFiles names the file of releases carried from an earlier commit, as
// the previous inventory recorded it.
func withFiles(inv, prev []api.GitInventoryEntry) []api.GitInventoryEntry {
	files := map[string]string{}
	for _, e := range prev {
		files[e.Release] = e.File
	}
	for i := range inv {
		if inv[i].File == "" {
			inv[i].File = files[inv[i].Release]
		}
	}
	return inv
}

// sameFragments reports whether a new fragment set equals the stored one,
// so an unchanged commit (or a poll of the same head) costs no raft write.
func sameFragments(stored []api.Fragment, next []api.SourceFragment) bool {
	if len(stored) != len(next) {
		return false
	}
	byTarget := make(map[api.TargetRef]string, len(stored))
	for _, f := range stored {
		byTarget[f.Target] = string(f.Spec)
	}
	for _, f := range next {
		spec, ok := byTarget[f.Target]
		if !ok || !sameJSON(spec, string(f.Spec)) {
			return false
		}
	}
	return true
}

func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

func setCondition(st *api.GitSourceStatus, typ, status, reason, message string) {
	if c := findCondition(st.Conditions, typ); c != nil {
		if c.Status != status {
			c.LastTransitionTime = time.Now().UTC().Truncate(time.Second)
		}
		c.Status, c.Reason, c.Message = status, reason, message
		return
	}
	st.Conditions = append(st.Conditions, api.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: time.Now().UTC().Truncate(time.Second)})
	slices.SortFunc(st.Conditions, func(a, b api.Condition) int { return strings.Compare(a.Type, b.Type) })
}

func findCondition(cs []api.Condition, typ string) *api.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

func boolStatus(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func stalledMessage(stalled bool, msg string) string {
	if stalled {
		return msg
	}
	return ""
}

// eventReason is the Event reason of a failure: Flux's GitOperationFailed
// for every Git error, the failure's own otherwise.
func eventReason(reason string) string {
	switch reason {
	case ReasonInvalidSpec, ReasonSecretError, ReasonProposeFailed, ReasonURLNotAllowed, ReasonCredentialsNotAllowed:
		return reason
	}
	return "GitOperationFailed"
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
