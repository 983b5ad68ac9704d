package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// problemCase is an object that must be refused with a problem.
type problemCase struct {
	name   string
	run    func(f *fake) Result
	field  string
	reason string // exact unless it ends with "..."
}

// runProblemCases translates each case against a fresh fake: managed, no
// fragments, and the problem on its field.
func runProblemCases(t *testing.T, cases []problemCase, newFake func() *fake) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newFake())
			if !r.Managed {
				t.Fatal("not managed")
			}
			if len(r.Fragments) != 0 {
				t.Errorf("fragments despite problems:\n%s", render(r))
			}
			if !hasProblem(r.Problems, tc.field, tc.reason) {
				t.Errorf("no problem %s: %s; got:\n%s", tc.field, tc.reason, problemsString(r.Problems))
			}
		})
	}
}

func TestProblems(t *testing.T) {
	now := metav1.Now()
	cases := []problemCase{
		// Credentials.
		{"Secret missing", func(f *fake) Result {
			delete(f.secrets, "conflux/cf")
			return Tunnel(ctRef, clusterTunnel(), f, opts)
		}, "spec.cloudflare.secret", "Secret conflux/cf not found"},
		{"no namespace for cluster-scoped Secrets", func(f *fake) Result {
			return Tunnel(ctRef, clusterTunnel(), f, Options{})
		}, "spec.cloudflare.secret", "cannot be found: conflux-sync has no namespace configured for the Secrets of cluster-scoped objects"},
		{"Secret key missing", func(f *fake) Result {
			tn := nsTunnel()
			tn.Spec.Cloudflare.CLOUDFLARE_API_TOKEN = "token"
			return Tunnel(nsRef, tn, f, opts)
		}, "spec.cloudflare.CLOUDFLARE_API_TOKEN", "Secret infra/cf has no key token"},
		{"Secret key missing (default key)", func(f *fake) Result {
			f.secrets["infra/cf"] = []string{"x"}
			tn := nsTunnel()
			tn.Spec.Cloudflare.CLOUDFLARE_API_TOKEN = ""
			return Tunnel(nsRef, tn, f, opts)
		}, "spec.cloudflare.CLOUDFLARE_API_TOKEN", "Secret infra/cf has no key CLOUDFLARE_API_TOKEN"},
		{"credentialsRef", func(f *fake) Result {
			tn := nsTunnel()
			tn.Spec.Cloudflare.Secret = ""
			tn.Spec.Cloudflare.CredentialsRef = &v1alpha2.CredentialsRef{Name: "creds"}
			return Tunnel(nsRef, tn, f, opts)
		}, "spec.cloudflare.credentialsRef", "CloudflareCredentials creds not found"},
		{"global API key only", func(f *fake) Result {
			a := accessApp()
			a.Spec.Cloudflare = v1alpha2.CloudflareDetails{Secret: "gk", AccountID: acct1, CLOUDFLARE_API_KEY: "CLOUDFLARE_API_KEY", Email: "a@b.c"}
			return AccessApplication(a, f, opts)
		}, "spec.cloudflare.CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens..."},
		{"global API key in the Secret", func(f *fake) Result {
			a := accessApp()
			a.Spec.Cloudflare = v1alpha2.CloudflareDetails{Secret: "gk", AccountID: acct1, CLOUDFLARE_API_KEY: "CLOUDFLARE_API_KEY", CLOUDFLARE_API_TOKEN: "CLOUDFLARE_API_TOKEN"}
			return AccessApplication(a, f, opts)
		}, "spec.cloudflare.CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens: Secret default/gk has the API key CLOUDFLARE_API_KEY but no token under key CLOUDFLARE_API_TOKEN"},
		{"no secret", func(f *fake) Result {
			a := accessApp()
			a.Spec.Cloudflare.Secret = ""
			return AccessApplication(a, f, opts)
		}, "spec.cloudflare.secret", "is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true)"},
		{"no account id", func(f *fake) Result {
			ct := clusterTunnel()
			ct.Spec.Cloudflare.AccountID = ""
			ct.Spec.Cloudflare.AccountName = "Acme"
			return Tunnel(ctRef, ct, f, opts)
		}, "spec.cloudflare.accountId", `is required: conflux-sync does not look accounts up by name (accountName "Acme"); set the account id`},

		// Tunnels.
		{"bad duration", func(f *fake) Result {
			ct := clusterTunnel()
			ct.Spec.OriginRequest = &v1alpha2.OriginRequest{TCPKeepAlive: "10 parsecs"}
			return Tunnel(ctRef, ct, f, opts)
		}, "spec.originRequest.tcpKeepAlive", `"10 parsecs" is not a duration such as "30s" or "1m30s"`},
		{"tunnel name", func(f *fake) Result {
			ct := clusterTunnel()
			ct.Spec.NewTunnel.Name = "my tunnel"
			return Tunnel(ctRef, ct, f, opts)
		}, "spec.newTunnel.name", `"my tunnel" is not a tunnel name conflux-sync accepts...`},
		{"existing tunnel name too long", func(f *fake) Result {
			tn := nsTunnel()
			tn.Spec.ExistingTunnel.Name = strings.Repeat("a", 64)
			return Tunnel(nsRef, tn, f, opts)
		}, "spec.existingTunnel.name", "..."},
		{"existing tunnel id", func(f *fake) Result {
			tn := nsTunnel()
			tn.Spec.ExistingTunnel = &v1alpha2.ExistingTunnel{ID: "nope"}
			return Tunnel(nsRef, tn, f, opts)
		}, "spec.existingTunnel.id", `"nope" is not a tunnel id (a UUID)`},
		{"caPool outside the certs folder", func(f *fake) Result {
			ct := clusterTunnel()
			ct.Spec.OriginRequest = &v1alpha2.OriginRequest{CAPool: "../secrets/ca.crt"}
			return Tunnel(ctRef, ct, f, opts)
		}, "spec.originRequest.caPool", `"../secrets/ca.crt" must not contain ".."`},

		// Ingress.
		{"Ingress: hostname not in zone", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[1].Host = "www.example.net"
			return Ingress(ing, f, opts)
		}, "spec.rules[1].host", "hostname www.example.net is not in zone example.com of ClusterTunnel edge"},
		{"Ingress: suffix is not a zone", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[1].Host = "wwwexample.com"
			return Ingress(ing, f, opts)
		}, "spec.rules[1].host", "hostname wwwexample.com is not in zone example.com of ClusterTunnel edge"},
		{"Ingress: tunnel not found", func(f *fake) Result {
			delete(f.tunnels, "ClusterTunnel edge")
			return Ingress(webIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf: ClusterTunnel edge not found"},
		{"Ingress: namespaced tunnel not found", func(f *fake) Result {
			delete(f.tunnels, "Tunnel infra/t1")
			ing := webIngress()
			ing.Spec.IngressClassName = ptr("cf-ns")
			return Ingress(ing, f, opts)
		}, "spec.ingressClassName", "IngressClass cf-ns: Tunnel infra/t1 not found"},
		{"Ingress: tunnel being deleted", func(f *fake) Result {
			f.tunnels["ClusterTunnel edge"].Meta.DeletionTimestamp = &now
			return Ingress(webIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf: ClusterTunnel edge is being deleted"},
		{"Ingress: class without parameters", func(f *fake) Result {
			f.classes["cf"].Spec.Parameters = nil
			return Ingress(webIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf needs spec.parameters {apiGroup: networking.cloudflare-operator.io (or networking.cfargotunnel.com), kind: Tunnel or ClusterTunnel, name}"},
		{"Ingress: class parameters of another group", func(f *fake) Result {
			f.classes["cf"].Spec.Parameters.APIGroup = ptr("example.io")
			return Ingress(webIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf needs spec.parameters...; its apiGroup is \"example.io\", not networking.cloudflare-operator.io..."},
		{"Ingress: Tunnel parameters without namespace", func(f *fake) Result {
			f.classes["cf-ns"].Spec.Parameters.Namespace = nil
			ing := webIngress()
			ing.Spec.IngressClassName = ptr("cf-ns")
			return Ingress(ing, f, opts)
		}, "spec.ingressClassName", "IngressClass cf-ns names a Tunnel: its spec.parameters need scope: Namespace and the Tunnel's namespace"},
		{"Ingress: Service not found", func(f *fake) Result {
			delete(f.services, "default/api")
			return Ingress(webIngress(), f, opts)
		}, "spec.rules[0].http.paths[1].backend.service.name", "Service default/api not found"},
		{"Ingress: no such port", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[0].HTTP.Paths[1].Backend.Service.Port.Number = 9000
			return Ingress(ing, f, opts)
		}, "spec.rules[0].http.paths[1].backend.service.port", "Service default/api has no port 9000"},
		{"Ingress: no such port name", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "grpc"
			return Ingress(ing, f, opts)
		}, "spec.rules[0].http.paths[0].backend.service.port", "Service default/web has no port named grpc"},
		{"Ingress: hostless rule", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[1].Host = ""
			return Ingress(ing, f, opts)
		}, "spec.rules[1].host", "is required: cloudflared routes by hostname (the tunnel's catch-all is its spec.fallbackTarget)"},
		{"Ingress: default backend", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.DefaultBackend = &ing.Spec.Rules[0].HTTP.Paths[0].Backend
			return Ingress(ing, f, opts)
		}, "spec.defaultBackend", "is not supported: requests no rule matches go to the tunnel's catch-all, its spec.fallbackTarget"},
		{"Ingress: bad regex", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[0].HTTP.Paths[3].Path = "/static/("
			return Ingress(ing, f, opts)
		}, "spec.rules[0].http.paths[3].path", "is not a regular expression cloudflared accepts..."},
		{"Ingress: unknown annotation", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/conect-timeout"] = "5s"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/conect-timeout"]`, "is not an annotation conflux-sync knows (a typo?)..."},
		{"Ingress: bad boolean", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/no-tls-verify"] = "yes"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/no-tls-verify"]`, `must be a boolean ("true" or "false"), not "yes"`},
		{"Ingress: bad duration", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/tls-timeout"] = "-1s"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/tls-timeout"]`, `"-1s" must not be negative`},
		{"Ingress: unix socket", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/protocol"] = "unix+tls"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/protocol"]`, "unix sockets are not supported: the backend is a Service..."},
		{"Ingress: unknown protocol", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/protocol"] = "gopher"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/protocol"]`, `must be one of http, https, ws, wss, tcp, udp, ssh, rdp, smb, bastion, not "gopher"`},
		{"Ingress: bad ca-pool", func(f *fake) Result {
			ing := webIngress()
			ing.Annotations["cloudflare.com/ca-pool"] = "../etc"
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/ca-pool"]`, `"../etc" must not contain ".." (want a file of the tunnel's originCaPool Secret, mounted at /etc/cloudflared/certs/)`},
		{"Ingress: duplicate hostname and path", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules = append(ing.Spec.Rules, ingRule("www.example.com", ingPath(networkingv1.PathTypePrefix, "/", "api", 8080, "")))
			return Ingress(ing, f, opts)
		}, "spec.rules[2].http.paths[0]", `same hostname www.example.com and path "" as spec.rules[1].http.paths[0] (cloudflared would only ever use the first)`},
		{"Ingress: prefix / and ImplementationSpecific empty collide", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.Rules[1].HTTP.Paths = append(ing.Spec.Rules[1].HTTP.Paths, ingPath(networkingv1.PathTypeImplementationSpecific, "", "api", 8080, ""))
			return Ingress(ing, f, opts)
		}, "spec.rules[1].http.paths[1]", "same hostname www.example.com and path \"\" as spec.rules[1].http.paths[0]..."},
		{"Ingress: tunnel without domain", func(f *fake) Result {
			f.tunnels["ClusterTunnel edge"].Spec.Cloudflare.Domain = ""
			return Ingress(webIngress(), f, opts)
		}, "spec.rules[0].host", "ClusterTunnel edge has no spec.cloudflare.domain, so no DNS record can be made for app.example.com..."},

		// HTTPRoute.
		{"HTTPRoute: weighted backends", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[1].BackendRefs = append(r.Spec.Rules[1].BackendRefs, backend("api", 8080))
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].backendRefs", "has 2 backends: cloudflared sends each rule to one origin and has no weights..."},
		{"HTTPRoute: port required", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[1].BackendRefs[0].Port = nil
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].backendRefs[0].port", "is required"},
		{"HTTPRoute: no such port", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[1].BackendRefs[0].Port = ptr(int32(8080))
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].backendRefs[0].port", "Service default/web has no port 8080"},
		{"HTTPRoute: Service not found", func(f *fake) Result {
			delete(f.services, "default/web")
			return HTTPRoute(webRoute(), f, opts)
		}, "spec.rules[1].backendRefs[0].name", "Service default/web not found"},
		{"HTTPRoute: header match", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[0].Matches[1].Headers = []gatewayv1.HTTPHeaderMatch{{Name: "X-Env", Value: "beta"}}
			return HTTPRoute(r, f, opts)
		}, "spec.rules[0].matches[1].headers", "header matches are not supported: cloudflared matches host and path only"},
		{"HTTPRoute: method match", func(f *fake) Result {
			r := webRoute()
			m := gatewayv1.HTTPMethodGet
			r.Spec.Rules[0].Matches[0].Method = &m
			return HTTPRoute(r, f, opts)
		}, "spec.rules[0].matches[0].method", "method matches are not supported: cloudflared matches host and path only"},
		{"HTTPRoute: query match", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[0].Matches[0].QueryParams = []gatewayv1.HTTPQueryParamMatch{{Name: "a", Value: "b"}}
			return HTTPRoute(r, f, opts)
		}, "spec.rules[0].matches[0].queryParams", "query parameter matches are not supported: cloudflared matches host and path only"},
		{"HTTPRoute: filters", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[1].Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier}}
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].filters", "are not supported: cloudflared matches host and path only and cannot modify requests"},
		{"HTTPRoute: no hostnames anywhere", func(f *fake) Result {
			f.gateways["default/gw"].Spec.Listeners[0].Hostname = nil
			r := webRoute()
			r.Spec.Hostnames = nil
			return HTTPRoute(r, f, opts)
		}, "spec.hostnames", "is required: cloudflared routes by hostname, and the parent Gateways' listeners name none"},
		{"HTTPRoute: hostname not in zone", func(f *fake) Result {
			r := webRoute()
			r.Spec.Hostnames = append(r.Spec.Hostnames, "app.example.org")
			return HTTPRoute(r, f, opts)
		}, "spec.hostnames[1]", "hostname app.example.org is not in zone example.com of ClusterTunnel edge"},
		{"HTTPRoute: bad regex", func(f *fake) Result {
			r := webRoute()
			re := gatewayv1.PathMatchRegularExpression
			r.Spec.Rules[0].Matches[0].Path.Type = &re
			r.Spec.Rules[0].Matches[0].Path.Value = ptr("/(")
			return HTTPRoute(r, f, opts)
		}, "spec.rules[0].matches[0].path.value", "is not a regular expression cloudflared accepts..."},
		{"HTTPRoute: duplicate path", func(f *fake) Result {
			r := webRoute()
			r.Spec.Rules[1].Matches = []gatewayv1.HTTPRouteMatch{{Path: prefix("/api/")}}
			return HTTPRoute(r, f, opts)
		}, "spec.rules[1].matches[0]", `same hostname app.example.com and path "^/api(/|$)" as spec.rules[0].matches[0]...`},
		{"HTTPRoute: class without parametersRef", func(f *fake) Result {
			f.gclasses["cf"].Spec.ParametersRef = nil
			return HTTPRoute(webRoute(), f, opts)
		}, "spec.parentRefs[1]", "GatewayClass cf needs spec.parametersRef {group: networking.cloudflare-operator.io (or networking.cfargotunnel.com), kind: Tunnel or ClusterTunnel, name, namespace (for a Tunnel)}"},
		{"HTTPRoute: tunnel not found", func(f *fake) Result {
			delete(f.tunnels, "ClusterTunnel edge")
			return HTTPRoute(webRoute(), f, opts)
		}, "spec.parentRefs[1]", "GatewayClass cf: ClusterTunnel edge not found"},
		{"HTTPRoute: two tunnels", func(f *fake) Result {
			r := webRoute()
			r.Spec.ParentRefs = append(r.Spec.ParentRefs, gatewayv1.ParentReference{Name: "gw-ns"})
			return HTTPRoute(r, f, opts)
		}, "spec.parentRefs[2]", "selects Tunnel infra/t1 but spec.parentRefs[1] selects ClusterTunnel edge: one HTTPRoute is served through one tunnel"},
		{"HTTPRoute: unknown annotation", func(f *fake) Result {
			r := webRoute()
			r.Annotations["cloudflare.com/protocl"] = "http"
			return HTTPRoute(r, f, opts)
		}, `metadata.annotations["cloudflare.com/protocl"]`, "is not an annotation conflux-sync knows (a typo?)..."},

		// TunnelBinding.
		{"TunnelBinding: tunnel not found", func(f *fake) Result {
			b := webBinding()
			b.TunnelRef = v1alpha2.TunnelBindingRef{Kind: "Tunnel", Name: "x"}
			return TunnelBinding(Group, b, f, opts)
		}, "tunnelRef", "Tunnel default/x not found"},
		{"TunnelBinding: tunnel being deleted", func(f *fake) Result {
			f.tunnels["ClusterTunnel edge"].Meta.DeletionTimestamp = &now
			return TunnelBinding(Group, webBinding(), f, opts)
		}, "tunnelRef", "ClusterTunnel edge is being deleted"},
		{"TunnelBinding: Service not found", func(f *fake) Result {
			delete(f.services, "default/api")
			return TunnelBinding(Group, webBinding(), f, opts)
		}, "subjects[3].name", "Service default/api not found"},
		{"TunnelBinding: Service without ports", func(f *fake) Result {
			b := webBinding()
			b.Subjects[0].Name = "empty"
			return TunnelBinding(Group, b, f, opts)
		}, "subjects[0].name", "Service default/empty has no ports"},
		{"TunnelBinding: fqdn not in zone", func(f *fake) Result {
			b := webBinding()
			b.Subjects[2].Spec.Fqdn = "db.example.net"
			return TunnelBinding(Group, b, f, opts)
		}, "subjects[2].spec.fqdn", "hostname db.example.net is not in zone example.com of ClusterTunnel edge"},
		{"TunnelBinding: bad path", func(f *fake) Result {
			b := webBinding()
			b.Subjects[1].Spec.Path = "*"
			return TunnelBinding(Group, b, f, opts)
		}, "subjects[1].spec.path", "is not a regular expression cloudflared accepts..."},
		{"TunnelBinding: duplicate", func(f *fake) Result {
			b := webBinding()
			b.Subjects[3].Spec.Fqdn = "WEB.example.com"
			return TunnelBinding(Group, b, f, opts)
		}, "subjects[3]", `same hostname web.example.com and path "" as subjects[0] (cloudflared would only ever use the first)`},
	}
	runProblemCases(t, cases, newFake)
}

