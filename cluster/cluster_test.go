package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

func TestSingleNodeBootstrap(t *testing.T) {
	specs := newSpecs(t, "solo", 1)
	cfg := testConfig(t, specs[0], nil, 1)
	reg := cfg.Registerer.(*prometheus.Registry)
	n := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitForLeader(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "leadership", n.IsLeader)
	resp, idx, err := n.Apply(ctx, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if resp != 1 || idx == 0 {
		t.Fatalf("resp=%v idx=%d", resp, idx)
	}
	if err := n.WaitForApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if err := n.VerifyLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	l, ok := n.Leader()
	if !ok || l.ID != "solo0" || l.HTTPAddr != cfg.HTTPAdvertise || l.RaftAddr != specs[0].raftAddr {
		t.Fatalf("Leader() = %+v, %v", l, ok)
	}
	st := n.Status()
	if st.State != "Leader" || st.Leader != "solo0" || len(st.Members) != 1 ||
		st.Members[0].Suffrage != "voter" || st.Members[0].Gossip != "alive" || !st.Members[0].Leader {
		t.Fatalf("Status() = %+v", st)
	}
	if err := n.RemovePeer(ctx, "solo0"); err == nil || !strings.Contains(err.Error(), "last voter") {
		t.Fatalf("RemovePeer(last voter) = %v", err)
	}

	// Metrics are on the node's own registry.
	testutil.WaitFor(t, 5*time.Second, "state gauge", func() bool {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, mf := range mfs {
			found[mf.GetName()] = true
			if mf.GetName() == "conflux_raft_apply_duration_seconds" && mf.GetMetric()[0].GetHistogram().GetSampleCount() != 1 {
				return false
			}
		}
		for _, name := range []string{"conflux_raft_leader_changes_total", "conflux_raft_state", "conflux_raft_apply_duration_seconds",
			"conflux_raft_last_index", "conflux_raft_commit_index", "conflux_raft_applied_index", "conflux_raft_peers", "conflux_gossip_members"} {
			if !found[name] {
				return false
			}
		}
		return true
	})

	// A leader task that keeps writing must not hold up Shutdown.
	var writes atomic.Int64
	n.RegisterLeaderTask("writer", func(ctx context.Context) {
		for ctx.Err() == nil {
			if _, _, err := n.Apply(ctx, []byte("loop")); err == nil {
				writes.Add(1)
			}
		}
	})
	testutil.WaitFor(t, 5*time.Second, "writer task applies", func() bool { return writes.Load() > 3 })
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, _, err := n.Apply(ctx, []byte("x")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Apply after shutdown = %v", err)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Fatalf("metrics still registered after shutdown: %d families", len(mfs))
	}
	has, err := HasState(specs[0].dir)
	if err != nil || !has {
		t.Fatalf("HasState = %v, %v", has, err)
	}
	if has, err := HasState(t.TempDir()); err != nil || has {
		t.Fatalf("HasState(empty) = %v, %v", has, err)
	}
}

// Three nodes started at the same instant, each joining the others, form
// exactly one cluster with three voters.
func TestBootstrapSimultaneous(t *testing.T) {
	runs := 10
	if testing.Short() {
		runs = 3
	}
	for i := range runs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			nodes, _, _ := startCluster(t, 3, nil)
			for _, n := range nodes {
				if got := n.Raft().LastIndex(); got == 0 {
					t.Fatalf("%s has no log", n.ID())
				}
			}
		})
	}
}

// Four nodes with expect=3: still one cluster; the fourth joins as a
// non-voter and is promoted.
func TestBootstrapFourNodesExpectThree(t *testing.T) {
	specs := newSpecs(t, "n", 4)
	var cfgs []Config
	for _, s := range specs {
		cfgs = append(cfgs, testConfig(t, s, gossipAddrs(specs), 3))
	}
	nodes := startTogether(t, cfgs)
	leader := waitForCluster(t, nodes, ids(nodes), 30*time.Second)
	idx := apply(t, leader, "four")
	waitAllApplied(t, nodes, idx)
}

