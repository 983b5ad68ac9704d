package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/api"
)

var (
	// ErrNotLeader is returned by leader-only operations on a follower.
	ErrNotLeader = errors.New("cluster: this node is not the raft leader")
	// ErrOutcomeUnknown is wrapped by Apply errors after the command was
	// handed to raft but its fate is unknown (leadership lost, shutdown,
	// context ended): it may or may not be committed. Retries must be
	// idempotent.
	ErrOutcomeUnknown = errors.New("cluster: outcome unknown, the command may still be committed")
	// ErrShutdown is returned after Shutdown or Kill.
	ErrShutdown = errors.New("cluster: node is shut down")
)

// Node is one server of the cluster: raft, its stores and transport, gossip
// and the background loops. All goroutines it starts stop in Shutdown/Kill.
type Node struct {
	cfg Config
	log *slog.Logger

	raft       *raft.Raft
	trans      *raft.NetworkTransport
	store      logStore
	snaps      *raft.FileSnapshotStore
	ml         *memberlist.Memberlist
	metrics    *metrics
	observer   *raft.Observer
	obsCh      chan raft.Observation
	raftAddr   string
	gossipAddr string

	// Transport security (identity.go): nil TLS configs mean plain TCP.
	pki       *pki
	serverTLS *tls.Config
	clientTLS *tls.Config
	keyFP     string
	keyring   *memberlist.Keyring

	ctx    context.Context // cancelled by Shutdown/Kill
	cancel context.CancelFunc
	wg     sync.WaitGroup

	hasState atomic.Bool
	// lock and lastBootstrapBlock belong to the metadata loop goroutine
	// (and New, before it starts).
	lock               *bootstrapLock
	lastBootstrapBlock string

	mu      sync.Mutex // guards the fields below; never held across memberlist or raft calls
	meta    nodeMeta
	members map[string]*member
	failing map[string]bool
	// replaced holds, per server, when autopilot last removed or (re)added
	// it. raft reports a failed heartbeat with the replication's last
	// contact, but reports no recovery for a replication it stopped: a
	// failure whose last contact is older than this came from the
	// replication to the old address, and must not mark the new one.
	replaced map[string]time.Time
	// impostors are gossip members autopilot refused to trust (id ->
	// reason); lastRefusedLog rate-limits refused-handshake logs.
	impostors      map[string]string
	lastRefusedLog time.Time
	// bindCache holds the key bindings of the ids seen in gossip, for
	// observeMember (refreshBindings).
	bindCache map[string]string

	gossipEvent chan struct{}
	publish     chan struct{}
	compactNow  chan struct{} // wakes compactLoop

	leaderTasks leaderTasks
	lease       leaderLease
	confirms    confirmations

	closeMu  sync.Mutex  // serializes stop
	closed   atomic.Bool // set when stop begins
	closeErr error
}

// logStore is raft's log and stable store in one.
type logStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// Log store backends (Config.LogStore).
const (
	LogStoreBoltDB = "boltdb"
	LogStoreWAL    = "wal"
)

// detectLogStore returns the backend a data dir already uses, or "".
func detectLogStore(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "wal")); err == nil {
		return LogStoreWAL
	}
	if _, err := os.Stat(filepath.Join(dir, "raft.db")); err == nil {
		return LogStoreBoltDB
	}
	return ""
}

