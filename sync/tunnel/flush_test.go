package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var (
	tunnelTarget = api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/edge"}
	configTarget = api.TargetRef{Kind: cfapi.KindTunnelConfiguration, Name: "ClusterTunnel/edge"}
)

// liveTunnels returns the tunnels named name that are not deleted.
func liveTunnels(e *cfapitest.Env, name string) []emu.TunnelInfo {
	var out []emu.TunnelInfo
	for _, tn := range e.Emu.Tunnels(cfapitest.Account) {
		if tn.Name == name && !tn.Deleted {
			out = append(out, tn)
		}
	}
	return out
}

func TestTunnelFlusherCreatesOnceAndDeletesOnlyWhatItCreated(t *testing.T) {
	e := cfapitest.New(t)
	f := NewTunnelFlusher(e.Clients, nil, nil)
	ctx := context.Background()
	spec := TunnelSpec{AccountID: cfapitest.Account, Name: "edge"}

	out, err := f.Flush(ctx, e.Request(t, tunnelTarget, spec, nil))
	if err != nil {
		t.Fatal(err)
	}
	ids := out.DownstreamIDs
	if live := liveTunnels(e, "edge"); len(live) != 1 || ids[cfapi.IDTunnel] != live[0].ID || ids[cfapi.IDCreated] != "true" || ids[cfapi.IDAccount] != cfapitest.Account {
		t.Fatalf("ids %v, tunnels %+v", ids, live)
	}
	if cps := e.Checkpoints(); len(cps) != 1 || cps[0][idPendingName] != "edge" {
		t.Fatalf("the intent to create was not checkpointed first: %v", cps)
	}
	if len(out.Recheck) == 0 {
		t.Fatal("a new tunnel id must recheck the kinds that wait for it")
	}

	// Repeating costs no write.
	prev := e.RecordStatus(t, tunnelTarget, ids)
	creates := e.Emu.Requests()["POST /accounts/{account}/cfd_tunnel"]
	again, err := f.Flush(ctx, e.Request(t, tunnelTarget, spec, prev))
	if err != nil || again.DownstreamIDs[cfapi.IDTunnel] != ids[cfapi.IDTunnel] || len(again.Recheck) != 0 {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if n := e.Emu.Requests()["POST /accounts/{account}/cfd_tunnel"]; n != creates {
		t.Fatalf("a repeated flush created %d tunnels", n-creates)
	}

	// The last fragment gone: the tunnel we created is deleted.
	if _, err := f.Flush(ctx, e.Request(t, tunnelTarget, nil, prev)); err != nil {
		t.Fatal(err)
	}
	if live := liveTunnels(e, "edge"); len(live) != 0 {
		t.Fatalf("tunnel not deleted: %+v", live)
	}
}

func TestTunnelFlusherOwnership(t *testing.T) {
	tests := []struct {
		name string
		spec func(handMadeID string) TunnelSpec
		// prev builds the recorded status; nil for none.
		prev        func(handMadeID string) map[string]string
		wantErr     string
		wantCreated string
	}{
		{
			name:    "an unowned tunnel of the same name is a clash",
			spec:    func(string) TunnelSpec { return TunnelSpec{AccountID: cfapitest.Account, Name: "edge"} },
			wantErr: "was not created by conflux-sync: set adopt",
		},
		{
			name:        "adopt by name",
			spec:        func(string) TunnelSpec { return TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Adopt: true} },
			wantCreated: "false",
		},
		{
			name: "adopt by id",
			spec: func(id string) TunnelSpec {
				return TunnelSpec{AccountID: cfapitest.Account, Name: "edge", ID: id, Adopt: true}
			},
			wantCreated: "false",
		},
		{
			name:        "created by an attempt that crashed before recording",
			spec:        func(string) TunnelSpec { return TunnelSpec{AccountID: cfapitest.Account, Name: "edge"} },
			prev:        func(string) map[string]string { return map[string]string{idPendingName: "edge"} },
			wantCreated: "true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t)
			f := NewTunnelFlusher(e.Clients, nil, nil)
			id := e.HandMadeTunnel(t, "edge")
			var prev *api.SyncStatus
			if tt.prev != nil {
				prev = &api.SyncStatus{DownstreamIDs: tt.prev(id)}
			}
			out, err := f.Flush(context.Background(), e.Request(t, tunnelTarget, tt.spec(id), prev))
			if tt.wantErr != "" {
				if err == nil || !engine.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a permanent error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.DownstreamIDs[cfapi.IDTunnel] != id || out.DownstreamIDs[cfapi.IDCreated] != tt.wantCreated {
				t.Fatalf("ids %v; hand-made tunnel %s", out.DownstreamIDs, id)
			}
			if live := liveTunnels(e, "edge"); len(live) != 1 {
				t.Fatalf("%d tunnels named edge", len(live))
			}
			// Releasing an adopted tunnel leaves it alone.
			if _, err := f.Flush(context.Background(), e.Request(t, tunnelTarget, nil, &api.SyncStatus{DownstreamIDs: out.DownstreamIDs})); err != nil {
				t.Fatal(err)
			}
			if live := len(liveTunnels(e, "edge")); (tt.wantCreated == "false") != (live == 1) {
				t.Fatalf("after release: %d live tunnels (created=%s)", live, tt.wantCreated)
			}
		})
	}
}