func TestReplicationFollowerAndRemovePeer(t *testing.T) {
	nodes, _, leader := startCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var idx uint64
	for i := range 5 {
		idx = apply(t, leader, fmt.Sprintf("cmd-%d", i))
	}
	for _, n := range nodes {
		if err := n.WaitForApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if got := fsmOf(n).commands(); !slices.Equal(got, []string{"cmd-0", "cmd-1", "cmd-2", "cmd-3", "cmd-4"}) {
			t.Fatalf("%s applied %v", n.ID(), got)
		}
	}
	var followers []*Node
	for _, n := range nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	f := followers[0]
	if _, _, err := f.Apply(ctx, []byte("nope")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Apply on follower = %v, want ErrNotLeader", err)
	}
	if err := f.VerifyLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("VerifyLeader on follower = %v", err)
	}
	if err := f.RemovePeer(ctx, leader.ID()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("RemovePeer on follower = %v", err)
	}
	// Followers learn the leader's HTTP address from gossip.
	testutil.WaitFor(t, 5*time.Second, "leader http addr on follower", func() bool {
		l, ok := f.Leader()
		return ok && l.ID == leader.ID() && l.HTTPAddr == leader.cfg.HTTPAdvertise
	})
	testutil.WaitFor(t, 5*time.Second, "status with gossiped applied indexes", func() bool {
		st := f.Status()
		if st.State != "Follower" || st.Leader != leader.ID() || len(st.Members) != 3 || st.AppliedIndex < idx {
			return false
		}
		for _, m := range st.Members {
			if m.Suffrage != "voter" || m.Gossip != "alive" || m.Leader != (m.ID == leader.ID()) ||
				m.AppliedIndex < idx || m.HTTPAddr == "" || m.RaftAddr == "" {
				return false
			}
		}
		return true
	})

	// Quorum guard: with one follower dead, the other alive voter cannot be
	// removed; the dead one can.
	dead, alive := followers[0], followers[1]
	if err := dead.Kill(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "gossip marks killed node dead", func() bool {
		return leader.gossipMembers()[dead.ID()].state == gossipDead
	})
	err := leader.RemovePeer(ctx, alive.ID())
	if err == nil || !strings.Contains(err.Error(), "quorum") {
		t.Fatalf("RemovePeer(alive voter with one dead) = %v, want quorum refusal", err)
	}
	if err := leader.RemovePeer(ctx, "no-such-node"); err == nil {
		t.Fatal("RemovePeer(unknown) succeeded")
	}
	if err := leader.RemovePeer(ctx, dead.ID()); err != nil {
		t.Fatalf("RemovePeer(dead): %v", err)
	}
	if got := voterIDs(leader); !slices.Equal(got, ids([]*Node{leader, alive})) && !slices.Equal(got, ids([]*Node{alive, leader})) {
		t.Fatalf("voters after removal: %v", got)
	}
	apply(t, leader, "after-removal")
}

// Killing the leader: a new leader is elected, every acknowledged write is
// on the survivors, and the killed node restarted from its data dir catches
// up.
func TestKillLeaderAndRestart(t *testing.T) {
	nodes, specs, leader := startCluster(t, 3, nil)
	acked := applyN(t, leader, "before", 20)
	var killedSpec testNodeSpec
	var survivors []*Node
	for i, n := range nodes {
		if n == leader {
			killedSpec = specs[i]
		} else {
			survivors = append(survivors, n)
		}
	}
	killedCfg := leader.cfg
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	var newLeader *Node
	testutil.WaitFor(t, 15*time.Second, "new leader among survivors", func() bool {
		newLeader = agreedLeader(survivors)
		return newLeader != nil
	})
	acked = append(acked, applyN(t, newLeader, "after", 10)...)
	for _, n := range survivors {
		testutil.WaitFor(t, 5*time.Second, "acknowledged writes on "+n.ID(), func() bool { return fsmOf(n).has(acked...) })
	}

	// Restart the killed node from its data dir with a new Node.
	cfg := testConfig(t, killedSpec, killedCfg.Join, 3)
	restarted := startNode(t, cfg)
	target := newLeader.Raft().AppliedIndex()
	testutil.WaitFor(t, 20*time.Second, "restarted node catches up", func() bool {
		return restarted.Raft().AppliedIndex() >= target && fsmOf(restarted).has(acked...)
	})
	all := append(slices.Clone(survivors), restarted)
	waitForCluster(t, all, ids(all), 20*time.Second)
	if got := fsmOf(restarted).commands(); len(got) != len(acked) {
		t.Fatalf("restarted node applied %d commands, want %d (duplicates or losses): %v", len(got), len(acked), got)
	}
}

