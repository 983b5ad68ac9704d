package vnet

import (
	"slices"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var marker = cfapi.Marker(cfapitest.ClusterID)

var account = cf.AccountIdentifier(cfapitest.Account)

func newFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
}

// live returns the active networks other than the account's default
// "default" one, in creation order.
func live(fl *cfapitest.Flow) []emu.VirtualNetworkInfo {
	var out []emu.VirtualNetworkInfo
	for _, v := range fl.Emu.VirtualNetworks(cfapitest.Account) {
		if !v.Deleted && v.Name != "default" {
			out = append(out, v)
		}
	}
	return out
}

// handMade creates a network as a person would.
func handMade(t *testing.T, fl *cfapitest.Flow, name, comment string) cf.TunnelVirtualNetwork {
	t.Helper()
	vn, err := fl.Human.CreateTunnelVirtualNetwork(cfapitest.Context(t), account, cf.TunnelVirtualNetworkCreateParams{Name: name, Comment: comment})
	if err != nil {
		t.Fatal(err)
	}
	return vn
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, `{"name":"lab","comment":"test lab"}`)
	ids := out.DownstreamIDs
	vs := live(fl)
	if len(vs) != 1 || ids[IDVnet] != vs[0].ID || ids[IDCreated] != "true" || ids[IDAccount] != cfapitest.Account || ids[IDName] != "lab" ||
		vs[0].Name != "lab" || vs[0].Comment != marker+" test lab" || vs[0].IsDefault {
		t.Fatalf("ids %v, networks %+v", ids, vs)
	}

	w := fl.Writes()
	fl.MustFlush(t, `{"name":"lab","comment":"test lab"}`)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times", fl.Writes()-w)
	}

	// Renamed and re-commented in place: same id.
	out = fl.MustFlush(t, `{"name":"lab2","comment":"renamed"}`)
	vs = live(fl)
	if len(vs) != 1 || vs[0].ID != ids[IDVnet] || vs[0].Name != "lab2" || vs[0].Comment != marker+" renamed" || out.DownstreamIDs[IDName] != "lab2" {
		t.Fatalf("after update: ids %v, networks %+v", out.DownstreamIDs, vs)
	}
	if n := fl.Emu.Requests()["PATCH /accounts/{account}/teamnet/virtual_networks/{id}"]; n != 1 {
		t.Fatalf("one PATCH expected: %v", fl.Emu.Requests())
	}

	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(live(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, live(fl))
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	fl := newFlow(t)
	handMade(t, fl, "lab", "by hand")
	w := fl.Writes()
	_, err := fl.Flush(t, `{"name":"lab"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `a virtual network named "lab" exists and is not managed by conflux-sync; set adopt`) {
		t.Fatalf("want permanent clash, got %v", err)
	}
	// The name filter is exact: known before writing.
	if fl.Writes() != w || live(fl)[0].Comment != "by hand" {
		t.Fatalf("%d writes, networks %+v", fl.Writes()-w, live(fl))
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	tests := []struct {
		name string
		spec func(id string) string
		plan string
	}{
		{"by name", func(string) string { return `{"name":"lab","comment":"mine now","adopt":true}` }, "adopt virtual network lab (id %s)"},
		{"by id", func(id string) string { return `{"name":"lab","comment":"mine now","id":"` + id + `"}` }, "adopt virtual network lab (id %s, named by spec.id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := newFlow(t)
			hand := handMade(t, fl, "lab", "by hand")
			if plan := fl.MustPlan(t, tt.spec(hand.ID)); len(plan) != 2 || plan[0] != strings.ReplaceAll(tt.plan, "%s", hand.ID) {
				t.Fatalf("plan %q", plan)
			}
			out := fl.MustFlush(t, tt.spec(hand.ID))
			vs := live(fl)
			if len(vs) != 1 || vs[0].ID != hand.ID || vs[0].Comment != marker+" mine now" || out.DownstreamIDs[IDCreated] != "false" || out.DownstreamIDs[IDVnet] != hand.ID {
				t.Fatalf("ids %v, networks %+v", out.DownstreamIDs, vs)
			}
			if cps := fl.Checkpoints(); len(cps) != 1 || cps[0][IDCreated] != "false" {
				t.Fatalf("the adoption must be checkpointed before the marker is stamped: %v", cps)
			}
			fl.MustFlush(t)
			if vs := live(fl); len(vs) != 1 || vs[0].ID != hand.ID {
				t.Fatalf("an adopted network is released, not deleted: %+v", vs)
			}
		})
	}
}

func TestFlushIDMustExist(t *testing.T) {
	fl := newFlow(t)
	_, err := fl.Flush(t, `{"name":"lab","id":"`+uuid1+`"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
}

// A network a previous controller created is owned as if we had: our
// comment is written, and it is deleted with the last fragment.
func TestFlushTakeOver(t *testing.T) {
	fl := newFlow(t)
	prev := handMade(t, fl, "lab", "made by another operator")
	out := fl.MustFlush(t, `{"name":"lab","takeOver":"`+prev.ID+`"}`)
	if vs := live(fl); len(vs) != 1 || vs[0].ID != prev.ID || vs[0].Comment != marker || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v, networks %+v", out.DownstreamIDs, vs)
	}
	fl.MustFlush(t)
	if vs := live(fl); len(vs) != 0 {
		t.Fatalf("a taken-over network is deleted: %+v", vs)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	fl := newFlow(t)
	const spec = `{"name":"lab","comment":"test lab","isDefaultNetwork":true}`
	id := fl.MustFlush(t, spec).DownstreamIDs[IDVnet]
	other := handMade(t, fl, "other", "")
	yes := true
	// Someone renames ours, edits its comment and makes another network
	// the default.
	if _, err := fl.Human.UpdateTunnelVirtualNetwork(cfapitest.Context(t), account, cf.TunnelVirtualNetworkUpdateParams{VnetID: id, Name: "hijacked", Comment: "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fl.Human.UpdateTunnelVirtualNetwork(cfapitest.Context(t), account, cf.TunnelVirtualNetworkUpdateParams{VnetID: other.ID, IsDefaultNetwork: &yes}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update virtual network hijacked (id ` + id + `): name "hijacked" -> "lab", comment "mine" -> "` + marker + ` test lab", is_default_network false -> true`}
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, spec)
	for _, v := range fl.Emu.VirtualNetworks(cfapitest.Account) {
		if v.ID == id && (v.Name != "lab" || v.Comment != marker+" test lab" || !v.IsDefault) || v.ID == other.ID && v.IsDefault {
			t.Fatalf("drift not repaired: %+v", fl.Emu.VirtualNetworks(cfapitest.Account))
		}
	}
}

// isDefaultNetwork false leaves the default flag alone: the API cannot
// take it away, only give it to another network.
func TestFlushNotDefaultLeavesTheFlag(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, `{"name":"lab","isDefaultNetwork":true}`).DownstreamIDs[IDVnet]
	w := fl.Writes()
	fl.MustFlush(t, `{"name":"lab"}`)
	if vs := live(fl); fl.Writes() != w || len(vs) != 1 || vs[0].ID != id || !vs[0].IsDefault {
		t.Fatalf("%d writes, networks %+v", fl.Writes()-w, vs)
	}
}

// The API refuses to delete the default network and one with routes in
// it. Both are retried, not held: they change without a new fragment.
func TestFlushDeleteRefusedIsRetried(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		fl := newFlow(t)
		fl.MustFlush(t, `{"name":"lab","isDefaultNetwork":true}`)
		_, err := fl.Flush(t)
		if err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), "is the account's default") {
			t.Fatalf("got %v", err)
		}
		yes := true
		def := fl.Emu.VirtualNetworks(cfapitest.Account)[0]
		if _, err := fl.Human.UpdateTunnelVirtualNetwork(cfapitest.Context(t), account, cf.TunnelVirtualNetworkUpdateParams{VnetID: def.ID, IsDefaultNetwork: &yes}); err != nil {
			t.Fatal(err)
		}
		fl.MustFlush(t)
		if vs := live(fl); len(vs) != 0 {
			t.Fatalf("not deleted: %+v", vs)
		}
	})
	t.Run("routes in it", func(t *testing.T) {
		fl := newFlow(t)
		id := fl.MustFlush(t, `{"name":"lab"}`).DownstreamIDs[IDVnet]
		tid := fl.HandMadeTunnel(t, "edge")
		if _, err := fl.Human.CreateTunnelRoute(cfapitest.Context(t), account, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: tid, VirtualNetworkID: id}); err != nil {
			t.Fatal(err)
		}
		_, err := fl.Flush(t)
		if err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), "still has 1 route(s)") {
			t.Fatalf("got %v", err)
		}
		if err := fl.Human.DeleteTunnelRoute(cfapitest.Context(t), account, cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8", VirtualNetworkID: id}); err != nil {
			t.Fatal(err)
		}
		fl.MustFlush(t)
		if vs := live(fl); len(vs) != 0 {
			t.Fatalf("not deleted: %+v", vs)
		}
	})
}

