package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareVirtualNetworkAndRoute writes, through the admin API of a
// three-node cluster, a network route naming a virtual network target
// before that target exists: the route waits, then follows the network
// the VirtualNetwork target creates. Both go again with their fragments,
// the network after the route that was in it.
func TestCloudflareVirtualNetworkAndRoute(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()
	putTunnel(t, cl)

	src := api.SourceRef{Kind: "API", Name: "vnet-demo"}
	routeTarget := api.TargetRef{Kind: cfapi.KindNetworkRoute, Name: "lab-lan"}
	vnetTarget := api.TargetRef{Kind: cfapi.KindVirtualNetwork, Name: "lab"}
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: routeTarget, Source: src, Generation: 1,
		Spec: json.RawMessage(`{"network":"10.30.0.0/16","tunnel":"ClusterTunnel/edge","virtualNetwork":"lab"}`)}); err != nil {
		t.Fatal(err)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, routeTarget)
		return err == nil && tg.Status != nil && tg.Status.DependsOn != nil && *tg.Status.DependsOn == vnetTarget
	}) {
		t.Fatalf("the route does not wait for the virtual network: %+v", tg.Status)
	}
	if n := liveRoutes(cf); n != 0 {
		t.Fatalf("%d routes before their virtual network exists", n)
	}

	start := time.Now()
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: vnetTarget, Source: src, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"lab-network","comment":"lab"}`, cfAccount))}); err != nil {
		t.Fatal(err)
	}
	var lab emu.VirtualNetworkInfo
	if !waitUntil(30*time.Second, func() bool {
		for _, v := range cf.emu.VirtualNetworks(cfAccount) {
			if v.Name == "lab-network" && !v.Deleted {
				lab = v
			}
		}
		for _, r := range cf.emu.Routes(cfAccount) {
			if lab.ID != "" && !r.Deleted && r.Network == "10.30.0.0/16" && r.VirtualNetworkID == lab.ID && r.TunnelID == cf.tunnelID("edge") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("virtual networks %+v, routes %+v", cf.emu.VirtualNetworks(cfAccount), cf.emu.Routes(cfAccount))
	}
	// The route follows the network's recorded outcome at once (no backoff,
	// no drift pass): measured here about 0.52 s, of which 0.5 s is the
	// network target's own debounce.
	t.Logf("the route is in the new network %v after its fragment was written", time.Since(start))
	if tg, err := cl.GetTarget(ctx, vnetTarget); err != nil || tg.Status == nil || tg.Status.DownstreamIDs[cfapi.IDVirtualNetwork] != lab.ID {
		t.Fatalf("virtual network target status %+v, %v", tg.Status, err)
	}

	if _, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src}); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool {
		for _, v := range cf.emu.VirtualNetworks(cfAccount) {
			if v.ID == lab.ID && !v.Deleted {
				return false
			}
		}
		return liveRoutes(cf) == 0
	}) {
		t.Fatalf("after removing the fragments: virtual networks %+v, routes %+v", cf.emu.VirtualNetworks(cfAccount), cf.emu.Routes(cfAccount))
	}
}
