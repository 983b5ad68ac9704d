package translate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	tunnelkind "github.com/conflux-sync/conflux-sync/sync/tunnel"
)

// The dialect fixtures, added to newFake's.
var (
	// legacyRef is a ClusterTunnel of adyanth's group, in zone example.com.
	legacyRef = ObjectRef{Group: GroupCfargotunnel, Kind: "ClusterTunnel", Name: "legacy"}
	// strrlOpts serves STRRL's classes through the ClusterTunnel edge.
	strrlOpts = Options{Namespace: "conflux", DefaultTunnel: &ctRef}
)

// newDialectFake is newFake with the objects of the cloudflare-operator
// and STRRL dialects: their classes and class configs, more Services, a
// tunnel of adyanth's group, CloudflareDomains and the records
// cloudflare-operator generated.
func newDialectFake() *fake {
	f := newFake()
	group := Group
	cfargo := GroupCfargotunnel
	f.classes["cf-op"] = ingressClass("cf-op", CloudflareOperatorIngressController,
		&networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: KindTunnelIngressClassConfig, Name: "edge"})
	f.classes["cloudflare-tunnel"] = ingressClass("cloudflare-tunnel", STRRLIngressController, nil)
	f.classes["cf-legacy"] = ingressClass("cf-legacy", IngressController,
		&networkingv1.IngressClassParametersReference{APIGroup: &cfargo, Kind: "ClusterTunnel", Name: "legacy"})

	legacy := clusterTunnel()
	legacy.Meta.Name = "legacy"
	f.tunnels[legacyRef.String()] = legacy

	f.configs = map[string]*v1alpha2.ClassConfigSpec{
		// As cloudflare-operator's CRD defaults a TunnelIngressClassConfig.
		"TunnelIngressClassConfig conflux/edge": {
			TunnelRef:            v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
			DefaultProtocol:      "http",
			DefaultOriginRequest: &v1alpha2.OriginRequest{NoTLSVerify: ptr(false), HTTP2Origin: ptr(false)},
			DNSManagement:        "Automatic",
			DNSProxied:           ptr(true),
		},
		"TunnelGatewayClassConfig infra/gw": {
			TunnelRef:            v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"},
			DefaultOriginRequest: &v1alpha2.OriginRequest{NoTLSVerify: ptr(true), HTTP2Origin: ptr(false), ConnectTimeout: "30s"},
			DNSManagement:        "DNSRecord",
		},
	}

	gwNS := gatewayv1.Namespace("infra")
	f.gclasses["cf-op"] = &gatewayv1.GatewayClass{ObjectMeta: meta("", "cf-op", 1), Spec: gatewayv1.GatewayClassSpec{
		ControllerName: CloudflareOperatorGatewayController,
		ParametersRef:  &gatewayv1.ParametersReference{Group: Group, Kind: KindTunnelGatewayClassConfig, Name: "gw", Namespace: &gwNS}}}
	f.gateways["default/gw-op"] = &gatewayv1.Gateway{ObjectMeta: meta("default", "gw-op", 1), Spec: gatewayv1.GatewaySpec{GatewayClassName: "cf-op", Listeners: httpListener}}

	ws := "kubernetes.io/ws"
	h2c := "kubernetes.io/h2c"
	f.services["default/app"] = svc("default", "app",
		corev1.ServicePort{Name: "web", Port: 8080},
		corev1.ServicePort{Name: "events", Port: 8081, AppProtocol: &ws},
		corev1.ServicePort{Name: "grpc", Port: 8082, AppProtocol: &h2c},
		corev1.ServicePort{Name: "http2", Port: 8083},
		corev1.ServicePort{Name: "ssh", Port: 2222},
		corev1.ServicePort{Name: "metrics", Port: 9090})
	f.services["default/annotated"] = svc("default", "annotated", corev1.ServicePort{Name: "http", Port: 80})
	f.services["default/annotated"].Annotations = map[string]string{"cloudflare.com/protocol": "https"}
	f.services["default/partner"] = svc("default", "partner", corev1.ServicePort{Name: "https", Port: 443})
	f.services["default/partner"].Spec.Type = corev1.ServiceTypeExternalName
	f.services["default/partner"].Spec.ExternalName = "api.partner.example"
	f.services["default/headless"] = svc("default", "headless", corev1.ServicePort{Port: 80})
	f.services["default/headless"].Spec.ClusterIP = corev1.ClusterIPNone
	f.services["default/db"] = svc("default", "db", corev1.ServicePort{Name: "postgres", Port: 5432})

	f.domains = []CloudflareDomain{
		{Name: "net", Domain: "example.net", ZoneID: "z-net"},
		{Name: "dev", Domain: "dev.example.net", ZoneID: "z-dev"},
	}
	f.generated = map[string]map[string]string{
		"Ingress default/web-op": {"app.example.com": "rec-app", "WWW.example.com.": "rec-www"},
		"Gateway default/gw-op":  {"app.example.org": "rec-gw-app"},
	}
	return f
}

