package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// The attacks of issue #19 (findings 1 and 3), each run by a rogue process
// on loopback against a real three-node cluster. Every test runs the attack
// against a secure cluster (where it must fail) and against an insecure one
// (ClusterSecrets unset, what main ran with), where it succeeds as the
// issue observed: the same assertions would fail on main.

// withIdentities makes a node record key bindings in its test FSM.
func withIdentities(c *Config) { c.Identities = c.FSM.(*testFSM) }

// insecure turns the secure transport off.
func insecure(c *Config) { c.ClusterSecrets = nil }

// startSecurityCluster starts three nodes, secure (with bindings) or not,
// and in the secure case waits until the leader bound every voter's key.
func startSecurityCluster(t *testing.T, secure bool) ([]*Node, []testNodeSpec, *Node) {
	t.Helper()
	mutate := insecure
	if secure {
		mutate = withIdentities
	}
	nodes, specs, leader := startCluster(t, 3, mutate)
	if secure {
		testutil.WaitFor(t, 20*time.Second, "the leader binds every voter's key", func() bool {
			l := agreedLeader(nodes)
			if l == nil {
				return false
			}
			for _, n := range nodes {
				if fp, ok := l.boundKey(n.ID()); !ok || fp != n.KeyFingerprint() {
					return false
				}
			}
			return true
		})
		leader = agreedLeader(nodes)
	}
	return nodes, specs, leader
}

// startWitness starts a legitimate fourth node (same secret) and waits
// until the leader added it to the raft configuration: it is the clock of
// the tests below, proving autopilot had every chance to add the rogue
// too (and gossip had every chance to spread it).
func startWitness(t *testing.T, nodes []*Node, specs []testNodeSpec, secure bool) *Node {
	t.Helper()
	ws := newSpecs(t, "witness", 1)[0]
	cfg := testConfig(t, ws, gossipAddrs(specs), 3)
	if secure {
		withIdentities(&cfg)
	} else {
		insecure(&cfg)
	}
	w := startNode(t, cfg)
	testutil.WaitFor(t, 30*time.Second, "the witness joins the raft configuration", func() bool {
		l := agreedLeader(nodes)
		return l != nil && strings.Contains(configString(l), ws.id+"@")
	})
	return w
}

// Finding 1: a process without the key does not become a gossip member,
// so it is never seen, let alone added to raft.
func TestSecurityRogueWithoutKeyCannotJoin(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprintf("secure=%v", secure), func(t *testing.T) {
			nodes, specs, _ := startSecurityCluster(t, secure)
			rs := newSpecs(t, "rogue", 1)[0]
			rcfg := testConfig(t, rs, gossipAddrs(specs), 3)
			insecure(&rcfg) // no secret, no gossip key: a bare process
			rogue := startNode(t, rcfg)
			startWitness(t, nodes, specs, secure)
			if !secure {
				testutil.WaitFor(t, 30*time.Second, "the keyless rogue is added to an insecure cluster", func() bool {
					l := agreedLeader(nodes)
					return l != nil && strings.Contains(configString(l), rs.id+"@")
				})
				return
			}
			for _, n := range nodes {
				if _, ok := n.gossipMembers()[rs.id]; ok {
					t.Errorf("%s sees the keyless rogue as a gossip member", n.ID())
				}
				if strings.Contains(configString(n), rs.id) {
					t.Errorf("%s has the rogue in its raft configuration: %s", n.ID(), configString(n))
				}
			}
			if got := rogue.ml.NumMembers(); got != 1 {
				t.Errorf("the rogue sees %d gossip members, want only itself", got)
			}
		})
	}
}

// rogueTransport is a raft transport of a process that holds no cluster
// secret: plain TCP when cert is nil, else TLS with that (foreign)
// certificate.
func rogueTransport(t *testing.T, cert *tls.Config) *raft.NetworkTransport {
	t.Helper()
	var server, client *tls.Config
	if cert != nil {
		server, client = tlsConfigs(cert)
		client.InsecureSkipVerify = true // the rogue trusts anyone
	}
	stream, err := newStreamLayer(Config{RaftBindAddr: "127.0.0.1:0", Logger: testLogger(t)}, server, client)
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 1, Timeout: 2 * time.Second, Logger: newHCLogger(testLogger(t), "rogue"),
	})
	t.Cleanup(func() { trans.Close() })
	return trans
}

