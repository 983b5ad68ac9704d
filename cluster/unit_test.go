package cluster

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

func metaFor(id string, expect int) nodeMeta {
	return nodeMeta{Version: metaVersion, ID: id, RaftAddr: id + ":7781", Expect: expect}
}

// Four servers, expect three, the lowest id seen late: n2 and n3 locked on
// {n1,n2,n3} while n1, having seen n0 meanwhile, proposed {n0,n1,n2}. The
// unlocked servers follow the locked set that includes them, so the
// agreement completes (it stalled for good before, seen in CI); a server
// outside every locked set keeps proposing the lowest ids.
func TestDecideBootstrapFollowsALockedSet(t *testing.T) {
	n0, n1, n2, n3 := metaFor("n0", 3), metaFor("n1", 3), metaFor("n2", 3), metaFor("n3", 3)
	locked := []voter{{"n1", "n1:7781"}, {"n2", "n2:7781"}, {"n3", "n3:7781"}}
	h := voterSetHash(locked)
	for _, m := range []*nodeMeta{&n2, &n3} {
		m.Proposal, m.Locked = h, true
	}
	members := []nodeMeta{n0, n1, n2, n3}
	dec := decideBootstrap(bootstrapInput{self: "n1", expect: 3, members: members})
	if dec.proposal != h {
		t.Fatalf("n1 proposes %s, want the locked set %s: %+v", dec.proposal, formatVoters(locked), dec)
	}
	n1.Proposal = h
	dec = decideBootstrap(bootstrapInput{self: "n1", expect: 3, members: []nodeMeta{n0, n1, n2, n3}})
	if !slices.Equal(dec.lock, locked) {
		t.Fatalf("n1 does not lock the set the others locked: %+v", dec)
	}
	lowest := voterSetHash([]voter{{"n0", "n0:7781"}, {"n1", "n1:7781"}, {"n2", "n2:7781"}})
	if dec := decideBootstrap(bootstrapInput{self: "n0", expect: 3, members: members}); dec.proposal != lowest || dec.lock != nil {
		t.Fatalf("n0, outside the locked set: %+v", dec)
	}
}

func TestDecideBootstrapSteps(t *testing.T) {
	a, b, c, d := metaFor("a", 3), metaFor("b", 3), metaFor("c", 3), metaFor("d", 3)
	set := []voter{{"a", "a:7781"}, {"b", "b:7781"}, {"c", "c:7781"}}
	h := voterSetHash(set)

	// Too few members: nothing.
	dec := decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{a, b}})
	if dec.proposal != "" || dec.lock != nil || dec.bootstrap != nil {
		t.Fatalf("two members: %+v", dec)
	}
	// Four members: propose the three lowest ids.
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{d, c, b, a}})
	if dec.proposal != h || dec.lock != nil {
		t.Fatalf("propose: %+v", dec)
	}
	// d is not in the set: it proposes but never locks.
	dec = decideBootstrap(bootstrapInput{self: "d", expect: 3, members: []nodeMeta{d, c, b, a}})
	if dec.proposal != h || dec.lock != nil || !strings.Contains(dec.blocked, "not in the bootstrap voter set") {
		t.Fatalf("outsider: %+v", dec)
	}
	// Everyone proposes h: lock.
	for _, m := range []*nodeMeta{&a, &b, &c} {
		m.Proposal = h
	}
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{a, b, c, d}})
	if !slices.Equal(dec.lock, set) {
		t.Fatalf("lock: %+v", dec)
	}
	// Locked, but b not yet locked: wait.
	lock := &bootstrapLock{Hash: h, Voters: set}
	a.Locked, c.Locked = true, true
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{a, b, c}, lock: lock})
	if dec.bootstrap != nil || dec.proposal != "" {
		t.Fatalf("partial lock: %+v", dec)
	}
	// All locked: bootstrap, even if the view now differs (d gone, e new
	// with a lower id): the lock decides.
	b.Locked = true
	e := metaFor("0e", 3)
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{e, a, b, c}, lock: lock})
	if !slices.Equal(dec.bootstrap, set) {
		t.Fatalf("bootstrap: %+v", dec)
	}
	// A member with a different raft address than locked: wait.
	b2 := b
	b2.RaftAddr = "b:9999"
	if dec := decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{a, b2, c}, lock: lock}); dec.bootstrap != nil {
		t.Fatalf("moved member: %+v", dec)
	}
	// Mismatched expect blocks, as an error.
	bad := metaFor("b", 5)
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{metaFor("a", 3), bad, metaFor("c", 3)}})
	if !dec.mismatch || dec.proposal != "" {
		t.Fatalf("mismatch: %+v", dec)
	}
	// A member with raft state blocks.
	st := metaFor("b", 3)
	st.HasState = true
	dec = decideBootstrap(bootstrapInput{self: "a", expect: 3, members: []nodeMeta{metaFor("a", 3), st, metaFor("c", 3)}})
	if dec.proposal != "" || !strings.Contains(dec.blocked, "raft state") {
		t.Fatalf("existing state: %+v", dec)
	}
}

