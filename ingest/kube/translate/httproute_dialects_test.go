package translate

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	tunnelkind "github.com/conflux-sync/conflux-sync/sync/tunnel"
)

// newRouteFake is newDialectFake with a conflux-sync GatewayClass naming a
// ClusterTunnel of adyanth's group.
func newRouteFake() *fake {
	f := newDialectFake()
	f.gclasses["cf-legacy"] = &gatewayv1.GatewayClass{ObjectMeta: meta("", "cf-legacy", 1), Spec: gatewayv1.GatewayClassSpec{
		ControllerName: GatewayController,
		ParametersRef:  &gatewayv1.ParametersReference{Group: GroupCfargotunnel, Kind: "ClusterTunnel", Name: "legacy"}}}
	f.gateways["default/gw-legacy"] = &gatewayv1.Gateway{ObjectMeta: meta("default", "gw-legacy", 1), Spec: gatewayv1.GatewaySpec{GatewayClassName: "cf-legacy", Listeners: httpListener}}
	return f
}

func pathMatch(t gatewayv1.PathMatchType, v string) *gatewayv1.HTTPPathMatch {
	return &gatewayv1.HTTPPathMatch{Type: &t, Value: &v}
}

// operatorRoute is an HTTPRoute of a cloudflare-operator Gateway whose
// rules cloudflare-operator wrote as TestHTTPRouteTakeOverWritesNothing's
// remote.
func operatorRoute() *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "api-op", Generation: 3},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw-op"}}},
			Hostnames:       []gatewayv1.Hostname{"app.example.org", "api.example.net"},
			Rules: []gatewayv1.HTTPRouteRule{
				{Matches: []gatewayv1.HTTPRouteMatch{{Path: pathMatch(gatewayv1.PathMatchPathPrefix, "/api")}, {Path: pathMatch(gatewayv1.PathMatchExact, "/hz")}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("api", 8080)}},
				{Matches: []gatewayv1.HTTPRouteMatch{{Path: pathMatch(gatewayv1.PathMatchRegularExpression, `^/v\d+`)}, {Path: pathMatch(gatewayv1.PathMatchPathPrefix, "/docs/")}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("tls", 443)}},
			},
		},
	}
}

// The originRequest cloudflare-operator sent with every rule of the
// TunnelGatewayClassConfig infra/gw.
const gwOrigin = `"originRequest":{"connectTimeout":30,"noHappyEyeballs":false,"noTLSVerify":true,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false}`

