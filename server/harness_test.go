package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/store"
)

const (
	adminToken = "6ef9a731851ee201bd3248c717788342961b515f1a843d0414da9643016e1800"
	writeToken = "9fc21da4102033afcc0fd9d728e8bbb739510c1eeb57487e4850e3baf143ab85"
	readToken  = "de630382a952a4c97ffd967969971b76add742d4ce5c78ecd4ac2e0902b329d8"
)

// testCluster runs n full nodes (store, FSM, raft, gossip, API) in this
// process over TCP on 127.0.0.1 with real files.
type testCluster struct {
	t     testing.TB
	cfgs  []server.Config
	nodes []*server.Node
}

func testTokens() *httpapi.Tokens {
	return httpapi.NewTokens(map[httpapi.Role][]string{
		httpapi.RoleAdmin: {adminToken}, httpapi.RoleWrite: {writeToken}, httpapi.RoleRead: {readToken},
	})
}

// newTestCluster starts n nodes with the default test configuration and
// waits for a leader.
func newTestCluster(t testing.TB, n int) *testCluster {
	return newTestClusterWith(t, n, nil)
}

// newTestClusterWith is newTestCluster with each node's config passed
// through mutate (when not nil) before it starts.
func newTestClusterWith(t testing.TB, n int, mutate func(*server.Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	c.configure(t.TempDir(), n)
	for i := range n {
		if mutate != nil {
			mutate(&c.cfgs[i])
		}
		c.start(i)
	}
	c.leader()
	return c
}

func (c *testCluster) configure(dir string, n int) {
	// One call, so no port is handed out twice: gossip, HTTP, raft.
	ports := testutil.FreePorts(c.t, 3*n)
	gossip, httpPorts, raftPorts := ports[:n], ports[n:2*n], ports[2*n:]
	var join []string
	for i := range n {
		join = append(join, testutil.Addr(gossip[i]))
	}
	logger := slog.New(slog.NewTextHandler(newTestWriter(c.t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c.cfgs = make([]server.Config, n)
	c.nodes = make([]*server.Node, n)
	tokens := testTokens()
	for i := range n {
		id := fmt.Sprintf("node-%d", i)
		c.cfgs[i] = server.Config{
			NodeID:          id,
			DataDir:         filepath.Join(dir, id),
			HTTPAddr:        testutil.Addr(httpPorts[i]),
			RaftAddr:        testutil.Addr(raftPorts[i]),
			GossipAddr:      testutil.Addr(gossip[i]),
			Join:            join,
			BootstrapExpect: n,
			Tokens:          tokens,
			ClusterSecrets:  [][]byte{harnessSecret},
			Logger:          logger.With("node", id),
			// Faster than the defaults, so failovers are quick, but with
			// room for the stalls of a loaded two-core machine running
			// TLS under the race detector: a 150 ms lease lost leadership
			// there several times a run, and each election reorders what
			// producers register (see TestCompatUpstreamManifests).
			Raft: cluster.RaftTuning{
				HeartbeatTimeout: 800 * time.Millisecond, ElectionTimeout: 800 * time.Millisecond,
				LeaderLeaseTimeout: 500 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
			},
			Gossip: cluster.GossipTuning{
				ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond,
				GossipInterval: 50 * time.Millisecond, PushPullInterval: time.Second,
				MetaRefreshInterval: 100 * time.Millisecond, JoinInterval: 200 * time.Millisecond,
				DeadNodeReclaimTime: time.Second,
			},
		}
	}
}

// harnessSecret is the cluster secret of every test cluster: the nodes run
// the secure transport (derived raft TLS, encrypted gossip).
var harnessSecret = func() []byte {
	b, err := cluster.RandomSecret()
	if err != nil {
		panic(err)
	}
	return b
}()

// testWriter sends logs to t.Log so they show only for failing tests.
// memberlist's goroutines may still log for a moment after a node is
// stopped; once the test is cleaning up, such lines are dropped (t.Log
// after a test ends panics).
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	var node *server.Node
	var err error
	// The ports of a node that just died may take a moment to free.
	deadline := time.Now().Add(10 * time.Second)
	for node, err = server.Start(c.cfgs[i]); err != nil; node, err = server.Start(c.cfgs[i]) {
		if time.Now().After(deadline) {
			c.t.Fatalf("node %s did not start in 10s: %v", c.cfgs[i].NodeID, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.nodes[i] = node
	c.t.Cleanup(func() { node.Kill() })
}

// kill stops node i abruptly.
func (c *testCluster) kill(i int) {
	c.t.Helper()
	if err := c.nodes[i].Kill(); err != nil {
		c.t.Logf("kill %d: %v", i, err)
	}
	c.nodes[i] = nil
}

func (c *testCluster) stopAll() {
	for i, n := range c.nodes {
		if n != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			n.Shutdown(ctx)
			cancel()
			c.nodes[i] = nil
		}
	}
}

func (c *testCluster) client(i int, token string) *api.Client {
	c.t.Helper()
	// Clients ride out an election as the CLI's and the provider's users
	// would (a loaded machine brings some); a test about a missing leader
	// makes its own client.
	cl, err := api.NewClient(c.nodes[i].URL(), api.WithToken(token), api.WithRetry(30*time.Second))
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// leader waits until the live nodes agree on one leader and returns it.
func (c *testCluster) leader() int {
	c.t.Helper()
	idx := -1
	testutil.WaitFor(c.t, 30*time.Second, "a leader that all live nodes know", func() bool {
		idx = -1
		var id string
		for i, n := range c.nodes {
			if n == nil {
				continue
			}
			m, ok := n.Cluster().Leader()
			if !ok || (id != "" && m.ID != id) || m.HTTPAddr == "" {
				return false
			}
			id = m.ID
			if n.Cluster().IsLeader() {
				idx = i
			}
		}
		return idx >= 0
	})
	return idx
}

// follower returns a live node that is not the leader.
func (c *testCluster) follower() int {
	l := c.leader()
	for i, n := range c.nodes {
		if n != nil && i != l {
			return i
		}
	}
	c.t.Fatal("no live follower")
	return -1
}

// converge waits until every live node has applied index and returns their
// dumps, which must be identical.
func (c *testCluster) converge(index uint64) string {
	c.t.Helper()
	var dumps []string
	var why string
	deadline := time.Now().Add(20 * time.Second)
	for {
		dumps, why = c.states(index)
		if why == "" {
			return dumps[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after 20s waiting for all nodes to apply index %d with equal state: %s", index, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// states returns the dumps of the live nodes, or why they are not yet all
// at index with equal state.
func (c *testCluster) states(index uint64) ([]string, string) {
	var dumps []string
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		if applied := n.Cluster().Status().AppliedIndex; applied < index {
			return nil, fmt.Sprintf("node %d has applied %d", i, applied)
		}
		dumps = append(dumps, dump(c.t, n.Store()))
	}
	for i, d := range dumps[1:] {
		if d != dumps[0] {
			return nil, fmt.Sprintf("live node #%d differs from the first: %s", i+1, firstDifference(dumps[0], d))
		}
	}
	return dumps, ""
}

func (c *testCluster) lastIndex() uint64 {
	return c.nodes[c.leader()].Cluster().Status().AppliedIndex
}

func dump(t testing.TB, st *store.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if err := st.View(func(v *store.View) error { return v.Dump(&buf) }); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func tunnelFragment(source string, gen int64, hosts ...string) api.Fragment {
	var rules []string
	for _, h := range hosts {
		rules = append(rules, fmt.Sprintf(`{"hostname":%q,"service":"http://svc.default:80"}`, h))
	}
	return api.Fragment{
		Target:     api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: "ClusterTunnel/edge"},
		Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: source},
		Generation: gen,
		Spec:       []byte(`{"rules":[` + strings.Join(rules, ",") + `]}`),
	}
}

// firstDifference names the first line where two dumps differ.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  first: %s\n  other: %s", i+1, x, y)
		}
	}
	return "no difference"
}
