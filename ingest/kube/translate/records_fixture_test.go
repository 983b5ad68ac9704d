package translate

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// Ids of the objects cloudflare-operator made, as its statuses record them.
const (
	zoneCom      = "023e105f4ecef8ad9ca31a8372d0c353"
	policyStaff  = "6f1b3c9e-2a4d-4e5f-8a7b-9c0d1e2f3a4b"
	policySvc    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	idpOTP       = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	vnetProd     = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
	appID        = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	recordIDWWW  = "372e67954025e0ba6aaa6d586b9e0b59"
	recordIDWWW2 = "9a7806061c88ada191ed06f989cc3dac"
)

// newRecordFake is newFake with what DNSRecords, AccessApplications and
// NetworkRoutes refer to: CloudflareCredentials and CloudflareDomains (none
// of them default), source objects with addresses, and the statuses of the
// kinds conflux-sync does not sync.
func newRecordFake() *fake {
	f := newFake()
	for _, ns := range []string{"default", "production", "gateway-system"} {
		f.secrets[ns+"/cloudflare-api-credentials"] = []string{"CLOUDFLARE_API_TOKEN"}
	}
	f.secrets["infra/zones"] = []string{"token"}
	creds := func(name, account, secretNS, secret, key, domain string) *v1alpha2.CloudflareCredentials {
		return &v1alpha2.CloudflareCredentials{ObjectMeta: meta("", name, 1), Spec: v1alpha2.CloudflareCredentialsSpec{
			AccountID: account, AccountName: "Acme " + name, DefaultDomain: domain,
			SecretRef: v1alpha2.CredentialsSecretRef{Name: secret, Namespace: secretNS, APITokenKey: key}}}
	}
	f.credentials = map[string]*v1alpha2.CloudflareCredentials{
		"default":    creds("default", acct1, "", "cf", "", "example.com"),
		"production": creds("production", "1234567890abcdef", "", "cf", "", ""),
		"zones":      creds("zones", acct2, "infra", "zones", "token", ""),
	}
	f.domains = []CloudflareDomain{
		{Name: "example-com", Domain: "example.com", ZoneID: zoneCom, CredentialsRef: "zones"},
		{Name: "apps", Domain: "apps.example.com", ZoneID: "b1946ac92492d2347c6235b4d2611184"},
		{Name: "example-org", Domain: "example.org"},
	}

	lb := func(ns, name string, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
		s := svc(ns, name, corev1.ServicePort{Port: 443})
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.ClusterIP = "10.96.0.10"
		s.Status.LoadBalancer.Ingress = ingress
		return s
	}
	f.services["production/api-service"] = lb("production", "api-service", corev1.LoadBalancerIngress{IP: "203.0.113.10"}, corev1.LoadBalancerIngress{IP: "2001:DB8::10"})
	f.services["production/app-service"] = lb("production", "app-service", corev1.LoadBalancerIngress{Hostname: "LB-123.elb.example.net."})
	f.services["default/app-service"] = lb("default", "app-service", corev1.LoadBalancerIngress{IP: "203.0.113.20"})
	f.services["default/ha-service"] = lb("default", "ha-service", corev1.LoadBalancerIngress{IP: "198.51.100.1"}, corev1.LoadBalancerIngress{IP: "2001:db8::2"}, corev1.LoadBalancerIngress{IP: "198.51.100.2"}, corev1.LoadBalancerIngress{IP: "198.51.100.1"})
	f.services["default/two-lbs"] = lb("default", "two-lbs", corev1.LoadBalancerIngress{Hostname: "a.elb.example.net"}, corev1.LoadBalancerIngress{Hostname: "b.elb.example.net"})
	f.services["default/pending"] = lb("default", "pending")
	ext := svc("default", "external-service")
	ext.Spec.Type, ext.Spec.ExternalName = corev1.ServiceTypeExternalName, "legacy.backend.example.net"
	f.services["default/external-service"] = ext
	headless := svc("default", "headless", corev1.ServicePort{Port: 80})
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	f.services["default/headless"] = headless
	internal := svc("default", "internal", corev1.ServicePort{Port: 80})
	internal.Spec.ClusterIP, internal.Spec.ExternalIPs = "10.96.0.20", []string{"192.0.2.7"}
	f.services["default/internal"] = internal

	f.ingresses = map[string]*networkingv1.Ingress{"default/web-ingress": {ObjectMeta: meta("default", "web-ingress", 1),
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.50", Hostname: "ingress.example.net"}}}}}}
	f.gateways["gateway-system/main-gateway"] = &gatewayv1.Gateway{ObjectMeta: meta("gateway-system", "main-gateway", 1),
		Status: gatewayv1.GatewayStatus{Addresses: []gatewayv1.GatewayStatusAddress{{Value: "2001:db8::80"}, {Value: "192.0.2.80"}}}}
	f.gateways["default/gw"].Status.Addresses = []gatewayv1.GatewayStatusAddress{{Value: "192.0.2.90"}}
	gwNS := gatewayv1.Namespace("gateway-system")
	f.routes = map[string]*gatewayv1.HTTPRoute{"default/myapp-route": {ObjectMeta: meta("default", "myapp-route", 1),
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{
			{Name: "missing-gw"}, {Name: "gw"}, {Name: "main-gateway", Namespace: &gwNS}}}}}}
	f.nodes = map[string]*corev1.Node{"worker-node-1": {ObjectMeta: meta("", "worker-node-1", 1),
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.5"},
			{Type: corev1.NodeExternalIP, Address: "198.51.100.7"},
			{Type: corev1.NodeHostName, Address: "worker-node-1"},
		}}}}

	f.statuses = map[string]map[string]string{
		"AccessPolicy employees":          {"policyId": policyStaff},
		"AccessPolicy service-accounts":   {"policyId": policySvc},
		"AccessPolicy unsynced":           {},
		"AccessIdentityProvider test-otp": {"providerId": idpOTP},
		"AccessIdentityProvider new-idp":  {"providerId": ""},
		// An Access application's private destination reads the id a
		// VirtualNetwork's status records (conflux-sync writes it there).
		"VirtualNetwork production-vnet": {"virtualNetworkId": strings.ToUpper(vnetProd)},
		"VirtualNetwork test-vnet":       {},
	}

	f.tunnels["ClusterTunnel edge"].Status.TunnelName = "edge"
	f.tunnels["ClusterTunnel edge"].Status.TunnelID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	for _, ref := range []ObjectRef{{Kind: "Tunnel", Namespace: "production", Name: "tenant-a-tunnel"}, {Kind: "Tunnel", Namespace: "default", Name: "web-app-tunnel"}} {
		tn := nsTunnel()
		tn.Meta = meta(ref.Namespace, ref.Name, 1)
		tn.Spec.Cloudflare = cfDetails("example.org", "cloudflare-api-credentials", acct2)
		f.tunnels[ref.String()] = tn
	}
	return f
}

