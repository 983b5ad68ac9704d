package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/sync/access"
	"github.com/conflux-sync/conflux-sync/sync/accessgroup"
	"github.com/conflux-sync/conflux-sync/sync/dns"
	"github.com/conflux-sync/conflux-sync/sync/gatewaylist"
	"github.com/conflux-sync/conflux-sync/sync/gatewayrule"
	"github.com/conflux-sync/conflux-sync/sync/identityprovider"
	"github.com/conflux-sync/conflux-sync/sync/kind"
	"github.com/conflux-sync/conflux-sync/sync/route"
	"github.com/conflux-sync/conflux-sync/sync/servicetoken"
	tunnelkind "github.com/conflux-sync/conflux-sync/sync/tunnel"
	"github.com/conflux-sync/conflux-sync/sync/vnet"
)

// fake is a map-backed Lookup; keys are "namespace/name" (or "name").
type fake struct {
	services map[string]*corev1.Service
	secrets  map[string][]string
	// tunnels are keyed by ObjectRef.String() (e.g. "Tunnel infra/t1",
	// "ClusterTunnel edge", "ClusterTunnel.networking.cfargotunnel.com edge").
	tunnels     map[string]*TunnelObject
	credentials map[string]*v1alpha2.CloudflareCredentials
	domains     []CloudflareDomain
	// configs are keyed by "<kind> <namespace>/<name>".
	configs map[string]*v1alpha2.ClassConfigSpec
	// statuses are keyed by "<kind> <namespace>/<name>" (or "<kind> <name>").
	statuses  map[string]map[string]string
	classes   map[string]*networkingv1.IngressClass
	ingresses map[string]*networkingv1.Ingress
	gateways  map[string]*gatewayv1.Gateway
	gclasses  map[string]*gatewayv1.GatewayClass
	routes    map[string]*gatewayv1.HTTPRoute
	nodes     map[string]*corev1.Node
	// generated are keyed by "<owner kind> <namespace>/<name>".
	generated map[string]map[string]string
}

func (f *fake) Service(ns, name string) (*corev1.Service, bool) {
	s, ok := f.services[ns+"/"+name]
	return s, ok
}
func (f *fake) SecretKeys(ns, name string) ([]string, bool) {
	s, ok := f.secrets[ns+"/"+name]
	return s, ok
}
func (f *fake) Tunnel(ref ObjectRef) (*TunnelObject, bool) {
	t, ok := f.tunnels[ref.String()]
	return t, ok
}
func (f *fake) CloudflareCredentials(name string) (*v1alpha2.CloudflareCredentials, bool) {
	c, ok := f.credentials[name]
	return c, ok
}
func (f *fake) CloudflareCredentialsList() []*v1alpha2.CloudflareCredentials {
	out := make([]*v1alpha2.CloudflareCredentials, 0, len(f.credentials))
	for _, c := range f.credentials {
		out = append(out, c)
	}
	return out
}
func (f *fake) CloudflareDomains() []CloudflareDomain { return f.domains }
func (f *fake) ClassConfig(kind, ns, name string) (*v1alpha2.ClassConfigSpec, bool) {
	c, ok := f.configs[kind+" "+ns+"/"+name]
	return c, ok
}
func (f *fake) StatusField(kind, ns, name, field string) (string, bool) {
	key := kind + " " + name
	if ns != "" {
		key = kind + " " + ns + "/" + name
	}
	st, ok := f.statuses[key]
	return st[field], ok
}
func (f *fake) IngressClass(name string) (*networkingv1.IngressClass, bool) {
	c, ok := f.classes[name]
	return c, ok
}
func (f *fake) IngressClasses() []*networkingv1.IngressClass {
	out := make([]*networkingv1.IngressClass, 0, len(f.classes))
	for _, c := range f.classes {
		out = append(out, c)
	}
	return out
}
func (f *fake) Ingress(ns, name string) (*networkingv1.Ingress, bool) {
	i, ok := f.ingresses[ns+"/"+name]
	return i, ok
}
func (f *fake) Gateway(ns, name string) (*gatewayv1.Gateway, bool) {
	g, ok := f.gateways[ns+"/"+name]
	return g, ok
}
func (f *fake) GatewayClass(name string) (*gatewayv1.GatewayClass, bool) {
	c, ok := f.gclasses[name]
	return c, ok
}
func (f *fake) HTTPRoute(ns, name string) (*gatewayv1.HTTPRoute, bool) {
	r, ok := f.routes[ns+"/"+name]
	return r, ok
}
func (f *fake) Node(name string) (*corev1.Node, bool) {
	n, ok := f.nodes[name]
	return n, ok
}
func (f *fake) GeneratedRecordIDs(ownerKind, ns, name string) map[string]string {
	return f.generated[ownerKind+" "+ns+"/"+name]
}

