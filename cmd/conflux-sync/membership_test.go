package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestE2EVoterBackAtNewRaftAddress is the rolling-update fault: a voter is
// killed and comes back from its data folder at a new raft address (a pod
// with a new IP). Autopilot re-adds it as a non-voter; it must answer
// /readyz?voter=true again within the stabilization time plus a few
// autopilot passes, under the same leader, so a StatefulSet roll goes on
// to the next pod without losing quorum. Before the fix it stayed a
// non-voter until the leader changed (minutes).
func TestE2EVoterBackAtNewRaftAddress(t *testing.T) {
	c := newProcCluster(t, 3)
	l := c.leader()
	ctx := context.Background()
	before, err := c.client(l).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.putFragments(l, tunnelFragmentJSON("ClusterTunnel/edge", "before", 1, "before.example.com"))

	v := c.follower()
	p := c.nodes[v]
	c.kill(v)
	oldAddr := p.raftAddr
	p.raftAddr = testutil.Addr(testutil.FreePorts(t, 1)[0])
	c.start(v)
	started := time.Now()

	// Gossip carries the new address within a few probes; autopilot then
	// removes and re-adds the server and promotes it once it has been
	// healthy for the stabilization time.
	bound := cluster.DefaultServerStabilizationTime + 10*cluster.DefaultAutopilotInterval
	eventually(t, bound, p.id+" answers 200 on /readyz?voter=true at its new raft address", func() error {
		resp, err := probeHTTP.Get(p.url() + "/readyz?voter=true")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		st, err := c.client(l).Status(ctx)
		if err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.ID == p.id && m.RaftAddr != p.raftAddr {
				return fmt.Errorf("the leader has %s at %s, want %s", p.id, m.RaftAddr, p.raftAddr)
			}
		}
		return nil
	})
	t.Logf("%s a voter again at %s (was %s) %s after its restart", p.id, p.raftAddr, oldAddr, time.Since(started).Round(time.Millisecond))

	after, err := c.client(l).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Leader != before.Leader || after.Term != before.Term {
		t.Fatalf("leader %s term %d became %s term %d: the promotion must not need a leader change",
			before.Leader, before.Term, after.Leader, after.Term)
	}
	// The cluster tolerates losing another node now: the roll can go on.
	c.putFragments(v, tunnelFragmentJSON("ClusterTunnel/edge", "after", 1, "after.example.com"))
}
