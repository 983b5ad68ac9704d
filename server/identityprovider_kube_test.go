package server_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestKubeAccessIdentityProviderInlineSecret applies an upstream
// AccessIdentityProvider with its client secret written inline (StringKe's
// documented google-workspace sample), the nodes running as the shipped
// RBAC role: the provider is synced with the secret read from the object,
// the object is Ready with a Degraded note and a Warning Event
// recommending configSecretRef, and an edited secret is written again.
// Neither value is in any node's files (Raft log, snapshots, FSM), the log
// lines, the admin API's answers, the object's status or its Events.
func TestKubeAccessIdentityProviderInlineSecret(t *testing.T) {
	const first, second = "inline-google-secret-4d1e8b", "inline-google-secret-93c0fa"
	logs := &lockedBuffer{}
	var mu sync.Mutex
	var dirs []string
	// The nodes run as the shipped role: it lists identity providers, and
	// reading the inline secret needs no other verb.
	f := newKubeFixtureConfig(t, shippedRoleUser(t, kubeEnv(t)), func(_ string, cfg *server.Config) {
		cfg.Sync.Debounce = 50 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", cfg.NodeID)
		mu.Lock()
		dirs = append(dirs, cfg.DataDir)
		mu.Unlock()
	})
	name := "idp-" + f.ns
	f.create(&v1alpha2.AccessIdentityProvider{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha2.AccessIdentityProviderSpec{Name: "Google " + f.ns, Type: "google",
			Config:     &v1alpha2.IdentityProviderConfig{ClientID: "1234-fixture.apps.googleusercontent.com", ClientSecret: first, AppsDomain: "example.com"},
			Cloudflare: v1alpha2.CloudflareDetails{AccountID: cfAccount, Secret: "cloudflare"}},
	})
	secretIs := func(v string) bool {
		ps := f.cf.emu.IdentityProviders(cfAccount)
		return len(ps) == 1 && ps[0].Config["client_secret"] == v && ps[0].Config["client_id"] == "1234-fixture.apps.googleusercontent.com"
	}
	testutil.WaitFor(t, 60*time.Second, "the provider with the inline secret", func() bool { return secretIs(first) })
	var obj v1alpha2.AccessIdentityProvider
	f.waitReady(&obj, name, func() []metav1.Condition { return obj.Status.Conditions })
	if c := condition(obj.Status.Conditions, v1alpha2.ConditionDegraded); c == nil || c.Reason != kube.ReasonNotRecommended || !strings.Contains(c.Message, "spec.config.clientSecret: is applied") ||
		!strings.Contains(c.Message, "spec.configSecretRef") {
		t.Fatalf("Degraded condition %+v", c)
	}
	testutil.WaitFor(t, 30*time.Second, "a Warning Event recommending configSecretRef", func() bool {
		for _, e := range clusterEvents(f, "AccessIdentityProvider", name) {
			if strings.HasPrefix(e, "Warning "+kube.ReasonNotRecommended+" ") && strings.Contains(e, "spec.configSecretRef") {
				return true
			}
		}
		return false
	})

	// The provider's id recorded in status.providerId comes back as the
	// fragment's takeOver; once that is in, nothing else changes the
	// fragment. An edited secret changes the object's generation, so the
	// fragment, and the provider is written again with the new value.
	cl := f.c.client(f.c.follower(), readToken)
	target := api.TargetRef{Kind: cfapi.KindAccessIdentityProvider, Name: "AccessIdentityProvider/" + name}
	id := f.cf.emu.IdentityProviders(cfAccount)[0].ID
	testutil.WaitFor(t, 30*time.Second, "the fragment taking over the provider it recorded", func() bool {
		frags, err := cl.ListFragments(f.ctx, target, api.SourceRef{})
		if err != nil || len(frags) != 1 {
			return false
		}
		var spec api.AccessIdentityProviderSpec
		return json.Unmarshal(frags[0].Spec, &spec) == nil && spec.TakeOver == id
	})
	f.update(&obj, name, func() { obj.Spec.Config.ClientSecret = second })
	testutil.WaitFor(t, 60*time.Second, "the provider with the edited secret", func() bool { return secretIs(second) })
	f.waitReady(&obj, name, func() []metav1.Condition { return obj.Status.Conditions })

	tg, err := cl.GetTarget(f.ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if tg.Status == nil || tg.Status.DownstreamIDs["providerId"] != id || tg.Status.DownstreamIDs["secretsHash"] == "" {
		t.Fatalf("target status %+v", tg.Status)
	}
	frags, err := cl.ListFragments(f.ctx, target, api.SourceRef{})
	if err != nil {
		t.Fatal(err)
	}
	answers, _ := json.Marshal([]any{tg, frags})
	if !strings.Contains(string(answers), `"field":"spec.config.clientSecret"`) {
		t.Fatalf("the fragment does not name the object's field: %s", answers)
	}
	status, _ := json.Marshal(obj.Status)
	events := strings.Join(clusterEvents(f, "AccessIdentityProvider", name), "\n")
	for _, s := range []string{first, second} {
		for what, in := range map[string]string{"admin API's answers": string(answers), "logs": logs.String(), "object's status": string(status), "Events": events} {
			if strings.Contains(in, s) {
				t.Fatalf("a secret is in the %s: %s", what, in)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	checkSecretsNotStored(t, dirs, id, first, second)
}

// clusterEvents are the Events about a cluster-scoped object, in any
// namespace: "Type Reason Message".
func clusterEvents(f *kubeFixture, kind, name string) []string {
	var list corev1.EventList
	if err := f.k8s.List(f.ctx, &list, client.InNamespace("")); err != nil {
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
