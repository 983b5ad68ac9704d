// Package cluster runs one conflux-sync server's consensus layer: the
// hashicorp/raft node with its bolt log store and file snapshots, the raft
// transport (plain TCP or TLS), memberlist gossip for discovery and metadata,
// the bootstrap agreement that forms a cluster from BootstrapExpect servers
// without ever splitting it, autopilot (add, promote and remove servers) and
// the leader-only background tasks.
package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by Config.withDefaults when a field is left zero.
const (
	DefaultRaftBindAddr            = ":7781"
	DefaultGossipBindAddr          = ":7782"
	DefaultBootstrapExpect         = 3
	DefaultDeadNodeTimeout         = 30 * time.Minute
	DefaultServerStabilizationTime = 10 * time.Second
	DefaultAutopilotInterval       = 2 * time.Second
	DefaultApplyTimeout            = 10 * time.Second
	DefaultMetaRefreshInterval     = time.Second
	DefaultJoinInterval            = 2 * time.Second

	// MaxAppendEntries is the number of log entries raft sends in one
	// AppendEntries RPC (raft validates ≤ 1024; its default is 64).
	MaxAppendEntries = 512
	// maxTrailingApplied is how far (in entries) a non-voter's gossiped
	// applied index may trail the leader's and still count as healthy.
	maxTrailingApplied = 1000

	transportMaxPool = 3
	transportTimeout = 10 * time.Second
	snapshotsRetain  = 2
	logCacheSize     = 512
)