// openStores opens DataDir/raft: the log/stable store (raft-boltdb/v2, or
// raft-wal) and the file snapshot store. A data dir keeps the backend it
// was created with: asking for the other one is an error, not a silent
// new, empty log.
func openStores(cfg Config) (logStore, *raft.FileSnapshotStore, error) {
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cluster: create raft dir: %w", err)
	}
	kind := cfg.LogStore
	if existing := detectLogStore(dir); existing != "" {
		if kind != "" && kind != existing {
			return nil, nil, fmt.Errorf("cluster: %s holds a %s raft log; it cannot be opened as %s", dir, existing, kind)
		}
		kind = existing
	}
	var store logStore
	switch kind {
	case LogStoreWAL:
		walDir := filepath.Join(dir, "wal")
		if err := os.MkdirAll(walDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("cluster: create wal dir: %w", err)
		}
		// raft-wal's Close leaves its meta database open (and its file
		// lock held), so a node restarted in the same process would
		// block forever: own the meta store and close it ourselves.
		meta := &metadb.BoltMetaDB{}
		w, err := wal.Open(walDir, wal.WithMetaStore(meta), wal.WithLogger(newHCLogger(cfg.Logger, "raft-wal")))
		if err != nil {
			meta.Close()
			return nil, nil, fmt.Errorf("cluster: open raft wal %s: %w", walDir, err)
		}
		store = walStore{WAL: w, meta: meta}
	case LogStoreBoltDB, "":
		b, err := raftboltdb.New(raftboltdb.Options{
			Path: filepath.Join(dir, "raft.db"),
			BoltOptions: &bbolt.Options{
				Timeout:        5 * time.Second, // another process holds the file
				NoFreelistSync: true,
				FreelistType:   bbolt.FreelistMapType,
			},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("cluster: open raft log store %s: %w", filepath.Join(dir, "raft.db"), err)
		}
		store = b
	default:
		return nil, nil, fmt.Errorf("cluster: unknown log store %q (want %s or %s)", kind, LogStoreBoltDB, LogStoreWAL)
	}
	if err := removeSnapshotLeftovers(dir, cfg.Logger); err != nil {
		store.Close()
		return nil, nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetain, newHCLogger(cfg.Logger, "raft-snapshots"))
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("cluster: open snapshot store: %w", err)
	}
	return store, snaps, nil
}

// New opens the stores, starts the raft transport, raft and gossip, and the
// background loops (gossip join, metadata refresh and bootstrap, leadership
// tasks including autopilot).
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:         cfg,
		log:         cfg.Logger.With("node", cfg.NodeID),
		members:     map[string]*member{},
		failing:     map[string]bool{},
		replaced:    map[string]time.Time{},
		impostors:   map[string]string{},
		gossipEvent: make(chan struct{}, 1),
		publish:     make(chan struct{}, 1),
		compactNow:  make(chan struct{}, 1),
	}
	ok := false
	var cleanups []func()
	defer func() {
		if !ok {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()

	n.store, n.snaps, err = openStores(cfg)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { n.store.Close() })
	hasState, err := raft.HasExistingState(n.store, n.store, n.snaps)
	if err != nil {
		return nil, fmt.Errorf("cluster: check raft state: %w", err)
	}
	n.hasState.Store(hasState)
	if hasState {
		_ = os.Remove(lockPath(cfg.DataDir))
	} else if n.lock, err = loadBootstrapLock(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	logs, err := raft.NewLogCache(logCacheSize, n.store)
	if err != nil {
		return nil, fmt.Errorf("cluster: log cache: %w", err)
	}

	if err := n.transportTLS(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if n.keyring, err = newKeyring(cfg); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.trans, err = newTransport(cfg, n.serverTLS, n.clientTLS)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cleanups = append(cleanups, func() { n.trans.Close() })
	n.raftAddr = string(n.trans.LocalAddr())

	n.meta = nodeMeta{
		Version: metaVersion, ID: cfg.NodeID, RaftAddr: n.raftAddr, HTTPAddr: cfg.HTTPAdvertise,
		Expect: cfg.BootstrapExpect, HasState: hasState, Key: n.keyFP,
	}
	if len(cfg.ClusterSecrets) > 0 {
		n.meta.Secrets = SecretsDigest(cfg.ClusterSecrets)
	}
	if len(cfg.GossipKeys) > 0 {
		n.meta.GossipKeys = SecretsDigest(cfg.GossipKeys)
	}
	if n.lock != nil {
		n.meta.Proposal, n.meta.Locked = n.lock.Hash, true
	}
	if err := checkMetaSize(n.meta); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}

	if err := catchUpFromSnapshot(cfg.FSM, n.snaps, n.log); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	rc := raftConfig(cfg)
	n.lease.length = leaseLength(rc)
	n.raft, err = raft.NewRaft(rc, cfg.FSM, logs, n.store, n.snaps, n.trans)
	if err != nil {
		return nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	cleanups = append(cleanups, func() { _ = n.raft.Shutdown().Error() })
	n.meta.Applied, n.meta.Term = n.raft.AppliedIndex(), n.raft.CurrentTerm()

	n.metrics, err = newMetrics(cfg.Registerer, n.raft)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, n.metrics.unregister)
	n.metrics.setState(n.raft.State())

	n.obsCh = make(chan raft.Observation, 64)
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.FailedHeartbeatObservation,
			raft.ResumedHeartbeatObservation, raft.RaftState:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(n.observer)
	cleanups = append(cleanups, func() { n.raft.DeregisterObserver(n.observer) })

	n.ml, err = n.newMemberlist()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	cleanups = append(cleanups, func() { _ = n.ml.Shutdown() })

	if cfg.BootstrapExpect == 1 && !hasState {
		n.bootstrap(raftConfiguration([]voter{{ID: cfg.NodeID, Addr: n.raftAddr}}))
	}

	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.RegisterLeaderTask("autopilot", n.autopilot)
	for _, loop := range []func(context.Context){n.observeLoop, n.leaderLoop, n.metaLoop, n.publishLoop, n.joinLoop, n.storageLoop, n.compactLoop} {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			loop(n.ctx)
		}()
	}
	ok = true
	n.log.Info("cluster node started", "raft", n.raftAddr, "gossip", n.GossipAddr(),
		"bootstrap_expect", cfg.BootstrapExpect, "has_state", hasState, "security", n.security(), "gossip_encrypted", n.keyring != nil)
	return n, nil
}

