// Package httpapi is the admin HTTP API: fragments, targets, sources,
// cluster status and peers, snapshots, health and metrics. Writes and
// non-stale reads that reach a follower are forwarded to the leader.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Cluster is what the API needs of the raft node.
type Cluster interface {
	Apply(ctx context.Context, cmd []byte) (resp any, index uint64, err error)
	IsLeader() bool
	Leader() (api.Member, bool)
	VerifyLeader(ctx context.Context) error
	VerifyLeaderLease(ctx context.Context) error
	WaitLeaderEstablished(ctx context.Context) error
	WaitForApplied(ctx context.Context, index uint64) error
	Status() api.ClusterStatus
	Indexes() (applied, commit uint64, leaderKnown bool)
	RemovePeer(ctx context.Context, id string) error
	Restore(ctx context.Context, meta *raft.SnapshotMeta, r io.Reader) error
}

// Syncer receives requests to sync a target now. The leader's sync engine
// implements it; nil means targets are synced only on change.
type Syncer interface {
	Enqueue(target api.TargetRef)
}

// GitURLChecker decides which Git URLs may be registered as sources; the
// Git producer's URL policy implements it.
type GitURLChecker interface {
	// CheckGitURL refuses a URL the server will not poll, or one outside
	// token (the caller's token's sources=; nil: none). Errors are
	// *api.FieldError on spec.url naming the rule that refused.
	CheckGitURL(url string, token []api.GitURLPattern) error
}

// Config configures the API server. Zero values take the documented
// defaults.
type Config struct {
	NodeID  string
	Cluster Cluster
	Store   *store.Store
	Kinds   *kind.Registry
	// Cache memoises aggregates by target revision; default 4096 entries.
	Cache  *kind.Cache
	Tokens *Tokens
	Syncer Syncer
	// GitURLs checks the URL of a GitSource before it is registered; nil:
	// only the token's sources= narrows (the pollers check again).
	GitURLs GitURLChecker
	// MaxFragmentSize limits one fragment's body; default 1 MiB.
	MaxFragmentSize int
	// MaxSourceFragments limits one ReplaceSourceFragments; default 10000.
	MaxSourceFragments int
	// Limits bounds request bodies, the bodies in flight and the request
	// rate of each caller; zero values take the Default* constants.
	Limits Limits
	// WriteTimeout is the http.Server's WriteTimeout, which the API
	// extends for a write made with ?wait (by its wait) and lifts for
	// snapshot streams; 0: the server has none.
	WriteTimeout time.Duration
	// TFStateVersions is how many versions of each Terraform state
	// workspace are kept, the current one included; default
	// DefaultTFStateVersions. The leader's setting goes into each write,
	// so every node prunes alike.
	TFStateVersions int
	// MaxSnapshotSize limits an uploaded snapshot; default 64 GiB.
	MaxSnapshotSize int64
	// LeaderWait is how long a request waits for a leader before 503;
	// default 5 s.
	LeaderWait time.Duration
	// ApplyTimeout bounds one proposal; default 10 s.
	ApplyTimeout time.Duration
	// ForwardTransport carries requests forwarded to the leader (TLS,
	// timeouts); default http.DefaultTransport.
	ForwardTransport http.RoundTripper
	// TempDir holds uploaded snapshots while they are verified; default
	// os.TempDir().
	TempDir    string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Server is the admin API handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics

	// readyIndex is the leader's commit index when this node first saw a
	// leader: the node is ready once it has applied up to it.
	readyIndex atomic.Uint64
	ready      atomic.Bool

	// bindMu serialises reading and recording credential bindings, so two
	// first uses of one Secret cannot bind it to two hosts.
	bindMu sync.Mutex

	// retiringWarned is when a request with each retiring token (by
	// fingerprint) was last logged: one warning a minute per token, not
	// one per request.
	retiringMu     sync.Mutex
	retiringWarned map[string]time.Time

	inflight    *inflight
	tokenLimits *limiters // per token hash
	anonLimits  *limiters // per client IP, requests without a valid token
}

