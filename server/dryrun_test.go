package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cfgo "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// writes counts the requests other than GETs the emulator served.
func (c *cloudflare) writes() int { return c.emu.Writes() }

// operatorMade is what a cloudflare-operator made before conflux-sync
// came: the tunnel "legacy" with its configuration, and the CNAME of
// legacy.example.com with its "_managed." TXT registry entry.
type operatorMade struct {
	tunnelID, recordID string
	configVersion      int
}

func seedOperator(t *testing.T, cf *cloudflare, zoneID string) operatorMade {
	t.Helper()
	ctx := context.Background()
	human := cfclient(t, cf)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tn, err := human.CreateTunnel(ctx, cfgo.AccountIdentifier(cfAccount), cfgo.TunnelCreateParams{
		Name: "legacy", Secret: base64.StdEncoding.EncodeToString(secret), ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatal(err)
	}
	// The operator wrote the rules in its own spelling: equal by meaning.
	remote := `{"ingress":[{"hostname":"legacy.example.com","service":"http://legacy.default.svc:80","originRequest":{"connectTimeout":30}},` +
		`{"service":"http_status:404"}],"warp-routing":{"enabled":false}}`
	if err := cf.emu.SetTunnelConfig(cfAccount, tn.ID, json.RawMessage(remote)); err != nil {
		t.Fatal(err)
	}
	proxied := true
	cname, err := human.CreateDNSRecord(ctx, zoneRC(zoneID), cfgo.CreateDNSRecordParams{Type: "CNAME", Name: "legacy.example.com",
		Content: tn.ID + ".cfargotunnel.com", TTL: 1, Proxied: &proxied, Comment: "Managed by cloudflare-operator"})
	if err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf(`{"DnsId":%q,"TunnelName":"legacy","TunnelId":%q}`, cname.ID, tn.ID)
	if _, err := human.CreateDNSRecord(ctx, zoneRC(zoneID), cfgo.CreateDNSRecordParams{Type: "TXT", Name: "_managed.legacy.example.com",
		Content: entry, TTL: 1, Comment: "Managed by cloudflare-operator"}); err != nil {
		t.Fatal(err)
	}
	version, _, _ := cf.emu.TunnelConfig(cfAccount, tn.ID)
	cf.emu.Reset() // count conflux-sync's requests only
	return operatorMade{tunnelID: tn.ID, recordID: cname.ID, configVersion: version}
}

// The migration a dry run is for: beside a running operator, a cluster
// in dry run plans every target and writes nothing; restarted without it,
// it creates what the plans said it would create and writes nothing for
// what they said it takes over or finds in sync.
func TestCloudflareDryRun(t *testing.T) {
	cf := newCloudflare(t, nil)
	zoneID := cf.emu.AddZone(cfAccount, "example.com")
	made := seedOperator(t, cf, zoneID)
	c := newTestClusterWith(t, 3, withCloudflare(cf, func(cfg *server.Config) { cfg.DryRun = true }))
	cl := c.client(c.follower(), writeToken)
	ctx := context.Background()

	legacyTunnel := api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/legacy"}
	legacyConfig := api.TargetRef{Kind: cfapi.KindTunnelConfiguration, Name: legacyTunnel.Name}
	zone := api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}
	legacySrc := api.SourceRef{Kind: "ClusterTunnel", Name: "legacy"}
	putTunnel(t, cl)
	for _, f := range []api.Fragment{
		tunnelFragment("web", 1, "app.example.com"),
		{Target: legacyTunnel, Source: legacySrc, Generation: 1,
			Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"legacy","takeOver":%q}`, cfAccount, made.tunnelID))},
		{Target: legacyConfig, Source: legacySrc, Generation: 1, Spec: json.RawMessage(`{"settings":{"fallbackTarget":"http_status:404"}}`)},
		{Target: legacyConfig, Source: api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "legacy"}, Generation: 1,
			Spec: json.RawMessage(`{"rules":[{"hostname":"legacy.example.com","service":"http://legacy.default.svc:80"}]}`)},
		{Target: zone, Source: legacySrc, Generation: 1, Spec: json.RawMessage(`{"records":[{"name":"legacy.example.com","type":"CNAME",` +
			`"tunnel":"ClusterTunnel/legacy","proxied":true,"takeOver":{"registry":"cfargotunnel"}}]}`)},
	} {
		if _, err := cl.PutFragment(ctx, f); err != nil {
			t.Fatalf("%s: %v", f.Target, err)
		}
	}

	cname := made.tunnelID + ".cfargotunnel.com"
	wantPlans := map[api.TargetRef][]string{
		edgeTunnel:         {"create tunnel edge"},
		edgeConfigTarget(): {"waits for tunnel ClusterTunnel/edge (to be created)"},
		legacyTunnel:       {"take over tunnel legacy (id " + made.tunnelID + ": spec.takeOver names it)"},
		legacyConfig:       {api.PlanInSync},
		zone:               {"take over DNS record legacy.example.com CNAME " + cname + " (TXT _managed.legacy.example.com names this tunnel)"},
	}
	// Every node serves the plans, from its own copy of the log.
	for i := range c.nodes {
		local := c.client(i, readToken)
		local.Consistency = api.Stale
		var got map[api.TargetRef][]string
		// A plan that waits for another target's plan (the legacy tunnel's)
		// is planned again as soon as that one is recorded.
		if !waitUntil(30*time.Second, func() bool {
			got = plans(ctx, local)
			if len(got) != len(wantPlans) {
				return false
			}
			for tg, want := range wantPlans {
				if !slices.Equal(got[tg], want) {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("node %d: plans %q, want %q", i, got, wantPlans)
		}
		for tg, want := range wantPlans {
			if !slices.Equal(got[tg], want) {
				t.Fatalf("node %d: plan of %s: %q, want %q", i, tg, got[tg], want)
			}
		}
		// The target view carries it too, with what the plan found.
		tg, err := local.GetTarget(ctx, legacyTunnel)
		if err != nil || !tg.Status.DryRun || !slices.Equal(tg.Status.Plan, wantPlans[legacyTunnel]) ||
			tg.Status.PlannedIDs[cfapi.IDTunnel] != made.tunnelID || tg.Status.DownstreamIDs != nil || tg.Status.SyncedHash != "" {
			t.Fatalf("node %d: %s status %+v, %v", i, legacyTunnel, tg.Status, err)
		}
	}
	if n := cf.writes(); n != 0 {
		t.Fatalf("a dry run wrote %d times: %v", n, cf.emu.Requests())
	}
	if metrics := scrape(t, c.nodes[0].URL()); !strings.Contains(metrics, "\nconflux_sync_dry_run 1\n") {
		t.Fatal("conflux_sync_dry_run is not 1")
	}

	// The operator is stopped; conflux-sync restarts for real.
	c.stopAll()
	for i := range c.nodes {
		c.cfgs[i].DryRun = false
		c.start(i)
	}
	cl = c.client(c.leader(), writeToken)
	waitConverged(t, cf, cl, 30*time.Second)
	if !waitUntil(30*time.Second, func() bool {
		for tg := range wantPlans {
			t, err := cl.GetTarget(ctx, tg)
			if err != nil || t.Status == nil || t.Status.DryRun || t.Status.Error != "" || t.Status.SyncedHash != t.Hash {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("not every target synced after the dry run: %v", statuses(ctx, cl, wantPlans))
	}
	// Created what the plans said: one tunnel and its configuration. The
	// takeovers and the configuration in sync wrote nothing.
	var live []string
	for _, tn := range cf.emu.Tunnels(cfAccount) {
		if !tn.Deleted {
			live = append(live, tn.Name)
		}
	}
	slices.Sort(live)
	if !slices.Equal(live, []string{"edge", "legacy"}) {
		t.Fatalf("tunnels %v", live)
	}
	if v, _, _ := cf.emu.TunnelConfig(cfAccount, made.tunnelID); v != made.configVersion {
		t.Fatalf("the configuration found in sync was written: version %d -> %d", made.configVersion, v)
	}
	if puts := cf.configPuts(); len(puts) != 1 || !strings.Contains(string(puts[0]), "app.example.com") {
		t.Fatalf("configuration PUTs %s", puts)
	}
	if n := cf.emu.Requests()["POST /zones/{zone}/dns_records/batch"]; n != 0 {
		t.Fatalf("the DNS takeover wrote %d batches", n)
	}
	zoneStatus, err := cl.GetTarget(ctx, zone)
	if err != nil || zoneStatus.Status.DownstreamIDs["legacy.example.com CNAME "+cname] != made.recordID {
		t.Fatalf("the record is not recorded as taken over: %+v %v", zoneStatus.Status, err)
	}
}

// plans reads the recorded plan of every target whose status is a plan
// without error for its current hash.
func plans(ctx context.Context, cl *api.Client) map[api.TargetRef][]string {
	list, err := cl.ListTargets(ctx, "")
	if err != nil {
		return nil
	}
	out := map[api.TargetRef][]string{}
	for _, t := range list {
		if st := t.Status; st != nil && st.DryRun && st.Error == "" && st.AttemptedHash == t.Hash {
			out[t.Target] = st.Plan
		}
	}
	return out
}

func statuses(ctx context.Context, cl *api.Client, targets map[api.TargetRef][]string) map[string]*api.SyncStatus {
	out := map[string]*api.SyncStatus{}
	for tg := range targets {
		if t, err := cl.GetTarget(ctx, tg); err == nil {
			out[tg.String()] = t.Status
		}
	}
	return out
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