// operatorIngress is an Ingress of cloudflare-operator's class whose rules
// cloudflare-operator wrote to Cloudflare exactly as operatorIngressRules.
func operatorIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-op", Generation: 2},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("cf-op"),
			Rules: []networkingv1.IngressRule{
				ingRule("app.example.com",
					ingPath(networkingv1.PathTypePrefix, "/api", "api", 8080, ""),
					ingPath(networkingv1.PathTypePrefix, "/static/", "web", 443, ""),
					ingPath(networkingv1.PathTypeExact, "/login", "web", 0, "admin"),
					networkingv1.HTTPIngressPath{Path: "/old", PathType: pathType(networkingv1.PathTypeImplementationSpecific),
						Backend: networkingv1.IngressBackend{Resource: &corev1TypedRef}}),
				ingRule("www.example.com", ingPath(networkingv1.PathTypePrefix, "/", "web", 0, "")),
			},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"app.example.com", "secure.example.com"}}},
		},
	}
}

// The rules cloudflare-operator wrote for operatorIngress (its
// configuration writer sends these booleans with every originRequest).
const operatorFalses = `"originRequest":{"noHappyEyeballs":false,"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false}`

// strrlIngress is an Ingress of STRRL's class.
func strrlIngress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "dash", Generation: 4, Annotations: map[string]string{
			STRRLAnnotationPrefix + "backend-protocol": "https",
			STRRLAnnotationPrefix + "http-host-header": "dash.internal",
			STRRLAnnotationPrefix + "connect-timeout":  "30s",
		}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("cloudflare-tunnel"),
			Rules: []networkingv1.IngressRule{
				ingRule("dash.example.com",
					ingPath(networkingv1.PathTypePrefix, "/", "web", 0, "https"),
					ingPath(networkingv1.PathTypeImplementationSpecific, "/api", "partner", 443, "")),
				ingRule("*.dev.example.net", ingPath(networkingv1.PathTypePrefix, "/", "web", 9443, "")),
			},
		},
	}
}

