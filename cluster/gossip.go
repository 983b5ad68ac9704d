package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip states as reported in api.Member.Gossip.
const (
	gossipAlive   = "alive"
	gossipSuspect = "suspect"
	gossipDead    = "dead"
	gossipLeft    = "left"
	gossipUnknown = "unknown"
)

const metaVersion = 1

// nodeMeta is what a server gossips about itself (memberlist NodeMeta,
// at most memberlist.MetaMaxSize = 512 bytes of compact JSON).
type nodeMeta struct {
	Version  int    `json:"v"`
	ID       string `json:"i"`
	RaftAddr string `json:"r"`
	HTTPAddr string `json:"h,omitempty"`
	Expect   int    `json:"e"`
	// HasState: the server has raft state (it can never bootstrap).
	HasState bool   `json:"s,omitempty"`
	Applied  uint64 `json:"a,omitempty"`
	Term     uint64 `json:"t,omitempty"`
	// Proposal is the hash of the voter set this server proposes to
	// bootstrap with; Locked says it is final (see bootstrap.go).
	Proposal string `json:"p,omitempty"`
	Locked   bool   `json:"l,omitempty"`
	// Key is the fingerprint of the node's raft TLS key (KeyFingerprint).
	Key string `json:"k,omitempty"`
	// Secrets and GossipKeys are the digests (SecretsDigest) of the
	// cluster secrets and operator gossip keys loaded now.
	Secrets    string `json:"x,omitempty"`
	GossipKeys string `json:"g,omitempty"`
}

func (m nodeMeta) encode() []byte {
	b, _ := json.Marshal(m) // plain struct: cannot fail
	return b
}

func decodeMeta(b []byte) (nodeMeta, bool) {
	var m nodeMeta
	if len(b) == 0 || json.Unmarshal(b, &m) != nil || m.ID == "" {
		return nodeMeta{}, false
	}
	return m, true
}

// checkMetaSize fails when the metadata could outgrow memberlist's limit.
func checkMetaSize(m nodeMeta) error {
	m.HasState, m.Locked = true, true
	m.Applied, m.Term = math.MaxUint64, math.MaxUint64
	m.Proposal = strings.Repeat("f", proposalHashLen)
	m.Key = strings.Repeat("f", 43)
	m.Secrets, m.GossipKeys = strings.Repeat("f", 16), strings.Repeat("f", 16)
	if n := len(m.encode()); n > memberlist.MetaMaxSize {
		return fmt.Errorf("gossip metadata would be %d bytes, over memberlist's %d: shorten NodeID or advertise addresses", n, memberlist.MetaMaxSize)
	}
	return nil
}

// member is this node's record of one gossip member. Memberlist forgets
// dead members after GossipToTheDeadTime; this registry keeps them, with the
// time they entered their state, for autopilot and Status.
type member struct {
	name   string
	addr   string // gossip address
	meta   nodeMeta
	metaOK bool
	// latest is the member's last gossiped metadata, also when meta kept
	// an earlier one because latest contradicts a key binding (adopted by
	// refreshBindings once the binding is dropped).
	latest   nodeMeta
	latestOK bool
	state    string
	since    time.Time
}

// gossipDelegate implements memberlist.Delegate and EventDelegate. Its
// methods run on memberlist goroutines, some under memberlist locks: they
// only touch Node state guarded by n.mu and never call into memberlist.
type gossipDelegate struct{ n *Node }

var (
	_ memberlist.Delegate      = gossipDelegate{}
	_ memberlist.EventDelegate = gossipDelegate{}
)

func (d gossipDelegate) NodeMeta(limit int) []byte {
	b := d.n.localMeta().encode()
	if len(b) > limit {
		// Cannot happen after checkMetaSize; never hand memberlist more
		// than it allows (it panics).
		return nil
	}
	return b
}

func (gossipDelegate) NotifyMsg([]byte)                  {}
func (gossipDelegate) GetBroadcasts(int, int) [][]byte   { return nil }
func (gossipDelegate) LocalState(bool) []byte            { return nil }
func (gossipDelegate) MergeRemoteState(_ []byte, _ bool) {}

func (d gossipDelegate) NotifyJoin(node *memberlist.Node)   { d.n.observeMember(node, gossipAlive) }
func (d gossipDelegate) NotifyUpdate(node *memberlist.Node) { d.n.observeMember(node, gossipAlive) }
func (d gossipDelegate) NotifyLeave(node *memberlist.Node) {
	state := gossipDead
	if node.State == memberlist.StateLeft {
		state = gossipLeft
	}
	d.n.observeMember(node, state)
}

