package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"
)

// Bootstrap agreement
//
// A server with raft state never bootstraps. A server without state takes
// part in a two-phase agreement carried in its gossip metadata:
//
//  1. Propose. When it sees at least BootstrapExpect live members that all
//     advertise the same BootstrapExpect and none of which has raft state, it
//     takes the BootstrapExpect members with the lowest (node id, raft
//     address) as the voter set S and publishes Proposal = hash(S).
//  2. Lock. When it is itself in S and every member of S publishes
//     hash(S), it writes S to DataDir/raft/bootstrap-lock.json (fsync'd) and
//     only then publishes Locked = true. A lock is permanent: a locked server
//     never proposes anything else, also after a restart, until it has raft
//     state (then the lock no longer matters and is deleted).
//  3. Bootstrap. When it is in S and every member of S publishes hash(S)
//     with Locked = true, it calls raft.BootstrapCluster(S). Every member of S
//     does the same with the identical configuration, which raft allows.
//
// Why two different voter sets S ≠ S' can never both bootstrap: bootstrapping
// S requires that every member of S was seen locked on hash(S), and
// bootstrapping S' that every member of S' was seen locked on hash(S')
// (hash(S) ≠ hash(S'): SHA-256 over the ids and addresses). A server locks
// at most once and never changes or drops its lock, so no server is locked on
// both: S and S' are disjoint. Both have exactly BootstrapExpect members, so
// two disjoint sets need at least 2×BootstrapExpect servers, all without
// raft state, split into two groups that never saw each other's lower ids —
// impossible with fewer than 2×BootstrapExpect servers (a 3-pod
// StatefulSet with expect 3, or 4–5 pods with expect 3), whatever the timing
// of gossip, restarts or DNS.
//
// The propose phase only serves liveness: servers lock only once their views
// agree, so normally all of S lock the same set. A server left locked on a
// set that never completes (a member of S never came back) waits to be
// added by the leader of whatever cluster does form; the operator can delete
// the lock file to let it propose again.

const (
	proposalHashLen   = 32 // hex characters (128 bits of SHA-256)
	bootstrapLockFile = "bootstrap-lock.json"
)

// voter is one member of a bootstrap voter set.
type voter struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// bootstrapLock is the persisted, final bootstrap proposal.
type bootstrapLock struct {
	Hash   string  `json:"hash"`
	Voters []voter `json:"voters"`
}

// voterSetHash identifies a voter set (sorted by id, then address).
func voterSetHash(set []voter) string {
	var b strings.Builder
	b.WriteString("conflux-bootstrap/v1\n")
	b.WriteString(strconv.Itoa(len(set)))
	for _, v := range set {
		b.WriteString("\n" + v.ID + "\x00" + v.Addr)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:proposalHashLen]
}

// lowestVoters returns the expect members with the lowest (id, raft addr).
func lowestVoters(members []nodeMeta, expect int) []voter {
	all := make([]voter, 0, len(members))
	for _, m := range members {
		all = append(all, voter{ID: m.ID, Addr: m.RaftAddr})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].ID != all[j].ID {
			return all[i].ID < all[j].ID
		}
		return all[i].Addr < all[j].Addr
	})
	if len(all) > expect {
		all = all[:expect]
	}
	return all
}

// bootstrapInput is what the bootstrap decision looks at.
type bootstrapInput struct {
	self   string
	expect int
	// members are the live (alive or suspect) gossip members with valid
	// metadata, this server included with its current metadata.
	members []nodeMeta
	lock    *bootstrapLock
}

// bootstrapDecision is what to do next.
type bootstrapDecision struct {
	proposal  string  // proposal to publish when not locked ("" = none)
	lock      []voter // lock on this set now
	bootstrap []voter // call raft.BootstrapCluster with this set now
	blocked   string  // why bootstrap cannot proceed (for logs)
	mismatch  bool    // blocked by a BootstrapExpect mismatch (an error)
}

