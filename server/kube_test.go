package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// The API server is started once for the package, on first use, and
// stopped by TestMain.
var kubeAPI struct {
	once sync.Once
	env  *kubetest.Env
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if kubeAPI.env != nil {
		if err := kubeAPI.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}
	os.Exit(code)
}

func kubeEnv(t testing.TB) *kubetest.Env {
	t.Helper()
	kubeAPI.once.Do(func() { kubeAPI.env, kubeAPI.err = kubetest.Start() })
	if errors.Is(kubeAPI.err, kubetest.ErrSkip) {
		t.Skip(kubeAPI.err)
	}
	if kubeAPI.err != nil {
		t.Fatal(kubeAPI.err)
	}
	return kubeAPI.env
}

const testZone = "example.com"

// kubeFixture is one test's namespace on the shared API server, a
// Cloudflare emulator, and a three-node cluster watching that API server.
type kubeFixture struct {
	t      testing.TB
	ctx    context.Context
	ns     string
	k8s    client.Client
	cf     *cloudflare
	zoneID string
	c      *testCluster
}

func newKubeFixture(t testing.TB) *kubeFixture {
	t.Helper()
	return newKubeFixtureAs(t, nil)
}

// newKubeFixtureAs is newKubeFixture with the nodes reaching the API server
// through ingest (nil: as administrator); the test's own client is always
// administrator.
func newKubeFixtureAs(t testing.TB, ingest *rest.Config) *kubeFixture {
	t.Helper()
	return newKubeFixtureWith(t, ingest, nil)
}

// newKubeFixtureWith is newKubeFixtureAs with each node's Kubernetes
// settings passed through tune (when not nil).
func newKubeFixtureWith(t testing.TB, ingest *rest.Config, tune func(ns string, kc *server.KubeConfig)) *kubeFixture {
	t.Helper()
	return newKubeFixtureConfig(t, ingest, func(ns string, cfg *server.Config) {
		cfg.Sync.Debounce = 50 * time.Millisecond
		if tune != nil {
			tune(ns, &cfg.Kube)
		}
	})
}

// newKubeFixtureConfig is newKubeFixtureAs with each node's whole
// configuration passed through tune (when not nil), after the fixture has
// set it up; the benchmarks use it to keep the default sync settings.
func newKubeFixtureConfig(t testing.TB, ingest *rest.Config, tune func(ns string, cfg *server.Config)) *kubeFixture {
	t.Helper()
	env := kubeEnv(t)
	if ingest == nil {
		ingest = env.Config
	}
	scheme, err := kube.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	f := &kubeFixture{t: t, ctx: context.Background(), ns: "t-" + randomSuffix(), k8s: k8s}
	f.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}})
	f.cf = newCloudflare(t, nil)
	f.zoneID = f.cf.emu.AddZone(cfAccount, testZone)
	// No static credentials: every token comes from the Secret the objects name.
	f.c = newTestClusterWith(t, 3, withCloudflare(f.cf, func(cfg *server.Config) {
		cfg.Cloudflare.Credentials = nil
		cfg.Kube = server.KubeConfig{REST: ingest, Namespace: f.ns, StatusInterval: 2 * time.Second}
		if tune != nil {
			tune(f.ns, cfg)
		}
	}))
	f.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cloudflare", Namespace: f.ns},
		Data:       map[string][]byte{v1alpha2.DefaultAPITokenKey: []byte(cfToken)},
	})
	f.create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)},
			{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)},
		}},
	})
	return f
}

