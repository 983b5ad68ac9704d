package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/gitops/v1alpha1"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// TestKubeIngestLeastPrivilege runs the ingest as a user bound to nothing but
// the shipped ClusterRole (deploy/rbac/clusterrole.yaml), so the flow below
// converging proves the role is enough for it: without the list of any
// watched kind, the Secret get, create or patch, a status patch, the Tunnel
// patch (finalizer), the Ingress patch (annotations) or the Event create it
// does not. (Not covered: HTTPRoute status, repeated Events, and watch,
// whose absence informers survive by relisting.)
func TestKubeIngestLeastPrivilege(t *testing.T) {
	env := kubeEnv(t)
	ingest := shippedRoleUser(t, env)
	f := newKubeFixtureAs(t, ingest)

	// The user is not an administrator in disguise: what the role does not
	// grant is refused.
	restricted, err := client.New(ingest, client.Options{Scheme: f.k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	err = restricted.Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nope", Namespace: f.ns}})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the restricted user created a ConfigMap: err %v, want Forbidden", err)
	}

	f.tunnel()
	f.create(f.ingress("web", "app.example.com", "/", "http"))
	f.create(&v1alpha2.TunnelBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bind", Namespace: f.ns},
		Subjects:   []v1alpha2.TunnelBindingSubject{{Kind: "Service", Name: "web", Spec: v1alpha2.TunnelBindingSubjectSpec{Fqdn: "bind.example.com"}}},
		TunnelRef:  v1alpha2.TunnelBindingRef{Kind: v1alpha2.KindTunnel, Name: "edge"},
	})
	if err := restricted.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "edge"}, &v1alpha2.Tunnel{}); !apierrors.IsForbidden(err) {
		t.Errorf("the restricted user read a Tunnel directly: err %v, want Forbidden (the ingest reads through its cache)", err)
	}

	// Informers (list, watch) and the token read (Secret get) bring the
	// configuration to Cloudflare.
	svc := "web." + f.ns + ".svc"
	want := map[string]string{
		"app.example.com":  "http://" + svc + ":80",
		"bind.example.com": "http://" + svc + ":80",
		"":                 "http_status:404",
	}
	f.waitRules(want, 60*time.Second, "the tunnel configuration in Cloudflare")
	id := f.cf.tunnelID(f.tunnelName())

	// Status patches, the finalizer patch, the Ingress annotations and
	// address.
	var tn v1alpha2.Tunnel
	f.waitReady(&tn, "edge", func() []metav1.Condition { return tn.Status.Conditions })
	if tn.Status.TunnelID != id {
		t.Errorf("Tunnel status: tunnelId %q, want %q", tn.Status.TunnelID, id)
	}
	if !slicesContain(tn.Finalizers, kube.Finalizer) {
		t.Errorf("a created Tunnel carries finalizer %s; has %v", kube.Finalizer, tn.Finalizers)
	}
	// The connector token Secret (server-side applied, so created by a patch).
	var tokenSecret corev1.Secret
	testutil.WaitFor(t, 30*time.Second, "the connector token Secret", func() bool {
		return f.get(&tokenSecret, "edge"+kube.TokenSecretSuffix)
	})
	if len(tokenSecret.Data[kube.TokenSecretKey]) == 0 {
		t.Errorf("connector token Secret has no %s", kube.TokenSecretKey)
	}
	var tb v1alpha2.TunnelBinding
	f.waitReady(&tb, "bind", func() []metav1.Condition { return tb.Status.Conditions })
	f.waitIngressReady("web")
	f.waitIngressAddress("web", id)

	// Events.
	f.waitEvent("Tunnel", "edge", "Normal Synced", "a Synced event for Tunnel edge")

	// The Git producer lists ConfluxSources, writes their status and
	// records Events with the same role.
	gk := gitopsClient(t, kubeEnv(t).Config)
	cs := &v1alpha1.ConfluxSource{ObjectMeta: metav1.ObjectMeta{Name: "configs", Namespace: f.ns},
		Spec: v1alpha1.ConfluxSourceSpec{URL: fmt.Sprintf("https://127.0.0.1:%d/none.git", testutil.FreePort(t)), Timeout: "5s"}}
	if err := gk.Create(f.ctx, cs); err != nil {
		t.Fatal(err)
	}
	// envtest runs no namespace controller: remove what later tests'
	// clusters would otherwise poll.
	t.Cleanup(func() { gk.Delete(context.Background(), cs) })
	testutil.WaitFor(t, 60*time.Second, "the ConfluxSource's status written by the restricted user", func() bool {
		if err := gk.Get(f.ctx, client.ObjectKeyFromObject(cs), cs); err != nil {
			return false
		}
		c := condition(cs.Status.Conditions, "Ready")
		return c != nil && c.Reason == "Unreachable"
	})
	f.waitEvent("ConfluxSource", "configs", "Warning GitOperationFailed", "a GitOperationFailed event for ConfluxSource configs")

	// The finalizer is released once the tunnel is gone from Cloudflare.
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

