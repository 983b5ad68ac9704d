package route

import (
	"encoding/json"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

const (
	stringkeMarker  = "[managed:NetworkRoute/edge-route]"
	stringkeComment = stringkeMarker + " office LAN"
)

// previous creates a route the way StringKe's NetworkRoute controller
// does: its marker first in the comment, in virtual network vnet ("" for
// the default).
func (e *env) previous(t *testing.T, network, tunnelID, comment, vnet string) {
	t.Helper()
	_, err := e.Human.CreateTunnelRoute(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account),
		cf.TunnelRoutesCreateParams{Network: network, TunnelID: tunnelID, Comment: comment, VirtualNetworkID: vnet})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTakeOverWritesNothingAndOwns(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	e.previous(t, "10.0.0.0/8", tid, stringkeComment, "")
	spec := `{"network":"10.0.0.0/8","tunnel":"edge","comment":"office LAN","takeOver":"` + stringkeMarker + `"}`

	e.Emu.Reset()
	out := e.MustFlush(t, spec)
	if n := e.Writes(); n != 0 {
		t.Fatalf("the takeover wrote %d times: %v", n, e.Emu.Requests())
	}
	live := e.live()
	if len(live) != 1 || out.DownstreamIDs[IDRoute] != live[0].ID || out.DownstreamIDs[IDCreated] != "true" || live[0].Comment != stringkeComment {
		t.Fatalf("ids %v, routes %+v", out.DownstreamIDs, live)
	}
	// Recorded: again nothing to write; the comment stays StringKe's.
	e.Emu.Reset()
	e.MustFlush(t, spec)
	if n := e.Writes(); n != 0 {
		t.Fatalf("repeat wrote %d times: %v", n, e.Emu.Requests())
	}

	// The tunnel changes: the route is re-pointed and gets our comment.
	tid2 := e.tunnel(t, "")
	e.MustFlush(t, strings.Replace(spec, `"tunnel":"edge"`, `"tunnelId":"`+tid2+`"`, 1))
	if live := e.live(); len(live) != 1 || live[0].TunnelID != tid2 || live[0].Comment != marker+" office LAN" {
		t.Fatalf("after the tunnel changed: %+v", live)
	}

	// Owned as created: the last fragment gone, the route is deleted.
	e.MustFlush(t)
	if live := e.live(); len(live) != 0 {
		t.Fatalf("taken-over route not deleted: %+v", live)
	}
}

func TestTakeOverInVirtualNetwork(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	const v1, v2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	e.Emu.AddVirtualNetwork(cfapitest.Account, v1, "")
	e.Emu.AddVirtualNetwork(cfapitest.Account, v2, "")
	e.previous(t, "10.0.0.0/8", tid, stringkeMarker, v1)
	e.previous(t, "10.0.0.0/8", tid, "[managed:NetworkRoute/other]", v2)
	e.Emu.Reset()
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+v1+`","takeOver":"`+stringkeMarker+`"}`)
	if n := e.Writes(); n != 0 || out.DownstreamIDs[IDCreated] != "true" || out.DownstreamIDs[IDVnet] != v1 {
		t.Fatalf("%d writes, ids %v", n, out.DownstreamIDs)
	}
}

func TestTakeOverWrongMarkerClashes(t *testing.T) {
	const vnet = "11111111-1111-4111-8111-111111111111"
	tests := []struct {
		name, comment, vnet string
		// refusedCreate: without a virtual network the clash shows only
		// when the API refuses the create (the existing behaviour).
		refusedCreate bool
	}{
		{name: "marker of another object", comment: "[managed:NetworkRoute/other-route] office LAN", vnet: vnet},
		{name: "marker of another kind", comment: "[managed:PrivateService/default/edge-route]", vnet: vnet},
		{name: "no marker", comment: "by hand", vnet: vnet},
		{name: "default virtual network", comment: "[managed:NetworkRoute/other-route]", refusedCreate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tid := e.tunnel(t, "edge")
			if tt.vnet != "" {
				e.Emu.AddVirtualNetwork(cfapitest.Account, tt.vnet, "")
			}
			e.previous(t, "10.0.0.0/8", tid, tt.comment, tt.vnet)
			spec := `{"network":"10.0.0.0/8","tunnel":"edge","takeOver":"` + stringkeMarker + `"`
			if tt.vnet != "" {
				spec += `,"virtualNetworkId":"` + tt.vnet + `"`
			}
			e.Emu.Reset()
			_, err := e.Flush(t, spec+"}")
			if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "a network route for 10.0.0.0/8") || !strings.Contains(err.Error(), "is not managed by conflux-sync; set adopt") {
				t.Fatalf("got %v, want the clash", err)
			}
			refused := e.Emu.Requests()["POST /accounts/{account}/teamnet/routes"]
			if w := e.Writes(); w != refused || tt.refusedCreate != (refused == 1) {
				t.Fatalf("%d writes, %d refused creates: %v", w, refused, e.Emu.Requests())
			}
			if live := e.live(); len(live) != 1 || live[0].Comment != tt.comment || live[0].TunnelID != tid {
				t.Fatalf("the route was touched: %+v", live)
			}
		})
	}
}

func TestTakeOverValidation(t *testing.T) {
	src := api.SourceRef{Kind: "NetworkRoute", Name: "r"}
	spec := func(takeOver string) string {
		b, _ := json.Marshal(takeOver)
		return `{"network":"10.0.0.0/8","tunnel":"edge","takeOver":` + string(b) + `}`
	}
	tests := []struct {
		name, spec, field, reason string
	}{
		{"marker", spec(stringkeMarker), "", ""},
		{"100 characters", spec(strings.Repeat("é", 100)), "", ""},
		{"101 characters", spec(strings.Repeat("é", 101)), "spec.takeOver", "longer than 100"},
		{"blank", spec("   "), "spec.takeOver", "marker"},
		{"surrounding spaces", spec(" " + stringkeMarker), "spec.takeOver", "surrounding spaces"},
		{"newline", spec("[managed:\nNetworkRoute/x]"), "spec.takeOver", "control characters"},
		{"tab", spec("[managed:\tNetworkRoute/x]"), "spec.takeOver", "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}