func (f *kubeFixture) create(obj client.Object) {
	f.t.Helper()
	if err := f.k8s.Create(f.ctx, obj); err != nil {
		f.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	f.t.Cleanup(func() { f.k8s.Delete(context.Background(), obj) })
}

// tunnel creates Tunnel "edge" (Cloudflare name edge-<ns>) and an
// IngressClass and GatewayClass whose parameters select it.
func (f *kubeFixture) tunnel() {
	f.t.Helper()
	f.create(&v1alpha2.Tunnel{
		ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: f.ns},
		Spec: v1alpha2.TunnelSpec{
			NewTunnel:      &v1alpha2.NewTunnel{Name: f.tunnelName()},
			Cloudflare:     v1alpha2.CloudflareDetails{AccountID: cfAccount, Domain: testZone, Secret: "cloudflare", CLOUDFLARE_API_TOKEN: v1alpha2.DefaultAPITokenKey},
			FallbackTarget: "http_status:404",
		},
	})
	f.create(&networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns},
		Spec: networkingv1.IngressClassSpec{
			Controller: translate.IngressController,
			Parameters: &networkingv1.IngressClassParametersReference{
				APIGroup: ptr.To(v1alpha2.GroupVersion.Group), Kind: v1alpha2.KindTunnel, Name: "edge",
				Scope: ptr.To("Namespace"), Namespace: ptr.To(f.ns),
			},
		},
	})
	f.create(&gatewayv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns},
		Spec: gatewayv1.GatewayClassSpec{
			ControllerName: translate.GatewayController,
			ParametersRef: &gatewayv1.ParametersReference{
				Group: gatewayv1.Group(v1alpha2.GroupVersion.Group), Kind: v1alpha2.KindTunnel, Name: "edge",
				Namespace: ptr.To(gatewayv1.Namespace(f.ns)),
			},
		},
	})
	f.create(&gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: f.ns},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(f.ns),
			Listeners:        []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
		},
	})
}

func (f *kubeFixture) tunnelName() string { return "edge-" + f.ns }

func (f *kubeFixture) ingress(name, host, path, port string) *networkingv1.Ingress {
	backend := networkingv1.ServiceBackendPort{Name: port}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(f.ns),
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path: path, PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: backend}},
				}},
			}}}},
		},
	}
}

// remoteRules returns hostname+path → service of the tunnel's configuration
// in the emulator.
func (f *kubeFixture) remoteRules() map[string]string {
	cfg, ok := f.cf.tunnelConfig(f.tunnelName())
	if !ok {
		return nil
	}
	var parsed struct {
		Ingress []struct{ Hostname, Path, Service string } `json:"ingress"`
	}
	if err := json.Unmarshal(cfg, &parsed); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range parsed.Ingress {
		out[r.Hostname+r.Path] = r.Service
	}
	return out
}

// waitRules waits until the tunnel's configuration in Cloudflare is
// exactly want (hostname+path → service; "" is the catch-all).
func (f *kubeFixture) waitRules(want map[string]string, timeout time.Duration, what string) {
	f.t.Helper()
	testutil.WaitFor(f.t, timeout, what, func() bool { return fmt.Sprint(f.remoteRules()) == fmt.Sprint(want) })
}

// cnames returns the CNAME records of the zone: name → content.
func (f *kubeFixture) cnames() map[string]string {
	out := map[string]string{}
	for _, r := range f.cf.emu.DNSRecords(f.zoneID) {
		if r.Type == "CNAME" {
			out[r.Name] = r.Content
		}
	}
	return out
}

// update changes the named object, reading it again when conflux-sync's
// status writes got in between.
func (f *kubeFixture) update(obj client.Object, name string, mutate func()) {
	f.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		f.get(obj, name)
		mutate()
		return f.k8s.Update(f.ctx, obj)
	})
	if err != nil {
		f.t.Fatalf("update %s: %v", name, err)
	}
}

func (f *kubeFixture) get(obj client.Object, name string) bool {
	err := f.k8s.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		f.t.Fatal(err)
	}
	return err == nil
}

// condition returns the condition of a CRD object, nil if absent.
func condition(conds []metav1.Condition, typ string) *metav1.Condition {
	return apimeta.FindStatusCondition(conds, typ)
}

