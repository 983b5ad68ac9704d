package route

import (
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
)

var edgeTunnel = api.TargetRef{Kind: cfapi.KindTunnel, Name: "edge"}

func TestDryRun(t *testing.T) {
	const spec = `{"network":"10.0.0.0/8","tunnel":"edge","comment":"office LAN"}`
	t.Run("waits for a tunnel to be created", func(t *testing.T) {
		e := newEnv(t)
		e.RecordPlan(t, edgeTunnel, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnelName: "edge", cfapi.IDCreated: "true"})
		out, err := e.Plan(t, spec)
		if err != nil || !slices.Equal(out.Plan, []string{"waits for tunnel edge (to be created): network route 10.0.0.0/8 goes through it"}) {
			t.Fatalf("plan %q, %v", out.Plan, err)
		}
	})
	t.Run("create through a tunnel taken over", func(t *testing.T) {
		e := newEnv(t)
		tid := e.tunnel(t, "")
		e.RecordPlan(t, edgeTunnel, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: tid, cfapi.IDCreated: "true"})
		out, err := e.Plan(t, spec)
		if err != nil || !slices.Equal(out.Plan, []string{"create network route 10.0.0.0/8 through tunnel " + tid}) {
			t.Fatalf("plan %q, %v", out.Plan, err)
		}
		if live := e.live(); len(live) != 0 {
			t.Fatalf("routes %+v", live)
		}
	})
	t.Run("take over, then change", func(t *testing.T) {
		e := newEnv(t)
		tid := e.tunnel(t, "edge")
		e.previous(t, "10.0.0.0/8", tid, stringkeComment, "")
		taken := strings.Replace(spec, `"comment"`, `"takeOver":"`+stringkeMarker+`","comment"`, 1)
		out, err := e.Plan(t, taken)
		id := e.live()[0].ID
		want := []string{"take over network route 10.0.0.0/8 (id " + id + ": its comment carries " + stringkeMarker + ")"}
		if err != nil || !slices.Equal(out.Plan, want) || out.DownstreamIDs[IDRoute] != id {
			t.Fatalf("plan %q, ids %v, %v", out.Plan, out.DownstreamIDs, err)
		}
		// Re-pointed, the route gets our comment too.
		tid2 := e.tunnel(t, "")
		moved := strings.Replace(taken, `"tunnel":"edge"`, `"tunnelId":"`+tid2+`"`, 1)
		want = append(want, "update network route 10.0.0.0/8 (id "+id+"): tunnel "+tid+" -> "+tid2+
			`, comment "`+stringkeComment+`" -> "`+marker+` office LAN"`)
		if plan := e.MustPlan(t, moved); !slices.Equal(plan, want) {
			t.Fatalf("plan %q\nwant %q", plan, want)
		}
		if live := e.live(); len(live) != 1 || live[0].TunnelID != tid || live[0].Comment != stringkeComment {
			t.Fatalf("route changed: %+v", live)
		}
		// The real flush agrees: a takeover writes nothing.
		e.Emu.Reset()
		e.MustFlush(t, taken)
		if n := e.Writes(); n != 0 {
			t.Fatalf("the takeover wrote %d times", n)
		}
		if plan := e.MustPlan(t); !slices.Equal(plan, []string{"delete network route 10.0.0.0/8 (id " + id + ")"}) {
			t.Fatalf("the last fragment gone: %q", plan)
		}
	})
}

// Moving a route to the default virtual network: the plan deletes the old
// route and creates one, as the flush does, though the old route (ours,
// still there during a dry run) is listed for the network.
func TestDryRunMoveToDefaultVirtualNetwork(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	const v1 = "11111111-1111-4111-8111-111111111111"
	e.Emu.AddVirtualNetwork(cfapitest.Account, v1, "")
	first := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+v1+`"}`).DownstreamIDs[IDRoute]
	const spec = `{"network":"10.0.0.0/8","tunnel":"edge"}`
	want := []string{"delete network route 10.0.0.0/8 (id " + first + "): the network moved", "create network route 10.0.0.0/8 through tunnel " + tid}
	if plan := e.MustPlan(t, spec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	out := e.MustFlush(t, spec)
	if live := e.live(); len(live) != 1 || live[0].ID == first || out.DownstreamIDs[IDRoute] != live[0].ID || out.DownstreamIDs[IDVnet] != "" {
		t.Fatalf("routes %+v, ids %v", live, out.DownstreamIDs)
	}
}
