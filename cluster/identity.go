package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// Node identity
//
// With certificates derived from the cluster secret, a node id is bound to
// the fingerprint of the key its certificate carries (IdentityStore,
// replicated through the raft log). The leader binds the
// bootstrap voters from the certificates they present, and every later
// server before autopilot adds it. Then:
//
//   - a raft TLS handshake (either direction) with a certificate for a
//     bound id and another key fails;
//   - autopilot adds a gossip member only after a TLS handshake with the
//     raft address it gossips proved it holds a valid certificate for the
//     id it claims, with the key it gossips;
//   - autopilot never re-addresses or removes a bound server because of a
//     gossip member claiming its id with another key: that member is
//     reported (log, conflux_cluster_impostor_members, /v1/status).
//
// `peers remove <id>` drops the binding, so a server whose data dir (and
// key) was wiped can join again.

// IdentityStore is the replicated node id → key fingerprint record. The
// FSM implements it (fsm.FSM); reads are local.
type IdentityStore interface {
	// NodeKey returns the fingerprint bound to id.
	NodeKey(id string) (fingerprint string, ok bool, err error)
	// BindCommand encodes the command binding id to fingerprint (a
	// bound id keeps its first fingerprint).
	BindCommand(id, fingerprint string) ([]byte, error)
	// UnbindCommand encodes the command dropping id's binding.
	UnbindCommand(id string) ([]byte, error)
}

// secure reports whether raft runs TLS (derived or operator certificates).
func (n *Node) secure() bool { return n.clientTLS != nil }

// binding reports whether node ids are bound to keys: with certificates
// derived from the cluster secret, whose node keys never change. An
// operator's certificates are not bound: their CA vouches for them, and a
// renewed certificate may well carry a new key.
func (n *Node) binding() bool { return n.pki != nil && n.cfg.Identities != nil }

// boundKey returns id's bound fingerprint. A read error counts as bound to
// nothing anyone holds, so that verification fails closed.
func (n *Node) boundKey(id string) (string, bool) {
	if !n.binding() {
		return "", false
	}
	fp, ok, err := n.cfg.Identities.NodeKey(id)
	if err != nil {
		return "!unreadable", true
	}
	return fp, ok
}

// checkBinding fails when id is bound to another key.
func (n *Node) checkBinding(id, fp string) error {
	if bound, ok := n.boundKey(id); ok && bound != fp {
		return fmt.Errorf("%w: %q", ErrKeyMismatch, id)
	}
	return nil
}

// verifyPeer is the raft handshake's certificate check with the derived
// PKI: the chain, the node id, and its binding.
func (n *Node) verifyPeer(rawCerts [][]byte) error {
	id, fp, err := n.pki.verifyLeaf(rawCerts)
	if err == nil {
		err = n.checkBinding(id, fp)
	}
	if err != nil {
		n.refused(err)
	}
	return err
}

// refused counts and logs (at most once a second) a refused handshake.
func (n *Node) refused(err error) {
	reason := "certificate"
	if errors.Is(err, ErrKeyMismatch) {
		reason = "key_mismatch"
	}
	if n.metrics != nil {
		n.metrics.tlsRefused.WithLabelValues(reason).Inc()
	}
	now := time.Now()
	n.mu.Lock()
	quiet := now.Sub(n.lastRefusedLog) < time.Second
	if !quiet {
		n.lastRefusedLog = now
	}
	n.mu.Unlock()
	if !quiet {
		n.log.Warn("refused a raft peer", "reason", reason, "err", err)
	}
}

// transportTLS builds the raft transport's TLS configs: operator TLS when
// RaftTLS is set, else the derived PKI when ClusterSecrets are, else none
// (plain TCP). It also sets the node's key fingerprint.
func (n *Node) transportTLS() error {
	cfg := n.cfg
	switch {
	case cfg.RaftTLS != nil:
		server, client := tlsConfigs(cfg.RaftTLS)
		server.MinVersion, client.MinVersion = tls.VersionTLS13, tls.VersionTLS13
		n.serverTLS, n.clientTLS = server, client
		if len(cfg.RaftTLS.Certificates) > 0 && len(cfg.RaftTLS.Certificates[0].Certificate) > 0 {
			if leaf, err := x509.ParseCertificate(cfg.RaftTLS.Certificates[0].Certificate[0]); err == nil {
				n.keyFP = KeyFingerprint(leaf.RawSubjectPublicKeyInfo)
			}
		}
	case len(cfg.ClusterSecrets) > 0:
		p, err := newPKI(cfg.NodeID, raftDir(cfg.DataDir), cfg.ClusterSecrets, cfg.NodeCertLifetime)
		if err != nil {
			return err
		}
		n.pki, n.keyFP = p, p.fp
		n.serverTLS, n.clientTLS = p.tlsConfigs(n.verifyPeer)
	}
	return nil
}

