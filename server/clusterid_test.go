package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/store"
)

// clusterID waits until every live node has the same, non-empty cluster
// id and returns it.
func (c *testCluster) clusterID() string {
	c.t.Helper()
	var id string
	testutil.WaitFor(c.t, 20*time.Second, "one cluster id on every node", func() bool {
		id = ""
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			var got string
			n.Store().View(func(v *store.View) error { got = v.ClusterID(); return nil })
			if got == "" || (id != "" && got != id) {
				return false
			}
			id = got
		}
		return true
	})
	return id
}

// Two clusters bootstrapped alike — the same node ids at the same
// addresses, as every deployment from the same manifests is — used to get
// the same id (a hash of the bootstrap configuration), so each took the
// other's DNS records for its own. Each now draws its own, and keeps it
// across restarts.
func TestClustersBootstrappedAlikeHaveDistinctIDs(t *testing.T) {
	a := newTestCluster(t, 3)
	idA := a.clusterID()
	if len(idA) != 16 {
		t.Fatalf("cluster id %q, want 16 hex digits", idA)
	}
	cfgs := a.cfgs
	a.stopAll()

	b := &testCluster{t: t, cfgs: cfgs, nodes: make([]*server.Node, len(cfgs))}
	dir := t.TempDir()
	for i := range b.cfgs {
		b.cfgs[i].DataDir = filepath.Join(dir, b.cfgs[i].NodeID) // same ids and addresses, new data
		b.start(i)
	}
	b.leader()
	idB := b.clusterID()
	if idB == idA {
		t.Fatalf("two clusters bootstrapped with the same servers share cluster id %s", idA)
	}

	// The id survives a restart of every node, and a leader change.
	b.converge(b.putAll("x", 3))
	b.stopAll()
	for i := range b.cfgs {
		b.start(i)
	}
	b.leader()
	if got := b.clusterID(); got != idB {
		t.Fatalf("cluster id after a restart of every node: %s, want %s", got, idB)
	}
}

// A snapshot of another cluster restored into this one brings its state,
// not its id: this cluster keeps owning what it made, and does not take
// over the other's objects. With take-cluster-id (disaster recovery) it
// takes the snapshot's id. Either way every node, the followers that
// install the restore through raft's snapshot included, ends with the
// same id.
func TestRestoreKeepsTheClusterIDUnlessTaken(t *testing.T) {
	ctx := context.Background()
	src := newTestCluster(t, 3)
	srcID := src.clusterID()
	want := src.converge(src.putAll("src", 10))
	snap := saveSnapshot(t, src, src.leader())
	src.stopAll()

	c := newTestCluster(t, 3)
	ownID := c.clusterID()
	c.converge(c.putAll("own", 4))

	for name, q := range map[string]string{"not a boolean": "?take-cluster-id=maybe"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.nodes[c.leader()].URL()+"/v1/snapshot"+q, bytes.NewReader(snap))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e api.ErrorBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Error.Field != "take-cluster-id" {
			t.Fatalf("%s: status %d, error %+v; want 400 naming take-cluster-id", name, resp.StatusCode, e)
		}
	}

	res := c.restore(c.follower(), snap, api.RestoreOptions{})
	if res.RestoredClusterID != ownID || res.ClusterID != srcID || res.Fragments != 10 {
		t.Fatalf("restore answered cluster id %q (snapshot's %q), %d fragments; want %s kept, snapshot %s, 10",
			res.RestoredClusterID, res.ClusterID, res.Fragments, ownID, srcID)
	}
	got := c.converge(c.lastIndex())
	if id := c.clusterID(); id != ownID {
		t.Fatalf("cluster id after a restore: %s, want its own %s (the snapshot's is %s)", id, ownID, srcID)
	}
	if stripID(got) != stripID(want) {
		t.Fatalf("restored state differs from the snapshot's:\n%s\nwant:\n%s", got, want)
	}

	// A follower that lost its data gets the state from the leader's
	// snapshot (raft's own install), the kept id with it.
	// Its new node key needs its old id's binding dropped first.
	f := c.follower()
	c.kill(f)
	if err := os.RemoveAll(c.cfgs[f].DataDir); err != nil {
		t.Fatal(err)
	}
	if err := c.client(c.leader(), adminToken).RemovePeer(ctx, c.cfgs[f].NodeID); err != nil {
		t.Fatal(err)
	}
	c.start(f)
	// Back as a voter before a leader is killed below: until autopilot
	// promotes it the cluster has two voters, and one of them is no quorum.
	testutil.WaitFor(t, 60*time.Second, "the rebuilt node is a voter again", func() bool {
		resp, err := http.Get(c.nodes[f].URL() + "/readyz?voter=true")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	c.converge(c.lastIndex())
	if id := c.clusterID(); id != ownID {
		t.Fatalf("cluster id after a follower rebuilt from the leader's snapshot: %s, want %s", id, ownID)
	}

	res = c.restore(c.leader(), snap, api.RestoreOptions{TakeClusterID: true})
	if res.RestoredClusterID != srcID {
		t.Fatalf("restore with take-cluster-id answered cluster id %q, want the snapshot's %s", res.RestoredClusterID, srcID)
	}
	if got := c.converge(c.lastIndex()); got != want {
		t.Fatalf("state after a restore with take-cluster-id differs from the snapshot's:\n%s\nwant:\n%s", got, want)
	}
	// The cluster stays named: a new leader does not propose another id.
	c.kill(c.leader())
	c.converge(c.putAll("after", 2))
	if id := c.clusterID(); id != srcID {
		t.Fatalf("cluster id after a leader change: %s, want %s", id, srcID)
	}
}

// putAll writes n fragments through the leader and returns the last
// index. A write that meets a leader change is sent again (writes are
// idempotent): these tests are about the cluster id, not about writes.
func (c *testCluster) putAll(prefix string, n int) uint64 {
	c.t.Helper()
	var last uint64
	for i := range n {
		f := tunnelFragment(fmt.Sprintf("%s-%d", prefix, i), 1, fmt.Sprintf("%s%d.example.com", prefix, i))
		testutil.WaitFor(c.t, 30*time.Second, "write "+f.Source.Name, func() bool {
			res, err := c.client(c.leader(), writeToken).PutFragment(context.Background(), f)
			var e *api.Error
			if errors.As(err, &e) && (e.Code == api.CodeUnavailable || e.Code == api.CodeNoLeader) {
				return false
			}
			if err != nil {
				c.t.Fatal(err)
			}
			last = res.Index
			return true
		})
	}
	return last
}

// restore uploads snap through node i, again while the answer is that
// leadership moved (a restore is safe to repeat; the leader's lease is
// short in these tests and the machine may be busy).
func (c *testCluster) restore(i int, snap []byte, opts api.RestoreOptions) api.SnapshotRestore {
	c.t.Helper()
	var res api.SnapshotRestore
	testutil.WaitFor(c.t, 60*time.Second, "a restore that completes", func() bool {
		var err error
		res, err = c.client(i, adminToken).RestoreSnapshotWith(context.Background(), bytes.NewReader(snap), opts)
		var e *api.Error
		if errors.As(err, &e) && (e.Code == api.CodeUnavailable || e.Code == api.CodeNoLeader) {
			c.t.Logf("restore: %v; again", err)
			return false
		}
		if err != nil {
			c.t.Fatal(err)
		}
		return true
	})
	return res
}

// stripID drops the cluster id line of a dump.
func stripID(dump string) string {
	if i := strings.IndexByte(dump, '\n'); i >= 0 {
		return dump[i+1:]
	}
	return dump
}
