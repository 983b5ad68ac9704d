package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"
)

// Autopilot runs on the leader (as a leader task) every AutopilotInterval:
//
//   - a live gossip member that is not in the raft configuration is added as
//     a non-voter (its raft address comes from its gossip metadata); a member
//     whose id is configured with another address, or whose address is
//     configured under another (dead) id, is removed and added again. With
//     a secure transport only after a TLS handshake with that raft address
//     proved the member holds a certificate for its id with the key it
//     gossips (and its id is not bound to another key), and the id is bound
//     to that key before it is added (identity.go);
//   - a non-voter that has been healthy — alive in gossip, raft state, the
//     leader's term, gossiped applied index within 1000 entries of the
//     leader's, heartbeats succeeding — for ServerStabilizationTime without
//     interruption is promoted to voter;
//   - a configured server whose gossip state has been dead, left or absent
//     for longer than DeadNodeTimeout is removed: at most one per pass, never
//     the leader, and never when the voters left alive would be fewer than a
//     quorum of the new configuration.

type apActionKind string

const (
	apAddNonvoter apActionKind = "add-nonvoter"
	apPromote     apActionKind = "promote"
	apRemove      apActionKind = "remove"
)

type apAction struct {
	kind   apActionKind
	id     string
	addr   string
	reason string
}

// apState is autopilot's memory across passes within one leadership term.
type apState struct {
	healthySince map[string]time.Time
	missingSince map[string]time.Time
}

func newAPState() *apState {
	return &apState{healthySince: map[string]time.Time{}, missingSince: map[string]time.Time{}}
}

type apInput struct {
	now           time.Time
	self          string
	servers       []raft.Server
	members       map[string]member
	leaderApplied uint64
	term          uint64
	failing       map[string]bool // peers whose heartbeats currently fail
	stabilization time.Duration
	deadTimeout   time.Duration
	// secure: members are added or re-addressed only when trusted, i.e.
	// a TLS handshake proved the id they claim (fingerprint by id).
	secure  bool
	trusted map[string]string
}

// quorumAfterRemoval reports whether, without server id, the voters still
// alive in gossip would be a quorum of the remaining voters.
func quorumAfterRemoval(in apInput, id string) bool {
	voters, alive := 0, 0
	for _, s := range in.servers {
		if s.Suffrage != raft.Voter || string(s.ID) == id {
			continue
		}
		voters++
		if string(s.ID) == in.self || in.members[string(s.ID)].state == gossipAlive {
			alive++
		}
	}
	return voters >= 1 && alive >= voters/2+1
}

// planAutopilot decides one pass. It is pure apart from updating st.
func planAutopilot(st *apState, in apInput) []apAction {
	var actions []apAction
	inConf := map[string]raft.Server{}
	byAddr := map[string]raft.Server{}
	for _, s := range in.servers {
		inConf[string(s.ID)] = s
		byAddr[string(s.Address)] = s
	}
	removed := false // at most one removal per pass

	// 1. Members to add (or re-add at a new address).
	names := make([]string, 0, len(in.members))
	for name := range in.members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m := in.members[name]
		if name == in.self || m.state != gossipAlive || !m.metaOK || m.meta.ID != name || m.meta.RaftAddr == "" {
			continue
		}
		addr := m.meta.RaftAddr
		if s, ok := inConf[name]; ok && string(s.Address) == addr {
			continue
		}
		if in.secure && in.trusted[name] == "" {
			continue // see autopilotPass: reported as untrusted
		}
		if s, ok := inConf[name]; ok {
			if removed {
				continue
			}
			if s.Suffrage == raft.Voter && !quorumAfterRemoval(in, name) {
				continue
			}
			removed = true
			actions = append(actions,
				apAction{kind: apRemove, id: name, reason: fmt.Sprintf("address changed from %s to %s", s.Address, addr)},
				apAction{kind: apAddNonvoter, id: name, addr: addr, reason: "re-adding at new address"})
			continue
		}
		if old, ok := byAddr[addr]; ok {
			oldID := string(old.ID)
			om, seen := in.members[oldID]
			if oldID == in.self || (seen && om.state == gossipAlive) || removed {
				continue // address conflict with a live server: leave it alone
			}
			if old.Suffrage == raft.Voter && !quorumAfterRemoval(in, oldID) {
				continue
			}
			removed = true
			actions = append(actions, apAction{kind: apRemove, id: oldID,
				reason: fmt.Sprintf("address %s now belongs to %s", addr, name)})
		}
		actions = append(actions, apAction{kind: apAddNonvoter, id: name, addr: addr, reason: "alive in gossip, not in raft configuration"})
	}

	// 2. Promotions.
	for _, s := range in.servers {
		id := string(s.ID)
		if s.Suffrage != raft.Nonvoter {
			delete(st.healthySince, id)
			continue
		}
		m, ok := in.members[id]
		healthy := ok && m.state == gossipAlive && m.metaOK && m.meta.HasState &&
			m.meta.RaftAddr == string(s.Address) && m.meta.Term == in.term &&
			m.meta.Applied+maxTrailingApplied >= in.leaderApplied && !in.failing[id]
		if !healthy {
			delete(st.healthySince, id)
			continue
		}
		since, ok := st.healthySince[id]
		if !ok {
			st.healthySince[id] = in.now
			since = in.now
		}
		if in.now.Sub(since) >= in.stabilization {
			actions = append(actions, apAction{kind: apPromote, id: id, addr: string(s.Address),
				reason: fmt.Sprintf("healthy for %s", in.now.Sub(since).Round(time.Millisecond))})
		}
	}

	// 3. Dead server removal: the longest-dead non-voter first, then voters.
	type cand struct {
		s     raft.Server
		since time.Time
	}
	var cands []cand
	for _, s := range in.servers {
		id := string(s.ID)
		m, ok := in.members[id]
		var since time.Time
		switch {
		case !ok:
			if t, seen := st.missingSince[id]; seen {
				since = t
			} else {
				st.missingSince[id] = in.now
				since = in.now
			}
		case m.state == gossipDead || m.state == gossipLeft:
			delete(st.missingSince, id)
			since = m.since
		default:
			delete(st.missingSince, id)
			continue
		}
		if id == in.self || in.now.Sub(since) <= in.deadTimeout {
			continue
		}
		cands = append(cands, cand{s, since})
	}
	sort.Slice(cands, func(i, j int) bool {
		vi, vj := cands[i].s.Suffrage == raft.Voter, cands[j].s.Suffrage == raft.Voter
		if vi != vj {
			return !vi
		}
		return cands[i].since.Before(cands[j].since)
	})
	for _, c := range cands {
		if removed {
			break
		}
		id := string(c.s.ID)
		if c.s.Suffrage == raft.Voter && !quorumAfterRemoval(in, id) {
			continue
		}
		removed = true
		actions = append(actions, apAction{kind: apRemove, id: id,
			reason: fmt.Sprintf("gossip dead/left/absent for %s", in.now.Sub(c.since).Round(time.Second))})
	}
	return actions
}

