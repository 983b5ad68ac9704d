package server_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	cfgo "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/server"
)

// operatorState is what one of the three operators left behind in
// Cloudflare, as its code writes it (docs/kubernetes.md, "Migrating"):
// a tunnel, its configuration, DNS records with the operator's ownership
// conventions, a route, and (StringKe) a virtual network and an Access
// group.
type operatorState struct {
	strrlTunnel, skTunnel, adyTunnel string
	skCNAME, skRecord, adyCNAME      string
	skRoute                          string
	skVnet, skGroup                  string
}

// seedOperators writes, through the Cloudflare API as the operators do,
// what a running STRRL controller, StringKe operator and adyanth operator
// made for the manifests of TestMigrationFromOperators.
func (c *compat) seedOperators() operatorState {
	c.t.Helper()
	ctx := context.Background()
	cf, err := cfgo.NewWithAPIToken(compatToken, cfgo.BaseURL(c.cf.srv.URL+"/client/v4"), cfgo.UsingRetryPolicy(0, 0, 0), cfgo.UsingRateLimit(1000))
	if err != nil {
		c.t.Fatal(err)
	}
	zone := cfgo.ZoneIdentifier(compatZoneID)
	record := func(typ, name, content, comment string, proxied bool, ttl int) string {
		c.t.Helper()
		r, err := cf.CreateDNSRecord(ctx, zone, cfgo.CreateDNSRecordParams{Type: typ, Name: name, Content: content,
			TTL: ttl, Proxied: &proxied, Comment: comment})
		if err != nil {
			c.t.Fatalf("seed %s %s: %v", name, typ, err)
		}
		return r.ID
	}
	config := func(id, body string) {
		c.t.Helper()
		if err := c.emu.SetTunnelConfig(compatAccount, id, []byte(body)); err != nil {
			c.t.Fatal(err)
		}
	}
	var s operatorState

	// STRRL: a remotely managed tunnel, its whole configuration PUT with
	// the paths verbatim, the service by cluster-domain name and the
	// top-level originRequest {}; a CNAME per host with its
	// _ctic_managed TXT.
	s.strrlTunnel = c.emu.AddTunnel(compatAccount, "", "strrl-mig", "cloudflare")
	config(s.strrlTunnel, `{"ingress":[{"hostname":"strrl-mig.example.com","path":"/","service":"http://web.mig-strrl.svc.cluster.local:80"},`+
		`{"service":"http_status:404"}],"originRequest":{}}`)
	strrlComment := "managed by cloudflare-tunnel-ingress-controller, tunnel [strrl-mig]"
	record("CNAME", "strrl-mig.example.com", s.strrlTunnel+".cfargotunnel.com", strrlComment, true, 1)
	record("TXT", "_ctic_managed.strrl-mig.example.com",
		`{"controller":"strrl.dev/cloudflare-tunnel-ingress-controller","tunnel":"strrl-mig"}`, strrlComment, false, 1)

	// StringKe: a tunnel it created (remotely managed) with the rules its
	// aggregator PUT (a Prefix / path is no path, the service by short
	// name); the CNAME its Ingress controller's generated DNSRecord made
	// (no comment), a DNSRecord's A record, a NetworkRoute's route with
	// its [managed:...] marker.
	s.skTunnel = c.emu.AddTunnel(compatAccount, "", "sk-mig", "cloudflare")
	config(s.skTunnel, `{"ingress":[{"hostname":"sk-mig.example.com","service":"http://web.mig-sk.svc:80"},`+
		`{"service":"http_status:404"}],"originRequest":{}}`)
	s.skCNAME = record("CNAME", "sk-mig.example.com", s.skTunnel+".cfargotunnel.com", "", true, 1)
	s.skRecord = record("A", "www-sk-mig.example.com", "203.0.113.80", "", false, 300)
	_, err = cf.CreateTunnelRoute(ctx, cfgo.AccountIdentifier(compatAccount), cfgo.TunnelRoutesCreateParams{
		Network: "10.77.0.0/16", TunnelID: s.skTunnel, Comment: "[managed:NetworkRoute/sk-mig-route] office network"})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, r := range c.emu.Routes(compatAccount) {
		if r.Network == "10.77.0.0/16" {
			s.skRoute = r.ID
		}
	}
	// A VirtualNetwork's network, its comment behind StringKe's marker,
	// and an AccessGroup's group, its rules as StringKe sent them.
	vn, err := cf.CreateTunnelVirtualNetwork(ctx, cfgo.AccountIdentifier(compatAccount), cfgo.TunnelVirtualNetworkCreateParams{
		Name: "sk-mig-network", Comment: "[managed:VirtualNetwork/sk-mig-vnet] lab network"})
	if err != nil {
		c.t.Fatal(err)
	}
	s.skVnet = vn.ID
	g, err := cf.CreateAccessGroup(ctx, cfgo.AccountIdentifier(compatAccount), cfgo.CreateAccessGroupParams{Name: "sk Mig Staff",
		Include: []any{map[string]any{"email_domain": map[string]string{"domain": "example.com"}}},
		Exclude: []any{map[string]any{"email": map[string]string{"email": "intern@example.com"}}}})
	if err != nil {
		c.t.Fatal(err)
	}
	s.skGroup = g.ID

	// adyanth: a locally managed tunnel (cloudflared reads the operator's
	// ConfigMap, so Cloudflare holds no configuration), a CNAME with its
	// _managed TXT registry entry.
	s.adyTunnel = c.emu.AddTunnel(compatAccount, "", "ady-mig", "local")
	adyComment := "Managed by cloudflare-operator"
	s.adyCNAME = record("CNAME", "ady-mig.example.com", s.adyTunnel+".cfargotunnel.com", adyComment, true, 1)
	record("TXT", "_managed.ady-mig.example.com",
		fmt.Sprintf(`{"DnsId":%q,"TunnelName":"ady-mig","TunnelId":%q}`, s.adyCNAME, s.adyTunnel), adyComment, false, 1)
	c.emu.Reset() // count conflux-sync's requests only
	return s
}

