package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

// planTargets is what a cluster in a dry run answers GET /v1/targets with:
// one target per state `plan` tells apart.
var planTargets = []api.TargetSummary{
	{Target: api.TargetRef{Kind: "cloudflare.Tunnel", Name: "ClusterTunnel/edge"}, Hash: "h1",
		Status: &api.SyncStatus{DryRun: true, AttemptedHash: "h1", Plan: []string{"take over tunnel edge (id t1: spec.takeOver names it)"}}},
	{Target: api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: "ClusterTunnel/edge"}, Hash: "h2",
		Status: &api.SyncStatus{DryRun: true, AttemptedHash: "h2", Plan: []string{api.PlanInSync}}},
	{Target: api.TargetRef{Kind: "cloudflare.DNSRecord", Name: "example.com"}, Hash: "h3",
		Status: &api.SyncStatus{DryRun: true, AttemptedHash: "h3", Plan: []string{"create DNS record a.example.com A 192.0.2.1", "delete DNS record b.example.com A 192.0.2.2 (id r2: ours, and no fragment wants it)"}}},
	{Target: api.TargetRef{Kind: "cloudflare.AccessApplication", Name: "default/app"}, Hash: "h4",
		Status: &api.SyncStatus{DryRun: true, AttemptedHash: "h4", Error: "Access application for app.example.com exists and is not managed by conflux-sync; set adopt", Permanent: true}},
	{Target: api.TargetRef{Kind: "cloudflare.NetworkRoute", Name: "office"}, Hash: "h5"},
	{Target: api.TargetRef{Kind: "conflux.Config", Name: "acme/shop/prod/db.json"}, Hash: "h6",
		Status: &api.SyncStatus{SyncedHash: "h6"}},
}

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/targets" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(planTargets)
	}))
	t.Cleanup(srv.Close)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(append(args, "--addr", srv.URL, "--token", "test-token"))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}

func TestPlanCommand(t *testing.T) {
	out := runCLI(t, "plan")
	for _, want := range []string{
		"cloudflare.Tunnel               ClusterTunnel/edge      take over tunnel edge (id t1: spec.takeOver names it)\n",
		"cloudflare.TunnelConfiguration  ClusterTunnel/edge      in sync\n",
		"cloudflare.DNSRecord            example.com             create DNS record a.example.com A 192.0.2.1\n" +
			"                                                        delete DNS record b.example.com A 192.0.2.2 (id r2: ours, and no fragment wants it)\n",
		"cloudflare.AccessApplication    default/app             error: Access application for app.example.com exists",
		"cloudflare.NetworkRoute         office                  not planned",
		"conflux.Config                  acme/shop/prod/db.json  in sync\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}

	var entries []planEntry
	if err := json.Unmarshal([]byte(runCLI(t, "plan", "-o", "json")), &entries); err != nil {
		t.Fatal(err)
	}
	states := make([]string, len(entries))
	for i, e := range entries {
		states[i] = e.State
	}
	if got := strings.Join(states, " "); got != "planned in-sync planned error not-planned in-sync" {
		t.Fatalf("states %s", got)
	}
}

func TestTargetsListShowsPlans(t *testing.T) {
	out := runCLI(t, "targets", "ls")
	if header, _, _ := strings.Cut(out, "\n"); !strings.Contains(header, "SYNCED  PLAN") {
		t.Fatalf("no PLAN column: %q", header)
	}
	if !strings.Contains(out, "create DNS record a.example.com A 192.0.2.1 (+1 more)") {
		t.Fatalf("the DNS plan is not summed up:\n%s", out)
	}
}
