package deploy_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// The mounted Secret's files, as the StatefulSet must pass them.
const (
	secretMount       = "/etc/conflux-sync/secret"
	clusterSecretFlag = "--cluster-secret-file=" + secretMount + "/cluster-secret"
	tokenFileFlag     = "--token-file=" + secretMount + "/tokens"
)

// placeholder matches the values the manifests used to ship and anything
// like them: a value someone must remember to replace is a value that
// reaches production unreplaced.
var placeholder = regexp.MustCompile(`(?i)replace-with|not-a-secret|not-secret|changeme|change-me|example-[a-z-]*token|gossip-key|gossipKey|insecure-cluster|INSECURE_CLUSTER`)

// renders are the manifests a user applies: the base, the chart with its
// defaults and with other names and options, the example overlay.
func renders() []struct {
	name string
	objs func(t *testing.T) []*unstructured.Unstructured
	// secret is the name of the Secret the nodes mount; job whether the
	// init-secrets Job generates it; tokenSecrets the Secrets the Job
	// copies the admin token into (--admin-token-secret).
	secret       string
	job          bool
	tokenSecrets []string
} {
	return []struct {
		name         string
		objs         func(t *testing.T) []*unstructured.Unstructured
		secret       string
		job          bool
		tokenSecrets []string
	}{
		{"kustomize deploy/base", func(t *testing.T) []*unstructured.Unstructured { return kustomize(t, "deploy/base") }, "conflux-sync", true, nil},
		{"kustomize deploy/overlays/example", func(t *testing.T) []*unstructured.Unstructured { return kustomize(t, "deploy/overlays/example") },
			"conflux-sync", true, []string{"conflux-sync-backup"}},
		{"helm deploy/chart defaults", func(t *testing.T) []*unstructured.Unstructured { return helmRender(t) }, "conflux-sync", true, nil},
		{"helm deploy/chart release names", func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-set", "fullnameOverride=", "-release", "edge", "-namespace", "edge-system")
		}, "edge-conflux-sync", true, nil},
		{"helm deploy/chart secret.create=false", func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-set", "secret.create=false")
		}, "conflux-sync", false, nil},
		{"helm deploy/chart secret.existingSecret", func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-set", "secret.existingSecret=vault-synced")
		}, "vault-synced", false, nil},
		{"helm deploy/chart Conflux and Cloudflare tokens", func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-set", "conflux.url=https://conflux.example.com", "-set", "conflux.tokenSecret.name=conflux-api",
				"-set", "cloudflare.credentialsSecret.name=cloudflare-api")
		}, "conflux-sync", true, nil},
		{"helm deploy/chart Conflux token from existingSecret", func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-set", "conflux.url=https://conflux.example.com", "-set", "secret.existingSecret=vault-synced")
		}, "vault-synced", false, nil},
	}
}

// rotatableFlags are the file flags of the programs the manifests run
// whose files hold credentials that may rotate; each must name a file of a
// mounted Secret volume.
var rotatableFlags = []string{"--token-file", "--cluster-secret-file", "--gossip-key-file", "--conflux-token-file", "--cloudflare-credentials", "--token-path"}