const forwardedHeader = "X-Conflux-Forwarded-By"

// New builds the API handler.
func New(cfg Config) (*Server, error) {
	if cfg.Cluster == nil || cfg.Store == nil || cfg.Kinds == nil || cfg.Tokens == nil {
		return nil, errors.New("httpapi: Cluster, Store, Kinds and Tokens are required")
	}
	if cfg.Cache == nil {
		cfg.Cache = kind.NewCache(cfg.Kinds, 4096)
	}
	if cfg.MaxFragmentSize == 0 {
		cfg.MaxFragmentSize = api.DefaultMaxFragmentSize
	}
	if cfg.MaxSourceFragments == 0 {
		cfg.MaxSourceFragments = 10000
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.TFStateVersions == 0 {
		cfg.TFStateVersions = DefaultTFStateVersions
	}
	if cfg.TFStateVersions < 0 {
		return nil, fmt.Errorf("httpapi: TFStateVersions is %d; at least 1 version is kept", cfg.TFStateVersions)
	}
	if cfg.MaxSnapshotSize == 0 {
		cfg.MaxSnapshotSize = 64 << 30
	}
	if cfg.LeaderWait == 0 {
		cfg.LeaderWait = 5 * time.Second
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	if cfg.ForwardTransport == nil {
		cfg.ForwardTransport = http.DefaultTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		inflight:    &inflight{max: cfg.Limits.MaxInflightBytes},
		tokenLimits: newLimiters(cfg.Limits.TokenRate, cfg.Limits.TokenBurst),
		anonLimits:  newLimiters(cfg.Limits.AnonRate, cfg.Limits.AnonBurst),
	}
	m, err := newMetrics(cfg.Registerer, cfg.Store, s.inflight)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	type route struct {
		pattern string
		role    Role
		mode    mode
		h       http.HandlerFunc
		// body, when set, admits the request by its body's size and the
		// node's in-flight budget before it is read or forwarded (a
		// follower holds the body while it forwards it).
		body func(http.HandlerFunc) http.HandlerFunc
	}
	fragmentBody := func(h http.HandlerFunc) http.HandlerFunc {
		return s.bodyBudget(int64(s.cfg.MaxFragmentSize), "max-fragment-size", h)
	}
	largeBody := func(h http.HandlerFunc) http.HandlerFunc {
		return s.bodyBudget(s.cfg.Limits.MaxRequestBody, "max-request-body", h)
	}
	for _, rt := range []route{
		{"GET /v1/status", RoleRead, local, s.handleStatus, nil},
		{"GET /v1/kinds", RoleRead, local, s.handleKinds, nil},
		{"GET /v1/fragments", RoleRead, read, s.handleListFragments, nil},
		{"PUT /v1/fragments", RoleWrite, write, s.handlePutFragment, fragmentBody},
		{"DELETE /v1/fragments", RoleWrite, write, s.handleDeleteFragment, nil},
		{"PUT /v1/source-fragments", RoleWrite, write, s.handleReplaceSource, largeBody},
		{"GET /v1/targets", RoleRead, read, s.handleListTargets, nil},
		{"GET /v1/targets/{kind}/{name...}", RoleRead, read, s.handleGetTarget, nil},
		{"POST /v1/sync/{kind}/{name...}", RoleWrite, write, s.handleSyncTarget, nil},
		{"GET /v1/sources", RoleRead, read, s.handleListSources, nil},
		{"PUT /v1/sources", RoleWrite, write, s.handlePutSource, fragmentBody},
		{"DELETE /v1/sources", RoleWrite, write, s.handleDeleteSource, nil},
		{"DELETE /v1/peers/{id}", RoleAdmin, write, s.handleRemovePeer, nil},
		{"GET /v1/snapshot", RoleAdmin, read, s.handleSnapshotSave, nil},
		{"PUT /v1/snapshot", RoleAdmin, write, s.handleSnapshotRestore, nil},
	} {
		h := s.route(rt.mode, rt.h)
		if rt.body != nil {
			h = rt.body(h)
		}
		s.mux.Handle(rt.pattern, s.instrument(rt.pattern, s.authorize(rt.role, s.deadlines(h))))
	}
	s.tfRoutes()
	s.mux.Handle("GET /healthz", s.instrument("GET /healthz", http.HandlerFunc(s.handleHealth)))
	s.mux.Handle("GET /readyz", s.instrument("GET /readyz", http.HandlerFunc(s.handleReady)))
	s.mux.Handle("GET /readyz/commit-index", s.instrument("GET /readyz/commit-index", http.HandlerFunc(s.handleCommitIndex)))
	if s.cfg.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := s.allowedMethods(r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, api.Errorf(api.CodeMethodNotAllowed, "", "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		writeError(w, api.Errorf(api.CodeNotFound, "", "no route for %s %s", r.Method, r.URL.Path))
	})
}

// allowedMethods lists the methods that have a route for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, "LOCK", "UNLOCK"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Conflux-Node", s.cfg.NodeID)
	s.mux.ServeHTTP(w, r)
}

// mode says where a request is served.
type mode int

const (
	local mode = iota // always on the receiving node
	read              // by ?consistency: stale here, otherwise on the leader
	write             // on the leader
)

func (s *Server) route(m mode, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		consistency := r.URL.Query().Get("consistency")
		switch consistency {
		case "", "default", "stale", "consistent":
		default:
			writeError(w, api.Errorf(api.CodeBadRequest, "consistency", "must be stale, default or consistent, not %q", consistency))
			return
		}
		if m == local || (m == read && consistency == "stale") {
			s.setIndexHeaders(w)
			h(w, r)
			return
		}
		if !s.cfg.Cluster.IsLeader() {
			s.forward(w, r)
			return
		}
		if m == read {
			if err := s.leaderRead(r.Context(), consistency == "consistent"); err != nil {
				if errors.Is(err, cluster.ErrNotLeader) {
					s.forward(w, r) // deposed between the checks: the new leader answers
					return
				}
				writeError(w, err)
				return
			}
		}
		s.setIndexHeaders(w)
		h(w, r)
	}
}