func TestHTTPRouteDialects(t *testing.T) {
	cases := []dialectCase{
		{
			name: "conflux-sync: tunnel of adyanth's group, protocol per port, unproxied", obj: "legacy",
			run: func(f *fake) Result {
				r := webRoute()
				r.Name = "legacy"
				r.Annotations = map[string]string{"cloudflare.com/protocol-8080": "wss", "cloudflare.com/dns-proxied": "false"}
				r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "gw-legacy"}}
				return HTTPRoute(r, f, opts)
			},
			want: `cloudflare.DNSRecord example.com 5 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel.networking.cfargotunnel.com/legacy","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel.networking.cfargotunnel.com/legacy 5 {"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80"},{"hostname":"app.example.com","path":"^/api(/|$)","service":"wss://api.default.svc:8080"},{"hostname":"app.example.com","path":"^/login$","service":"wss://api.default.svc:8080"}]}
`,
			dialect:   DialectConflux,
			tunnel:    "ClusterTunnel.networking.cfargotunnel.com/legacy",
			hostnames: []string{"app.example.com"},
		},
		{
			name: "cloudflare-operator: as it wrote the rules", obj: "api-op",
			run: func(f *fake) Result { return HTTPRoute(operatorRoute(), f, opts) },
			want: `cloudflare.DNSRecord example.net 3 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"api.example.net","type":"CNAME","tunnel":"Tunnel/infra/t1","proxied":true}],"credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.DNSRecord example.org 3 {"accountId":"fedcba9876543210fedcba9876543210","records":[{"name":"app.example.org","type":"CNAME","tunnel":"Tunnel/infra/t1","proxied":true,"takeOver":{"recordIds":["rec-gw-app"]}}],"credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration Tunnel/infra/t1 3 {"rules":[` +
				`{"hostname":"api.example.net","path":"/api(/.*)?$","service":"http://api.default.svc:8080",` + gwOrigin + `},` +
				`{"hostname":"api.example.net","path":"/docs/.*","service":"https://tls.default.svc:443",` + gwOrigin + `},` +
				`{"hostname":"api.example.net","path":"^/hz$","service":"http://api.default.svc:8080",` + gwOrigin + `},` +
				`{"hostname":"api.example.net","path":"^/v\\d+","service":"https://tls.default.svc:443",` + gwOrigin + `},` +
				`{"hostname":"app.example.org","path":"/api(/.*)?$","service":"http://api.default.svc:8080",` + gwOrigin + `},` +
				`{"hostname":"app.example.org","path":"/docs/.*","service":"https://tls.default.svc:443",` + gwOrigin + `},` +
				`{"hostname":"app.example.org","path":"^/hz$","service":"http://api.default.svc:8080",` + gwOrigin + `},` +
				`{"hostname":"app.example.org","path":"^/v\\d+","service":"https://tls.default.svc:443",` + gwOrigin + `}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "Tunnel/infra/t1",
			hostnames: []string{"api.example.net", "app.example.org"},
		},
		{
			name: "cloudflare-operator: what cloudflared cannot do is ignored and said", obj: "api-op",
			run: func(f *fake) Result {
				f.configs["TunnelGatewayClassConfig infra/gw"].DNSManagement = DNSManagementManual
				f.configs["TunnelGatewayClassConfig infra/gw"].DefaultOriginRequest = nil
				r := operatorRoute()
				r.Annotations = map[string]string{"cloudflare.com/protocol": "https"}
				r.Spec.Hostnames = []gatewayv1.Hostname{"App.Example.org", "app.example.org"}
				get := gatewayv1.HTTPMethodGet
				svcKind := gatewayv1.Kind("ServiceImport")
				mcs := gatewayv1.Group("multicluster.x-k8s.io")
				r.Spec.Rules = []gatewayv1.HTTPRouteRule{
					{
						Matches: []gatewayv1.HTTPRouteMatch{
							{Path: pathMatch(gatewayv1.PathMatchPathPrefix, "/"), Headers: []gatewayv1.HTTPHeaderMatch{{Name: "X-Env", Value: "beta"}}},
							{Path: pathMatch(gatewayv1.PathMatchPathPrefix, "/"), QueryParams: []gatewayv1.HTTPQueryParamMatch{{Name: "v", Value: "2"}}, Method: &get},
						},
						Filters:            []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier}},
						Timeouts:           &gatewayv1.HTTPRouteTimeouts{},
						Retry:              &gatewayv1.HTTPRouteRetry{},
						SessionPersistence: &gatewayv1.SessionPersistence{},
						BackendRefs: []gatewayv1.HTTPBackendRef{
							{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Group: &mcs, Kind: &svcKind, Name: "api"}}},
							{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "api"}}, Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier}}},
							backend("web", 443),
						},
					},
					{Matches: []gatewayv1.HTTPRouteMatch{{Path: pathMatch(gatewayv1.PathMatchExact, "/x")}}},
				}
				return HTTPRoute(r, f, opts)
			},
			want: `cloudflare.TunnelConfiguration Tunnel/infra/t1 3 {"rules":[{"hostname":"app.example.org","service":"http://api.default.svc:80","originRequest":{"noHappyEyeballs":false,"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false}}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "Tunnel/infra/t1",
			hostnames: []string{"app.example.org"},
			degraded: []string{
				`metadata.annotations["cloudflare.com/protocol"]`,
				"spec.rules[0].filters",
				"spec.rules[0].timeouts",
				"spec.rules[0].retry",
				"spec.rules[0].sessionPersistence",
				"spec.rules[0].backendRefs[0].kind",
				"spec.rules[0].backendRefs[1].filters",
				"spec.rules[0].backendRefs[2]",
				"spec.rules[0].matches[0].headers",
				"spec.rules[0].matches[1].queryParams",
				"spec.rules[0].matches[1].method",
				"spec.rules[1].backendRefs",
			},
		},
	}
	runDialectCases(t, cases, newRouteFake, SourceHTTPRoute)
}

// TestHTTPRouteTakeOverWritesNothing: the aggregate of operatorRoute's
// fragments means what cloudflare-operator PUT for it.
func TestHTTPRouteTakeOverWritesNothing(t *testing.T) {
	f := newRouteFake()
	target := api.TargetRef{Kind: api.KindTunnelConfiguration, Name: "Tunnel/infra/t1"}
	frags := fragmentsFor(target, Tunnel(nsRef, nsTunnel(), f, opts), Source(SourceTunnel, "infra", "t1"), 1)
	r := HTTPRoute(operatorRoute(), f, opts)
	if len(r.Problems) > 0 {
		t.Fatalf("problems:\n%s", problemsString(r.Problems))
	}
	frags = append(frags, fragmentsFor(target, r, Source(SourceHTTPRoute, "default", "api-op"), 2)...)
	agg, err := tunnelkind.New().Aggregate(target, frags)
	if err != nil {
		t.Fatal(err)
	}
	// cloudflare-operator's order: by hostname, then path; its
	// configuration writer spells every boolean out and the durations
	// in seconds.
	const o = `"originRequest":{"connectTimeout":30,"noTLSVerify":true,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}`
	remote := `{"ingress":[` +
		`{"hostname":"api.example.net","path":"/api(/.*)?$","service":"http://api.default.svc:8080",` + o + `},` +
		`{"hostname":"api.example.net","path":"/docs/.*","service":"https://tls.default.svc:443",` + o + `},` +
		`{"hostname":"api.example.net","path":"^/hz$","service":"http://api.default.svc:8080",` + o + `},` +
		`{"hostname":"api.example.net","path":"^/v\\d+","service":"https://tls.default.svc:443",` + o + `},` +
		`{"hostname":"app.example.org","path":"/api(/.*)?$","service":"http://api.default.svc:8080",` + o + `},` +
		`{"hostname":"app.example.org","path":"/docs/.*","service":"https://tls.default.svc:443",` + o + `},` +
		`{"hostname":"app.example.org","path":"^/hz$","service":"http://api.default.svc:8080",` + o + `},` +
		`{"hostname":"app.example.org","path":"^/v\\d+","service":"https://tls.default.svc:443",` + o + `},` +
		`{"service":"http_status:404"}],"originRequest":{}}`
	if equal, diffs := tunnelkind.CompareConfigs(json.RawMessage(remote), agg.Desired); !equal {
		t.Errorf("the takeover would PUT:\n%s\ndesired %s", strings.Join(diffs, "\n"), agg.Desired)
	}
}

func TestHTTPRouteDialectProblems(t *testing.T) {
	cases := []problemCase{
		{"cloudflare-operator: no hostnames", func(f *fake) Result {
			r := operatorRoute()
			r.Spec.Hostnames = nil
			return HTTPRoute(r, f, opts)
		}, "spec.hostnames", "is required: cloudflared routes by hostname (cloudflare-operator turned a route without hostnames into catch-all rules and then dropped them)"},
		{"cloudflare-operator: hostname in no zone", func(f *fake) Result {
			r := operatorRoute()
			r.Spec.Hostnames = append(r.Spec.Hostnames, "app.example.io")
			return HTTPRoute(r, f, opts)
		}, "spec.hostnames[2]", "hostname app.example.io is not in zone example.org of Tunnel infra/t1"},
		{"cloudflare-operator: cross-namespace backend", func(f *fake) Result {
			r := operatorRoute()
			other := gatewayv1.Namespace("other")
			r.Spec.Rules[1].BackendRefs[0].Namespace = &other
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].backendRefs[0].namespace", "cross-namespace backends are not supported: conflux-sync does not read ReferenceGrants, so it cannot tell whether namespace other allows this route's reference"},
		{"cloudflare-operator: Service not found", func(f *fake) Result {
			delete(f.services, "default/tls")
			return HTTPRoute(operatorRoute(), f, opts)
		}, "spec.rules[1].backendRefs[0].name", "Service default/tls not found"},
		{"cloudflare-operator: bad regular expression", func(f *fake) Result {
			r := operatorRoute()
			r.Spec.Rules[1].Matches[0].Path = pathMatch(gatewayv1.PathMatchRegularExpression, "/(")
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].matches[0].path.value", `becomes "/(", which is not a regular expression cloudflared accepts...`},
		{"cloudflare-operator: same hostname and path, two services", func(f *fake) Result {
			r := operatorRoute()
			r.Spec.Rules[1].Matches[1].Path = pathMatch(gatewayv1.PathMatchPathPrefix, "/api")
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].matches[1]", `same hostname app.example.org and path "/api(/.*)?$" as spec.rules[0].matches[0]...`},
		{"cloudflare-operator: parametersRef of another kind", func(f *fake) Result {
			f.gclasses["cf-op"].Spec.ParametersRef.Kind = "ClusterTunnel"
			return HTTPRoute(operatorRoute(), f, opts)
		}, "spec.parentRefs[0]", `GatewayClass cf-op needs spec.parametersRef {group: networking.cloudflare-operator.io, kind: TunnelGatewayClassConfig, name, namespace}; its kind is "ClusterTunnel"`},
		{"cloudflare-operator: parametersRef without namespace", func(f *fake) Result {
			f.gclasses["cf-op"].Spec.ParametersRef.Namespace = nil
			return HTTPRoute(operatorRoute(), f, opts)
		}, "spec.parentRefs[0]", "GatewayClass cf-op needs spec.parametersRef...; its namespace is empty..."},
		{"cloudflare-operator: config not found", func(f *fake) Result {
			delete(f.configs, "TunnelGatewayClassConfig infra/gw")
			return HTTPRoute(operatorRoute(), f, opts)
		}, "spec.parentRefs[0]", "GatewayClass cf-op: TunnelGatewayClassConfig infra/gw not found"},
		{"cloudflare-operator: tunnel not found", func(f *fake) Result {
			delete(f.tunnels, "Tunnel infra/t1")
			return HTTPRoute(operatorRoute(), f, opts)
		}, "spec.parentRefs[0]", "GatewayClass cf-op: TunnelGatewayClassConfig infra/gw: spec.tunnelRef: Tunnel infra/t1 not found"},
		{"parents of two dialects", func(f *fake) Result {
			r := operatorRoute()
			r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Name: "gw"})
			return HTTPRoute(r, f, opts)
		}, "spec.parentRefs[1]", "GatewayClass cf is translated in the conflux-sync dialect, but spec.parentRefs[0]'s GatewayClass cf-op in the cloudflare-operator dialect: one HTTPRoute is translated one way"},
		{"a dialect without Gateway API", func(f *fake) Result {
			o := opts
			o.GatewayControllers = map[string]Dialect{CloudflareOperatorGatewayController: DialectSTRRL}
			return HTTPRoute(operatorRoute(), f, o)
		}, "spec.parentRefs[0]", `GatewayClass cf-op's controller cloudflare-operator.io/gateway-controller is configured with the dialect "strrl", which has no Gateway API translation...`},
	}
	runProblemCases(t, cases, newRouteFake)
}

func TestHTTPRouteDialectNotManaged(t *testing.T) {
	f := newRouteFake()
	o := opts
	o.GatewayControllers = map[string]Dialect{GatewayController: DialectConflux}
	if r := HTTPRoute(operatorRoute(), f, o); r.Managed || len(r.Fragments) != 0 || len(r.Problems) != 0 || r.Dialect != "" {
		t.Errorf("got %+v, want the zero Result", r)
	}
	// A parentRef without a namespace is the route's namespace (cloudflare-
	// operator matched a Gateway of that name in any namespace).
	r := operatorRoute()
	r.Namespace = "other"
	if res := HTTPRoute(r, f, opts); res.Managed {
		t.Errorf("a Gateway of another namespace was taken for the parent: %+v", res)
	}
}

func TestGatewayClassTunnel(t *testing.T) {
	f := newRouteFake()
	for class, want := range map[string]string{"cf": "ClusterTunnel/edge", "cf-legacy": "ClusterTunnel.networking.cfargotunnel.com/legacy", "cf-op": "Tunnel/infra/t1"} {
		if got, ps := GatewayClassTunnel(f.gclasses[class], f, opts); got != want || len(ps) > 0 {
			t.Errorf("%s: %q %v, want %q", class, got, ps, want)
		}
	}
	delete(f.configs, "TunnelGatewayClassConfig infra/gw")
	if got, ps := GatewayClassTunnel(f.gclasses["cf-op"], f, opts); got != "" || !hasProblem(ps, "spec.parametersRef", "GatewayClass cf-op: TunnelGatewayClassConfig infra/gw not found") {
		t.Errorf("config missing: %q %v", got, ps)
	}
	if got, ps := GatewayClassTunnel(f.gclasses["istio"], f, opts); got != "" || !hasProblem(ps, "spec.controllerName", "istio.io/gateway-controller is not a controller conflux-sync serves") {
		t.Errorf("istio: %q %v", got, ps)
	}
}
