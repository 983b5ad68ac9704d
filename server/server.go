// Package server assembles one conflux-sync node — the state store, the
// raft FSM and cluster membership, the kinds, and the admin HTTP API — and
// runs it until it is shut down. The `server` and `dev` commands and the
// integration tests all start nodes through it.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/net/netutil"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/internal/failpoint"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/conflux"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Config is everything one node needs. Zero values take the defaults noted.
type Config struct {
	// NodeID names the node in raft; stable across restarts (a
	// StatefulSet pod name). Required.
	NodeID string
	// DataDir holds state.db (the FSM) and raft/ (log and snapshots).
	DataDir string

	// HTTPAddr is the admin API listen address; default ":7780".
	HTTPAddr string
	// HTTPAdvertise is the API URL other nodes forward to; default derived
	// from the listener and Advertise.
	HTTPAdvertise string
	// RaftAddr is the raft listen address; default ":7781".
	RaftAddr string
	// GossipAddr is the memberlist listen address; default ":7782".
	GossipAddr string
	// Advertise is the host other nodes reach this one at (a stable DNS
	// name in a StatefulSet). Default: the listen host, or when that is
	// unspecified the first private IPv4 address, else 127.0.0.1.
	Advertise string
	// RaftAdvertise and GossipAdvertise, when set, are the host:port other
	// nodes dial for raft and gossip, overriding Advertise with the listen
	// port: for a port mapped by NAT or a proxy in front of the node.
	RaftAdvertise   string
	GossipAdvertise string

	Join            []string
	BootstrapExpect int
	// LogStore is the raft log backend of a new data dir: "boltdb"
	// (default) or "wal".
	LogStore        string
	DeadNodeTimeout time.Duration

	// Tokens authorises API callers. Required unless TokenFile is set.
	Tokens    *httpapi.Tokens
	TokenFile string
	// TokenRotationOverlap is how long a token that a reload of TokenFile
	// removed stays valid, so clients can switch to its successor
	// (httpapi.Tokens.SetOverlap). 0: removed at once; the server's flag
	// defaults to httpapi.DefaultTokenRotationOverlap.
	TokenRotationOverlap time.Duration

	// TLS: when CertFile and KeyFile are set, the API serves HTTPS and raft
	// uses TLS; with CAFile, peers must present a certificate it signed.
	CertFile, KeyFile, CAFile string
	// GossipKey is a base64 memberlist key (16, 24 or 32 bytes). It is
	// visible in the process list when given as a flag: prefer
	// GossipKeyFile.
	GossipKey string
	// GossipKeyFile holds operator-managed gossip keys, one base64 key a
	// line, the first one encrypting (see cluster.ParseGossipKeys). It
	// overrides GossipKey and the keys derived from the cluster secret.
	GossipKeyFile string

	// ClusterSecretFile holds the cluster secrets (see
	// cluster.ParseClusterSecrets): with it raft runs mutual TLS 1.3 with
	// certificates derived from the secret and gossip is encrypted, with
	// nothing else to configure. Re-read by ReloadClusterSecrets.
	ClusterSecretFile string
	// ClusterSecrets are secrets held in memory (`dev`, tests); used when
	// ClusterSecretFile is empty.
	ClusterSecrets [][]byte
	// InsecureCluster lets the node run raft or gossip without
	// protection (plain TCP, unencrypted gossip): anyone who reaches the
	// ports can join, become leader and read forwarded tokens. Without
	// it, Start refuses a configuration that is not secure. The node
	// warns at start and every InsecureReminder while it runs so.
	InsecureCluster bool
	// InsecureReminder is how often an insecure node repeats its
	// warning. Default DefaultInsecureReminder.
	InsecureReminder time.Duration

	MaxFragmentSize int
	// TFStateVersions is how many versions of each Terraform state
	// workspace the cluster keeps, the current one included; default
	// httpapi.DefaultTFStateVersions.
	TFStateVersions int
	// API bounds the admin API's connections, bodies and callers; zero
	// values take the Default* constants here and in httpapi.
	API APILimits

	// SyncState fsyncs the state file on every raft batch. By default it
	// is not: the raft log and snapshots are fsync'd and are the durable
	// record, the state file survives a crash of the process as it is,
	// and after a crash of the machine it is rebuilt from raft (see
	// openState). Turning it on halves write throughput.
	SyncState bool

	// Cloudflare configures the Cloudflare sink (Registerer is set by the
	// node). Without credentials, Cloudflare targets are stored and
	// aggregated but nothing is written to Cloudflare.
	Cloudflare cfapi.Config
	// Conflux configures the Conflux sink; without a URL, conflux.Config
	// targets are stored and aggregated but not written.
	Conflux ConfluxConfig
	// LoadCloudflareCredentials, when set, reads the static Cloudflare
	// credentials again (the --cloudflare-credentials file and the
	// environment) for ReloadCloudflareCredentials; nil: they are fixed at
	// start. Errors name the file and line, never a token.
	LoadCloudflareCredentials func() (cfapi.Credentials, error)
	// LoadConfluxToken, when set, reads the Conflux token again (the
	// --conflux-token-file) for ReloadConfluxToken; nil: it is fixed at
	// start.
	LoadConfluxToken func() (string, error)
	// Sync tunes the leader's sync engine.
	Sync SyncTuning
	// Kube enables the Kubernetes ingest (and Cloudflare tokens from the
	// Secrets its objects name).
	Kube KubeConfig
	// DryRun reads everything and writes nothing: nothing downstream (the
	// sync engine plans instead, see engine.Config.DryRun, and the
	// Cloudflare and Conflux clients refuse writes as well) and nothing to
	// Kubernetes (it sets Kube.ReadOnly). Each target's plan is recorded
	// in its status, where `conflux-sync plan` shows it.
	DryRun bool
	// SecretsDir holds secrets for Git sources registered through the
	// admin API: one directory per secret, one file per key (the layout
	// of a mounted Kubernetes Secret). Empty: none.
	SecretsDir string
	// SourceAllow lists the Git URL patterns the leader polls
	// (--source-allow, scheme://host[:port][/path], "*" host labels);
	// empty: git.DefaultSourceAllow.
	SourceAllow []string
	// LocalSourcesDir is the only folder file:// Git URLs may name, with
	// symlinks resolved (--local-sources-dir); empty: file:// is refused.
	LocalSourcesDir string
	// SourceAllowNamespaces narrows the ConfluxSources of namespaces to
	// their own patterns: "NS=PATTERN,PATTERN;NS=PATTERN"
	// (--source-allow-namespaces); empty: --source-allow alone.
	SourceAllowNamespaces string
	// GitStatusEvery is how often Git sources refresh their status while
	// configs wait for their flush; default 1s. Tests shorten it.
	GitStatusEvery time.Duration

	// Raft and gossip tuning; zero values are the library defaults. Tests
	// shorten them.
	Raft   cluster.RaftTuning
	Gossip cluster.GossipTuning

	Logger *slog.Logger
}

