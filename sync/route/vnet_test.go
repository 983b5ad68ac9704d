package route

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var labTarget = api.TargetRef{Kind: cfapi.KindVirtualNetwork, Name: "lab"}

// labFragment stores a fragment for the cloudflare.VirtualNetwork target
// lab, as the admin API would: the target exists in this cluster.
func (e *env) labFragment(t *testing.T) {
	t.Helper()
	if err := e.Store.Update(func(tx *store.Tx) error {
		_, err := tx.PutFragment(api.Fragment{Target: labTarget, Source: api.SourceRef{Kind: "API", Name: "lab"}, Generation: 1,
			Spec: json.RawMessage(`{"name":"lab-network"}`)}, 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// wantsVnet asserts err waits, without a failure, for the lab target.
func wantsVnet(t *testing.T, err error, why string) {
	t.Helper()
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || dep.Blocked || dep.On != labTarget || engine.IsPermanent(err) ||
		!errors.Is(err, cfapi.ErrVirtualNetworkNotReady) || !strings.Contains(err.Error(), why) {
		t.Fatalf("got %v; want a wait for %s (%s)", err, labTarget, why)
	}
}

const labRoute = `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"lab"}`

// A route naming a VirtualNetwork target waits for it while its network
// is not made, and goes into the network the target records.
func TestFlushVirtualNetworkTarget(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	e.labFragment(t)
	_, err := e.Flush(t, labRoute)
	wantsVnet(t, err, "virtual network lab (not created yet)")
	if live := e.live(); len(live) != 0 {
		t.Fatalf("a route before its network: %+v", live)
	}

	// The VirtualNetwork target's flush records its network.
	id := e.Emu.AddVirtualNetwork(cfapitest.Account, "", "lab-network")
	e.RecordStatus(t, labTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDVirtualNetwork: id, cfapi.IDCreated: "true"})
	out := e.MustFlush(t, labRoute)
	live := e.live()
	if len(live) != 1 || live[0].VirtualNetworkID != id || out.DownstreamIDs[IDVnet] != id || out.DownstreamIDs[IDRoute] != live[0].ID {
		t.Fatalf("ids %v, routes %+v", out.DownstreamIDs, live)
	}
	w := e.Writes()
	e.MustFlush(t, labRoute)
	if e.Writes() != w {
		t.Fatal("a repeat wrote")
	}

	// Recorded in another account, the network cannot hold the route.
	e.RecordStatus(t, labTarget, map[string]string{cfapi.IDAccount: "other", cfapi.IDVirtualNetwork: id})
	if _, err := e.Flush(t, labRoute); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "is in account other") {
		t.Fatalf("got %v", err)
	}
}

// Without such a target, the name is a network of the account.
func TestFlushVirtualNetworkOfTheAccount(t *testing.T) {
	e := newEnv(t)
	e.tunnel(t, "edge")
	_, err := e.Flush(t, labRoute)
	wantsVnet(t, err, "no such target in this cluster, nor a network by that name in account "+cfapitest.Account)

	id := e.Emu.AddVirtualNetwork(cfapitest.Account, "", "lab")
	out := e.MustFlush(t, labRoute)
	if live := e.live(); len(live) != 1 || live[0].VirtualNetworkID != id || out.DownstreamIDs[IDVnet] != id {
		t.Fatalf("ids %v, routes %+v", out.DownstreamIDs, live)
	}
	// The default network by its name.
	def := ""
	for _, v := range e.Emu.VirtualNetworks(cfapitest.Account) {
		if v.IsDefault {
			def = v.ID
		}
	}
	out = e.MustFlush(t, strings.Replace(labRoute, `"lab"`, `"default"`, 1))
	if live := e.live(); len(live) != 1 || live[0].VirtualNetworkID != def || out.DownstreamIDs[IDVnet] != def {
		t.Fatalf("ids %v, routes %+v", out.DownstreamIDs, live)
	}
}

func TestDryRunWaitsForVirtualNetwork(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel(t, "edge")
	e.labFragment(t)
	e.RecordPlan(t, labTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDCreated: "true"})
	if plan := e.MustPlan(t, labRoute); !slices.Equal(plan, []string{"waits for virtual network lab (to be created): network route 10.0.0.0/8 goes in it"}) {
		t.Fatalf("plan %q", plan)
	}
	// A plan that adopts an existing network: the route's plan goes on.
	id := e.Emu.AddVirtualNetwork(cfapitest.Account, "", "lab-network")
	e.RecordPlan(t, labTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDVirtualNetwork: id, cfapi.IDCreated: "false"})
	want := []string{"create network route 10.0.0.0/8 in virtual network " + id + " through tunnel " + tid}
	if plan := e.MustPlan(t, labRoute); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
}

func TestValidateVirtualNetwork(t *testing.T) {
	src := api.SourceRef{Kind: "NetworkRoute", Name: "r"}
	tests := []struct {
		name, spec, field, reason string
	}{
		{"by name", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"staging vpc"}`, "", ""},
		{"name and id", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"lab","virtualNetworkId":"` + uuid1 + `"}`, "spec.virtualNetworkId", "not both"},
		{"spaces", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"lab "}`, "spec.virtualNetwork", "surrounding spaces"},
		{"control character", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"l\nab"}`, "spec.virtualNetwork", "control characters"},
		{"too long", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetwork":"` + strings.Repeat("v", 256) + `"}`, "spec.virtualNetwork", "at most 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}
