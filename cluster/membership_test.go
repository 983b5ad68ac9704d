package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// suffrageOf returns id's suffrage and address in leader's configuration.
func suffrageOf(leader *Node, id string) (raft.ServerSuffrage, string, bool) {
	cf := leader.Raft().GetConfiguration()
	if cf.Error() != nil {
		return 0, "", false
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			return s.Suffrage, string(s.Address), true
		}
	}
	return 0, "", false
}

// A voter that comes back at a new raft address (a pod with a new IP) is
// re-added by autopilot as a non-voter; it must be a voter again soon
// after (ServerStabilizationTime plus a few passes), under the same
// leader. The leader's heartbeats to the old address failed, and raft
// reports no resumption for a replication it stopped: a failure flag kept
// from then used to hold the node back until the next leader change.
func TestVoterBackAtNewAddressIsPromotedWithoutLeaderChange(t *testing.T) {
	// Slower raft timing than the other tests: the assertion is that the
	// leader does not change, and a busy machine must not cause an
	// election of its own. Autopilot's timing, which the bound is about,
	// stays fast.
	relaxed := func(c *Config) {
		c.Raft.HeartbeatTimeout, c.Raft.ElectionTimeout, c.Raft.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
	}
	nodes, specs, leader := startCluster(t, 3, relaxed)
	apply(t, leader, "before")
	term := leader.Raft().CurrentTerm()

	vi := slices.IndexFunc(nodes, func(n *Node) bool { return n != leader })
	victim, spec := nodes[vi], specs[vi]
	oldAddr := victim.cfg.RaftBindAddr
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	// Long enough for the leader's heartbeats to the old address to fail.
	testutil.WaitFor(t, 10*time.Second, "the leader reports failing heartbeats to "+spec.id, func() bool {
		leader.mu.Lock()
		defer leader.mu.Unlock()
		_, failing := leader.failing[spec.id]
		return failing
	})
	apply(t, leader, "while-down")

	spec.raftAddr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePorts(t, 1)[0])
	cfg := testConfig(t, spec, gossipAddrs(specs), 3)
	relaxed(&cfg)
	restarted := startNode(t, cfg)
	started := time.Now()

	// Gossip sees the new address within a few probes, autopilot re-adds
	// the node on its next pass and promotes it after the stabilization
	// time: a few seconds. Before the fix it took until the next leader.
	bound := cfg.ServerStabilizationTime + 30*cfg.AutopilotInterval
	sawNonvoter := false
	testutil.WaitFor(t, bound, spec.id+" a voter again at its new address", func() bool {
		s, addr, ok := suffrageOf(leader, spec.id)
		if !ok || addr != spec.raftAddr {
			return false
		}
		if s == raft.Nonvoter {
			sawNonvoter = true
		}
		return s == raft.Voter
	})
	t.Logf("%s back as a voter at %s (was %s) %s after its restart (seen as non-voter first: %v)",
		spec.id, spec.raftAddr, oldAddr, time.Since(started).Round(time.Millisecond), sawNonvoter)
	if !leader.IsLeader() || leader.Raft().CurrentTerm() != term {
		t.Fatalf("leadership changed (leader %s: %v, term %d → %d): the promotion must not need a new leader",
			leader.ID(), leader.IsLeader(), term, leader.Raft().CurrentTerm())
	}
	all := slices.Clone(nodes)
	all[vi] = restarted
	waitForCluster(t, all, ids(all), 10*time.Second)
	apply(t, leader, "after")
}