// Defaults of APILimits. The server's flags point at these.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers: a
	// connection that opens and sends nothing is closed after it.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included:
	// the largest body (httpapi.DefaultMaxRequestBody, 16 MiB) at 150 KB/s.
	// A snapshot upload is exempt (it is bounded by its size).
	DefaultReadTimeout = 2 * time.Minute
	// DefaultWriteTimeout bounds writing the answer, from the end of the
	// request's headers. A write made with ?wait gets its wait on top; a
	// snapshot download has none.
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout closes a keep-alive connection that sends no new
	// request for this long: idle connections cannot pile up.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConnections caps the API's open connections. Further
	// connections wait in the kernel's accept queue until one closes, so
	// file descriptors stay for raft, gossip and the state file.
	DefaultMaxConnections = 1024
)

// APILimits bounds the admin API. Zero values take the Default* constants
// (here for the connection, in httpapi for the requests); a negative
// timeout or MaxConnections means none.
type APILimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxConnections    int
	// Requests bounds bodies, bodies in flight and per-caller rates.
	Requests httpapi.Limits
}

func (l APILimits) withDefaults() APILimits {
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v < 0:
			return 0 // none: http.Server's zero
		case v == 0:
			return def
		}
		return v
	}
	l.ReadHeaderTimeout = pick(l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	l.ReadTimeout = pick(l.ReadTimeout, DefaultReadTimeout)
	l.WriteTimeout = pick(l.WriteTimeout, DefaultWriteTimeout)
	l.IdleTimeout = pick(l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	return l
}

// ConfluxConfig points the Conflux sink at a Conflux API.
type ConfluxConfig struct {
	// URL is the API's base, e.g. https://conflux.example.com (without /v1).
	URL string
	// Token is the bearer token; it is never logged.
	Token string
	// Timeout bounds one request; 0 means conflux.DefaultTimeout.
	Timeout time.Duration
}

// String leaves the token out, so the config can be logged.
func (c ConfluxConfig) String() string {
	if c.Token == "" {
		return "conflux{url: " + c.URL + "}"
	}
	return "conflux{url: " + c.URL + ", token: [redacted]}"
}

// GoString is String, for %#v.
func (c ConfluxConfig) GoString() string { return c.String() }

// SyncTuning tunes the sync engine; zero values take the engine's
// defaults (see engine.Config).
type SyncTuning struct {
	// Debounce is the window in which changes of one target cost one
	// flush; default 500ms.
	Debounce time.Duration
	// DriftInterval is how often every target is read back from
	// downstream; default 10m.
	DriftInterval time.Duration
	// BackoffBase and BackoffMax bound retries; defaults 1s and 5m.
	BackoffBase, BackoffMax time.Duration
	// Workers is the number of concurrent flushes; default 4.
	Workers int
}

// Node is one running node.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	fsm     *fsm.FSM
	cluster *cluster.Node
	api     *httpapi.Server
	tokens  *httpapi.Tokens
	// cloudflare is the sink's clients; nil without credentials.
	cloudflare *cfapi.Clients
	// conflux is the Conflux sink; nil without a URL.
	conflux *conflux.Flusher
	// credentialReloads counts reloads of the admin tokens, the Cloudflare
	// credentials and the Conflux token by credential and result;
	// credentialLoaded is the time each was last loaded.
	credentialReloads *prometheus.CounterVec
	credentialLoaded  *prometheus.GaugeVec
	http              *http.Server
	listener          net.Listener
	httpURL           string
	serveErr          chan error
	// tokenReloads counts token file reloads by result ("ok", "error"):
	// a refused file keeps the old tokens, and only the log and this
	// metric say so.
	tokenReloads *prometheus.CounterVec
	// openConns counts the API's open connections.
	openConns atomic.Int64
	// stopped is closed (once) when the node stops.
	stopped  chan struct{}
	stopOnce sync.Once
}

