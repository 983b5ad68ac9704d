package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// A dry run of a tunnel target decides what the real flush would, says so
// and writes nothing; the ids say which tunnel its dependents plan with.
func TestTunnelDryRun(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the emulator and returns the spec and the
		// recorded status (nil: none).
		setup func(t *testing.T, e *cfapitest.Env, f *TunnelFlusher) (*TunnelSpec, *api.SyncStatus)
		// plan is the expected plan; "ID" stands for the hand-made
		// tunnel's id.
		plan    []string
		wantErr string
		// tunnel is whether the ids name a tunnel (the hand-made one,
		// unless created by the setup).
		tunnel bool
	}{
		{
			name: "create",
			setup: func(*testing.T, *cfapitest.Env, *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				return &TunnelSpec{AccountID: cfapitest.Account, Name: "edge"}, nil
			},
			plan: []string{"create tunnel edge"},
		},
		{
			name: "adopt",
			setup: func(t *testing.T, e *cfapitest.Env, _ *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				e.HandMadeTunnel(t, "edge")
				return &TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Adopt: true}, nil
			},
			plan:   []string{"adopt tunnel edge (id ID)"},
			tunnel: true,
		},
		{
			name: "take over",
			setup: func(t *testing.T, e *cfapitest.Env, _ *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				id := e.HandMadeTunnel(t, "k3s-edge")
				return &TunnelSpec{AccountID: cfapitest.Account, Name: "edge", TakeOver: id}, nil
			},
			plan:   []string{"take over tunnel k3s-edge (id ID: spec.takeOver names it)"},
			tunnel: true,
		},
		{
			name: "clash",
			setup: func(t *testing.T, e *cfapitest.Env, _ *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				e.HandMadeTunnel(t, "edge")
				return &TunnelSpec{AccountID: cfapitest.Account, Name: "edge"}, nil
			},
			wantErr: "was not created by conflux-sync: set adopt",
		},
		{
			name: "in sync",
			setup: func(t *testing.T, e *cfapitest.Env, f *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				spec := &TunnelSpec{AccountID: cfapitest.Account, Name: "edge"}
				out, err := f.Flush(context.Background(), e.Request(t, tunnelTarget, spec, nil))
				if err != nil {
					t.Fatal(err)
				}
				return spec, e.RecordStatus(t, tunnelTarget, out.DownstreamIDs)
			},
			tunnel: true,
		},
		{
			name: "delete with the last fragment",
			setup: func(t *testing.T, e *cfapitest.Env, _ *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				id := e.HandMadeTunnel(t, "edge")
				return nil, &api.SyncStatus{DownstreamIDs: map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDCreated: "true"}}
			},
			plan: []string{"delete tunnel ID"},
		},
		{
			name: "release an adopted one",
			setup: func(t *testing.T, e *cfapitest.Env, _ *TunnelFlusher) (*TunnelSpec, *api.SyncStatus) {
				id := e.HandMadeTunnel(t, "edge")
				return nil, &api.SyncStatus{DownstreamIDs: map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDCreated: "false"}}
			},
			plan: []string{"release adopted tunnel ID (left in place, no write)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t)
			f := NewTunnelFlusher(e.Clients, nil, nil)
			spec, prev := tt.setup(t, e, f)
			var desired any
			if spec != nil {
				desired = *spec
			}
			before := e.Emu.Tunnels(cfapitest.Account)
			out, err := e.DryRun(t, f, e.Request(t, tunnelTarget, desired, prev))
			if tt.wantErr != "" {
				if !engine.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a permanent error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id := ""
			if len(before) > 0 {
				id = before[0].ID
			}
			want := make([]string, len(tt.plan))
			for i, p := range tt.plan {
				want[i] = strings.ReplaceAll(p, "ID", id)
			}
			if !slices.Equal(out.Plan, want) {
				t.Fatalf("plan %q, want %q", out.Plan, want)
			}
			if after := e.Emu.Tunnels(cfapitest.Account); !slices.Equal(after, before) {
				t.Fatalf("tunnels changed: %+v -> %+v", before, after)
			}
			if got := out.DownstreamIDs[cfapi.IDTunnel]; spec != nil && (got != "") != tt.tunnel {
				t.Fatalf("ids %v", out.DownstreamIDs)
			}
			if spec != nil && len(out.Recheck) == 0 {
				t.Fatal("a dry run must let the dependents plan with what it found")
			}
		})
	}
}