// leaderRead makes the leader's state safe to read (Raft §6.4): the
// leadership is established in this term, so everything committed before
// it is applied, and no newer leader exists — confirmed by a quorum now
// for a consistent read, or within the leader lease for a default one. It
// returns an ErrNotLeader error when this node turns out not to lead.
func (s *Server) leaderRead(ctx context.Context, consistent bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	c := s.cfg.Cluster
	if err := c.WaitLeaderEstablished(ctx); err != nil {
		if errors.Is(err, cluster.ErrNotLeader) {
			return err
		}
		return api.Errorf(api.CodeNoLeader, "", "leadership not established yet: %v", err)
	}
	if !consistent {
		if err := c.VerifyLeaderLease(ctx); err != nil {
			if errors.Is(err, cluster.ErrNotLeader) {
				return err
			}
			return api.Errorf(api.CodeNoLeader, "", "cannot verify leadership: %v", err)
		}
		return nil
	}
	if err := c.VerifyLeader(ctx); err != nil {
		if errors.Is(err, cluster.ErrNotLeader) {
			return err
		}
		return api.Errorf(api.CodeNoLeader, "", "cannot verify leadership: %v", err)
	}
	_, commit, _ := c.Indexes()
	if err := c.WaitForApplied(ctx, commit); err != nil {
		return api.Errorf(api.CodeUnavailable, "", "waiting for the state to catch up: %v", err)
	}
	return nil
}

func (s *Server) setIndexHeaders(w http.ResponseWriter) {
	applied, _, known := s.cfg.Cluster.Indexes()
	w.Header().Set("X-Conflux-Index", strconv.FormatUint(applied, 10))
	w.Header().Set("X-Conflux-Known-Leader", strconv.FormatBool(known))
}

