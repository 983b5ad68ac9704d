package route

import (
	"errors"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var marker = cfapi.Marker(cfapitest.ClusterID)

// env is the shared emulator environment with the flusher under test
// flushing testTarget.
type env struct {
	*cfapitest.Flow
	f *Flusher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ce := cfapitest.New(t)
	e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store})}
	e.Flow = ce.Flow(New(), e.f, testTarget)
	return e
}

// tunnel creates a tunnel downstream and, when target is not "", records
// it as that cloudflare.Tunnel target's status.
func (e *env) tunnel(t *testing.T, target string) string {
	t.Helper()
	id := e.HandMadeTunnel(t, "t"+target)
	if target != "" {
		e.SeedTunnel(t, target, id)
	}
	return id
}

// live returns the live routes.
func (e *env) live() []emu.RouteInfo {
	var out []emu.RouteInfo
	for _, r := range e.Emu.Routes(cfapitest.Account) {
		if !r.Deleted {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) handMade(t *testing.T, network, tunnelID string) {
	t.Helper()
	_, err := e.Human.CreateTunnelRoute(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.TunnelRoutesCreateParams{Network: network, TunnelID: tunnelID, Comment: "by hand"})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "ClusterTunnel/edge")
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge","comment":"office"}`)
	ids := out.DownstreamIDs
	live := e.live()
	if len(live) != 1 || ids[IDRoute] != live[0].ID || ids[IDTunnel] != tid || ids[IDCreated] != "true" || ids[IDNetwork] != "10.0.0.0/8" ||
		live[0].TunnelID != tid || live[0].Comment != marker+" office" {
		t.Fatalf("ids %v routes %+v", ids, live)
	}
	if e.Emu.Requests()["POST /accounts/{account}/teamnet/routes"] != 1 {
		t.Fatalf("must create through the route-id endpoint: %v", e.Emu.Requests())
	}

	w := e.Writes()
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge","comment":"office"}`)
	if e.Writes() != w {
		t.Fatalf("repeat wrote %d times", e.Writes()-w)
	}

	// Update in place: other tunnel, other comment.
	tid2 := e.tunnel(t, "")
	out = e.MustFlush(t, `{"network":"10.0.0.0/8","tunnelId":"`+tid2+`","comment":"moved"}`)
	live = e.live()
	if len(live) != 1 || live[0].ID != ids[IDRoute] || live[0].TunnelID != tid2 || live[0].Comment != marker+" moved" || out.DownstreamIDs[IDTunnel] != tid2 {
		t.Fatalf("after update %+v", live)
	}

	// Another network: the old route goes, a new one comes.
	out = e.MustFlush(t, `{"network":"10.1.0.0/16","tunnelId":"`+tid2+`"}`)
	live = e.live()
	if len(live) != 1 || live[0].Network != "10.1.0.0/16" || live[0].ID != out.DownstreamIDs[IDRoute] || live[0].Comment != marker {
		t.Fatalf("after move %+v", live)
	}

	out = e.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(e.live()) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, e.live())
	}
	if e.Emu.Requests()["DELETE /accounts/{account}/teamnet/routes/{route}"] != 2 {
		t.Fatalf("must delete by route id: %v", e.Emu.Requests())
	}
}