// Lost outcome (a crash after the create): the marker finds ours again.
func TestFlushWithoutPrevFindsOurs(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, `{"name":"lab"}`).DownstreamIDs[IDVnet]
	fl.Prev = nil
	w := fl.Writes()
	out := fl.MustFlush(t, `{"name":"lab"}`)
	if out.DownstreamIDs[IDVnet] != id || out.DownstreamIDs[IDCreated] != "true" || fl.Writes() != w {
		t.Fatalf("ids %v, %d writes", out.DownstreamIDs, fl.Writes()-w)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, `{"name":"lab"}`).DownstreamIDs[IDVnet]
	if err := fl.Human.DeleteTunnelVirtualNetwork(cfapitest.Context(t), account, id); err != nil {
		t.Fatal(err)
	}
	out := fl.MustFlush(t, `{"name":"lab"}`)
	if vs := live(fl); len(vs) != 1 || vs[0].ID == id || out.DownstreamIDs[IDVnet] != vs[0].ID {
		t.Fatalf("not recreated: %+v", vs)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	fl := newFlow(t)
	fl.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/teamnet/virtual_networks", Status: 503, Count: 1})
	if _, err := fl.Flush(t, `{"name":"lab"}`); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	fl.MustFlush(t, `{"name":"lab"}`)
	if vs := live(fl); len(vs) != 1 {
		t.Fatalf("networks %+v", vs)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	if plan := fl.MustPlan(t, `{"name":"lab","isDefaultNetwork":true}`); !slices.Equal(plan, []string{"create virtual network lab (the account's default)"}) {
		t.Fatalf("plan %q", plan)
	}
	if vs := live(fl); len(vs) != 0 {
		t.Fatalf("the dry run created %+v", vs)
	}
	id := fl.MustFlush(t, `{"name":"lab"}`).DownstreamIDs[IDVnet]
	want := []string{`update virtual network lab (id ` + id + `): comment "` + marker + `" -> "` + marker + ` new"`}
	if plan := fl.MustPlan(t, `{"name":"lab","comment":"new"}`); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	if plan := fl.MustPlan(t); !slices.Equal(plan, []string{"delete virtual network lab (id " + id + ")"}) {
		t.Fatalf("plan %q", plan)
	}
	if vs := live(fl); len(vs) != 1 || vs[0].Comment != marker {
		t.Fatalf("the dry runs changed %+v", vs)
	}
}

// The network is read back by id (v6 has the single read v0 lacked), not
// found again through the list's filter.
func TestFlushReadsBackByID(t *testing.T) {
	fl := newFlow(t)
	fl.MustFlush(t, `{"name":"lab"}`)
	before := fl.Emu.Requests()
	fl.MustFlush(t, `{"name":"lab"}`)
	after := fl.Emu.Requests()
	const byID, listed = "GET /accounts/{account}/teamnet/virtual_networks/{id}", "GET /accounts/{account}/teamnet/virtual_networks"
	if after[byID]-before[byID] != 1 || after[listed] != before[listed] {
		t.Fatalf("reads by id %d, lists %d", after[byID]-before[byID], after[listed]-before[listed])
	}
}