// dryRunReminder is how often a node in a dry run says so in its log,
// besides at start: a forgotten --dry-run silently syncs nothing.
const dryRunReminder = 5 * time.Minute

// Start opens the node's files, joins or forms the cluster and serves the
// API. On error everything already started is stopped again.
func Start(cfg Config) (n *Node, err error) {
	if cfg.NodeID == "" {
		return nil, errors.New("server: node id is required")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("server: data dir is required")
	}
	// A mistyped CONFLUX_FAILPOINTS must not leave a fault drill silently
	// disarmed.
	if err := failpoint.Load(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = ":7780"
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = ":7781"
	}
	if cfg.GossipAddr == "" {
		cfg.GossipAddr = ":7782"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.API = cfg.API.withDefaults()
	if cfg.DryRun {
		cfg.Kube.ReadOnly = true
	}
	log := cfg.Logger.With("node", cfg.NodeID)
	node := &Node{cfg: cfg, log: log, serveErr: make(chan error, 1), stopped: make(chan struct{})}
	n = node
	// `return nil, err` clears n before this runs; close what was started
	// through node.
	defer func() {
		if err != nil {
			node.close(false)
		}
	}()

	if n.tokens, err = loadTokens(cfg); err != nil {
		return nil, err
	}
	serverTLS, clientTLS, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	gossipKeys, err := loadGossipKeys(cfg)
	if err != nil {
		return nil, err
	}
	gitURLs, err := gitURLPolicy(cfg)
	if err != nil {
		return nil, err
	}
	secrets, err := loadClusterSecrets(cfg)
	if err != nil {
		return nil, err
	}
	raftTLS := peerTLS(serverTLS, clientTLS)
	insecure := insecurity(raftTLS, secrets, gossipKeys, cfg.CAFile != "")
	if insecure != "" && !cfg.InsecureCluster {
		return nil, fmt.Errorf("server: %s. Set --cluster-secret-file to a file holding a secret from `conflux-sync operator keygen` (the same file on every server), or --tls-cert, --tls-key and --tls-ca together with --gossip-key-file; or accept an unprotected cluster with --insecure-cluster", insecure)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.tokenReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "conflux_token_reloads_total",
		Help: "Token file reloads by result: ok, or error (the file was refused and the previous tokens stay in force).",
	}, []string{"result"})
	reg.MustRegister(n.tokenReloads)
	n.credentialReloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "conflux_credential_reloads_total",
		Help: "Reloads of a credential file (SIGHUP or a changed file) by credential (tokens, cloudflare, conflux) and result: ok, or error (the file was refused and the credentials in force stay).",
	}, []string{"credential", "result"})
	n.credentialLoaded = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "conflux_credential_loaded_timestamp_seconds",
		Help: "Unix time a credential (tokens, cloudflare, conflux) was last loaded, at start or by a successful reload.",
	}, []string{"credential"})
	reg.MustRegister(n.credentialReloads, n.credentialLoaded)
	n.credentialLoaded.WithLabelValues(credTokens).SetToCurrentTime()
	n.tokens.SetOverlap(cfg.TokenRotationOverlap)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conflux_tokens_retiring",
		Help: "Admin API tokens a reload removed that stay valid until --token-rotation-overlap has passed.",
	}, func() float64 { return float64(len(n.tokens.Retiring())) }))

	if n.store, err = openState(cfg, log); err != nil {
		return nil, err
	}
	kinds := kind.NewRegistry(sinkKinds()...)
	cache := kind.NewCache(kinds, 4096)
	// The engine needs the cluster, which needs the FSM, which notifies
	// the engine: the pointer closes the loop.
	var syncEngine atomic.Pointer[engine.Engine]
	var kubeIngest atomic.Pointer[kube.Controller]
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "conflux_fsm_apply_batch_seconds",
		Help:    "Time to apply one batch of raft entries to the store (one bbolt transaction).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	reg.MustRegister(batch)
	n.fsm, err = fsm.New(fsm.Config{
		Store:  n.store,
		Logger: log,
		OnApply: func(_ uint64, changed []api.TargetRef) {
			if changed == nil {
				cache.Purge() // a restore replaced everything
			}
			if e := syncEngine.Load(); e != nil {
				e.Notify(changed)
			}
			if k := kubeIngest.Load(); k != nil {
				k.Notify(changed)
			}
		},
		ObserveBatch: func(d time.Duration, _ int) { batch.Observe(d.Seconds()) },
	})
	if err != nil {
		return nil, err
	}

	if n.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("server: listen for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.API.MaxConnections > 0 {
		n.listener = netutil.LimitListener(n.listener, cfg.API.MaxConnections)
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "conflux_http_open_connections",
		Help: "Open admin API connections (at most --http-max-connections).",
	}, func() float64 { return float64(n.openConns.Load()) }))
	scheme := "http"
	if serverTLS != nil {
		scheme = "https"
	}
	n.httpURL = cfg.HTTPAdvertise
	if n.httpURL == "" {
		n.httpURL = fmt.Sprintf("%s://%s", scheme, advertiseAddr(cfg.Advertise, n.listener.Addr().String()))
	}

	n.cluster, err = cluster.New(cluster.Config{
		NodeID:          cfg.NodeID,
		DataDir:         cfg.DataDir,
		RaftBindAddr:    cfg.RaftAddr,
		RaftAdvertise:   cmp.Or(cfg.RaftAdvertise, advertiseAddr(cfg.Advertise, cfg.RaftAddr)),
		GossipBindAddr:  cfg.GossipAddr,
		GossipAdvertise: cmp.Or(cfg.GossipAdvertise, advertiseAddr(cfg.Advertise, cfg.GossipAddr)),
		HTTPAdvertise:   n.httpURL,
		Join:            cfg.Join,
		BootstrapExpect: cfg.BootstrapExpect,
		DeadNodeTimeout: cfg.DeadNodeTimeout,
		LogStore:        cfg.LogStore,
		RaftTLS:         raftTLS,
		GossipKeys:      gossipKeys,
		ClusterSecrets:  secrets,
		Identities:      n.fsm,
		FSM:             n.fsm,
		Raft:            cfg.Raft,
		Gossip:          cfg.Gossip,
		Logger:          log,
		Registerer:      reg,
	})
	if err != nil {
		return nil, err
	}
	n.cluster.RegisterLeaderTask("cluster-id", n.nameCluster)

	if cfg.Kube.REST != nil && cfg.Cloudflare.Secrets == nil {
		// Tokens named by the objects' Secret references are read when a
		// flush needs them.
		if cfg.Cloudflare.Secrets, err = kube.NewSecrets(cfg.Kube.REST); err != nil {
			return nil, err
		}
	}
	if cfg.Kube.REST != nil && cfg.Cloudflare.Objects == nil {
		// Secrets written inline in objects (an upstream identity
		// provider's client secret) are read when a flush needs them.
		if cfg.Cloudflare.Objects, err = kube.NewObjectFields(cfg.Kube.REST); err != nil {
			return nil, err
		}
	}
	sourceSecrets, err := n.secrets(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := n.startSync(cfg, cache, sourceSecrets, reg)
	if err != nil {
		return nil, err
	}
	syncEngine.Store(eng)

	fwd := http.DefaultTransport.(*http.Transport).Clone()
	fwd.TLSClientConfig = clientTLS
	// Forwarded requests leave from the API's bind IP, like raft and
	// gossip connections leave from theirs.
	fwdDialer := cluster.DialerFrom(cfg.HTTPAddr)
	fwdDialer.Timeout, fwdDialer.KeepAlive = 30*time.Second, 30*time.Second
	fwd.DialContext = fwdDialer.DialContext
	n.api, err = httpapi.New(httpapi.Config{
		NodeID:           cfg.NodeID,
		Cluster:          n.cluster,
		Store:            n.store,
		Kinds:            kinds,
		Cache:            cache,
		Tokens:           n.tokens,
		Syncer:           eng,
		GitURLs:          gitURLs,
		MaxFragmentSize:  cfg.MaxFragmentSize,
		TFStateVersions:  cfg.TFStateVersions,
		Limits:           cfg.API.Requests,
		WriteTimeout:     cfg.API.WriteTimeout,
		ForwardTransport: fwd,
		TempDir:          cfg.DataDir,
		Logger:           log,
		Registerer:       reg,
		Gatherer:         reg,
	})
	if err != nil {
		return nil, err
	}
	if err := n.startGit(cfg, sourceSecrets, gitURLs, reg); err != nil {
		return nil, err
	}
	if cfg.Kube.REST != nil {
		ctrl, err := n.startKube(cfg.Kube, reg)
		if err != nil {
			return nil, err
		}
		kubeIngest.Store(ctrl)
	}
	n.http = &http.Server{
		Handler:           n.api,
		ReadHeaderTimeout: cfg.API.ReadHeaderTimeout,
		ReadTimeout:       cfg.API.ReadTimeout,
		WriteTimeout:      cfg.API.WriteTimeout,
		IdleTimeout:       cfg.API.IdleTimeout,
		TLSConfig:         serverTLS,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				n.openConns.Add(1)
			case http.StateClosed, http.StateHijacked:
				n.openConns.Add(-1)
			}
		},
	}
	go func() {
		var err error
		if serverTLS != nil {
			err = n.http.ServeTLS(n.listener, "", "")
		} else {
			err = n.http.Serve(n.listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			n.serveErr <- err
		}
		close(n.serveErr)
	}()
	log.Info("node started", "http", n.httpURL, "raft", cfg.RaftAddr, "gossip", cfg.GossipAddr, "data", cfg.DataDir)
	if cfg.DryRun {
		go n.remind(dryRunWarning, dryRunReminder)
	}
	if insecure != "" {
		every := cfg.InsecureReminder
		if every <= 0 {
			every = DefaultInsecureReminder
		}
		go n.remind(insecureWarning(insecure), every)
	}
	return n, nil
}

