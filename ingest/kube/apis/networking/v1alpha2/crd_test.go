package v1alpha2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

const fieldOwner = client.FieldOwner("conflux-sync-crd-test")

// newNamespace creates a namespace of its own for t.
func newNamespace(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crdtest-"}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		// envtest has no namespace controller: the namespace stays
		// Terminating, which is harmless.
		_ = k8s.Delete(context.Background(), ns)
	})
	return ns.Name
}

// decodeAll reads every object of a multi-document YAML file.
func decodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// parse reads one object from YAML.
func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("parse %q: %v", doc, err)
	}
	return &unstructured.Unstructured{Object: m}
}

// setNamespace puts a namespaced object into ns.
func setNamespace(t *testing.T, u *unstructured.Unstructured, ns string) {
	t.Helper()
	namespaced, err := k8s.IsObjectNamespaced(u)
	if err != nil {
		t.Fatalf("%s: %v", u.GetKind(), err)
	}
	if namespaced {
		u.SetNamespace(ns)
	}
}

func TestExamplesApply(t *testing.T) {
	ctx := needEnv(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in deploy/examples: %v", err)
	}
	ns := newNamespace(t)
	kinds := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeAll(t, data)
			if len(objs) == 0 {
				t.Fatal("no objects in the file")
			}
			for _, u := range objs {
				kinds[u.GetKind()] = true
				setNamespace(t, u, ns)
				// Server-side apply, as `kubectl apply --server-side` does;
				// it validates strictly (unknown fields are errors).
				if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), fieldOwner, client.ForceOwnership); err != nil {
					t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
				}
				if u.GetNamespace() == "" {
					t.Cleanup(func() { _ = k8s.Delete(context.Background(), u) })
				}
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(u.GroupVersionKind())
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
					t.Fatalf("get %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			}
		})
	}
	for _, kind := range []string{"Secret", "ClusterTunnel", "Tunnel", "TunnelBinding", "DNSRecord", "AccessApplication", "NetworkRoute"} {
		if !kinds[kind] {
			t.Errorf("deploy/examples has no %s", kind)
		}
	}

	// The typed client reads the examples back through the scheme, with
	// the CRDs' defaults filled in.
	var tunnels v1alpha2.TunnelList
	if err := k8s.List(ctx, &tunnels, client.InNamespace(ns)); err != nil {
		t.Fatalf("list tunnels: %v", err)
	}
	if len(tunnels.Items) != 1 {
		t.Fatalf("tunnels = %d, want 1", len(tunnels.Items))
	}
	if got := tunnels.Items[0].Spec.FallbackTarget; got != "http_status:404" {
		t.Errorf("fallbackTarget defaulted to %q, want http_status:404", got)
	}
	var bindings v1alpha2.TunnelBindingList
	if err := k8s.List(ctx, &bindings, client.InNamespace(ns)); err != nil {
		t.Fatalf("list bindings: %v", err)
	}
	if len(bindings.Items) != 1 || len(bindings.Items[0].Subjects) != 2 || bindings.Items[0].Subjects[0].Kind != "Service" {
		t.Errorf("bindings = %+v, want one with two Service subjects", bindings.Items)
	}
	var records v1alpha2.DNSRecordList
	if err := k8s.List(ctx, &records, client.InNamespace(ns)); err != nil {
		t.Fatalf("list records: %v", err)
	}
	if len(records.Items) == 0 {
		t.Error("no DNSRecords read back")
	}
}