// observeMember records a gossip event and wakes the bootstrap check.
func (n *Node) observeMember(node *memberlist.Node, state string) {
	now := time.Now()
	n.mu.Lock()
	m, ok := n.members[node.Name]
	if !ok {
		m = &member{name: node.Name}
		n.members[node.Name] = m
	}
	m.addr = node.Address()
	var impostor string
	if meta, ok := decodeMeta(node.Meta); ok {
		m.latest, m.latestOK = meta, true
		// Metadata claiming a bound id with another key is an impostor's:
		// keep what the real server gossiped (its addresses), so nothing
		// is forwarded or re-addressed to the impostor.
		// The bindings come from a cache (see refreshBindings): this runs
		// under memberlist's locks and must not wait for the store.
		if bound, isBound := n.bindCache[node.Name]; isBound && node.Name != n.cfg.NodeID && bound != meta.Key {
			impostor = impostorMeta
		}
		if impostor == "" {
			m.meta, m.metaOK = meta, true
		}
	}
	if m.state != state {
		m.state, m.since = state, now
	}
	n.mu.Unlock()
	if impostor != "" {
		n.reportImpostor(node.Name, impostor)
	}
	select {
	case n.gossipEvent <- struct{}{}:
	default:
	}
}

// impostorMeta is the reason reported for a member whose metadata claims
// a bound node id with another key.
const impostorMeta = "it gossips another key than its node id is bound to"

// refreshBindings reloads the binding cache observeMember checks, for the
// ids seen in gossip, and drops metadata that contradicts a binding (seen
// before the binding was cached). Called from the metadata loop.
func (n *Node) refreshBindings() {
	if !n.binding() {
		return
	}
	n.mu.Lock()
	names := make([]string, 0, len(n.members))
	for name := range n.members {
		names = append(names, name)
	}
	n.mu.Unlock()
	cache := make(map[string]string, len(names))
	for _, name := range names {
		if fp, ok := n.boundKey(name); ok {
			cache[name] = fp
		}
	}
	var impostors []string
	n.mu.Lock()
	n.bindCache = cache
	for name, m := range n.members {
		if name == n.cfg.NodeID {
			continue
		}
		fp, bound := cache[name]
		switch {
		case m.latestOK && (!bound || m.latest.Key == fp):
			// The last metadata is acceptable (again): a binding was
			// dropped, or it was gossiped before the binding was cached.
			m.meta, m.metaOK = m.latest, true
		case bound && m.metaOK && m.meta.Key != fp:
			m.meta, m.metaOK = nodeMeta{}, false
			impostors = append(impostors, name)
		}
	}
	n.mu.Unlock()
	for _, name := range impostors {
		n.reportImpostor(name, impostorMeta)
	}
}

// gossipMembers returns the registry merged with memberlist's current view
// (which knows about suspect members). Never call with n.mu held.
func (n *Node) gossipMembers() map[string]member {
	suspect := map[string]bool{}
	if n.ml != nil {
		for _, m := range n.ml.Members() {
			if m.State == memberlist.StateSuspect {
				suspect[m.Name] = true
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]member, len(n.members))
	for name, m := range n.members {
		c := *m
		if c.state == gossipAlive && suspect[name] {
			c.state = gossipSuspect
		}
		if name == n.cfg.NodeID {
			c.meta, c.metaOK, c.state = n.meta, true, gossipAlive
		}
		out[name] = c
	}
	if _, ok := out[n.cfg.NodeID]; !ok {
		out[n.cfg.NodeID] = member{name: n.cfg.NodeID, meta: n.meta, metaOK: true, state: gossipAlive}
	}
	return out
}

// localMeta returns a copy of this node's current metadata.
func (n *Node) localMeta() nodeMeta {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.meta
}

// updateLocalMeta applies f to the local metadata and, when it changed,
// asks the publisher to gossip it.
func (n *Node) updateLocalMeta(f func(*nodeMeta)) {
	n.mu.Lock()
	before := n.meta
	f(&n.meta)
	changed := n.meta != before
	n.mu.Unlock()
	if changed {
		select {
		case n.publish <- struct{}{}:
		default:
		}
	}
}

// newMemberlist creates (but does not join) the gossip layer.
func (n *Node) newMemberlist() (*memberlist.Memberlist, error) {
	cfg := n.cfg
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.NodeID
	host, port, err := net.SplitHostPort(cfg.GossipBindAddr)
	if err != nil {
		return nil, fmt.Errorf("GossipBindAddr %q: %w", cfg.GossipBindAddr, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	mc.BindAddr = host
	if mc.BindPort, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("GossipBindAddr %q: bad port: %w", cfg.GossipBindAddr, err)
	}
	mc.AdvertisePort = mc.BindPort
	if cfg.GossipAdvertise != "" {
		ah, ap, err := net.SplitHostPort(cfg.GossipAdvertise)
		if err != nil {
			return nil, fmt.Errorf("GossipAdvertise %q: %w", cfg.GossipAdvertise, err)
		}
		if ips, err := net.LookupIP(ah); err == nil && len(ips) > 0 && net.ParseIP(ah) == nil {
			ah = ips[0].String()
		}
		mc.AdvertiseAddr = ah
		if mc.AdvertisePort, err = strconv.Atoi(ap); err != nil {
			return nil, fmt.Errorf("GossipAdvertise %q: bad port: %w", cfg.GossipAdvertise, err)
		}
	}
	t := cfg.Gossip
	if t.ProbeInterval > 0 {
		mc.ProbeInterval = t.ProbeInterval
	}
	if t.ProbeTimeout > 0 {
		mc.ProbeTimeout = t.ProbeTimeout
	}
	if t.GossipInterval > 0 {
		mc.GossipInterval = t.GossipInterval
	}
	if t.PushPullInterval > 0 {
		mc.PushPullInterval = t.PushPullInterval
	}
	if t.SuspicionMult > 0 {
		mc.SuspicionMult = t.SuspicionMult
	}
	if t.GossipToTheDeadTime > 0 {
		mc.GossipToTheDeadTime = t.GossipToTheDeadTime
	}
	mc.DeadNodeReclaimTime = t.DeadNodeReclaimTime
	if n.keyring != nil {
		mc.Keyring = n.keyring
	}
	mc.Delegate = gossipDelegate{n}
	mc.Events = gossipDelegate{n}
	mc.Logger = newStdLogger(n.log.With("logger", "memberlist"))
	if err := useSourceBoundTransport(mc); err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.GossipBindAddr, err)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", cfg.GossipBindAddr, err)
	}
	// Read once, before anything can update the local node concurrently.
	n.gossipAddr = ml.LocalNode().Address()
	return ml, nil
}

