package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestE2ECLI runs the client commands as a user would, against a one-node
// cluster of a real server process.
func TestE2ECLI(t *testing.T) {
	c := newProcCluster(t, 1)
	addr := c.nodes[0].url()
	dir := t.TempDir()
	valid := writeJSONFile(t, dir, "valid.json", tunnelFragmentJSON(edgeTunnel, "web", 1, "app.example.com"))

	t.Run("bad token", func(t *testing.T) {
		r := cli(t, "status", "--addr", addr, "--token", "not-a-valid-token-at-all")
		if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "token") {
			t.Errorf("bad token: exit %d, stderr %q; want exit 1 and a message about the token", r.code, r.stderr)
		}
		r = cli(t, "status", "--addr", addr)
		if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "token") {
			t.Errorf("no token: exit %d, stderr %q; want exit 1 and a message about the token", r.code, r.stderr)
		}
		// A read token may read but not write.
		if r := cli(t, "fragments", "ls", "--addr", addr, "--token", e2eReadToken); r.code != 0 {
			t.Errorf("read token, fragments ls: exit %d: %s", r.code, r.stderr)
		}
		r = cli(t, "fragments", "put", "-f", valid, "--addr", addr, "--token", e2eReadToken)
		if r.code != 1 || r.stderr == "" {
			t.Errorf("read token, fragments put: exit %d, stderr %q; want exit 1 and a message", r.code, r.stderr)
		}
	})

	t.Run("token file reloaded when it changes", func(t *testing.T) {
		// As a Kubernetes Secret volume is updated: no signal, the file's
		// content changes under the server.
		const newToken = "a3f9c1e7b5d2084f6a1c9e3b7d5f2a8c0e4b6d1f9a3c7e5b2d8f0a4c6e1b9d3f"
		old, err := os.ReadFile(c.tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.tokenFile, append(append([]byte{}, old...), []byte("admin:"+newToken+"\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the added token works without SIGHUP", func() error {
			if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 0 {
				return fmt.Errorf("exit %d: %s", r.code, r.stderr)
			}
			return nil
		})
		// Removed again, the token keeps working for the rotation
		// overlap (--token-rotation-overlap, 10m by default)...
		if err := os.WriteFile(c.tokenFile, old, 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the server reloads the file without the token", func() error {
			n, err := c.metric(0, `conflux_credential_reloads_total{credential="tokens",result="ok"}`)
			if err != nil || n < 2 {
				return fmt.Errorf("%v reloads (%v)", n, err)
			}
			return nil
		})
		if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 0 {
			t.Errorf("the removed token during the rotation overlap: exit %d: %s", r.code, r.stderr)
		}
		// ...until a revoke: line refuses it at once.
		if err := os.WriteFile(c.tokenFile, append(append([]byte{}, old...), []byte("revoke:"+newToken+"\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the revoked token refused", func() error {
			if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 1 {
				return fmt.Errorf("exit %d", r.code)
			}
			return nil
		})
		if err := os.WriteFile(c.tokenFile, old, 0o600); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("token file reloaded on SIGHUP", func(t *testing.T) {
		const newToken = "7c2e9a4f1b6d8c3e0a5f7b2d9e4c1a6f8b3d0e5c7a2f9b4e1d6c8a3f0b5e7d2c"
		if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 1 {
			t.Fatalf("unknown token accepted: exit %d", r.code)
		}
		old, err := os.ReadFile(c.tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			os.WriteFile(c.tokenFile, old, 0o600)
			c.nodes[0].cmd.Process.Signal(syscall.SIGHUP)
			eventually(t, 10*time.Second, "the old token works again", func() error {
				if r := c.cli(0, "status"); r.code != 0 {
					return fmt.Errorf("exit %d: %s", r.code, r.stderr)
				}
				return nil
			})
		}()
		// The old admin token is revoked, not only removed: a removed
		// one would keep working for the rotation overlap.
		rotated := fmt.Sprintf("admin:%s\nread:%s\nrevoke:%s\n", newToken, e2eReadToken, e2eAdminToken)
		if err := os.WriteFile(c.tokenFile, []byte(rotated), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := c.nodes[0].cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "the rotated token works", func() error {
			if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 0 {
				return fmt.Errorf("exit %d: %s", r.code, r.stderr)
			}
			return nil
		})
		if r := c.cli(0, "status"); r.code != 1 {
			t.Errorf("the removed admin token still works after SIGHUP: exit %d", r.code)
		}
		// A broken file keeps the current tokens.
		if err := os.WriteFile(c.tokenFile, []byte("nonsense\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes[0].cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 10*time.Second, "the server logs the failed reload", func() error {
			raw, _ := os.ReadFile(c.nodes[0].logPath)
			if !strings.Contains(string(raw), "token reload failed") {
				return fmt.Errorf("not logged yet")
			}
			return nil
		})
		if !c.nodes[0].running() {
			t.Fatal("server exited on a bad token file")
		}
		if r := cli(t, "status", "--addr", addr, "--token", newToken); r.code != 0 {
			t.Errorf("a bad token file dropped the current tokens: exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("invalid spec names the field", func(t *testing.T) {
		bad := tunnelFragmentJSON(edgeTunnel, "bad", 1, "bad.example.com")
		delete(bad["spec"].(map[string]any)["rules"].([]map[string]any)[0], "service")
		r := c.cli(0, "fragments", "put", "-f", writeJSONFile(t, dir, "bad.json", bad))
		if r.code != 1 || !strings.Contains(r.stderr, "spec.rules[0].service") {
			t.Errorf("invalid spec: exit %d, stderr %q; want exit 1 naming spec.rules[0].service", r.code, r.stderr)
		}
		// From standard input, the same.
		raw, _ := json.Marshal(bad)
		r = cliWith(t, cliOptions{stdin: string(raw)}, "fragments", "put", "-f", "-", "--addr", addr, "--token", e2eAdminToken)
		if r.code != 1 || !strings.Contains(r.stderr, "spec.rules[0].service") {
			t.Errorf("invalid spec on stdin: exit %d, stderr %q", r.code, r.stderr)
		}
		// In an array, the message says which fragment failed.
		r = c.cli(0, "fragments", "put", "-f", writeJSONFile(t, dir, "bad-array.json", []any{bad, bad}))
		if r.code != 1 || !strings.Contains(r.stderr, "fragment 1 of 2") || !strings.Contains(r.stderr, "spec.rules[0].service") {
			t.Errorf("invalid spec in an array: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := c.cli(0, "fragments", "put", "-f", writeJSONFile(t, dir, "garbage.json", "not a fragment")); r.code == 0 {
			t.Errorf("a JSON string as fragment: exit 0")
		}
		// Usage errors exit 2.
		if r := c.cli(0, "fragments", "put"); r.code != 2 || !strings.Contains(r.stderr, "-f") {
			t.Errorf("fragments put without -f: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := c.cli(0, "status", "-o", "yaml"); r.code != 2 || !strings.Contains(r.stderr, "--output") {
			t.Errorf("-o yaml: exit %d, stderr %q", r.code, r.stderr)
		}
		if got := decodeJSON[[]api.Fragment](t, c.mustCLI(0, "fragments", "ls", "-o", "json").stdout); len(got) != 0 {
			t.Errorf("refused fragments were stored: %+v", got)
		}
	})

	t.Run("env vars instead of flags", func(t *testing.T) {
		r := cliWith(t, cliOptions{env: []string{"CONFLUX_SYNC_ADDR=" + addr, "CONFLUX_SYNC_TOKEN=" + e2eAdminToken, "CONFLUX_SYNC_OUTPUT=json"}}, "status")
		if r.code != 0 {
			t.Fatalf("status with CONFLUX_SYNC_ADDR/TOKEN: exit %d: %s", r.code, r.stderr)
		}
		if st := decodeJSON[api.ClusterStatus](t, r.stdout); st.NodeID != "node-0" {
			t.Errorf("status via env: %+v", st)
		}
		// A flag wins over the environment.
		r = cliWith(t, cliOptions{env: []string{"CONFLUX_SYNC_ADDR=" + addr, "CONFLUX_SYNC_TOKEN=wrong-token-wrong-token"}}, "status", "--token", e2eAdminToken)
		if r.code != 0 {
			t.Errorf("--token over a wrong CONFLUX_SYNC_TOKEN: exit %d: %s", r.code, r.stderr)
		}
		r = cliWith(t, cliOptions{env: []string{"CONFLUX_SYNC_ADDR=" + addr, "CONFLUX_SYNC_TOKEN=wrong-token-wrong-token"}}, "status")
		if r.code != 1 {
			t.Errorf("wrong CONFLUX_SYNC_TOKEN: exit %d", r.code)
		}
	})

	t.Run("config file", func(t *testing.T) {
		cfg := filepath.Join(dir, "cli.yaml")
		yaml := fmt.Sprintf("# client settings\naddr: %s\ntoken: %s\noutput: json\nconsistency: stale\n", addr, e2eAdminToken)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "status", "--config", cfg)
		if r.code != 0 {
			t.Fatalf("status --config: exit %d: %s", r.code, r.stderr)
		}
		if st := decodeJSON[api.ClusterStatus](t, r.stdout); st.NodeID != "node-0" || st.State != "Leader" {
			t.Errorf("status via config file: %+v", st)
		}
		// CONFLUX_SYNC_CONFIG names the file too; a flag wins over it.
		r = cliWith(t, cliOptions{env: []string{"CONFLUX_SYNC_CONFIG=" + cfg}}, "status", "-o", "table")
		if r.code != 0 || !strings.Contains(r.stdout, "Leader:") {
			t.Errorf("status with CONFLUX_SYNC_CONFIG and -o table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// An unknown key is a typo: refused as a usage error.
		typo := filepath.Join(dir, "typo.yaml")
		os.WriteFile(typo, []byte("adress: "+addr+"\n"), 0o600)
		if r := cli(t, "status", "--config", typo); r.code != 2 || !strings.Contains(r.stderr, "adress") {
			t.Errorf("config file with a typo: exit %d, stderr %q", r.code, r.stderr)
		}
		if r := cli(t, "status", "--config", filepath.Join(dir, "missing.yaml")); r.code != 2 {
			t.Errorf("missing config file: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("json and table output", func(t *testing.T) {
		c.putFragments(0, tunnelFragmentJSON(edgeTunnel, "web", 1, "app.example.com"))
		js := c.mustCLI(0, "fragments", "ls", "-o", "json")
		list := decodeJSON[[]api.Fragment](t, js.stdout)
		if len(list) != 1 || list[0].Source.String() != "Ingress/default/web" {
			t.Fatalf("fragments ls -o json: %+v", list)
		}
		tbl := c.mustCLI(0, "fragments", "ls")
		if json.Valid([]byte(tbl.stdout)) {
			t.Errorf("table output is JSON:\n%s", tbl.stdout)
		}
		lines := strings.Split(strings.TrimSpace(tbl.stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "TARGET KIND") ||
			!strings.Contains(lines[1], "Ingress/default/web") || !strings.Contains(lines[1], edgeTunnel) {
			t.Errorf("fragments ls table:\n%s", tbl.stdout)
		}
		tl := c.mustCLI(0, "targets", "ls")
		if !strings.Contains(tl.stdout, "KIND") || !strings.Contains(tl.stdout, edgeTunnel) {
			t.Errorf("targets ls table:\n%s", tl.stdout)
		}
		tj := decodeJSON[[]api.TargetSummary](t, c.mustCLI(0, "targets", "ls", "-o", "json").stdout)
		if len(tj) != 1 || tj[0].Fragments != 1 || tj[0].Hash == "" {
			t.Errorf("targets ls -o json: %+v", tj)
		}
		st := c.mustCLI(0, "status")
		if !strings.Contains(st.stdout, "Node:") || !strings.Contains(st.stdout, "node-0") {
			t.Errorf("status table:\n%s", st.stdout)
		}
		peers := decodeJSON[[]api.Member](t, c.mustCLI(0, "peers", "ls", "-o", "json").stdout)
		if len(peers) != 1 || peers[0].ID != "node-0" || !peers[0].Leader {
			t.Errorf("peers ls -o json: %+v", peers)
		}
		// rm, then the fragment is gone.
		c.mustCLI(0, "fragments", "rm", tunnelKind, edgeTunnel, "Ingress/default/web")
		if got := decodeJSON[[]api.Fragment](t, c.mustCLI(0, "fragments", "ls", "-o", "json").stdout); len(got) != 0 {
			t.Errorf("fragment still there after rm: %+v", got)
		}
	})

	t.Run("bench", func(t *testing.T) {
		r := c.cli(0, "bench", "--clients", "4", "--duration", "2s", "--targets", "5", "--quiet", "-o", "json")
		if r.code != 0 {
			t.Fatalf("bench: exit %d: %s", r.code, r.stderr)
		}
		var res benchResult
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("bench -o json: %v\n%s", err, r.stdout)
		}
		if res.Writes <= 0 || res.Errors != 0 || res.FirstError != "" || res.DurationSeconds < 1.5 || res.P50Ms <= 0 || res.MaxMs < res.P99Ms {
			t.Errorf("bench result: %+v", res)
		}
		t.Logf("bench: %d writes, %.0f/s, p50 %.2f ms, p99 %.2f ms", res.Writes, res.WritesPerSecond, res.P50Ms, res.P99Ms)
		if r := c.cli(0, "bench", "--clients", "0"); r.code != 2 {
			t.Errorf("bench --clients 0: exit %d", r.code)
		}
	})
}

// TestE2EDev runs `conflux-sync dev`, talks to it with the token it prints
// and stops it with SIGINT.
func TestE2EDev(t *testing.T) {
	needBinary(t)
	port := testutil.FreePort(t)
	dev := startBackground(t, "dev", "--http-port", strconv.Itoa(port), "--emulator-port", strconv.Itoa(testutil.FreePort(t)))
	dev.waitOutput(t, 60*time.Second, "is running")
	out := dev.stdout.String()
	m := regexp.MustCompile(`Admin API:\s+(http://\S+)`).FindStringSubmatch(out)
	tok := regexp.MustCompile(`Token:\s+(\S+)`).FindStringSubmatch(out)
	if m == nil || tok == nil {
		t.Fatalf("dev output lacks the address or the token:\n%s", out)
	}
	devAddr, devToken := m[1], tok[1]
	var tmpData string
	if dm := regexp.MustCompile(`cluster in (\S+) \.\.\.`).FindStringSubmatch(out); dm != nil {
		tmpData = dm[1]
	} else {
		t.Errorf("dev output does not name its data folder:\n%s", out)
	}

	r := cli(t, "status", "-o", "json", "--addr", devAddr, "--token", devToken)
	if r.code != 0 {
		t.Fatalf("status against dev: exit %d: %s", r.code, r.stderr)
	}
	st := decodeJSON[api.ClusterStatus](t, r.stdout)
	voters := 0
	for _, mb := range st.Members {
		if mb.Suffrage == "voter" {
			voters++
		}
	}
	if st.Leader == "" || voters != 3 {
		t.Errorf("dev cluster status: leader %q, %d voters: %+v", st.Leader, voters, st.Members)
	}
	// The demo's aggregate reaches the emulated Cloudflare account.
	cf := regexp.MustCompile(`Cloudflare: (http://\S+/client/v4)\s+\(emulator; token (\S+), account (\S+)\)`).FindStringSubmatch(out)
	if cf == nil {
		t.Fatalf("dev output lacks the Cloudflare emulator line:\n%s", out)
	}
	checkDemoReachedCloudflare(t, cf[1], cf[2], cf[3])
	checkDemoServiceToken(t, dev.stdout.String, cf[1], cf[2], cf[3], devAddr, devToken)
	// The reference Conflux server answers with the same token.
	cx := regexp.MustCompile(`Conflux:\s+(http://\S+/v1)\s+\(reference server; token (\S+)\)`).FindStringSubmatch(out)
	if cx == nil {
		t.Fatalf("dev output lacks the Conflux line:\n%s", out)
	}
	// The demo's Conflux config resolves to the stable release, and to the
	// canary for clients labelled canary=true.
	for query, want := range map[string]string{"": `{"pool":10}`, "&label.canary=true": `{"pool":20}`} {
		eventually(t, 30*time.Second, "the demo config resolved"+query, func() error {
			req, _ := http.NewRequest(http.MethodGet, cx[1]+"/resolve?tenant=acme&application=shop&environment=prod&name=db.json"+query, nil)
			req.Header.Set("Authorization", "Bearer "+cx[2])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var got struct{ Content string }
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Content != want {
				return fmt.Errorf("HTTP %d, content %q (err %v), want %s", resp.StatusCode, got.Content, err, want)
			}
			return nil
		})
	}

	checkDevGitDemo(t, out, devAddr, devToken, cx[1], cx[2])

	// The "Try:" line works as printed (through the environment).
	r = cliWith(t, cliOptions{env: []string{"CONFLUX_SYNC_ADDR=" + devAddr, "CONFLUX_SYNC_TOKEN=" + devToken}},
		"fragments", "put", "-f", writeJSONFile(t, t.TempDir(), "f.json", tunnelFragmentJSON(edgeTunnel, "demo", 1, "app.example.com")))
	if r.code != 0 {
		t.Errorf("fragments put against dev: exit %d: %s", r.code, r.stderr)
	}
	// --wait answers once the emulated Cloudflare has the change.
	r = cli(t, "fragments", "put", "--wait", "30s", "--addr", devAddr, "--token", devToken,
		"-f", writeJSONFile(t, t.TempDir(), "f.json", tunnelFragmentJSON("ClusterTunnel/demo", "waiter", 1, "wait.example.com")))
	if r.code != 0 || !strings.Contains(r.stdout, "synced") {
		t.Errorf("fragments put --wait: exit %d, stdout %q, stderr %q; want exit 0 and the target synced", r.code, r.stdout, r.stderr)
	}

	dev.interrupt(t, 30*time.Second)
	if !strings.Contains(dev.stdout.String(), "Stopping") {
		t.Errorf("dev did not say it is stopping:\n%s", dev.stdout.String())
	}
	if tmpData != "" {
		if _, err := os.Stat(tmpData); !os.IsNotExist(err) {
			t.Errorf("dev's temporary data folder %s is still there after exit (stat: %v)", tmpData, err)
			os.RemoveAll(tmpData)
		}
	}
}

// TestE2EServerStartupErrors: a server that cannot start says why and
// exits non-zero, without a panic.
func TestE2EServerStartupErrors(t *testing.T) {
	needBinary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("admin:"+e2eAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	narrowTokens := filepath.Join(t.TempDir(), "narrow-tokens")
	if err := os.WriteFile(narrowTokens, []byte("write:"+e2eWriteToken+" sources=github.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := testutil.FreePorts(t, 2)
	unsecured := func(extra ...string) []string {
		args := []string{"server", "--node-id", "solo", "--data-dir", t.TempDir(),
			"--raft-addr", testutil.Addr(ports[0]), "--gossip-addr", testutil.Addr(ports[1]),
			"--bootstrap-expect", "1", "--log-level", "warn"}
		return append(args, extra...)
	}
	base := func(extra ...string) []string { return unsecured(append([]string{"--insecure-cluster"}, extra...)...) }
	// Issue #19 finding 8: placeholder and typed keys, and secret files
	// that hold them, are refused with the file and line.
	secretFile := func(content string) string {
		p := filepath.Join(t.TempDir(), "cluster-secret")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	placeholder := "cmVwbGFjZS13aXRoLTMyLXJhbmRvbS1ieXRlcy0hISE="
	weak := secretFile("# the cluster secret\n" + placeholder + "\n")
	typed := secretFile(base64.StdEncoding.EncodeToString([]byte("correct horse battery staple, a long one")) + "\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no token file", base("--http-addr", testutil.Addr(testutil.FreePort(t))), 1, "token file is required"},
		{"missing token file", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens+".missing"), 1, "token file"},
		{"busy HTTP port", base("--http-addr", busy.Addr().String(), "--token-file", tokens), 1, "address already in use"},
		{"bad log level", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--log-level", "loud"), 2, "--log-level"},
		{"file:// in --source-allow", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--source-allow", "https://*,file://"), 1, "file:// is not an allow-list entry; set --local-sources-dir"},
		{"bad --source-allow", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--source-allow", "github.com"), 1, `--source-allow: "github.com": want scheme://host`},
		{"missing --local-sources-dir", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--local-sources-dir", filepath.Join(t.TempDir(), "none")), 1, "--local-sources-dir"},
		{"bad --source-allow-namespaces", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--source-allow-namespaces", "team-a"), 1, "--source-allow-namespaces: \"team-a\": want NAMESPACE=PATTERN"},
		{"bad token sources=", base("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", narrowTokens), 1, "line 1: sources=: \"github.com\""},
		// Issue #19 finding 1: no plain-text cluster unless asked for.
		{"no cluster secret", unsecured("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens), 1, "--cluster-secret-file"},
		{"placeholder gossip key", unsecured("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--gossip-key", placeholder), 1, "published placeholder"},
		{"placeholder secret", unsecured("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--cluster-secret-file", weak), 1, weak + " line 2: it is a published placeholder"},
		{"typed secret", unsecured("--http-addr", testutil.Addr(testutil.FreePort(t)), "--token-file", tokens, "--cluster-secret-file", typed), 1, typed + " line 1: every byte is printable ASCII"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cliWith(t, cliOptions{timeout: 30 * time.Second}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "panic:") {
				t.Errorf("exit %d, stderr %q; want exit %d and a message containing %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// background is the binary running as a long-lived process (dev, an
// emulator); t.Cleanup kills it and shows its output if the test failed.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.SyncBuffer
	done           chan error
	exited         bool
}

func startBackground(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(binPath, args...), done: make(chan error, 1)}
	b.cmd.Env = cleanEnv()
	b.cmd.Stdout, b.cmd.Stderr = &b.stdout, &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if !b.exited {
			b.cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("%v stdout:\n%s\nstderr:\n%s", args, b.stdout.String(), b.stderr.String())
		}
	})
	return b
}

// waitOutput waits until stdout contains want; an early exit fails fast.
func (b *background) waitOutput(t *testing.T, timeout time.Duration, want string) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("output %q", want), func() error {
		select {
		case err := <-b.done:
			b.exited = true
			return stopErr{fmt.Errorf("exited early: %v", err)}
		default:
		}
		if !strings.Contains(b.stdout.String(), want) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// interrupt sends SIGINT and requires a clean exit within timeout.
func (b *background) interrupt(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		b.exited = true
		if err != nil {
			t.Errorf("exited with %v after SIGINT, want status 0", err)
		}
	case <-time.After(timeout):
		t.Fatalf("did not exit within %s of SIGINT", timeout)
	}
}

// checkDemoReachedCloudflare polls the emulator until the demo tunnel
// exists and its configuration holds the rules of every demo source.
func checkDemoReachedCloudflare(t *testing.T, base, token, account string) {
	t.Helper()
	get := func(path string, out any) bool {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&env) == nil && json.Unmarshal(env.Result, out) == nil
	}
	var config string
	testutil.WaitFor(t, 30*time.Second, "the demo tunnel's configuration in the emulator", func() bool {
		var tunnels []struct {
			ID string `json:"id"`
		}
		if !get("/accounts/"+account+"/cfd_tunnel?name=demo&is_deleted=false", &tunnels) || len(tunnels) != 1 {
			return false
		}
		var cfg struct {
			Config json.RawMessage `json:"config"`
		}
		if !get("/accounts/"+account+"/cfd_tunnel/"+tunnels[0].ID+"/configurations", &cfg) {
			return false
		}
		config = string(cfg.Config)
		return strings.Contains(config, "app.example.com") && strings.Contains(config, "api.example.com") && strings.Contains(config, "^/static")
	})
	// The demo's private route lands in the demo's virtual network.
	testutil.WaitFor(t, 30*time.Second, "the demo route in the demo virtual network", func() bool {
		var vnets []struct {
			ID string `json:"id"`
		}
		if !get("/accounts/"+account+"/teamnet/virtual_networks?name=lab&is_deleted=false", &vnets) || len(vnets) != 1 {
			return false
		}
		var routes []struct {
			Network string `json:"network"`
		}
		return get("/accounts/"+account+"/teamnet/routes?is_deleted=false&virtual_network_id="+vnets[0].ID, &routes) &&
			len(routes) == 1 && routes[0].Network == "10.99.0.0/16"
	})
	testutil.WaitFor(t, 30*time.Second, "the demo Access group", func() bool {
		var groups []struct {
			Name string `json:"name"`
		}
		return get("/accounts/"+account+"/access/groups", &groups) && len(groups) == 1 && groups[0].Name == "staff"
	})
	testutil.WaitFor(t, 30*time.Second, "the demo SRV record with its data", func() bool {
		var zones []struct {
			ID string `json:"id"`
		}
		if !get("/zones?name=example.com", &zones) || len(zones) != 1 {
			return false
		}
		var recs []struct {
			Data struct {
				Port float64 `json:"port"`
			} `json:"data"`
		}
		return get("/zones/"+zones[0].ID+"/dns_records?type=SRV", &recs) && len(recs) == 1 && recs[0].Data.Port == 5060
	})
	testutil.WaitFor(t, 30*time.Second, "the demo Gateway rule, naming the demo list by its id", func() bool {
		var lists []struct {
			ID string `json:"id"`
		}
		var rules []struct {
			Name    string `json:"name"`
			Traffic string `json:"traffic"`
		}
		return get("/accounts/"+account+"/gateway/lists", &lists) && len(lists) == 1 &&
			get("/accounts/"+account+"/gateway/rules", &rules) && len(rules) == 1 && rules[0].Name == "block listed" &&
			rules[0].Traffic == "any(dns.domains[*] in $"+strings.ReplaceAll(lists[0].ID, "-", "")+")"
	})
	testutil.WaitFor(t, 30*time.Second, "the demo SAML application", func() bool {
		type samlApp struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			SaasApp struct {
				SPEntityID  string `json:"sp_entity_id"`
				SSOEndpoint string `json:"sso_endpoint"`
			} `json:"saas_app"`
		}
		var apps []samlApp
		return get("/accounts/"+account+"/access/apps", &apps) && slices.ContainsFunc(apps, func(a samlApp) bool {
			return a.Name == "tickets" && a.Type == "saas" &&
				a.SaasApp.SPEntityID == "https://tickets.example.com/saml" && a.SaasApp.SSOEndpoint != ""
		})
	})
	testutil.WaitFor(t, 30*time.Second, "the demo Access policy of the demo group, and the application listing it, each named by name", func() bool {
		var groups []struct {
			ID string `json:"id"`
		}
		var policies []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Include []struct {
				Group struct {
					ID string `json:"id"`
				} `json:"group"`
			} `json:"include"`
		}
		type demoApp struct {
			Domain   string `json:"domain"`
			Policies []struct {
				ID string `json:"id"`
			} `json:"policies"`
		}
		var apps []demoApp
		return get("/accounts/"+account+"/access/groups", &groups) && len(groups) == 1 &&
			get("/accounts/"+account+"/access/policies", &policies) && len(policies) == 1 && policies[0].Name == "Allow staff" &&
			len(policies[0].Include) == 1 && policies[0].Include[0].Group.ID == groups[0].ID &&
			get("/accounts/"+account+"/access/apps", &apps) && slices.ContainsFunc(apps, func(a demoApp) bool {
			return a.Domain == "wiki.example.com" && len(a.Policies) == 1 && a.Policies[0].ID == policies[0].ID
		})
	})
	testutil.WaitFor(t, 30*time.Second, "the demo identity provider", func() bool {
		var idps []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		return get("/accounts/"+account+"/access/identity_providers", &idps) && len(idps) == 1 && idps[0].Type == "onetimepin"
	})
}

// checkDemoServiceToken follows dev's hint for the demo service token: the
// file it names holds the client id of the emulator's token "ci" and a
// secret, and `targets get` shows the token's ids but not the secret.
func checkDemoServiceToken(t *testing.T, out func() string, base, token, account, addr, adminToken string) {
	t.Helper()
	var m []string
	testutil.WaitFor(t, 10*time.Second, "dev's hint naming the service token file", func() bool {
		m = regexp.MustCompile(`\n  cat (\S+/tokens/ci\.json)\n`).FindStringSubmatch(out())
		return m != nil
	})
	var file struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	var clientID string
	testutil.WaitFor(t, 30*time.Second, "the demo service token's file", func() bool {
		req, _ := http.NewRequest(http.MethodGet, base+"/accounts/"+account+"/access/service_tokens", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var env struct {
			Result []struct {
				Name     string `json:"name"`
				ClientID string `json:"client_id"`
			} `json:"result"`
		}
		if json.NewDecoder(resp.Body).Decode(&env) != nil || len(env.Result) != 1 || env.Result[0].Name != "ci" {
			return false
		}
		clientID = env.Result[0].ClientID
		b, err := os.ReadFile(m[1])
		return err == nil && json.Unmarshal(b, &file) == nil && file.ClientID == clientID && file.ClientSecret != ""
	})
	var r cliResult
	testutil.WaitFor(t, 30*time.Second, "the demo service token's status", func() bool {
		r = cli(t, "targets", "get", "cloudflare.AccessServiceToken", "ci", "--addr", addr, "--token", adminToken)
		return r.code == 0 && strings.Contains(r.stdout, clientID) && strings.Contains(r.stdout, "expiresAt")
	})
	if strings.Contains(r.stdout, file.ClientSecret) {
		t.Fatalf("targets get shows the secret:\n%s", r.stdout)
	}
}

// checkDevGitDemo follows dev's Git hints: the demo source is Ready with
// its two configs in Conflux (one rendered with a secret of --secrets-dir),
// `gitops build` masks the secret, and a commit reaches Conflux through
// `sources reconcile`, after `gitops diff` showed it.
func checkDevGitDemo(t *testing.T, out, addr, token, confluxURL, confluxToken string) {
	t.Helper()
	m := regexp.MustCompile(`polls the repository (\S+) every`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("dev output lacks the Git demo:\n%s", out)
	}
	repoDir := m[1]
	flags := []string{"--addr", addr, "--token", token}
	r := cli(t, append([]string{"sources", "reconcile", "demo", "--timeout", "60s"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Ready") || !strings.Contains(r.stdout, "acme/shop/prod/settings.yaml") {
		t.Fatalf("sources reconcile demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	resolve := func(name string) string {
		req, _ := http.NewRequest(http.MethodGet, confluxURL+"/resolve?tenant=acme&application=shop&environment=prod&name="+name, nil)
		req.Header.Set("Authorization", "Bearer "+confluxToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var got struct{ Content string }
		json.NewDecoder(resp.Body).Decode(&got)
		return got.Content
	}
	if got := resolve("db-credentials.properties"); got != "db.user=shop\ndb.password=dev-only-password\n" {
		t.Errorf("the templated demo config resolves to %q", got)
	}

	r = cli(t, "gitops", "build", repoDir, "--path", "conflux")
	if r.code != 0 || !strings.Contains(r.stdout, "db.password=***") || strings.Contains(r.stdout, "dev-only-password") {
		t.Errorf("gitops build: exit %d, want the secret masked:\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	settings := filepath.Join(repoDir, "conflux", "shop-settings.yaml")
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, bytes.Replace(b, []byte("EUR"), []byte("USD"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	r = cli(t, append([]string{"gitops", "diff", "--source", "demo", repoDir, "--exit-code"}, flags...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "-  currency: EUR") || !strings.Contains(r.stdout, "+  currency: USD") {
		t.Errorf("gitops diff: exit %d, want 1 and the currency change:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	git := exec.Command("git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "USD")
	git.Dir = repoDir
	if out, err := git.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	r = cli(t, append([]string{"sources", "reconcile", "demo", "--timeout", "60s"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("sources reconcile after a commit: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := resolve("settings.yaml"); !strings.Contains(got, "currency: USD") {
		t.Errorf("after the commit settings.yaml resolves to %q", got)
	}
	r = cli(t, append([]string{"gitops", "diff", "--source", "demo", repoDir, "--exit-code"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Errorf("gitops diff after the sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