// waitReady waits until the named CRD object's Ready condition is True
// for its current generation.
func (f *kubeFixture) waitReady(obj client.Object, name string, conds func() []metav1.Condition) {
	f.t.Helper()
	testutil.WaitFor(f.t, 60*time.Second, fmt.Sprintf("%T %s Ready", obj, name), func() bool {
		if !f.get(obj, name) {
			return false
		}
		c := condition(conds(), v1alpha2.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
	})
}

// ingressVerdict returns the Ingress's status annotations.
func (f *kubeFixture) ingressVerdict(name string) (ready, reason, message string) {
	var ing networkingv1.Ingress
	if !f.get(&ing, name) {
		return "", "", ""
	}
	a := ing.Annotations
	return a[kube.AnnotationReady], a[kube.AnnotationReason], a[kube.AnnotationMessage]
}

func (f *kubeFixture) waitIngressReady(name string) {
	f.t.Helper()
	var ready, reason, msg string
	testutil.WaitFor(f.t, 60*time.Second, "Ingress "+name+" ready", func() bool {
		ready, reason, msg = f.ingressVerdict(name)
		if ready != "True" {
			f.t.Logf("Ingress %s: %s %s: %s", name, ready, reason, msg)
			return false
		}
		var ing networkingv1.Ingress
		f.get(&ing, name)
		return ing.Annotations[kube.AnnotationObservedGeneration] == strconv.FormatInt(ing.Generation, 10)
	})
}

// waitIngressAddress waits until the Ingress shows the tunnel as its address.
func (f *kubeFixture) waitIngressAddress(name, tunnelID string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 30*time.Second, "Ingress "+name+"'s address", func() bool {
		var ing networkingv1.Ingress
		f.get(&ing, name)
		lb := ing.Status.LoadBalancer.Ingress
		return len(lb) == 1 && lb[0].Hostname == tunnelID+".cfargotunnel.com"
	})
}

// waitEvent waits for an Event about the named object whose "Type Reason
// Message" starts with prefix.
func (f *kubeFixture) waitEvent(kind, name, prefix, what string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 30*time.Second, what, func() bool {
		for _, e := range f.events(kind, name) {
			if strings.HasPrefix(e, prefix) {
				return true
			}
		}
		return false
	})
}

// events returns the Events about the named object: "Type Reason Message".
func (f *kubeFixture) events(kind, name string) []string {
	var list corev1.EventList
	if err := f.k8s.List(f.ctx, &list, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			out = append(out, e.Type+" "+e.Reason+" "+e.Message)
		}
	}
	return out
}