func TestLeaderTask(t *testing.T) {
	nodes, _, leader := startCluster(t, 3, nil)
	type runState struct {
		running atomic.Int32
		starts  atomic.Int32
		stopped chan string
	}
	states := map[string]*runState{}
	var mu sync.Mutex
	stops := []string{}
	for _, n := range nodes {
		st := &runState{}
		states[n.ID()] = st
		id := n.ID()
		n.RegisterLeaderTask("probe", func(ctx context.Context) {
			st.starts.Add(1)
			st.running.Add(1)
			if !n.IsLeader() {
				t.Errorf("task started on non-leader %s", id)
			}
			<-ctx.Done()
			st.running.Add(-1)
			mu.Lock()
			stops = append(stops, id)
			mu.Unlock()
		})
	}
	// Registered while leader: starts immediately on the leader only.
	testutil.WaitFor(t, 5*time.Second, "task running on leader", func() bool {
		return states[leader.ID()].running.Load() == 1
	})
	for _, n := range nodes {
		if n != leader && states[n.ID()].starts.Load() != 0 {
			t.Fatalf("task started on follower %s", n.ID())
		}
	}

	// Move leadership: the old leader's task ctx is cancelled while the node
	// keeps running, and the task starts on the new leader.
	if err := leader.Raft().LeadershipTransfer().Error(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	var second *Node
	testutil.WaitFor(t, 10*time.Second, "task moves with leadership", func() bool {
		second = agreedLeader(nodes)
		return second != nil && second != leader &&
			states[leader.ID()].running.Load() == 0 && states[second.ID()].running.Load() == 1
	})
	mu.Lock()
	if !slices.Contains(stops, leader.ID()) {
		t.Fatalf("old leader's task did not stop: %v", stops)
	}
	mu.Unlock()

	// Kill the leader: a survivor runs the task.
	if err := second.Kill(); err != nil {
		t.Fatal(err)
	}
	var survivors []*Node
	for _, n := range nodes {
		if n != second {
			survivors = append(survivors, n)
		}
	}
	testutil.WaitFor(t, 15*time.Second, "task on the next leader", func() bool {
		third := agreedLeader(survivors)
		if third == nil || states[third.ID()].running.Load() != 1 {
			return false
		}
		total := int32(0)
		for _, n := range survivors {
			total += states[n.ID()].running.Load()
		}
		return total == 1
	})
	if states[second.ID()].running.Load() != 0 {
		t.Fatal("killed leader's task still running")
	}
}

// A node added after bootstrap becomes a non-voter, then a voter; dead
// members are removed after DeadNodeTimeout without breaking quorum.
func TestAutopilot(t *testing.T) {
	const deadTimeout = time.Second
	nodes, specs, leader := startCluster(t, 3, func(c *Config) { c.DeadNodeTimeout = deadTimeout })
	apply(t, leader, "x")

	extra := newSpecs(t, "z", 1)[0]
	cfg := testConfig(t, extra, gossipAddrs(specs), 3)
	cfg.DeadNodeTimeout = deadTimeout
	n4 := startNode(t, cfg)
	all := append(slices.Clone(nodes), n4)
	var sawNonvoter atomic.Bool
	testutil.WaitFor(t, 20*time.Second, "new node promoted to voter", func() bool {
		l := agreedLeader(all)
		if l == nil {
			return false
		}
		cf := l.Raft().GetConfiguration()
		if cf.Error() != nil {
			return false
		}
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == n4.ID() {
				if s.Suffrage == raft.Nonvoter {
					sawNonvoter.Store(true)
				}
				return s.Suffrage == raft.Voter
			}
		}
		return false
	})
	if !sawNonvoter.Load() {
		t.Fatal("new node never seen as non-voter before promotion")
	}
	leader = waitForCluster(t, all, ids(all), 10*time.Second)

	// Kill a follower: removed after DeadNodeTimeout (4 voters -> 3).
	victim := n4
	if victim == leader {
		victim = nodes[0]
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	var rest []*Node
	for _, n := range all {
		if n != victim {
			rest = append(rest, n)
		}
	}
	leader = waitForCluster(t, rest, ids(rest), 30*time.Second)
	apply(t, leader, "after-first-removal")

	// Kill another follower: 3 voters -> 2 is still a quorum of alive
	// voters, so it is removed as well.
	var victim2 *Node
	for _, n := range rest {
		if n != leader {
			victim2 = n
			break
		}
	}
	if err := victim2.Kill(); err != nil {
		t.Fatal(err)
	}
	var last []*Node
	for _, n := range rest {
		if n != victim2 {
			last = append(last, n)
		}
	}
	leader = waitForCluster(t, last, ids(last), 30*time.Second)
	apply(t, leader, "after-second-removal")
}