// Valid base objects; each invalid case below changes one thing.
const (
	validTunnel = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: Tunnel
metadata: {name: t}
spec:
  newTunnel: {name: t}
  cloudflare: {domain: example.com, secret: cloudflare-secrets}
`
	validBinding = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: TunnelBinding
metadata: {name: b}
subjects:
- name: web
tunnelRef: {kind: Tunnel, name: t}
`
	validRecord = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: DNSRecord
metadata: {name: r}
spec:
  name: www.example.com
  type: A
  content: 203.0.113.7
  cloudflare: {domain: example.com, secret: cloudflare-secrets}
`
	validApp = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: AccessApplication
metadata: {name: a}
spec:
  name: app
  domain: app.example.com
  cloudflare: {domain: example.com, secret: cloudflare-secrets}
`
	validRoute = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: NetworkRoute
metadata: {name: route}
spec:
  network: 10.0.0.0/8
  tunnelRef: {kind: ClusterTunnel, name: edge}
`
	validCredentials = `
apiVersion: networking.cloudflare-operator.io/v1alpha2
kind: CloudflareCredentials
metadata: {name: creds}
spec:
  accountId: 0123456789abcdef0123456789abcdef
  secretRef: {name: cloudflare-secrets}
`
)

func TestInvalidObjectsRejected(t *testing.T) {
	ctx := needEnv(t)
	ns := newNamespace(t)

	// Every base object is valid, so each rejection below is the change's.
	for _, base := range []string{validTunnel, validBinding, validRecord, validApp, validRoute, validCredentials} {
		u := parse(t, base)
		setNamespace(t, u, ns)
		if err := k8s.Create(ctx, u, client.FieldValidation("Strict"), client.DryRunAll); err != nil {
			t.Fatalf("valid %s refused: %v", u.GetKind(), err)
		}
	}

	// The schema accepts whatever the cloudflare-operators' own CRDs
	// accept (conflux-sync's translation names what it cannot use); what
	// it refuses, they refuse too, or their controllers do.
	tests := []struct {
		name string
		base string
		// edit changes the base object (a path and a value; nil value deletes).
		set map[string]any
		// the error must name this field and say this.
		field, msg string
	}{
		{"tunnel both new and existing", validTunnel, map[string]any{"spec.existingTunnel": map[string]any{"name": "x"}},
			"spec", "exactly one of newTunnel and existingTunnel must be set"},
		{"tunnel neither new nor existing", validTunnel, map[string]any{"spec.newTunnel": nil},
			"spec", "exactly one of newTunnel and existingTunnel must be set"},
		{"new tunnel without name", validTunnel, map[string]any{"spec.newTunnel": map[string]any{}},
			"spec.newTunnel.name", "Required value"},
		{"tunnel proxyPort too big", validTunnel, map[string]any{"spec.originRequest": map[string]any{"proxyPort": int64(70000)}},
			"spec.originRequest.proxyPort", "less than or equal to 65535"},
		{"tunnel bad proxyType", validTunnel, map[string]any{"spec.originRequest": map[string]any{"proxyType": "http"}},
			"spec.originRequest.proxyType", "Unsupported value"},
		{"tunnel bad protocol", validTunnel, map[string]any{"spec.protocol": "h3"},
			"spec.protocol", "Unsupported value"},
		{"tunnel negative size", validTunnel, map[string]any{"spec.size": int64(-1)},
			"spec.size", "greater than or equal to 0"},
		{"tunnel unknown field", validTunnel, map[string]any{"spec.newTunnel.colour": "blue"},
			"spec.newTunnel.colour", "unknown field"},
		{"binding bad tunnelRef kind", validBinding, map[string]any{"tunnelRef.kind": "Gateway"},
			"tunnelRef.kind", "Unsupported value"},
		{"binding without tunnelRef name", validBinding, map[string]any{"tunnelRef.name": nil},
			"tunnelRef.name", "Required value"},
		{"binding proxyPort negative", validBinding, map[string]any{"subjects": []any{map[string]any{"name": "web", "spec": map[string]any{"proxyPort": int64(-1)}}}},
			"subjects[0].spec.proxyPort", "greater than or equal to 0"},
		{"binding bad proxyType", validBinding, map[string]any{"subjects": []any{map[string]any{"name": "web", "spec": map[string]any{"proxyType": "http"}}}},
			"subjects[0].spec.proxyType", "Unsupported value"},
		{"record unknown type", validRecord, map[string]any{"spec.type": "SPF"},
			"spec.type", "Unsupported value"},
		{"record without name", validRecord, map[string]any{"spec.name": nil},
			"spec.name", "Required value"},
		{"record bad addressSelection", validRecord, map[string]any{"spec.addressSelection": "Random"},
			"spec.addressSelection", "Unsupported value"},
		{"record comment too long", validRecord, map[string]any{"spec.comment": strings.Repeat("x", 501)},
			"spec.comment", "may not be more than 500"},
		{"app without domain", validApp, map[string]any{"spec.domain": nil},
			"spec.domain", "Required value"},
		{"app bad type", validApp, map[string]any{"spec.type": "website"},
			"spec.type", "Unsupported value"},
		{"app inline policy with bad decision", validApp, map[string]any{"spec.policies": []any{map[string]any{"decision": "maybe"}}},
			"spec.policies[0].decision", "Unsupported value"},
		{"app policy ids as strings", validApp, map[string]any{"spec.policies": []any{"f5a1c2d3-0000-4000-8000-000000000001"}},
			"spec.policies[0]", "must be of type object"},
		{"route without network", validRoute, map[string]any{"spec.network": nil},
			"spec.network", "Required value"},
		{"route tunnelRef bad kind", validRoute, map[string]any{"spec.tunnelRef.kind": "tunnel"},
			"spec.tunnelRef.kind", "Unsupported value"},
		{"credentials without secretRef", validCredentials, map[string]any{"spec.secretRef": nil},
			"spec.secretRef", "Required value"},
		{"credentials bad authType", validCredentials, map[string]any{"spec.authType": "GlobalAPIKey"},
			"spec.authType", "Unsupported value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := parse(t, tc.base)
			setNamespace(t, u, ns)
			for path, v := range tc.set {
				fields := strings.Split(path, ".")
				if v == nil {
					unstructured.RemoveNestedField(u.Object, fields...)
					continue
				}
				if err := unstructured.SetNestedField(u.Object, v, fields...); err != nil {
					t.Fatalf("set %s: %v", path, err)
				}
			}
			err := k8s.Create(ctx, u, client.FieldValidation("Strict"), client.DryRunAll)
			if err == nil {
				t.Fatalf("accepted; want an error naming %s: %s", tc.field, tc.msg)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("error %v is not Invalid/BadRequest", err)
			}
			text := err.Error()
			t.Logf("refused: %s", text)
			if !strings.Contains(text, tc.field) || !strings.Contains(text, tc.msg) {
				t.Fatalf("error = %s\nwant it to name %q and say %q", text, tc.field, tc.msg)
			}
		})
	}
}

// TestStatusSubresource writes status through /status for every kind and
// reads it back: status is stored, spec is untouched, generation stays;
// and a status sent with the main resource is ignored.
func TestStatusSubresource(t *testing.T) {
	ctx := needEnv(t)
	ns := newNamespace(t)
	tests := []struct {
		doc    string
		extra  map[string]any // kind-specific status fields
		mutate []string       // a spec field path to change through the main resource
		value  string         // a valid new value for mutate
	}{
		{validTunnel, map[string]any{"tunnelId": "6ff42ae2-765d-4adf-8112-31c55c1551ef", "tunnelName": "t"}, []string{"spec", "fallbackTarget"}, "http_status:503"},
		{strings.Replace(validTunnel, "kind: Tunnel", "kind: ClusterTunnel", 1), map[string]any{"tunnelId": "6ff42ae2-765d-4adf-8112-31c55c1551ef"}, []string{"spec", "fallbackTarget"}, "http_status:503"},
		{validBinding, map[string]any{"tunnelId": "6ff42ae2-765d-4adf-8112-31c55c1551ef", "hostnames": "web.example.com"}, []string{"tunnelRef", "name"}, "changed"},
		{validRecord, map[string]any{"recordId": "372e67954025e0ba6aaa6d586b9e0b59", "zoneId": "023e105f4ecef8ad9ca31a8372d0c353"}, []string{"spec", "comment"}, "changed"},
		{validApp, map[string]any{"applicationId": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415", "aud": "737646a56ab1df6ec9bddc7e5ca84eaf3b0768850f3ffb5d74f1534911fe3893"}, []string{"spec", "name"}, "changed"},
		{validRoute, map[string]any{"routeId": "f70ff985-a4ef-4643-bbbc-4a0ed4fc8415", "tunnelId": "6ff42ae2-765d-4adf-8112-31c55c1551ef"}, []string{"spec", "comment"}, "changed"},
	}
	for _, tc := range tests {
		u := parse(t, tc.doc)
		t.Run(u.GetKind(), func(t *testing.T) {
			setNamespace(t, u, ns)
			if err := k8s.Create(ctx, u); err != nil {
				t.Fatalf("create: %v", err)
			}
			if u.GetNamespace() == "" {
				t.Cleanup(func() { _ = k8s.Delete(context.Background(), u) })
			}
			spec := specOf(u.DeepCopy())
			gen := u.GetGeneration()

			status := map[string]any{
				"observedGeneration": gen,
				"conditions": []any{map[string]any{
					"type": v1alpha2.ConditionReady, "status": "True", "reason": "Synced",
					"message": "configuration written", "observedGeneration": gen,
					"lastTransitionTime": "2026-01-02T03:04:05Z",
				}},
			}
			for k, v := range tc.extra {
				status[k] = v
			}
			u.Object["status"] = status
			// A spec change sent to /status must be ignored.
			if err := unstructured.SetNestedField(u.Object, "ignored-by-status", tc.mutate...); err != nil {
				t.Fatal(err)
			}
			if err := k8s.Status().Update(ctx, u); err != nil {
				t.Fatalf("status update: %v", err)
			}

			got := fetch(t, u)
			if got.GetGeneration() != gen {
				t.Errorf("generation %d after a status update, want %d", got.GetGeneration(), gen)
			}
			if s := specOf(got); !equalJSON(s, spec) {
				t.Errorf("spec changed by a status update:\n got %v\nwant %v", s, spec)
			}
			gotStatus, _, _ := unstructured.NestedMap(got.Object, "status")
			if !equalJSON(gotStatus, status) {
				t.Errorf("status read back:\n got %v\nwant %v", gotStatus, status)
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			var typed []metav1.Condition
			for _, c := range conds {
				var mc metav1.Condition
				if err := runtimeDefaultConverter(c.(map[string]any), &mc); err != nil {
					t.Fatal(err)
				}
				typed = append(typed, mc)
			}
			if !meta.IsStatusConditionTrue(typed, v1alpha2.ConditionReady) {
				t.Errorf("Ready condition not true in %v", typed)
			}

			// Through the main resource: spec changes, status is ignored.
			got.Object["status"] = map[string]any{"observedGeneration": int64(99)}
			if err := unstructured.SetNestedField(got.Object, tc.value, tc.mutate...); err != nil {
				t.Fatal(err)
			}
			if err := k8s.Update(ctx, got); err != nil {
				t.Fatalf("update: %v", err)
			}
			again := fetch(t, u)
			if v, _, _ := unstructured.NestedString(again.Object, tc.mutate...); v != tc.value {
				t.Errorf("%s = %q after update, want %q", strings.Join(tc.mutate, "."), v, tc.value)
			}
			if again.GetGeneration() != gen+1 {
				t.Errorf("generation %d after a spec update, want %d", again.GetGeneration(), gen+1)
			}
			if og, _, _ := unstructured.NestedInt64(again.Object, "status", "observedGeneration"); og != gen {
				t.Errorf("status.observedGeneration = %d after a main-resource update, want %d (unchanged)", og, gen)
			}
		})
	}

	// An invalid condition is refused on /status too.
	u := parse(t, validRoute)
	u.SetName("bad-status")
	u.SetNamespace(ns)
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "Maybe"}}}
	err := k8s.Status().Update(ctx, u)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.conditions[0]") {
		t.Errorf("invalid condition: err = %v, want Invalid naming status.conditions[0]", err)
	}
}

// TestTypedStatus writes status with the typed client (scheme, deepcopy).
func TestTypedStatus(t *testing.T) {
	ctx := needEnv(t)
	ns := newNamespace(t)
	tun := &v1alpha2.Tunnel{
		ObjectMeta: metav1.ObjectMeta{Name: "typed", Namespace: ns},
		Spec: v1alpha2.TunnelSpec{
			ExistingTunnel: &v1alpha2.ExistingTunnel{ID: "6ff42ae2-765d-4adf-8112-31c55c1551ef"},
			Cloudflare:     v1alpha2.CloudflareDetails{Domain: "example.com", Secret: "cloudflare-secrets"},
			OriginRequest:  &v1alpha2.OriginRequest{ConnectTimeout: "30s", NoTLSVerify: new(true)},
		},
	}
	if err := k8s.Create(ctx, tun); err != nil {
		t.Fatalf("create: %v", err)
	}
	want := tun.DeepCopy()
	meta.SetStatusCondition(&tun.Status.Conditions, metav1.Condition{
		Type: v1alpha2.ConditionReady, Status: metav1.ConditionFalse, Reason: "Conflict",
		Message: "hostname app.example.com is already served by Ingress default/other", ObservedGeneration: tun.Generation,
	})
	tun.Status.ObservedGeneration = tun.Generation
	tun.Status.TunnelID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
	if err := k8s.Status().Update(ctx, tun); err != nil {
		t.Fatalf("status update: %v", err)
	}
	var got v1alpha2.Tunnel
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(tun), &got); err != nil {
		t.Fatal(err)
	}
	if !equalJSON(got.Spec, want.Spec) {
		t.Errorf("spec = %+v, want %+v", got.Spec, want.Spec)
	}
	c := meta.FindStatusCondition(got.Status.Conditions, v1alpha2.ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "Conflict" || got.Status.TunnelID != tun.Status.TunnelID {
		t.Errorf("status = %+v", got.Status)
	}
	if got.Spec.FallbackTarget != "http_status:404" {
		t.Errorf("fallbackTarget defaulted to %q, want http_status:404", got.Spec.FallbackTarget)
	}
}

func TestCRDs(t *testing.T) {
	ctx := needEnv(t)
	const (
		cf  = "networking.cloudflare-operator.io"
		ady = "networking.cfargotunnel.com"
	)
	ns, cluster := apiextensionsv1.NamespaceScoped, apiextensionsv1.ClusterScoped
	tests := []struct {
		group, plural string
		scope         apiextensionsv1.ResourceScope
		// v1alpha1: also served as v1alpha1 (as the operators do)
		v1alpha1 bool
		// columns that must be present (by name), in this order
		columns []string
	}{
		{cf, "tunnels", ns, true, []string{"Ready", "TunnelID", "Age"}},
		{cf, "clustertunnels", cluster, true, []string{"Ready", "TunnelID", "Age"}},
		{cf, "tunnelbindings", ns, true, []string{"FQDNs", "Ready", "TunnelID", "Age"}},
		{cf, "accesstunnels", ns, true, []string{"Target", "Ready", "Age"}},
		{cf, "dnsrecords", ns, false, []string{"Type", "Name", "Content", "Ready", "Age"}},
		{cf, "accessapplications", ns, false, []string{"Domain", "Type", "Ready", "Age"}},
		{cf, "networkroutes", cluster, false, []string{"Network", "Ready", "TunnelID", "Age"}},
		{cf, "cloudflarecredentials", cluster, false, []string{"Account ID", "Default", "Ready"}},
		{cf, "cloudflaredomains", cluster, false, []string{"Domain", "Zone ID", "Default", "Ready"}},
		{cf, "tunnelingressclassconfigs", ns, false, []string{"Tunnel", "Ready"}},
		{cf, "tunnelgatewayclassconfigs", ns, false, []string{"Tunnel", "Ready"}},
		{cf, "virtualnetworks", cluster, false, []string{"VNetID", "Ready"}},
		{cf, "privateservices", ns, false, []string{"Ready"}},
		{cf, "accessgroups", cluster, false, []string{"GroupID", "Ready"}},
		{cf, "accesspolicies", cluster, false, []string{"PolicyID", "Ready"}},
		{cf, "accessservicetokens", ns, false, []string{"TokenID", "Ready"}},
		{cf, "accessidentityproviders", cluster, false, []string{"ProviderID", "Ready"}},
		{cf, "gatewayrules", cluster, false, []string{"RuleID", "Ready"}},
		{cf, "gatewaylists", cluster, false, []string{"ListID", "Ready"}},
		{ady, "tunnels", ns, true, []string{"Ready", "TunnelID", "Age"}},
		{ady, "clustertunnels", cluster, true, []string{"Ready", "TunnelID", "Age"}},
		{ady, "tunnelbindings", ns, true, []string{"FQDNs", "Ready", "TunnelID", "Age"}},
		{ady, "accesstunnels", ns, true, []string{"Target", "Ready", "Age"}},
	}
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := k8s.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, crd := range list.Items {
		count[crd.Spec.Group]++
	}
	for group, want := range map[string]int{cf: 19, ady: 4} {
		if count[group] != want {
			t.Errorf("the API server has %d CRDs of group %s, want %d", count[group], group, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.plural+"."+tc.group, func(t *testing.T) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := k8s.Get(ctx, client.ObjectKey{Name: tc.plural + "." + tc.group}, &crd); err != nil {
				t.Fatal(err)
			}
			if crd.Spec.Scope != tc.scope {
				t.Errorf("scope = %s, want %s", crd.Spec.Scope, tc.scope)
			}
			if c := crd.Spec.Conversion; c == nil || c.Strategy != apiextensionsv1.NoneConverter {
				t.Errorf("conversion = %+v, want strategy None (one schema, nothing to convert)", c)
			}
			want := []string{"v1alpha2"}
			if tc.v1alpha1 {
				want = []string{"v1alpha1", "v1alpha2"}
			}
			var names []string
			for _, v := range crd.Spec.Versions {
				names = append(names, v.Name)
				if !v.Served || v.Storage != (v.Name == "v1alpha2") {
					t.Errorf("version %s served=%v storage=%v", v.Name, v.Served, v.Storage)
				}
				if !equalJSON(v.Schema, crd.Spec.Versions[0].Schema) {
					t.Errorf("version %s has another schema than %s: an object would lose fields between them", v.Name, crd.Spec.Versions[0].Name)
				}
			}
			if !slices.Equal(names, want) {
				t.Fatalf("versions = %v, want %v", names, want)
			}
			v := crd.Spec.Versions[len(crd.Spec.Versions)-1]
			if v.Subresources == nil || v.Subresources.Status == nil {
				t.Error("no status subresource")
			}
			var cols []string
			for _, c := range v.AdditionalPrinterColumns {
				if slices.Contains(tc.columns, c.Name) {
					cols = append(cols, c.Name)
				}
			}
			if !slices.Equal(cols, tc.columns) {
				t.Errorf("printer columns = %v, want %v", cols, tc.columns)
			}
			conds := v.Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"]
			if conds.XListType == nil || *conds.XListType != "map" || !slices.Equal(conds.XListMapKeys, []string{"type"}) {
				t.Errorf("status.conditions is not a list map keyed by type: %v %v", conds.XListType, conds.XListMapKeys)
			}
		})
	}
}

// TestVersionsLoseNoField writes a Tunnel as v1alpha1 with the fields only
// v1alpha1 has (cloudflared's replicas and image) and one as v1alpha2 with
// v1alpha2's (deployPatch, enableWarpRouting), in both API groups, and
// reads each back in the other version: every field is there.
func TestVersionsLoseNoField(t *testing.T) {
	ctx := needEnv(t)
	ns := newNamespace(t)
	for _, group := range []string{"networking.cloudflare-operator.io", "networking.cfargotunnel.com"} {
		for _, tc := range []struct{ write, read, spec string }{
			{"v1alpha1", "v1alpha2", `{newTunnel: {name: a}, size: 2, image: "cloudflare/cloudflared:2026.1.0", nodeSelectors: {disk: ssd}, cloudflare: {domain: example.com, secret: s}}`},
			{"v1alpha2", "v1alpha1", `{existingTunnel: {id: 6ff42ae2-765d-4adf-8112-31c55c1551ef}, deployPatch: '{"spec":{"replicas":3}}', enableWarpRouting: true, cloudflare: {domain: example.com, secret: s}}`},
		} {
			t.Run(group+"/"+tc.write, func(t *testing.T) {
				u := parse(t, "apiVersion: "+group+"/"+tc.write+"\nkind: Tunnel\nmetadata: {name: lossless-"+tc.write+"}\nspec: "+tc.spec)
				u.SetNamespace(ns)
				want := u.Object["spec"]
				if err := k8s.Create(ctx, u, client.FieldValidation("Strict")); err != nil {
					t.Fatalf("create as %s: %v", tc.write, err)
				}
				got := &unstructured.Unstructured{}
				got.SetAPIVersion(group + "/" + tc.read)
				got.SetKind("Tunnel")
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
					t.Fatalf("read as %s: %v", tc.read, err)
				}
				spec := got.Object["spec"].(map[string]any)
				delete(spec, "fallbackTarget") // defaulted
				if !equalJSON(spec, want) {
					t.Errorf("written as %s: %v\nread as %s: %v", tc.write, want, tc.read, spec)
				}
			})
		}
	}
}

// specOf is everything of u that is not metadata, status or type: spec,
// or subjects and tunnelRef of a TunnelBinding.
func specOf(u *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for k, v := range u.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			out[k] = v
		}
	}
	return out
}

// fetch reads u back from the API server.
func fetch(t *testing.T, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := k8s.Get(t.Context(), client.ObjectKeyFromObject(u), got); err != nil {
		t.Fatalf("get: %v", err)
	}
	return got
}

// equalJSON compares a and b as JSON (int vs int64, nil vs empty).
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func runtimeDefaultConverter(m map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, into)
}