// observeLoop consumes raft observations: leader changes (metric) and
// heartbeat failures (autopilot health).
func (n *Node) observeLoop(ctx context.Context) {
	var lastLeader raft.ServerID
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-n.obsCh:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				if d.LeaderID != "" && d.LeaderID != lastLeader {
					n.metrics.leaderChanges.Inc()
					n.log.Info("raft leader changed", "leader", string(d.LeaderID), "addr", string(d.LeaderAddr))
				}
				if d.LeaderID != "" {
					lastLeader = d.LeaderID
				}
			case raft.RaftState:
				n.metrics.setState(d)
			case raft.FailedHeartbeatObservation:
				n.mu.Lock()
				if !d.LastContact.Before(n.replaced[string(d.PeerID)]) {
					n.failing[string(d.PeerID)] = true
				}
				n.mu.Unlock()
			case raft.ResumedHeartbeatObservation:
				n.mu.Lock()
				delete(n.failing, string(d.PeerID))
				n.mu.Unlock()
			}
		}
	}
}

// metaLoop refreshes the gossiped metadata (applied index, term) and the
// gauges every MetaRefreshInterval, and runs the bootstrap check on every
// tick and gossip event while the node has no raft state.
func (n *Node) metaLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Gossip.MetaRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.gossipEvent:
			if !n.hasState.Load() {
				n.checkBootstrap()
			}
			continue
		case <-t.C:
		}
		if n.raft.LastIndex() > 0 {
			n.hasState.Store(true)
		}
		n.refreshBindings()
		hasState := n.hasState.Load()
		applied, term := n.raft.AppliedIndex(), n.raft.CurrentTerm()
		n.updateLocalMeta(func(m *nodeMeta) {
			m.Applied, m.Term, m.HasState = applied, term, hasState
		})
		if !hasState {
			n.checkBootstrap()
		}
		n.updateGauges()
	}
}

func (n *Node) updateGauges() {
	n.metrics.setState(n.raft.State())
	voters, nonvoters := 0, 0
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			} else {
				nonvoters++
			}
		}
	}
	n.metrics.peers.WithLabelValues("voter").Set(float64(voters))
	n.metrics.peers.WithLabelValues("nonvoter").Set(float64(nonvoters))
	counts := map[string]int{gossipAlive: 0, gossipSuspect: 0, gossipDead: 0, gossipLeft: 0}
	for _, m := range n.gossipMembers() {
		counts[m.state]++
	}
	for state, c := range counts {
		n.metrics.gossipMembers.WithLabelValues(state).Set(float64(c))
	}
}

// Raft returns the underlying raft instance.
func (n *Node) Raft() *raft.Raft { return n.raft }

// ID returns the node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// RaftAddr returns the address other servers dial for raft.
func (n *Node) RaftAddr() string { return n.raftAddr }