// Config configures a Node. Zero values take the documented defaults.
type Config struct {
	// NodeID is this server's raft ID and memberlist name. Required; it must
	// be stable across restarts (e.g. the StatefulSet pod name).
	NodeID string
	// DataDir holds the raft files in DataDir/raft/: raft.db (bolt log and
	// stable store) and snapshots/. Required.
	DataDir string

	// RaftBindAddr is the raft listen address. Default ":7781".
	RaftBindAddr string
	// RaftAdvertise is the host:port other servers dial for raft. Default:
	// the bind address; when its host is unspecified (0.0.0.0 / ::), the host
	// of GossipAdvertise, else the first private IP of this machine. With
	// plain TCP a host name is resolved once at startup (raft's TCP
	// transport advertises an IP; autopilot re-adds a server whose address
	// changed). With TLS (RaftTLS or ClusterSecrets) the name is kept
	// verbatim: peers verify an operator certificate against it, and a
	// StatefulSet pod keeps its name across IP changes.
	RaftAdvertise string
	// GossipBindAddr is the memberlist listen address (TCP and UDP).
	// Default ":7782". Port 0 picks a free port.
	GossipBindAddr string
	// GossipAdvertise is the host:port other servers use for gossip.
	// Default: chosen by memberlist from the bind address.
	GossipAdvertise string
	// HTTPAdvertise is this server's admin HTTP URL, gossiped in member
	// metadata so that followers can forward writes to the leader.
	HTTPAdvertise string

	// Join lists gossip addresses (host:port) of other servers. They are
	// re-resolved and re-joined every GossipTuning.JoinInterval until one
	// join succeeds, and again whenever fewer than BootstrapExpect members
	// are visible (StatefulSet DNS names appear late).
	Join []string
	// BootstrapExpect is the number of servers that form a new cluster.
	// Default 3. With 1 a server without raft state bootstraps itself.
	BootstrapExpect int

	// DeadNodeTimeout: raft members whose gossip state has been dead, left
	// or absent for longer are removed by autopilot. Default 30m.
	DeadNodeTimeout time.Duration
	// ServerStabilizationTime: a non-voter must be healthy this long before
	// autopilot promotes it to voter. Default 10s.
	ServerStabilizationTime time.Duration
	// AutopilotInterval is the period of the autopilot pass. Default 2s.
	AutopilotInterval time.Duration
	// ApplyTimeout bounds Apply when the context has no deadline.
	// Default 10s.
	ApplyTimeout time.Duration

	// RaftTLS, when set, makes the raft transport a TLS stream layer. The
	// same config serves as server config (Certificates, ClientCAs: when
	// ClientCAs is set, client certificates are required and verified) and
	// client config (Certificates as client certificate, RootCAs; RootCAs
	// defaults to ClientCAs).
	RaftTLS *tls.Config
	// LogStore is the raft log backend of a new data dir: "boltdb"
	// (raft-boltdb/v2, the default) or "wal" (hashicorp/raft-wal: one fsync
	// per batch instead of bbolt's two: 15-50% more writes/s in docs/benchmarks.md).
	// An existing data dir keeps the backend it was created with.
	LogStore string
	// GossipKey optionally encrypts gossip (16, 24 or 32 bytes, AES). It is
	// GossipKeys with one key.
	GossipKey []byte
	// GossipKeys is an operator-managed memberlist keyring: the first key
	// encrypts, all of them decrypt (rotation). It overrides the keys
	// derived from ClusterSecrets. Change it at run time with
	// Node.SetGossipKeys.
	GossipKeys [][]byte

	// ClusterSecrets makes the cluster secure with no other material (see
	// secrets.go and pki.go): gossip is encrypted with keys derived from
	// them (unless GossipKeys is set) and raft runs TLS 1.3 with mutual
	// authentication by certificates issued from the CA derived from the
	// first (primary) secret; peers are accepted with a certificate from
	// any secret's CA. Each at least MinClusterSecretBytes. Change them at
	// run time with Node.SetClusterSecrets. RaftTLS, when also set, takes
	// precedence for raft.
	ClusterSecrets [][]byte
	// NodeCertLifetime is the validity of the node certificate issued from
	// ClusterSecrets. Default DefaultNodeCertLifetime (7 days); re-issued
	// after two thirds of it.
	NodeCertLifetime time.Duration
	// Identities is the replicated node id → key fingerprint record (the
	// FSM's). With it and a secure transport, a node id cannot be claimed
	// with another key: the raft handshake refuses it and autopilot never
	// adds, re-addresses or removes a server because of it. Nil: only the
	// CA is checked.
	Identities IdentityStore

	// FSM is the replicated state machine. Required.
	FSM raft.BatchingFSM
	// Raft holds raft timing; zero fields keep raft's defaults.
	Raft RaftTuning
	// Gossip holds memberlist timing; zero fields keep the defaults.
	Gossip GossipTuning

	// Logger receives all logs, including raft's and memberlist's.
	// Default slog.Default().
	Logger *slog.Logger
	// Registerer receives this node's Prometheus metrics. Nil: metrics are
	// kept but not registered anywhere. Each Node needs its own registerer
	// (or a prometheus.WrapRegistererWith label) when several run in one
	// process.
	Registerer prometheus.Registerer
}

// RaftTuning overrides raft timing. Zero values keep raft.DefaultConfig's.
type RaftTuning struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	TrailingLogs       uint64
}

// GossipTuning overrides memberlist timing. Zero values keep
// memberlist.DefaultLANConfig's (and the defaults named below).
type GossipTuning struct {
	ProbeInterval       time.Duration
	ProbeTimeout        time.Duration
	GossipInterval      time.Duration
	PushPullInterval    time.Duration
	SuspicionMult       int
	GossipToTheDeadTime time.Duration
	// DeadNodeReclaimTime lets a dead member's name be reused from a new
	// address after this long (pod restarted with a new IP). Default 10s.
	DeadNodeReclaimTime time.Duration
	// MetaRefreshInterval is how often the node refreshes its gossiped
	// metadata (applied index, term), checks bootstrap and updates gauges.
	// Default 1s.
	MetaRefreshInterval time.Duration
	// JoinInterval is the retry period of the join loop. Default 2s.
	JoinInterval time.Duration
}

