package translate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func pathType(t networkingv1.PathType) *networkingv1.PathType { return &t }

func ingPath(pt networkingv1.PathType, path, svc string, port int32, portName string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: path, PathType: pathType(pt), Backend: networkingv1.IngressBackend{
		Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: port, Name: portName}}}}
}

func ingRule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

func webIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Generation: 3, Annotations: map[string]string{
			"cloudflare.com/connect-timeout": "30s",
			"cloudflare.com/no-tls-verify":   "true",
			"unrelated.io/x":                 "y",
		}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("cf"),
			Rules: []networkingv1.IngressRule{
				ingRule("App.Example.com",
					ingPath(networkingv1.PathTypePrefix, "/", "web", 0, "http"),
					ingPath(networkingv1.PathTypePrefix, "/api/", "api", 8080, ""),
					ingPath(networkingv1.PathTypeExact, "/login", "web", 443, ""),
					ingPath(networkingv1.PathTypeImplementationSpecific, `^/static/.*\.css$`, "web", 0, "admin")),
				ingRule("www.example.com", ingPath(networkingv1.PathTypePrefix, "/", "web", 80, "")),
			},
		},
	}
}

func prefix(v string) *gatewayv1.HTTPPathMatch {
	t := gatewayv1.PathMatchPathPrefix
	return &gatewayv1.HTTPPathMatch{Type: &t, Value: &v}
}

func backend(name string, port int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: &port}}}
}

func webRoute() *gatewayv1.HTTPRoute {
	exact := gatewayv1.PathMatchExact
	login := "/login"
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Generation: 5, Annotations: map[string]string{"cloudflare.com/protocol": "https"}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "other"}, {Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"app.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{
				{Matches: []gatewayv1.HTTPRouteMatch{{Path: prefix("/api")}, {Path: &gatewayv1.HTTPPathMatch{Type: &exact, Value: &login}}}, BackendRefs: []gatewayv1.HTTPBackendRef{backend("api", 8080)}},
				{BackendRefs: []gatewayv1.HTTPBackendRef{backend("web", 80)}},
			},
		},
	}
}

func webBinding() *v1alpha2.TunnelBinding {
	return &v1alpha2.TunnelBinding{
		ObjectMeta: meta("default", "b", 0),
		TunnelRef:  v1alpha2.TunnelBindingRef{Kind: "ClusterTunnel", Name: "edge"},
		Subjects: []v1alpha2.TunnelBindingSubject{
			{Name: "web"},
			{Name: "tls", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "secure.example.com", NoTLSVerify: true, CAPool: "ca", Path: "^/x", HTTP2Origin: true}},
			{Name: "db", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "db.example.com", Target: "tcp://db.other.svc:5432", ProxyType: "socks", ProxyPort: 1080, ProxyAddress: "127.0.0.1"}},
			{Name: "api", Spec: v1alpha2.TunnelBindingSubjectSpec{Protocol: "https"}},
		},
	}
}