// DefaultInsecureReminder is how often a node running with
// --insecure-cluster says so in its log, besides at start.
const DefaultInsecureReminder = time.Minute

// remind logs msg as a warning now and every interval until the node
// stops: a setting that leaves the node unprotected or inert must not
// scroll out of sight after the start-up lines.
func (n *Node) remind(msg string, every time.Duration) {
	n.log.Warn(msg)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-n.stopped:
			return
		case <-tick.C:
			n.log.Warn(msg)
		}
	}
}

// insecureWarning is the reminder of --insecure-cluster; what says which
// transport is unprotected (see insecurity).
func insecureWarning(what string) string {
	return "INSECURE CLUSTER (--insecure-cluster): " + what + "; any process that reaches the raft and gossip ports can join, become leader and receive the API tokens followers forward. Set --cluster-secret-file (see `conflux-sync operator keygen`)."
}

// insecurity says what is unprotected ("" when raft is mutual TLS and
// gossip is encrypted).
func insecurity(raftTLS *tls.Config, secrets, gossipKeys [][]byte, operatorCA bool) string {
	var gaps []string
	if len(secrets) == 0 && (raftTLS == nil || !operatorCA) {
		gaps = append(gaps, "raft runs without mutual TLS")
	}
	if len(secrets) == 0 && len(gossipKeys) == 0 {
		gaps = append(gaps, "gossip is not encrypted")
	}
	return strings.Join(gaps, " and ")
}