func TestKubeIngestConverges(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	f.create(f.ingress("web", "app.example.com", "/", "http"))
	api := f.ingress("api", "app.example.com", "/api", "https")
	f.create(api)
	f.create(&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "route", Namespace: f.ns},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw"}}},
			Hostnames:       []gatewayv1.Hostname{"route.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{{
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
					Name: "web", Port: ptr.To(gatewayv1.PortNumber(80)),
				}}}},
			}},
		},
	})
	f.create(&v1alpha2.TunnelBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bind", Namespace: f.ns},
		Subjects:   []v1alpha2.TunnelBindingSubject{{Kind: "Service", Name: "web", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "bind.example.com"}}},
		TunnelRef:  v1alpha2.TunnelBindingRef{Kind: v1alpha2.KindTunnel, Name: "edge"},
	})

	svc := "web." + f.ns + ".svc"
	want := map[string]string{
		"app.example.com":           "http://" + svc + ":80",
		"app.example.com^/api(/|$)": "https://" + svc + ":443",
		"route.example.com":         "http://" + svc + ":80",
		"bind.example.com":          "http://" + svc + ":80",
		"":                          "http_status:404",
	}
	f.waitRules(want, 60*time.Second, "the tunnel configuration in Cloudflare")
	id := f.cf.tunnelID(f.tunnelName())
	testutil.WaitFor(t, 30*time.Second, "the CNAMEs in Cloudflare", func() bool {
		got := f.cnames()
		for _, h := range []string{"app.example.com", "route.example.com", "bind.example.com"} {
			if got[h] != id+".cfargotunnel.com" {
				return false
			}
		}
		return len(got) == 3
	})

	var tn v1alpha2.Tunnel
	f.waitReady(&tn, "edge", func() []metav1.Condition { return tn.Status.Conditions })
	if tn.Status.TunnelID != id || tn.Status.ObservedGeneration != tn.Generation {
		t.Errorf("Tunnel status: tunnelId %q (want %q), observedGeneration %d of %d", tn.Status.TunnelID, id, tn.Status.ObservedGeneration, tn.Generation)
	}
	if !slicesContain(tn.Finalizers, kube.Finalizer) {
		t.Errorf("a created Tunnel carries finalizer %s; has %v", kube.Finalizer, tn.Finalizers)
	}
	var tokenSecret corev1.Secret
	testutil.WaitFor(t, 30*time.Second, "the connector token Secret", func() bool {
		return f.get(&tokenSecret, "edge"+kube.TokenSecretSuffix)
	})
	var token struct{ A, T, S string }
	raw, err := base64.StdEncoding.DecodeString(string(tokenSecret.Data[kube.TokenSecretKey]))
	if err != nil || json.Unmarshal(raw, &token) != nil || token.T != id || token.A != cfAccount || token.S == "" {
		t.Errorf("connector token Secret: %q is not the token of tunnel %s (err %v)", tokenSecret.Data[kube.TokenSecretKey], id, err)
	}
	if own := tokenSecret.OwnerReferences; len(own) != 1 || own[0].Kind != v1alpha2.KindTunnel || own[0].UID != tn.UID {
		t.Errorf("connector token Secret owners %+v, want the Tunnel", own)
	}

	var tb v1alpha2.TunnelBinding
	f.waitReady(&tb, "bind", func() []metav1.Condition { return tb.Status.Conditions })
	if tb.Status.TunnelID != id || tb.Status.Hostnames != "bind.example.com" {
		t.Errorf("TunnelBinding status: %+v", tb.Status)
	}
	f.waitIngressReady("web")
	f.waitIngressAddress("web", id)
	testutil.WaitFor(t, 30*time.Second, "HTTPRoute route accepted", func() bool {
		var r gatewayv1.HTTPRoute
		f.get(&r, "route")
		for _, p := range r.Status.Parents {
			c := condition(p.Conditions, string(gatewayv1.RouteConditionAccepted))
			ready := condition(p.Conditions, v1alpha2.ConditionReady)
			if p.ControllerName == translate.GatewayController && c != nil && c.Status == metav1.ConditionTrue && ready != nil && ready.Status == metav1.ConditionTrue {
				return true
			}
		}
		return false
	})
	f.waitEvent("Tunnel", "edge", "Normal Synced", "a Synced event for Tunnel edge")

	// An update moves the rule; a delete removes it and its CNAME.
	f.update(api, "api", func() { api.Spec.Rules[0].HTTP.Paths[0].Path = "/v2" })
	var route gatewayv1.HTTPRoute
	f.get(&route, "route")
	if err := f.k8s.Delete(f.ctx, &route); err != nil {
		t.Fatal(err)
	}
	delete(want, "app.example.com^/api(/|$)")
	delete(want, "route.example.com")
	want["app.example.com^/v2(/|$)"] = "https://" + svc + ":443"
	f.waitRules(want, 60*time.Second, "the updated configuration in Cloudflare")
	testutil.WaitFor(t, 30*time.Second, "route.example.com's CNAME deleted", func() bool {
		_, ok := f.cnames()["route.example.com"]
		return !ok
	})
	for _, rec := range f.cf.emu.DNSRecords(f.zoneID) {
		if !strings.Contains(rec.Comment, "conflux-sync:") {
			t.Errorf("record %s has no ownership marker: %q", rec.Name, rec.Comment)
		}
	}

	// An Ingress handed to another controller leaves the tunnel, and what
	// conflux-sync wrote on it goes.
	var web networkingv1.Ingress
	f.update(&web, "web", func() { web.Spec.IngressClassName = ptr.To("nginx") })
	delete(want, "app.example.com")
	f.waitRules(want, 60*time.Second, "the handed-over Ingress's rule gone")
	testutil.WaitFor(t, 30*time.Second, "conflux-sync's marks on the handed-over Ingress gone", func() bool {
		f.get(&web, "web")
		_, marked := web.Annotations[kube.AnnotationReady]
		return !marked && len(web.Status.LoadBalancer.Ingress) == 0
	})
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestKubeIngestConflictOlderWins(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	f.create(f.ingress("first", "app.example.com", "/", "http"))
	f.waitIngressReady("first")
	f.create(f.ingress("second", "app.example.com", "/", "https"))

	testutil.WaitFor(t, 60*time.Second, "Ingress second reports the conflict", func() bool {
		ready, reason, _ := f.ingressVerdict("second")
		return ready == "False" && reason == kube.ReasonConflict
	})
	_, _, msg := f.ingressVerdict("second")
	wantMsg := "hostname app.example.com is already served by Ingress " + f.ns + "/first"
	if msg != wantMsg {
		t.Errorf("conflict message %q, want %q", msg, wantMsg)
	}
	f.waitEvent("Ingress", "second", "Warning Conflict "+wantMsg, "a Warning Conflict event on Ingress second")
	if ready, _, _ := f.ingressVerdict("first"); ready != "True" {
		t.Errorf("the older Ingress lost its Ready verdict: %q", ready)
	}
	if got := f.remoteRules()["app.example.com"]; got != "http://web."+f.ns+".svc:80" {
		t.Errorf("app.example.com routes to %q, want the older Ingress's http backend", got)
	}

	// The winner goes: the other takes the hostname over.
	var first networkingv1.Ingress
	f.get(&first, "first")
	if err := f.k8s.Delete(f.ctx, &first); err != nil {
		t.Fatal(err)
	}
	f.waitIngressReady("second")
	testutil.WaitFor(t, 30*time.Second, "the hostname served by the remaining Ingress", func() bool {
		return f.remoteRules()["app.example.com"] == "https://web."+f.ns+".svc:443"
	})

	// Objects with conditions show the conflict there: a TunnelBinding
	// claiming the Ingress's hostname.
	f.create(&v1alpha2.TunnelBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: f.ns},
		Subjects:   []v1alpha2.TunnelBindingSubject{{Kind: "Service", Name: "web", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "app.example.com"}}},
		TunnelRef:  v1alpha2.TunnelBindingRef{Kind: v1alpha2.KindTunnel, Name: "edge"},
	})
	var late v1alpha2.TunnelBinding
	testutil.WaitFor(t, 60*time.Second, "TunnelBinding late stalled on the conflict", func() bool {
		f.get(&late, "late")
		c := condition(late.Status.Conditions, v1alpha2.ConditionStalled)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == kube.ReasonConflict
	})
	ready := condition(late.Status.Conditions, v1alpha2.ConditionReady)
	if want := "hostname app.example.com is already served by Ingress " + f.ns + "/second"; ready == nil || ready.Status != metav1.ConditionFalse || ready.Message != want {
		t.Errorf("TunnelBinding late Ready condition %+v, want False with %q", ready, want)
	}
}