// applyOperatorObjects applies the objects the operators' users have, with
// the status and finalizers the operators wrote on them.
func (c *compat) applyOperatorObjects(s operatorState) {
	c.t.Helper()
	cloudflare := `{accountId: ` + compatAccount + `, domain: example.com, secret: cloudflare-api, CLOUDFLARE_API_TOKEN: api-token}`
	secret := func(ns string) string {
		return `
apiVersion: v1
kind: Secret
metadata: {name: cloudflare-api, namespace: ` + ns + `}
stringData: {api-token: ` + compatToken + `}
---`
	}
	service := func(ns string) string {
		return `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ` + ns + `}
spec: {ports: [{name: http, port: 80}]}
---`
	}
	c.applyText(`
apiVersion: v1
kind: Namespace
metadata: {name: mig-strrl}
---
apiVersion: v1
kind: Namespace
metadata: {name: mig-sk}
---
apiVersion: v1
kind: Namespace
metadata: {name: mig-ady}
---
apiVersion: v1
kind: Namespace
metadata: {name: cloudflare-operator-system}
---` + secret("mig-strrl") + secret("cloudflare-operator-system") + service("mig-strrl") + service("mig-sk") + service("mig-ady") + `
# STRRL: the tunnel its flags named, and its IngressClass and Ingress.
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: Tunnel
metadata: {name: strrl, namespace: mig-strrl}
spec:
  existingTunnel: {name: strrl-mig}
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: cloudflare-tunnel}
spec: {controller: strrl.dev/cloudflare-tunnel-ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: mig-strrl
  finalizers: [strrl.dev/cloudflare-tunnel-ingress-controller-controlled]
spec:
  ingressClassName: cloudflare-tunnel
  rules:
  - host: strrl-mig.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
# StringKe: a ClusterTunnel it created, its class, an Ingress, a DNSRecord
# and a NetworkRoute.
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: ClusterTunnel
metadata: {name: sk-mig, finalizers: [cloudflare-operator.io/finalizer]}
spec:
  newTunnel: {name: sk-mig}
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: TunnelIngressClassConfig
metadata: {name: sk-mig, namespace: cloudflare-operator-system}
spec:
  tunnelRef: {kind: ClusterTunnel, name: sk-mig}
  dnsManagement: Automatic
  dnsProxied: true
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: sk-mig}
spec:
  controller: cloudflare-operator.io/ingress-controller
  parameters: {apiGroup: networking.cloudflare-operator.io, kind: TunnelIngressClassConfig, name: sk-mig, namespace: cloudflare-operator-system, scope: Namespace}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: mig-sk
  finalizers: [ingress.cloudflare-operator.io/finalizer]
spec:
  ingressClassName: sk-mig
  rules:
  - host: sk-mig.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: DNSRecord
metadata: {name: www, namespace: mig-sk, finalizers: [dnsrecord.networking.cloudflare-operator.io/finalizer]}
spec:
  name: www-sk-mig.example.com
  type: A
  content: 203.0.113.80
  ttl: 300
  proxied: false
  cloudflare: {accountId: ` + compatAccount + `, domain: example.com, secret: cloudflare-api, CLOUDFLARE_API_TOKEN: api-token}
---
apiVersion: v1
kind: Secret
metadata: {name: cloudflare-api, namespace: mig-sk}
stringData: {api-token: ` + compatToken + `}
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: NetworkRoute
metadata: {name: sk-mig-route, finalizers: [networkroute.networking.cloudflare-operator.io/finalizer]}
spec:
  network: 10.77.0.0/16
  comment: office network
  tunnelRef: {kind: ClusterTunnel, name: sk-mig}
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: VirtualNetwork
metadata: {name: sk-mig-vnet, finalizers: [virtualnetwork.networking.cloudflare-operator.io/finalizer]}
spec:
  name: sk-mig-network
  comment: lab network
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: AccessGroup
metadata: {name: sk-mig-group, finalizers: [accessgroup.networking.cloudflare-operator.io/finalizer]}
spec:
  name: sk Mig Staff
  include: [{emailDomain: {domain: example.com}}]
  exclude: [{email: {email: intern@example.com}}]
  cloudflare: ` + cloudflare + `
---
# adyanth: a ClusterTunnel it created and a TunnelBinding.
apiVersion: networking.cfargotunnel.com/v1alpha2
kind: ClusterTunnel
metadata: {name: ady-mig, finalizers: [cfargotunnel.com/finalizer]}
spec:
  newTunnel: {name: ady-mig}
  cloudflare: ` + cloudflare + `
---
apiVersion: networking.cfargotunnel.com/v1alpha1
kind: TunnelBinding
metadata: {name: web, namespace: mig-ady, finalizers: [cfargotunnel.com/finalizer]}
subjects:
- name: web
  spec: {fqdn: ady-mig.example.com}
tunnelRef: {kind: ClusterTunnel, name: ady-mig}
`)
	// StringKe's Ingress controller made this DNSRecord for the Ingress:
	// its labels and controller reference say so.
	ingUID := strings.TrimSpace(c.kubectl("get", "ingress", "web", "-n", "mig-sk", "-o", "jsonpath={.metadata.uid}"))
	c.applyText(`
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: DNSRecord
metadata:
  name: web-sk-mig-example-com
  namespace: mig-sk
  labels: {cloudflare.com/managed-by: cloudflare-operator-ingress, cloudflare.com/ingress-name: web}
  ownerReferences: [{apiVersion: networking.k8s.io/v1, kind: Ingress, name: web, uid: ` + ingUID + `, controller: true, blockOwnerDeletion: true}]
  finalizers: [dnsrecord.networking.cloudflare-operator.io/finalizer]
spec:
  name: sk-mig.example.com
  type: CNAME
  content: ` + s.skTunnel + `.cfargotunnel.com
  ttl: 1
  proxied: true
  cloudflare: ` + cloudflare + `
`)
	for _, p := range []struct{ kind, ns, name, status string }{
		{"clustertunnels.networking.cloudflare-operator.io", "", "sk-mig",
			`{"tunnelId":"` + s.skTunnel + `","tunnelName":"sk-mig","accountId":"` + compatAccount + `","zoneId":"` + compatZoneID + `","state":"active"}`},
		{"dnsrecords.networking.cloudflare-operator.io", "mig-sk", "web-sk-mig-example-com",
			`{"recordId":"` + s.skCNAME + `","zoneId":"` + compatZoneID + `","state":"Active"}`},
		{"dnsrecords.networking.cloudflare-operator.io", "mig-sk", "www",
			`{"recordId":"` + s.skRecord + `","zoneId":"` + compatZoneID + `","state":"Active"}`},
		{"virtualnetworks.networking.cloudflare-operator.io", "", "sk-mig-vnet",
			`{"virtualNetworkId":"` + s.skVnet + `","accountId":"` + compatAccount + `","state":"active"}`},
		{"accessgroups.networking.cloudflare-operator.io", "", "sk-mig-group",
			`{"groupId":"` + s.skGroup + `","accountId":"` + compatAccount + `","state":"Ready"}`},
		{"clustertunnels.networking.cfargotunnel.com", "", "ady-mig",
			`{"tunnelId":"` + s.adyTunnel + `","tunnelName":"ady-mig","accountId":"` + compatAccount + `","zoneId":"` + compatZoneID + `"}`},
	} {
		args := []string{"patch", p.kind, p.name, "--subresource=status", "--type=merge", "-p", `{"status":` + p.status + `}`}
		if p.ns != "" {
			args = append(args, "-n", p.ns)
		}
		c.kubectl(args...)
	}
}

