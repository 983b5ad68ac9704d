package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

func writeFragments(t *testing.T, c *testCluster, prefix string, n int) uint64 {
	t.Helper()
	var last uint64
	for i := range n {
		res, err := c.client(i%len(c.nodes), writeToken).PutFragment(context.Background(),
			tunnelFragment(fmt.Sprintf("%s-%d", prefix, i), 1, fmt.Sprintf("%s%d.example.com", prefix, i)))
		if err != nil {
			t.Fatal(err)
		}
		last = res.Index
	}
	return last
}

func saveSnapshot(t *testing.T, c *testCluster, node int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.client(node, adminToken).SaveSnapshot(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Total loss: every node and its data is gone; a new, empty cluster is
// restored from the file and holds exactly the saved state.
func TestSnapshotRestoreIntoFreshClusterAfterTotalLoss(t *testing.T) {
	old := newTestCluster(t, 3)
	want := old.converge(writeFragments(t, old, "a", 25))
	snap := saveSnapshot(t, old, old.follower()) // forwarded to the leader
	for i := range old.nodes {
		dir := old.cfgs[i].DataDir
		old.kill(i)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}

	// Disaster recovery takes the lost cluster's id, so the new cluster
	// keeps owning what the old one created downstream.
	fresh := newTestCluster(t, 3)
	meta, err := fresh.client(fresh.follower(), adminToken).RestoreSnapshotWith(context.Background(), bytes.NewReader(snap), api.RestoreOptions{TakeClusterID: true})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Fragments != 25 || meta.RestoredClusterID != meta.ClusterID {
		t.Fatalf("restored meta says %d fragments, cluster id %q (snapshot's %q); want 25 and the snapshot's id", meta.Fragments, meta.RestoredClusterID, meta.ClusterID)
	}
	got := fresh.converge(fresh.lastIndex())
	if got != want {
		t.Fatalf("restored state differs:\nwant:\n%s\ngot:\n%s", want, got)
	}
	// The restored cluster takes writes on top.
	fresh.converge(writeFragments(t, fresh, "b", 3))
}

func TestLiveRestoreRollsEveryNodeBack(t *testing.T) {
	c := newTestCluster(t, 3)
	want := c.converge(writeFragments(t, c, "keep", 10))
	snap := saveSnapshot(t, c, c.leader())
	c.converge(writeFragments(t, c, "later", 10))

	if _, err := c.client(c.leader(), adminToken).RestoreSnapshot(context.Background(), bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if got := c.converge(c.lastIndex()); got != want {
		t.Fatalf("after live restore:\nwant:\n%s\ngot:\n%s", want, got)
	}
	// A node restarted after the restore comes back with the restored state.
	f := c.follower()
	c.kill(f)
	c.start(f)
	if got := c.converge(c.lastIndex()); got != want {
		t.Fatal("a node restarted after the restore has different state")
	}
}

func TestCorruptOrTruncatedSnapshotIsRefusedAndChangesNothing(t *testing.T) {
	c := newTestCluster(t, 3)
	want := c.converge(writeFragments(t, c, "x", 5))
	snap := saveSnapshot(t, c, c.leader())
	corrupt := bytes.Clone(snap)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, body := range map[string][]byte{
		"truncated": snap[:len(snap)-100],
		"corrupt":   corrupt,
		"empty":     nil,
		"garbage":   []byte("not a snapshot at all"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.client(c.follower(), adminToken).RestoreSnapshot(context.Background(), bytes.NewReader(body))
			var e *api.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("got %v, want 400", err)
			}
			if got := c.converge(c.lastIndex()); got != want {
				t.Fatal("a refused restore changed the state")
			}
		})
	}
	// The saved file is fine on disk too.
	path := filepath.Join(t.TempDir(), "s.snap")
	os.WriteFile(path, snap, 0o600)
}