func accessApp() *v1alpha2.AccessApplication {
	return &v1alpha2.AccessApplication{ObjectMeta: meta("default", "app", 1), Spec: v1alpha2.AccessApplicationSpec{
		Name: "App", Domain: "app.example.com", Cloudflare: cfDetails("", "cf", acct1)}}
}

func TestNotManaged(t *testing.T) {
	cases := []struct {
		name string
		run  func(f *fake) Result
	}{
		{"Ingress of another controller", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.IngressClassName = ptr("nginx")
			return Ingress(ing, f, opts)
		}},
		{"Ingress of a missing class", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.IngressClassName = ptr("gone")
			return Ingress(ing, f, opts)
		}},
		{"Ingress without class and no default", func(f *fake) Result {
			ing := webIngress()
			ing.Spec.IngressClassName = nil
			return Ingress(ing, f, opts)
		}},
		{"Ingress without class, default is another controller's", func(f *fake) Result {
			f.classes["nginx"].Annotations = map[string]string{DefaultIngressClassAnnotation: "true"}
			ing := webIngress()
			ing.Spec.IngressClassName = nil
			return Ingress(ing, f, opts)
		}},
		{"HTTPRoute of another controller's Gateway", func(f *fake) Result {
			r := webRoute()
			r.Spec.ParentRefs = r.Spec.ParentRefs[:1]
			return HTTPRoute(r, f, opts)
		}},
		{"HTTPRoute of a missing Gateway", func(f *fake) Result {
			r := webRoute()
			r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "gone"}}
			return HTTPRoute(r, f, opts)
		}},
		{"HTTPRoute with a parent of another kind", func(f *fake) Result {
			r := webRoute()
			k := gatewayv1.Kind("Service")
			r.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "gw", Kind: &k}}
			return HTTPRoute(r, f, opts)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newFake())
			if r.Managed || len(r.Fragments) != 0 || len(r.Problems) != 0 {
				t.Errorf("got %+v, want the zero Result", r)
			}
		})
	}
}