// IsLeader reports whether this node is the raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the current leader as this node knows it; HTTPAddr comes
// from the leader's gossip metadata. false when no leader is known.
func (n *Node) Leader() (api.Member, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return api.Member{}, false
	}
	m := api.Member{ID: string(id), RaftAddr: string(addr), Leader: true, Gossip: gossipUnknown}
	if string(id) == n.cfg.NodeID {
		m.HTTPAddr, m.Gossip, m.AppliedIndex = n.cfg.HTTPAdvertise, gossipAlive, n.raft.AppliedIndex()
		return m, true
	}
	n.mu.Lock()
	if gm, ok := n.members[string(id)]; ok {
		m.Gossip = gm.state
		if gm.metaOK {
			m.HTTPAddr, m.AppliedIndex = gm.meta.HTTPAddr, gm.meta.Applied
		}
	}
	n.mu.Unlock()
	return m, true
}

// notLeaderErr wraps ErrNotLeader with the known leader, if any.
func (n *Node) notLeaderErr(cause error) error {
	leader := "unknown"
	if l, ok := n.Leader(); ok {
		leader = l.ID
	}
	if cause != nil {
		return fmt.Errorf("%w (leader: %s): %w", ErrNotLeader, leader, cause)
	}
	return fmt.Errorf("%w (leader: %s)", ErrNotLeader, leader)
}

// timeout returns the time left before ctx's deadline, or def.
func timeout(ctx context.Context, def time.Duration) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		if d <= 0 {
			return 0, context.DeadlineExceeded
		}
		return d, nil
	}
	return def, nil
}

// waitFuture waits for f or ctx. When ctx ends first, the raft operation
// continues; its result is dropped.
func waitFuture(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }() // ends when raft resolves f (at the latest at raft shutdown)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Apply proposes cmd to the cluster and waits until it is committed and
// applied to the local FSM. Leader only: a follower returns ErrNotLeader.
// The context's deadline (default ApplyTimeout) bounds the wait. resp is the
// FSM's response; when the FSM returned an error it is also returned as err.
// Errors wrapping ErrOutcomeUnknown mean the command may still be committed.
func (n *Node) Apply(ctx context.Context, cmd []byte) (resp any, index uint64, err error) {
	if n.isClosed() {
		return nil, 0, ErrShutdown
	}
	if !n.IsLeader() {
		return nil, 0, n.notLeaderErr(nil)
	}
	d, err := timeout(ctx, n.cfg.ApplyTimeout)
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: apply: %w", err)
	}
	start := time.Now()
	f := n.raft.Apply(cmd, d)
	if err := waitFuture(ctx, f); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return nil, 0, n.notLeaderErr(err)
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, 0, fmt.Errorf("cluster: apply: raft did not accept the command in time (not committed): %w", err)
		case errors.Is(err, raft.ErrLeadershipLost):
			return nil, 0, fmt.Errorf("cluster: apply: leadership lost while committing: %w: %w", ErrOutcomeUnknown, err)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, 0, fmt.Errorf("cluster: apply: stopped waiting: %w: %w", ErrOutcomeUnknown, err)
		default:
			return nil, 0, fmt.Errorf("cluster: apply: %w: %w", ErrOutcomeUnknown, err)
		}
	}
	n.metrics.applyLatency.Observe(time.Since(start).Seconds())
	resp = f.Response()
	if rerr, ok := resp.(error); ok {
		return resp, f.Index(), rerr
	}
	return resp, f.Index(), nil
}

// WaitForLeader waits until some leader is known.
func (n *Node) WaitForLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if _, id := n.raft.LeaderWithID(); id != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for a leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// raftShutdownWait bounds how long stop waits for raft's goroutines.
const raftShutdownWait = 30 * time.Second

// shutdownRaft shuts raft down and waits for its goroutines, at most
// raftShutdownWait. hashicorp/raft can leave a replication goroutine
// blocked for good on a full pipeline to a follower that stopped
// answering (netPipeline.AppendEntries waits for room that its decoder,
// itself blocked on a consumer that has returned, never makes); a CI run
// hung 25 minutes in that wait. The node then reports the error and goes
// on closing the transport and the store instead of hanging: the stuck
// goroutine waits on a channel and touches neither again. The wait running
// out is logged, not returned: the node has stopped, raft left a goroutine.
func (n *Node) shutdownRaft() error {
	done := make(chan error, 1)
	go func() { done <- n.raft.Shutdown().Error() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("raft shutdown: %w", err)
		}
		return nil
	case <-time.After(raftShutdownWait):
		n.log.Error("raft did not stop within the wait: a replication goroutine is stuck on its pipeline; closing the transport and the store anyway", "wait", raftShutdownWait)
		return nil
	}
}

