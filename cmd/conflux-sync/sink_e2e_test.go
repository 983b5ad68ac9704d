package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

const (
	e2eCFAccount = "0123456789abcdef0123456789abcdef"
	e2eCFToken   = "cf-e2e-token-must-never-be-logged"
)

// TestE2ECloudflareSink runs the emulator and three server processes
// configured as a user would (credentials file, API URL), SIGKILLs the
// leader, and restarts the emulator from its --state file.
func TestE2ECloudflareSink(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	emuAddr := testutil.Addr(testutil.FreePort(t))
	statePath := filepath.Join(dir, "cloudflare.json")
	emuArgs := []string{"emulator", "cloudflare", "--addr", emuAddr, "--api-token", e2eCFToken,
		"--account", e2eCFAccount, "--zone", "example.com", "--state", statePath}
	emu := startBackground(t, emuArgs...)
	emu.waitOutput(t, 20*time.Second, "Press Ctrl-C")

	creds := filepath.Join(dir, "cloudflare-credentials")
	if err := os.WriteFile(creds, []byte("# the e2e account\n"+e2eCFAccount+":"+e2eCFToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := configureProcCluster(t, 3)
	for i := range c.nodes {
		c.start(i, "--cloudflare-credentials", creds, "--cloudflare-api-url", "http://"+emuAddr+"/client/v4",
			"--sync-debounce", "200ms", "--log-level", "info")
	}
	c.waitAllReady()

	cf, err := cloudflare.NewWithAPIToken(e2eCFToken, cloudflare.BaseURL("http://"+emuAddr+"/client/v4"),
		cloudflare.UsingRetryPolicy(0, 0, 0), cloudflare.UsingRateLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	tunnelSrc := map[string]any{"kind": "ClusterTunnel", "name": "edge"}
	c.putFragments(c.follower(),
		map[string]any{"target": map[string]any{"kind": "cloudflare.Tunnel", "name": "ClusterTunnel/edge"},
			"source": tunnelSrc, "generation": 1, "spec": map[string]any{"accountId": e2eCFAccount, "name": "edge"}},
		tunnelFragmentJSON("ClusterTunnel/edge", "web", 1, "app.example.com"),
		map[string]any{"target": map[string]any{"kind": "cloudflare.DNSRecord", "name": "example.com"},
			"source": map[string]any{"kind": "Ingress", "namespace": "default", "name": "web"}, "generation": 1,
			"spec": map[string]any{"records": []any{map[string]any{"name": "app.example.com", "type": "CNAME", "tunnel": "ClusterTunnel/edge", "proxied": true}}}},
	)
	tunnelID := waitTunnelConfig(t, cf, "app.example.com")
	eventually(t, 30*time.Second, "the tunnel CNAME", func() error {
		zoneID, err := cf.ZoneIDByName("example.com")
		if err != nil {
			return err
		}
		recs, _, err := cf.ListDNSRecords(context.Background(), cloudflare.ZoneIdentifier(zoneID), cloudflare.ListDNSRecordsParams{Name: "app.example.com"})
		if err != nil {
			return err
		}
		if len(recs) != 1 || recs[0].Content != tunnelID+".cfargotunnel.com" {
			return fmt.Errorf("records %+v", recs)
		}
		return nil
	})

	// The leader dies; a survivor takes a new rule, the new leader syncs it.
	c.kill(c.leader())
	survivor := c.live()[0]
	c.putFragments(survivor, tunnelFragmentJSON("ClusterTunnel/edge", "api", 1, "api.example.com"))
	if id := waitTunnelConfig(t, cf, "api.example.com", "app.example.com"); id != tunnelID {
		t.Fatalf("the new leader wrote to tunnel %s, not %s", id, tunnelID)
	}

	// The emulator restarts from its state file: the tunnel is still there.
	emu.interrupt(t, 10*time.Second)
	emu = startBackground(t, emuArgs...)
	emu.waitOutput(t, 20*time.Second, "Press Ctrl-C")
	if id := waitTunnelConfig(t, cf, "api.example.com", "app.example.com"); id != tunnelID {
		t.Fatalf("after the emulator restart the tunnel is %s, not %s", id, tunnelID)
	}

	// The token never reached a log.
	for _, p := range c.nodes {
		raw, err := os.ReadFile(p.logPath)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), e2eCFToken) {
			t.Fatalf("%s logged the Cloudflare token", p.id)
		}
	}
}

// waitTunnelConfig waits until the tunnel named edge has a configuration
// naming every host, and returns the tunnel's id.
func waitTunnelConfig(t *testing.T, cf *cloudflare.API, hosts ...string) string {
	t.Helper()
	var id string
	eventually(t, 30*time.Second, "the tunnel configuration to name "+strings.Join(hosts, ", "), func() error {
		ctx := context.Background()
		rc := cloudflare.AccountIdentifier(e2eCFAccount)
		tunnels, _, err := cf.ListTunnels(ctx, rc, cloudflare.TunnelListParams{Name: "edge", IsDeleted: cloudflare.BoolPtr(false)})
		if err != nil || len(tunnels) != 1 {
			return fmt.Errorf("tunnels %+v: %v", tunnels, err)
		}
		id = tunnels[0].ID
		cfg, err := cf.GetTunnelConfiguration(ctx, rc, id)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, r := range cfg.Config.Ingress {
			names[r.Hostname] = true
		}
		for _, h := range hosts {
			if !names[h] {
				return fmt.Errorf("%s missing from %+v", h, cfg.Config.Ingress)
			}
		}
		return nil
	})
	return id
}