// checkSecretsRotate: every pod reads Secrets as files of whole Secret
// volumes, which the kubelet updates when the Secret changes (the servers
// reload them): never as environment variables (fixed when the container
// starts) and never through a subPath mount (never updated). Every
// credential file flag names a file under such a mount.
func checkSecretsRotate(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, u := range objs {
		var spec map[string]any
		switch u.GetKind() {
		case "StatefulSet", "Deployment", "DaemonSet", "Job":
			spec, _, _ = unstructured.NestedMap(u.Object, "spec", "template", "spec")
		case "CronJob":
			spec, _, _ = unstructured.NestedMap(u.Object, "spec", "jobTemplate", "spec", "template", "spec")
		default:
			continue
		}
		secretVolumes := map[string]bool{}
		vols, _, _ := unstructured.NestedSlice(spec, "volumes")
		for _, v := range vols {
			vm := v.(map[string]any)
			_, isSecret := vm["secret"]
			_, isProjected := vm["projected"]
			if isSecret || isProjected {
				secretVolumes[vm["name"].(string)] = true
			}
		}
		ctrs, _, _ := unstructured.NestedSlice(spec, "containers")
		inits, _, _ := unstructured.NestedSlice(spec, "initContainers")
		for _, c := range append(ctrs, inits...) {
			ctr := c.(map[string]any)
			name, _ := ctr["name"].(string)
			env, _, _ := unstructured.NestedSlice(ctr, "env")
			for _, e := range env {
				if _, ok, _ := unstructured.NestedMap(e.(map[string]any), "valueFrom", "secretKeyRef"); ok {
					t.Errorf("%s container %s: environment variable %v comes from a Secret; mount the Secret as a volume and pass the file, so a rotated value is picked up", key(u), name, e.(map[string]any)["name"])
				}
			}
			envFrom, _, _ := unstructured.NestedSlice(ctr, "envFrom")
			for _, e := range envFrom {
				if _, ok := e.(map[string]any)["secretRef"]; ok {
					t.Errorf("%s container %s: envFrom a Secret; mount it as a volume instead", key(u), name)
				}
			}
			var secretMounts []string
			mounts, _, _ := unstructured.NestedSlice(ctr, "volumeMounts")
			for _, m := range mounts {
				mm := m.(map[string]any)
				if !secretVolumes[mm["name"].(string)] {
					continue
				}
				if mm["subPath"] != nil || mm["subPathExpr"] != nil {
					t.Errorf("%s container %s: Secret volume %s is mounted with subPath, which the kubelet never updates", key(u), name, mm["name"])
					continue
				}
				secretMounts = append(secretMounts, strings.TrimSuffix(mm["mountPath"].(string), "/")+"/")
			}
			args, _, _ := unstructured.NestedStringSlice(ctr, "args")
			for _, a := range args {
				flag, file, ok := strings.Cut(a, "=")
				if !ok || !slices.Contains(rotatableFlags, flag) {
					continue
				}
				if !slices.ContainsFunc(secretMounts, func(m string) bool { return strings.HasPrefix(file, m) }) {
					t.Errorf("%s container %s: %s is not a file of a mounted Secret volume (mounts %q)", key(u), name, a, secretMounts)
				}
			}
		}
	}
}

// TestSecureByDefault: what `kubectl apply -k deploy/base` and `helm
// install` start is secure without an edit. No placeholder secret is
// rendered (conflux-sync's Secret is generated in the cluster), no option
// turns cluster security off, every node reads the cluster secret and the
// tokens from the mounted Secret, and that Secret is the one the
// init-secrets Job generates.
func TestSecureByDefault(t *testing.T) {
	t.Parallel()
	for _, r := range renders() {
		t.Run(r.name, func(t *testing.T) {
			objs := r.objs(t)
			for _, u := range objs {
				if u.GetKind() == "CustomResourceDefinition" {
					continue
				}
				b, _ := yaml.Marshal(u.Object)
				if m := placeholder.FindString(string(b)); m != "" {
					t.Errorf("%s holds %q", key(u), m)
				}
				if u.GetKind() == "Secret" {
					for _, k := range []string{"cluster-secret", "tokens"} {
						if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "data", k); ok {
							t.Errorf("%s ships %s: it must be generated in the cluster", key(u), k)
						}
						if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "stringData", k); ok {
							t.Errorf("%s ships %s: it must be generated in the cluster", key(u), k)
						}
					}
				}
			}
			checkNodesReadTheSecret(t, objs, r.secret)
			checkSecretsRotate(t, objs)
			checkInitSecretsJob(t, objs, r.secret, r.job, r.tokenSecrets)
		})
	}
	t.Run("deploy/chart/values.yaml", func(t *testing.T) {
		values := string(readFile(t, "deploy/chart/values.yaml"))
		var lines []string
		for _, l := range strings.Split(values, "\n") {
			if c := strings.TrimSpace(l); c != "" && !strings.HasPrefix(c, "#") {
				lines = append(lines, l)
			}
		}
		if m := placeholder.FindString(strings.Join(lines, "\n")); m != "" {
			t.Errorf("values.yaml holds %q", m)
		}
		var v struct {
			Secret map[string]any `json:"secret"`
		}
		if err := yaml.Unmarshal([]byte(values), &v); err != nil {
			t.Fatal(err)
		}
		for k, val := range v.Secret {
			if s, ok := val.(string); ok && s != "" && k != "existingSecret" {
				t.Errorf("values.yaml secret.%s has a default value", k)
			}
		}
	})
}