func TestIngressDialects(t *testing.T) {
	cases := []dialectCase{
		{
			name: "conflux-sync: tunnel of adyanth's group, protocol per port, unproxied", obj: "legacy",
			run: func(f *fake) Result {
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "legacy", Generation: 1, Annotations: map[string]string{
						"cloudflare.com/protocol-9443":        "wss",
						"cloudflare.com/protocol-8080":        "udp",
						"cloudflare.com/dns-proxied":          "0",
						"cloudflare.com/bastion-mode":         "F",
						"cloudflare.com/proxy-address":        "127.0.0.1",
						"cloudflare.com/proxy-port":           "1080",
						"cloudflare.com/proxy-type":           "socks",
						"cloudflare.com/ca-pool":              "ca.crt",
						STRRLAnnotationPrefix + "tls-timeout": "5s",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cf-legacy"), Rules: []networkingv1.IngressRule{
						ingRule("app.example.com",
							ingPath(networkingv1.PathTypePrefix, "/", "web", 0, "admin"),
							ingPath(networkingv1.PathTypePrefix, "/dns", "api", 8080, ""),
							ingPath(networkingv1.PathTypePrefix, "/x", "web", 80, "")),
					}},
				}
				return Ingress(ing, f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel.networking.cfargotunnel.com/legacy","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel.networking.cfargotunnel.com/legacy 1 {"rules":[{"hostname":"app.example.com","service":"wss://web.default.svc:9443","originRequest":{"caPool":"/etc/cloudflared/certs/ca.crt","bastionMode":false,"proxyAddress":"127.0.0.1","proxyPort":1080,"proxyType":"socks"}},{"hostname":"app.example.com","path":"^/dns(/|$)","service":"udp://api.default.svc:8080","originRequest":{"caPool":"/etc/cloudflared/certs/ca.crt","bastionMode":false,"proxyAddress":"127.0.0.1","proxyPort":1080,"proxyType":"socks"}},{"hostname":"app.example.com","path":"^/x(/|$)","service":"http://web.default.svc:80","originRequest":{"caPool":"/etc/cloudflared/certs/ca.crt","bastionMode":false,"proxyAddress":"127.0.0.1","proxyPort":1080,"proxyType":"socks"}}]}
`,
			dialect:   DialectConflux,
			tunnel:    "ClusterTunnel.networking.cfargotunnel.com/legacy",
			hostnames: []string{"app.example.com"},
			degraded:  []string{`metadata.annotations["cloudflare-tunnel-ingress-controller.strrl.dev/tls-timeout"]`},
		},
		{
			name: "cloudflare-operator: as it wrote the rules", obj: "web-op",
			run: func(f *fake) Result { return Ingress(operatorIngress(), f, opts) },
			want: `cloudflare.DNSRecord example.com 2 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"recordIds":["rec-app"]}},{"name":"secure.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},{"name":"www.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"recordIds":["rec-www"]}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 2 {"rules":[` +
				`{"hostname":"app.example.com","path":"/api(/.*)?$","service":"http://api.default.svc:8080",` + operatorFalses + `},` +
				`{"hostname":"app.example.com","path":"/old(/.*)?$","service":"http_status:503",` + operatorFalses + `},` +
				`{"hostname":"app.example.com","path":"/static/.*","service":"https://web.default.svc:443",` + operatorFalses + `},` +
				`{"hostname":"app.example.com","path":"^/login$","service":"https://web.default.svc:9443",` + operatorFalses + `},` +
				`{"hostname":"www.example.com","service":"http://web.default.svc:80",` + operatorFalses + `}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"app.example.com", "www.example.com"},
			degraded:  []string{"spec.rules[0].http.paths[3].backend.resource"},
		},
		{
			name: "cloudflare-operator: annotations override the defaults, DNS unproxied, manual DNS off", obj: "ann",
			run: func(f *fake) Result {
				f.configs["TunnelIngressClassConfig conflux/edge"].DefaultOriginRequest.ConnectTimeout = "10s"
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ann", Generation: 1, Annotations: map[string]string{
						"cloudflare.com/no-tls-verify":            "TRUE",
						"cloudflare.com/connect-timeout":          "1m",
						"cloudflare.com/tls-timeout":              "5s",
						"cloudflare.com/keep-alive-timeout":       "90s",
						"cloudflare.com/keep-alive-connections":   "0",
						"cloudflare.com/origin-server-name":       "origin.internal",
						"cloudflare.com/http-host-header":         "app.internal",
						"cloudflare.com/disable-chunked-encoding": "t",
						"cloudflare.com/http2-origin":             "1",
						"cloudflare.com/dns-proxied":              "false",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cf-op"), Rules: []networkingv1.IngressRule{
						ingRule("app.example.com", ingPath(networkingv1.PathTypePrefix, "/", "partner", 443, "")),
						ingRule("", ingPath(networkingv1.PathTypePrefix, "/", "web", 80, "")),
						{Host: "bare.example.com"},
					}, DefaultBackend: &networkingv1.IngressBackend{Resource: &corev1TypedRef}},
				}
				return Ingress(ing, f, opts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":false},{"name":"bare.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":false}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"app.example.com","service":"https://partner.default.svc:443","originRequest":{"connectTimeout":60,"tlsTimeout":5,"noHappyEyeballs":false,"keepAliveConnections":0,"keepAliveTimeout":90,"httpHostHeader":"app.internal","originServerName":"origin.internal","noTLSVerify":true,"disableChunkedEncoding":true,"bastionMode":false,"http2Origin":true}}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"app.example.com"},
			degraded:  []string{"spec.defaultBackend", "spec.rules[1].host", "spec.rules[2].http"},
		},
		{
			name: "cloudflare-operator: protocol detection", obj: "proto",
			run: func(f *fake) Result {
				spec := f.configs["TunnelIngressClassConfig conflux/edge"]
				spec.DefaultProtocol = "tcp"
				spec.DefaultOriginRequest = nil
				spec.DNSManagement = "Manual"
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "proto", Generation: 1, Annotations: map[string]string{
						"cloudflare.com/protocol-9090": "https",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cf-op"), Rules: []networkingv1.IngressRule{
						ingRule("p.example.com",
							// level 3: the Service's annotation
							ingPath(networkingv1.PathTypePrefix, "/svc-annotation", "annotated", 80, ""),
							// level 4: appProtocol (ws), and h2c (h2mux, replaced)
							ingPath(networkingv1.PathTypePrefix, "/app-protocol", "app", 0, "events"),
							ingPath(networkingv1.PathTypePrefix, "/h2c", "app", 8082, ""),
							// level 5: port name
							ingPath(networkingv1.PathTypePrefix, "/port-name", "app", 2222, ""),
							ingPath(networkingv1.PathTypePrefix, "/http2", "app", 8083, ""),
							// level 2: protocol-<port>
							ingPath(networkingv1.PathTypePrefix, "/per-port", "app", 9090, ""),
							// level 6: defaultProtocol (port unnamed)
							ingPath(networkingv1.PathTypePrefix, "/default", "api", 8080, ""),
							// a number the Service does not list: used as written
							ingPath(networkingv1.PathTypePrefix, "/unlisted", "api", 8443, ""),
							// first port
							ingPath(networkingv1.PathTypePrefix, "/first", "app", 0, "")),
					}},
				}
				return Ingress(ing, f, opts)
			},
			want: `cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[` +
				`{"hostname":"p.example.com","path":"/app-protocol(/.*)?$","service":"ws://app.default.svc:8081"},` +
				`{"hostname":"p.example.com","path":"/default(/.*)?$","service":"tcp://api.default.svc:8080"},` +
				`{"hostname":"p.example.com","path":"/first(/.*)?$","service":"http://app.default.svc:8080"},` +
				`{"hostname":"p.example.com","path":"/h2c(/.*)?$","service":"http://app.default.svc:8082"},` +
				`{"hostname":"p.example.com","path":"/http2(/.*)?$","service":"http://app.default.svc:8083"},` +
				`{"hostname":"p.example.com","path":"/per-port(/.*)?$","service":"https://app.default.svc:9090"},` +
				`{"hostname":"p.example.com","path":"/port-name(/.*)?$","service":"ssh://app.default.svc:2222"},` +
				`{"hostname":"p.example.com","path":"/svc-annotation(/.*)?$","service":"https://annotated.default.svc:80"},` +
				`{"hostname":"p.example.com","path":"/unlisted(/.*)?$","service":"tcp://api.default.svc:8443"}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"p.example.com"},
			degraded:  []string{"spec.rules[0].http.paths[2].backend.service", "spec.rules[0].http.paths[4].backend.service"},
		},
		{
			name: "cloudflare-operator: the protocol annotation wins, port 443 without defaultProtocol", obj: "proto2",
			run: func(f *fake) Result {
				spec := f.configs["TunnelIngressClassConfig conflux/edge"]
				spec.DefaultProtocol = ""
				spec.DNSManagement = "DNSRecord"
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "proto2", Generation: 1, Annotations: map[string]string{
						"cloudflare.com/disable-dns": "true",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cf-op"), Rules: []networkingv1.IngressRule{
						ingRule("q.example.org", ingPath(networkingv1.PathTypePrefix, "/", "tls", 443, "")),
					}},
				}
				r := Ingress(ing, f, opts)
				ing.Annotations["cloudflare.com/protocol"] = "ssh"
				ing.Spec.Rules[0].Host = "r.example.org"
				r2 := Ingress(ing, f, opts)
				r.Fragments = append(r.Fragments, r2.Fragments...)
				return r
			},
			want: `cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"q.example.org","service":"https://tls.default.svc:443","originRequest":{"noHappyEyeballs":false,"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false}}]}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"r.example.org","service":"ssh://tls.default.svc:443","originRequest":{"noHappyEyeballs":false,"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false}}]}
`,
			dialect:   DialectCloudflareOperator,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"q.example.org"},
		},
		{
			name: "STRRL: as it wrote the rules", obj: "dash",
			run: func(f *fake) Result { return Ingress(strrlIngress(), f, strrlOpts) },
			want: `cloudflare.DNSRecord dev.example.net 4 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"*.dev.example.net","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"strrl"}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.DNSRecord example.com 4 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"dash.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"strrl"}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 4 {"rules":[` +
				`{"hostname":"*.dev.example.net","path":"/","service":"https://web.default.svc.cluster.local:9443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}},` +
				`{"hostname":"dash.example.com","path":"/","service":"https://web.default.svc.cluster.local:443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}},` +
				`{"hostname":"dash.example.com","path":"/api","service":"https://api.partner.example:443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}}]}
`,
			dialect:   DialectSTRRL,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"*.dev.example.net", "dash.example.com"},
		},
		{
			name: "STRRL: tcp drops paths, every origin annotation, DNS management off", obj: "db",
			run: func(f *fake) Result {
				a := func(k string) string { return STRRLAnnotationPrefix + k }
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db", Generation: 1, Annotations: map[string]string{
						a("backend-protocol"):         "TCP",
						a("disable-dns-management"):   "true",
						a("tls-timeout"):              "10s",
						a("tcp-keepalive"):            "1m",
						a("keepalive-timeout"):        "90s",
						a("keepalive-connections"):    "0",
						a("no-happy-eyeballs"):        "true",
						a("no-tls-verify"):            "false",
						a("disable-chunked-encoding"): "true",
						a("http2-origin"):             "false",
						a("origin-server-name"):       "db.internal",
						"cloudflare.com/protocol":     "https",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cloudflare-tunnel"), Rules: []networkingv1.IngressRule{
						ingRule("db.elsewhere.io",
							ingPath(networkingv1.PathTypePrefix, "/", "db", 0, "postgres"),
							ingPath(networkingv1.PathTypePrefix, "/replica", "db", 5432, "")),
						{Host: "placeholder.example.com"},
					}, TLS: []networkingv1.IngressTLS{{Hosts: []string{"db.elsewhere.io"}}}},
				}
				return Ingress(ing, f, strrlOpts)
			},
			want: `cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"db.elsewhere.io","service":"tcp://db.default.svc.cluster.local:5432","originRequest":{"tlsTimeout":10,"tcpKeepAlive":60,"noHappyEyeballs":true,"keepAliveConnections":0,"keepAliveTimeout":90,"noTLSVerify":false,"disableChunkedEncoding":true,"http2Origin":false}}]}
`,
			dialect:   DialectSTRRL,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"db.elsewhere.io"},
			degraded: []string{
				`metadata.annotations["cloudflare.com/protocol"]`,
				`metadata.annotations["cloudflare-tunnel-ingress-controller.strrl.dev/origin-server-name"]`,
				"spec.tls",
				"spec.rules[0].http.paths[1].path",
				"spec.rules[1].http",
			},
		},
		{
			name: "STRRL: proxy-ssl-verify on, origin-server-name, Exact, custom cluster domain", obj: "verify",
			run: func(f *fake) Result {
				a := func(k string) string { return STRRLAnnotationPrefix + k }
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "verify", Generation: 1, Annotations: map[string]string{
						a("backend-protocol"):   "https",
						a("proxy-ssl-verify"):   "on",
						a("origin-server-name"): "web.internal",
						a("http2-origin"):       "true",
					}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cloudflare-tunnel"), Rules: []networkingv1.IngressRule{
						ingRule("v.example.net", ingPath(networkingv1.PathTypeExact, "/a.b", "web", 443, "")),
					}},
				}
				o := strrlOpts
				o.ClusterDomain = "k8s.example.internal"
				return Ingress(ing, f, o)
			},
			want: `cloudflare.DNSRecord example.net 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"v.example.net","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"strrl"}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"v.example.net","path":"^/a\\.b$","service":"https://web.default.svc.k8s.example.internal:443","originRequest":{"originServerName":"web.internal","noTLSVerify":false,"http2Origin":true}}]}
`,
			dialect:   DialectSTRRL,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"v.example.net"},
		},
		{
			name: "STRRL: plain http, no originRequest", obj: "plain",
			run: func(f *fake) Result {
				ing := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain", Generation: 1},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cloudflare-tunnel"), Rules: []networkingv1.IngressRule{
						ingRule("plain.example.com", ingPath(networkingv1.PathTypePrefix, "/", "api", 8080, "")),
					}},
				}
				return Ingress(ing, f, strrlOpts)
			},
			want: `cloudflare.DNSRecord example.com 1 {"accountId":"0123456789abcdef0123456789abcdef","records":[{"name":"plain.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"strrl"}}],"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
cloudflare.TunnelConfiguration ClusterTunnel/edge 1 {"rules":[{"hostname":"plain.example.com","path":"/","service":"http://api.default.svc.cluster.local:8080"}]}
`,
			dialect:   DialectSTRRL,
			tunnel:    "ClusterTunnel/edge",
			hostnames: []string{"plain.example.com"},
		},
	}
	runDialectCases(t, cases, newDialectFake, SourceIngress)
}