// TestBootstrapNeverSplits simulates the agreement with arbitrary partial,
// shrinking and stale views of fewer than 2×expect servers and checks that
// at most one voter set is ever bootstrapped.
func TestBootstrapNeverSplits(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 200
	}
	formed := 0
	for it := range iterations {
		rng := rand.New(rand.NewPCG(uint64(it), 42))
		expect := 3
		n := expect + rng.IntN(expect) // 3..5 servers (< 2×expect)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("s%d", i)
		}
		history := make([][]nodeMeta, n) // every metadata each server published
		locks := make([]*bootstrapLock, n)
		seen := make([][]int, n) // seen[i][j]: newest version of j that i saw
		for i := range n {
			history[i] = []nodeMeta{metaFor(ids[i], expect)}
			seen[i] = make([]int, n)
		}
		bootstrapped := map[string][]voter{}
		for step := 0; step < 400 && len(bootstrapped) < n; step++ {
			i := rng.IntN(n)
			if _, done := bootstrapped[ids[i]]; done {
				continue
			}
			self := history[i][len(history[i])-1]
			members := []nodeMeta{self}
			for j := range n {
				if j == i || rng.IntN(3) == 0 { // j missing from i's view now
					continue
				}
				// Gossip delivers versions in order, possibly late.
				latest := len(history[j]) - 1
				if seen[i][j] < latest {
					seen[i][j] += rng.IntN(latest - seen[i][j] + 1)
				}
				members = append(members, history[j][seen[i][j]])
			}
			d := decideBootstrap(bootstrapInput{self: ids[i], expect: expect, members: members, lock: locks[i]})
			next := self
			if locks[i] == nil {
				next.Proposal = d.proposal
			}
			if d.lock != nil {
				locks[i] = &bootstrapLock{Hash: voterSetHash(d.lock), Voters: d.lock}
				next.Proposal, next.Locked = locks[i].Hash, true
			}
			if d.bootstrap != nil {
				bootstrapped[ids[i]] = d.bootstrap
				next.HasState = true
			}
			if next != self {
				history[i] = append(history[i], next)
			}
		}
		var first []voter
		for id, set := range bootstrapped {
			if first == nil {
				first = set
				formed++
			}
			if !slices.Equal(first, set) {
				t.Fatalf("iteration %d: split bootstrap: %s bootstrapped %s, another %s", it, id, formatVoters(set), formatVoters(first))
			}
		}
	}
	if formed == 0 {
		t.Fatal("no iteration ever bootstrapped: the simulation is not exercising the protocol")
	}
	t.Logf("%d/%d simulated formations bootstrapped, none split", formed, iterations)
}

func apMember(id, state string, applied, term uint64, since time.Time) member {
	m := metaFor(id, 3)
	m.HasState, m.Applied, m.Term = true, applied, term
	return member{name: id, meta: m, metaOK: true, state: state, since: since}
}

func server(id string, s raft.ServerSuffrage) raft.Server {
	return raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":7781"), Suffrage: s}
}

