package dns

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
)

var edgeTunnelTarget = api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/edge"}

// A dry run plans the creates, updates and deletes a flush then makes,
// writing nothing; the flush after it writes exactly that.
func TestDryRunPlansWrites(t *testing.T) {
	e := newEnv(t)
	e.mustFlush(t, threeRecords)
	ids := e.byID()
	var apiID, txtID string
	for id, r := range ids {
		switch {
		case strings.HasPrefix(r, "api.example.com A"):
			apiID = id
		case strings.HasPrefix(r, "example.com TXT"):
			txtID = id
		}
	}
	changed := `{"records":[
	{"name":"api.example.com","type":"A","content":"203.0.113.8","ttl":600,"comment":"team api","tags":["team:api"]},
	{"name":"www.example.com","type":"CNAME","content":"web.example.net","proxied":true},
	{"name":"new.example.com","type":"AAAA","content":"2001:db8::1"}]}`

	plan := e.MustPlan(t, changed)
	want := []string{
		"create DNS record new.example.com AAAA 2001:db8::1",
		fmt.Sprintf("delete DNS record example.com TXT v=spf1 -all (id %s: ours, and no fragment wants it)", txtID),
		fmt.Sprintf("update DNS record api.example.com A 203.0.113.7 (id %s): content 203.0.113.7 -> 203.0.113.8, ttl 300 -> 600", apiID),
	}
	if !slices.Equal(plan, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(plan, "\n"), strings.Join(want, "\n"))
	}
	if got := e.byID(); len(got) != len(ids) || got[apiID] != ids[apiID] {
		t.Fatalf("records changed: %v -> %v", ids, got)
	}
	// The repeat plans nothing.
	if _, batches := e.mustFlush(t, changed); batches != 1 {
		t.Fatalf("%d batch calls after the plan", batches)
	}
	if plan := e.MustPlan(t, changed); len(plan) != 0 {
		t.Fatalf("in sync, planned %q", plan)
	}
	if plan := e.MustPlan(t); len(plan) != 3 || !strings.HasPrefix(plan[0], "delete DNS record") {
		t.Fatalf("the last fragment gone: %q", plan)
	}
}

// The takeovers a flush would make, with their evidence, and no write.
func TestDryRunPlansTakeovers(t *testing.T) {
	tests := []struct {
		name     string
		takeOver string
		// seed makes the previous controller's records and returns the
		// record to take over.
		seed func(t *testing.T, e *env) string
		// proof is the evidence the plan names.
		proof string
	}{
		{
			name:     "cfargotunnel registry",
			takeOver: `{"registry":"cfargotunnel"}`,
			seed: func(t *testing.T, e *env) string {
				cname, _ := e.adyanthRecords(t, "app.example.com", edgeTunnelID)
				return cname.ID
			},
			proof: "TXT _managed.app.example.com names this tunnel",
		},
		{
			name:     "strrl registry",
			takeOver: `{"registry":"strrl"}`,
			seed: func(t *testing.T, e *env) string {
				cname, _ := e.strrlRecords(t, "app.example.com", strrlEdgeEntry)
				return cname.ID
			},
			proof: "TXT _ctic_managed.app.example.com names tunnel edge",
		},
		{
			name: "record ids",
			seed: func(t *testing.T, e *env) string {
				return e.previous(t, "CNAME", "app.example.com", edgeCNAME, "", true).ID
			},
			proof: "takeOver.recordIds names its id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			// The tunnel's own plan takes it over: the records plan with
			// its id.
			e.RecordPlan(t, edgeTunnelTarget, map[string]string{cfapi.IDAccount: cfapitest.Account,
				cfapi.IDTunnel: edgeTunnelID, cfapi.IDTunnelName: "edge", cfapi.IDCreated: "true"})
			id := tt.seed(t, e)
			takeOver := tt.takeOver
			if takeOver == "" {
				takeOver = fmt.Sprintf(`{"recordIds":[%q]}`, id)
			}
			out, err := e.Plan(t, tunnelCNAME(takeOver))
			want := []string{"take over DNS record app.example.com CNAME " + edgeCNAME + " (" + tt.proof + ")"}
			if err != nil || !slices.Equal(out.Plan, want) {
				t.Fatalf("plan %q, %v; want %q", out.Plan, err, want)
			}
			if out.DownstreamIDs["app.example.com CNAME "+edgeCNAME] != id {
				t.Fatalf("planned ids %v", out.DownstreamIDs)
			}
			// The real run agrees: once the tunnel's flush has recorded it,
			// nothing to write.
			e.SeedNamedTunnel(t, edgeTunnelTarget.Name, edgeTunnelID, "edge")
			e.flushWithoutWrites(t, tunnelCNAME(takeOver))
		})
	}
}

// Records pointing at a tunnel the plan creates wait for it; a clash is
// an error that keeps the rest of the plan.
func TestDryRunWaitsAndClashes(t *testing.T) {
	e := newEnv(t)
	e.RecordPlan(t, edgeTunnelTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnelName: "edge", cfapi.IDCreated: "true"})
	out, err := e.Plan(t, tunnelCNAME(""))
	want := []string{"waits for tunnel ClusterTunnel/edge (to be created): DNS record app.example.com CNAME points at it"}
	if err != nil || !slices.Equal(out.Plan, want) {
		t.Fatalf("plan %q, %v", out.Plan, err)
	}
	// The records that wait for nothing are planned beside it.
	out, err = e.Plan(t, `{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},
		{"name":"free.example.com","type":"A","content":"198.51.100.10"}]}`)
	want = append([]string{"create DNS record free.example.com A 198.51.100.10"}, want...)
	if err != nil || !slices.Equal(out.Plan, want) || len(out.Waiting) != 1 {
		t.Fatalf("plan %q, waiting %v, %v", out.Plan, out.Waiting, err)
	}

	e.handMade(t, "A", "taken.example.com", "203.0.113.2", "made by hand")
	out, err = e.Plan(t, `{"records":[{"name":"taken.example.com","type":"A","content":"198.51.100.9"},
		{"name":"free.example.com","type":"A","content":"198.51.100.10"}]}`)
	if err != nil || !strings.Contains(refusedText(out), "record taken.example.com A exists and is not managed by conflux-sync") {
		t.Fatalf("clash: %v, refused %v", err, out.Refused)
	}
	if !slices.Equal(out.Plan, []string{"create DNS record free.example.com A 198.51.100.10",
		"not written: record taken.example.com A exists and is not managed by conflux-sync (set adopt to take it over)"}) {
		t.Fatalf("plan beside the clash: %q", out.Plan)
	}
}
