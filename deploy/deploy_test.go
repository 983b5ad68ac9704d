// Package deploy_test checks the deployment manifests: the kustomize base
// (deploy/base), the Helm chart (deploy/chart), the example overlay
// (deploy/overlays/example) with the ServiceMonitor component, and the
// least-privilege RBAC (deploy/rbac).
//
//   - TestKustomizeEqualsHelm: the chart with default values renders the
//     same objects as the base, but for the documented differences below.
//   - TestChartCRDsAreCopies: deploy/chart/crds holds byte-equal copies of
//     deploy/crds and deploy/crds/operators (Helm installs a chart's crds/
//     folder verbatim).
//   - TestManifestsApplyServerSideDryRun: every object of the base, the
//     chart and the overlay is accepted by a real kube-apiserver
//     (server-side apply, dry run, strict field validation).
//   - TestRBACImpersonation: the ServiceAccount bound by deploy/rbac may do
//     what conflux-sync needs and is refused what it does not.
//   - TestSecureByDefault (secure_test.go): no rendering ships a secret or a
//     placeholder, or turns cluster security off; the nodes read the cluster
//     secret and the tokens from the Secret the init-secrets Job generates.
//   - TestInitSecretsRBAC (secure_test.go): the init-secrets Job's
//     ServiceAccount may create the Secret and get/patch it, nothing more.
//
// kubectl (for `kubectl kustomize`) and hack/helmrender.sh (Helm's renderer
// built from the Go module proxy into .cache/bin) are run as commands; the
// API server is internal/kubetest's envtest. Without kubectl or the envtest
// binaries the tests skip, unless CONFLUX_REQUIRE_ENVTEST=1.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/conflux-sync/conflux-sync/internal/kubetest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

const (
	namespace    = "conflux-sync"
	release      = "conflux-sync"
	fieldManager = "deploy-test"
	// serviceAccount is who the pods run as, as the API server names it.
	serviceAccount = "system:serviceaccount:conflux-sync:conflux-sync"
)

// kustomizeLabels are the labels deploy/base's kustomization puts on every
// object, the CRDs included.
var kustomizeLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/part-of"}

// ---- rendering --------------------------------------------------------------

// repoRoot is the root module's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := kubetest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// run runs a command and returns its standard output; a failure shows its
// standard error.
// readFile reads a file of the repository.
func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// kustomize renders a kustomization folder (relative to the repository)
// with `kubectl kustomize`.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv(kubetest.RequireEnv) == "1" {
			t.Fatalf("kubectl: %v (%s=1)", err, kubetest.RequireEnv)
		}
		t.Skipf("kubectl not found, cannot render %s: %v", dir, err)
	}
	root := repoRoot(t)
	return parseObjects(t, dir, run(t, root, kubectl, "kustomize", filepath.Join(root, dir)))
}

var helmrender struct {
	once sync.Once
	bin  string
	err  error
	log  string
}

// helmRender renders deploy/chart with hack/helmrender (built on first use
// by hack/helmrender.sh; the script skips the build while its stamp is
// current) and the given extra flags.
func helmRender(t *testing.T, flags ...string) []*unstructured.Unstructured {
	t.Helper()
	root := repoRoot(t)
	helmrender.once.Do(func() {
		cmd := exec.Command("bash", filepath.Join(root, "hack", "helmrender.sh"))
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		helmrender.log = stderr.String()
		if err != nil {
			helmrender.err = fmt.Errorf("hack/helmrender.sh: %w\n%s", err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		helmrender.bin = lines[len(lines)-1]
	})
	if helmrender.err != nil {
		t.Fatal(helmrender.err)
	}
	t.Logf("%s", strings.TrimSpace(helmrender.log))
	args := append([]string{"-release", release, "-namespace", namespace}, flags...)
	args = append(args, filepath.Join(root, "deploy", "chart"))
	return parseObjects(t, "deploy/chart "+strings.Join(flags, " "), run(t, root, helmrender.bin, args...))
}

// parseObjects splits a multi-document YAML stream into objects (empty
// documents, e.g. a template that rendered nothing, are dropped).
func parseObjects(t *testing.T, what string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: read YAML: %v", what, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: YAML to JSON: %v\n%s", what, err, doc)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("%s: decode object: %v\n%s", what, err, doc)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatalf("%s rendered no objects", what)
	}
	return objs
}