// withDefaults returns a copy of c with defaults filled in, or an error when
// a required field is missing or a value is invalid.
func (c Config) withDefaults() (Config, error) {
	if c.NodeID == "" {
		return c, errors.New("cluster: Config.NodeID is required")
	}
	if c.DataDir == "" {
		return c, errors.New("cluster: Config.DataDir is required")
	}
	if c.FSM == nil {
		return c, errors.New("cluster: Config.FSM is required")
	}
	if c.RaftBindAddr == "" {
		c.RaftBindAddr = DefaultRaftBindAddr
	}
	if c.GossipBindAddr == "" {
		c.GossipBindAddr = DefaultGossipBindAddr
	}
	if c.BootstrapExpect == 0 {
		c.BootstrapExpect = DefaultBootstrapExpect
	}
	if c.BootstrapExpect < 0 {
		return c, fmt.Errorf("cluster: BootstrapExpect must be ≥ 1, got %d", c.BootstrapExpect)
	}
	if c.DeadNodeTimeout <= 0 {
		c.DeadNodeTimeout = DefaultDeadNodeTimeout
	}
	if c.ServerStabilizationTime <= 0 {
		c.ServerStabilizationTime = DefaultServerStabilizationTime
	}
	if c.AutopilotInterval <= 0 {
		c.AutopilotInterval = DefaultAutopilotInterval
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = DefaultApplyTimeout
	}
	if c.Gossip.MetaRefreshInterval <= 0 {
		c.Gossip.MetaRefreshInterval = DefaultMetaRefreshInterval
	}
	if c.Gossip.JoinInterval <= 0 {
		c.Gossip.JoinInterval = DefaultJoinInterval
	}
	if c.Gossip.DeadNodeReclaimTime <= 0 {
		c.Gossip.DeadNodeReclaimTime = 10 * time.Second
	}
	switch len(c.GossipKey) {
	case 0, 16, 24, 32:
	default:
		return c, fmt.Errorf("cluster: GossipKey must be 16, 24 or 32 bytes, got %d", len(c.GossipKey))
	}
	if len(c.GossipKey) > 0 && len(c.GossipKeys) == 0 {
		c.GossipKeys = [][]byte{c.GossipKey}
	}
	if err := checkGossipKeyLengths(c.GossipKeys); err != nil {
		return c, fmt.Errorf("cluster: GossipKeys: %w", err)
	}
	if err := checkSecretLengths(c.ClusterSecrets); err != nil {
		return c, fmt.Errorf("cluster: ClusterSecrets: %w", err)
	}
	if c.NodeCertLifetime <= 0 {
		c.NodeCertLifetime = DefaultNodeCertLifetime
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for _, a := range []struct{ name, v string }{
		{"RaftBindAddr", c.RaftBindAddr}, {"GossipBindAddr", c.GossipBindAddr},
	} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return c, fmt.Errorf("cluster: %s %q: %w", a.name, a.v, err)
		}
	}
	return c, nil
}

// raftConfig builds the raft configuration for cfg.
func raftConfig(cfg Config) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = MaxAppendEntries
	rc.NoSnapshotRestoreOnStart = true
	rc.NoLegacyTelemetry = true
	// A server removed by autopilot keeps running so that it can be added
	// back when it returns (Consul does the same).
	rc.ShutdownOnRemove = false
	t := cfg.Raft
	if t.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout = t.HeartbeatTimeout
	}
	if t.ElectionTimeout > 0 {
		rc.ElectionTimeout = t.ElectionTimeout
	}
	if t.LeaderLeaseTimeout > 0 {
		rc.LeaderLeaseTimeout = t.LeaderLeaseTimeout
	}
	if t.CommitTimeout > 0 {
		rc.CommitTimeout = t.CommitTimeout
	}
	if t.SnapshotInterval > 0 {
		rc.SnapshotInterval = t.SnapshotInterval
	}
	if t.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = t.SnapshotThreshold
	}
	if t.TrailingLogs > 0 {
		rc.TrailingLogs = t.TrailingLogs
	}
	rc.Logger = newHCLogger(cfg.Logger, "raft")
	return rc
}