func TestConfigFlusherWritesOnlyDifferences(t *testing.T) {
	e := cfapitest.New(t)
	ctx := context.Background()
	f := NewConfigFlusher(e.Clients, e.Store, nil)
	desired := Config{
		Ingress: []Rule{{Hostname: "app.example.com", Service: "http://web:80", OriginRequest: &OriginRequest{HTTPHostHeader: ptr("app")}}, {Service: "http_status:404"}},
	}

	// The tunnel is not created yet: retry later, not a permanent error.
	_, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil))
	if !errors.Is(err, cfapi.ErrTunnelNotReady) || engine.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}

	id := e.HandMadeTunnel(t, "edge")
	e.SeedTunnel(t, tunnelTarget.Name, id)
	puts := func() int { return e.Emu.Requests()["PUT /accounts/{account}/cfd_tunnel/{id}/configurations"] }

	out, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil))
	if err != nil || puts() != 1 || out.DownstreamIDs[cfapi.IDTunnel] != id {
		t.Fatalf("first flush: %+v %v, %d PUTs", out, err, puts())
	}
	checkRemote(t, e, id, desired)

	// In sync: a GET and no PUT.
	if _, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil)); err != nil || puts() != 1 {
		t.Fatalf("repeat: %v, %d PUTs", err, puts())
	}

	// A change after a successful flush is written without a read.
	gets := func() int { return e.Emu.Requests()["GET /accounts/{account}/cfd_tunnel/{id}/configurations"] }
	synced := &api.SyncStatus{SyncedHash: "h", DownstreamIDs: map[string]string{cfapi.IDTunnel: id}}
	changed := Config{Ingress: []Rule{{Hostname: "new.example.com", Service: "http://new:80"}, {Service: "http_status:404"}}}
	g := gets()
	if _, err := f.Flush(ctx, e.Request(t, configTarget, changed, synced)); err != nil || puts() != 2 || gets() != g {
		t.Fatalf("change: %v, %d PUTs, %d GETs", err, puts(), gets()-g)
	}
	checkRemote(t, e, id, changed)
	// ... but a drift pass always reads.
	drift := e.Request(t, configTarget, changed, synced)
	drift.Drift = true
	if _, err := f.Flush(ctx, drift); err != nil || puts() != 2 || gets() != g+1 {
		t.Fatalf("drift pass: %v, %d PUTs, %d GETs", err, puts(), gets()-g)
	}

	// Edited out of band: repaired.
	if err := e.Emu.SetTunnelConfig(cfapitest.Account, id, json.RawMessage(`{"ingress":[{"service":"http_status:503"}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil)); err != nil || puts() != 3 {
		t.Fatalf("drift: %v, %d PUTs", err, puts())
	}
	checkRemote(t, e, id, desired)

	// No fragments left: every request gets a 404.
	if _, err := f.Flush(ctx, e.Request(t, configTarget, nil, nil)); err != nil || puts() != 4 {
		t.Fatalf("empty: %v, %d PUTs", err, puts())
	}
	_, remote, _ := e.Emu.TunnelConfig(cfapitest.Account, id)
	if got, _ := Canonical(remote); string(got) != `{"ingress":[{"service":"http_status:404"}],"originRequest":{}}` {
		t.Fatalf("empty configuration: %s", got)
	}

	// A 5xx is retried; a 400 (rejected configuration) is not.
	e.Emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + cfapitest.Account + "/cfd_tunnel", Status: 503, Count: 1})
	if _, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil)); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: %v", err)
	}
	bad := Config{Ingress: []Rule{{Hostname: "a.example.com", Service: "http://x:80"}}} // no catch-all
	if _, err := f.Flush(ctx, e.Request(t, configTarget, bad, nil)); !engine.IsPermanent(err) || !cfapi.HasCode(err, 1056) {
		t.Fatalf("rejected configuration: %v", err)
	}
}

func checkRemote(t *testing.T, e *cfapitest.Env, id string, want Config) {
	t.Helper()
	_, remote, ok := e.Emu.TunnelConfig(cfapitest.Account, id)
	if !ok {
		t.Fatal("no remote configuration")
	}
	got, err := Canonical(remote)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := encode(want)
	if string(got) != string(w) {
		t.Fatalf("remote %s\nwant   %s", got, w)
	}
}

func TestTunnelKindValidateAndAggregate(t *testing.T) {
	k := NewTunnel()
	tests := []struct {
		spec, field string
	}{
		{`{"name":"edge"}`, ""},
		{`{"accountId":"0123abc","name":"edge","adopt":true}`, ""},
		{`{"name":""}`, "spec.name"},
		{`{"name":"bad name"}`, "spec.name"},
		{`{"name":"edge","id":"not-a-uuid"}`, "spec.id"},
		{`{"name":"edge","colour":"red"}`, "spec.colour"},
		{`{"accountId":"a/b","name":"edge"}`, "spec.accountId"},
		{`{"accountId":"acc1","name":"edge","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, ""},
		{`{"name":"edge","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId"},
		{`{"accountId":"acc1","name":"edge","credentials":{"namespace":"infra","key":"token"}}`, "spec.credentials.name"},
		{`{"accountId":"acc1","name":"edge","credentials":{"namespace":"a/b","name":"n","key":"token"}}`, "spec.credentials.namespace"},
		{`{"accountId":"acc1","name":"edge","credentials":"infra/cloudflare/token"}`, "spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			err := k.Validate(tunnelTarget, api.SourceRef{Kind: "API", Name: "x"}, json.RawMessage(tt.spec))
			kindtest.CheckValidation(t, err, tt.field, "")
		})
	}
	frag := func(src string, idx uint64, spec string) api.Fragment {
		return api.Fragment{Target: tunnelTarget, Source: api.SourceRef{Kind: "ClusterTunnel", Name: src}, CreateIndex: idx, Spec: json.RawMessage(spec)}
	}
	a := frag("a", 5, `{"name":"edge","id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}`)
	b := frag("b", 3, `{"name":"other"}`)
	for _, order := range [][]api.Fragment{{a, b}, {b, a}} {
		res, err := k.Aggregate(tunnelTarget, order)
		if err != nil || string(res.Desired) != `{"name":"other"}` || len(res.Conflicts) != 1 || res.Conflicts[0].Loser.Name != "a" {
			t.Fatalf("%s %+v %v", res.Desired, res.Conflicts, err)
		}
	}
	res, _ := k.Aggregate(tunnelTarget, []api.Fragment{a})
	if want := fmt.Sprintf(`{"name":"edge","adopt":true,"id":%q}`, "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"); string(res.Desired) != want {
		t.Fatalf("an id implies adopt: %s", res.Desired)
	}
}

func ptr[T any](v T) *T { return &v }

// A remote configuration written by another tool (here: another order of
// rules no request can match two of, spelled-out defaults, warp-routing
// false) is in sync by meaning: the flush reads it and writes nothing. A
// reorder that changes which rule a request reaches is written once.
func TestConfigFlusherSkipsEquivalentRemote(t *testing.T) {
	e := cfapitest.New(t)
	ctx := context.Background()
	f := NewConfigFlusher(e.Clients, e.Store, nil)
	id := e.HandMadeTunnel(t, "edge")
	e.SeedTunnel(t, tunnelTarget.Name, id)
	puts := func() int { return e.Emu.Requests()["PUT /accounts/{account}/cfd_tunnel/{id}/configurations"] }

	desired := Config{Ingress: []Rule{
		{Hostname: "app.example.com", Path: "^/api", Service: "http://api:80"},
		{Hostname: "app.example.com", Path: "/", Service: "http://web:80"},
		{Hostname: "other.example.com", Service: "http://other:80", OriginRequest: &OriginRequest{NoTLSVerify: ptr(true)}},
		{Service: "http_status:404"},
	}}
	equivalent := `{"ingress":[` +
		`{"hostname":"other.example.com","service":"http://other:80","originRequest":{"noTLSVerify":true,"connectTimeout":30}},` +
		`{"hostname":"app.example.com","path":"^/api","service":"http://api:80","originRequest":{}},` +
		`{"hostname":"app.example.com","path":"/","service":"http://web:80","originRequest":{"http2Origin":false}},` +
		`{"service":"http_status:404"}],"warp-routing":{"enabled":false},"originRequest":{}}`
	if err := e.Emu.SetTunnelConfig(cfapitest.Account, id, json.RawMessage(equivalent)); err != nil {
		t.Fatal(err)
	}
	before := puts()
	out, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil))
	if err != nil || puts() != before {
		t.Fatalf("equivalent remote: %+v %v, %d PUTs", out, err, puts()-before)
	}
	if v, _, _ := e.Emu.TunnelConfig(cfapitest.Account, id); out.DownstreamIDs["version"] != fmt.Sprint(v) {
		t.Fatalf("version %q, remote has %d", out.DownstreamIDs["version"], v)
	}

	// "/" before "^/api" sends /api requests to web: not equivalent.
	swapped := `{"ingress":[` +
		`{"hostname":"app.example.com","path":"/","service":"http://web:80"},` +
		`{"hostname":"app.example.com","path":"^/api","service":"http://api:80"},` +
		`{"hostname":"other.example.com","service":"http://other:80","originRequest":{"noTLSVerify":true}},` +
		`{"service":"http_status:404"}]}`
	if err := e.Emu.SetTunnelConfig(cfapitest.Account, id, json.RawMessage(swapped)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Flush(ctx, e.Request(t, configTarget, desired, nil)); err != nil || puts() != before+1 {
		t.Fatalf("swapped remote: %v, %d PUTs", err, puts()-before)
	}
	checkRemote(t, e, id, desired)
}