// key names an object: kind.group/namespace/name.
func key(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	return fmt.Sprintf("%s.%s/%s/%s", gvk.Kind, gvk.Group, u.GetNamespace(), u.GetName())
}

func byKey(t *testing.T, what string, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	m := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		k := key(u)
		if _, dup := m[k]; dup {
			t.Errorf("%s renders %s twice", what, k)
		}
		m[k] = u
	}
	return m
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	t.Fatalf("no %s %s among %d objects", kind, name, len(objs))
	return nil
}

// ---- kustomize = helm -------------------------------------------------------

// TestKustomizeEqualsHelm renders deploy/base and deploy/chart (default
// values, release and namespace conflux-sync, CRDs included) and requires
// the same objects. Documented differences (deploy/chart/README.md):
//
//   - the Namespace: the base renders it, the chart only with
//     namespace.create=true (Helm installs into an existing namespace);
//   - the CRDs' labels: the base's kustomization labels every object, the
//     CRDs too; the chart's crds/ folder holds verbatim copies of
//     deploy/crds, which Helm never templates;
//   - the operators' CRDs: the chart's crds/ has them (Helm installs a CRD
//     only where none of its name exists), the base does not (kubectl
//     apply would replace an operator's): they are deploy/crds/operators.
//
// The chart adds none of Helm's own labels (helm.sh/chart,
// app.kubernetes.io/managed-by, instance, version), so nothing else is
// normalised.
func TestKustomizeEqualsHelm(t *testing.T) {
	t.Parallel()
	// The chart installs the operators' CRDs too (Helm skips a CRD that
	// exists); the base leaves them to deploy/crds/operators.
	base := append(kustomize(t, "deploy/base"), kustomize(t, "deploy/crds/operators")...)
	// CRD labels: the one normalisation.
	for _, u := range base {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		for _, l := range kustomizeLabels {
			unstructured.RemoveNestedField(u.Object, "metadata", "labels", l)
		}
		if len(u.GetLabels()) == 0 {
			unstructured.RemoveNestedField(u.Object, "metadata", "labels")
		}
	}

	t.Run("namespace.create=true", func(t *testing.T) {
		chart := helmRender(t, "-include-crds", "-set", "namespace.create=true")
		requireSameObjects(t, base, chart)
	})
	t.Run("defaults", func(t *testing.T) {
		chart := helmRender(t, "-include-crds")
		var withoutNamespace []*unstructured.Unstructured
		for _, u := range base {
			if u.GetKind() == "Namespace" && u.GetName() == namespace {
				continue
			}
			withoutNamespace = append(withoutNamespace, u)
		}
		if len(withoutNamespace) != len(base)-1 {
			t.Fatalf("deploy/base renders no Namespace %s", namespace)
		}
		requireSameObjects(t, withoutNamespace, chart)
	})
}