// TestNoPanics feeds zero and half-filled objects through every function.
func TestNoPanics(t *testing.T) {
	f := newFake()
	empty := &fake{}
	for _, l := range []Lookup{f, empty} {
		_ = Tunnel(nsRef, &TunnelObject{}, l, opts)
		_ = Tunnel(ctRef, &TunnelObject{}, l, opts)
		_ = TunnelBinding(Group, &v1alpha2.TunnelBinding{}, l, opts)
		_ = TunnelBinding(GroupCfargotunnel, &v1alpha2.TunnelBinding{TunnelRef: v1alpha2.TunnelBindingRef{Kind: "ClusterTunnel", Name: "edge"},
			Subjects: []v1alpha2.TunnelBindingSubject{{}}}, l, opts)
		_ = Ingress(&networkingv1.Ingress{}, l, opts)
		ing := webIngress()
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: "x.example.com"},
			ingRule("y.example.com", networkingv1.HTTPIngressPath{Path: "/"}),
			ingRule("z.example.com", networkingv1.HTTPIngressPath{PathType: pathType("Weird"), Backend: networkingv1.IngressBackend{Resource: &corev1TypedRef}}))
		_ = Ingress(ing, l, opts)
		_ = HTTPRoute(&gatewayv1.HTTPRoute{}, l, opts)
		r := webRoute()
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{}, gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{}}, BackendRefs: []gatewayv1.HTTPBackendRef{{}}})
		_ = HTTPRoute(r, l, opts)
		_ = DNSRecord(&v1alpha2.DNSRecord{}, l, opts)
		_ = DNSRecord(&v1alpha2.DNSRecord{Spec: v1alpha2.DNSRecordSpec{Cloudflare: &v1alpha2.CloudflareDetails{}}}, l, opts)
		_ = AccessApplication(&v1alpha2.AccessApplication{}, l, opts)
		_ = NetworkRoute(&v1alpha2.NetworkRoute{}, l, opts)
		_ = NetworkRoute(&v1alpha2.NetworkRoute{Spec: v1alpha2.NetworkRouteSpec{TunnelRef: &v1alpha2.TunnelRef{}}}, l, opts)
	}
}

var corev1TypedRef = corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}
