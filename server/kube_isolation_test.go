package server_test

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// newSlowRetryKubeFixture is newKubeFixture with a minute of backoff:
// whatever converges sooner converged without a failed attempt's retry.
func newSlowRetryKubeFixture(t *testing.T) *kubeFixture {
	t.Helper()
	return newKubeFixtureConfig(t, nil, func(_ string, cfg *server.Config) {
		cfg.Sync.Debounce = 50 * time.Millisecond
		slowRetries(cfg)
	})
}

// warnings returns the Warning Events about the named object.
func (f *kubeFixture) warnings(kind, name string) []string {
	var out []string
	for _, e := range f.events(kind, name) {
		if strings.HasPrefix(e, "Warning ") {
			out = append(out, e)
		}
	}
	return out
}

// Item 13: a new Tunnel and an Ingress on it, created together, converge
// in one pass (the tunnel's configuration and CNAME wait for its id and
// are flushed as soon as it is recorded, not after a backoff) and emit no
// Warning Event: waiting for the tunnel is the normal order of things.
func TestKubeNewTunnelConvergesWithoutWarnings(t *testing.T) {
	f := newSlowRetryKubeFixture(t)
	start := time.Now()
	f.tunnel()
	f.create(f.ingress("web", "app.example.com", "/", "http"))
	f.waitIngressReady("web")
	var tn v1alpha2.Tunnel
	f.waitReady(&tn, "edge", func() []metav1.Condition { return tn.Status.Conditions })
	id := f.cf.tunnelID(f.tunnelName())
	testutil.WaitFor(t, 30*time.Second, "the CNAME in Cloudflare", func() bool {
		return f.cnames()["app.example.com"] == id+".cfargotunnel.com"
	})
	if d := time.Since(start); d > 45*time.Second {
		t.Fatalf("converged after %v: a retry waited for its backoff", d)
	} else {
		t.Logf("Tunnel, Ingress and CNAME converged %v after the objects were created", d)
	}
	// The Synced Events come after any earlier verdict's Event.
	f.waitEvent("Ingress", "web", "Normal Synced", "a Normal Synced event on Ingress web")
	f.waitEvent("Tunnel", "edge", "Normal Synced", "a Normal Synced event on Tunnel edge")
	for _, obj := range []struct{ kind, name string }{{"Tunnel", "edge"}, {"Ingress", "web"}} {
		if w := f.warnings(obj.kind, obj.name); len(w) > 0 {
			t.Errorf("%s %s: Warning Events while a new tunnel converged: %q", obj.kind, obj.name, w)
		}
	}
}

// Item 10, as Kubernetes shows it: a DNSRecord Cloudflare refuses is
// stalled with reason Refused (Cloudflare's code in the message) and a
// Warning Event, while another DNSRecord of the same zone is written and
// Ready.
func TestKubeRefusedRecordStallsOnlyItself(t *testing.T) {
	f := newSlowRetryKubeFixture(t)
	record := func(name, host, content string, proxied bool) *v1alpha2.DNSRecord {
		return &v1alpha2.DNSRecord{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			Spec: v1alpha2.DNSRecordSpec{Name: host, Type: "A", Content: content, Proxied: ptr.To(proxied),
				Cloudflare: &v1alpha2.CloudflareDetails{AccountID: cfAccount, Domain: testZone, Secret: "cloudflare",
					CLOUDFLARE_API_TOKEN: v1alpha2.DefaultAPITokenKey}},
		}
	}
	f.create(record("bad", "bad.example.com", "10.0.0.1", true))
	f.create(record("good", "good.example.com", "198.51.100.10", false))

	var good, bad v1alpha2.DNSRecord
	f.waitReady(&good, "good", func() []metav1.Condition { return good.Status.Conditions })
	if good.Status.RecordID == "" {
		t.Errorf("good record's status has no record id: %+v", good.Status)
	}
	testutil.WaitFor(t, 60*time.Second, "DNSRecord bad stalled as Refused", func() bool {
		f.get(&bad, "bad")
		c := condition(bad.Status.Conditions, v1alpha2.ConditionStalled)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == kube.ReasonRefused
	})
	ready := condition(bad.Status.Conditions, v1alpha2.ConditionReady)
	if ready == nil || !strings.Contains(ready.Message, "bad.example.com A") || !strings.Contains(ready.Message, "code 9003") {
		t.Errorf("DNSRecord bad Ready condition %+v: want the record and Cloudflare's code", ready)
	}
	f.waitEvent("DNSRecord", "bad", "Warning Refused ", "a Warning Refused event on DNSRecord bad")
	if w := f.warnings("DNSRecord", "good"); len(w) > 0 {
		t.Errorf("DNSRecord good got Warning Events: %q", w)
	}
}