// checkNodesReadTheSecret: the StatefulSet passes the cluster secret and
// the tokens from the Secret volume named secret, and nothing insecure.
func checkNodesReadTheSecret(t *testing.T, objs []*unstructured.Unstructured, secret string) {
	t.Helper()
	var sts *unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "StatefulSet" {
			sts = u
		}
	}
	if sts == nil {
		t.Fatal("no StatefulSet")
	}
	ctrs, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "containers")
	ctr := ctrs[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	for _, want := range []string{clusterSecretFlag, tokenFileFlag} {
		if !slices.Contains(args, want) {
			t.Errorf("the nodes' args lack %s: %q", want, args)
		}
	}
	for _, a := range args {
		for _, bad := range []string{"--insecure", "--gossip-key"} {
			if strings.HasPrefix(a, bad) {
				t.Errorf("the nodes run with %s", a)
			}
		}
	}
	env, _, _ := unstructured.NestedSlice(ctr, "env")
	for _, e := range env {
		name, _, _ := unstructured.NestedString(e.(map[string]any), "name")
		if strings.Contains(name, "INSECURE") || name == "CONFLUX_SYNC_GOSSIP_KEY" {
			t.Errorf("the nodes' environment sets %s", name)
		}
	}
	mounts, _, _ := unstructured.NestedSlice(ctr, "volumeMounts")
	var volume string
	for _, m := range mounts {
		mm := m.(map[string]any)
		if mm["mountPath"] == secretMount {
			volume, _ = mm["name"].(string)
		}
	}
	vols, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "volumes")
	found := false
	for _, v := range vols {
		vm := v.(map[string]any)
		if vm["name"] != volume {
			continue
		}
		name, _, _ := unstructured.NestedString(vm, "secret", "secretName")
		optional, _, _ := unstructured.NestedBool(vm, "secret", "optional")
		if name != secret || optional {
			t.Errorf("%s mounts Secret %q (optional %v), want %q, required", secretMount, name, optional, secret)
		}
		found = true
	}
	if !found {
		t.Errorf("no Secret volume at %s", secretMount)
	}
}

// checkInitSecretsJob: when the Secret is generated, one Job runs
// `operator init-secrets --name=<secret>` (and --admin-token-secret for
// each of tokenSecrets) as its own ServiceAccount, whose Role may get and
// patch only that Secret (and get the tokenSecrets), and its pod is
// selected by none of the nodes' Services, PDB or NetworkPolicy; otherwise
// nothing of it is rendered.
func checkInitSecretsJob(t *testing.T, objs []*unstructured.Unstructured, secret string, want bool, tokenSecrets []string) {
	t.Helper()
	var jobs []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Job" {
			jobs = append(jobs, u)
		}
	}
	if !want {
		for _, u := range objs {
			if k := u.GetKind(); k == "Job" || k == "Role" || k == "RoleBinding" {
				t.Errorf("renders %s although the Secret is the user's", key(u))
			}
		}
		return
	}
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs, want the init-secrets Job", len(jobs))
	}
	job := jobs[0]
	spec, _, _ := unstructured.NestedMap(job.Object, "spec", "template", "spec")
	ctr := spec["containers"].([]any)[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	if len(args) < 2 || args[0] != "operator" || args[1] != "init-secrets" || !slices.Contains(args, "--name="+secret) {
		t.Errorf("the Job runs %q, want operator init-secrets --name=%s", args, secret)
	}
	for _, ts := range tokenSecrets {
		if !slices.Contains(args, "--admin-token-secret="+ts) {
			t.Errorf("the Job runs %q, want --admin-token-secret=%s", args, ts)
		}
	}
	sa, _ := spec["serviceAccountName"].(string)
	var stsSA string
	for _, u := range objs {
		if u.GetKind() == "StatefulSet" {
			stsSA, _, _ = unstructured.NestedString(u.Object, "spec", "template", "spec", "serviceAccountName")
		}
	}
	if sa == "" || sa == stsSA {
		t.Errorf("the Job runs as %q, the nodes as %q: it needs its own ServiceAccount", sa, stsSA)
	}
	find(t, objs, "ServiceAccount", sa)
	// The RoleBinding binding that ServiceAccount, and its Role.
	var role *unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != "RoleBinding" {
			continue
		}
		subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
		for _, s := range subjects {
			sm := s.(map[string]any)
			if sm["kind"] == "ServiceAccount" && sm["name"] == sa && sm["namespace"] == job.GetNamespace() {
				name, _, _ := unstructured.NestedString(u.Object, "roleRef", "name")
				role = find(t, objs, "Role", name)
			}
		}
	}
	if role == nil {
		t.Fatalf("no RoleBinding binds ServiceAccount %s", sa)
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	got, _ := yaml.Marshal(rules)
	rulesWanted := []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"create"}},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "resourceNames": []any{secret}, "verbs": []any{"get", "patch"}},
	}
	for _, ts := range tokenSecrets {
		rulesWanted = append(rulesWanted, map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "resourceNames": []any{ts}, "verbs": []any{"get"}})
	}
	wantRules, _ := yaml.Marshal(rulesWanted)
	if string(got) != string(wantRules) {
		t.Errorf("Role %s grants\n%s\nwant exactly\n%s", role.GetName(), got, wantRules)
	}
	podLabels, _, _ := unstructured.NestedStringMap(job.Object, "spec", "template", "metadata", "labels")
	selects := func(sel map[string]string) bool {
		matches := len(sel) > 0
		for k, v := range sel {
			matches = matches && podLabels[k] == v
		}
		return matches
	}
	for _, u := range objs {
		var sels []map[string]string
		switch u.GetKind() {
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector")
			sels = append(sels, sel)
		case "PodDisruptionBudget":
			sel, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
			sels = append(sels, sel)
		case "NetworkPolicy":
			// Neither the pods it protects nor the peers it lets reach
			// raft and gossip.
			sel, _, _ := unstructured.NestedStringMap(u.Object, "spec", "podSelector", "matchLabels")
			sels = append(sels, sel)
			rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "ingress")
			for _, r := range rules {
				from, _, _ := unstructured.NestedSlice(r.(map[string]any), "from")
				for _, f := range from {
					peer, _, _ := unstructured.NestedStringMap(f.(map[string]any), "podSelector", "matchLabels")
					sels = append(sels, peer)
				}
			}
		}
		for _, sel := range sels {
			if selects(sel) {
				t.Errorf("%s selects the init-secrets Job's pod (labels %v)", key(u), podLabels)
			}
		}
	}
}