// requireSameObjects fails with a line diff of every object that differs.
func requireSameObjects(t *testing.T, kustomized, helm []*unstructured.Unstructured) {
	t.Helper()
	k, h := byKey(t, "kustomize", kustomized), byKey(t, "helm", helm)
	var keys []string
	for key := range k {
		keys = append(keys, key)
	}
	for key := range h {
		if _, ok := k[key]; !ok {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		ko, kok := k[key]
		ho, hok := h[key]
		switch {
		case !hok:
			t.Errorf("%s: rendered by kustomize only", key)
		case !kok:
			t.Errorf("%s: rendered by the chart only", key)
		default:
			ky, hy := toYAML(t, ko), toYAML(t, ho)
			if ky != hy {
				t.Errorf("%s differs (- kustomize, + helm):\n%s", key, lineDiff(ky, hy))
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d objects equal", len(keys))
	}
}

func toYAML(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	b, err := yaml.Marshal(u.Object) // sorted keys
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineDiff is a unified-style diff of two texts (longest common subsequence
// of lines), with two lines of context around each change.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			lines = append(lines, line{'+', y[j]})
			j++
		default:
			lines = append(lines, line{'-', x[i]})
			i++
		}
	}
	const context = 2
	var out strings.Builder
	last := -1
	for k, l := range lines {
		near := false
		for d := max(0, k-context); d <= min(len(lines)-1, k+context); d++ {
			if lines[d].op != ' ' {
				near = true
				break
			}
		}
		if !near {
			continue
		}
		if last >= 0 && k != last+1 {
			out.WriteString("  ...\n")
		}
		fmt.Fprintf(&out, "%c %s\n", l.op, l.text)
		last = k
	}
	return out.String()
}

// TestChartCRDsAreCopies: Helm installs the files of a chart's crds/ folder
// as they are, so they must be exactly deploy/crds (make generate writes
// those; copy them with `cp deploy/crds/*_*.yaml deploy/chart/crds/`).
func TestChartCRDsAreCopies(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	read := func(dir string) map[string][]byte {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") || e.Name() == "kustomization.yaml" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files
	}
	want, got := read("deploy/crds"), read("deploy/chart/crds")
	maps.Copy(want, read("deploy/crds/operators"))
	if len(want) == 0 {
		t.Fatal("no CRDs in deploy/crds")
	}
	for name, b := range want {
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("deploy/chart/crds/%s is missing: cp deploy/crds/*_*.yaml deploy/chart/crds/", name)
		case !bytes.Equal(g, b):
			t.Errorf("deploy/chart/crds/%s differs from deploy/crds/%s: cp deploy/crds/*_*.yaml deploy/chart/crds/", name, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("deploy/chart/crds/%s is not in deploy/crds: remove it", name)
		}
	}
}

// ---- the API server ---------------------------------------------------------

// startAPIServer starts envtest (with deploy/crds and the Gateway API CRDs
// installed) for one test, stopped by t.Cleanup.
func startAPIServer(t *testing.T) *kubetest.Env {
	t.Helper()
	return kubetest.StartForTest(t)
}

// warnings collects the API server's warnings (deprecated fields and APIs,
// Pod Security warnings), which the tests treat as failures.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

func newClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apply server-side applies u (force: the envtest CRDs were created by
// another manager), with strict field validation: an unknown or duplicate
// field is an error, not a silently dropped value.
func apply(ctx context.Context, c client.Client, u *unstructured.Unstructured, dryRun bool) error {
	body, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	obj := u.DeepCopy()
	opts := []client.PatchOption{client.ForceOwnership, client.FieldOwner(fieldManager), client.FieldValidation("Strict")}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return c.Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body), opts...)
}

// installServiceMonitorCRD installs a stand-in for prometheus-operator's
// ServiceMonitor CRD (envtest has no prometheus-operator): the right group,
// version, kind and scope, any content.
func installServiceMonitorCRD(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor", ListKind: "ServiceMonitorList",
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:                   "object",
					XPreserveUnknownFields: ptr(true),
				}},
			}},
		},
	}
	if err := c.Create(ctx, crd); err != nil {
		t.Fatalf("install the ServiceMonitor stand-in CRD: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), crd) })
	waitEstablished(t, ctx, c, crd.Name)
}

func ptr[T any](v T) *T { return &v }

func waitEstablished(t *testing.T, ctx context.Context, c client.Client, name string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, "CRD "+name+" established", func() bool {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			return false
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true
			}
		}
		return false
	})
}

// ---- server-side dry run ----------------------------------------------------

