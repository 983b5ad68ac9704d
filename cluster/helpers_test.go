package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

var testLoggers sync.Map // testing.TB -> *slog.Logger

// testLogger returns the test's logger. Set CLUSTER_TEST_LOG=debug for
// debug logs, =stderr to stream them.
func testLogger(t testing.TB) *slog.Logger {
	if l, ok := testLoggers.Load(t); ok {
		return l.(*slog.Logger)
	}
	level := slog.LevelInfo
	if strings.Contains(os.Getenv("CLUSTER_TEST_LOG"), "debug") {
		level = slog.LevelDebug
	}
	buf := &testutil.SyncBuffer{}
	var w = interface{ Write([]byte) (int, error) }(buf)
	if strings.Contains(os.Getenv("CLUSTER_TEST_LOG"), "stderr") {
		w = os.Stderr
	}
	l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	testLoggers.Store(t, l)
	// Registered before any node's cleanup, so it runs after all of them.
	t.Cleanup(func() {
		testLoggers.Delete(t)
		if t.Failed() {
			s := buf.String()
			if len(s) > 400_000 {
				s = "...\n" + s[len(s)-400_000:]
			}
			t.Logf("cluster logs:\n%s", s)
		}
	})
	return l
}

// testSecret is the cluster secret of every test cluster: tests run the
// secure transport (derived TLS and gossip keys) unless they opt out.
var testSecret = func() []byte {
	b, err := RandomSecret()
	if err != nil {
		panic(err)
	}
	return b
}()

// testNodeSpec is one node of a test cluster: fixed addresses, its own dir.
type testNodeSpec struct {
	id         string
	dir        string
	raftAddr   string
	gossipAddr string
}

func newSpecs(t testing.TB, prefix string, count int) []testNodeSpec {
	ports := testutil.FreePorts(t, 2*count)
	specs := make([]testNodeSpec, count)
	for i := range specs {
		specs[i] = testNodeSpec{
			id:         fmt.Sprintf("%s%d", prefix, i),
			dir:        t.TempDir(),
			raftAddr:   fmt.Sprintf("127.0.0.1:%d", ports[2*i]),
			gossipAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
		}
	}
	return specs
}

func gossipAddrs(specs []testNodeSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.gossipAddr)
	}
	return out
}

// testConfig returns a fast-timing configuration for spec.
func testConfig(t testing.TB, s testNodeSpec, join []string, expect int) Config {
	return Config{
		NodeID:                  s.id,
		DataDir:                 s.dir,
		RaftBindAddr:            s.raftAddr,
		GossipBindAddr:          s.gossipAddr,
		HTTPAdvertise:           "http://" + s.id + ".test:7780",
		Join:                    join,
		BootstrapExpect:         expect,
		ServerStabilizationTime: 500 * time.Millisecond,
		AutopilotInterval:       100 * time.Millisecond,
		ApplyTimeout:            5 * time.Second,
		FSM:                     newTestFSM(t, s.dir),
		ClusterSecrets:          [][]byte{testSecret},
		// Room for the stalls of a loaded two-core machine running TLS
		// under the race detector (350 ms seen in CI), which cost a 300 ms
		// lease its leadership.
		Raft: RaftTuning{
			HeartbeatTimeout:   800 * time.Millisecond,
			ElectionTimeout:    800 * time.Millisecond,
			LeaderLeaseTimeout: 500 * time.Millisecond,
			CommitTimeout:      10 * time.Millisecond,
		},
		Gossip: GossipTuning{
			ProbeInterval:       200 * time.Millisecond,
			ProbeTimeout:        150 * time.Millisecond,
			GossipInterval:      50 * time.Millisecond,
			PushPullInterval:    2 * time.Second,
			SuspicionMult:       2,
			GossipToTheDeadTime: 2 * time.Second,
			DeadNodeReclaimTime: time.Second,
			MetaRefreshInterval: 100 * time.Millisecond,
			JoinInterval:        200 * time.Millisecond,
		},
		Logger:     testLogger(t),
		Registerer: prometheus.NewRegistry(),
	}
}

