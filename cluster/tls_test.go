package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

func TestTLSCluster(t *testing.T) {
	ca := testutil.NewCA(t, "conflux test CA")
	nodes, specs, leader := startCluster(t, 3, func(c *Config) { c.RaftTLS = ca.MutualTLS(t, c.NodeID) })
	var idx uint64
	for _, cmd := range []string{"tls-1", "tls-2"} {
		idx = apply(t, leader, cmd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.WaitForApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if !fsmOf(n).has("tls-1", "tls-2") {
			t.Fatalf("%s: %v", n.ID(), fsmOf(n).commands())
		}
	}

	// A node whose certificate comes from another CA but that holds the
	// gossip key (issue #19 finding 3) joins gossip, yet it is never
	// written into the raft configuration: autopilot first proves the
	// member's certificate with a TLS handshake on its raft address.
	rogueCA := testutil.NewCA(t, "rogue CA")
	rs := newSpecs(t, "rogue", 1)[0]
	rcfg := testConfig(t, rs, gossipAddrs(specs), 3)
	rcfg.RaftTLS = rogueCA.MutualTLS(t, rs.id)
	rogue := startNode(t, rcfg)

	testutil.WaitFor(t, 20*time.Second, "the leader sees the rogue in gossip and refuses it", func() bool {
		l := agreedLeader(nodes)
		if l == nil {
			return false
		}
		_, refused := l.Untrusted()[rs.id]
		return refused && l.gossipMembers()[rs.id].state == gossipAlive
	})
	// A legitimate server joining now is the clock: once autopilot added
	// it, it had every chance to add the rogue too.
	ws := newSpecs(t, "witness", 1)[0]
	wcfg := testConfig(t, ws, gossipAddrs(specs), 3)
	wcfg.RaftTLS = ca.MutualTLS(t, ws.id)
	startNode(t, wcfg)
	testutil.WaitFor(t, 30*time.Second, "the legitimate server joins the raft configuration", func() bool {
		l := agreedLeader(nodes)
		return l != nil && strings.Contains(configString(l), ws.id+"@")
	})
	leader = agreedLeader(nodes)
	if cf := configString(leader); strings.Contains(cf, rs.id) {
		t.Fatalf("rogue node was written into the raft configuration: %s", cf)
	}
	idx = apply(t, leader, "tls-3")
	for _, n := range nodes {
		if err := n.WaitForApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
	}
	if got := rogue.Raft().LastIndex(); got != 0 {
		t.Fatalf("rogue node received raft log entries up to %d", got)
	}
	if slices.Contains(voterIDs(leader), rs.id) || slices.Contains(nonvoterIDs(leader), rs.id) {
		t.Fatal("rogue node is in the raft configuration")
	}
	// Its own RPCs are refused too.
	var resp raft.AppendEntriesResponse
	err := rogue.trans.AppendEntries(raft.ServerID(leader.ID()), raft.ServerAddress(leader.RaftAddr()),
		&raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte(rs.id), Addr: []byte(rogue.RaftAddr())}, Term: 1}, &resp)
	if err == nil {
		t.Fatal("AppendEntries from a node with a foreign CA succeeded")
	}
}

func nonvoterIDs(n *Node) []string {
	var ids []string
	cf := n.Raft().GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Nonvoter {
			ids = append(ids, string(s.ID))
		}
	}
	return ids
}
