package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

const (
	tunnelKind = "cloudflare.TunnelConfiguration"
	edgeTunnel = "ClusterTunnel/edge"
)

// TestE2EWriteThroughFollowerIsVisibleEverywhere: three processes form a
// cluster on their own; a write through a follower is visible on every node.
func TestE2EWriteThroughFollowerIsVisibleEverywhere(t *testing.T) {
	c := newProcCluster(t, 3)
	f := c.follower()

	res := c.putFragments(f, tunnelFragmentJSON(edgeTunnel, "web", 1, "app.example.com"))
	if res[0].Index == 0 {
		t.Fatalf("put through follower %s: no index in %+v", c.nodes[f].id, res)
	}

	// The rules and the catch-all; tunnel-wide settings come only from a
	// Tunnel source, and there is none.
	wantIngress := `[{"hostname":"app.example.com","service":"http://web.default.svc:80"},{"service":"http_status:404"}]`
	for i := range c.nodes {
		eventually(t, 20*time.Second, c.nodes[i].id+" shows the desired tunnel configuration", func() error {
			r := c.cli(i, "targets", "get", tunnelKind, edgeTunnel, "-o", "json", "--consistency", "stale")
			if r.code != 0 {
				return fmt.Errorf("exit %d: %s", r.code, r.stderr)
			}
			var tg api.Target
			if err := json.Unmarshal([]byte(r.stdout), &tg); err != nil {
				return fmt.Errorf("decode: %v\n%s", err, r.stdout)
			}
			var desired struct {
				Ingress     json.RawMessage `json:"ingress"`
				WarpRouting json.RawMessage `json:"warp-routing"`
			}
			if err := json.Unmarshal(tg.Desired, &desired); err != nil {
				return fmt.Errorf("desired %s: %v", tg.Desired, err)
			}
			if !jsonEqual(desired.Ingress, wantIngress) || desired.WarpRouting != nil {
				return fmt.Errorf("desired %s, want ingress %s and no warp-routing", tg.Desired, wantIngress)
			}
			if len(tg.Fragments) != 1 || tg.Fragments[0].Source.String() != "Ingress/default/web" || tg.Fragments[0].CreateIndex == 0 {
				return fmt.Errorf("fragments %+v", tg.Fragments)
			}
			if tg.Hash == "" {
				return fmt.Errorf("no hash")
			}
			return nil
		})
	}

	// A short load through a follower: every write is forwarded and
	// acknowledged.
	bench := c.mustCLI(f, "bench", "--clients", "4", "--duration", "1s", "--targets", "3", "--quiet", "-o", "json")
	if res := decodeJSON[benchResult](t, bench.stdout); res.Writes == 0 || res.Errors != 0 {
		t.Errorf("bench through follower %s: %+v", c.nodes[f].id, res)
	}
	c.converged("", 0, 1, 2)

	// Table output of the same target names the rule's host.
	r := c.mustCLI(c.leader(), "targets", "get", tunnelKind, edgeTunnel)
	if !strings.Contains(r.stdout, "app.example.com") || !strings.Contains(r.stdout, "Ingress/default/web") {
		t.Errorf("targets get (table) lacks the host or the source:\n%s", r.stdout)
	}

	leaderID := c.nodes[c.leader()].id
	for i := range c.nodes {
		st := decodeJSON[api.ClusterStatus](t, c.mustCLI(i, "status", "-o", "json").stdout)
		if st.NodeID != c.nodes[i].id {
			t.Errorf("status of %s says node %q", c.nodes[i].id, st.NodeID)
		}
		if st.Leader != leaderID {
			t.Errorf("status of %s: leader %q, want %q", c.nodes[i].id, st.Leader, leaderID)
		}
		voters, leaders := 0, 0
		for _, m := range st.Members {
			if m.Suffrage == "voter" {
				voters++
			}
			if m.Leader {
				leaders++
				if m.ID != leaderID {
					t.Errorf("status of %s: member %s marked leader, want %s", c.nodes[i].id, m.ID, leaderID)
				}
			}
		}
		if voters != 3 || leaders != 1 || len(st.Members) != 3 {
			t.Errorf("status of %s: %d members, %d voters, %d leaders; want 3, 3, 1: %+v", c.nodes[i].id, len(st.Members), voters, leaders, st.Members)
		}
	}
}