// TestInitSecretsRBAC applies the init-secrets Job's ServiceAccount, Role
// and RoleBinding of the base and of the chart (release-derived names) to a
// real API server and proves, as that ServiceAccount, that it may do what
// `operator init-secrets` does (create the Secret, get and patch it) and
// nothing more: no other Secret, no list or watch, no update or delete, no
// other namespace.
func TestInitSecretsRBAC(t *testing.T) {
	t.Parallel()
	sets := []struct {
		name, namespace, secret string
		objs                    []*unstructured.Unstructured
		// tokenSecret is the Secret the Job copies the admin token into.
		tokenSecret string
	}{
		{"kustomize deploy/base", namespace, "conflux-sync", kustomize(t, "deploy/base"), ""},
		{"helm deploy/chart release names", "edge-system", "edge-conflux-sync",
			helmRender(t, "-set", "fullnameOverride=", "-release", "edge", "-namespace", "edge-system"), ""},
		// The backup component's additions, in a namespace of their own
		// (the base's objects have the same names).
		{"kustomize deploy/overlays/example", "backup-example", "conflux-sync", inNamespace(kustomize(t, "deploy/overlays/example"), "backup-example"), "conflux-sync-backup"},
	}
	env := startAPIServer(t)
	ctx := t.Context()
	admin := newClient(t, env.Config)
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			var job *unstructured.Unstructured
			for _, u := range s.objs {
				switch u.GetKind() {
				case "ServiceAccount", "Role", "RoleBinding":
					if err := apply(ctx, admin, u, false); err != nil {
						t.Fatalf("apply %s: %v", key(u), err)
					}
				case "Job":
					job = u
				}
			}
			if job == nil {
				t.Fatal("no Job")
			}
			sa, _, _ := unstructured.NestedString(job.Object, "spec", "template", "spec", "serviceAccountName")
			user := fmt.Sprintf("system:serviceaccount:%s:%s", job.GetNamespace(), sa)
			cfg := rest.CopyConfig(env.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + job.GetNamespace(), "system:authenticated"}}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			type check struct{ verb, resource, namespace, name string }
			ns := s.namespace
			allowed := []check{
				{"create", "secrets", ns, ""},
				{"create", "secrets", ns, s.secret},
				{"get", "secrets", ns, s.secret},
				{"patch", "secrets", ns, s.secret},
			}
			forbidden := []check{
				{"get", "secrets", ns, "conflux-sync-backup"},
				{"get", "secrets", ns, "tunnel-credentials"},
				{"patch", "secrets", ns, "tunnel-credentials"},
				{"list", "secrets", ns, ""},
				{"watch", "secrets", ns, ""},
				{"update", "secrets", ns, s.secret},
				{"delete", "secrets", ns, s.secret},
				{"deletecollection", "secrets", ns, ""},
				{"create", "secrets", "kube-system", ""},
				{"get", "secrets", "kube-system", s.secret},
				{"get", "configmaps", ns, ""},
				{"create", "pods", ns, ""},
				{"create", "serviceaccounts/token", ns, sa},
			}
			if s.tokenSecret != "" {
				allowed = append(allowed, check{"get", "secrets", ns, s.tokenSecret})
				forbidden = slices.DeleteFunc(forbidden, func(c check) bool { return c.name == s.tokenSecret && c.verb == "get" })
				forbidden = append(forbidden, check{"patch", "secrets", ns, s.tokenSecret}, check{"update", "secrets", ns, s.tokenSecret})
			}
			review := func(c check) bool {
				t.Helper()
				res, sub, _ := strings.Cut(c.resource, "/")
				r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
					Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
						Verb: c.verb, Resource: res, Subresource: sub, Namespace: c.namespace, Name: c.name,
					}},
				}, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("SelfSubjectAccessReview %+v: %v", c, err)
				}
				return r.Status.Allowed
			}
			// The API server's authorizer learns new RBAC objects from its
			// own watch, a moment after they are created: poll the grants.
			for _, c := range allowed {
				deadline := time.Now().Add(15 * time.Second)
				for !review(c) {
					if time.Now().After(deadline) {
						t.Errorf("%s may not %s %s %s/%s; init-secrets needs it", user, c.verb, c.resource, c.namespace, c.name)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			for _, c := range forbidden {
				if review(c) {
					t.Errorf("%s may %s %s %s/%s; the Role must not grant it", user, c.verb, c.resource, c.namespace, c.name)
				}
			}

			// And by doing what init-secrets does, and what it must not.
			secrets := cs.CoreV1().Secrets(ns)
			other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tunnel-credentials", Namespace: ns}, StringData: map[string]string{"token": "x"}}
			if err := admin.Create(ctx, other); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.Delete(context.Background(), other) })
			if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.secret}, Data: map[string][]byte{"tokens": []byte("admin:" + strings.Repeat("ab", 32))}}, metav1.CreateOptions{}); err != nil {
				t.Errorf("create Secret %s: %v", s.secret, err)
			}
			got, err := secrets.Get(ctx, s.secret, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get Secret %s: %v", s.secret, err)
			}
			patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"data":{"cluster-secret":"eA=="}}`, got.ResourceVersion)
			if _, err := secrets.Patch(ctx, s.secret, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Errorf("patch Secret %s: %v", s.secret, err)
			}
			if _, err := secrets.Get(ctx, other.Name, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("get Secret %s: err %v, want Forbidden", other.Name, err)
			}
			if _, err := secrets.List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("list Secrets: err %v, want Forbidden", err)
			}
			if err := secrets.Delete(ctx, s.secret, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("delete Secret %s: err %v, want Forbidden", s.secret, err)
			}
			t.Logf("%s: %d allowed and %d forbidden checks", user, len(allowed), len(forbidden))
		})
	}
}

// inNamespace moves the namespaced objects of a render, and the
// ServiceAccount subjects of its bindings, into ns.
func inNamespace(objs []*unstructured.Unstructured, ns string) []*unstructured.Unstructured {
	for _, u := range objs {
		if u.GetNamespace() != "" {
			u.SetNamespace(ns)
		}
		subjects, ok, _ := unstructured.NestedSlice(u.Object, "subjects")
		if !ok {
			continue
		}
		for _, s := range subjects {
			if sm := s.(map[string]any); sm["kind"] == "ServiceAccount" {
				sm["namespace"] = ns
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, subjects, "subjects")
	}
	return objs
}