// probe performs a TLS handshake with a raft address (and hangs up) and
// returns the node id its certificate names ("" for an operator
// certificate without one) and its key's fingerprint. The handshake itself
// checks the chain and the binding.
func (n *Node) probe(ctx context.Context, addr string) (id, fp string, err error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d := DialerFrom(n.cfg.RaftBindAddr)
	conn, err := (&tls.Dialer{NetDialer: &d, Config: n.clientTLS}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return "", "", errors.New("no certificate")
	}
	leaf := cs.PeerCertificates[0]
	return certNodeID(leaf), KeyFingerprint(leaf.RawSubjectPublicKeyInfo), nil
}

// verifyMember checks that gossip member m holds a valid certificate for
// its claimed id, with the key it gossips, and that the id is not bound to
// another key. It returns the verified fingerprint.
func (n *Node) verifyMember(ctx context.Context, m member) (string, error) {
	if m.meta.Key == "" {
		return "", errors.New("it gossips no key fingerprint")
	}
	id, fp, err := n.probe(ctx, m.meta.RaftAddr)
	if err != nil {
		return "", fmt.Errorf("TLS handshake with its raft address %s: %w", m.meta.RaftAddr, err)
	}
	if id != "" && id != m.name {
		return "", fmt.Errorf("its raft address %s presents a certificate for %q", m.meta.RaftAddr, id)
	}
	if fp != m.meta.Key {
		return "", fmt.Errorf("its raft address %s presents another key than it gossips", m.meta.RaftAddr)
	}
	if err := n.checkBinding(m.name, fp); err != nil {
		return "", err
	}
	return fp, nil
}

// bind writes id → fp through the log (leader only) and confirms it.
func (n *Node) bind(ctx context.Context, id, fp string) error {
	if !n.binding() {
		return nil
	}
	if bound, ok := n.boundKey(id); ok {
		if bound != fp {
			return fmt.Errorf("%w: %q", ErrKeyMismatch, id)
		}
		return nil
	}
	cmd, err := n.cfg.Identities.BindCommand(id, fp)
	if err != nil {
		return err
	}
	if _, _, err := n.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("bind node %q to its key: %w", id, err)
	}
	if bound, ok := n.boundKey(id); !ok || bound != fp {
		return fmt.Errorf("%w: %q", ErrKeyMismatch, id)
	}
	n.log.Info("bound node id to its key", "server", id, "fingerprint", fp)
	return nil
}

// unbind drops id's binding (leader only); reports whether there was one.
func (n *Node) unbind(ctx context.Context, id string) (bool, error) {
	if !n.binding() {
		return false, nil
	}
	if _, ok := n.boundKey(id); !ok {
		return false, nil
	}
	cmd, err := n.cfg.Identities.UnbindCommand(id)
	if err != nil {
		return false, err
	}
	if _, _, err := n.Apply(ctx, cmd); err != nil {
		return false, fmt.Errorf("unbind node %q: %w", id, err)
	}
	n.log.Info("dropped node key binding", "server", id)
	return true, nil
}

// bindConfigured binds every server of the raft configuration that has no
// binding yet (the bootstrap voters, or servers of a cluster upgraded from
// a release without bindings) from the certificate its raft address
// presents. Leader only; a server that does not answer is tried again on
// the next pass.
func (n *Node) bindConfigured(ctx context.Context, servers []raft.Server) {
	if !n.binding() {
		return
	}
	for _, s := range servers {
		id := string(s.ID)
		if _, ok := n.boundKey(id); ok {
			continue
		}
		fp := n.keyFP
		if id != n.cfg.NodeID {
			pid, pfp, err := n.probe(ctx, string(s.Address))
			if err != nil {
				n.log.Debug("cannot bind server yet: its raft address does not complete a handshake", "server", id, "err", err)
				continue
			}
			if pid != "" && pid != id {
				n.reportImpostor(id, fmt.Sprintf("its raft address %s presents a certificate for %q", s.Address, pid))
				continue
			}
			fp = pfp
		}
		if fp == "" {
			continue
		}
		if err := n.bind(ctx, id, fp); err != nil {
			n.log.Warn("bind server", "server", id, "err", err)
		}
	}
}

// reportImpostor records a gossip member autopilot refused to trust.
func (n *Node) reportImpostor(id, reason string) {
	n.mu.Lock()
	old, seen := n.impostors[id]
	n.impostors[id] = reason
	count := len(n.impostors)
	n.mu.Unlock()
	if n.metrics != nil {
		n.metrics.impostors.Set(float64(count))
	}
	if !seen || old != reason {
		n.log.Warn("autopilot: refusing a gossip member that cannot prove its node id", "member", id, "reason", reason)
	}
}