// TestE2EKilledLeaderLosesNoAcknowledgedWrite: SIGKILL the leader process;
// the survivors elect a new leader and keep every acknowledged write; the
// killed node, restarted from its data folder, catches up.
func TestE2EKilledLeaderLosesNoAcknowledgedWrite(t *testing.T) {
	c := newProcCluster(t, 3)
	leader := c.leader()
	oldLeaderID := c.nodes[leader].id
	writer := (leader + 1) % 3

	// Acknowledged through the CLI before the kill.
	c.putFragments(writer,
		tunnelFragmentJSON(edgeTunnel, "before-a", 1, "a.example.com"),
		tunnelFragmentJSON(edgeTunnel, "before-b", 1, "b.example.com"),
	)

	// A writer keeps putting fragments through a survivor across the kill;
	// only acknowledged writes must survive.
	cl := c.client(writer)
	w := testutil.StartWriter(func(i int) (string, error) {
		name := fmt.Sprintf("during-%d", i)
		frag := api.Fragment{
			Target:     api.TargetRef{Kind: tunnelKind, Name: edgeTunnel},
			Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: name},
			Generation: 1,
			Spec:       json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"d%d.example.com","service":"http://x.default.svc:80"}]}`, i)),
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cl.PutFragment(ctx, frag)
		return edgeTunnel + "|Ingress/default/" + name, err
	})
	eventually(t, 20*time.Second, "some writes before the kill", func() error {
		if n := w.Count(); n < 10 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})

	c.kill(leader)
	newLeader := c.leader()
	if c.nodes[newLeader].id == oldLeaderID {
		t.Fatalf("the killed node %s is still the leader", oldLeaderID)
	}
	atKill := w.Count()
	eventually(t, 30*time.Second, "writes acknowledged by the new leader", func() error {
		if n := w.Count(); n < atKill+10 {
			return fmt.Errorf("%d acknowledged since the kill", n-atKill)
		}
		return nil
	})
	acked := w.Stop()

	// Acknowledged through the CLI after the failover, via the other survivor.
	other := 3 - leader - writer
	c.putFragments(other, tunnelFragmentJSON(edgeTunnel, "after", 1, "after.example.com"))

	survivors := c.live()
	list := c.converged("", survivors...)
	have := fragmentKeys(t, list)
	want := maps.Clone(acked)
	for _, s := range []string{"before-a", "before-b", "after"} {
		want[edgeTunnel+"|Ingress/default/"+s] = true
	}
	var missing []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("%d acknowledged writes lost after the leader was killed: %v", len(missing), missing)
	}
	t.Logf("%d acknowledged writes, all present on the survivors (%d fragments)", len(want), len(have))

	// The killed node comes back from its data folder and catches up.
	c.start(leader)
	c.waitReady(leader)
	c.converged(list, 0, 1, 2)
	st := decodeJSON[api.ClusterStatus](t, c.mustCLI(leader, "status", "-o", "json").stdout)
	if st.Leader == "" || st.NodeID != oldLeaderID {
		t.Errorf("restarted node's status: %+v", st)
	}
}

// TestE2EFullRestartKeepsIdenticalState: SIGTERM all three, start them
// again: every node has the same fragments as before.
func TestE2EFullRestartKeepsIdenticalState(t *testing.T) {
	c := newProcCluster(t, 3)
	var frags []map[string]any
	for i := range 5 {
		frags = append(frags, tunnelFragmentJSON(fmt.Sprintf("ClusterTunnel/t%d", i%2), fmt.Sprintf("src-%d", i), i+1, fmt.Sprintf("h%d.example.com", i)))
	}
	c.putFragments(c.follower(), frags...)
	// A delete is part of the state too.
	c.mustCLI(c.leader(), "fragments", "rm", tunnelKind, "ClusterTunnel/t0", "Ingress/default/src-0")
	before := c.converged("", 0, 1, 2)
	if n := len(decodeJSON[[]api.Fragment](t, before)); n != 4 {
		t.Fatalf("%d fragments before the restart, want 4:\n%s", n, before)
	}
	beforeTarget := c.mustCLI(0, "targets", "get", tunnelKind, "ClusterTunnel/t1", "-o", "json", "--consistency", "stale").stdout

	c.restartAll()
	c.converged(before, 0, 1, 2)
	for i := range c.nodes {
		got := c.mustCLI(i, "targets", "get", tunnelKind, "ClusterTunnel/t1", "-o", "json", "--consistency", "stale").stdout
		if got != beforeTarget {
			t.Errorf("%s: target after the restart:\n%s\nbefore:\n%s", c.nodes[i].id, got, beforeTarget)
		}
	}

	// And the restarted cluster takes writes.
	c.putFragments(c.follower(), tunnelFragmentJSON(edgeTunnel, "after-restart", 1, "r.example.com"))
	after := c.converged("", 0, 1, 2)
	if n := len(decodeJSON[[]api.Fragment](t, after)); n != 5 {
		t.Fatalf("%d fragments after a write following the restart, want 5", n)
	}
}

// TestE2ESnapshotSaveWipeRestore: save a snapshot, lose every node's data,
// restore into a fresh cluster: the same fragments. A truncated file is
// refused by inspect and restore and changes nothing.
func TestE2ESnapshotSaveWipeRestore(t *testing.T) {
	c := newProcCluster(t, 3)
	var frags []map[string]any
	for i := range 6 {
		frags = append(frags, tunnelFragmentJSON(fmt.Sprintf("ClusterTunnel/s%d", i%3), fmt.Sprintf("src-%d", i), 1, fmt.Sprintf("s%d.example.com", i)))
	}
	c.putFragments(c.follower(), frags...)
	before := c.converged("", 0, 1, 2)
	beforeTargets := c.mustCLI(0, "targets", "ls", "-o", "json", "--consistency", "stale").stdout

	dir := t.TempDir()
	file := filepath.Join(dir, "cluster.snap")
	saved := decodeJSON[api.SnapshotMeta](t, c.mustCLI(c.follower(), "snapshot", "save", file, "-o", "json").stdout)
	if saved.Fragments != 6 || saved.Index == 0 || len(saved.SHA256) != 64 {
		t.Fatalf("snapshot save: %+v", saved)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("snapshot save left %d files in the folder, want only the snapshot", len(entries))
	}

	// The scheduled form (the backup CronJob's): a timestamped name, and
	// only the newest backups kept; other files are never touched.
	backups := t.TempDir()
	for _, name := range []string{"conflux-sync-20200101T000000Z.snap", "conflux-sync-20210101T000000Z.snap", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(backups, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.mustCLI(c.follower(), "snapshot", "save", "--into-dir", backups, "--keep", "2")
	var names []string
	entries, _ := os.ReadDir(backups)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 || names[0] != "conflux-sync-20210101T000000Z.snap" || !regexp.MustCompile(`^conflux-sync-\d{8}T\d{6}Z\.snap$`).MatchString(names[1]) || names[2] != "notes.txt" {
		t.Errorf("after save --into-dir --keep 2 the folder holds %q; want the newer old backup, the new one and notes.txt", names)
	}

	// inspect is offline: no --addr needed.
	ins := cli(t, "snapshot", "inspect", file)
	if ins.code != 0 {
		t.Fatalf("snapshot inspect: exit %d: %s", ins.code, ins.stderr)
	}
	for _, want := range []string{"Index:", fmt.Sprint(saved.Index), "Fragments:", "6", "SHA-256:", saved.SHA256} {
		if !strings.Contains(ins.stdout, want) {
			t.Errorf("snapshot inspect output lacks %q:\n%s", want, ins.stdout)
		}
	}
	insJSON := decodeJSON[api.SnapshotMeta](t, cli(t, "snapshot", "inspect", file, "-o", "json").stdout)
	if insJSON != saved {
		t.Errorf("inspect %+v, save reported %+v", insJSON, saved)
	}

	// Total loss: every process killed, every data folder wiped.
	for i := range c.nodes {
		c.kill(i)
		c.wipe(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	c.waitAllReady()
	if got := c.staleFragments(c.leader()); len(decodeJSON[[]api.Fragment](t, got)) != 0 {
		t.Fatalf("the fresh cluster is not empty:\n%s", got)
	}

	// A truncated copy is refused, offline and by restore, before anything
	// changes.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.snap")
	if err := os.WriteFile(truncated, raw[:len(raw)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"snapshot", "inspect", truncated}, {"snapshot", "restore", truncated}} {
		r := c.cli(c.follower(), args...)
		if r.code == 0 {
			t.Errorf("%s of a truncated file: exit 0\n%s", strings.Join(args[:2], " "), r.stdout)
		}
		if !strings.Contains(r.stderr, "Error:") || !strings.Contains(r.stderr, "truncated.snap") || len(r.stderr) > 2000 {
			t.Errorf("%s of a truncated file: unclear message %q", strings.Join(args[:2], " "), r.stderr)
		}
		t.Logf("%s of a truncated file: exit %d: %s", strings.Join(args[:2], " "), r.code, strings.TrimSpace(r.stderr))
	}
	if got := c.converged("", 0, 1, 2); len(decodeJSON[[]api.Fragment](t, got)) != 0 {
		t.Fatalf("a refused restore changed the cluster:\n%s", got)
	}

	// Disaster recovery: the new cluster takes the lost one's id, which is
	// in the ownership markers of what it created downstream.
	res := decodeJSON[api.SnapshotRestore](t, c.mustCLI(c.follower(), "snapshot", "restore", "--take-cluster-id", file, "-o", "json").stdout)
	if res.Index != saved.Index || res.Fragments != saved.Fragments || res.RestoredClusterID != saved.ClusterID || saved.ClusterID == "" {
		t.Errorf("restore reported %+v, saved %+v", res, saved)
	}
	c.converged(before, 0, 1, 2)
	for i := range c.nodes {
		if st, err := c.client(i).Status(context.Background()); err != nil || st.ClusterID != saved.ClusterID {
			t.Errorf("%s after the restore: cluster id %q (%v), want the snapshot's %q", c.nodes[i].id, st.ClusterID, err, saved.ClusterID)
		}
	}
	if got := c.mustCLI(c.leader(), "targets", "ls", "-o", "json").stdout; got != beforeTargets {
		t.Errorf("targets after restore:\n%s\nbefore:\n%s", got, beforeTargets)
	}

	// A truncated file is refused by a live cluster with state as well.
	if r := c.cli(c.leader(), "snapshot", "restore", truncated); r.code == 0 {
		t.Errorf("restore of a truncated file into a live cluster: exit 0")
	}
	c.converged(before, 0, 1, 2)

	// The restored cluster takes writes.
	c.putFragments(c.follower(), tunnelFragmentJSON(edgeTunnel, "after-restore", 1, "x.example.com"))
	if n := len(decodeJSON[[]api.Fragment](t, c.converged("", 0, 1, 2))); n != 7 {
		t.Errorf("%d fragments after a write following the restore, want 7", n)
	}
}

// TestE2ERecoverLostQuorum: with the cluster stopped, `recover` rewrites
// node-0's raft configuration to itself alone; node-0 then leads alone with
// all the data. recover on an empty folder fails clearly.
func TestE2ERecoverLostQuorum(t *testing.T) {
	c := newProcCluster(t, 3)
	c.putFragments(c.follower(),
		tunnelFragmentJSON(edgeTunnel, "r1", 1, "r1.example.com"),
		tunnelFragmentJSON(edgeTunnel, "r2", 1, "r2.example.com"),
		tunnelFragmentJSON("ClusterTunnel/other", "r3", 1, "r3.example.com"),
	)
	before := c.converged("", 0, 1, 2)

	// Not on a running node: its files are locked.
	r := cliWith(t, cliOptions{timeout: 30 * time.Second}, "recover", "--data-dir", c.nodes[0].dataDir, "--peers", "node-0="+c.nodes[0].raftAddr)
	if r.code != 1 || !strings.Contains(r.stderr, "still running") {
		t.Errorf("recover on a running node: exit %d, stderr %q; want exit 1 and a message that it may still run", r.code, r.stderr)
	}
	t.Logf("recover on a running node: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	c.stop()

	// Empty folder, and missing flags.
	empty := t.TempDir()
	r = cli(t, "recover", "--data-dir", empty, "--peers", "node-0="+c.nodes[0].raftAddr)
	if r.code != 1 || !strings.Contains(r.stderr, "no raft state") {
		t.Errorf("recover on an empty folder: exit %d, stderr %q; want exit 1 naming the missing raft state", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("recover on an empty folder created %d entries in it", len(entries))
	}
	if r := cli(t, "recover", "--data-dir", c.nodes[0].dataDir); r.code != 2 || !strings.Contains(r.stderr, "--peers") {
		t.Errorf("recover without --peers: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cli(t, "recover", "--data-dir", c.nodes[0].dataDir, "--peers", "node-0"); r.code != 2 || !strings.Contains(r.stderr, "id=addr") {
		t.Errorf("recover with a malformed --peers: exit %d, stderr %q", r.code, r.stderr)
	}

	r = cliWith(t, cliOptions{timeout: 20 * time.Second}, "recover", "--data-dir", c.nodes[0].dataDir, "--peers", "node-0="+c.nodes[0].raftAddr)
	if r.code != 0 {
		t.Fatalf("recover: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Recovered") {
		t.Errorf("recover output: %q", r.stdout)
	}

	// node-0 alone: it has state, so the bootstrap flags do not matter.
	c.bootstrapExpect = 1
	c.start(0)
	c.waitReady(0)
	if l := c.leader(); l != 0 {
		t.Fatalf("leader is %s, want node-0", c.nodes[l].id)
	}
	st := decodeJSON[api.ClusterStatus](t, c.mustCLI(0, "status", "-o", "json").stdout)
	if st.State != "Leader" || st.Leader != "node-0" {
		t.Errorf("node-0 status after recover: state %s, leader %s", st.State, st.Leader)
	}
	voters := 0
	for _, m := range st.Members {
		if m.Suffrage == "voter" {
			voters++
			if m.ID != "node-0" {
				t.Errorf("voter %s after recovering to node-0 alone", m.ID)
			}
		}
	}
	if voters != 1 {
		t.Errorf("%d voters after recover, want 1: %+v", voters, st.Members)
	}
	c.converged(before, 0)
	// Default (leader) reads and writes work: the node has quorum alone.
	if got := c.mustCLI(0, "fragments", "ls", "-o", "json").stdout; got != before {
		t.Errorf("fragments after recover:\n%s\nbefore:\n%s", got, before)
	}
	c.putFragments(0, tunnelFragmentJSON(edgeTunnel, "after-recover", 1, "ar.example.com"))

	// A server left out by recover and wiped joins again under its old id
	// with a new node key: recover dropped the key bindings of the servers
	// it removed, as `peers remove` does.
	c.wipe(1)
	c.bootstrapExpect = 3 // no state: wait to be added, never bootstrap alone
	c.start(1)
	eventually(t, 60*time.Second, "wiped node-1 rejoins", func() error {
		st := decodeJSON[api.ClusterStatus](t, c.mustCLI(0, "status", "-o", "json").stdout)
		for _, m := range st.Members {
			if m.ID == "node-1" && m.Suffrage != "" {
				return nil
			}
		}
		return fmt.Errorf("node-1 not in the raft configuration (untrusted: %v)", st.Untrusted)
	})
}

func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
