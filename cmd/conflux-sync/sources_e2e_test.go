package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestE2ESourcesReconcileFailsFast (issue #19 item 14): `sources
// reconcile` of an unreachable repository ends as soon as the leader's
// poll fails, with the poll's error and a non-zero exit, instead of waiting
// out --timeout; and a URL the servers refuse is refused by `sources add`
// with the field and the rule.
func TestE2ESourcesReconcileFailsFast(t *testing.T) {
	needBinary(t)
	c := newProcCluster(t, 3)
	node := c.follower()

	r := c.cli(node, "sources", "add", "inline", "--url", "https://ci:hunter2-pw@git.example.com/configs.git")
	if r.code == 0 || !strings.Contains(r.stderr, "spec.url") || strings.Contains(r.stderr+r.stdout, "hunter2-pw") {
		t.Errorf("sources add with a password in the URL: exit %d, want an error on spec.url without the password\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = c.cli(node, "sources", "add", "plain", "--url", "http://git.example.com/configs.git")
	if r.code == 0 || !strings.Contains(r.stderr, "spec.url") || !strings.Contains(r.stderr, "--source-allow (https://*, ssh://*)") {
		t.Errorf("sources add over plain http: exit %d, want the --source-allow refusal\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	url := fmt.Sprintf("https://127.0.0.1:%d/configs.git", testutil.FreePort(t))
	c.mustCLI(node, "sources", "add", "gone", "--url", url, "--interval", "1h", "--timeout", "5s")
	start := time.Now()
	r = c.cli(node, "sources", "reconcile", "gone", "--timeout", "90s")
	took := time.Since(start)
	if r.code == 0 || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("sources reconcile of an unreachable repository: exit %d, want the poll's error\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "did not finish polling") || took > 30*time.Second {
		t.Errorf("sources reconcile took %s (%q): want the failure as soon as the poll fails", took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	}
	if !strings.Contains(r.stdout, "Unreachable") {
		t.Errorf("sources reconcile printed no status with the reason:\n%s", r.stdout)
	}
	t.Logf("sources reconcile of an unreachable repository failed after %s", took.Round(time.Millisecond))

	// Binding a Secret's credentials to hosts takes an admin token.
	r = cli(t, "sources", "bind-secret", "git-creds", "--host", "git.example.com", "--addr", c.nodes[node].url(), "--token", e2eWriteToken)
	if r.code == 0 || !strings.Contains(r.stderr, "needs admin") {
		t.Errorf("bind-secret with a write token: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	c.mustCLI(node, "sources", "bind-secret", "git-creds", "--host", "git.example.com", "--host", "*.mirror.example.com")
	if r = c.mustCLI(node, "sources", "bindings"); !strings.Contains(r.stdout, "git-creds") || !strings.Contains(r.stdout, "git.example.com, *.mirror.example.com") {
		t.Errorf("sources bindings:\n%s", r.stdout)
	}
}