func TestKubeIngestInvalidObjects(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	f.create(f.ingress("good", "good.example.com", "/", "http"))
	f.waitIngressReady("good")

	outside := f.ingress("outside", "app.other.org", "/", "http")
	f.create(outside)
	badPort := f.ingress("badport", "port.example.com", "/", "grpc")
	f.create(badPort)
	f.create(&v1alpha2.Tunnel{
		ObjectMeta: metav1.ObjectMeta{Name: "nosecret", Namespace: f.ns},
		Spec: v1alpha2.TunnelSpec{
			NewTunnel:  &v1alpha2.NewTunnel{Name: "nosecret-" + f.ns},
			Cloudflare: v1alpha2.CloudflareDetails{AccountID: cfAccount, Domain: testZone, Secret: "missing", CLOUDFLARE_API_TOKEN: v1alpha2.DefaultAPITokenKey},
		},
	})

	for name, want := range map[string]string{
		"outside": "spec.rules[0].host: hostname app.other.org is not in zone example.com",
		"badport": "spec.rules[0].http.paths[0].backend.service.port: Service " + f.ns + "/web has no port named grpc",
	} {
		testutil.WaitFor(t, 60*time.Second, "Ingress "+name+" reports InvalidSpec", func() bool {
			_, reason, _ := f.ingressVerdict(name)
			return reason == kube.ReasonInvalidSpec
		})
		if _, _, msg := f.ingressVerdict(name); !strings.HasPrefix(msg, want) {
			t.Errorf("Ingress %s: message %q, want it to start with %q", name, msg, want)
		}
		testutil.WaitFor(t, 30*time.Second, "a Warning InvalidSpec event on "+name, func() bool {
			for _, e := range f.events("Ingress", name) {
				if strings.HasPrefix(e, "Warning InvalidSpec ") {
					return true
				}
			}
			return false
		})
	}
	var tn v1alpha2.Tunnel
	testutil.WaitFor(t, 60*time.Second, "Tunnel nosecret stalled", func() bool {
		f.get(&tn, "nosecret")
		c := condition(tn.Status.Conditions, v1alpha2.ConditionStalled)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == kube.ReasonInvalidSpec
	})
	if msg := condition(tn.Status.Conditions, v1alpha2.ConditionReady).Message; !strings.Contains(msg, "spec.cloudflare.secret") || !strings.Contains(msg, "missing") {
		t.Errorf("Tunnel nosecret Ready message %q does not name the Secret field", msg)
	}

	// A route of another namespace does not attach to the Gateway, whose
	// listener admits routes of its own namespace only (the default).
	other := f.ns + "-other"
	f.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	f.create(&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "intruder", Namespace: other},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gw", Namespace: ptr.To(gatewayv1.Namespace(f.ns))}}},
			Hostnames:       []gatewayv1.Hostname{"intruder.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To(gatewayv1.PortNumber(80))}}}}}},
		},
	})
	testutil.WaitFor(t, 60*time.Second, "HTTPRoute intruder not allowed by the listeners", func() bool {
		var r gatewayv1.HTTPRoute
		if f.k8s.Get(f.ctx, client.ObjectKey{Namespace: other, Name: "intruder"}, &r) != nil {
			return false
		}
		for _, p := range r.Status.Parents {
			c := condition(p.Conditions, string(gatewayv1.RouteConditionAccepted))
			if c != nil && c.Status == metav1.ConditionFalse && c.Reason == string(gatewayv1.RouteReasonNotAllowedByListeners) &&
				strings.Contains(c.Message, "listener http allows routes of namespace "+f.ns+" only") {
				return true
			}
		}
		return false
	})

	// Nothing of the invalid objects reached Cloudflare.
	rules := f.remoteRules()
	for _, h := range []string{"app.other.org", "port.example.com", "intruder.example.com"} {
		if _, ok := rules[h]; ok {
			t.Errorf("invalid Ingress's host %s was pushed", h)
		}
	}
	if id := f.cf.tunnelID("nosecret-" + f.ns); id != "" {
		t.Errorf("a Tunnel without its Secret was created in Cloudflare: %s", id)
	}

	// Fixing the object makes it Ready; an invalid edit of a working one
	// keeps what it had in Cloudflare.
	f.update(badPort, "badport", func() { badPort.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "http" })
	f.waitIngressReady("badport")
	var good networkingv1.Ingress
	f.update(&good, "good", func() { good.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "nope" })
	testutil.WaitFor(t, 30*time.Second, "Ingress good reports InvalidSpec", func() bool {
		_, reason, _ := f.ingressVerdict("good")
		return reason == kube.ReasonInvalidSpec
	})
	testutil.WaitFor(t, 30*time.Second, "port.example.com in Cloudflare", func() bool {
		_, ok := f.remoteRules()["port.example.com"]
		return ok
	})
	if _, ok := f.remoteRules()["good.example.com"]; !ok {
		t.Error("an invalid edit removed the Ingress's working rule from Cloudflare")
	}
}

