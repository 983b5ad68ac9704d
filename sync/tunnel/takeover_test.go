package tunnel

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

// A tunnel the previous controller created for this producer is taken
// over without a write and owned as created: deleted with the last
// fragment, as that controller would have.
func TestTunnelTakeOver(t *testing.T) {
	tests := []struct {
		name string
		// made is the name the previous controller gave the tunnel.
		made string
	}{
		{name: "same name", made: "edge"},
		{name: "another name", made: "k3s-edge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t)
			f := NewTunnelFlusher(e.Clients, nil, nil)
			ctx := context.Background()
			id := e.HandMadeTunnel(t, tt.made)
			spec := TunnelSpec{AccountID: cfapitest.Account, Name: "edge", TakeOver: id}

			e.Emu.Reset()
			out, err := f.Flush(ctx, e.Request(t, tunnelTarget, spec, nil))
			if err != nil {
				t.Fatal(err)
			}
			if n := e.Writes(); n != 0 {
				t.Fatalf("the takeover wrote %d times: %v", n, e.Emu.Requests())
			}
			ids := out.DownstreamIDs
			if ids[cfapi.IDTunnel] != id || ids[cfapi.IDCreated] != "true" || ids[cfapi.IDTunnelName] != tt.made || len(e.Checkpoints()) != 0 {
				t.Fatalf("ids %v, checkpoints %v", ids, e.Checkpoints())
			}

			// Again, from the recorded status: still no write.
			prev := e.RecordStatus(t, tunnelTarget, ids)
			e.Emu.Reset()
			again, err := f.Flush(ctx, e.Request(t, tunnelTarget, spec, prev))
			if err != nil || again.DownstreamIDs[cfapi.IDTunnel] != id || again.DownstreamIDs[cfapi.IDCreated] != "true" || e.Writes() != 0 {
				t.Fatalf("repeat: %v %v, %d writes", again.DownstreamIDs, err, e.Writes())
			}

			// The last fragment gone: the tunnel is deleted.
			if _, err := f.Flush(ctx, e.Request(t, tunnelTarget, nil, prev)); err != nil {
				t.Fatal(err)
			}
			if live := liveTunnels(e, tt.made); len(live) != 0 {
				t.Fatalf("taken-over tunnel not deleted: %+v", live)
			}
		})
	}
}

// Without the tunnel to take over, the normal path applies.
func TestTunnelTakeOverFallsBack(t *testing.T) {
	const gone = "0b7c1f0e-1111-4222-8333-444455556666"
	tests := []struct {
		name string
		// setup returns the id to take over.
		setup       func(t *testing.T, e *cfapitest.Env) string
		spec        TunnelSpec
		wantErr     string
		wantCreated string
	}{
		{
			name:        "missing: created by name",
			setup:       func(*testing.T, *cfapitest.Env) string { return gone },
			wantCreated: "true",
		},
		{
			name: "deleted: created by name",
			setup: func(t *testing.T, e *cfapitest.Env) string {
				id := e.HandMadeTunnel(t, "old")
				if err := e.Human.DeleteTunnel(cfapitest.Context(t), cloudflare.AccountIdentifier(cfapitest.Account), id); err != nil {
					t.Fatal(err)
				}
				return id
			},
			wantCreated: "true",
		},
		{
			name: "missing, another tunnel of the name: the usual clash",
			setup: func(t *testing.T, e *cfapitest.Env) string {
				e.HandMadeTunnel(t, "edge")
				return gone
			},
			wantErr: "a tunnel named edge already exists in account acc1",
		},
		{
			name: "missing, another tunnel of the name, adopt: adopted",
			setup: func(t *testing.T, e *cfapitest.Env) string {
				e.HandMadeTunnel(t, "edge")
				return gone
			},
			spec:        TunnelSpec{Adopt: true},
			wantCreated: "false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t)
			f := NewTunnelFlusher(e.Clients, nil, nil)
			spec := tt.spec
			spec.AccountID, spec.Name, spec.TakeOver = cfapitest.Account, "edge", tt.setup(t, e)
			e.Emu.Reset()
			out, err := f.Flush(context.Background(), e.Request(t, tunnelTarget, spec, nil))
			if tt.wantErr != "" {
				if !engine.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a permanent error containing %q", err, tt.wantErr)
				}
				if n := e.Writes(); n != 0 {
					t.Fatalf("wrote %d times: %v", n, e.Emu.Requests())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			live := liveTunnels(e, "edge")
			if len(live) != 1 || out.DownstreamIDs[cfapi.IDTunnel] != live[0].ID || out.DownstreamIDs[cfapi.IDCreated] != tt.wantCreated {
				t.Fatalf("ids %v, tunnels %+v", out.DownstreamIDs, live)
			}
		})
	}
}

func TestTunnelTakeOverValidation(t *testing.T) {
	const id = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	tests := []struct {
		spec, field, reason string
	}{
		{`{"name":"edge","takeOver":"` + id + `"}`, "", ""},
		{`{"name":"edge","takeOver":"` + id + `","adopt":true}`, "", ""},
		{`{"name":"edge","takeOver":"` + id + `","id":"` + id + `"}`, "spec.takeOver", "not both"},
		{`{"name":"edge","takeOver":"F174E90A-FAFE-4643-BBBC-4A0ED4FC8415"}`, "spec.takeOver", "lower-case UUID"},
		{`{"name":"edge","takeOver":"edge"}`, "spec.takeOver", "tunnel id"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			err := NewTunnel().Validate(tunnelTarget, api.SourceRef{Kind: "API", Name: "x"}, json.RawMessage(tt.spec))
			kindtest.CheckValidation(t, err, tt.field, tt.reason)
		})
	}
	res, err := NewTunnel().Aggregate(tunnelTarget, []api.Fragment{{Target: tunnelTarget, Source: api.SourceRef{Kind: "API", Name: "x"},
		Spec: json.RawMessage(`{"takeOver":"` + id + `","name":"edge"}`)}})
	if err != nil || string(res.Desired) != `{"name":"edge","takeOver":"`+id+`"}` {
		t.Fatalf("desired %s, %v", res.Desired, err)
	}
}