var opts = Options{Namespace: "conflux"}

const (
	acct1 = "0123456789abcdef0123456789abcdef"
	acct2 = "fedcba9876543210fedcba9876543210"
)

func cfDetails(domain, secret, account string) v1alpha2.CloudflareDetails {
	return v1alpha2.CloudflareDetails{Domain: domain, Secret: secret, AccountID: account, CLOUDFLARE_API_TOKEN: "CLOUDFLARE_API_TOKEN"}
}

func meta(ns, name string, gen int64) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Generation: gen}
}

func clusterTunnel() *TunnelObject {
	return &TunnelObject{
		Meta: meta("", "edge", 2),
		Spec: v1alpha2.TunnelSpec{
			NewTunnel:      &v1alpha2.NewTunnel{Name: "edge"},
			Cloudflare:     cfDetails("Example.com", "cf", acct1),
			FallbackTarget: "http_status:404",
		},
	}
}

func nsTunnel() *TunnelObject {
	return &TunnelObject{
		Meta: meta("infra", "t1", 1),
		Spec: v1alpha2.TunnelSpec{
			ExistingTunnel: &v1alpha2.ExistingTunnel{Name: "legacy"},
			Cloudflare:     cfDetails("example.org", "cf", acct2),
			FallbackTarget: "http_status:404",
		},
	}
}

func svc(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: meta(ns, name, 1), Spec: corev1.ServiceSpec{Ports: ports}}
}

func ingressClass(name, controller string, params *networkingv1.IngressClassParametersReference) *networkingv1.IngressClass {
	return &networkingv1.IngressClass{ObjectMeta: meta("", name, 1), Spec: networkingv1.IngressClassSpec{Controller: controller, Parameters: params}}
}

