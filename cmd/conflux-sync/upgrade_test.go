package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// previousRelease is the commit of the previous landed release (issues #4
// and #5): the version a rolling upgrade starts from.
const previousRelease = "23b2eb4093b06541a9a9459ef88dad1ed071604e"

// buildRelease builds the conflux-sync binary of commit rev from this
// repository's history (git archive, so the working tree is not touched).
func buildRelease(t *testing.T, rev string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", rev+"^{commit}").CombinedOutput(); err != nil {
		t.Skipf("commit %s is not in this clone's history (a shallow clone?): %v %s", rev, err, out)
	}
	dir := t.TempDir()
	archive := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive --format=tar %s | tar -x -C %q", root, rev, dir))
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(t.TempDir(), "conflux-sync-"+rev[:7])
	build := exec.Command("go", "build", "-o", bin, "./cmd/conflux-sync")
	build.Dir = dir
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", rev, err, out)
	}
	t.Logf("built the release %s in %s", rev[:7], time.Since(start).Round(time.Second))
	return bin
}

// TestE2EMixedVersionRollingUpgrade starts a cluster of the previous
// release and replaces its nodes one at a time with this build, as a
// StatefulSet's rolling update does, under a write load: old and new nodes
// run side by side (the log's command format byte is the same), every
// acknowledged write survives and all nodes end with the same state.
func TestE2EMixedVersionRollingUpgrade(t *testing.T) {
	needBinary(t)
	old := buildRelease(t, previousRelease)
	c := configureProcCluster(t, 3)
	// The previous release speaks plain TCP raft: the new build joins it
	// with --insecure-cluster (securing the cluster is a later restart of
	// every node with --cluster-secret-file, see docs/operations.md).
	c.insecure = true
	for i := range c.nodes {
		c.nodes[i].bin = old
		c.start(i)
	}
	c.waitAllReady()

	// Clients of every node, made before the writer starts: the writer
	// must not look at the processes the test restarts. A write to a node
	// that is down fails and is simply not acknowledged.
	clients := []*api.Client{c.client(0), c.client(1), c.client(2)}
	w := testutil.StartWriter(func(i int) (string, error) {
		name := fmt.Sprintf("upgrade-%d", i)
		frag := api.Fragment{
			Target:     api.TargetRef{Kind: tunnelKind, Name: edgeTunnel},
			Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: name},
			Generation: 1,
			Spec:       json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"u%d.example.com","service":"http://x.default.svc:80"}]}`, i)),
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := clients[i%len(clients)].PutFragment(ctx, frag)
		return edgeTunnel + "|Ingress/default/" + name, err
	})
	progress := func(what string) {
		t.Helper()
		from := w.Count()
		eventually(t, 30*time.Second, what, func() error {
			if n := w.Count() - from; n < 20 {
				return fmt.Errorf("%d writes acknowledged", n)
			}
			return nil
		})
	}
	progress("writes on the old release")

	// Highest ordinal first, each back (and a voter) before the next.
	for _, i := range []int{2, 1, 0} {
		c.stop(i)
		c.nodes[i].bin = ""
		c.start(i)
		c.waitReady(i)
		eventually(t, 60*time.Second, fmt.Sprintf("node %d a voter again", i), func() error {
			return threeVoters(c, i)
		})
		progress(fmt.Sprintf("writes with node %d upgraded", i))
	}
	acked := w.Stop()

	list := c.converged("", 0, 1, 2)
	have := fragmentKeys(t, list)
	var missing []string
	for k := range maps.Keys(acked) {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("%d acknowledged writes lost in the rolling upgrade: %v", len(missing), missing)
	}
	t.Logf("%d acknowledged writes through old, mixed and new clusters, all present on the three upgraded nodes", len(acked))
}

// threeVoters checks, through node i, that the cluster has a leader and
// three voters.
func threeVoters(c *procCluster, i int) error {
	r := c.cli(i, "status", "-o", "json")
	if r.code != 0 {
		return fmt.Errorf("status: exit %d: %s", r.code, r.stderr)
	}
	var st api.ClusterStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		return err
	}
	voters := 0
	for _, m := range st.Members {
		if m.Suffrage == "voter" {
			voters++
		}
	}
	if st.Leader == "" || voters != 3 {
		return fmt.Errorf("leader %q, %d voters", st.Leader, voters)
	}
	return nil
}
