package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

func TestWriteThroughFollowerIsVisibleOnEveryNode(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	f := c.follower()
	res, err := c.client(f, writeToken).PutFragment(ctx, tunnelFragment("web", 1, "app.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	c.converge(res.Index)
	var clusterID string
	for i := range c.nodes {
		cl := c.client(i, readToken)
		cl.Consistency = api.Stale
		st, err := cl.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.ClusterID == "" || (clusterID != "" && st.ClusterID != clusterID) {
			t.Fatalf("node %d: cluster id %q, want one non-empty id on every node (first %q)", i, st.ClusterID, clusterID)
		}
		clusterID = st.ClusterID
		frags, err := cl.ListFragments(ctx, api.TargetRef{}, api.SourceRef{})
		if err != nil {
			t.Fatal(err)
		}
		if len(frags) != 1 || frags[0].CreateIndex != res.Index {
			t.Fatalf("node %d: fragments %+v, want one created at %d", i, frags, res.Index)
		}
	}
}

func TestKillingTheLeaderLosesNoAcknowledgedWrite(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	leader := c.leader()
	writer := (leader + 1) % 3

	cl := c.client(writer, writeToken)
	w := testutil.StartWriter(func(i int) (string, error) {
		name := fmt.Sprintf("src-%d", i)
		_, err := cl.PutFragment(ctx, tunnelFragment(name, 1, fmt.Sprintf("h%d.example.com", i)))
		return name, err
	})
	testutil.WaitFor(t, 10*time.Second, "some writes before the kill", func() bool { return w.Count() >= 20 })
	c.kill(leader)
	newLeader := c.leader()
	if newLeader == leader {
		t.Fatal("killed node is still leader")
	}
	before := w.Count()
	testutil.WaitFor(t, 20*time.Second, "writes after the failover", func() bool { return w.Count() >= before+20 })
	acked := w.Stop()

	state := c.converge(c.lastIndex())
	for name := range acked {
		if !bytes.Contains([]byte(state), []byte(`"name":"`+name+`"`)) {
			t.Errorf("acknowledged write %s is missing after failover", name)
		}
	}

	// The killed node restarts from its data dir and catches up.
	c.start(leader)
	testutil.WaitFor(t, 20*time.Second, "restarted node is ready", func() bool {
		return c.client(leader, readToken).Ready(ctx) == nil
	})
	if got := c.converge(c.lastIndex()); got != state {
		t.Fatal("restarted node's state differs from the others")
	}
}

func TestFullClusterRestartKeepsIdenticalState(t *testing.T) {
	for _, backend := range []string{"boltdb", "wal"} {
		t.Run(backend, func(t *testing.T) {
			c := newTestClusterWith(t, 3, func(cfg *server.Config) { cfg.LogStore = backend })
			ctx := context.Background()
			var last uint64
			for i := range 30 {
				res, err := c.client(i%3, writeToken).PutFragment(ctx, tunnelFragment(fmt.Sprintf("s%d", i), 1, fmt.Sprintf("h%d.example.com", i)))
				if err != nil {
					t.Fatal(err)
				}
				last = res.Index
			}
			before := c.converge(last)
			c.stopAll()

			// A data dir keeps its backend: the other one is refused.
			other := c.cfgs[0]
			other.LogStore = map[string]string{"boltdb": "wal", "wal": "boltdb"}[backend]
			if n, err := server.Start(other); err == nil {
				n.Kill()
				t.Fatal("a data dir opened with the other log backend")
			}

			for i := range c.nodes {
				c.start(i)
			}
			c.leader()
			if after := c.converge(last); after != before {
				t.Fatalf("state changed across a full restart:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestStaleGenerationIsRefused(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	cl := c.client(c.follower(), writeToken)
	if _, err := cl.PutFragment(ctx, tunnelFragment("web", 5, "a.example.com")); err != nil {
		t.Fatal(err)
	}
	_, err := cl.PutFragment(ctx, tunnelFragment("web", 3, "b.example.com"))
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Field != "generation" {
		t.Fatalf("stale put: got %v, want 409 on field generation", err)
	}
	frags, err := cl.ListFragments(ctx, api.TargetRef{}, api.SourceRef{})
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) != 1 || frags[0].Generation != 5 || !bytes.Contains(frags[0].Spec, []byte("a.example.com")) {
		t.Fatalf("stored fragment changed: %+v", frags)
	}
}

func TestNoLeaderAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the leader wait")
	}
	c := newTestCluster(t, 3)
	l := c.leader()
	survivor := (l + 1) % 3
	for i := range c.nodes {
		if i != survivor {
			c.kill(i)
		}
	}
	once, err := api.NewClient(c.nodes[survivor].URL(), api.WithToken(writeToken)) // no retry: the 503 itself is the subject
	if err != nil {
		t.Fatal(err)
	}
	_, err = once.PutFragment(context.Background(), tunnelFragment("web", 1, "a.example.com"))
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != api.CodeNoLeader {
		t.Fatalf("got %v, want 503 no_leader", err)
	}
}

// Fragments registered in different random orders through different nodes
// aggregate to byte-identical output.
func TestAggregationIsIndependentOfArrivalOrder(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	const sources, rules = 50, 20
	build := func(target string) []api.Fragment {
		var out []api.Fragment
		for s := range sources {
			spec := `{"rules":[`
			for r := range rules {
				if r > 0 {
					spec += ","
				}
				// Hostnames shared between sources, distinct paths: no
				// conflicts, maximum interleaving in the sort.
				spec += fmt.Sprintf(`{"hostname":"h%d.example.com","path":"^/s%d/r%d","service":"http://s%d.default:80"}`, r%7, s, r, s)
			}
			spec += `]}`
			out = append(out, api.Fragment{
				Target:     api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: target},
				Source:     api.SourceRef{Kind: "Ingress", Namespace: "ns", Name: fmt.Sprintf("src-%02d", s)},
				Generation: 1,
				Spec:       []byte(spec),
			})
		}
		return out
	}
	var desired [][]byte
	for run := range 3 {
		target := fmt.Sprintf("ClusterTunnel/order-%d", run)
		frags := build(target)
		rng := rand.New(rand.NewPCG(uint64(run), 42))
		rng.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
		var last uint64
		for _, f := range frags {
			res, err := c.client(rng.IntN(3), writeToken).PutFragment(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			last = res.Index
		}
		c.converge(last)
		for i := range c.nodes {
			cl := c.client(i, readToken)
			cl.Consistency = api.Stale
			tg, err := cl.GetTarget(ctx, api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: target})
			if err != nil {
				t.Fatal(err)
			}
			if len(tg.Conflicts) != 0 {
				t.Fatalf("unexpected conflicts: %+v", tg.Conflicts)
			}
			desired = append(desired, tg.Desired)
		}
	}
	for i, d := range desired[1:] {
		if !bytes.Equal(d, desired[0]) {
			t.Fatalf("desired output %d differs from the first", i+1)
		}
	}
}

// TestReadyzVoter: /readyz?voter=true (the StatefulSet's readiness probe)
// holds a node that joined as a non-voter back until autopilot promotes
// it, so a rolling update never takes the next voter down first.
func TestReadyzVoter(t *testing.T) {
	c := &testCluster{t: t}
	c.configure(t.TempDir(), 4)
	for i := range c.cfgs {
		c.cfgs[i].BootstrapExpect = 3
	}
	for i := range 3 {
		c.start(i)
	}
	c.leader()
	ready := func(i int, query string) (int, string) {
		resp, err := http.Get(c.nodes[i].URL() + "/readyz" + query)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 3 {
		testutil.WaitFor(t, 20*time.Second, fmt.Sprintf("node %d ready as a voter", i), func() bool {
			code, _ := ready(i, "?voter=true")
			return code == http.StatusOK
		})
	}
	c.start(3)
	sawNonVoter := false
	testutil.WaitFor(t, 60*time.Second, "the fourth node ready as a voter", func() bool {
		code, body := ready(3, "?voter=true")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "not a voter") {
			sawNonVoter = true
			if plain, _ := ready(3, ""); plain != http.StatusOK && plain != http.StatusServiceUnavailable {
				t.Errorf("/readyz answered %d", plain)
			}
		}
		return code == http.StatusOK
	})
	if !sawNonVoter {
		t.Error("the joining node was never reported as a non-voter: the check did not run")
	}
}