// dialectCase is one object translated in a dialect, with what it must
// become.
type dialectCase struct {
	name string
	run  func(f *fake) Result
	// obj is the object's name (in namespace default).
	obj       string
	want      string
	dialect   Dialect
	tunnel    string
	hostnames []string
	// degraded are the fields of the expected Degraded entries.
	degraded []string
}

// runDialectCases translates each case against a fresh fake and checks
// everything it must become, and that translating again gives the same
// bytes.
func runDialectCases(t *testing.T, cases []dialectCase, newFake func() *fake, sourceKind string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newFake())
			if !r.Managed {
				t.Fatal("not managed")
			}
			if len(r.Problems) > 0 {
				t.Fatalf("problems:\n%s", problemsString(r.Problems))
			}
			if r.Dialect != tc.dialect {
				t.Errorf("Dialect = %q, want %q", r.Dialect, tc.dialect)
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
			if got := problemFields(r.Degraded); !equalStrings(got, tc.degraded) {
				t.Errorf("Degraded fields %q, want %q:\n%s", got, tc.degraded, problemsString(r.Degraded))
			}
			validateAll(t, r, Source(sourceKind, "default", tc.obj))
			for range 5 {
				if again := tc.run(newFake()); !sameBytes(r, again) {
					t.Fatalf("second run differs:\n%s\n%s", render(r), render(again))
				}
			}
		})
	}
}

