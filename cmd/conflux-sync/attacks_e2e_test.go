package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/cluster"
)

// TestE2ERogueServersNeverJoin: issue #19 finding 1 with real processes. A
// cluster of three `conflux-sync server` processes sharing a cluster
// secret; beside it, on the same join list, one server with
// --insecure-cluster (no secret at all) and one with another secret. A
// fourth legitimate server joins (the clock of the test); the rogues never
// show up in any node's membership, gossip or raft.
func TestE2ERogueServersNeverJoin(t *testing.T) {
	c := configureProcCluster(t, 6)
	c.bootstrapExpect = 3
	for i := range 3 {
		c.start(i)
	}
	c.waitReady(0, 1, 2)

	other, err := cluster.GenerateClusterSecret()
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other-secret")
	if err := os.WriteFile(otherFile, []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start(3, "--cluster-secret-file", "", "--insecure-cluster") // the last value of a flag wins
	c.start(4, "--cluster-secret-file", otherFile)
	c.start(5)
	c.waitReady(5)

	witness, plain, foreign := c.nodes[5].id, c.nodes[3].id, c.nodes[4].id
	eventually(t, 60*time.Second, "the witness is a raft member", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.client(0).Status(ctx)
		if err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.ID == witness && m.Suffrage != "" {
				return nil
			}
		}
		return fmt.Errorf("members %v", st.Members)
	})
	for _, i := range []int{0, 1, 2, 5} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.client(i).Status(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if st.Security != "cluster-secret" {
			t.Errorf("%s: security %q", c.nodes[i].id, st.Security)
		}
		for _, m := range st.Members {
			if m.ID == plain || m.ID == foreign {
				t.Errorf("%s lists the rogue %s (suffrage %q, gossip %q)", c.nodes[i].id, m.ID, m.Suffrage, m.Gossip)
			}
		}
	}
	// The plain rogue says in its log that it runs unprotected.
	raw, _ := os.ReadFile(c.nodes[3].logPath)
	if !strings.Contains(string(raw), "INSECURE CLUSTER") {
		t.Errorf("the --insecure-cluster server did not warn:\n%s", raw)
	}
}