func TestHappyPaths(t *testing.T) {
	cases := []struct {
		name      string
		run       func(l Lookup) Result
		source    string
		ns, obj   string
		want      string
		tunnel    string
		hostnames []string
	}{
		{
			name: "ClusterTunnel", source: SourceClusterTunnel, obj: "edge",
			run: func(l Lookup) Result {
				ct := clusterTunnel()
				ct.Spec.OriginRequest = &v1alpha2.OriginRequest{ConnectTimeout: "1m30s", TLSTimeout: "1500ms", KeepAliveConnections: ptr(int32(10)), HTTPHostHeader: "h.internal", ProxyType: "socks"}
				ct.Spec.NoTLSVerify = true
				ct.Spec.OriginCaPool = "ca"
				return Tunnel(ctRef, ct, l, opts)
			},
			want: `cloudflare.Tunnel ClusterTunnel/edge 2 {"accountId":"0123456789abcdef0123456789abcdef","name":"edge","credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 2 {"settings":{"fallbackTarget":"http_status:404","warpRouting":false,"originRequest":{"connectTimeout":90,"tlsTimeout":2,"keepAliveConnections":10,"httpHostHeader":"h.internal","caPool":"/etc/cloudflared/certs/tls.crt","noTLSVerify":true,"proxyType":"socks"}}}
`,
			tunnel: "ClusterTunnel/edge",
		},
		{
			name: "Tunnel existing by name, warp routing", source: SourceTunnel, ns: "infra", obj: "t1",
			run: func(l Lookup) Result {
				tn := nsTunnel()
				tn.Spec.EnableWarpRouting = true
				tn.Spec.FallbackTarget = "https://fallback.infra.svc:443"
				return Tunnel(nsRef, tn, l, opts)
			},
			want: `cloudflare.Tunnel Tunnel/infra/t1 1 {"accountId":"fedcba9876543210fedcba9876543210","name":"legacy","adopt":true,"credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration Tunnel/infra/t1 1 {"settings":{"fallbackTarget":"https://fallback.infra.svc:443","warpRouting":true}}
`,
			tunnel: "Tunnel/infra/t1",
		},
		{
			name: "Tunnel existing by id", source: SourceTunnel, ns: "infra", obj: "t1",
			run: func(l Lookup) Result {
				tn := nsTunnel()
				tn.Meta.Generation = 0
				tn.Spec.FallbackTarget = ""
				tn.Spec.ExistingTunnel = &v1alpha2.ExistingTunnel{ID: "F174E90A-FAFE-4643-BBBC-4A0ED4FC8415"}
				return Tunnel(nsRef, tn, l, opts)
			},
			want: `cloudflare.Tunnel Tunnel/infra/t1 1 {"accountId":"fedcba9876543210fedcba9876543210","name":"t1","adopt":true,"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration Tunnel/infra/t1 1 {"settings":{"warpRouting":false}}
`,
			tunnel: "Tunnel/infra/t1",
		},
		{
			name: "Ingress", source: SourceIngress, ns: "default", obj: "web",
			run: func(l Lookup) Result { return Ingress(webIngress(), l, opts) },
			want: `cloudflare.DNSRecord example.com 3 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},{"name":"www.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 3 {"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80","originRequest":{"connectTimeout":30,"noTLSVerify":true}},{"hostname":"app.example.com","path":"^/api(/|$)","service":"http://api.default.svc:8080","originRequest":{"connectTimeout":30,"noTLSVerify":true}},{"hostname":"app.example.com","path":"^/login$","service":"https://web.default.svc:443","originRequest":{"connectTimeout":30,"noTLSVerify":true}},{"hostname":"app.example.com","path":"^/static/.*\\.css$","service":"https://web.default.svc:9443","originRequest":{"connectTimeout":30,"noTLSVerify":true}},{"hostname":"www.example.com","service":"http://web.default.svc:80","originRequest":{"connectTimeout":30,"noTLSVerify":true}}]}
`,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"app.example.com", "www.example.com"},
		},
		{
			name: "Ingress of the default class, namespaced tunnel, DNS disabled", source: SourceIngress, ns: "default", obj: "plain",
			run: func(l Lookup) Result {
				f := l.(*fake)
				f.classes["cf-ns"].Annotations = map[string]string{DefaultIngressClassAnnotation: "true"}
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain", Generation: 1, Annotations: map[string]string{"cloudflare.com/disable-dns": "true"}},
					Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
						ingRule("elsewhere.net", ingPath(networkingv1.PathTypePrefix, "/docs", "tls", 443, "")),
					}},
				}
				return Ingress(ing, l, opts)
			},
			want: `cloudflare.TunnelConfiguration Tunnel/infra/t1 1 {"rules":[{"hostname":"elsewhere.net","path":"^/docs(/|$)","service":"https://tls.default.svc:443"}]}
`,
			tunnel:    "Tunnel/infra/t1",
			hostnames: []string{"elsewhere.net"},
		},
		{
			name: "Ingress with the legacy class annotation", source: SourceIngress, ns: "default", obj: "legacy",
			run: func(l Lookup) Result {
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "legacy", Generation: 1, Annotations: map[string]string{LegacyIngressClassAnnotation: "cf", "cloudflare.com/protocol": "tcp"}},
					Spec:       networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{ingRule("example.com", ingPath(networkingv1.PathTypePrefix, "/", "api", 8080, ""))}},
				}
				return Ingress(ing, l, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"example.com","service":"tcp://api.default.svc:8080"}]}
