package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/server"
)

// strongAdminToken has the shape deploy generates: `openssl rand -hex 32`.
const strongAdminToken = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"

// deploy/base shipped `admin:replace-with-a-random-admin-token`, and a
// node started with it served anyone who had read the manifest. A weak or
// placeholder token now stops the node at start, naming the file and the
// line, and a reload to such a file keeps the tokens in force.
func TestWeakTokensAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"deploy placeholder", "# admin API\nadmin:replace-with-a-random-admin-token\n", "line 2: token is a placeholder"},
		{"short", "admin:s3cr3t-but-short\n", "line 1: token is 16 characters, shorter than 32"},
		{"one repeated character", "write:" + strings.Repeat("a", 40) + "\n", "line 1: token uses only 1 different characters"},
	} {
		t.Run("start/"+tc.name, func(t *testing.T) {
			c := &testCluster{t: t}
			c.configure(t.TempDir(), 1)
			cfg := c.cfgs[0]
			cfg.Tokens = nil
			cfg.TokenFile = filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(cfg.TokenFile, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			node, err := server.Start(cfg)
			if err == nil {
				node.Kill()
				t.Fatal("the node started with a weak token")
			}
			if !strings.Contains(err.Error(), cfg.TokenFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q; want it to name %s and say %q", err, cfg.TokenFile, tc.want)
			}
			if strings.Contains(err.Error(), "replace-with-a-random") || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q echoes the token", err)
			}
		})
	}

	t.Run("reload", func(t *testing.T) {
		c := &testCluster{t: t}
		c.configure(t.TempDir(), 1)
		c.cfgs[0].Tokens = nil
		c.cfgs[0].TokenFile = filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(c.cfgs[0].TokenFile, []byte("admin:"+strongAdminToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.start(0)
		c.leader()
		node := c.nodes[0]
		if r := rawRequest(t, "GET", node.URL()+"/v1/status", strongAdminToken, ""); r.status != 200 {
			t.Fatalf("status with the generated token: %d %s", r.status, r.body)
		}
		if err := os.WriteFile(c.cfgs[0].TokenFile, []byte("admin:replace-with-a-random-admin-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := node.ReloadTokens()
		if err == nil || !strings.Contains(err.Error(), "line 1: token is a placeholder") {
			t.Fatalf("reload to a placeholder: %v", err)
		}
		if r := rawRequest(t, "GET", node.URL()+"/v1/status", strongAdminToken, ""); r.status != 200 {
			t.Fatalf("the old token stopped working after a refused reload: %d", r.status)
		}
		if r := rawRequest(t, "GET", node.URL()+"/v1/status", "replace-with-a-random-admin-token", ""); r.status != 401 {
			t.Fatalf("the placeholder was accepted after a refused reload: %d", r.status)
		}
		metrics := rawRequest(t, "GET", node.URL()+"/metrics", "", "")
		if !strings.Contains(string(metrics.body), `conflux_token_reloads_total{result="error"} 1`) {
			t.Fatalf("no reload error in /metrics:\n%s", grepLines(string(metrics.body), "conflux_token"))
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