func TestKubeIngestSweepsDeletionsWithoutLeader(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	keep := f.ingress("keep", "keep.example.com", "/", "http")
	gone := f.ingress("gone", "gone.example.com", "/", "http")
	f.create(keep)
	f.create(gone)
	f.create(&v1alpha2.TunnelBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bind", Namespace: f.ns},
		Subjects:   []v1alpha2.TunnelBindingSubject{{Kind: "Service", Name: "web", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "bind.example.com"}}},
		TunnelRef:  v1alpha2.TunnelBindingRef{Kind: v1alpha2.KindTunnel, Name: "edge"},
	})
	testutil.WaitFor(t, 60*time.Second, "three hosts in Cloudflare", func() bool {
		r := f.remoteRules()
		return r["keep.example.com"] != "" && r["gone.example.com"] != "" && r["bind.example.com"] != ""
	})

	f.c.stopAll()
	if err := f.k8s.Delete(f.ctx, gone); err != nil {
		t.Fatal(err)
	}
	var tb v1alpha2.TunnelBinding
	f.get(&tb, "bind")
	if err := f.k8s.Delete(f.ctx, &tb); err != nil {
		t.Fatal(err)
	}
	for i := range f.c.nodes {
		f.c.start(i)
	}
	f.c.leader()
	testutil.WaitFor(t, 60*time.Second, "the deleted objects swept from Cloudflare", func() bool {
		r := f.remoteRules()
		_, g := r["gone.example.com"]
		_, b := r["bind.example.com"]
		return !g && !b && r["keep.example.com"] != ""
	})
	testutil.WaitFor(t, 30*time.Second, "their CNAMEs swept", func() bool {
		c := f.cnames()
		_, g := c["gone.example.com"]
		_, b := c["bind.example.com"]
		return !g && !b && c["keep.example.com"] != ""
	})
}