// Finding 1: one forged TimeoutNow made a rogue leader, one forged
// AppendEntries put a fragment on a follower. Over the raft port of a
// secure cluster both are refused, in plain TCP and with a self-made
// certificate, and change nothing.
func TestSecurityForgedRaftRPCs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		cert   bool
	}{
		{"secure/plain-tcp", true, false},
		{"secure/foreign-certificate", true, true},
		{"insecure/plain-tcp", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, _, leader := startSecurityCluster(t, tc.secure)
			apply(t, leader, "before")
			var cert *tls.Config
			if tc.cert {
				// A certificate naming the leader's node id, signed by a
				// CA the cluster never saw.
				cert = testutil.NewCA(t, "rogue CA").MutualTLS(t, leader.ID())
			}
			rogue := rogueTransport(t, cert)
			var follower *Node
			for _, n := range nodes {
				if n != leader {
					follower = n
					break
				}
			}
			header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(leader.ID()), Addr: []byte(rogue.LocalAddr())}
			last := follower.raft.LastIndex()
			var lastLog raft.Log
			if err := follower.store.GetLog(last, &lastLog); err != nil {
				t.Fatal(err)
			}
			forgedTerm := follower.raft.CurrentTerm() + 5
			var aer raft.AppendEntriesResponse
			aeErr := rogue.AppendEntries(raft.ServerID(follower.ID()), raft.ServerAddress(follower.RaftAddr()), &raft.AppendEntriesRequest{
				RPCHeader: header, Term: forgedTerm, PrevLogEntry: last, PrevLogTerm: lastLog.Term,
				Entries:           []*raft.Log{{Index: last + 1, Term: forgedTerm, Type: raft.LogCommand, Data: []byte("forged")}},
				LeaderCommitIndex: last + 1,
			}, &aer)
			var tnr raft.TimeoutNowResponse
			tnErr := rogue.TimeoutNow(raft.ServerID(follower.ID()), raft.ServerAddress(follower.RaftAddr()),
				&raft.TimeoutNowRequest{RPCHeader: header}, &tnr)

			if !tc.secure {
				// What the issue observed: both RPCs are taken.
				if aeErr != nil || !aer.Success {
					t.Fatalf("forged AppendEntries on an insecure cluster: err %v success %v", aeErr, aer.Success)
				}
				testutil.WaitFor(t, 10*time.Second, "the follower applies the forged entry", func() bool {
					return fsmOf(follower).has("forged")
				})
				if tnErr != nil {
					t.Fatalf("forged TimeoutNow on an insecure cluster: %v", tnErr)
				}
				return
			}
			if aeErr == nil {
				t.Errorf("forged AppendEntries accepted (success %v)", aer.Success)
			}
			if tnErr == nil {
				t.Error("forged TimeoutNow accepted")
			}
			// Nothing changed: same leader, no forged term, no forged entry,
			// and the cluster still commits.
			idx := apply(t, leader, "after")
			waitAllApplied(t, nodes, idx)
			if l := agreedLeader(nodes); l != leader {
				t.Errorf("leader changed after the forged RPCs")
			}
			for _, n := range nodes {
				if n.raft.CurrentTerm() >= forgedTerm {
					t.Errorf("%s moved to the forged term %d", n.ID(), n.raft.CurrentTerm())
				}
				if fsmOf(n).has("forged") {
					t.Errorf("%s applied the forged entry", n.ID())
				}
			}
			// A plain-TCP attempt fails before any certificate is seen; a
			// foreign certificate is counted.
			if got := counterSum(t, follower, "conflux_cluster_tls_refused_total"); tc.cert && got == 0 {
				t.Error("the refused handshake was not counted")
			}
		})
	}
}

// Finding 3: a process holding the gossip key (operator gossip key, or the
// key derived from the secret) but no certificate of the cluster gossips
// fine and is never written into the raft configuration.
func TestSecurityGossipKeyWithoutCertificateNeverInRaft(t *testing.T) {
	nodes, specs, _ := startSecurityCluster(t, true)
	rs := newSpecs(t, "rogue", 1)[0]
	rcfg := testConfig(t, rs, gossipAddrs(specs), 3)
	rcfg.ClusterSecrets = nil
	rcfg.GossipKeys = gossipKeyring([][]byte{testSecret})
	rcfg.RaftTLS = testutil.NewCA(t, "rogue CA").MutualTLS(t, rs.id)
	startNode(t, rcfg)
	testutil.WaitFor(t, 20*time.Second, "the leader sees the rogue in gossip and reports it", func() bool {
		l := agreedLeader(nodes)
		if l == nil {
			return false
		}
		_, reported := l.Untrusted()[rs.id]
		return reported && l.gossipMembers()[rs.id].state == gossipAlive
	})
	startWitness(t, nodes, specs, true)
	leader := agreedLeader(nodes)
	if cf := configString(leader); strings.Contains(cf, rs.id) {
		t.Fatalf("the rogue is in the raft configuration: %s", cf)
	}
	st := leader.Status()
	if !slices.ContainsFunc(st.Untrusted, func(s string) bool { return strings.HasPrefix(s, rs.id+": ") }) {
		t.Errorf("status does not list the rogue as untrusted: %v", st.Untrusted)
	}
}

