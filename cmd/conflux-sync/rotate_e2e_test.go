package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestE2ESecretRotation rotates the cluster secret of three server
// processes (which share one --cluster-secret-file and re-read it when it
// changes) with `operator rotate begin/promote/finish`, under a write load:
// each step waits until every server loaded the previous one, no write is
// lost, and the leader stays the same throughout.
func TestE2ESecretRotation(t *testing.T) {
	c := newProcCluster(t, 3)
	leader := c.leader()
	statusOf := func() api.ClusterStatus {
		t.Helper()
		var st api.ClusterStatus
		if err := json.Unmarshal([]byte(c.mustCLI(leader, "status", "-o", "json").stdout), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := statusOf()
	if before.Security != "cluster-secret" {
		t.Fatalf("security %q, want cluster-secret", before.Security)
	}
	original, err := os.ReadFile(c.secretFile)
	if err != nil {
		t.Fatal(err)
	}

	clients := []*api.Client{c.client(0), c.client(1), c.client(2)}
	w := testutil.StartWriter(func(i int) (string, error) {
		name := fmt.Sprintf("rotate-%d", i)
		frag := api.Fragment{
			Target:     api.TargetRef{Kind: tunnelKind, Name: edgeTunnel},
			Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: name},
			Generation: 1,
			Spec:       json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"r%d.example.com","service":"http://x.default.svc:80"}]}`, i)),
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := clients[i%len(clients)].PutFragment(ctx, frag)
		return edgeTunnel + "|Ingress/default/" + name, err
	})
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()

	// Out of order: nothing to promote or finish yet.
	for _, step := range []string{"promote", "finish"} {
		if r := c.cli(leader, "operator", "rotate", step, "--file", c.secretFile); r.code == 0 || !strings.Contains(r.stderr, "first") {
			t.Fatalf("rotate %s before begin: exit %d, stderr %q", step, r.code, r.stderr)
		}
	}
	for _, step := range []string{"begin", "promote", "finish"} {
		from := w.Count()
		c.mustCLI(leader, "operator", "rotate", step, "--file", c.secretFile, "--wait", "60s")
		eventually(t, 30*time.Second, "writes after rotate "+step, func() error {
			if n := w.Count() - from; n < 10 {
				return fmt.Errorf("%d writes acknowledged", n)
			}
			return nil
		})
	}
	acked := w.Stop()
	stopped = true

	after, err := os.ReadFile(c.secretFile)
	if err != nil {
		t.Fatal(err)
	}
	oldKeys, _ := cluster.ParseClusterSecrets("before", original)
	newKeys, err := cluster.ParseClusterSecrets("after", after)
	if err != nil || len(newKeys) != 1 || cluster.SecretsDigest(newKeys) == cluster.SecretsDigest(oldKeys) {
		t.Fatalf("after the rotation the file holds %d secrets (err %v), want one new one", len(newKeys), err)
	}
	st := statusOf()
	for _, m := range st.Members {
		if m.SecretsDigest != cluster.SecretsDigest(newKeys) {
			t.Errorf("%s reports secrets %s, want the new %s", m.ID, m.SecretsDigest, cluster.SecretsDigest(newKeys))
		}
	}
	if st.Leader != before.Leader || st.Term != before.Term {
		t.Errorf("leadership changed during the rotation: %s term %d -> %s term %d", before.Leader, before.Term, st.Leader, st.Term)
	}
	have := fragmentKeys(t, c.converged("", 0, 1, 2))
	for k := range maps.Keys(acked) {
		if !have[k] {
			t.Errorf("acknowledged write %s is missing after the rotation", k)
		}
	}

	// The rotated cluster restarts on the new secret alone.
	c.restartAll()
}