func TestKubeIngestFailoverDuringBurst(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	const n = 100
	ings := make([]*networkingv1.Ingress, n)
	created := make(chan int, n)
	go func() {
		defer close(created)
		for i := range n {
			ings[i] = f.ingress(fmt.Sprintf("burst-%03d", i), fmt.Sprintf("b%03d.example.com", i), "/", "http")
			if err := f.k8s.Create(f.ctx, ings[i]); err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			created <- i
		}
	}()
	// Kill the leader once a third of the Ingresses exist.
	for i := range created {
		if i == n/3 {
			f.c.kill(f.c.leader())
		}
	}
	// Then update every one (the second hundred changes) while the new
	// leader resyncs.
	for i := range n {
		var ing networkingv1.Ingress
		f.update(&ing, ings[i].Name, func() { ing.Spec.Rules[0].HTTP.Paths[0].Path = "/v2" })
	}
	want := map[string]string{"": "http_status:404"}
	for i := range n {
		want[fmt.Sprintf("b%03d.example.com^/v2(/|$)", i)] = "http://web." + f.ns + ".svc:80"
	}
	lastChange := time.Now()
	f.waitRules(want, 120*time.Second, "all 200 changes in Cloudflare")
	t.Logf("Cloudflare converged %v after the last of 200 changes (leader killed after %d creates); %d configuration PUTs in all",
		time.Since(lastChange).Round(time.Millisecond), n/3, len(f.cf.configPuts()))
	testutil.WaitFor(t, 60*time.Second, "every Ingress ready", func() bool {
		for i := range n {
			if ready, _, _ := f.ingressVerdict(ings[i].Name); ready != "True" {
				return false
			}
		}
		return true
	})
}

func TestKubeIngestTunnelDeletionReachesCloudflare(t *testing.T) {
	f := newKubeFixture(t)
	f.tunnel()
	var tn v1alpha2.Tunnel
	f.waitReady(&tn, "edge", func() []metav1.Condition { return tn.Status.Conditions })
	id := f.cf.tunnelID(f.tunnelName())
	if id == "" {
		t.Fatal("no tunnel in Cloudflare")
	}
	if err := f.k8s.Delete(f.ctx, &tn); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "the Tunnel object gone after its tunnel", func() bool {
		return !f.get(&v1alpha2.Tunnel{}, "edge")
	})
	if got := f.cf.tunnelID(f.tunnelName()); got != "" {
		t.Errorf("the object went before its tunnel: tunnel %s still live", got)
	}
}

