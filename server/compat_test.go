package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// updateGolden rewrites the compat suite's golden files instead of
// comparing with them: go test ./server -run TestCompat -update-golden.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/compat/golden-*.txt")

// The values the fixtures in testdata/compat use (see its README).
const (
	compatAccount = "0123456789abcdef0123456789abcdef"
	compatZoneID  = "fedcba9876543210fedcba9876543210"
	compatToken   = "fixture-cloudflare-api-token-0123456789"
)

// compatTunnels are the tunnels the fixtures adopt, which exist before
// conflux-sync starts.
var compatTunnels = map[string]string{
	"ady-existing-edge":    "eba744c4-e781-4d82-b42f-8f6eb903031d",
	"ady-existing-cluster": "4b6dfb35-c47d-4eea-89e1-ce646c904cda",
	"ady-existing-by-name": "",
	"sk-existing-tunnel":   "1760cdde-d5e4-4060-ad82-1943b9bc748e",
	"strrl-tunnel":         "2f608691-05a0-4d6c-9bb0-a697af612b11",
}

// TestCompatUpstreamManifests applies, unchanged and with kubectl, the
// manifests of the three projects' users (testdata/compat: every kind and
// version their samples use) to a real API server — once with the
// operators' own CRDs installed, once with conflux-sync's — and lets a
// three-node cluster take them over. What it makes of every object (its
// status in the operator's shape, its conditions and Events) and what it
// writes to the Cloudflare emulator is compared with a golden file, which
// says, for each object, Ready or the precise reason it is not.
func TestCompatUpstreamManifests(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl is needed (the fixtures are applied as users apply them): %v", err)
	}
	for _, tc := range []struct {
		name string
		crds kubetest.CRDs
	}{
		{"upstream-crds", kubetest.UpstreamCRDs},
		{"own-crds", kubetest.OwnCRDs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCompat(t, tc.crds)
			for _, project := range []string{"adyanth", "stringke", "strrl"} {
				c.applyDir(filepath.Join("testdata", "compat", project))
			}
			c.patchStatuses()
			got := c.converged(4 * time.Minute)
			golden := filepath.Join("testdata", "compat", "golden-"+tc.name+".txt")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-golden to write it)", err)
			}
			if got != string(want) {
				t.Errorf("the outcome differs from %s (-want +got):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// compat is one compat run: an API server, the emulator, a cluster.
type compat struct {
	t          testing.TB
	ctx        context.Context
	env        *kubetest.Env
	kubeconfig string
	k8s        client.Client
	emu        *emu.Server
	cf         *cloudflare
	cluster    *testCluster
	// versions caches storageVersions.
	versions map[schema.GroupKind]string
}

func startCompat(t *testing.T, crds kubetest.CRDs) *compat {
	t.Helper()
	c := newCompat(t, crds)
	for name, id := range compatTunnels {
		c.emu.AddTunnel(compatAccount, id, name, "cloudflare")
	}
	// STRRL's controller is configured with a tunnel name, not a manifest:
	// the one object a STRRL user adds is a Tunnel naming it (docs/kubernetes.md).
	c.applyText(`
apiVersion: v1
kind: Namespace
metadata: {name: cloudflare-tunnel-ingress-controller}
---
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: Tunnel
metadata: {name: strrl, namespace: cloudflare-tunnel-ingress-controller}
spec:
  existingTunnel: {name: strrl-tunnel}
  cloudflare:
    accountId: ` + compatAccount + `
    domain: example.com
    secret: cloudflare-api
    CLOUDFLARE_API_TOKEN: api-token
`)
	c.startCluster(&translate.ObjectRef{Group: translate.GroupCloudflareOperator, Kind: "Tunnel",
		Namespace: "cloudflare-tunnel-ingress-controller", Name: "strrl"}, nil)
	return c
}

// newCompat starts an API server with crds and the Cloudflare emulator with
// the fixtures' account, token and zone; no cluster yet.
func newCompat(t *testing.T, crds kubetest.CRDs) *compat {
	t.Helper()
	env := kubetest.StartForTestWith(t, crds)
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	k8s, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	c := &compat{t: t, ctx: context.Background(), env: env, kubeconfig: kubeconfig, k8s: k8s}
	c.cf = newCloudflare(t, nil)
	c.emu = c.cf.emu
	c.emu.AddToken(compatToken, emu.TokenScope{Accounts: []string{compatAccount}})
	c.emu.AddZoneWithID(compatAccount, compatZoneID, "example.com")
	return c
}

// startCluster starts three nodes watching the API server as the
// operators' replacement: Secrets of cluster-scoped objects in
// cloudflare-operator-system, no static Cloudflare credentials (every
// object names its Secret), STRRL's Ingresses on defaultTunnel.
func (c *compat) startCluster(defaultTunnel *translate.ObjectRef, tune func(*server.Config)) {
	c.t.Helper()
	c.cluster = newTestClusterWith(c.t, 3, withCloudflare(c.cf, func(cfg *server.Config) {
		cfg.Cloudflare.Credentials = nil
		cfg.Sync.Debounce = 50 * time.Millisecond
		cfg.Kube = server.KubeConfig{
			REST: c.env.Config, Namespace: "cloudflare-operator-system", StatusInterval: 5 * time.Second,
			DefaultTunnel: defaultTunnel,
			// One worker registers objects queued together in the order
			// the ingest lists them (oldest, then by name), so which of
			// two conflicting samples wins does not depend on timing.
			Workers: 1,
		}
		if tune != nil {
			tune(cfg)
		}
	}))
}

// applyDir applies a fixture folder's files in name order with kubectl.
func (c *compat) applyDir(dir string) {
	c.t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		c.t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		c.kubectl("apply", "-f", f)
	}
}

func (c *compat) applyText(manifest string) {
	c.t.Helper()
	path := filepath.Join(c.t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.kubectl("apply", "-f", path)
}

// kubectl runs kubectl against the API server; warnings (deprecated
// versions) are allowed, errors are not.
func (c *compat) kubectl(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// patchStatuses sets what kubectl apply cannot: load balancer addresses
// and a Node's addresses, which DNSRecords take their content from.
func (c *compat) patchStatuses() {
	c.t.Helper()
	c.kubectl("patch", "service", "lb-web", "-n", "stringke-demo", "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}`)
	c.kubectl("patch", "service", "lb-edge", "-n", "stringke-demo", "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"hostname":"lb-edge-1234.elb.example.net"}]}}}`)
	c.kubectl("patch", "node", "sk-worker-node-1", "--subresource=status", "--type=merge",
		"-p", `{"status":{"addresses":[{"type":"ExternalIP","address":"203.0.113.21"},{"type":"InternalIP","address":"10.0.0.21"}]}}`)
}

// converged waits until the outcome stops changing (and no object is still
// progressing), and returns it.
func (c *compat) converged(timeout time.Duration) string {
	c.t.Helper()
	var last string
	stable := 0
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		now, progressing := c.outcome()
		if now == last && !progressing {
			stable++
		} else {
			stable = 0
		}
		last = now
		if stable >= 3 {
			return last
		}
		time.Sleep(2 * time.Second)
	}
	c.t.Fatalf("the takeover did not settle in %v; last outcome:\n%s", timeout, last)
	return ""
}

// compatKinds are the kinds the outcome lists: every kind the fixtures
// use that conflux-sync answers.
var compatKinds = []schema.GroupKind{
	{Group: translate.GroupCfargotunnel, Kind: "Tunnel"},
	{Group: translate.GroupCfargotunnel, Kind: "ClusterTunnel"},
	{Group: translate.GroupCfargotunnel, Kind: "TunnelBinding"},
	{Group: translate.GroupCfargotunnel, Kind: "AccessTunnel"},
	{Group: translate.GroupCloudflareOperator, Kind: "Tunnel"},
	{Group: translate.GroupCloudflareOperator, Kind: "ClusterTunnel"},
	{Group: translate.GroupCloudflareOperator, Kind: "TunnelBinding"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessTunnel"},
	{Group: translate.GroupCloudflareOperator, Kind: "CloudflareCredentials"},
	{Group: translate.GroupCloudflareOperator, Kind: "CloudflareDomain"},
	{Group: translate.GroupCloudflareOperator, Kind: "DNSRecord"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessApplication"},
	{Group: translate.GroupCloudflareOperator, Kind: "NetworkRoute"},
	{Group: translate.GroupCloudflareOperator, Kind: "VirtualNetwork"},
	{Group: translate.GroupCloudflareOperator, Kind: "PrivateService"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessGroup"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessPolicy"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessServiceToken"},
	{Group: translate.GroupCloudflareOperator, Kind: "AccessIdentityProvider"},
	{Group: translate.GroupCloudflareOperator, Kind: "GatewayRule"},
	{Group: translate.GroupCloudflareOperator, Kind: "GatewayList"},
	{Group: translate.GroupCloudflareOperator, Kind: "TunnelIngressClassConfig"},
	{Group: translate.GroupCloudflareOperator, Kind: "TunnelGatewayClassConfig"},
	{Group: "networking.k8s.io", Kind: "Ingress"},
	{Group: "gateway.networking.k8s.io", Kind: "GatewayClass"},
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"},
	{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"},
	{Group: "gateway.networking.k8s.io", Kind: "TCPRoute"},
	{Group: "gateway.networking.k8s.io", Kind: "UDPRoute"},
}

// outcome renders, normalised (generated ids replaced by names), every
// listed object's verdict and operator-shaped status, and the Cloudflare
// account's tunnels, configurations, DNS records, Access applications and
// routes. progressing is true while any object still waits for a sync.
func (c *compat) outcome() (string, bool) {
	var b strings.Builder
	progressing := false
	norm := c.normaliser()
	for _, gk := range compatKinds {
		items := c.list(gk)
		for _, u := range items {
			line, busy := verdictLine(gk, &u)
			progressing = progressing || busy
			fmt.Fprintf(&b, "%s\n", norm(line))
		}
	}
	b.WriteString("\n# Cloudflare\n")
	tunnels := c.emu.Tunnels(compatAccount)
	sort.Slice(tunnels, func(i, j int) bool { return tunnels[i].Name < tunnels[j].Name })
	for _, tn := range tunnels {
		if tn.Deleted {
			continue
		}
		_, cfg, _ := c.emu.TunnelConfig(compatAccount, tn.ID)
		fmt.Fprintf(&b, "tunnel %s\n", tn.Name)
		if len(cfg) > 0 && string(cfg) != "null" {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, cfg, "    ", "  ")
			fmt.Fprintf(&b, "  configuration %s\n", norm(pretty.String()))
		}
	}
	var recs []string
	for _, z := range c.emu.Zones(compatAccount) {
		for _, r := range c.emu.DNSRecords(z.ID) {
			recs = append(recs, norm(fmt.Sprintf("dns %s %s %s proxied=%v ttl=%d comment=%q", r.Name, r.Type, r.Content, r.Proxied, r.TTL, r.Comment)))
		}
	}
	sort.Strings(recs)
	for _, r := range recs {
		fmt.Fprintln(&b, r)
	}
	var rest []string
	for _, a := range c.emu.AccessApps(compatAccount) {
		rest = append(rest, norm(fmt.Sprintf("access app %q %s", a.Name, a.Domain)))
	}
	for _, p := range c.emu.AccessPolicies(compatAccount) {
		rest = append(rest, fmt.Sprintf("access policy %q decision=%v session=%v", p.Name, p.Fields["decision"], p.Fields["session_duration"]))
	}
	for _, r := range c.emu.Routes(compatAccount) {
		if !r.Deleted {
			rest = append(rest, norm(fmt.Sprintf("route %s via %s vnet=%s comment=%q", r.Network, r.TunnelID, r.VirtualNetworkID, r.Comment)))
		}
	}
	for _, l := range c.emu.GatewayLists(compatAccount) {
		var items []string
		for _, it := range l.Items {
			items = append(items, it.Value)
		}
		rest = append(rest, norm(fmt.Sprintf("gateway list %q %s description=%q items=%v", l.Name, l.Type, l.Description, items)))
	}
	for _, r := range c.emu.GatewayRules(compatAccount) {
		rest = append(rest, norm(fmt.Sprintf("gateway rule %q %v %s precedence=%d enabled=%v traffic=%q identity=%q settings=%s description=%q",
			r.Name, r.Filters, r.Action, r.Precedence, r.Enabled, r.Traffic, r.Identity, r.RuleSettings, r.Description)))
	}
	for _, v := range c.emu.VirtualNetworks(compatAccount) {
		if !v.Deleted {
			rest = append(rest, norm(fmt.Sprintf("vnet %q default=%v comment=%q", v.Name, v.IsDefault, v.Comment)))
		}
	}
	for _, g := range c.emu.AccessGroups(compatAccount) {
		rules, _ := json.Marshal(map[string][]any{"include": g.Include, "exclude": g.Exclude, "require": g.Require})
		rest = append(rest, norm(fmt.Sprintf("access group %q %s", g.Name, rules)))
	}
	sort.Strings(rest)
	for _, l := range rest {
		fmt.Fprintln(&b, l)
	}
	return b.String(), progressing
}

// list returns the objects of a kind sorted by namespace and name; none
// when the kind is not served.
func (c *compat) list(gk schema.GroupKind) []unstructured.Unstructured {
	version := "v1"
	if gk.Group != "networking.k8s.io" {
		if version = c.storageVersions()[gk]; version == "" {
			return nil
		}
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: gk.Group, Version: version, Kind: gk.Kind + "List"})
	if err := c.k8s.List(c.ctx, list); err != nil {
		c.t.Fatalf("list %s: %v", gk, err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		return items[i].GetNamespace()+"/"+items[i].GetName() < items[j].GetNamespace()+"/"+items[j].GetName()
	})
	return items
}

// storageVersions returns the storage version of every installed CRD
// kind, read once: the CRDs do not change during a run, and listing them
// (with their schemas) is the slowest call of a poll.
func (c *compat) storageVersions() map[schema.GroupKind]string {
	if c.versions != nil {
		return c.versions
	}
	var crds apiextensionsv1.CustomResourceDefinitionList
	if err := c.k8s.List(c.ctx, &crds); err != nil {
		c.t.Fatal(err)
	}
	c.versions = map[schema.GroupKind]string{}
	for _, d := range crds.Items {
		for _, v := range d.Spec.Versions {
			if v.Storage {
				c.versions[schema.GroupKind{Group: d.Spec.Group, Kind: d.Spec.Names.Kind}] = v.Name
			}
		}
	}
	return c.versions
}

// statusFields are the status fields shown per kind (besides conditions):
// the operators' ids and state, which their users' tools read.
var statusFields = []string{"state", "tunnelId", "tunnelName", "accountId", "zoneId", "hostnames", "recordId", "fqdn",
	"resolvedContent", "applicationId", "network", "virtualNetworkId", "routeId", "validated", "ingressCount",
	"gatewayCount", "routeCount", "listId", "ruleId", "itemCount", "policyId", "resolvedPolicyIds",
	"isDefault", "groupId",
	"tokenId", "secretName", "providerId"}

// verdictLine is one object's line: its Ready verdict (condition, or the
// annotations where the schema has no conditions, or the Gateway API's
// conditions), and the status fields that are set.
func verdictLine(gk schema.GroupKind, u *unstructured.Unstructured) (string, bool) {
	id := gk.Kind + "." + gk.Group + " " + strings.TrimPrefix(u.GetNamespace()+"/"+u.GetName(), "/")
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	var parts []string
	busy := false
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	cond := func(typ string) (string, string, string, bool) {
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == typ {
				return fmt.Sprint(m["status"]), fmt.Sprint(m["reason"]), fmt.Sprint(m["message"]), true
			}
		}
		return "", "", "", false
	}
	switch gk.Kind {
	case "GatewayClass":
		s, r, m, _ := cond("Accepted")
		parts = append(parts, fmt.Sprintf("Accepted=%s %s: %s", s, r, m))
	case "Gateway":
		for _, typ := range []string{"Accepted", "Programmed"} {
			s, r, m, _ := cond(typ)
			parts = append(parts, fmt.Sprintf("%s=%s %s: %s", typ, s, r, m))
		}
		addrs, _, _ := unstructured.NestedSlice(u.Object, "status", "addresses")
		for _, a := range addrs {
			m, _ := a.(map[string]any)
			parts = append(parts, fmt.Sprintf("address=%v", m["value"]))
		}
		listeners, _, _ := unstructured.NestedSlice(u.Object, "status", "listeners")
		for _, l := range listeners {
			m, _ := l.(map[string]any)
			var acc string
			for _, c := range m["conditions"].([]any) {
				cm := c.(map[string]any)
				if cm["type"] == "Accepted" {
					acc = fmt.Sprintf("%v %v", cm["status"], cm["reason"])
				}
			}
			parts = append(parts, fmt.Sprintf("listener %v: attached=%v accepted=%s", m["name"], m["attachedRoutes"], acc))
		}
	case "HTTPRoute", "TCPRoute", "UDPRoute":
		parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
		for _, p := range parents {
			m, _ := p.(map[string]any)
			for _, c := range m["conditions"].([]any) {
				cm := c.(map[string]any)
				if cm["type"] == "Accepted" || cm["type"] == "Ready" {
					parts = append(parts, fmt.Sprintf("%v %v=%v %v: %v", m["controllerName"], cm["type"], cm["status"], cm["reason"], cm["message"]))
				}
			}
		}
		if len(parents) == 0 {
			parts = append(parts, "no status")
		}
	default:
		s, r, m, ok := cond("Ready")
		if !ok {
			a := u.GetAnnotations()
			s, r, m = a["status.conflux-sync.io/ready"], a["status.conflux-sync.io/reason"], a["status.conflux-sync.io/message"]
		}
		if s == "" {
			parts = append(parts, "no verdict")
		} else {
			parts = append(parts, fmt.Sprintf("Ready=%s %s: %s", s, r, m))
		}
		busy = r == "Progressing"
		if ds, _, dm, ok := cond("Degraded"); ok && ds == "True" {
			parts = append(parts, "Degraded: "+dm)
		}
		if lb, _, _ := unstructured.NestedSlice(u.Object, "status", "loadBalancer", "ingress"); len(lb) > 0 {
			parts = append(parts, fmt.Sprintf("address=%v", lb[0].(map[string]any)["hostname"]))
		}
	}
	for _, f := range statusFields {
		if v, ok := status[f]; ok && fmt.Sprint(v) != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", f, v))
		}
	}
	return id + ": " + strings.Join(parts, "; "), busy
}

// recordIDPattern matches the emulator's DNS record ids (as Cloudflare's:
// 32 hex digits).
var recordIDPattern = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

// clusterMarker is conflux-sync's ownership marker with its cluster id.
var clusterMarker = regexp.MustCompile(regexp.QuoteMeta(cfapi.Marker("")) + `[0-9a-f]+`)

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normaliser returns a function replacing generated ids by stable names:
// a tunnel's id by <tunnel NAME>, a DNS record's by <record NAME TYPE>,
// any other generated UUID by <id>, the cluster id of the ownership marker
// by <cluster>.
func (c *compat) normaliser() func(string) string {
	names := map[string]string{}
	for _, tn := range c.emu.Tunnels(compatAccount) {
		names[tn.ID] = "<tunnel " + tn.Name + ">"
	}
	records := map[string]string{}
	for _, z := range c.emu.Zones(compatAccount) {
		for _, r := range c.emu.DNSRecords(z.ID) {
			records[r.ID] = "<record " + r.Name + " " + r.Type + ">"
		}
	}
	for _, l := range c.emu.GatewayLists(compatAccount) {
		names[l.ID] = "<gateway list " + l.Name + ">"
	}
	for _, r := range c.emu.GatewayRules(compatAccount) {
		names[r.ID] = "<gateway rule " + r.Name + ">"
	}
	for _, v := range c.emu.VirtualNetworks(compatAccount) {
		names[v.ID] = "<vnet " + v.Name + ">"
	}
	for _, g := range c.emu.AccessGroups(compatAccount) {
		names[g.ID] = "<group " + g.Name + ">"
	}
	return func(s string) string {
		s = clusterMarker.ReplaceAllString(s, "conflux-sync:<cluster>")
		s = recordIDPattern.ReplaceAllStringFunc(s, func(id string) string {
			if n, ok := records[id]; ok {
				return n
			}
			return id
		})
		return uuidPattern.ReplaceAllStringFunc(s, func(id string) string {
			if n, ok := names[id]; ok {
				return n
			}
			return "<id>"
		})
	}
}

// lineDiff shows the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]int{}, map[string]int{}
	for _, l := range w {
		inW[l]++
	}
	for _, l := range g {
		inG[l]++
	}
	var b strings.Builder
	for _, l := range w {
		if inG[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if inW[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
