package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
	"github.com/hashicorp/raft"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/ingest/git"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

func newServerCmd() *cobra.Command {
	var (
		cfg        server.Config
		logLevel   string
		logJSON    bool
		gcPercent  int
		memRatio   float64
		tokenCheck time.Duration
		cf         cloudflareFlags
		kf         kubeFlags
		xf         confluxFlags
	)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run one node of the cluster",
		Long: `Run one node. Three nodes with --bootstrap-expect 3 and each other's gossip
addresses in --join form a cluster on their own; a node with raft state rejoins
its cluster whatever the flags say.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logJSON)
			if err != nil {
				return usageError{err}
			}
			cfg.Logger = logger
			setGCPercent(gcPercent)
			if err := setMemoryLimit(memRatio, logger); err != nil {
				return usageError{err}
			}
			if cfg.Cloudflare, err = cf.config(os.Getenv); err != nil {
				return usageError{err}
			}
			if cf.credentialsFile != "" {
				cfg.LoadCloudflareCredentials = func() (cfapi.Credentials, error) { return cf.credentials(os.Getenv) }
			}
			if cfg.Kube, err = kf.config(os.Getenv); err != nil {
				return usageError{err}
			}
			if cfg.Conflux, err = xf.config(os.Getenv); err != nil {
				return usageError{err}
			}
			if xf.tokenFile != "" {
				cfg.LoadConfluxToken = xf.readTokenFile
			}
			if cfg.TokenRotationOverlap < 0 {
				return usageError{fmt.Errorf("--token-rotation-overlap must not be negative, not %s", cfg.TokenRotationOverlap)}
			}
			if cfg.TFStateVersions < 1 {
				return usageError{fmt.Errorf("--tf-state-versions is %d: at least 1 (the current state) is kept", cfg.TFStateVersions)}
			}
			if cfg.NodeID == "" {
				if cfg.NodeID, err = os.Hostname(); err != nil {
					return fmt.Errorf("--node-id not set and no hostname: %w", err)
				}
			}
			return runServer(cmd.Context(), cfg, tokenCheck, cf.credentialsFile, xf.tokenFile)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&tokenCheck, "token-file-check-interval", 10*time.Second, "how often the token, cluster secret, gossip key, Cloudflare credentials and Conflux token files are checked for changes (a mounted Secret is updated in place); 0: only on SIGHUP")
	f.StringVar(&cfg.NodeID, "node-id", "", "stable node id (default: the hostname, e.g. the StatefulSet pod name)")
	f.StringVar(&cfg.DataDir, "data-dir", "data", "folder for the state and raft files")
	f.StringVar(&cfg.HTTPAddr, "http-addr", ":7780", "admin API listen address")
	f.StringVar(&cfg.RaftAddr, "raft-addr", ":7781", "raft listen address")
	f.StringVar(&cfg.GossipAddr, "gossip-addr", ":7782", "gossip (memberlist) listen address")
	f.StringVar(&cfg.HTTPAdvertise, "http-advertise", "", "admin API URL other nodes forward to (default: http(s)://ADVERTISE:HTTP-PORT)")
	f.StringVar(&cfg.LogStore, "raft-log-store", "", "raft log backend for a new data dir: boltdb (when empty) or wal; an existing data dir keeps its own, and naming the other one is an error")
	f.StringVar(&cfg.Advertise, "advertise", "", "host other nodes reach this one at (e.g. the pod's headless-service DNS name)")
	f.StringVar(&cfg.RaftAdvertise, "raft-advertise", "", "host:port other nodes dial for raft, when it is not --advertise with the --raft-addr port (NAT, a proxy)")
	f.StringVar(&cfg.GossipAdvertise, "gossip-advertise", "", "host:port other nodes use for gossip, when it is not --advertise with the --gossip-addr port (NAT, a proxy)")
	f.StringSliceVar(&cfg.Join, "join", nil, "gossip addresses of other nodes (comma list; DNS names are re-resolved)")
	f.IntVar(&cfg.BootstrapExpect, "bootstrap-expect", 3, "form a new cluster once this many nodes see each other")
	f.DurationVar(&cfg.DeadNodeTimeout, "dead-node-timeout", 30*time.Minute, "remove a raft member that has been dead this long (never below quorum)")
	f.StringVar(&cfg.TokenFile, "token-file", "", "file of ROLE:TOKEN lines (read, write, admin), optionally followed by sources=PATTERN,PATTERN narrowing the Git URLs the token may register, and revoke:TOKEN or revoke:sha256:FINGERPRINT lines; re-read on SIGHUP and when it changes")
	f.DurationVar(&cfg.TokenRotationOverlap, "token-rotation-overlap", httpapi.DefaultTokenRotationOverlap, "how long a token removed from --token-file stays valid so clients can switch (requests with it are logged by fingerprint); 0: removed at once; a revoke: line ends it at once")
	f.StringVar(&cfg.CertFile, "tls-cert", "", "PEM certificate for the API and raft")
	f.StringVar(&cfg.KeyFile, "tls-key", "", "PEM key for --tls-cert")
	f.StringVar(&cfg.CAFile, "tls-ca", "", "PEM CA: raft peers must present a certificate it signed")
	f.StringVar(&cfg.GossipKey, "gossip-key", "", "base64 key (16, 24 or 32 bytes) encrypting gossip; visible in the process list, prefer --gossip-key-file or --cluster-secret-file")
	f.StringVar(&cfg.GossipKeyFile, "gossip-key-file", "", "file of base64 gossip keys, one a line, the first encrypting (rotation); re-read on SIGHUP and when it changes; overrides --gossip-key and the keys derived from --cluster-secret-file")
	f.StringVar(&cfg.ClusterSecretFile, "cluster-secret-file", "", "file of cluster secrets (base64 of 32+ random bytes, one a line, the first primary; `conflux-sync operator keygen` makes one): raft runs mutual TLS with certificates derived from it and gossip is encrypted; the same file on every server; re-read on SIGHUP and when it changes")
	f.BoolVar(&cfg.InsecureCluster, "insecure-cluster", false, "allow raft and gossip without protection (plain TCP, unencrypted gossip): anyone who reaches the ports can join the cluster; logged as a warning every minute")
	f.IntVar(&cfg.MaxFragmentSize, "max-fragment-size", api.DefaultMaxFragmentSize, "largest fragment accepted, in bytes (the body of PUT /v1/fragments and /v1/sources)")
	f.IntVar(&cfg.TFStateVersions, "tf-state-versions", httpapi.DefaultTFStateVersions, "versions of each Terraform state workspace kept (the current one included), listed and restorable with conflux-sync tfstate; the leader's value applies")
	f.Int64Var(&cfg.API.Requests.MaxRequestBody, "max-request-body", httpapi.DefaultMaxRequestBody, "largest body of PUT /v1/source-fragments and of a Terraform state write, in bytes (413 over it)")
	f.Int64Var(&cfg.API.Requests.MaxInflightBytes, "max-inflight-bytes", httpapi.DefaultMaxInflightBytes, "request body bytes all writes on this node may hold at once; a write that does not fit is answered 503 with Retry-After unread (-1: no limit)")
	f.Float64Var(&cfg.API.Requests.TokenRate, "api-token-rate", httpapi.DefaultTokenRate, "requests per second one token may make on this node (429 with Retry-After over it; -1: no limit)")
	f.IntVar(&cfg.API.Requests.TokenBurst, "api-token-burst", httpapi.DefaultTokenBurst, "requests one token may make at once above --api-token-rate")
	f.Float64Var(&cfg.API.Requests.AnonRate, "api-anonymous-rate", httpapi.DefaultAnonRate, "requests per second per client IP without a valid token (-1: no limit)")
	f.IntVar(&cfg.API.Requests.AnonBurst, "api-anonymous-burst", httpapi.DefaultAnonBurst, "requests at once per client IP without a valid token")
	f.DurationVar(&cfg.API.ReadHeaderTimeout, "http-read-header-timeout", server.DefaultReadHeaderTimeout, "time to read a request's headers (-1s: none)")
	f.DurationVar(&cfg.API.ReadTimeout, "http-read-timeout", server.DefaultReadTimeout, "time to read a whole request; snapshot uploads are exempt (-1s: none)")
	f.DurationVar(&cfg.API.WriteTimeout, "http-write-timeout", server.DefaultWriteTimeout, "time to write an answer; a ?wait write gets its wait on top, snapshot downloads are exempt (-1s: none)")
	f.DurationVar(&cfg.API.IdleTimeout, "http-idle-timeout", server.DefaultIdleTimeout, "close a keep-alive connection idle this long (-1s: never)")
	f.IntVar(&cfg.API.MaxConnections, "http-max-connections", server.DefaultMaxConnections, "most open API connections; more wait in the accept queue (-1: no limit)")
	f.StringSliceVar(&cfg.SourceAllow, "source-allow", []string{git.DefaultSourceAllow}, "Git URLs the leader polls: comma list of scheme://host[:port][/path] patterns, a * host label matches one label (https://*.example.com); plain http://, git:// and file:// are refused unless listed (file:// by --local-sources-dir); see docs/gitops.md")
	f.StringVar(&cfg.LocalSourcesDir, "local-sources-dir", "", "the only folder file:// Git URLs may name (symlinks resolved); empty: file:// URLs are refused")
	f.StringVar(&cfg.SourceAllowNamespaces, "source-allow-namespaces", "", "narrow the ConfluxSources of a namespace to its own patterns: NS=PATTERN,PATTERN;NS=PATTERN (on top of --source-allow)")
	f.StringVar(&cfg.SecretsDir, "secrets-dir", "", "folder of secrets for Git sources and their templates: <name>/<key> files, e.g. mounted Kubernetes Secrets (see docs/gitops.md)")
	f.BoolVar(&cfg.SyncState, "sync-state", false, "fsync the state file on every raft batch (the raft log is always fsync'd; see docs/operations.md)")
	f.Uint64Var(&cfg.Raft.SnapshotThreshold, "raft-snapshot-threshold", 8192, "take a raft snapshot (and compact the log) once this many entries were committed since the last one")
	f.DurationVar(&cfg.Raft.SnapshotInterval, "raft-snapshot-interval", 2*time.Minute, "how often raft checks whether --raft-snapshot-threshold is reached (raft adds up to this much jitter)")
	f.Uint64Var(&cfg.Raft.TrailingLogs, "raft-trailing-logs", 10240, "log entries kept after a snapshot, so a briefly lagging follower catches up from the log instead of a whole snapshot")
	f.DurationVar(&cfg.Sync.Debounce, "sync-debounce", 500*time.Millisecond, "changes to one target inside this window cost one downstream write")
	f.DurationVar(&cfg.Sync.DriftInterval, "sync-drift-interval", 10*time.Minute, "how often every target is read back from downstream and repaired")
	f.IntVar(&cfg.Sync.Workers, "sync-workers", 4, "targets flushed concurrently")
	f.BoolVar(&cfg.DryRun, "dry-run", false, dryRunUsage)
	cf.register(f)
	kf.register(f)
	xf.register(f)
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&logJSON, "log-json", false, "log JSON lines instead of text")
	f.IntVar(&gcPercent, "gc-percent", defaultGCPercent, "Go GC target (GOGC) unless the GOGC environment variable is set; see docs/operations.md")
	f.Float64Var(&memRatio, "memory-limit-ratio", defaultMemoryLimitRatio, "unless GOMEMLIMIT is set, set the Go memory limit to this share of the cgroup's memory limit (0: leave it unset)")
	return cmd
}

// dryRunUsage documents --dry-run on `server` and `dev`.
const dryRunUsage = "read everything and write nothing to Cloudflare, Conflux or Kubernetes: the leader records per target what it would write, adopt or take over (see `conflux-sync plan`)"

// defaultGCPercent trades a little memory for write throughput: the state
// lives in the mmap'd bbolt file, not on the Go heap, so the heap stays
// small and a GC target of 4× the live heap costs tens of megabytes, while
// the collector's share of a write's CPU drops (about +20% writes/s in
// docs/benchmarks.md).
const defaultGCPercent = 400

// defaultMemoryLimitRatio leaves a tenth of the container's memory limit
// for what the Go runtime does not count: the state file's and raft log's
// mmap'd pages, thread stacks, and the C heap.
const defaultMemoryLimitRatio = 0.9

// setMemoryLimit sets GOMEMLIMIT, unless the environment sets it, to ratio
// of the memory limit of the process's cgroup (v1 or v2), so that the GC
// works harder as the node nears its container's limit instead of being
// OOM-killed with garbage on the heap. Without a cgroup limit nothing
// changes. automemlimit reads the cgroup: it handles both versions and
// nested hierarchies, which a reader of memory.max alone would not.
func setMemoryLimit(ratio float64, log *slog.Logger) error {
	if ratio == 0 {
		return nil
	}
	if ratio < 0 || ratio > 1 {
		return fmt.Errorf("--memory-limit-ratio: %v is not in (0, 1]", ratio)
	}
	limit, err := memlimit.Set(memlimit.WithRatio(ratio), memlimit.WithProvider(memlimit.FromCgroup))
	switch {
	case err != nil:
		// No cgroup to read (not Linux, or no memory controller): run
		// without a limit, as before.
		log.Debug("no cgroup memory limit to derive GOMEMLIMIT from", "error", err)
	case limit > 0 && limit < math.MaxInt64:
		log.Info("Go memory limit set", "GOMEMLIMIT", limit, "from", cmp.Or(os.Getenv("GOMEMLIMIT"), fmt.Sprintf("%.0f%% of the cgroup limit", ratio*100)))
	}
	return nil
}

// setGCPercent applies the GC target, leaving an explicit GOGC alone.
func setGCPercent(p int) {
	if _, set := os.LookupEnv("GOGC"); set || p == 0 {
		return
	}
	debug.SetGCPercent(p)
}

func newLogger(level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if asJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	logger := slog.New(h)
	// client-go (klog) and controller-runtime log through process-wide
	// loggers; send them to ours, so a forbidden watch or a failing list
	// shows up in conflux-sync's log.
	klog.SetSlogLogger(logger.With("logger", "client-go"))
	ctrllog.SetLogger(logr.FromSlogHandler(logger.With("logger", "controller-runtime").Handler()))
	return logger, nil
}

// reloadable is a file the server re-reads on SIGHUP and when its content
// changes.
type reloadable struct {
	what    string // for logs: "tokens", "cluster secrets"
	failed  string // the log message of a failed reload
	paths   []string
	reload  func() error
	lastSum string
}

func (r *reloadable) sum() string {
	var b strings.Builder
	for _, p := range r.paths {
		b.WriteString(fileSum(p) + "\n")
	}
	return b.String()
}

// runServer runs one node until ctx ends, reloading the token file, the
// cluster secret and gossip key files, the Cloudflare credentials and the
// Conflux token on SIGHUP and whenever one's content changes (checked
// every tokenCheck): in Kubernetes the files are Secrets
// the kubelet updates in place, and a distroless container has no shell to
// send SIGHUP from.
//
// cloudflareFile and confluxFile are the --cloudflare-credentials and
// --conflux-token-file paths, watched when cfg has their loaders.
func runServer(ctx context.Context, cfg server.Config, tokenCheck time.Duration, cloudflareFile, confluxFile string) error {
	node, err := server.Start(cfg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var files []*reloadable
	if cfg.TokenFile != "" {
		files = append(files, &reloadable{what: "tokens", failed: "token reload failed; keeping the old tokens", paths: []string{cfg.TokenFile}, reload: node.ReloadTokens})
	}
	var secretFiles []string
	for _, p := range []string{cfg.ClusterSecretFile, cfg.GossipKeyFile} {
		if p != "" {
			secretFiles = append(secretFiles, p)
		}
	}
	if len(secretFiles) > 0 {
		files = append(files, &reloadable{what: "cluster secrets", failed: "cluster secrets reload failed; keeping the old ones", paths: secretFiles, reload: node.ReloadClusterSecrets})
	}
	if cfg.LoadCloudflareCredentials != nil {
		files = append(files, &reloadable{what: "Cloudflare credentials", failed: "Cloudflare credentials reload failed; keeping the old ones", paths: []string{cloudflareFile}, reload: node.ReloadCloudflareCredentials})
	}
	if cfg.LoadConfluxToken != nil {
		files = append(files, &reloadable{what: "Conflux token", failed: "Conflux token reload failed; keeping the old one", paths: []string{confluxFile}, reload: node.ReloadConfluxToken})
	}
	var check <-chan time.Time
	if len(files) > 0 && tokenCheck > 0 {
		ticker := time.NewTicker(tokenCheck)
		defer ticker.Stop()
		check = ticker.C
	}
	for _, f := range files {
		f.lastSum = f.sum()
	}
	reload := func(f *reloadable, why string) {
		f.lastSum = f.sum()
		if err := f.reload(); err != nil {
			cfg.Logger.Error(f.failed, "error", err, "trigger", why)
		} else {
			cfg.Logger.Info(f.what+" reloaded", "trigger", why)
		}
	}
	for {
		select {
		case <-hup:
			for _, f := range files {
				reload(f, "SIGHUP")
			}
		case <-check:
			// A failed reload is not retried until the file changes again.
			for _, f := range files {
				if f.sum() != f.lastSum {
					reload(f, "file changed")
				}
			}
		case err := <-node.Err():
			node.Kill()
			return fmt.Errorf("serving the API: %w", err)
		case <-ctx.Done():
			cfg.Logger.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return node.Shutdown(sctx)
		}
	}
}

// fileSum is the sha256 of a file's content, "" when it cannot be read.
func fileSum(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return api.SHA256Hex(string(b))
}

func newRecoverCmd() *cobra.Command {
	var dataDir, peers string
	cmd := &cobra.Command{
		Use:   "recover --data-dir DIR --peers id=addr[,id=addr...]",
		Short: "Recover from lost quorum: rewrite this node's raft configuration (node stopped)",
		Long: `Run on a stopped node after a majority of the cluster is lost for good. It commits
everything in the node's raft log and writes a new configuration with exactly the
given peers. Run it with the same --peers on every surviving node, then start them.
See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			servers, err := parsePeers(peers)
			if err != nil {
				return usageError{err}
			}
			if dataDir == "" {
				return usageError{errors.New("--data-dir is required")}
			}
			has, err := cluster.HasState(dataDir)
			if err != nil {
				return fmt.Errorf("read raft state (is the node still running?): %w", err)
			}
			if !has {
				return fmt.Errorf("%s holds no raft state: nothing to recover", dataDir)
			}
			statePath := filepath.Join(dataDir, "state.db")
			// A state file torn by a machine crash is not recovered from:
			// raft rebuilds it from its snapshot and log, as a start would.
			if rebuild, err := store.NeedsRebuild(statePath); err != nil {
				return err
			} else if rebuild {
				if err := store.Discard(statePath); err != nil {
					return err
				}
			}
			st, err := store.Open(statePath, store.Options{})
			if err != nil {
				return fmt.Errorf("open state (is the node still running?): %w", err)
			}
			defer st.Close()
			machine, err := fsm.New(fsm.Config{Store: st})
			if err != nil {
				return err
			}
			// raft only needs a non-empty local id to validate its config
			// here; the recovered configuration is exactly --peers.
			// The servers left out are removed, as by `peers remove`: their
			// ids lose their key bindings, so that a wiped server can join
			// again under its old id with its new key. This happens in the
			// snapshot recover takes, after the log is replayed, so every
			// survivor (same --peers) ends with the same state.
			rf := &recoverFSM{FSM: machine, drop: func() error { return dropBindingsExcept(st, servers) }}
			if err := cluster.RecoverCluster(cluster.Config{NodeID: "recover", DataDir: dataDir, FSM: rf}, servers); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Recovered %s with %d voter(s). Start the node(s) now.\n", dataDir, len(servers))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the stopped node's data folder")
	cmd.Flags().StringVar(&peers, "peers", "", "the new voter set: id=raft-addr, comma-separated")
	return cmd
}

// recoverFSM runs drop before the snapshot raft.RecoverCluster takes of
// the replayed state.
type recoverFSM struct {
	*fsm.FSM
	drop func() error
}

func (f *recoverFSM) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.drop(); err != nil {
		return nil, err
	}
	return f.FSM.Snapshot()
}

// dropBindingsExcept removes the node key bindings of every id not in
// servers.
func dropBindingsExcept(st *store.Store, servers []raft.Server) error {
	keep := map[string]bool{}
	for _, s := range servers {
		keep[string(s.ID)] = true
	}
	err := st.Update(func(tx *store.Tx) error {
		for id := range tx.NodeKeys() {
			if !keep[id] {
				if _, err := tx.UnbindNodeKey(id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("drop the key bindings of removed servers: %w", err)
	}
	return nil
}

func parsePeers(s string) ([]raft.Server, error) {
	if s == "" {
		return nil, errors.New("--peers is required")
	}
	var out []raft.Server
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("--peers: %q is not id=addr", p)
		}
		if seen[id] {
			return nil, fmt.Errorf("--peers: %s is listed twice", id)
		}
		seen[id] = true
		out = append(out, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
	}
	return out, nil
}