// TestManifestsApplyServerSideDryRun applies every object of the base, the
// chart (ServiceMonitor on; and once with non-default values) and the
// example overlay to a real kube-apiserver: Namespaces and CRDs for real,
// everything else with server-side apply and dry-run=All, strict field
// validation and no warning allowed. This checks the StatefulSet (probes,
// the preStop sleep, securityContext, volumes), the Services, the PDB, the
// NetworkPolicy, the RBAC objects and the ServiceMonitor against the API
// server's own schema and defaulting, not a copy of it. The StatefulSet's
// pod template is also dry-run created as a Pod in the namespace of the
// base, which enforces the restricted Pod Security Standard.
func TestManifestsApplyServerSideDryRun(t *testing.T) {
	t.Parallel()
	sets := []struct {
		name string
		objs func(t *testing.T) []*unstructured.Unstructured
		// check runs on the rendered objects before they are applied.
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{name: "kustomize deploy/base", objs: func(t *testing.T) []*unstructured.Unstructured { return kustomize(t, "deploy/base") }},
		{name: "helm deploy/chart serviceMonitor.enabled=true", objs: func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-include-crds", "-set", "serviceMonitor.enabled=true")
		}, check: func(t *testing.T, objs []*unstructured.Unstructured) {
			find(t, objs, "ServiceMonitor", "conflux-sync")
		}},
		{name: "helm deploy/chart custom values", objs: func(t *testing.T) []*unstructured.Unstructured {
			return helmRender(t, "-f", customValues(t), "-release", "edge", "-namespace", "edge-system")
		}, check: checkCustomChart},
		{name: "kustomize deploy/overlays/example", objs: func(t *testing.T) []*unstructured.Unstructured {
			return kustomize(t, "deploy/overlays/example")
		}, check: checkOverlay},
		{name: "deploy/examples/gitops", objs: func(t *testing.T) []*unstructured.Unstructured {
			objs := parseObjects(t, "deploy/examples/gitops/confluxsource.yaml", readFile(t, "deploy/examples/gitops/confluxsource.yaml"))
			for _, u := range objs {
				u.SetNamespace("team-a")
			}
			return objs
		}},
	}
	// Render first: a template error shows without waiting for envtest.
	rendered := make([][]*unstructured.Unstructured, len(sets))
	for i, s := range sets {
		rendered[i] = s.objs(t)
		if s.check != nil {
			t.Run("render "+s.name, func(t *testing.T) { s.check(t, rendered[i]) })
		}
	}

	env := startAPIServer(t)
	ctx := t.Context()
	warn := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = warn
	c := newClient(t, cfg)
	installServiceMonitorCRD(t, ctx, c)
	_ = warn.take()

	for i, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			objs := rendered[i]
			// Namespaces, then CRDs, for real: the rest needs them.
			created := map[string]bool{}
			for _, u := range objs {
				switch u.GetKind() {
				case "Namespace":
					if err := apply(ctx, c, u, false); err != nil {
						t.Fatalf("apply %s: %v", key(u), err)
					}
					created[u.GetName()] = true
				case "CustomResourceDefinition":
					if err := apply(ctx, c, u, false); err != nil {
						t.Fatalf("apply %s: %v", key(u), err)
					}
					waitEstablished(t, ctx, c, u.GetName())
				}
			}
			// A chart installs into an existing namespace.
			for _, u := range objs {
				ns := u.GetNamespace()
				if ns == "" || created[ns] {
					continue
				}
				nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
				if err := c.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatalf("create namespace %s: %v", ns, err)
				}
				created[ns] = true
			}
			for _, u := range objs {
				if k := u.GetKind(); k == "Namespace" || k == "CustomResourceDefinition" {
					continue
				}
				if err := apply(ctx, c, u, true); err != nil {
					t.Errorf("dry-run apply %s: %v", key(u), err)
				}
				for _, w := range warn.take() {
					t.Errorf("dry-run apply %s: warning: %s", key(u), w)
				}
			}
			// The pods the StatefulSet and the Jobs would create.
			for _, u := range objs {
				if k := u.GetKind(); k == "StatefulSet" || k == "Job" {
					dryRunPod(t, ctx, c, u)
					for _, w := range warn.take() {
						t.Errorf("dry-run create a pod of %s: warning: %s", key(u), w)
					}
				}
			}
			t.Logf("%d objects accepted", len(objs))
		})
	}
	// The namespaces go with the API server (t.Cleanup in startAPIServer);
	// the dry-run objects never existed.
}