func newFake() *fake {
	group := Group
	nsScope := networkingv1.IngressClassParametersReferenceScopeNamespace
	infra := "infra"
	gwNS := gatewayv1.Namespace("infra")
	wild := gatewayv1.Hostname("*.example.com")
	return &fake{
		services: map[string]*corev1.Service{
			"default/web": svc("default", "web",
				corev1.ServicePort{Name: "http", Port: 80},
				corev1.ServicePort{Name: "https", Port: 443},
				corev1.ServicePort{Name: "admin", Port: 9443, AppProtocol: ptr("https")}),
			"default/api":   svc("default", "api", corev1.ServicePort{Port: 8080}),
			"default/tls":   svc("default", "tls", corev1.ServicePort{Port: 443}),
			"default/empty": svc("default", "empty"),
		},
		secrets: map[string][]string{
			"conflux/cf": {"CLOUDFLARE_API_TOKEN"},
			"infra/cf":   {"CLOUDFLARE_API_TOKEN"},
			"default/cf": {"CLOUDFLARE_API_TOKEN", "other"},
			"default/gk": {"CLOUDFLARE_API_KEY"},
		},
		tunnels: map[string]*TunnelObject{"Tunnel infra/t1": nsTunnel(), "ClusterTunnel edge": clusterTunnel()},
		classes: map[string]*networkingv1.IngressClass{
			"cf":    ingressClass("cf", IngressController, &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "ClusterTunnel", Name: "edge"}),
			"cf-ns": ingressClass("cf-ns", IngressController, &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "Tunnel", Name: "t1", Scope: &nsScope, Namespace: &infra}),
			"nginx": ingressClass("nginx", "k8s.io/ingress-nginx", nil),
		},
		gateways: map[string]*gatewayv1.Gateway{
			"default/gw": {ObjectMeta: meta("default", "gw", 1), Spec: gatewayv1.GatewaySpec{GatewayClassName: "cf",
				Listeners: []gatewayv1.Listener{{Name: "http", Hostname: &wild, Port: 80, Protocol: gatewayv1.HTTPProtocolType}}}},
			"default/gw-ns": {ObjectMeta: meta("default", "gw-ns", 1), Spec: gatewayv1.GatewaySpec{GatewayClassName: "cf-ns"}},
			"default/other": {ObjectMeta: meta("default", "other", 1), Spec: gatewayv1.GatewaySpec{GatewayClassName: "istio"}},
		},
		gclasses: map[string]*gatewayv1.GatewayClass{
			"cf": {ObjectMeta: meta("", "cf", 1), Spec: gatewayv1.GatewayClassSpec{ControllerName: GatewayController,
				ParametersRef: &gatewayv1.ParametersReference{Group: Group, Kind: "ClusterTunnel", Name: "edge"}}},
			"cf-ns": {ObjectMeta: meta("", "cf-ns", 1), Spec: gatewayv1.GatewayClassSpec{ControllerName: GatewayController,
				ParametersRef: &gatewayv1.ParametersReference{Group: Group, Kind: "Tunnel", Name: "t1", Namespace: &gwNS}}},
			"istio": {ObjectMeta: meta("", "istio", 1), Spec: gatewayv1.GatewayClassSpec{ControllerName: "istio.io/gateway-controller"}},
		},
	}
}

// kinds are the real target kinds, by name.
var kinds = map[string]kind.Kind{
	api.KindTunnel:                 tunnelkind.NewTunnel(),
	api.KindTunnelConfiguration:    tunnelkind.New(),
	api.KindDNSRecord:              dns.New(),
	api.KindAccessApplication:      access.New(),
	api.KindNetworkRoute:           route.New(),
	api.KindGatewayList:            gatewaylist.New(),
	api.KindGatewayRule:            gatewayrule.New(),
	api.KindVirtualNetwork:         vnet.New(),
	api.KindAccessGroup:            accessgroup.New(),
	api.KindAccessServiceToken:     servicetoken.New(),
	api.KindAccessIdentityProvider: identityprovider.New(),
}

// validateAll checks every fragment of r with the real kind's Validate, as
// the given source.
func validateAll(t *testing.T, r Result, source api.SourceRef) {
	t.Helper()
	for _, f := range r.Fragments {
		k, ok := kinds[f.Target.Kind]
		if !ok {
			t.Errorf("fragment for unknown target kind %q", f.Target.Kind)
			continue
		}
		if err := k.Validate(f.Target, source, f.Spec); err != nil {
			t.Errorf("%s %s: real kind rejects %s: %v", f.Target.Kind, f.Target.Name, f.Spec, err)
		}
		if f.Generation < 1 {
			t.Errorf("%s: generation %d", f.Target, f.Generation)
		}
	}
}

// render prints fragments one a line: "kind name gen spec".
func render(r Result) string {
	var b strings.Builder
	for _, f := range r.Fragments {
		fmt.Fprintf(&b, "%s %s %d %s\n", f.Target.Kind, f.Target.Name, f.Generation, f.Spec)
	}
	return b.String()
}

func problemsString(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteString("\n")
	}
	return b.String()
}

// sameBytes reports whether two results have identical fragments.
func sameBytes(a, b Result) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// The fake's tunnels.
var (
	ctRef = ObjectRef{Group: Group, Kind: "ClusterTunnel", Name: "edge"}
	nsRef = ObjectRef{Group: Group, Kind: "Tunnel", Namespace: "infra", Name: "t1"}
)

// httpListener is a Gateway's one HTTP listener, admitting HTTPRoutes of
// its namespace (the default).
var httpListener = []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}}