// shippedRoleUser applies deploy/rbac/clusterrole.yaml to the API server,
// binds it to a new user and returns that user's configuration, once the
// binding is in force.
func shippedRoleUser(t *testing.T, env *kubetest.Env) *rest.Config {
	t.Helper()
	return roleUser(t, env, nil)
}

// roleUser is shippedRoleUser with the role passed through mutate (when not
// nil) before it is applied, under another name.
func roleUser(t *testing.T, env *kubetest.Env, mutate func(*rbacv1.ClusterRole)) *rest.Config {
	t.Helper()
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := rbacv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := authorizationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var (
		role    rbacv1.ClusterRole
		binding rbacv1.ClusterRoleBinding
		account corev1.ServiceAccount
	)
	dir := filepath.Join(env.Root, "deploy", "rbac")
	decodeManifest(t, scheme, filepath.Join(dir, "clusterrole.yaml"), &role)
	decodeManifest(t, scheme, filepath.Join(dir, "clusterrolebinding.yaml"), &binding)
	decodeManifest(t, scheme, filepath.Join(dir, "serviceaccount.yaml"), &account)
	// The shipped binding grants the shipped role to the shipped account.
	if binding.RoleRef.Kind != "ClusterRole" || binding.RoleRef.Name != role.Name ||
		len(binding.Subjects) != 1 || binding.Subjects[0].Kind != rbacv1.ServiceAccountKind ||
		binding.Subjects[0].Name != account.Name || binding.Subjects[0].Namespace != account.Namespace {
		t.Fatalf("clusterrolebinding.yaml does not bind ClusterRole %s to ServiceAccount %s/%s: roleRef %+v, subjects %+v",
			role.Name, account.Namespace, account.Name, binding.RoleRef, binding.Subjects)
	}
	// No wildcards, and whatever an informer lists it also watches (without
	// watch, informers fall back to relisting: slow, and unnoticed by the
	// flow below).
	verbs := map[string]map[string]bool{}
	for _, r := range role.Rules {
		for _, s := range append(append(append([]string{}, r.Verbs...), r.Resources...), r.APIGroups...) {
			if strings.Contains(s, "*") {
				t.Errorf("clusterrole.yaml grants a wildcard: %+v", r)
			}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := res + "." + g
				if verbs[key] == nil {
					verbs[key] = map[string]bool{}
				}
				for _, v := range r.Verbs {
					verbs[key][v] = true
				}
			}
		}
	}
	for res, v := range verbs {
		if v["list"] != v["watch"] {
			t.Errorf("clusterrole.yaml grants list and watch apart on %s: %v", res, v)
		}
	}

	if mutate != nil {
		mutate(&role)
		role.Name += "-altered"
	}
	admin, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The role is cluster-scoped and the API server shared: replace it
	// whole if an earlier run left it.
	if err := admin.Create(ctx, role.DeepCopy()); apierrors.IsAlreadyExists(err) {
		var cur rbacv1.ClusterRole
		if err := admin.Get(ctx, client.ObjectKey{Name: role.Name}, &cur); err != nil {
			t.Fatal(err)
		}
		cur.Rules, cur.AggregationRule = role.Rules, role.AggregationRule
		err = admin.Update(ctx, &cur)
		if err != nil {
			t.Fatalf("update ClusterRole %s: %v", role.Name, err)
		}
	} else if err != nil {
		t.Fatalf("create ClusterRole %s: %v", role.Name, err)
	}
	t.Cleanup(func() {
		admin.Delete(context.Background(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role.Name}})
	})

	suffix := make([]byte, 4)
	rand.Read(suffix)
	user := "conflux-sync-test-" + hex.EncodeToString(suffix)
	cfg, err := env.UserConfig(user)
	if err != nil {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := admin.Create(ctx, crb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Delete(context.Background(), crb) })

	// RBAC takes the binding into account a moment later: wait until the
	// user may do what the role's first rule grants.
	probe, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	first := role.Rules[0]
	resource, subresource, _ := strings.Cut(first.Resources[0], "/")
	attrs := &authorizationv1.ResourceAttributes{Group: first.APIGroups[0], Resource: resource, Subresource: subresource, Verb: first.Verbs[0]}
	testutil.WaitFor(t, 30*time.Second, "the ClusterRoleBinding in force", func() bool {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}
		return probe.Create(ctx, review) == nil && review.Status.Allowed
	})
	return cfg
}