// startNode starts a node and registers its shutdown.
func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.NodeID, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// startTogether starts all configs at the same instant (goroutines released
// by one channel).
func startTogether(t testing.TB, cfgs []Config) []*Node {
	t.Helper()
	nodes := make([]*Node, len(cfgs))
	errs := make([]error, len(cfgs))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			nodes[i], errs[i] = New(cfgs[i])
		}()
	}
	close(release)
	wg.Wait()
	for i, n := range nodes {
		if n != nil {
			t.Cleanup(func() { _ = n.Shutdown() })
		}
		if errs[i] != nil {
			t.Fatalf("New(%s): %v", cfgs[i].NodeID, errs[i])
		}
	}
	return nodes
}

func fsmOf(n *Node) *testFSM { return n.cfg.FSM.(*testFSM) }

// configString renders a node's raft configuration canonically.
func configString(n *Node) string {
	cf := n.Raft().GetConfiguration()
	if cf.Error() != nil {
		return "error: " + cf.Error().Error()
	}
	var parts []string
	for _, s := range cf.Configuration().Servers {
		parts = append(parts, fmt.Sprintf("%s@%s/%s", s.ID, s.Address, suffrage(s.Suffrage)))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func voterIDs(n *Node) []string {
	var ids []string
	cf := n.Raft().GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			ids = append(ids, string(s.ID))
		}
	}
	sort.Strings(ids)
	return ids
}

// agreedLeader returns the single leader of nodes when exactly one node is
// leader and every node knows it as leader; nil otherwise.
func agreedLeader(nodes []*Node) *Node {
	var leader *Node
	for _, n := range nodes {
		if n.IsLeader() {
			if leader != nil {
				return nil
			}
			leader = n
		}
	}
	if leader == nil {
		return nil
	}
	for _, n := range nodes {
		if _, id := n.Raft().LeaderWithID(); string(id) != leader.ID() {
			return nil
		}
	}
	return leader
}

// waitForCluster waits until nodes form one cluster with an agreed leader,
// identical configurations and exactly the given voters; returns the leader.
func waitForCluster(t testing.TB, nodes []*Node, voters []string, timeout time.Duration) *Node {
	t.Helper()
	slices.Sort(voters)
	var leader *Node
	testutil.WaitFor(t, timeout, fmt.Sprintf("one cluster with voters %v", voters), func() bool {
		leader = agreedLeader(nodes)
		if leader == nil {
			return false
		}
		want := configString(leader)
		if !slices.Equal(voterIDs(leader), voters) {
			return false
		}
		for _, n := range nodes {
			if configString(n) != want {
				return false
			}
		}
		return true
	})
	return leader
}

func ids(nodes []*Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ID())
	}
	return out
}

// apply applies cmd on leader and fails the test on error.
func apply(t testing.TB, leader *Node, cmd string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, idx, err := leader.Apply(ctx, []byte(cmd))
	if err != nil {
		t.Fatalf("apply %q on %s: %v", cmd, leader.ID(), err)
	}
	return idx
}

// startCluster starts count nodes with expect=count and waits for them.
func startCluster(t testing.TB, count int, mutate func(*Config)) ([]*Node, []testNodeSpec, *Node) {
	t.Helper()
	specs := newSpecs(t, "n", count)
	cfgs := make([]Config, count)
	for i, s := range specs {
		cfgs[i] = testConfig(t, s, gossipAddrs(specs), count)
		if mutate != nil {
			mutate(&cfgs[i])
		}
	}
	nodes := startTogether(t, cfgs)
	leader := waitForCluster(t, nodes, ids(nodes), 30*time.Second)
	return nodes, specs, leader
}

func dataDirHasRaft(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "raft", "raft.db"))
	return err == nil
}

// waitAllApplied waits until every node has applied index idx.
func waitAllApplied(t testing.TB, nodes []*Node, idx uint64) {
	t.Helper()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := n.WaitForApplied(ctx, idx)
		cancel()
		if err != nil {
			t.Fatalf("%s: waiting to apply index %d: %v", n.ID(), idx, err)
		}
	}
}

// applyN applies n commands "prefix-0".."prefix-(n-1)" through leader and
// returns them in order.
func applyN(t testing.TB, leader *Node, prefix string, n int) []string {
	t.Helper()
	cmds := make([]string, n)
	for i := range n {
		cmds[i] = fmt.Sprintf("%s-%d", prefix, i)
		apply(t, leader, cmds[i])
	}
	return cmds
}