// VerifyLeader confirms with a quorum that this node is still the leader,
// at a moment after the call began (see confirmations in read.go).
func (n *Node) VerifyLeader(ctx context.Context) error {
	if !n.IsLeader() {
		return n.notLeaderErr(nil)
	}
	r := n.confirms.join(n.confirmLeadership)
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("cluster: verify leader: %w", ctx.Err())
	}
}

// Barrier waits until every preceding entry is applied to the FSM (leader
// only).
func (n *Node) Barrier(ctx context.Context) error {
	d, err := timeout(ctx, n.cfg.ApplyTimeout)
	if err != nil {
		return fmt.Errorf("cluster: barrier: %w", err)
	}
	if err := waitFuture(ctx, n.raft.Barrier(d)); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return n.notLeaderErr(err)
		}
		return fmt.Errorf("cluster: barrier: %w", err)
	}
	return nil
}

// WaitForApplied waits until the local FSM has applied index.
func (n *Node) WaitForApplied(ctx context.Context, index uint64) error {
	if n.appliedThrough(index) {
		return nil
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for applied index %d (at %d): %w", index, n.raft.AppliedIndex(), ctx.Err())
		case <-t.C:
		}
		if n.appliedThrough(index) {
			return nil
		}
		if n.raft.State() == raft.Shutdown {
			return ErrShutdown
		}
	}
}

func suffrage(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	default:
		return "staging"
	}
}

// Status reports this node's raft state and the members: the union of the
// raft configuration and the gossip members.
func (n *Node) Status() api.ClusterStatus {
	leaderAddr, leaderID := n.raft.LeaderWithID()
	st := api.ClusterStatus{
		NodeID:       n.cfg.NodeID,
		State:        n.raft.State().String(),
		Leader:       string(leaderID),
		LeaderAddr:   string(leaderAddr),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		LastIndex:    n.raft.LastIndex(),
		Security:     n.security(),
		Untrusted:    untrustedList(n.Untrusted()),
	}
	byID := map[string]*api.Member{}
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			byID[string(s.ID)] = &api.Member{
				ID: string(s.ID), RaftAddr: string(s.Address), Suffrage: suffrage(s.Suffrage), Gossip: gossipUnknown,
			}
		}
	}
	for name, gm := range n.gossipMembers() {
		m, ok := byID[name]
		if !ok {
			m = &api.Member{ID: name}
			byID[name] = m
		}
		m.Gossip = gm.state
		if gm.metaOK {
			if m.RaftAddr == "" {
				m.RaftAddr = gm.meta.RaftAddr
			}
			m.HTTPAddr, m.AppliedIndex = gm.meta.HTTPAddr, gm.meta.Applied
			m.KeyFingerprint, m.SecretsDigest, m.GossipKeysDigest = gm.meta.Key, gm.meta.Secrets, gm.meta.GossipKeys
		}
	}
	if self, ok := byID[n.cfg.NodeID]; ok {
		self.AppliedIndex, self.HTTPAddr = st.AppliedIndex, n.cfg.HTTPAdvertise
	}
	for id, m := range byID {
		m.Leader = id == st.Leader
		st.Members = append(st.Members, *m)
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st
}

// ErrUnknownPeer is returned by RemovePeer for an id that is not in the
// raft configuration.
var ErrUnknownPeer = errors.New("not in the raft configuration")

// RemovePeer removes server id from the raft configuration (leader only).
// It refuses to remove the last voter, or a voter when the voters left alive
// in gossip would be fewer than a quorum of the new configuration.
func (n *Node) RemovePeer(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return n.notLeaderErr(nil)
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return fmt.Errorf("cluster: remove peer: %w", err)
	}
	servers := cf.Configuration().Servers
	var target *raft.Server
	voters := 0
	for i, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == id {
			target = &servers[i]
		}
	}
	if target == nil {
		// A server autopilot already removed may still hold its id's key
		// binding: dropping it lets the id join again with a new key.
		if dropped, err := n.unbind(ctx, id); err != nil {
			return fmt.Errorf("cluster: remove peer %q: %w", id, err)
		} else if dropped {
			return nil
		}
		return fmt.Errorf("cluster: remove peer %q: %w", id, ErrUnknownPeer)
	}
	if target.Suffrage == raft.Voter {
		if voters <= 1 {
			return fmt.Errorf("cluster: remove peer: refusing to remove %q, the last voter", id)
		}
		in := apInput{self: n.cfg.NodeID, servers: servers, members: n.gossipMembers()}
		if !quorumAfterRemoval(in, id) {
			return fmt.Errorf("cluster: remove peer: refusing to remove voter %q: the voters left alive would be fewer than a quorum of the %d remaining voters", id, voters-1)
		}
	}
	d, err := timeout(ctx, n.cfg.ApplyTimeout)
	if err != nil {
		return fmt.Errorf("cluster: remove peer: %w", err)
	}
	if err := waitFuture(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, d)); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return n.notLeaderErr(err)
		}
		return fmt.Errorf("cluster: remove peer %q: %w", id, err)
	}
	if _, err := n.unbind(ctx, id); err != nil {
		return fmt.Errorf("cluster: removed peer %q but kept its key binding: %w", id, err)
	}
	n.log.Info("removed raft peer", "server", id)
	return nil
}