// decodeManifest reads a one-object YAML manifest into obj, refusing unknown
// or duplicate fields and a kind other than obj's.
func decodeManifest(t *testing.T, scheme *runtime.Scheme, path string, obj runtime.Object) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	got, gvk, err := decoder.Decode(data, nil, obj)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got != obj {
		t.Fatalf("%s holds a %s, want a %T", path, gvk.Kind, obj)
	}
}

// TestKubeIngestNamesMissingPermission runs the ingest as a user whose role
// lacks list and watch on DNSRecords: the kind is named in the log (and the
// metric of kinds waiting), while every other kind runs; and, as a user
// lacking list on Secrets (a kind every object reads), the leadership term
// fails with an error naming it and the RBAC manifest, and is retried. The
// controller stops at once when its context ends either way.
func TestKubeIngestNamesMissingPermission(t *testing.T) {
	env := kubeEnv(t)
	for _, tc := range []struct {
		resource string
		want     []string
	}{
		{"dnsrecords", []string{`the informer of a cloudflare-operator kind did not list`, `kind=DNSRecord`, `Kubernetes ingest running`}},
		{"secrets", []string{"the informers of Secret did not list in 2s", "deploy/rbac"}},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			cfg := roleUser(t, env, func(r *rbacv1.ClusterRole) {
				for i := range r.Rules {
					if slices.Contains(r.Rules[i].Verbs, "list") {
						r.Rules[i].Resources = slices.DeleteFunc(r.Rules[i].Resources, func(res string) bool { return res == tc.resource })
					}
				}
				r.Rules = slices.DeleteFunc(r.Rules, func(rule rbacv1.PolicyRule) bool { return len(rule.Resources) == 0 })
			})
			var logs testutil.SyncBuffer
			ctrl, err := kube.New(kube.Config{
				REST: cfg, Proposer: idleState{}, Reader: idleState{},
				CacheSyncTimeout: 2 * time.Second,
				Logger:           slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				ctrl.Run(ctx)
			}()
			testutil.WaitFor(t, 60*time.Second, "a log naming "+tc.resource, func() bool {
				for _, w := range tc.want {
					if !strings.Contains(logs.String(), w) {
						return false
					}
				}
				return true
			})
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("the controller did not stop within 15s of its context ending")
			}
		})
	}
}

// idleState is an empty replicated state for a controller that never gets
// to propose.
type idleState struct{}

func (idleState) ReplaceSourceFragments(context.Context, api.ReplaceSourceRequest) (api.WriteResult, error) {
	return api.WriteResult{}, nil
}

func (idleState) SourceFragments(context.Context, string) ([]api.Fragment, error) { return nil, nil }

func (idleState) Target(context.Context, api.TargetRef) (api.Target, bool, error) {
	return api.Target{}, false, nil
}