func TestPlanAutopilot(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	base := func() apInput {
		return apInput{
			now:  t0,
			self: "a",
			servers: []raft.Server{
				server("a", raft.Voter), server("b", raft.Voter), server("c", raft.Voter),
			},
			members: map[string]member{
				"a": apMember("a", gossipAlive, 100, 2, t0),
				"b": apMember("b", gossipAlive, 100, 2, t0),
				"c": apMember("c", gossipAlive, 100, 2, t0),
			},
			leaderApplied: 100, term: 2, failing: map[string]bool{},
			stabilization: 10 * time.Second, deadTimeout: time.Minute,
		}
	}
	kinds := func(as []apAction) []string {
		var out []string
		for _, a := range as {
			out = append(out, string(a.kind)+":"+a.id)
		}
		return out
	}

	t.Run("steady", func(t *testing.T) {
		if got := planAutopilot(newAPState(), base()); len(got) != 0 {
			t.Fatalf("%v", kinds(got))
		}
	})
	t.Run("add then promote after stabilization", func(t *testing.T) {
		st := newAPState()
		in := base()
		in.members["d"] = apMember("d", gossipAlive, 0, 0, t0)
		in.members["d"] = func() member { m := in.members["d"]; m.meta.HasState = false; return m }()
		got := planAutopilot(st, in)
		if !slices.Equal(kinds(got), []string{"add-nonvoter:d"}) || got[0].addr != "d:7781" {
			t.Fatalf("%v", got)
		}
		in.servers = append(in.servers, server("d", raft.Nonvoter))
		in.members["d"] = apMember("d", gossipAlive, 50, 2, t0)
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("promoted at once: %v", kinds(got))
		}
		in.now = t0.Add(5 * time.Second)
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("promoted early: %v", kinds(got))
		}
		// Unhealthy for one pass: the clock restarts.
		in.failing["d"] = true
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("promoted while failing: %v", kinds(got))
		}
		delete(in.failing, "d")
		in.now = t0.Add(11 * time.Second)
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("stabilization not restarted: %v", kinds(got))
		}
		in.now = t0.Add(21 * time.Second)
		if got := kinds(planAutopilot(st, in)); !slices.Equal(got, []string{"promote:d"}) {
			t.Fatalf("%v", got)
		}
	})
	t.Run("no promotion when behind or in another term", func(t *testing.T) {
		for name, m := range map[string]member{
			"behind":   apMember("d", gossipAlive, 1, 2, t0),
			"old term": apMember("d", gossipAlive, 100, 1, t0),
			"suspect":  apMember("d", gossipSuspect, 100, 2, t0),
		} {
			st := newAPState()
			in := base()
			in.leaderApplied = 2000
			if name != "behind" {
				in.leaderApplied = 100
			}
			in.servers = append(in.servers, server("d", raft.Nonvoter))
			in.members["d"] = m
			planAutopilot(st, in)
			in.now = t0.Add(time.Hour)
			if got := planAutopilot(st, in); len(got) != 0 {
				t.Fatalf("%s: %v", name, kinds(got))
			}
		}
	})
	t.Run("dead voter removed after timeout", func(t *testing.T) {
		in := base()
		in.members["c"] = apMember("c", gossipDead, 100, 2, t0.Add(-30*time.Second))
		if got := planAutopilot(newAPState(), in); len(got) != 0 {
			t.Fatalf("removed before timeout: %v", kinds(got))
		}
		in.now = t0.Add(time.Minute)
		if got := kinds(planAutopilot(newAPState(), in)); !slices.Equal(got, []string{"remove:c"}) {
			t.Fatalf("%v", got)
		}
	})
	t.Run("never below quorum", func(t *testing.T) {
		in := base()
		in.now = t0.Add(time.Hour)
		in.members["b"] = apMember("b", gossipDead, 100, 2, t0)
		in.members["c"] = apMember("c", gossipLeft, 100, 2, t0)
		// Removing either leaves 2 voters with 1 alive: refused.
		if got := planAutopilot(newAPState(), in); len(got) != 0 {
			t.Fatalf("%v", kinds(got))
		}
		// With 5 voters and 2 dead, one goes per pass.
		in.servers = append(in.servers, server("d", raft.Voter), server("e", raft.Voter))
		in.members["d"] = apMember("d", gossipAlive, 100, 2, t0)
		in.members["e"] = apMember("e", gossipAlive, 100, 2, t0)
		if got := planAutopilot(newAPState(), in); len(got) != 1 || got[0].kind != apRemove {
			t.Fatalf("%v", kinds(got))
		}
	})
	t.Run("never the leader itself", func(t *testing.T) {
		in := base()
		in.now = t0.Add(time.Hour)
		delete(in.members, "a")
		st := newAPState()
		planAutopilot(st, in)
		in.now = in.now.Add(time.Hour)
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("%v", kinds(got))
		}
	})
	t.Run("missing member removed after timeout, non-voters first", func(t *testing.T) {
		st := newAPState()
		in := base()
		in.servers = append(in.servers, server("x", raft.Nonvoter), server("y", raft.Voter))
		in.servers[3], in.servers[4] = in.servers[4], in.servers[3]
		if got := planAutopilot(st, in); len(got) != 0 {
			t.Fatalf("%v", kinds(got))
		}
		in.now = t0.Add(2 * time.Minute)
		if got := kinds(planAutopilot(st, in)); !slices.Equal(got, []string{"remove:x"}) {
			t.Fatalf("%v", got)
		}
	})
	t.Run("same id new address", func(t *testing.T) {
		in := base()
		m := in.members["c"]
		m.meta.RaftAddr = "c-new:7781"
		in.members["c"] = m
		got := planAutopilot(newAPState(), in)
		if !slices.Equal(kinds(got), []string{"remove:c", "add-nonvoter:c"}) || got[1].addr != "c-new:7781" {
			t.Fatalf("%v", got)
		}
	})
	t.Run("address reused by a new id", func(t *testing.T) {
		in := base()
		in.members["c"] = apMember("c", gossipDead, 100, 2, t0)
		m := apMember("c2", gossipAlive, 0, 0, t0)
		m.meta.RaftAddr = "c:7781"
		in.members["c2"] = m
		if got := kinds(planAutopilot(newAPState(), in)); !slices.Equal(got, []string{"remove:c", "add-nonvoter:c2"}) {
			t.Fatalf("%v", got)
		}
	})
}