func problemFields(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return out
}

// TestIngressTakeOverWritesNothing: the tunnel configuration conflux-sync
// aggregates from the translated Ingresses (and the Tunnel's settings)
// means exactly what cloudflare-operator or STRRL's controller PUT, as the
// config flusher compares them, so taking over writes nothing.
func TestIngressTakeOverWritesNothing(t *testing.T) {
	cases := []struct {
		name    string
		results func(f *fake) []Result
		sources []string
		// tunnel is the Tunnel object's originRequest.
		tunnelOrigin *v1alpha2.OriginRequest
		// remote is the configuration the upstream controller PUT, in
		// its order and spelling.
		remote string
	}{
		{
			// The tunnel-wide settings make the rules' spelled-out
			// falses count.
			name:         "cloudflare-operator",
			tunnelOrigin: &v1alpha2.OriginRequest{NoTLSVerify: ptr(true), DisableChunkedEncoding: ptr(true)},
			results:      func(f *fake) []Result { return []Result{Ingress(operatorIngress(), f, opts)} },
			sources:      []string{"web-op"},
			remote: `{"ingress":[` +
				`{"hostname":"app.example.com","path":"/api(/.*)?$","service":"http://api.default.svc:8080","originRequest":{"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}},` +
				`{"hostname":"app.example.com","path":"/old(/.*)?$","service":"http_status:503","originRequest":{"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}},` +
				`{"hostname":"app.example.com","path":"/static/.*","service":"https://web.default.svc:443","originRequest":{"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}},` +
				`{"hostname":"app.example.com","path":"^/login$","service":"https://web.default.svc:9443","originRequest":{"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}},` +
				`{"hostname":"www.example.com","service":"http://web.default.svc:80","originRequest":{"noTLSVerify":false,"disableChunkedEncoding":false,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}},` +
				`{"service":"http_status:404"}],"originRequest":{"noTLSVerify":true,"disableChunkedEncoding":true,"bastionMode":false,"http2Origin":false,"noHappyEyeballs":false}}`,
		},
		{
			name: "STRRL",
			results: func(f *fake) []Result {
				plain := &networkingv1.Ingress{
					ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain", Generation: 1, Annotations: map[string]string{
						STRRLAnnotationPrefix + "backend-protocol": "tcp"}},
					Spec: networkingv1.IngressSpec{IngressClassName: ptr("cloudflare-tunnel"), Rules: []networkingv1.IngressRule{
						ingRule("redis.example.com", ingPath(networkingv1.PathTypePrefix, "/", "api", 8080, "")),
					}},
				}
				return []Result{Ingress(strrlIngress(), f, strrlOpts), Ingress(plain, f, strrlOpts)}
			},
			sources: []string{"dash", "plain"},
			// STRRL's order: exact hostnames first, then by hostname,
			// longer paths first.
			remote: `{"ingress":[` +
				`{"hostname":"dash.example.com","path":"/api","service":"https://api.partner.example:443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}},` +
				`{"hostname":"dash.example.com","path":"/","service":"https://web.default.svc.cluster.local:443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}},` +
				`{"hostname":"redis.example.com","service":"tcp://api.default.svc.cluster.local:8080"},` +
				`{"hostname":"*.dev.example.net","path":"/","service":"https://web.default.svc.cluster.local:9443","originRequest":{"connectTimeout":30,"httpHostHeader":"dash.internal","noTLSVerify":true}},` +
				`{"service":"http_status:404"}],"originRequest":{}}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDialectFake()
			target := api.TargetRef{Kind: api.KindTunnelConfiguration, Name: "ClusterTunnel/edge"}
			ct := clusterTunnel()
			ct.Spec.OriginRequest = tc.tunnelOrigin
			tr := Tunnel(ctRef, ct, f, opts)
			frags := fragmentsFor(target, tr, Source(SourceClusterTunnel, "", "edge"), 1)
			for i, r := range tc.results(f) {
				if len(r.Problems) > 0 {
					t.Fatalf("problems:\n%s", problemsString(r.Problems))
				}
				frags = append(frags, fragmentsFor(target, r, Source(SourceIngress, "default", tc.sources[i]), uint64(i+2))...)
			}
			agg, err := tunnelkind.New().Aggregate(target, frags)
			if err != nil {
				t.Fatal(err)
			}
			if len(agg.Conflicts) > 0 {
				t.Fatalf("conflicts: %v", agg.Conflicts)
			}
			if equal, diffs := tunnelkind.CompareConfigs(json.RawMessage(tc.remote), agg.Desired); !equal {
				t.Errorf("the takeover would PUT:\n%s\ndesired %s", strings.Join(diffs, "\n"), agg.Desired)
			}
		})
	}
}

// fragmentsFor returns r's fragments of target as stored fragments of source.
func fragmentsFor(target api.TargetRef, r Result, source api.SourceRef, index uint64) []api.Fragment {
	var out []api.Fragment
	for _, f := range r.Fragments {
		if f.Target == target {
			out = append(out, api.Fragment{Target: f.Target, Source: source, Generation: f.Generation, Spec: f.Spec, CreateIndex: index, ModifyIndex: index})
		}
	}
	return out
}

func TestIngressDialectProblems(t *testing.T) {
	noTunnel := Options{Namespace: "conflux"}
	cases := []problemCase{
		// cloudflare-operator.
		{"cloudflare-operator: class without parameters", func(f *fake) Result {
			f.classes["cf-op"].Spec.Parameters = nil
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", `IngressClass cf-op needs spec.parameters {apiGroup: networking.cloudflare-operator.io, kind: TunnelIngressClassConfig, name, namespace (default "conflux")}`},
		{"cloudflare-operator: parameters of another kind", func(f *fake) Result {
			f.classes["cf-op"].Spec.Parameters.Kind = "ClusterTunnel"
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", `IngressClass cf-op needs spec.parameters...; its kind is "ClusterTunnel"...`},
		{"cloudflare-operator: parameters without apiGroup", func(f *fake) Result {
			f.classes["cf-op"].Spec.Parameters.APIGroup = nil
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", `IngressClass cf-op needs spec.parameters...; its apiGroup is ""...`},
		{"cloudflare-operator: config not found", func(f *fake) Result {
			ns := "infra"
			f.classes["cf-op"].Spec.Parameters.Namespace = &ns
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf-op: TunnelIngressClassConfig infra/edge not found"},
		{"cloudflare-operator: no namespace to default to", func(f *fake) Result {
			return Ingress(operatorIngress(), f, Options{})
		}, "spec.ingressClassName", "IngressClass cf-op: its spec.parameters name no namespace, and conflux-sync has no namespace configured to default it to"},
		{"cloudflare-operator: config's Tunnel defaults to its namespace", func(f *fake) Result {
			f.configs["TunnelIngressClassConfig conflux/edge"].TunnelRef = v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"}
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", "IngressClass cf-op: TunnelIngressClassConfig conflux/edge: spec.tunnelRef: Tunnel conflux/t1 not found"},
		{"cloudflare-operator: bad default duration", func(f *fake) Result {
			f.configs["TunnelIngressClassConfig conflux/edge"].DefaultOriginRequest.TLSTimeout = "soon"
			return Ingress(operatorIngress(), f, opts)
		}, "spec.ingressClassName", `IngressClass cf-op: TunnelIngressClassConfig conflux/edge: spec.defaultOriginRequest.tlsTimeout: "soon" is not a duration...`},
		{"cloudflare-operator: Service not found", func(f *fake) Result {
			delete(f.services, "default/api")
			return Ingress(operatorIngress(), f, opts)
		}, "spec.rules[0].http.paths[0].backend.service.name", "Service default/api not found"},
		{"cloudflare-operator: named port not found", func(f *fake) Result {
			ing := operatorIngress()
			ing.Spec.Rules[0].HTTP.Paths[2].Backend.Service.Port.Name = "grpc"
			return Ingress(ing, f, opts)
		}, "spec.rules[0].http.paths[2].backend.service.port", "Service default/web has no port named grpc"},
		{"cloudflare-operator: Service without ports", func(f *fake) Result {
			ing := operatorIngress()
			ing.Spec.Rules[1].HTTP.Paths[0].Backend.Service.Name = "empty"
			return Ingress(ing, f, opts)
		}, "spec.rules[1].http.paths[0].backend.service.port", "is required: Service default/empty lists no ports"},
		{"cloudflare-operator: path that is no regular expression", func(f *fake) Result {
			ing := operatorIngress()
			ing.Spec.Rules[0].HTTP.Paths[0].Path = "/a("
			return Ingress(ing, f, opts)
		}, "spec.rules[0].http.paths[0].path", `becomes "/a((/.*)?$", which is not a regular expression cloudflared accepts...`},
		{"cloudflare-operator: hostname outside the zone", func(f *fake) Result {
			ing := operatorIngress()
			ing.Spec.Rules[1].Host = "www.example.org"
			return Ingress(ing, f, opts)
		}, "spec.rules[1].host", "hostname www.example.org is not in zone example.com of ClusterTunnel edge"},
		{"cloudflare-operator: duplicate hostname and path", func(f *fake) Result {
			ing := operatorIngress()
			ing.Spec.Rules[1].HTTP.Paths = append(ing.Spec.Rules[1].HTTP.Paths, ingPath(networkingv1.PathTypeImplementationSpecific, "", "api", 8080, ""))
			return Ingress(ing, f, opts)
		}, "spec.rules[1].http.paths[1]", `same hostname www.example.com and path "" as spec.rules[1].http.paths[0]...`},
		{"cloudflare-operator: unknown annotation", func(f *fake) Result {
			ing := operatorIngress()
			ing.Annotations = map[string]string{"cloudflare.com/tunnel": "edge"}
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/tunnel"]`, "is not an annotation conflux-sync knows (a typo?)..."},
		{"cloudflare-operator: bad protocol", func(f *fake) Result {
			ing := operatorIngress()
			ing.Annotations = map[string]string{"cloudflare.com/protocol-443": "h2c"}
			return Ingress(ing, f, opts)
		}, `metadata.annotations["cloudflare.com/protocol-443"]`, `must be one of http, https, ws, wss, tcp, udp, ssh, rdp, smb, bastion, not "h2c"`},

		// STRRL.
		{"STRRL: no default tunnel", func(f *fake) Result {
			return Ingress(strrlIngress(), f, noTunnel)
		}, "spec.ingressClassName", "IngressClass cloudflare-tunnel is STRRL's controller's, which names its tunnel in its own flags: conflux-sync's --kube-default-tunnel must name the Tunnel or ClusterTunnel standing for the tunnel STRRL's controller used"},
		{"STRRL: default tunnel not found", func(f *fake) Result {
			o := strrlOpts
			o.DefaultTunnel = &ObjectRef{Group: Group, Kind: "ClusterTunnel", Name: "gone"}
			return Ingress(strrlIngress(), f, o)
		}, "spec.ingressClassName", "IngressClass cloudflare-tunnel (the default tunnel, --kube-default-tunnel): ClusterTunnel gone not found"},
		{"STRRL: hostless rule", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].Host = ""
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].host", "is required: cloudflared routes by hostname..."},
		{"STRRL: hostname in no zone", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].Host = "dash.example.io"
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].host", `dash.example.io is in no zone conflux-sync knows: neither in zone "example.com" of ClusterTunnel edge nor under a CloudflareDomain...`},
		{"STRRL: headless Service", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].HTTP.Paths[1].Backend.Service.Name = "headless"
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].http.paths[1].backend.service.name", "Service default/headless is headless (clusterIP: None)..."},
		{"STRRL: named port not found", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "grpc"
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].http.paths[0].backend.service.port", "Service default/web has no port named grpc"},
		{"STRRL: Service not found", func(f *fake) Result {
			delete(f.services, "default/partner")
			return Ingress(strrlIngress(), f, strrlOpts)
		}, "spec.rules[0].http.paths[1].backend.service.name", "Service default/partner not found"},
		{"STRRL: resource backend", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].HTTP.Paths[1].Backend = networkingv1.IngressBackend{Resource: &corev1TypedRef}
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].http.paths[1].backend.resource", "is not supported: cloudflared proxies to Services"},
		{"STRRL: path that is no regular expression", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].HTTP.Paths[1].Path = "*.css"
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].http.paths[1].path", "is not a regular expression cloudflared accepts..."},
		{"STRRL: duplicate hostname and path, another service", func(f *fake) Result {
			ing := strrlIngress()
			ing.Spec.Rules[0].HTTP.Paths[1].Path = "/"
			return Ingress(ing, f, strrlOpts)
		}, "spec.rules[0].http.paths[1]", `same hostname dash.example.com and path "/" as spec.rules[0].http.paths[0]...`},
		{"STRRL: unknown annotation", func(f *fake) Result {
			ing := strrlIngress()
			ing.Annotations[STRRLAnnotationPrefix+"proxy-read-timeout"] = "30s"
			return Ingress(ing, f, strrlOpts)
		}, `metadata.annotations["cloudflare-tunnel-ingress-controller.strrl.dev/proxy-read-timeout"]`, "is not an annotation STRRL's controller knows (a typo?)..."},
		{"STRRL: bad backend-protocol", func(f *fake) Result {
			ing := strrlIngress()
			ing.Annotations[STRRLAnnotationPrefix+"backend-protocol"] = "http s"
			return Ingress(ing, f, strrlOpts)
		}, `metadata.annotations["cloudflare-tunnel-ingress-controller.strrl.dev/backend-protocol"]`, `"http s" is not a URL scheme such as http, https, tcp or ssh`},
	}
	runProblemCases(t, cases, newDialectFake)
}