// recCase is a valid object and what it becomes.
type recCase struct {
	name      string
	run       func(f *fake) Result
	source    string
	ns, obj   string
	want      string // render(r)
	tunnel    string
	hostnames []string
	status    string // Result.Status as JSON; "" for none
}

func runRecCases(t *testing.T, cases []recCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newRecordFake())
			if !r.Managed {
				t.Fatal("not managed")
			}
			if len(r.Problems) > 0 {
				t.Fatalf("problems:\n%s", problemsString(r.Problems))
			}
			if r.Keep || r.Waiting != "" {
				t.Errorf("Keep %v, Waiting %q", r.Keep, r.Waiting)
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
			if got := statusJSON(r); got != tc.status {
				t.Errorf("Status = %s, want %s", got, tc.status)
			}
			validateAll(t, r, Source(tc.source, tc.ns, tc.obj))
			for range 5 {
				if again := tc.run(newRecordFake()); !sameBytes(r, again) {
					t.Fatalf("second run differs:\n%s\n%s", render(r), render(again))
				}
			}
		})
	}
}

func statusJSON(r Result) string {
	if r.Status == nil {
		return ""
	}
	b, err := json.Marshal(r.Status)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// recProblem is an object that is not synced, and one of its problems.
type recProblem struct {
	name        string
	run         func(f *fake) Result
	field       string
	reason      string // exact unless it ends with "..." (then a prefix, and what follows an inner "..." a substring)
	unsupported bool
}

func runRecProblems(t *testing.T, cases []recProblem) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newRecordFake())
			if !r.Managed {
				t.Fatal("not managed")
			}
			if len(r.Fragments) != 0 || r.Keep {
				t.Errorf("fragments (keep %v) despite problems:\n%s", r.Keep, render(r))
			}
			for _, p := range r.Problems {
				if p.Field != tc.field || !reasonMatches(p.Reason, tc.reason) {
					continue
				}
				if p.Unsupported != tc.unsupported {
					t.Errorf("%s: Unsupported = %v, want %v", p, p.Unsupported, tc.unsupported)
				}
				return
			}
			t.Errorf("no problem %s: %s; got:\n%s", tc.field, tc.reason, problemsString(r.Problems))
		})
	}
}

func reasonMatches(got, want string) bool {
	w, ok := strings.CutSuffix(want, "...")
	if !ok {
		return got == want
	}
	before, after, _ := strings.Cut(w, "...")
	return strings.HasPrefix(got, before) && strings.Contains(got, after)
}

// recWait is an object whose last fragments stay (Keep), or that has
// none, while it waits for something.
type recWait struct {
	name    string
	run     func(f *fake) Result
	keep    bool
	waiting string
	status  string
}

func runRecWaits(t *testing.T, cases []recWait) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(newRecordFake())
			if !r.Managed || len(r.Problems) > 0 || len(r.Fragments) > 0 {
				t.Fatalf("managed %v, fragments:\n%sproblems:\n%s", r.Managed, render(r), problemsString(r.Problems))
			}
			if r.Keep != tc.keep || r.Waiting != tc.waiting {
				t.Errorf("Keep %v, Waiting %q; want %v, %q", r.Keep, r.Waiting, tc.keep, tc.waiting)
			}
			if got := statusJSON(r); got != tc.status {
				t.Errorf("Status = %s, want %s", got, tc.status)
			}
		})
	}
}