func TestFlushDeleteLeavesOthersAlone(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	e.handMade(t, "192.168.0.0/16", tid)
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	e.MustFlush(t)
	if live := e.live(); len(live) != 1 || live[0].Network != "192.168.0.0/16" {
		t.Fatalf("routes %+v", live)
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	e.handMade(t, "10.0.0.0/8", tid)
	w := e.Writes()
	_, err := e.Flush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "10.0.0.0/8 exists and is not managed by conflux-sync; set adopt") {
		t.Fatalf("want permanent clash, got %v", err)
	}
	// The only write was the create the API refused.
	if e.Writes() != w+1 || e.live()[0].Comment != "by hand" {
		t.Fatalf("unowned route touched: %+v", e.live())
	}
	// With an explicit virtual network the clash is known before writing.
	vnet := e.live()[0].VirtualNetworkID
	w = e.Writes()
	_, err = e.Flush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+vnet+`"}`)
	if !engine.IsPermanent(err) || e.Writes() != w {
		t.Fatalf("want permanent clash without writes, got %v", err)
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	e := newEnv(t)
	hand := e.tunnel(t, "")
	tid := e.tunnel(t, "edge")
	e.handMade(t, "10.0.0.0/8", hand)
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","comment":"mine now","adopt":true}`)
	live := e.live()
	if len(live) != 1 || live[0].TunnelID != tid || live[0].Comment != marker+" mine now" || out.DownstreamIDs[IDCreated] != "false" {
		t.Fatalf("ids %v routes %+v", out.DownstreamIDs, live)
	}
	if cps := e.Checkpoints(); len(cps) != 1 || cps[0][IDCreated] != "false" {
		t.Fatalf("adoption must be checkpointed before the marker is stamped: %v", cps)
	}
	e.MustFlush(t)
	if len(e.live()) != 1 {
		t.Fatal("an adopted route is released, not deleted")
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	other := e.tunnel(t, "")
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	_, err := e.Human.UpdateTunnelRoute(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.TunnelRoutesUpdateParams{Network: "10.0.0.0/8", TunnelID: other, Comment: "hijacked"})
	if err != nil {
		t.Fatal(err)
	}
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if live := e.live(); len(live) != 1 || live[0].TunnelID != tid || live[0].Comment != marker {
		t.Fatalf("drift not repaired: %+v", live)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	id := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`).DownstreamIDs[IDRoute]
	if err := e.Human.DeleteTunnelRoute(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if live := e.live(); len(live) != 1 || live[0].ID == id || out.DownstreamIDs[IDRoute] != live[0].ID {
		t.Fatalf("not recreated: %+v", live)
	}
}

// Lost outcome (crash after create): the marker finds our route again.
func TestFlushWithoutPrevFindsOurRoute(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	id := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`).DownstreamIDs[IDRoute]
	e.Prev = nil
	w := e.Writes()
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if out.DownstreamIDs[IDRoute] != id || out.DownstreamIDs[IDCreated] != "true" || e.Writes() != w {
		t.Fatalf("ids %v, %d writes", out.DownstreamIDs, e.Writes()-w)
	}
}

func TestFlushTunnelNotReady(t *testing.T) {
	e := newEnv(t)
	_, err := e.Flush(t, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if !errors.Is(err, cfapi.ErrTunnelNotReady) || engine.IsPermanent(err) {
		t.Fatalf("want retryable not-ready, got %v", err)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	spec := `{"network":"10.0.0.0/8","tunnel":"edge"}`
	e.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/teamnet/routes", Status: 503, Count: 1})
	if _, err := e.Flush(t, spec); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	e.Emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + cfapitest.Account + "/teamnet/routes", Status: 429, Count: 1, RetryAfter: 3})
	_, err := e.Flush(t, spec)
	var ce *cfapi.Error
	if err == nil || engine.IsPermanent(err) || !errors.As(err, &ce) || ce.RetryAfter() != 3*time.Second {
		t.Fatalf("429: want retryable with Retry-After, got %v", err)
	}
	e.MustFlush(t, spec)
	if len(e.live()) != 1 {
		t.Fatalf("routes %+v", e.live())
	}
}

func TestFlushVirtualNetworkChangeMovesRoute(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	const v1, v2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	e.Emu.AddVirtualNetwork(cfapitest.Account, v1, "")
	e.Emu.AddVirtualNetwork(cfapitest.Account, v2, "")
	first := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+v1+`"}`).DownstreamIDs[IDRoute]
	out := e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+v2+`"}`)
	live := e.live()
	if len(live) != 1 || live[0].VirtualNetworkID != v2 || live[0].ID == first || out.DownstreamIDs[IDVnet] != v2 {
		t.Fatalf("routes %+v ids %v", live, out.DownstreamIDs)
	}
	w := e.Writes()
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"`+v2+`"}`)
	if e.Writes() != w {
		t.Fatal("repeat in a named virtual network must not write")
	}
}

// An adoption finds the route with one list request: a page shorter than
// per_page is the last, so no empty page is asked for after it.
func TestListAsksForNoEmptyPage(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	e.handMade(t, "10.0.0.0/8", tid)
	before := e.Emu.Requests()["GET /accounts/{account}/teamnet/routes"]
	e.MustFlush(t, `{"network":"10.0.0.0/8","tunnel":"edge","adopt":true}`)
	if got := e.Emu.Requests()["GET /accounts/{account}/teamnet/routes"] - before; got != 1 {
		t.Fatalf("%d list requests: %v", got, e.Emu.Requests())
	}
}