// security names how the cluster transport is protected, for status.
func (n *Node) security() string {
	switch {
	case n.cfg.RaftTLS != nil:
		return "operator-tls"
	case n.pki != nil:
		return "cluster-secret"
	default:
		return "insecure"
	}
}

// Restore replaces the cluster's state with a snapshot through raft.Restore
// (leader only; see raft's warnings: meant for disaster recovery) and waits
// until a quorum holds it (see userRestore). The context's deadline
// (default ApplyTimeout) bounds each step.
func (n *Node) Restore(ctx context.Context, meta *raft.SnapshotMeta, r io.Reader) error {
	if !n.IsLeader() {
		return n.notLeaderErr(nil)
	}
	// raft refuses a restore until the leader applied the latest
	// configuration entry, which a just-elected leader of a fresh cluster
	// may not have yet: a barrier waits for that.
	if err := n.Barrier(ctx); err != nil {
		return err
	}
	return n.userRestore(ctx, meta, r)
}

// isClosed must not take closeMu: leader tasks call Apply while stop
// waits for them.
func (n *Node) isClosed() bool { return n.closed.Load() }

// Shutdown stops the node gracefully: hands leadership to another voter
// when leader, stops the background loops and leader tasks, leaves gossip,
// shuts raft down and closes the stores. Idempotent.
func (n *Node) Shutdown() error { return n.stop(true) }

// Kill stops the node abruptly (for tests): no leadership transfer, no
// gossip leave. Everything is closed, so a new Node can reopen DataDir in
// the same process. Idempotent.
func (n *Node) Kill() error { return n.stop(false) }

func (n *Node) stop(graceful bool) error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed.Load() {
		return n.closeErr
	}
	n.closed.Store(true)
	var errs []error
	if graceful && n.IsLeader() && n.otherVoters() {
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			n.log.Warn("leadership transfer before shutdown failed", "err", err)
		}
	}
	n.cancel()
	n.wg.Wait()
	if graceful {
		if err := n.ml.Leave(2 * time.Second); err != nil {
			n.log.Warn("gossip leave", "err", err)
		}
	}
	if err := n.ml.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("gossip shutdown: %w", err))
	}
	n.raft.DeregisterObserver(n.observer)
	if err := n.shutdownRaft(); err != nil {
		errs = append(errs, err)
	}
	if err := n.trans.Close(); err != nil {
		errs = append(errs, fmt.Errorf("raft transport close: %w", err))
	}
	if err := n.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("raft store close: %w", err))
	}
	n.metrics.unregister()
	if len(errs) > 0 {
		n.closeErr = fmt.Errorf("cluster: shutdown: %w", errors.Join(errs...))
	}
	n.log.Info("cluster node stopped", "graceful", graceful)
	return n.closeErr
}

// otherVoters reports whether the configuration has a voter besides this
// node.
func (n *Node) otherVoters() bool {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.NodeID {
			return true
		}
	}
	return false
}

// HasState reports whether dataDir holds raft state (logs, a current term
// or snapshots). It must not be called while a Node has dataDir open.
func HasState(dataDir string) (bool, error) {
	dir := filepath.Join(dataDir, "raft")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("cluster: %w", err)
	}
	store, snaps, err := openStores(Config{DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false, err
	}
	defer store.Close()
	ok, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return false, fmt.Errorf("cluster: check raft state: %w", err)
	}
	return ok, nil
}