// decideBootstrap is the pure decision of one bootstrap step (see the
// package comment above for the protocol and its safety argument).
func decideBootstrap(in bootstrapInput) bootstrapDecision {
	var d bootstrapDecision
	for _, m := range in.members {
		if m.Expect != in.expect {
			d.blocked = fmt.Sprintf("member %s advertises bootstrap-expect %d, this server %d", m.ID, m.Expect, in.expect)
			d.mismatch = true
			return d
		}
		if m.HasState && m.ID != in.self {
			d.blocked = fmt.Sprintf("member %s already has raft state: waiting to be added to its cluster", m.ID)
			return d
		}
	}
	var set []voter
	var hash string
	if in.lock != nil {
		set, hash = in.lock.Voters, in.lock.Hash
	} else {
		if len(in.members) < in.expect {
			d.blocked = fmt.Sprintf("waiting for %d members, have %d", in.expect, len(in.members))
			return d
		}
		set = lockedSetWith(in.members, in.expect, in.self)
		if set == nil {
			set = lowestVoters(in.members, in.expect)
		}
		hash = voterSetHash(set)
		d.proposal = hash
	}
	if !containsVoter(set, in.self) {
		d.blocked = "this server is not in the bootstrap voter set " + formatVoters(set)
		return d
	}
	byID := make(map[string]nodeMeta, len(in.members))
	for _, m := range in.members {
		byID[m.ID] = m
	}
	allProposed, allLocked := true, true
	for _, v := range set {
		m, ok := byID[v.ID]
		if !ok || m.RaftAddr != v.Addr || m.Proposal != hash {
			allProposed, allLocked = false, false
			d.blocked = "waiting for " + v.ID + " to propose " + formatVoters(set)
			break
		}
		if !m.Locked {
			allLocked = false
			d.blocked = "waiting for " + v.ID + " to lock " + formatVoters(set)
		}
	}
	switch {
	case in.lock == nil && allProposed:
		d.lock = set
	case in.lock != nil && allLocked:
		d.bootstrap = set
		d.blocked = ""
	}
	return d
}

// maxLockedSetSearch bounds the members lockedSetWith searches: it tries
// every BootstrapExpect-subset of them (C(12,5) = 792 hashes at most).
const maxLockedSetSearch = 12

// lockedSetWith returns a voter set that a live member is locked on and
// that includes self, or nil. A lock is permanent, so such a set is the
// only one its locked members can still bootstrap: proposing it instead of
// the lowest ids keeps the agreement live when a lower id appeared after
// some members had locked (four servers, expect three, one started late:
// two locked on {1,2,3} while 1 saw 0 and proposed {0,1,2}, and neither
// set could ever complete). Safety does not depend on proposals, only on
// locks (see above). The set is found from the hash by trying the subsets
// of the visible members; when several match, the lowest hash wins so that
// every server picks the same one.
func lockedSetWith(members []nodeMeta, expect int, self string) []voter {
	locked := map[string]bool{}
	for _, m := range members {
		if m.Locked && m.Proposal != "" {
			locked[m.Proposal] = true
		}
	}
	if len(locked) == 0 || len(members) > maxLockedSetSearch {
		return nil
	}
	all := lowestVoters(members, len(members)) // sorted
	var best []voter
	bestHash := ""
	var pick func(start int, cur []voter)
	pick = func(start int, cur []voter) {
		if len(cur) == expect {
			h := voterSetHash(cur)
			if locked[h] && containsVoter(cur, self) && (best == nil || h < bestHash) {
				best, bestHash = slices.Clone(cur), h
			}
			return
		}
		for i := start; i < len(all); i++ {
			pick(i+1, append(cur, all[i]))
		}
	}
	pick(0, make([]voter, 0, expect))
	return best
}

func containsVoter(set []voter, id string) bool {
	for _, v := range set {
		if v.ID == id {
			return true
		}
	}
	return false
}