// The dependents of a tunnel a dry run would create wait for it; a real
// flush never uses what a plan found.
func TestConfigDryRunWaitsForATunnelToBeCreated(t *testing.T) {
	e := cfapitest.New(t)
	f := NewConfigFlusher(e.Clients, e.Store, nil)
	e.RecordPlan(t, tunnelTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnelName: "edge", cfapi.IDCreated: "true"})
	desired := Config{Ingress: []Rule{{Hostname: "app.example.com", Service: "http://web:80"}, {Service: "http_status:404"}}}
	out, err := e.DryRun(t, f, e.Request(t, configTarget, desired, nil))
	if err != nil || !slices.Equal(out.Plan, []string{"waits for tunnel ClusterTunnel/edge (to be created)"}) {
		t.Fatalf("plan %q, %v", out.Plan, err)
	}

	// A plan that takes a tunnel over gives its id to the dry run alone.
	id := e.HandMadeTunnel(t, "edge")
	e.RecordPlan(t, tunnelTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDCreated: "true"})
	if _, err := f.Flush(context.Background(), e.Request(t, configTarget, desired, nil)); !errors.Is(err, cfapi.ErrTunnelNotReady) {
		t.Fatalf("a real flush used the ids of a plan: %v", err)
	}
	out, err = e.DryRun(t, f, e.Request(t, configTarget, desired, nil))
	if err != nil || len(out.Plan) != 1 || out.Plan[0] != "update tunnel configuration: no remote configuration" || out.DownstreamIDs[cfapi.IDTunnel] != id {
		t.Fatalf("plan %q, ids %v, %v", out.Plan, out.DownstreamIDs, err)
	}
}

// The configuration of a tunnel taken over: in sync when the remote one
// routes every request alike (also in another harmless order), else the
// differences, remote value first.
func TestConfigDryRun(t *testing.T) {
	desired := Config{Ingress: []Rule{
		{Hostname: "app.example.com", Path: "^/api", Service: "http://api:80", OriginRequest: &OriginRequest{ConnectTimeout: ptr(int64(10))}},
		{Hostname: "other.example.com", Service: "http://other:80"},
		{Service: "http_status:404"},
	}}
	tests := []struct {
		name, remote string
		plan         []string
	}{
		{
			name: "in sync",
			remote: `{"ingress":[{"hostname":"app.example.com","path":"^/api","service":"http://api:80","originRequest":{"connectTimeout":10}},` +
				`{"hostname":"other.example.com","service":"http://other:80"},{"service":"http_status:404"}]}`,
		},
		{
			name: "equivalent",
			remote: `{"ingress":[{"hostname":"other.example.com","service":"http://other:80","originRequest":{"connectTimeout":30}},` +
				`{"hostname":"app.example.com","path":"^/api","service":"http://api:80","originRequest":{"connectTimeout":10}},` +
				`{"service":"http_status:404"}],"warp-routing":{"enabled":false},"originRequest":{}}`,
		},
		{
			name: "differing",
			remote: `{"ingress":[{"hostname":"app.example.com","path":"^/api","service":"http://api:80"},` +
				`{"hostname":"old.example.com","service":"http://old:80"},{"service":"http_status:404"}]}`,
			plan: []string{
				"update tunnel configuration: rule app.example.com ^/api: originRequest.connectTimeout 30 -> 10",
				"update tunnel configuration: rule old.example.com removed",
				"update tunnel configuration: rule other.example.com added",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t)
			f := NewConfigFlusher(e.Clients, e.Store, nil)
			id := e.HandMadeTunnel(t, "edge")
			if err := e.Emu.SetTunnelConfig(cfapitest.Account, id, json.RawMessage(tt.remote)); err != nil {
				t.Fatal(err)
			}
			e.RecordPlan(t, tunnelTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDCreated: "true"})
			version, before, _ := e.Emu.TunnelConfig(cfapitest.Account, id)
			out, err := e.DryRun(t, f, e.Request(t, configTarget, desired, nil))
			if err != nil || !slices.Equal(out.Plan, tt.plan) {
				t.Fatalf("plan %q, want %q (%v)", out.Plan, tt.plan, err)
			}
			if v, after, _ := e.Emu.TunnelConfig(cfapitest.Account, id); v != version || string(after) != string(before) {
				t.Fatalf("remote configuration changed: version %d -> %d", version, v)
			}
		})
	}
}