// hasProblem reports whether ps has a problem on field whose reason is
// reason (exact, or with "..." standing for any text).
func hasProblem(ps []Problem, field, reason string) bool {
	for _, p := range ps {
		if p.Field != field {
			continue
		}
		if want, ok := strings.CutSuffix(reason, "..."); ok {
			before, after, _ := strings.Cut(want, "...")
			if strings.HasPrefix(p.Reason, before) && strings.Contains(p.Reason, after) {
				return true
			}
		} else if p.Reason == reason {
			return true
		}
	}
	return false
}

func TestIngressDialectNotManaged(t *testing.T) {
	cases := []struct {
		name string
		run  func(f *fake) Result
	}{
		{"cloudflare-operator: namespace not watched", func(f *fake) Result {
			f.configs["TunnelIngressClassConfig conflux/edge"].WatchNamespaces = []string{"prod", "staging"}
			return Ingress(operatorIngress(), f, opts)
		}},
		{"cloudflare-operator's controller not configured", func(f *fake) Result {
			o := opts
			o.IngressControllers = map[string]Dialect{IngressController: DialectConflux, STRRLIngressController: DialectSTRRL}
			return Ingress(operatorIngress(), f, o)
		}},
		{"STRRL's controller not configured", func(f *fake) Result {
			o := strrlOpts
			o.IngressControllers = map[string]Dialect{IngressController: DialectConflux}
			return Ingress(strrlIngress(), f, o)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newDialectFake())
			if r.Managed || len(r.Fragments) != 0 || len(r.Problems) != 0 || r.Dialect != "" {
				t.Errorf("got %+v, want the zero Result", r)
			}
		})
	}
}