func TestMetaSizeLimit(t *testing.T) {
	m := nodeMeta{Version: 1, ID: "conflux-sync-2", RaftAddr: "conflux-sync-2.conflux-sync-internal.default.svc.cluster.local:7781",
		HTTPAddr: "https://conflux-sync-2.conflux-sync-internal.default.svc.cluster.local:7780", Expect: 3}
	if err := checkMetaSize(m); err != nil {
		t.Fatalf("realistic metadata rejected: %v", err)
	}
	m.HTTPAddr = strings.Repeat("h", 500)
	if err := checkMetaSize(m); err == nil {
		t.Fatal("oversized metadata accepted")
	}
	if got, ok := decodeMeta(m.encode()); !ok || got != m {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestLogAdapters(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHCLogger(l, "raft").Named("net").With("peer", "b")
	h.Info("hello", "servers", hclog.Fmt("%d servers", 3))
	h.Trace("hidden")
	if !h.IsDebug() || h.IsTrace() {
		t.Fatal("level checks")
	}
	h.StandardLogger(nil).Print("[WARN] std line")
	newStdLogger(l).Print("[ERR] memberlist: boom")
	out := buf.String()
	for _, want := range []string{`msg=hello`, `logger=raft.net`, `peer=b`, `servers="3 servers"`,
		`level=WARN msg="std line"`, `level=ERROR msg=boom`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Error("trace logged at debug level")
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{NodeID: "a", DataDir: "/tmp/x", FSM: &testFSM{}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RaftBindAddr != ":7781" || cfg.GossipBindAddr != ":7782" || cfg.BootstrapExpect != 3 ||
		cfg.DeadNodeTimeout != 30*time.Minute || cfg.ServerStabilizationTime != 10*time.Second ||
		cfg.AutopilotInterval != 2*time.Second || cfg.ApplyTimeout != 10*time.Second {
		t.Fatalf("defaults: %+v", cfg)
	}
	rc := raftConfig(cfg)
	if !rc.BatchApplyCh || rc.MaxAppendEntries != 512 || !rc.NoSnapshotRestoreOnStart || !rc.NoLegacyTelemetry ||
		rc.LocalID != "a" || rc.ShutdownOnRemove {
		t.Fatalf("raft config: %+v", rc)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Config{
		{DataDir: "d", FSM: &testFSM{}},
		{NodeID: "a", FSM: &testFSM{}},
		{NodeID: "a", DataDir: "d"},
		{NodeID: "a", DataDir: "d", FSM: &testFSM{}, BootstrapExpect: -1},
		{NodeID: "a", DataDir: "d", FSM: &testFSM{}, RaftBindAddr: "nope"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	adv, err := raftAdvertise(Config{RaftBindAddr: "0.0.0.0:7781", GossipAdvertise: "10.1.2.3:7782"})
	if err != nil || adv != "10.1.2.3:7781" {
		t.Fatalf("raftAdvertise = %q, %v", adv, err)
	}
	if _, err := raftAdvertise(Config{RaftBindAddr: ":0"}); err == nil {
		t.Fatal("unspecified host with port 0 accepted")
	}
}