// dryRunPod creates (dry run) the first Pod of a StatefulSet (or a Job) as
// its controller would: the template plus the claim of each
// volumeClaimTemplate.
// Admission, Pod Security (the base's namespace enforces restricted)
// included.
func dryRunPod(t *testing.T, ctx context.Context, c client.Client, sts *unstructured.Unstructured) {
	t.Helper()
	template, ok, err := unstructured.NestedMap(sts.Object, "spec", "template")
	if !ok || err != nil {
		t.Fatalf("%s has no pod template: %v", key(sts), err)
	}
	pod := &unstructured.Unstructured{Object: template}
	pod.SetAPIVersion("v1")
	pod.SetKind("Pod")
	pod.SetName(sts.GetName() + "-0")
	pod.SetNamespace(sts.GetNamespace())
	claims, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
	volumes, _, _ := unstructured.NestedSlice(pod.Object, "spec", "volumes")
	for _, cl := range claims {
		name, _, _ := unstructured.NestedString(cl.(map[string]any), "metadata", "name")
		volumes = append(volumes, map[string]any{
			"name":                  name,
			"persistentVolumeClaim": map[string]any{"claimName": name + "-" + pod.GetName()},
		})
	}
	if err := unstructured.SetNestedSlice(pod.Object, volumes, "spec", "volumes"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, pod, client.DryRunAll, client.FieldValidation("Strict")); err != nil {
		t.Errorf("dry-run create pod %s/%s of %s: %v", pod.GetNamespace(), pod.GetName(), key(sts), err)
	}
}