// loadClusterSecrets reads the cluster secret file (or the in-memory
// secrets).
func loadClusterSecrets(cfg Config) ([][]byte, error) {
	if cfg.ClusterSecretFile == "" {
		return cfg.ClusterSecrets, nil
	}
	secrets, err := cluster.ReadClusterSecretFile(cfg.ClusterSecretFile)
	if err != nil {
		return nil, fmt.Errorf("server: --cluster-secret-file: %w", err)
	}
	return secrets, nil
}

// loadGossipKeys reads the gossip key file, else the one --gossip-key.
func loadGossipKeys(cfg Config) ([][]byte, error) {
	if cfg.GossipKeyFile != "" {
		b, err := os.ReadFile(cfg.GossipKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: --gossip-key-file: %w", err)
		}
		keys, err := cluster.ParseGossipKeys(cfg.GossipKeyFile, b)
		if err != nil {
			return nil, fmt.Errorf("server: --gossip-key-file: %w", err)
		}
		return keys, nil
	}
	key, err := decodeGossipKey(cfg.GossipKey)
	if err != nil || key == nil {
		return nil, err
	}
	return [][]byte{key}, nil
}

// ReloadClusterSecrets re-reads the cluster secret file and the gossip key
// file (on SIGHUP or when one changed). A file that fails to parse changes
// nothing.
func (n *Node) ReloadClusterSecrets() error {
	if n.cfg.ClusterSecretFile != "" {
		secrets, err := loadClusterSecrets(n.cfg)
		if err != nil {
			return err
		}
		if err := n.cluster.SetClusterSecrets(secrets); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	if n.cfg.GossipKeyFile != "" {
		keys, err := loadGossipKeys(n.cfg)
		if err != nil {
			return err
		}
		if err := n.cluster.SetGossipKeys(keys); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	return nil
}

// dryRunWarning is the reminder of --dry-run.
const dryRunWarning = "DRY RUN: nothing is written to Cloudflare, Conflux or Kubernetes; the leader records what it would do (see `conflux-sync plan`). Restart without --dry-run to sync."

// URL is the node's admin API address.
func (n *Node) URL() string { return n.httpURL }

// Cluster is the node's raft membership.
func (n *Node) Cluster() *cluster.Node { return n.cluster }

// Store is the node's state.
func (n *Node) Store() *store.Store { return n.store }

// ReloadTokens re-reads the token file (on SIGHUP). A file with a
// malformed line or a weak or placeholder token is refused as a whole: the
// tokens in force stay, and conflux_token_reloads_total{result="error"}
// counts the refusal.
func (n *Node) ReloadTokens() error {
	if n.cfg.TokenFile == "" {
		return nil
	}
	if err := n.tokens.Reload(n.cfg.TokenFile); err != nil {
		n.tokenReloads.WithLabelValues("error").Inc()
		n.credentialReloads.WithLabelValues(credTokens, "error").Inc()
		return err
	}
	n.tokenReloads.WithLabelValues("ok").Inc()
	n.credentialReloads.WithLabelValues(credTokens, "ok").Inc()
	n.credentialLoaded.WithLabelValues(credTokens).SetToCurrentTime()
	for _, r := range n.tokens.Retiring() {
		n.log.Warn("a token the reload removed stays valid until the rotation overlap ends; clients still sending it must switch", "token", r.Fingerprint, "role", r.Role.String(), "until", r.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

// Credential names of the reload metrics.
const (
	credTokens     = "tokens"
	credCloudflare = "cloudflare"
	credConflux    = "conflux"
)

// ReloadCloudflareCredentials reads the static Cloudflare credentials
// again (Config.LoadCloudflareCredentials) and hands them to the sink:
// every request from now on, also of a flush under way, carries the new
// tokens. A file that does not parse, or holds no token, is refused as a
// whole: the credentials in force stay, and the error (which names the file
// and line, never a token) is counted in conflux_credential_reloads_total.
func (n *Node) ReloadCloudflareCredentials() error {
	if n.cfg.LoadCloudflareCredentials == nil || n.cloudflare == nil {
		return nil
	}
	err := func() error {
		creds, err := n.cfg.LoadCloudflareCredentials()
		if err != nil {
			return err
		}
		if len(creds) == 0 {
			return errors.New("no Cloudflare credentials left: the sink keeps the ones it has")
		}
		return n.cloudflare.SetCredentials(creds)
	}()
	return n.credentialReloaded(credCloudflare, err)
}

// ReloadConfluxToken reads the Conflux token again
// (Config.LoadConfluxToken) and hands it to the sink, as
// ReloadCloudflareCredentials does for Cloudflare.
func (n *Node) ReloadConfluxToken() error {
	if n.cfg.LoadConfluxToken == nil || n.conflux == nil {
		return nil
	}
	err := func() error {
		tok, err := n.cfg.LoadConfluxToken()
		if err != nil {
			return err
		}
		return n.conflux.SetToken(tok)
	}()
	return n.credentialReloaded(credConflux, err)
}

// credentialReloaded records the outcome of a reload of credential.
func (n *Node) credentialReloaded(credential string, err error) error {
	if err != nil {
		n.credentialReloads.WithLabelValues(credential, "error").Inc()
		return err
	}
	n.credentialReloads.WithLabelValues(credential, "ok").Inc()
	n.credentialLoaded.WithLabelValues(credential).SetToCurrentTime()
	return nil
}

// Err reports a fatal serving error.
func (n *Node) Err() <-chan error { return n.serveErr }

// Shutdown stops the node gracefully: the API stops taking requests, the
// node leaves the gossip pool and raft, and the files are closed.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.http != nil {
		n.http.Shutdown(ctx)
	}
	return n.close(true)
}

// Kill stops the node abruptly, as a crash would (no leave, no leadership
// transfer), but releases its files and ports so it can be restarted in
// the same process. For tests.
func (n *Node) Kill() error {
	if n.http != nil {
		n.http.Close()
	}
	return n.close(false)
}

func (n *Node) close(graceful bool) error {
	n.stopOnce.Do(func() { close(n.stopped) })
	var errs []error
	if n.fsm != nil {
		// An FSM waiting for space would hold raft's shutdown forever.
		n.fsm.Stop()
	}
	if n.cluster != nil {
		if graceful {
			errs = append(errs, n.cluster.Shutdown())
		} else {
			errs = append(errs, n.cluster.Kill())
		}
	}
	if n.listener != nil {
		n.listener.Close()
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

func loadTokens(cfg Config) (*httpapi.Tokens, error) {
	if cfg.Tokens != nil {
		return cfg.Tokens, nil
	}
	if cfg.TokenFile == "" {
		return nil, errors.New("server: a token file is required (--token-file): the admin API never runs without authentication outside `dev`")
	}
	return httpapi.LoadTokens(cfg.TokenFile)
}

// loadTLS builds the server and client TLS configs from the node's
// certificate. The same certificate serves the API and raft.
func loadTLS(cfg Config) (server, client *tls.Config, err error) {
	if cfg.CertFile == "" && cfg.KeyFile == "" {
		if cfg.CAFile != "" {
			return nil, nil, errors.New("server: --tls-ca needs --tls-cert and --tls-key")
		}
		return nil, nil, nil
	}
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, nil, errors.New("server: --tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("server: load TLS certificate: %w", err)
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("server: read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("server: %s holds no PEM certificate", cfg.CAFile)
		}
		client.RootCAs = pool
		server.ClientCAs = pool
		// The API accepts clients without a certificate (they use tokens);
		// raft peers must present one (see peerTLS).
		server.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return server, client, nil
}

// peerTLS is the raft transport's TLS: both directions, and with a CA,
// mutual authentication.
func peerTLS(server, client *tls.Config) *tls.Config {
	if server == nil {
		return nil
	}
	c := server.Clone()
	c.RootCAs = client.RootCAs
	if c.ClientCAs != nil {
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c
}

func decodeGossipKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("server: --gossip-key is not standard base64")
	}
	if err := cluster.CheckGossipKey(s, key); err != nil {
		return nil, fmt.Errorf("server: --gossip-key: %w", err)
	}
	return key, nil
}

// advertiseAddr combines the advertised host with the port of a listen
// address.
func advertiseAddr(host, listen string) string {
	h, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" {
		host = h
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = firstPrivateIP()
	}
	return net.JoinHostPort(host, port)
}

// firstPrivateIP is the address a node listening on all interfaces
// advertises when --advertise is not given; loopback when there is none.
func firstPrivateIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsPrivate() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// openState opens the FSM's state file. Unless SyncState is set it is
// written without fsync; if the machine went down while it was open, its
// pages may have reached the disk partly and in any order, so it is thrown
// away: the cluster layer then restores the newest raft snapshot and raft
// replays the log after it, both of which are fsync'd.
//
// A node that stopped during a snapshot restore the cluster had not
// confirmed drops that restore (cluster.DropUnconfirmedRestore); its state
// file may hold the restored image, so it is rebuilt the same way.
func openState(cfg Config, log *slog.Logger) (*store.Store, error) {
	path := filepath.Join(cfg.DataDir, "state.db")
	rebuild, err := store.NeedsRebuild(path)
	if err != nil {
		return nil, err
	}
	if rebuild {
		log.Warn("the machine went down while the state file was open; rebuilding it from the raft snapshot and log", "path", path)
	}
	dropped, err := cluster.DropUnconfirmedRestore(cfg.DataDir, log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if rebuild || dropped {
		if err := store.Discard(path); err != nil {
			return nil, err
		}
	}
	return store.Open(path, store.Options{NoSync: !cfg.SyncState})
}