// TestIngressDialectConfigured: a controller name configured with another
// dialect is translated in it; a watched namespace is managed.
func TestIngressDialectConfigured(t *testing.T) {
	f := newDialectFake()
	f.configs["TunnelIngressClassConfig conflux/edge"].WatchNamespaces = []string{"default"}
	if r := Ingress(operatorIngress(), f, opts); !r.Managed || len(r.Problems) > 0 {
		t.Fatalf("watched namespace: %+v", r)
	}
	f.classes["custom"] = ingressClass("custom", "example.com/tunnels", nil)
	ing := strrlIngress()
	ing.Spec.IngressClassName = ptr("custom")
	o := strrlOpts
	o.IngressControllers = map[string]Dialect{"example.com/tunnels": DialectSTRRL}
	r := Ingress(ing, f, o)
	if !r.Managed || r.Dialect != DialectSTRRL || len(r.Problems) > 0 || len(r.Fragments) != 3 {
		t.Fatalf("got %+v", r)
	}
	o.IngressControllers = map[string]Dialect{"example.com/tunnels": "nginx"}
	r = Ingress(ing, f, o)
	if !hasProblem(r.Problems, "spec.ingressClassName", `IngressClass custom's controller example.com/tunnels is configured with the dialect "nginx", which conflux-sync does not know...`) {
		t.Fatalf("unknown dialect: %s", problemsString(r.Problems))
	}
}

