// Package kube is the Kubernetes producer: while its node leads, it watches
// Ingresses, HTTPRoutes, Gateways and the cloudflare-operators' objects
// (whichever of their CRD groups and versions the cluster serves: see
// kinds.go), turns each into fragments (package translate) proposed
// through the raft log, and writes what the leader recorded back into the
// objects' status (in the shape their operator writes it) and Events.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// Proposer writes a source's complete fragment set through the log. The
// node's admin API implements it in-process (httpapi.Server).
type Proposer interface {
	ReplaceSourceFragments(ctx context.Context, req api.ReplaceSourceRequest) (api.WriteResult, error)
}

// Reader reads the replicated state on the leader.
type Reader interface {
	// SourceFragments returns every fragment whose source is of kind sourceKind.
	SourceFragments(ctx context.Context, sourceKind string) ([]api.Fragment, error)
	// Target returns a target with its aggregate hash, conflicts and
	// recorded sync status; false when there is none.
	Target(ctx context.Context, ref api.TargetRef) (api.Target, bool, error)
}

// TunnelTokens reads a tunnel's connector token from Cloudflare (the
// server implements it with the Cloudflare sink's clients).
type TunnelTokens interface {
	// TunnelToken returns the id and connector token of the tunnel the
	// cloudflare.Tunnel target named target last synced.
	TunnelToken(ctx context.Context, target string) (tunnelID, token string, err error)
}

// FieldManager is the field manager of every write conflux-sync makes to
// Kubernetes objects, and the Events' reporting component.
const FieldManager = "conflux-sync"

// Finalizer holds a Tunnel or ClusterTunnel that conflux-sync created in
// Cloudflare until that tunnel is deleted there.
const Finalizer = "conflux-sync.io/tunnel-cleanup"

// Config configures a Controller. Zero values take the defaults noted.
type Config struct {
	// REST reaches the Kubernetes API server. Required.
	REST *rest.Config
	// Namespace is conflux-sync's own namespace, where the Secrets of
	// cluster-scoped objects (ClusterTunnel) live. Default "default".
	Namespace string
	// WatchNamespaces, when not empty, limits the namespaced kinds to these
	// namespaces (Namespace is always added, for ClusterTunnels' Secrets);
	// cluster-scoped kinds are watched whole. Sources of other namespaces
	// are neither proposed nor swept. Empty: every namespace.
	WatchNamespaces []string
	// Proposer and Reader are the node's replicated state. Required.
	Proposer Proposer
	Reader   Reader
	// TunnelTokens, when set, has every ready Tunnel and ClusterTunnel get
	// a Secret with its connector token (see tokensecret.go).
	TunnelTokens TunnelTokens
	// IngressControllers and GatewayControllers are the IngressClass and
	// GatewayClass controller names served, with the dialect each is
	// translated in; nil: translate.DefaultIngressControllers and
	// DefaultGatewayControllers (conflux-sync's own, cloudflare-operator's
	// and STRRL's).
	IngressControllers map[string]translate.Dialect
	GatewayControllers map[string]translate.Dialect
	// DefaultTunnel is the tunnel of classes without parameters (STRRL's
	// IngressClass); nil: their Ingresses say it is missing.
	DefaultTunnel *translate.ObjectRef
	// ClusterDomain is the cluster's DNS domain (the STRRL dialect's
	// service URLs); default "cluster.local".
	ClusterDomain string
	// IgnoreKinds are CRD kinds (translate.SourceKind names, e.g.
	// "VirtualNetwork") conflux-sync leaves to another controller: neither
	// watched nor answered.
	IgnoreKinds []string
	// ReadOnly writes nothing to Kubernetes (no status, finalizer, Secret
	// or Event): a dry run next to the operator it would replace.
	ReadOnly bool
	// Workers reconcile objects in parallel; default 4.
	Workers int
	// CacheSyncTimeout bounds the informers' first list at the start of a
	// leadership term; the term fails (and is retried) naming the kinds
	// that did not list, e.g. for want of RBAC. Default 2m.
	CacheSyncTimeout time.Duration
	// StatusInterval is how often every object's status is recomputed even
	// without a change (a safety net for missed notifications); default 1m.
	StatusInterval time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the metrics; default a private registry.
	Registerer prometheus.Registerer
}

// Controller runs the Kubernetes ingest on the leader. Create it with New,
// run Run as a leader task, and feed it Notify from the FSM.
type Controller struct {
	cfg     Config
	log     *slog.Logger
	scheme  *runtime.Scheme
	client  client.Client // uncached: status writes, finalizers
	events  kubernetes.Interface
	metrics metrics

	// term is the state of the current leadership term; nil while not leading.
	term atomic.Pointer[term]
}