// forward proxies the request to the leader, waiting up to LeaderWait for
// one to be known and reachable: right after a leader dies, followers still
// name it until their heartbeat times out, so a refused connection is
// retried against whoever leads next. A request already forwarded once is
// never forwarded again: two nodes that disagree about the leader must not
// bounce it.
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	if by := r.Header.Get(forwardedHeader); by != "" {
		writeError(w, api.Errorf(api.CodeNoLeader, "", "node %s forwarded this request here, but this node is not the leader; retry", by))
		return
	}
	// Small bodies are kept so the request can be sent again; a snapshot
	// upload streams once.
	var body []byte
	retryable := r.ContentLength >= 0 && r.ContentLength <= maxRetryBody
	if retryable && r.Body != nil {
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1)); err != nil {
			writeError(w, api.Errorf(api.CodeBadRequest, "", "reading request body: %v", err))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LeaderWait)
	defer cancel()
	for {
		leader, err := s.waitLeader(ctx)
		if err != nil {
			writeError(w, err)
			return
		}
		target, err := url.Parse(leader.HTTPAddr)
		if err != nil || target.Host == "" {
			writeError(w, api.Errorf(api.CodeUnavailable, "", "leader %s has no usable HTTP address %q", leader.ID, leader.HTTPAddr))
			return
		}
		if retryable {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		var dialFailed bool
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = target.Host
				pr.Out.Header.Set(forwardedHeader, s.cfg.NodeID)
			},
			Transport:     s.cfg.ForwardTransport,
			FlushInterval: -1, // stream snapshots as they come
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				var op *net.OpError
				if retryable && errors.As(err, &op) && op.Op == "dial" && ctx.Err() == nil {
					dialFailed = true
					return
				}
				writeError(w, api.Errorf(api.CodeUnavailable, "", "forwarding to leader %s: %v", leader.ID, err))
			},
		}
		s.metrics.forwarded.Inc()
		// The leader's answer names the leader; drop this node's name so
		// the caller sees who served it.
		w.Header().Del("X-Conflux-Node")
		proxy.ServeHTTP(w, r)
		if !dialFailed {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// maxRetryBody is the largest request body kept for re-sending.
const maxRetryBody = 8 << 20

func (s *Server) waitLeader(ctx context.Context) (api.Member, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if m, ok := s.cfg.Cluster.Leader(); ok && m.HTTPAddr != "" {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return api.Member{}, api.Errorf(api.CodeNoLeader, "", "no reachable leader after %s; the cluster may have lost quorum", s.cfg.LeaderWait)
		case <-tick.C:
		}
	}
}

// authorize checks the bearer token's role.
func (s *Server) authorize(need Role, h http.Handler) http.Handler {
	return s.authorizeWith(need, false, h)
}

// authorizeWith checks the role of the caller's token; with basic the
// token may also come as the password of HTTP Basic auth (any username),
// which is all Terraform's http backend can send, and a missing or wrong
// one is challenged for Basic so Terraform reports it as such.
func (s *Server) authorizeWith(need Role, basic bool, h http.Handler) http.Handler {
	challenge := func(w http.ResponseWriter, bearer string) {
		if basic {
			w.Header().Add("WWW-Authenticate", `Basic realm="conflux-sync", charset="UTF-8"`)
		}
		w.Header().Add("WWW-Authenticate", bearer)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r)
		if !ok && basic {
			if _, pw, hasBasic := r.BasicAuth(); hasBasic && pw != "" {
				tok, ok = pw, true
			}
		}
		role, opts := RoleNone, TokenOptions{}
		var retiring time.Time
		if ok {
			role, opts, retiring = s.cfg.Tokens.lookup(tok)
		}
		if !retiring.IsZero() {
			s.retiringTokenUsed(w, r, tok, retiring)
		}
		// A valid token is limited as itself; anything else by the
		// client's IP, so guessing tokens is slow. A forwarded request
		// carries its caller's token, so it is counted against that
		// token here too — never against the forwarding node.
		if role != RoleNone {
			if allowed, wait := s.tokenLimits.allow(tokenKey(tok), time.Now()); !allowed {
				s.metrics.shed.WithLabelValues("token_rate").Inc()
				tooManyRequests(w, wait, "this token")
				return
			}
		} else if allowed, wait := s.anonLimits.allow(clientIP(r), time.Now()); !allowed {
			s.metrics.shed.WithLabelValues("anonymous_rate").Inc()
			tooManyRequests(w, wait, "requests without a valid token from "+clientIP(r))
			return
		}
		if !ok {
			challenge(w, `Bearer realm="conflux-sync"`)
			if basic {
				writeError(w, api.Errorf(api.CodeUnauthenticated, "", "missing token: send it as the Basic auth password (Terraform: username and password, or TF_HTTP_USERNAME and TF_HTTP_PASSWORD) or as Authorization: Bearer <token>"))
				return
			}
			writeError(w, api.Errorf(api.CodeUnauthenticated, "", "missing bearer token (Authorization: Bearer <token>)"))
			return
		}
		switch {
		case role == RoleNone:
			challenge(w, `Bearer realm="conflux-sync", error="invalid_token"`)
			writeError(w, api.Errorf(api.CodeUnauthenticated, "", "unknown bearer token"))
		case role < need:
			writeError(w, api.Errorf(api.CodeForbidden, "", "this token has role %s; %s needs %s", role, r.Pattern, need))
		default:
			h.ServeHTTP(w, r.WithContext(withCaller(r.Context(), caller{role: role, opts: opts})))
		}
	})
}