// TestIngressDegradedReasons pins the wording of a few Degraded entries.
func TestIngressDegradedReasons(t *testing.T) {
	f := newDialectFake()
	ing := operatorIngress()
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service = &networkingv1.IngressServiceBackend{Name: "app", Port: networkingv1.ServiceBackendPort{Number: 8082}}
	r := Ingress(ing, f, opts)
	i := slices.IndexFunc(r.Degraded, func(p Problem) bool { return p.Field == "spec.rules[0].http.paths[0].backend.service" })
	if i < 0 || !strings.HasPrefix(r.Degraded[i].Reason, "the appProtocol kubernetes.io/h2c of Service default/app's port 8082 asks for h2c (HTTP/2 without TLS): cloudflare-operator wrote the scheme h2mux") {
		t.Errorf("h2c: %s", problemsString(r.Degraded))
	}
}

// TestDialectNoPanics feeds zero and half-filled objects through every
// dialect, with a full and an empty Lookup.
func TestDialectNoPanics(t *testing.T) {
	for _, l := range []Lookup{newRouteFake(), &fake{}} {
		for _, class := range []string{"cf-op", "cloudflare-tunnel", "cf-legacy"} {
			for _, o := range []Options{opts, strrlOpts, {}} {
				_ = Ingress(&networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: ptr(class)}}, l, o)
				ing := strrlIngress()
				ing.Spec.IngressClassName = ptr(class)
				ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: "x.example.com"},
					ingRule("y.example.com", networkingv1.HTTPIngressPath{Path: "/"}),
					ingRule("z.example.com", networkingv1.HTTPIngressPath{PathType: pathType("Weird"), Backend: networkingv1.IngressBackend{Resource: &corev1TypedRef}}),
					ingRule("w.example.com", networkingv1.HTTPIngressPath{Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "empty"}}}))
				ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"", "t.example.com", "t.example.io"}}}
				_ = Ingress(ing, l, o)
			}
		}
		_ = HTTPRoute(&gatewayv1.HTTPRoute{Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw-op"}}}}}, l, opts)
		r := operatorRoute()
		r.Spec.Hostnames = append(r.Spec.Hostnames, "")
		r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{}, gatewayv1.HTTPRouteRule{Matches: []gatewayv1.HTTPRouteMatch{{}, {Path: &gatewayv1.HTTPPathMatch{}}}, BackendRefs: []gatewayv1.HTTPBackendRef{{}}})
		_ = HTTPRoute(r, l, opts)
	}
}