`,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"example.com"},
		},
		{
			name: "HTTPRoute", source: SourceHTTPRoute, ns: "default", obj: "web",
			run: func(l Lookup) Result { return HTTPRoute(webRoute(), l, opts) },
			want: `cloudflare.DNSRecord example.com 5 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 5 {"rules":[{"hostname":"app.example.com","service":"https://web.default.svc:80"},{"hostname":"app.example.com","path":"^/api(/|$)","service":"https://api.default.svc:8080"},{"hostname":"app.example.com","path":"^/login$","service":"https://api.default.svc:8080"}]}
`,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"app.example.com"},
		},
		{
			name: "HTTPRoute with the listeners' hostnames", source: SourceHTTPRoute, ns: "default", obj: "web",
			run: func(l Lookup) Result {
				r := webRoute()
				r.Annotations = nil
				r.Spec.Hostnames = nil
				r.Spec.Rules = r.Spec.Rules[1:]
				return HTTPRoute(r, l, opts)
			},
			want: `cloudflare.DNSRecord example.com 5 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"*.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 5 {"rules":[{"hostname":"*.example.com","service":"http://web.default.svc:80"}]}
`,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"*.example.com"},
		},
		{
			name: "TunnelBinding", source: SourceTunnelBinding, ns: "default", obj: "b",
			run: func(l Lookup) Result { return TunnelBinding(Group, webBinding(), l, opts) },
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"api.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"cfargotunnel"}},{"name":"db.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"cfargotunnel"}},{"name":"secure.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"cfargotunnel"}},{"name":"web.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"cfargotunnel"}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"api.example.com","service":"https://api.default.svc:8080","originRequest":{"noTLSVerify":false,"http2Origin":false}},{"hostname":"db.example.com","service":"tcp://db.other.svc:5432","originRequest":{"noTLSVerify":false,"proxyPort":1080,"proxyType":"socks","http2Origin":false}},{"hostname":"secure.example.com","path":"^/x","service":"https://tls.default.svc:443","originRequest":{"caPool":"/etc/cloudflared/certs/ca","noTLSVerify":true,"http2Origin":true}},{"hostname":"web.example.com","service":"http://web.default.svc:80","originRequest":{"noTLSVerify":false,"http2Origin":false}}]}
`,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"api.example.com", "db.example.com", "secure.example.com", "web.example.com"},
		},
		{
			name: "TunnelBinding to a namespaced Tunnel without DNS", source: SourceTunnelBinding, ns: "infra", obj: "b",
			run: func(l Lookup) Result {
				l.(*fake).services["infra/web"] = svc("infra", "web", corev1.ServicePort{Port: 443})
				b := &v1alpha2.TunnelBinding{
					ObjectMeta: meta("infra", "b", 7),
					TunnelRef:  v1alpha2.TunnelBindingRef{Kind: "Tunnel", Name: "t1", DisableDNSUpdates: true},
					Subjects:   []v1alpha2.TunnelBindingSubject{{Name: "web", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "web.other.net"}}},
				}
				return TunnelBinding(Group, b, l, opts)
			},
			want: `cloudflare.TunnelConfiguration Tunnel/infra/t1 7 {"rules":[{"hostname":"web.other.net","service":"https://web.infra.svc:443","originRequest":{"noTLSVerify":false,"http2Origin":false}}]}
`,
			tunnel:    "Tunnel/infra/t1",
			hostnames: []string{"web.other.net"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newFake())
			if !r.Managed {
				t.Fatal("not managed")
			}
			if len(r.Problems) > 0 {
				t.Fatalf("problems:\n%s", problemsString(r.Problems))
			}
			if got := render(r); got != tc.want {
				t.Errorf("fragments:\n got %s\nwant %s", got, tc.want)
			}
			if r.Tunnel != tc.tunnel {
				t.Errorf("Tunnel = %q, want %q", r.Tunnel, tc.tunnel)
			}
			if !equalStrings(r.Hostnames, tc.hostnames) {
				t.Errorf("Hostnames = %q, want %q", r.Hostnames, tc.hostnames)
			}
			validateAll(t, r, Source(tc.source, tc.ns, tc.obj))
			// Determinism: the same input (and fresh maps, iterated in
			// another order) gives the same bytes.
			for range 10 {
				if again := tc.run(newFake()); !sameBytes(r, again) {
					t.Fatalf("second run differs:\n%s\n%s", render(r), render(again))
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