// TokenExpiresHeader is api.TokenExpiresHeader: the RFC 3339 time a
// retiring token stops being accepted.
const TokenExpiresHeader = api.TokenExpiresHeader

// retiringWarnEvery is how often requests with one retiring token are
// logged.
const retiringWarnEvery = time.Minute

// retiringTokenUsed tells the caller (a header) and the operator (a
// warning, at most once a minute per token, naming its fingerprint only)
// that a request used a token that is about to stop working.
func (s *Server) retiringTokenUsed(w http.ResponseWriter, r *http.Request, tok string, until time.Time) {
	w.Header().Set(TokenExpiresHeader, until.UTC().Format(time.RFC3339))
	fp := TokenFingerprint(tok)
	now := time.Now()
	s.retiringMu.Lock()
	if s.retiringWarned == nil {
		s.retiringWarned = map[string]time.Time{}
	}
	last, seen := s.retiringWarned[fp]
	warn := !seen || now.Sub(last) >= retiringWarnEvery
	if warn {
		s.retiringWarned[fp] = now
		for k, at := range s.retiringWarned {
			if now.Sub(at) > retiringWarnEvery {
				delete(s.retiringWarned, k) // bounded by the tokens retiring at once
			}
		}
	}
	s.retiringMu.Unlock()
	if warn {
		s.log.Warn("request with a retiring token: it was removed from the token file and stops working at the end of the rotation overlap; switch the client to the new token",
			"token", fp, "until", until.UTC().Format(time.RFC3339), "client", clientIP(r), "route", r.Pattern)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError writes err as the JSON error body. Anything that is not an
// *api.Error is an internal error; its text is logged by the caller, and
// only a generic message is sent.
func writeError(w http.ResponseWriter, err error) {
	var e *api.Error
	if !errors.As(err, &e) {
		e = api.Errorf(api.CodeInternal, "", "internal error: %v", err)
	}
	status := e.Status
	if status == 0 {
		status = api.StatusFor(e.Code)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, api.ErrorBody{Error: *e})
}

// applyError maps an error from Cluster.Apply to an API error.
func applyError(err error) error {
	switch {
	case errors.Is(err, cluster.ErrNotLeader):
		return api.Errorf(api.CodeNoLeader, "", "leadership moved while the write was proposed; retry")
	case errors.Is(err, raft.ErrLeadershipLost):
		return api.Errorf(api.CodeUnavailable, "", "leadership was lost before the write committed; it may or may not have been applied, retry (writes are idempotent)")
	case errors.Is(err, context.DeadlineExceeded):
		return api.Errorf(api.CodeUnavailable, "", "timed out waiting for the write to commit; retry")
	}
	return err
}