// TestMigrationFromOperators moves what each of the three operators runs
// under conflux-sync with no downstream change: the operators' objects
// (their CRDs installed, their status and finalizers on them) and what
// they made in Cloudflare. A dry run plans every target, writing nothing
// to Cloudflare or Kubernetes; the plans say take over or in sync. The
// first real sync then writes nothing, except the configuration of the
// adyanth tunnel, which its operator kept in a ConfigMap for cloudflared
// and Cloudflare never had, and the comment of StringKe's virtual network,
// where conflux-sync's ownership marker replaces StringKe's.
func TestMigrationFromOperators(t *testing.T) {
	c := newCompat(t, kubetest.UpstreamCRDs)
	s := c.seedOperators()
	c.applyOperatorObjects(s)
	strrl := &translate.ObjectRef{Group: translate.GroupCloudflareOperator, Kind: "Tunnel", Namespace: "mig-strrl", Name: "strrl"}
	before := c.resourceVersions()

	c.startCluster(strrl, func(cfg *server.Config) { cfg.DryRun = true })
	wantPlans := map[string][]string{
		"cloudflare.Tunnel Tunnel/mig-strrl/strrl":                            {"adopt tunnel strrl-mig (id " + s.strrlTunnel + ")"},
		"cloudflare.TunnelConfiguration Tunnel/mig-strrl/strrl":               {api.PlanInSync},
		"cloudflare.Tunnel ClusterTunnel/sk-mig":                              {"take over tunnel sk-mig (id " + s.skTunnel + ": spec.takeOver names it)"},
		"cloudflare.TunnelConfiguration ClusterTunnel/sk-mig":                 {api.PlanInSync},
		"cloudflare.Tunnel ClusterTunnel.networking.cfargotunnel.com/ady-mig": {"take over tunnel ady-mig (id " + s.adyTunnel + ": spec.takeOver names it)"},
		"cloudflare.TunnelConfiguration ClusterTunnel.networking.cfargotunnel.com/ady-mig": {
			"update tunnel configuration: no remote configuration"},
		"cloudflare.DNSRecord example.com": {
			"take over DNS record ady-mig.example.com CNAME " + s.adyTunnel + ".cfargotunnel.com (TXT _managed.ady-mig.example.com names this tunnel)",
			"take over DNS record sk-mig.example.com CNAME " + s.skTunnel + ".cfargotunnel.com (takeOver.recordIds names its id)",
			"take over DNS record strrl-mig.example.com CNAME " + s.strrlTunnel + ".cfargotunnel.com (TXT _ctic_managed.strrl-mig.example.com names tunnel strrl-mig)",
			"take over DNS record www-sk-mig.example.com A 203.0.113.80 (takeOver.recordIds names its id)",
		},
		"cloudflare.NetworkRoute NetworkRoute/sk-mig-route": {"take over network route 10.77.0.0/16 (id " + s.skRoute + ": its comment carries [managed:NetworkRoute/sk-mig-route])"},
		// The network's comment takes conflux-sync's marker in place of
		// StringKe's (the proof of ownership if its status is lost).
		"cloudflare.VirtualNetwork VirtualNetwork/sk-mig-vnet": {
			"take over virtual network sk-mig-network (id " + s.skVnet + ": spec.takeOver names it)",
			"update virtual network sk-mig-network (id " + s.skVnet + `): comment "[managed:VirtualNetwork/sk-mig-vnet] lab network" -> "conflux-sync:<cluster> lab network"`},
		"cloudflare.AccessGroup AccessGroup/sk-mig-group": {"take over Access group sk Mig Staff (id " + s.skGroup + ": spec.takeOver names it)"},
	}
	cl := c.cluster.client(c.cluster.leader(), writeToken)
	ctx := context.Background()
	var got map[string][]string
	// A target's plan is replaced when what it depends on is planned (a
	// record waits for its tunnel's plan): wait for the final ones.
	waitUntil(2*time.Minute, func() bool {
		got = map[string][]string{}
		for tg, lines := range plans(ctx, cl) {
			for i, l := range lines {
				lines[i] = clusterMarker.ReplaceAllString(l, "conflux-sync:<cluster>")
			}
			got[tg.String()] = lines
		}
		return maps.EqualFunc(got, wantPlans, slices.Equal)
	})
	for tg, want := range wantPlans {
		if !slices.Equal(got[tg], want) {
			t.Errorf("plan of %s:\n%s\nwant:\n%s", tg, strings.Join(got[tg], "\n"), strings.Join(want, "\n"))
		}
	}
	if len(got) != len(wantPlans) {
		t.Errorf("plans:\n%s", planText(got))
	}
	if n := c.cf.writes(); n != 0 {
		t.Fatalf("the dry run wrote to Cloudflare %d times: %v", n, c.emu.Requests())
	}
	if after := c.resourceVersions(); !maps.Equal(before, after) {
		t.Fatalf("the dry run wrote to Kubernetes:\nbefore %v\nafter  %v", before, after)
	}
	if t.Failed() {
		return
	}

	// The operators are stopped; conflux-sync runs for real.
	c.cluster.stopAll()
	for i := range c.cluster.nodes {
		c.cluster.cfgs[i].DryRun = false
		c.cluster.start(i)
	}
	out := c.converged(3 * time.Minute)
	for _, want := range []string{
		"Ingress.networking.k8s.io mig-strrl/web: Ready=True",
		"Ingress.networking.k8s.io mig-sk/web: Ready=True",
		"TunnelBinding.networking.cfargotunnel.com mig-ady/web: Ready=True",
		"DNSRecord.networking.cloudflare-operator.io mig-sk/www: Ready=True",
		"NetworkRoute.networking.cloudflare-operator.io sk-mig-route: Ready=True",
		"VirtualNetwork.networking.cloudflare-operator.io sk-mig-vnet: Ready=True",
		"AccessGroup.networking.cloudflare-operator.io sk-mig-group: Ready=True",
		"ClusterTunnel.networking.cloudflare-operator.io sk-mig: Ready=True",
		"ClusterTunnel.networking.cfargotunnel.com ady-mig: Ready=True",
		"Tunnel.networking.cloudflare-operator.io mig-strrl/strrl: Ready=True",
	} {
		if !strings.Contains(out, "\n"+want) && !strings.HasPrefix(out, want) {
			t.Errorf("no %q in the outcome:\n%s", want, out)
		}
	}
	writes := map[string]int{}
	for k, v := range c.emu.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			writes[k] = v
		}
	}
	if want := map[string]int{"PUT /accounts/{account}/cfd_tunnel/{id}/configurations": 1, "PATCH /accounts/{account}/teamnet/virtual_networks/{id}": 1}; !maps.Equal(writes, want) {
		t.Errorf("the first sync after the takeover wrote %v, want only the adyanth tunnel's configuration and the virtual network's comment %v", writes, want)
	}
	if puts := c.cf.configPuts(); len(puts) != 1 || !strings.Contains(string(puts[0]), `"ady-mig.example.com"`) {
		t.Errorf("configuration PUTs: %s", puts)
	}
}

// resourceVersions returns the resourceVersion of every object the
// migration test applied, by kind and name.
func (c *compat) resourceVersions() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, gk := range compatKinds {
		for _, u := range c.list(gk) {
			out[gk.Kind+"."+gk.Group+" "+u.GetNamespace()+"/"+u.GetName()] = u.GetResourceVersion()
		}
	}
	return out
}

func planText(plans map[string][]string) string {
	var b strings.Builder
	for _, tg := range slices.Sorted(maps.Keys(plans)) {
		fmt.Fprintf(&b, "%s\n", tg)
		for _, l := range plans[tg] {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}