// customValues writes a values file using every value the defaults leave
// off, for a chart render that exercises the other template branches.
func customValues(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	values := `
fullnameOverride: ""
namespace:
  create: true
image:
  tag: v1.2.3
  pullPolicy: Always
replicas: 5
resources:
  requests: {cpu: 250m, memory: 256Mi}
storage:
  size: 20Gi
  className: fast-ssd
secret:
  existingSecret: edge-secrets
kubernetes:
  enabled: false
conflux:
  url: https://conflux.example.com
  tokenSecret:
    name: conflux-api
    key: token
extraArgs: [--log-level=debug]
extraEnv:
  - name: GOMEMLIMIT
    value: 900MiB
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Equal
    value: conflux-sync
    effect: NoSchedule
networkPolicy:
  enabled: false
serviceMonitor:
  enabled: true
  labels:
    release: kube-prometheus-stack
`
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkCustomChart checks what customValues should change: names from the
// release, the join list and --bootstrap-expect from replicas, the Secret
// references, the Conflux wiring.
func checkCustomChart(t *testing.T, objs []*unstructured.Unstructured) {
	for _, u := range objs {
		switch u.GetKind() {
		case "Secret", "Job", "Role", "RoleBinding", "NetworkPolicy", "CustomResourceDefinition":
			t.Errorf("rendered %s although existingSecret is set, networkPolicy is off and CRDs were not asked for", key(u))
		}
		if ns := u.GetNamespace(); ns != "" && ns != "edge-system" {
			t.Errorf("%s: namespace %q, want the release namespace edge-system", key(u), ns)
		}
	}
	find(t, objs, "Namespace", "edge-system")
	find(t, objs, "Service", "edge-conflux-sync-headless")
	find(t, objs, "ServiceMonitor", "edge-conflux-sync")
	sts := find(t, objs, "StatefulSet", "edge-conflux-sync")
	selector, _, _ := unstructured.NestedStringMap(sts.Object, "spec", "selector", "matchLabels")
	if selector["app.kubernetes.io/instance"] != "edge-conflux-sync" {
		t.Errorf("selector %v: want app.kubernetes.io/instance=edge-conflux-sync", selector)
	}
	containers, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "containers")
	ctr := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(ctr, "args")
	var join []string
	for i := range 5 {
		join = append(join, fmt.Sprintf("edge-conflux-sync-%d.edge-conflux-sync-headless.$(POD_NAMESPACE).svc:7782", i))
	}
	for _, want := range []string{
		"--advertise=$(POD_NAME).edge-conflux-sync-headless.$(POD_NAMESPACE).svc",
		"--join=" + strings.Join(join, ","),
		"--bootstrap-expect=5",
		"--conflux-url=https://conflux.example.com",
		"--log-level=debug",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if slices.Contains(args, "--kubernetes") {
		t.Errorf("args %q: --kubernetes although kubernetes.enabled=false", args)
	}
	if img, _, _ := unstructured.NestedString(ctr, "image"); img != "ghcr.io/conflux-sync/conflux-sync:v1.2.3" {
		t.Errorf("image %q", img)
	}
	if !slices.Contains(args, "--conflux-token-file=/etc/conflux-sync/conflux/token") {
		t.Errorf("args %q lack the Conflux token file", args)
	}
	env, _ := yaml.Marshal(ctr["env"])
	if !strings.Contains(string(env), "GOMEMLIMIT") || strings.Contains(string(env), "CONFLUX_API_TOKEN") {
		t.Errorf("env: want GOMEMLIMIT and no CONFLUX_API_TOKEN:\n%s", env)
	}
	vols, _ := yaml.Marshal(sts.Object["spec"])
	for _, want := range []string{"secretName: edge-secrets", "secretName: conflux-api", "key: token", "storageClassName: fast-ssd", "storage: 20Gi", "kubernetes.io/os: linux", "dedicated"} {
		if !strings.Contains(string(vols), want) {
			t.Errorf("StatefulSet spec lacks %q", want)
		}
	}
}

// checkOverlay checks the example overlay: no Secret of conflux-sync's own
// (base's init-secrets Job makes it), the image pinned on the nodes and the
// Job alike, the ServiceMonitor in the namespace, the Conflux token wired
// from its generated Secret.
func checkOverlay(t *testing.T, objs []*unstructured.Unstructured) {
	for _, u := range objs {
		if u.GetKind() == "Secret" && u.GetName() != "conflux-api" {
			t.Errorf("the overlay renders %s: conflux-sync's secrets are generated in the cluster", key(u))
		}
	}
	if sm := find(t, objs, "ServiceMonitor", "conflux-sync"); sm.GetNamespace() != namespace {
		t.Errorf("ServiceMonitor in namespace %q, want %s", sm.GetNamespace(), namespace)
	}
	cron := find(t, objs, "CronJob", "conflux-sync-backup")
	if b, _ := yaml.Marshal(cron.Object); !strings.Contains(string(b), "--into-dir=/backups") || !strings.Contains(string(b), "conflux-sync-backup") {
		t.Errorf("the overlay's backup CronJob:\n%s", b)
	}
	if b, _ := yaml.Marshal(find(t, objs, "Job", "conflux-sync-init-secrets").Object); !strings.Contains(string(b), "ghcr.io/conflux-sync/conflux-sync:v0.1.0") {
		t.Errorf("the overlay's init-secrets Job runs another image than the nodes:\n%s", b)
	}
	sts := find(t, objs, "StatefulSet", "conflux-sync")
	b, _ := yaml.Marshal(sts.Object)
	for _, want := range []string{"ghcr.io/conflux-sync/conflux-sync:v0.1.0", "--conflux-url=https://conflux.example.com", "--conflux-token-file=/etc/conflux-sync/conflux/conflux-token", "secretName: conflux-api"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the overlay's StatefulSet lacks %q", want)
		}
	}
}

// ---- RBAC -------------------------------------------------------------------

