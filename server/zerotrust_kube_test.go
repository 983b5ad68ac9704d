package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/server"
)

// StringKe's AccessGroup and VirtualNetwork over time, with its own CRDs:
// a group whose identity provider has no id yet waits, and follows as soon
// as conflux-sync records the provider it made in the
// AccessIdentityProvider's status (a change to that object re-translates
// the groups naming it); a NetworkRoute naming a
// VirtualNetwork applied later waits for it; deleting a VirtualNetwork
// deletes the network conflux-sync made and lets the object go (the
// operator's finalizer removed).
func TestKubeZeroTrustFollowsReferencesAndDeletes(t *testing.T) {
	c := newCompat(t, kubetest.UpstreamCRDs)
	// No periodic recomputation during the test: what follows a change
	// follows it because the change was watched.
	c.startCluster(nil, func(cfg *server.Config) { cfg.Kube.StatusInterval = 10 * time.Minute })
	cloudflare := `{accountId: ` + compatAccount + `, secret: cloudflare-api, CLOUDFLARE_API_TOKEN: api-token}`
	c.applyText(`
apiVersion: v1
kind: Namespace
metadata: {name: cloudflare-operator-system}
---
apiVersion: v1
kind: Secret
metadata: {name: cloudflare-api, namespace: cloudflare-operator-system}
stringData: {api-token: ` + compatToken + `}
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: AccessIdentityProvider
metadata: {name: okta}
spec:
  name: Okta
  type: onetimepin
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: AccessGroup
metadata: {name: eng}
spec:
  name: Engineering
  include: [{okta: {name: Engineering, idpRef: {name: okta}}}]
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: VirtualNetwork
metadata: {name: lab, finalizers: [virtualnetwork.networking.cloudflare-operator.io/finalizer]}
spec:
  name: lab-network
  cloudflare: ` + cloudflare + `
`)
	group := schema.GroupKind{Group: translate.GroupCloudflareOperator, Kind: "AccessGroup"}
	vnet := schema.GroupKind{Group: translate.GroupCloudflareOperator, Kind: "VirtualNetwork"}
	// The group waits for the provider's id, which conflux-sync records
	// in the provider's status once it has made it; that status change
	// re-translates the group.
	c.waitVerdict(group, "eng", "Ready=True")
	c.waitVerdict(vnet, "lab", "Ready=True")
	idps := c.emu.IdentityProviders(compatAccount)
	groups := c.emu.AccessGroups(compatAccount)
	if len(idps) != 1 || len(groups) != 1 {
		t.Fatalf("identity providers %+v, groups %+v", idps, groups)
	}
	rules, _ := json.Marshal(groups[0].Include)
	if want := `[{"okta":{"identity_provider_id":"` + idps[0].ID + `","name":"Engineering"}}]`; string(rules) != want {
		t.Errorf("include = %s, want %s", rules, want)
	}

	// A route naming a VirtualNetwork that is not there yet waits for its
	// target, and lands in the network once it is made.
	c.emu.AddTunnel(compatAccount, "", "lab-tunnel", "cloudflare")
	c.applyText(`
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: ClusterTunnel
metadata: {name: lab}
spec:
  existingTunnel: {name: lab-tunnel}
  cloudflare: {accountId: ` + compatAccount + `, domain: example.com, secret: cloudflare-api, CLOUDFLARE_API_TOKEN: api-token}
`)
	c.waitVerdict(schema.GroupKind{Group: translate.GroupCloudflareOperator, Kind: "ClusterTunnel"}, "lab", "Ready=True")
	c.applyText(`
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: NetworkRoute
metadata: {name: late-route}
spec:
  network: 10.200.0.0/16
  tunnelRef: {kind: ClusterTunnel, name: lab}
  virtualNetworkRef: {name: late}
  cloudflare: ` + cloudflare + `
`)
	route := schema.GroupKind{Group: translate.GroupCloudflareOperator, Kind: "NetworkRoute"}
	c.waitVerdict(route, "late-route", "Ready=False DependencyNotReady: cloudflare.NetworkRoute NetworkRoute/late-route waits for virtual network VirtualNetwork/late")
	c.applyText(`
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: VirtualNetwork
metadata: {name: late}
spec:
  name: late-network
  cloudflare: ` + cloudflare + `
`)
	c.waitVerdict(route, "late-route", "Ready=True")
	late := c.liveVnets("late-network")
	var in []string
	for _, r := range c.emu.Routes(compatAccount) {
		if r.Network == "10.200.0.0/16" && !r.Deleted {
			in = append(in, r.VirtualNetworkID)
		}
	}
	if len(late) != 1 || len(in) != 1 || in[0] != late[0] {
		t.Errorf("route 10.200.0.0/16 in networks %v, want the one late-network %v", in, late)
	}

	if n := len(c.liveVnets("lab-network")); n != 1 {
		t.Fatalf("%d networks lab-network", n)
	}
	c.kubectl("delete", "virtualnetworks.networking.cloudflare-operator.io", "lab", "--wait=false")
	gone := func() bool {
		for _, u := range c.list(vnet) {
			if u.GetName() == "lab" {
				return false
			}
		}
		return true
	}
	if !waitUntil(time.Minute, func() bool { return gone() && len(c.liveVnets("lab-network")) == 0 }) {
		t.Fatalf("after the delete: object gone %v, networks %v", gone(), c.liveVnets("lab-network"))
	}
}

// waitVerdict waits until the object's outcome line has want after its
// name.
func (c *compat) waitVerdict(gk schema.GroupKind, name, want string) {
	c.t.Helper()
	var line string
	ok := waitUntil(time.Minute, func() bool {
		for _, u := range c.list(gk) {
			if u.GetName() == name {
				line, _ = verdictLine(gk, &u)
			}
		}
		return strings.Contains(line, ": "+want)
	})
	if !ok {
		c.t.Fatalf("%s %s: %s, want %s", gk.Kind, name, line, want)
	}
}

// liveVnets returns the ids of the account's networks called name that
// are not deleted.
func (c *compat) liveVnets(name string) []string {
	var out []string
	for _, v := range c.emu.VirtualNetworks(compatAccount) {
		if v.Name == name && !v.Deleted {
			out = append(out, v.ID)
		}
	}
	return out
}