// GossipAddr returns the address this node gossips on (useful with port 0).
func (n *Node) GossipAddr() string { return n.gossipAddr }

// publishLoop gossips metadata changes with memberlist.UpdateNode. Changes
// coalesce: one UpdateNode carries the latest metadata.
func (n *Node) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.publish:
		}
		// UpdateNode waits for the broadcast to go out; bound it so that
		// shutdown is never held up for long.
		if err := n.ml.UpdateNode(2 * time.Second); err != nil {
			n.log.Debug("gossip metadata update not yet broadcast", "err", err)
		}
	}
}

// joinLoop joins cfg.Join until one join succeeded, and again whenever
// fewer than BootstrapExpect members are visible. memberlist resolves the
// names on every attempt.
func (n *Node) joinLoop(ctx context.Context) {
	self := n.GossipAddr()
	var addrs []string
	for _, a := range n.cfg.Join {
		if a = strings.TrimSpace(a); a != "" && a != self {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return
	}
	joined := false
	failures := 0
	t := time.NewTicker(n.cfg.Gossip.JoinInterval)
	defer t.Stop()
	for {
		if !joined || n.ml.NumMembers() < n.cfg.BootstrapExpect {
			count, err := n.ml.Join(addrs)
			switch {
			case count > 0:
				if !joined {
					n.log.Info("joined gossip", "contacted", count, "members", n.ml.NumMembers())
				}
				joined, failures = true, 0
			case err != nil:
				failures++
				// Log the first failures, then every tenth: DNS names of a
				// StatefulSet appear late and this is expected for a while.
				if failures <= 3 || failures%10 == 0 {
					n.log.Warn("gossip join failed; retrying", "addrs", addrs, "attempt", failures, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sourceBoundTransport is memberlist's NetTransport with its stream (TCP)
// connections dialled from the bind IP, like the raft transport's (see
// DialerFrom); its UDP packets already leave from the bound socket.
type sourceBoundTransport struct {
	*memberlist.NetTransport
	dialer net.Dialer
}

func (t *sourceBoundTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	d := t.dialer
	d.Timeout = timeout
	return d.Dial("tcp", addr)
}

func (t *sourceBoundTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// useSourceBoundTransport gives mc a sourceBoundTransport when its bind
// address is a concrete IP; otherwise memberlist builds its own transport.
func useSourceBoundTransport(mc *memberlist.Config) error {
	ip := net.ParseIP(mc.BindAddr)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	nc := &memberlist.NetTransportConfig{BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger}
	// Port 0 binds TCP first, then UDP on the same number, which another
	// process may hold: retry like memberlist does for its own transport.
	tries := 1
	if mc.BindPort == 0 {
		tries = 10
	}
	var nt *memberlist.NetTransport
	var err error
	for range tries {
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	if mc.BindPort == 0 {
		mc.BindPort = nt.GetAutoBindPort()
		if mc.AdvertisePort == 0 {
			mc.AdvertisePort = mc.BindPort
		}
	}
	mc.Transport = &sourceBoundTransport{NetTransport: nt, dialer: net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}}
	return nil
}