// clearImpostor forgets a report once the member verified.
func (n *Node) clearImpostor(id string) {
	n.mu.Lock()
	delete(n.impostors, id)
	count := len(n.impostors)
	n.mu.Unlock()
	if n.metrics != nil {
		n.metrics.impostors.Set(float64(count))
	}
}

// Untrusted returns the gossip members this node refused to trust and why:
// metadata contradicting a key binding (any node), or a failed proof of
// identity when autopilot would add or re-address them (the leader).
func (n *Node) Untrusted() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]string, len(n.impostors))
	for id, r := range n.impostors {
		out[id] = r
	}
	return out
}

func untrustedList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for id, r := range m {
		out = append(out, id+": "+r)
	}
	sort.Strings(out)
	return out
}

// KeyFingerprint returns the fingerprint of this node's TLS key ("" with
// plain TCP).
func (n *Node) KeyFingerprint() string { return n.keyFP }

// SetClusterSecrets replaces the cluster secrets at run time (a rotation
// step): the CAs accepted from peers, this node's certificate (re-issued
// from the new primary) and, unless the gossip keys are managed
// separately, the gossip keyring. Established connections stay up.
func (n *Node) SetClusterSecrets(secrets [][]byte) error {
	if err := checkSecretLengths(secrets); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if n.pki == nil && n.keyring == nil {
		return errors.New("cluster: this node was started without cluster secrets; restart it to secure it")
	}
	if n.pki != nil && n.cfg.RaftTLS == nil {
		if err := n.pki.setSecrets(secrets); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if len(n.cfg.GossipKeys) == 0 {
		if err := n.setKeyring(gossipKeyring(secrets)); err != nil {
			return err
		}
	}
	digest := SecretsDigest(secrets)
	n.updateLocalMeta(func(m *nodeMeta) { m.Secrets = digest })
	n.log.Info("cluster secrets loaded", "secrets", len(secrets), "digest", digest)
	return nil
}

// SetGossipKeys replaces an operator-managed gossip keyring at run time.
func (n *Node) SetGossipKeys(keys [][]byte) error {
	if err := checkGossipKeyLengths(keys); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := n.setKeyring(keys); err != nil {
		return err
	}
	digest := SecretsDigest(keys)
	n.updateLocalMeta(func(m *nodeMeta) { m.GossipKeys = digest })
	n.log.Info("gossip keys loaded", "keys", len(keys), "digest", digest)
	return nil
}

// setKeyring installs keys (the first becomes primary) and removes every
// other key, in the order that keeps every member able to talk: install,
// use, remove.
func (n *Node) setKeyring(keys [][]byte) error {
	if n.keyring == nil {
		return errors.New("cluster: gossip runs unencrypted on this node; restart it with a key")
	}
	if len(keys) == 0 {
		return errors.New("cluster: no gossip key")
	}
	for _, k := range keys {
		if err := n.keyring.AddKey(k); err != nil {
			return fmt.Errorf("cluster: install gossip key: %w", err)
		}
	}
	if err := n.keyring.UseKey(keys[0]); err != nil {
		return fmt.Errorf("cluster: use gossip key: %w", err)
	}
	for _, old := range n.keyring.GetKeys() {
		keep := false
		for _, k := range keys {
			if string(k) == string(old) {
				keep = true
			}
		}
		if !keep {
			if err := n.keyring.RemoveKey(old); err != nil {
				return fmt.Errorf("cluster: remove gossip key: %w", err)
			}
		}
	}
	return nil
}

// newKeyring builds the memberlist keyring at start (nil: no encryption).
func newKeyring(cfg Config) (*memberlist.Keyring, error) {
	keys := cfg.GossipKeys
	if len(keys) == 0 && len(cfg.ClusterSecrets) > 0 {
		keys = gossipKeyring(cfg.ClusterSecrets)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	kr, err := memberlist.NewKeyring(keys[1:], keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip keyring: %w", err)
	}
	return kr, nil
}

func checkSecretLengths(secrets [][]byte) error {
	for i, s := range secrets {
		if len(s) < MinClusterSecretBytes {
			return fmt.Errorf("secret %d has %d bytes, at least %d are required", i+1, len(s), MinClusterSecretBytes)
		}
	}
	if len(secrets) > MaxClusterSecrets {
		return fmt.Errorf("%d secrets, at most %d", len(secrets), MaxClusterSecrets)
	}
	return nil
}

func checkGossipKeyLengths(keys [][]byte) error {
	for i, k := range keys {
		switch len(k) {
		case 16, 24, 32:
		default:
			return fmt.Errorf("key %d has %d bytes; it must be 16, 24 or 32", i+1, len(k))
		}
	}
	return nil
}

// raftDir is the folder of the raft files and the node key.
func raftDir(dataDir string) string { return filepath.Join(dataDir, "raft") }