// RecoverCluster forces the raft configuration of the node stored in
// cfg.DataDir to peers, for a cluster that lost quorum (raft.RecoverCluster:
// it snapshots the FSM with the new configuration and truncates the log,
// implicitly committing every entry in it). The node must be stopped.
// cfg.FSM is used for the recovery and must be discarded afterwards; start
// the node again with New and a fresh FSM. Typically every surviving server
// is recovered with the same peers, or one server with itself as sole
// voter, and the others are wiped and join again.
func RecoverCluster(cfg Config, peers []raft.Server) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if len(peers) == 0 {
		return errors.New("cluster: recover: no peers given")
	}
	store, snaps, err := openStores(cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	addr := cfg.RaftAdvertise
	if addr == "" {
		addr = cfg.RaftBindAddr
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress(addr))
	defer trans.Close()
	if err := raft.RecoverCluster(raftConfig(cfg), releasingFSM{cfg.FSM}, store, store, snaps, trans,
		raft.Configuration{Servers: peers}); err != nil {
		return fmt.Errorf("cluster: recover raft cluster: %w", err)
	}
	cfg.Logger.Info("raft cluster configuration recovered", "node", cfg.NodeID, "servers", len(peers))
	return nil
}

// appliedIndexer is implemented by an FSM that persists its applied index.
type appliedIndexer interface {
	AppliedIndex() uint64
}

// appliedThrough reports whether the FSM has applied every entry up to
// index. raft's AppliedIndex moves when raft hands a batch to the FSM
// goroutine, before the FSM has applied it, so a read that waited on it
// alone could miss the batch. The FSM's own index moves only after its
// transaction commits, but no-op and barrier entries never reach the FSM,
// so it can stay below raft's for good: the entries between the two must
// then all be of those kinds.
func (n *Node) appliedThrough(index uint64) bool {
	if n.raft.AppliedIndex() < index {
		return false
	}
	ai, ok := n.cfg.FSM.(appliedIndexer)
	if !ok {
		return true
	}
	for i := index; i > ai.AppliedIndex(); i-- {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil {
			// Compacted into a snapshot, which the FSM holds.
			continue
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

// catchUpFromSnapshot restores the FSM from the newest raft snapshot when
// the FSM's state is older than it. With NoSnapshotRestoreOnStart raft
// replays only the entries after its newest snapshot, trusting the FSM to
// hold everything before; that breaks if the node crashed after raft
// installed a snapshot sent by the leader but before the FSM applied it.
func catchUpFromSnapshot(fsm raft.FSM, snaps raft.SnapshotStore, log *slog.Logger) error {
	ai, ok := fsm.(appliedIndexer)
	if !ok {
		return nil
	}
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	newest := list[0]
	if ai.AppliedIndex() >= newest.Index {
		return nil
	}
	log.Warn("state is older than the newest raft snapshot; restoring it", "applied", ai.AppliedIndex(), "snapshot", newest.Index)
	_, rc, err := snaps.Open(newest.ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", newest.ID, err)
	}
	if err := fsm.Restore(rc); err != nil {
		return fmt.Errorf("restore snapshot %s: %w", newest.ID, err)
	}
	return nil
}

// Indexes returns the applied and commit index and whether a leader is
// known, without going through raft's main loop (unlike Status): cheap
// enough for every request.
func (n *Node) Indexes() (applied, commit uint64, leaderKnown bool) {
	addr, _ := n.raft.LeaderWithID()
	return n.raft.AppliedIndex(), n.raft.CommitIndex(), addr != ""
}

// releasingFSM releases each snapshot after persisting it:
// raft.RecoverCluster never calls Release, and an FSM whose snapshot holds
// a read transaction (ours does) would otherwise keep its store from ever
// closing.
type releasingFSM struct{ raft.FSM }

func (f releasingFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := f.FSM.Snapshot()
	if err != nil {
		return nil, err
	}
	return releasingSnapshot{s}, nil
}

type releasingSnapshot struct{ raft.FSMSnapshot }

func (s releasingSnapshot) Persist(sink raft.SnapshotSink) error {
	defer s.FSMSnapshot.Release()
	return s.FSMSnapshot.Persist(sink)
}

func (s releasingSnapshot) Release() {}

// walStore closes the WAL and then its meta database.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w walStore) Close() error {
	return errors.Join(w.WAL.Close(), w.meta.Close())
}