// TestKubeIngestExamples applies the cloudflare-operator manifest set of
// deploy/examples (the Secret's token swapped for the emulator's) and waits
// for every object to be Ready against the emulator.
func TestKubeIngestExamples(t *testing.T) {
	f := newKubeFixture(t)
	// The examples' Tunnel adopts a tunnel that already exists.
	req, err := http.NewRequest(http.MethodPost, f.cf.srv.URL+"/client/v4/accounts/"+cfAccount+"/cfd_tunnel",
		strings.NewReader(`{"name":"team-tunnel","tunnel_secret":"AQIDBAUGBwgBAgMEBQYHCAECAwQFBgcIAQIDBAUGBwg="}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cfToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create the existing tunnel: HTTP %d", resp.StatusCode)
	}
	f.create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: f.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	})

	files, err := filepath.Glob(filepath.Join(kubeEnv(t).Root, "deploy", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if u.GetKind() == "Secret" {
				unstructured.SetNestedField(u.Object, cfToken, "stringData", "CLOUDFLARE_API_TOKEN")
			}
			if u.GetKind() != v1alpha2.KindClusterTunnel {
				u.SetNamespace(f.ns)
			}
			objs = append(objs, u)
		}
	}
	for _, u := range objs {
		if u.GetKind() == "Secret" && u.GetName() == "cloudflare" {
			continue
		}
		f.create(u)
	}

	for _, u := range objs {
		if u.GetAPIVersion() != v1alpha2.GroupVersion.String() {
			continue
		}
		what := u.GetKind() + " " + u.GetName()
		testutil.WaitFor(t, 90*time.Second, what+" Ready", func() bool {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(u.GroupVersionKind())
			if err := f.k8s.Get(f.ctx, client.ObjectKeyFromObject(u), live); err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
			for _, c := range conds {
				m := c.(map[string]any)
				if m["type"] == v1alpha2.ConditionReady {
					if m["status"] == "True" {
						return true
					}
					t.Logf("%s: %v: %v", what, m["reason"], m["message"])
				}
			}
			return false
		})
	}
}

// TestKubeIngestWatchNamespaces: with WatchNamespaces, objects elsewhere are
// neither proposed nor swept, even across a leader change.
func TestKubeIngestWatchNamespaces(t *testing.T) {
	other := "o-" + randomSuffix()
	f := newKubeFixtureWith(t, nil, func(ns string, kc *server.KubeConfig) { kc.WatchNamespaces = []string{ns} })
	f.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	f.tunnel()
	f.create(f.ingress("mine", "mine.example.com", "/", "http"))
	elsewhere := f.ingress("theirs", "theirs.example.com", "/", "http")
	elsewhere.Namespace = other
	f.create(elsewhere)
	// A fragment some other cluster's ingest (or a person) put for a source
	// in the unwatched namespace.
	cl := f.c.client(f.c.leader(), adminToken)
	foreign := api.SourceRef{Kind: translate.SourceIngress, Namespace: other, Name: "kept"}
	target := api.TargetRef{Kind: api.KindTunnelConfiguration, Name: translate.TunnelTarget(v1alpha2.KindTunnel, f.ns, "edge")}
	if _, err := cl.PutFragment(f.ctx, api.Fragment{Target: target, Source: foreign, Generation: 1,
		Spec: json.RawMessage(`{"rules":[{"hostname":"kept.example.com","service":"http://kept:80"}]}`)}); err != nil {
		t.Fatal(err)
	}

	f.waitIngressReady("mine")
	f.c.kill(f.c.leader())
	f.c.leader()
	testutil.WaitFor(t, 60*time.Second, "the watched Ingress and the foreign fragment in Cloudflare", func() bool {
		r := f.remoteRules()
		return r["mine.example.com"] != "" && r["kept.example.com"] != ""
	})
	if _, ok := f.remoteRules()["theirs.example.com"]; ok {
		t.Error("an Ingress of an unwatched namespace was pushed")
	}
	var theirs networkingv1.Ingress
	if err := f.k8s.Get(f.ctx, client.ObjectKey{Namespace: other, Name: "theirs"}, &theirs); err != nil {
		t.Fatal(err)
	}
	if _, marked := theirs.Annotations[kube.AnnotationReady]; marked {
		t.Error("conflux-sync wrote on an Ingress of an unwatched namespace")
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