func formatVoters(set []voter) string {
	parts := make([]string, len(set))
	for i, v := range set {
		parts[i] = v.ID + "@" + v.Addr
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func raftConfiguration(set []voter) raft.Configuration {
	var c raft.Configuration
	for _, v := range set {
		c.Servers = append(c.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(v.ID), Address: raft.ServerAddress(v.Addr),
		})
	}
	return c
}

func lockPath(dataDir string) string {
	return filepath.Join(dataDir, "raft", bootstrapLockFile)
}

// loadBootstrapLock reads the persisted lock; nil when there is none.
func loadBootstrapLock(dataDir string) (*bootstrapLock, error) {
	b, err := os.ReadFile(lockPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read bootstrap lock: %w", err)
	}
	var l bootstrapLock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("parse bootstrap lock %s: %w", lockPath(dataDir), err)
	}
	if l.Hash == "" || l.Hash != voterSetHash(l.Voters) {
		return nil, fmt.Errorf("bootstrap lock %s is corrupt (hash does not match its voters)", lockPath(dataDir))
	}
	return &l, nil
}

// saveBootstrapLock durably writes the lock before it is ever published.
func saveBootstrapLock(dataDir string, l *bootstrapLock) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	path := lockPath(dataDir)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write bootstrap lock: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write bootstrap lock: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync bootstrap lock: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close bootstrap lock: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install bootstrap lock: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// checkBootstrap runs one step of the bootstrap agreement. It is called by
// the metadata loop only; it never holds n.mu while calling memberlist or
// raft.
func (n *Node) checkBootstrap() {
	if n.hasState.Load() || n.cfg.BootstrapExpect <= 1 {
		return
	}
	var live []nodeMeta
	for _, m := range n.gossipMembers() {
		if !m.metaOK || (m.state != gossipAlive && m.state != gossipSuspect) {
			continue
		}
		live = append(live, m.meta)
	}
	d := decideBootstrap(bootstrapInput{
		self: n.cfg.NodeID, expect: n.cfg.BootstrapExpect, members: live, lock: n.lock,
	})
	if d.blocked != n.lastBootstrapBlock {
		n.lastBootstrapBlock = d.blocked
		switch {
		case d.mismatch:
			n.log.Error("bootstrap blocked: bootstrap-expect mismatch", "reason", d.blocked)
		case d.blocked != "":
			n.log.Info("bootstrap pending", "reason", d.blocked)
		}
	}
	if n.lock == nil {
		n.updateLocalMeta(func(m *nodeMeta) { m.Proposal = d.proposal })
	}
	if d.lock != nil {
		l := &bootstrapLock{Hash: voterSetHash(d.lock), Voters: d.lock}
		if err := saveBootstrapLock(n.cfg.DataDir, l); err != nil {
			n.log.Error("cannot persist bootstrap lock", "err", err)
			return
		}
		n.lock = l
		n.log.Info("bootstrap voter set locked", "voters", formatVoters(d.lock), "hash", l.Hash)
		n.updateLocalMeta(func(m *nodeMeta) { m.Proposal, m.Locked = l.Hash, true })
	}
	if d.bootstrap != nil {
		n.bootstrap(raftConfiguration(d.bootstrap))
	}
}

// bootstrap calls raft.BootstrapCluster; raft refuses when state exists.
func (n *Node) bootstrap(conf raft.Configuration) {
	err := n.raft.BootstrapCluster(conf).Error()
	switch {
	case err == nil:
		n.log.Info("bootstrapped raft cluster", "servers", len(conf.Servers))
	case errors.Is(err, raft.ErrCantBootstrap):
		n.log.Info("not bootstrapping: raft state already exists")
	default:
		n.log.Error("raft bootstrap failed", "err", err)
		return
	}
	n.hasState.Store(true)
	n.updateLocalMeta(func(m *nodeMeta) { m.HasState = true })
	if err := os.Remove(lockPath(n.cfg.DataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		n.log.Warn("cannot remove bootstrap lock", "err", err)
	}
}