type metrics struct {
	running      prometheus.Gauge
	kindsWaiting prometheus.Gauge
	proposals    *prometheus.CounterVec
	statusWrites *prometheus.CounterVec
	errors       *prometheus.CounterVec
}

// Scheme returns the types the controller reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha2.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("kube: scheme: %w", err)
		}
	}
	return s, nil
}

// New checks cfg and builds the controller; it does not contact the API
// server until Run.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.REST == nil:
		return nil, errors.New("kube: Config.REST is required")
	case cfg.Proposer == nil || cfg.Reader == nil:
		return nil, errors.New("kube: Config.Proposer and Config.Reader are required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if len(cfg.WatchNamespaces) > 0 && !slices.Contains(cfg.WatchNamespaces, cfg.Namespace) {
		cfg.WatchNamespaces = append(slices.Clone(cfg.WatchNamespaces), cfg.Namespace)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.CacheSyncTimeout <= 0 {
		cfg.CacheSyncTimeout = 2 * time.Minute
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, log: cfg.Logger.With("component", "kube"), scheme: scheme}
	if c.client, err = client.New(cfg.REST, client.Options{Scheme: scheme}); err != nil {
		return nil, fmt.Errorf("kube: client: %w", err)
	}
	if c.events, err = kubernetes.NewForConfig(cfg.REST); err != nil {
		return nil, fmt.Errorf("kube: clientset: %w", err)
	}
	c.metrics = metrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conflux_kube_ingest_running",
			Help: "1 while this node leads and its Kubernetes ingest watches (caches synced, resync done).",
		}),
		kindsWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "conflux_kube_kinds_waiting",
			Help: "cloudflare-operator kinds whose informer has not listed (their objects are not handled until it does).",
		}),
		proposals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conflux_kube_proposals_total",
			Help: "Fragment sets proposed for Kubernetes objects, by object kind.",
		}, []string{"kind"}),
		statusWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conflux_kube_status_writes_total",
			Help: "Status writes to Kubernetes objects, by object kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conflux_kube_reconcile_errors_total",
			Help: "Failed reconciles of Kubernetes objects (retried with backoff), by object kind.",
		}, []string{"kind"}),
	}
	for _, col := range []prometheus.Collector{c.metrics.running, c.metrics.kindsWaiting, c.metrics.proposals, c.metrics.statusWrites, c.metrics.errors} {
		if err := cfg.Registerer.Register(col); err != nil {
			return nil, fmt.Errorf("kube: register metrics: %w", err)
		}
	}
	return c, nil
}

// Notify tells the controller which targets the FSM just changed, so the
// status of the objects feeding them is recomputed. It never blocks; it is
// a no-op while this node does not lead. A nil slice means everything
// changed (a snapshot restore).
func (c *Controller) Notify(changed []api.TargetRef) {
	if t := c.term.Load(); t != nil {
		t.notify(changed)
	}
}

// Run watches and reconciles until ctx is cancelled (leadership lost or
// shutdown). Everything it starts stops before it returns.
func (c *Controller) Run(ctx context.Context) {
	for {
		err := c.runTerm(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errCRDsChanged) {
			continue // discover them again now
		}
		// The API server was unreachable or the caches never synced: try
		// again rather than lead without ingest.
		c.log.Error("Kubernetes ingest stopped; restarting", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// watches reports whether the namespace of a namespaced object is watched.
func (c *Controller) watches(namespace string) bool {
	return namespace == "" || len(c.cfg.WatchNamespaces) == 0 || slices.Contains(c.cfg.WatchNamespaces, namespace)
}

// objKey names one watched object.
type objKey struct {
	Kind      string // a translate.Source* kind
	Namespace string
	Name      string
}

func (k objKey) source() api.SourceRef { return translate.Source(k.Kind, k.Namespace, k.Name) }

func (k objKey) String() string { return k.source().String() }

func newQueue() workqueue.TypedRateLimitingInterface[objKey] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[objKey](100*time.Millisecond, time.Minute),
		workqueue.TypedRateLimitingQueueConfig[objKey]{Name: "kube-ingest"})
}

// pendingTargets collects targets from Notify between two status passes.
type pendingTargets struct {
	mu      sync.Mutex
	all     bool
	targets map[api.TargetRef]struct{}
	wake    chan struct{}
}

func newPendingTargets() *pendingTargets {
	return &pendingTargets{targets: map[api.TargetRef]struct{}{}, wake: make(chan struct{}, 1)}
}

func (p *pendingTargets) add(changed []api.TargetRef) {
	p.mu.Lock()
	if changed == nil {
		p.all = true
	}
	for _, t := range changed {
		p.targets[t] = struct{}{}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pendingTargets) take() (all bool, targets []api.TargetRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	all, p.all = p.all, false
	for t := range p.targets {
		targets = append(targets, t)
	}
	clear(p.targets)
	return all, targets
}