// Finding 3: claiming a stopped voter's node id from other ports — even
// with the cluster secret, but another key — does not make autopilot
// remove or re-address the real voter, whose raft peers refuse the
// impostor; the real voter rejoins when it comes back.
func TestSecurityImpostorOfStoppedVoter(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprintf("secure=%v", secure), func(t *testing.T) {
			nodes, specs, leader := startSecurityCluster(t, secure)
			vi := slices.IndexFunc(nodes, func(n *Node) bool { return n != leader })
			victim := nodes[vi]
			victimAddr := victim.RaftAddr()
			if err := victim.Kill(); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 20*time.Second, "the leader sees the victim dead in gossip", func() bool {
				st := leader.gossipMembers()[victim.ID()].state
				return st == gossipDead || st == gossipLeft
			})

			// The impostor: same id and secret, its own data dir (its own
			// key), other ports.
			is := newSpecs(t, "impostor", 1)[0]
			is.id = victim.ID()
			icfg := testConfig(t, is, gossipAddrs(specs), 3)
			if secure {
				withIdentities(&icfg)
			} else {
				insecure(&icfg)
			}
			impostor := startNode(t, icfg)

			if !secure {
				testutil.WaitFor(t, 30*time.Second, "autopilot re-addresses the victim to the impostor (insecure)", func() bool {
					return strings.Contains(configString(leader), victim.ID()+"@"+impostor.RaftAddr())
				})
				return
			}
			testutil.WaitFor(t, 20*time.Second, "the leader reports the impostor", func() bool {
				_, reported := leader.Untrusted()[victim.ID()]
				return reported
			})
			// Its raft RPCs are refused: the id is bound to another key.
			var resp raft.AppendEntriesResponse
			err := impostor.trans.AppendEntries(raft.ServerID(leader.ID()), raft.ServerAddress(leader.RaftAddr()),
				&raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte(is.id), Addr: []byte(impostor.RaftAddr())}, Term: leader.raft.CurrentTerm() + 1}, &resp)
			if err == nil {
				t.Error("the leader took an AppendEntries from the impostor")
			}
			live := slices.Delete(slices.Clone(nodes), vi, vi+1)
			startWitness(t, live, specs, true)
			want := victim.ID() + "@" + victimAddr + "/voter"
			if cf := configString(leader); !strings.Contains(cf, want) {
				t.Fatalf("the victim was removed or re-addressed: %s (want %s)", cf, want)
			}

			// The real voter comes back and catches up.
			vcfg := testConfig(t, specs[vi], gossipAddrs(specs), 3)
			withIdentities(&vcfg)
			back := startNode(t, vcfg)
			idx := apply(t, leader, "after-impostor")
			waitAllApplied(t, []*Node{leader, back}, idx)
			if cf := configString(leader); !strings.Contains(cf, want) {
				t.Fatalf("after the victim's return: %s (want %s)", cf, want)
			}
		})
	}
}

// counterSum adds up a counter of n's registry over all labels.
func counterSum(t *testing.T, n *Node, name string) float64 {
	t.Helper()
	mfs, err := n.cfg.Registerer.(*prometheus.Registry).Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// `peers remove` drops the node's key binding: a server whose data dir
// (and so its key) was wiped rejoins under its old id only after that;
// before, the cluster refuses its new key.
func TestSecurityRemovePeerDropsBinding(t *testing.T) {
	nodes, specs, leader := startSecurityCluster(t, true)
	vi := slices.IndexFunc(nodes, func(n *Node) bool { return n != leader })
	victim := nodes[vi]
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	// The wiped server: same id and addresses, a new data dir and key.
	spec := specs[vi]
	spec.dir = t.TempDir()
	cfg := testConfig(t, spec, gossipAddrs(specs), 3)
	withIdentities(&cfg)
	wiped := startNode(t, cfg)
	testutil.WaitFor(t, 20*time.Second, "the leader refuses the new key under the bound id", func() bool {
		_, reported := leader.Untrusted()[spec.id]
		return reported
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	live := slices.Delete(slices.Clone(nodes), vi, vi+1)
	if err := leader.RemovePeer(ctx, spec.id); err != nil {
		t.Fatal(err)
	}
	if _, ok := leader.boundKey(spec.id); ok {
		t.Fatal("the binding survived peers remove")
	}
	testutil.WaitFor(t, 30*time.Second, "the wiped server rejoins with its new key", func() bool {
		fp, ok := leader.boundKey(spec.id)
		return ok && fp == wiped.KeyFingerprint() && strings.Contains(configString(leader), spec.id+"@")
	})
	waitAllApplied(t, append(live, wiped), apply(t, leader, "after-rejoin"))
}