// autopilot is the leader task.
func (n *Node) autopilot(ctx context.Context) {
	st := newAPState()
	t := time.NewTicker(n.cfg.AutopilotInterval)
	defer t.Stop()
	for {
		n.autopilotPass(ctx, st)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) autopilotPass(ctx context.Context, st *apState) {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		n.log.Warn("autopilot: read raft configuration", "err", err)
		return
	}
	n.mu.Lock()
	failing := make(map[string]bool, len(n.failing))
	for id := range n.failing {
		failing[id] = true
	}
	n.mu.Unlock()
	in := apInput{
		now:           time.Now(),
		self:          n.cfg.NodeID,
		servers:       cf.Configuration().Servers,
		members:       n.gossipMembers(),
		leaderApplied: n.raft.AppliedIndex(),
		term:          n.raft.CurrentTerm(),
		failing:       failing,
		stabilization: n.cfg.ServerStabilizationTime,
		deadTimeout:   n.cfg.DeadNodeTimeout,
	}
	if n.secure() {
		n.bindConfigured(ctx, in.servers)
		in.secure, in.trusted = true, n.verifyCandidates(ctx, in)
	}
	for _, a := range planAutopilot(st, in) {
		if ctx.Err() != nil {
			return
		}
		var f raft.IndexFuture
		id := raft.ServerID(a.id)
		if a.kind != apPromote {
			n.replicationReplaced(a.id)
		}
		switch a.kind {
		case apAddNonvoter:
			if in.secure {
				if err := n.bind(ctx, a.id, in.trusted[a.id]); err != nil {
					n.log.Warn("autopilot: not adding server", "server", a.id, "err", err)
					return
				}
			}
			f = n.raft.AddNonvoter(id, raft.ServerAddress(a.addr), 0, n.cfg.ApplyTimeout)
		case apPromote:
			f = n.raft.AddVoter(id, raft.ServerAddress(a.addr), 0, n.cfg.ApplyTimeout)
		case apRemove:
			f = n.raft.RemoveServer(id, 0, n.cfg.ApplyTimeout)
		}
		if err := waitFuture(ctx, f); err != nil {
			n.log.Warn("autopilot: change failed", "action", string(a.kind), "server", a.id, "err", err)
			return
		}
		delete(st.healthySince, a.id)
		n.log.Info("autopilot: configuration changed", "action", string(a.kind), "server", a.id, "addr", a.addr, "reason", a.reason)
	}
}

// replicationReplaced forgets the heartbeat failures of server id before
// autopilot removes or re-adds it: raft stops that replication and starts
// a new one (at the new address), which reports its own failures, while
// the old one never reports a recovery. Without this a server back at a
// new address stayed "failing", a non-voter, until the next leader.
func (n *Node) replicationReplaced(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.failing, id)
	n.replaced[id] = time.Now()
}

// verifyCandidates probes the live gossip members autopilot would add or
// re-address and returns those that proved their id (id -> fingerprint);
// the others are reported as untrusted.
func (n *Node) verifyCandidates(ctx context.Context, in apInput) map[string]string {
	addrOf := map[string]string{}
	for _, s := range in.servers {
		addrOf[string(s.ID)] = string(s.Address)
	}
	for id := range n.Untrusted() {
		if m, ok := in.members[id]; !ok || m.state == gossipDead || m.state == gossipLeft {
			n.clearImpostor(id) // gone: nothing to refuse any more
		}
	}
	trusted := map[string]string{}
	for name, m := range in.members {
		if name == in.self || m.state != gossipAlive || !m.metaOK || m.meta.ID != name || m.meta.RaftAddr == "" {
			continue
		}
		if addr, ok := addrOf[name]; ok && addr == m.meta.RaftAddr {
			continue
		}
		fp, err := n.verifyMember(ctx, m)
		if err != nil {
			n.reportImpostor(name, err.Error())
			continue
		}
		n.clearImpostor(name)
		trusted[name] = fp
	}
	return trusted
}