// TestRBACImpersonation applies deploy/rbac (for real) and asks the API
// server, as the ServiceAccount conflux-sync/conflux-sync (impersonated by
// the envtest administrator), what it may do: everything conflux-sync needs
// (clusterrole.yaml says why) and nothing of a list of what it must not.
func TestRBACImpersonation(t *testing.T) {
	t.Parallel()
	rbac := kustomize(t, "deploy/rbac")
	env := startAPIServer(t)
	ctx := t.Context()
	admin := newClient(t, env.Config)
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range rbac {
		if err := apply(ctx, admin, u, false); err != nil {
			t.Fatalf("apply %s: %v", key(u), err)
		}
		t.Cleanup(func() { _ = admin.Delete(context.Background(), u.DeepCopy()) })
	}
	find(t, rbac, "ServiceAccount", "conflux-sync")

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccount}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The impersonation works: the API server sees the ServiceAccount.
	who, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := who.Status.UserInfo.Username; got != serviceAccount {
		t.Fatalf("impersonated user is %q, want %q", got, serviceAccount)
	}

	type check struct {
		verb, group, resource, namespace string
	}
	const (
		cf    = "networking.cloudflare-operator.io"
		ady   = "networking.cfargotunnel.com"
		netk8 = "networking.k8s.io"
		gw    = "gateway.networking.k8s.io"
		gitop = "gitops.conflux.io"
		other = "team-a" // any namespace: the binding is cluster-wide
	)
	allowed := []check{
		{"list", netk8, "ingresses", ""},
		{"watch", netk8, "ingresses", ""},
		{"patch", netk8, "ingresses", other},
		{"patch", netk8, "ingresses/status", other},
		{"list", netk8, "ingressclasses", ""},
		{"watch", netk8, "ingressclasses", ""},
		{"list", gw, "httproutes", ""},
		{"watch", gw, "gateways", ""},
		{"list", gw, "gatewayclasses", ""},
		{"update", gw, "httproutes/status", other},
		{"list", "", "services", ""},
		{"watch", "", "services", ""},
		{"get", "", "secrets", other},
		{"get", "", "secrets", namespace},
		{"list", "", "secrets", ""},
		{"watch", "", "secrets", ""},
		{"create", "", "secrets", namespace},
		{"patch", "", "secrets", namespace},
		{"create", "", "events", other},
		{"patch", "", "events", other},
		{"list", gitop, "confluxsources", ""},
		{"watch", gitop, "confluxsources", ""},
		{"patch", gitop, "confluxsources/status", other},
	}
	for _, r := range []string{"tunnels", "clustertunnels", "tunnelbindings", "dnsrecords", "accessapplications", "networkroutes",
		"cloudflarecredentials", "tunnelingressclassconfigs", "virtualnetworks", "accessgroups"} {
		ns := other
		if r == "clustertunnels" || r == "networkroutes" || r == "cloudflarecredentials" || r == "virtualnetworks" || r == "accessgroups" {
			ns = ""
		}
		allowed = append(allowed,
			check{"list", cf, r, ""}, check{"watch", cf, r, ""},
			check{"patch", cf, r, ns}, check{"patch", cf, r + "/status", ns})
	}
	for _, r := range []string{"tunnels", "clustertunnels", "tunnelbindings", "accesstunnels"} {
		ns := other
		if r == "clustertunnels" {
			ns = ""
		}
		allowed = append(allowed,
			check{"list", ady, r, ""}, check{"watch", ady, r, ""},
			check{"patch", ady, r, ns}, check{"patch", ady, r + "/status", ns})
	}
	allowed = append(allowed,
		check{"list", "apiextensions.k8s.io", "customresourcedefinitions", ""},
		check{"watch", "apiextensions.k8s.io", "customresourcedefinitions", ""},
		check{"list", cf, "cloudflaredomains", ""},
		check{"patch", cf, "cloudflaredomains", ""}, // the operator's finalizer, released
		check{"patch", cf, "cloudflaredomains/status", ""},
		check{"patch", gw, "gateways", other},
		check{"patch", gw, "gateways/status", other},
		check{"patch", gw, "gatewayclasses/status", ""},
		check{"list", "", "nodes", ""})
	allowed = append(allowed,
		check{"patch", cf, "tunnels", other}, check{"update", cf, "tunnels", other},
		check{"patch", cf, "clustertunnels", ""}, check{"update", cf, "clustertunnels", ""})

	forbidden := []check{
		{"delete", "", "secrets", namespace},
		{"update", "", "secrets", namespace},
		{"deletecollection", "", "secrets", other},
		{"list", "", "pods", ""},
		{"create", "", "pods/exec", namespace},
		{"get", "", "configmaps", namespace},
		{"patch", "", "nodes", ""},
		{"list", "", "namespaces", ""},
		{"create", "", "serviceaccounts/token", namespace},
		{"patch", "", "services", other},
		{"delete", "", "events", other},
		{"create", "apps", "deployments", namespace},
		{"patch", "apps", "statefulsets", namespace},
		{"update", "rbac.authorization.k8s.io", "clusterroles", ""},
		{"bind", "rbac.authorization.k8s.io", "clusterroles", ""},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", ""},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", ""},
		{"impersonate", "", "users", ""},
		{"impersonate", "", "serviceaccounts", namespace},
		{"create", "apiextensions.k8s.io", "customresourcedefinitions", ""},
		{"get", netk8, "ingresses", other}, // served from the informer cache
		{"delete", netk8, "ingresses", other},
		{"update", netk8, "ingresses", other},
		{"update", netk8, "networkpolicies", namespace},
		{"patch", gw, "httproutes", other},
		{"patch", gw, "httproutes/status", other}, // update only
		{"delete", gitop, "confluxsources", other},
		{"create", gitop, "confluxsources", other},
		{"patch", gitop, "confluxsources", other},
		{"update", gitop, "confluxsources/status", other},
		{"delete", cf, "tunnels", other},
		{"create", cf, "dnsrecords", other},
		{"update", cf, "dnsrecords", other},
		{"delete", cf, "cloudflaredomains", ""},
		{"delete", ady, "tunnels", other},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", ""},
		{"delete", cf, "clustertunnels", ""},
		{"update", cf, "tunnels/status", other},
		{"patch", "coordination.k8s.io", "leases", namespace},
		{"create", "authentication.k8s.io", "tokenreviews", ""},
	}

	review := func(c check) (bool, string) {
		t.Helper()
		res, sub, _ := strings.Cut(c.resource, "/")
		ssar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: c.verb, Group: c.group, Resource: res, Subresource: sub, Namespace: c.namespace,
			},
		}}
		got, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, ssar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectAccessReview %+v: %v", c, err)
		}
		return got.Status.Allowed, got.Status.Reason
	}
	name := func(c check) string {
		r := c.resource
		if c.group != "" {
			r += "." + c.group
		}
		if c.namespace != "" {
			return fmt.Sprintf("%s %s in %s", c.verb, r, c.namespace)
		}
		return fmt.Sprintf("%s %s", c.verb, r)
	}
	for _, c := range allowed {
		if ok, reason := review(c); !ok {
			t.Errorf("%s may not %s (%s); conflux-sync needs it", serviceAccount, name(c), reason)
		}
	}
	for _, c := range forbidden {
		if ok, reason := review(c); ok {
			t.Errorf("%s may %s (%s); deploy/rbac must not grant it", serviceAccount, name(c), reason)
		}
	}

	// And by doing it: a cluster-wide list, a Secret read and what the
	// role refuses.
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tunnel-credentials", Namespace: other},
		StringData: map[string]string{"token": "not-a-secret"},
	}
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), secret) })
	if _, err := cs.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list ingresses in every namespace: %v", err)
	}
	if _, err := cs.CoreV1().Secrets(other).Get(ctx, secret.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("get secret %s/%s: %v", other, secret.Name, err)
	}
	if err := cs.CoreV1().Secrets(other).Delete(ctx, secret.Name, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete secret %s/%s: err %v, want Forbidden", other, secret.Name, err)
	}
	if _, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list pods: err %v, want Forbidden", err)
	}
	if _, err := cs.CoreV1().ConfigMaps(namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create configmap: err %v, want Forbidden", err)
	}
	t.Logf("%d allowed and %d forbidden checks", len(allowed), len(forbidden))
}
