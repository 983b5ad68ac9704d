package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/gitops/v1alpha1"
	"github.com/conflux-sync/conflux-sync/internal/gittest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// plantedSecret is a secret value the GitOps tests render into configs and
// into failing templates: it must reach Conflux and nothing else.
const plantedSecret = "pl4nted-s3cret-VALUE-81c2"

// rotatedSecret replaces it in the Secret halfway through.
const rotatedSecret = "r0tated-s3cret-VALUE-77d1"

// gitopsFixture is a namespace on the shared API server with a Git server
// (smart HTTP with basic auth), the Conflux reference server and a
// three-node cluster whose logs are captured.
type gitopsFixture struct {
	t    testing.TB
	ctx  context.Context
	ns   string
	k8s  client.Client
	cx   *confluxServer
	c    *testCluster
	git  *gittest.HTTPServer
	repo *gittest.Repo
	logs *testutil.SyncBuffer
}

const (
	gitUser     = "ci"
	gitPassword = "git-password-0f9e"
)

func newGitopsFixture(t testing.TB) *gitopsFixture {
	t.Helper()
	env := kubeEnv(t)
	f := &gitopsFixture{t: t, ctx: context.Background(), ns: "g-" + randomSuffix(), k8s: gitopsClient(t, env.Config), logs: &testutil.SyncBuffer{}}
	f.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}})
	// envtest runs no namespace controller: remove the ConfluxSources so
	// the clusters of later tests (watching every namespace) do not poll
	// them.
	t.Cleanup(func() {
		f.k8s.DeleteAllOf(context.Background(), &v1alpha1.ConfluxSource{}, client.InNamespace(f.ns))
	})
	f.repo = gittest.NewRepo(t)
	f.git = gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: gitUser, Password: gitPassword}, map[string]*gittest.Repo{"configs": f.repo})
	f.cx = newConfluxServer(t)
	f.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: f.ns},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}})
	f.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: f.ns},
		Data: map[string][]byte{"password": []byte(plantedSecret), "user": []byte("shop")}})
	// Every log line of every node, at debug level, is kept to look for
	// the secret; the test log shows warnings.
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(f.logs, levelFilter{newTestWriter(t)}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.c = newTestClusterWith(t, 3, func(cfg *server.Config) {
		withConflux(f.cx)(cfg)
		cfg.Kube = server.KubeConfig{REST: env.Config, Namespace: f.ns, WatchNamespaces: []string{f.ns}}
		// gittest serves plain http on 127.0.0.1; "localhost" is the
		// other host of the credential tests. The namespace may use
		// only these two.
		cfg.SourceAllow = []string{git.DefaultSourceAllow, "http://127.0.0.1,http://localhost"}
		cfg.SourceAllowNamespaces = f.ns + "=http://127.0.0.1,http://localhost"
		cfg.GitStatusEvery = 100 * time.Millisecond
		cfg.Logger = logger.With("node", cfg.NodeID)
	})
	return f
}

// gitopsClient is an administrator's client for core kinds and
// ConfluxSources.
func gitopsClient(t testing.TB, cfg *rest.Config) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return k8s
}

// levelFilter passes only WARN and ERROR lines on, so the test log stays
// readable while the capture keeps everything.
type levelFilter struct{ w io.Writer }

func (l levelFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("level=WARN")) || bytes.Contains(p, []byte("level=ERROR")) {
		return l.w.Write(p)
	}
	return len(p), nil
}

func (f *gitopsFixture) create(obj client.Object) {
	f.t.Helper()
	if err := f.k8s.Create(f.ctx, obj); err != nil {
		f.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func (f *gitopsFixture) source(name, url, secret string) {
	f.t.Helper()
	cs := &v1alpha1.ConfluxSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec:       v1alpha1.ConfluxSourceSpec{URL: url, Path: "app", Interval: "5m", Timeout: "10s"},
	}
	if secret != "" {
		cs.Spec.SecretRef = &v1alpha1.LocalObjectReference{Name: secret}
	}
	f.create(cs)
}

// requestSync sets the requestedAt annotation, as `kubectl annotate` does.
func (f *gitopsFixture) requestSync(name string) string {
	f.t.Helper()
	at := time.Now().Format(time.RFC3339Nano)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cs v1alpha1.ConfluxSource
		if err := f.k8s.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &cs); err != nil {
			return err
		}
		if cs.Annotations == nil {
			cs.Annotations = map[string]string{}
		}
		cs.Annotations[v1alpha1.RequestedAtAnnotation] = at
		return f.k8s.Update(f.ctx, &cs)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return at
}

func (f *gitopsFixture) get(name string) v1alpha1.ConfluxSource {
	f.t.Helper()
	var cs v1alpha1.ConfluxSource
	if err := f.k8s.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &cs); err != nil {
		f.t.Fatal(err)
	}
	return cs
}

// waitStatus waits until the source handled requestedAt (when set) and
// cond holds; it returns the status.
func (f *gitopsFixture) waitStatus(name, requestedAt, what string, cond func(v1alpha1.ConfluxSourceStatus) bool) v1alpha1.ConfluxSourceStatus {
	f.t.Helper()
	var last v1alpha1.ConfluxSourceStatus
	testutil.WaitFor(f.t, 60*time.Second, fmt.Sprintf("ConfluxSource %s: %s", name, what), func() bool {
		cs := f.get(name)
		last = cs.Status
		return (requestedAt == "" || cs.Status.LastHandledReconcileAt == requestedAt) && cond(cs.Status)
	})
	return last
}

func readyIs(status metav1.ConditionStatus, reason string) func(v1alpha1.ConfluxSourceStatus) bool {
	return func(st v1alpha1.ConfluxSourceStatus) bool {
		c := condition(st.Conditions, "Ready")
		return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
	}
}

// published maps each Conflux config (tenant/app/env/name) to the
// contents of its versions, oldest first.
func (f *gitopsFixture) published() map[string][]string {
	out := map[string][]string{}
	for _, cfg := range f.cx.emu.Configs() {
		key := strings.Join([]string{cfg.Tenant, cfg.Application, cfg.Environment, cfg.Name}, "/")
		out[key] = []string{}
		for _, v := range f.cx.emu.Versions(cfg.ID) {
			out[key] = append(out[key], v.Content)
		}
	}
	return out
}

func (f *gitopsFixture) versionCount() int {
	n := 0
	for _, vs := range f.published() {
		n += len(vs)
	}
	return n
}

// configFile is a ConfluxConfig file.
func configFile(name, format, template, extra string) string {
	return fmt.Sprintf(`apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: %s
spec:
  application: shop
  environment: prod
  format: %s
  template:
    content: |
%s
%s`, name, format, indentLines(template, "      "), extra)
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// TestGitOpsConfluxSource is the seed's reconciliation test: a
// ConfluxSource and its Secrets, commits pushed to a real Git server, the
// rendered configs in the Conflux reference server.
func TestGitOpsConfluxSource(t *testing.T) {
	f := newGitopsFixture(t)
	tenant := f.ns
	settings, db := tenant+"/shop/prod/settings.yaml", tenant+"/shop/prod/db.properties"

	c1 := f.repo.Commit(t, "first configs", map[string]string{
		"app/settings.yaml": configFile("settings.yaml", "yaml", "pool: 10\n", "  release:\n    stable: true\n"),
		"app/db.yaml":       configFile("db.properties", "properties", "user={{ .Secrets.user }}\npassword={{ .Secrets.password }}\n", "  secretsRef:\n    name: db\n"),
		"app/deploy.yaml":   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ignored\n",
		"README.md":         "not scanned\n",
	})
	f.source("configs", f.git.URL("configs"), "git-auth")

	// 1. The commit is published: rendered content in Conflux, the commit
	// and the inventory (hashes and version ids, no content) in the status.
	st := f.waitStatus("configs", "", "Ready with the first commit", func(st v1alpha1.ConfluxSourceStatus) bool {
		return readyIs(metav1.ConditionTrue, "Succeeded")(st) && st.LastSyncedCommit == c1
	})
	if len(st.Inventory) != 2 || st.Inventory[0].VersionID == "" || st.Inventory[1].VersionID == "" || st.ObservedGeneration != f.get("configs").Generation {
		t.Fatalf("status %+v: want two inventory entries with version ids", st)
	}
	want := map[string][]string{settings: {"pool: 10\n"}, db: {"user=shop\npassword=" + plantedSecret + "\n"}}
	if got := f.published(); !mapsEqual(got, want) {
		t.Fatalf("Conflux holds %q, want %q", got, want)
	}

	// 2. A second commit changing one file publishes exactly one version.
	c2 := f.repo.Commit(t, "bigger pool", map[string]string{"app/settings.yaml": configFile("settings.yaml", "yaml", "pool: 20\n", "  release:\n    stable: true\n")})
	start := time.Now()
	at := f.requestSync("configs")
	f.waitStatus("configs", at, "Ready with the second commit", func(st v1alpha1.ConfluxSourceStatus) bool {
		return readyIs(metav1.ConditionTrue, "Succeeded")(st) && st.LastSyncedCommit == c2
	})
	// Measured for docs/benchmarks.md, not asserted.
	t.Logf("requestedAt annotation to Ready with the new version published: %s", time.Since(start).Round(time.Millisecond))
	want[settings] = []string{"pool: 10\n", "pool: 20\n"}
	if got := f.published(); !mapsEqual(got, want) {
		t.Fatalf("after the second commit Conflux holds %q, want %q", got, want)
	}

	// 3. The same commit again, and across a leader failover: nothing new.
	at = f.requestSync("configs")
	f.waitStatus("configs", at, "the same commit handled again", readyIs(metav1.ConditionTrue, "Succeeded"))
	old := f.c.leader()
	f.c.kill(old)
	newLeader := f.c.leader()
	at = f.requestSync("configs")
	f.waitStatus("configs", at, "handled by the new leader", readyIs(metav1.ConditionTrue, "Succeeded"))
	if newLeader == old {
		t.Fatal("no failover")
	}
	f.c.start(old)
	if got := f.published(); !mapsEqual(got, want) {
		t.Fatalf("the same commit published again: Conflux holds %q, want %q", got, want)
	}

	// 4. A file removed from Git is pruned: the config we created goes.
	c3 := f.repo.Commit(t, "drop settings", map[string]string{"app/settings.yaml": ""})
	at = f.requestSync("configs")
	st = f.waitStatus("configs", at, "Ready after the removal", func(st v1alpha1.ConfluxSourceStatus) bool {
		return readyIs(metav1.ConditionTrue, "Succeeded")(st) && st.LastSyncedCommit == c3
	})
	if len(st.Inventory) != 1 || st.Inventory[0].Config != db {
		t.Errorf("inventory %+v: want only %s", st.Inventory, db)
	}
	testutil.WaitFor(t, 30*time.Second, "the pruned config deleted from Conflux", func() bool {
		_, ok := f.published()[settings]
		return !ok
	})
	delete(want, settings)

	// 5. A changed Secret is rendered at the next poll: one new version,
	// no commit needed.
	var dbSecret corev1.Secret
	if err := f.k8s.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "db"}, &dbSecret); err != nil {
		t.Fatal(err)
	}
	dbSecret.Data["password"] = []byte(rotatedSecret)
	if err := f.k8s.Update(f.ctx, &dbSecret); err != nil {
		t.Fatal(err)
	}
	at = f.requestSync("configs")
	f.waitStatus("configs", at, "Ready with the rotated Secret", readyIs(metav1.ConditionTrue, "Succeeded"))
	want[db] = append(want[db], "user=shop\npassword="+rotatedSecret+"\n")
	testutil.WaitFor(t, 30*time.Second, "the rotated Secret published", func() bool { return mapsEqual(f.published(), want) })

	// 6. Broken files fail alone, named with file and line, and publish
	// nothing: a missing key, a bad Secret reference, and a template that
	// would print the secret in its error.
	before := f.versionCount()
	c4 := f.repo.Commit(t, "broken files", map[string]string{
		"app/missing-key.yaml": configFile("missing.yaml", "yaml", "a: 1\nb: {{ .Secrets.nope }}\n", "  secretsRef:\n    name: db\n"),
		"app/bad-secret.yaml":  configFile("bad-secret.yaml", "yaml", "a: {{ .Secrets.password }}\n", "  secretsRef:\n    name: no-such-secret\n"),
		"app/leak.yaml":        configFile("leak.yaml", "yaml", "port: {{ .Secrets.password | int }}\n", "  secretsRef:\n    name: db\n"),
		"app/db.yaml":          configFile("db.properties", "properties", "user={{ .Secrets.user }}\npassword={{ .Secrets.password }}\npool=5\n", "  secretsRef:\n    name: db\n"),
	})
	at = f.requestSync("configs")
	st = f.waitStatus("configs", at, "InvalidConfig for the broken files", func(st v1alpha1.ConfluxSourceStatus) bool {
		return readyIs(metav1.ConditionFalse, "InvalidConfig")(st) && st.LastAttemptedCommit == c4
	})
	if st.LastSyncedCommit != c3 {
		t.Errorf("lastSyncedCommit %s: a commit with failing files is not synced (want %s)", st.LastSyncedCommit, c3)
	}
	errs := strings.Join(st.FileErrors, "\n")
	for _, wantErr := range []string{
		`app/missing-key.yaml:12: spec.template.content:`, `map has no entry for key "nope"`,
		`app/bad-secret.yaml:1: spec.secretsRef.name: Secret ` + f.ns + `/no-such-secret not found`,
		`app/leak.yaml:11: spec.template.content:`, `error calling int`,
	} {
		if !strings.Contains(errs, wantErr) {
			t.Errorf("file errors %q: want %q", errs, wantErr)
		}
	}
	// The good file of the same commit is published.
	want[db] = append(want[db], "user=shop\npassword="+rotatedSecret+"\npool=5\n")
	testutil.WaitFor(t, 30*time.Second, "the good file of the broken commit published", func() bool { return mapsEqual(f.published(), want) })
	if got := f.versionCount(); got != before+1 {
		t.Errorf("%d versions after the broken commit, want %d (only the good file)", got, before+1)
	}

	// 7. An unreachable repository and wrong credentials: a condition with
	// the reason, and no publish.
	f.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "wrong-auth", Namespace: f.ns},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte("wrong-" + plantedSecret)}})
	f.source("wrong-password", f.git.URL("configs"), "wrong-auth")
	f.source("unreachable", fmt.Sprintf("http://127.0.0.1:%d/configs.git", testutil.FreePort(t)), "git-auth")
	f.waitStatus("wrong-password", "", "AuthenticationFailed", readyIs(metav1.ConditionFalse, "AuthenticationFailed"))
	f.waitStatus("unreachable", "", "Unreachable", readyIs(metav1.ConditionFalse, "Unreachable"))
	for _, name := range []string{"wrong-password", "unreachable"} {
		f.waitEvent(name, "GitOperationFailed")
	}
	if got := f.versionCount(); got != before+1 {
		t.Errorf("%d versions: failing sources published something", got)
	}

	// 8. The secrets reached Conflux only: not the log lines, the Events,
	// the status, the raft log or the FSM files.
	f.assertNoSecret(plantedSecret)
	f.assertNoSecret(rotatedSecret)

	// 9. Deleting the ConfluxSource removes its fragments, and the config
	// it created leaves Conflux.
	if err := f.k8s.Delete(f.ctx, &v1alpha1.ConfluxSource{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "configs"}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the deleted source's config removed from Conflux", func() bool { return len(f.published()) == 0 })
}

// waitEvent waits for an Event of reason on a ConfluxSource.
func (f *gitopsFixture) waitEvent(name, reason string) {
	f.t.Helper()
	testutil.WaitFor(f.t, 30*time.Second, fmt.Sprintf("event %s on %s", reason, name), func() bool {
		var list corev1.EventList
		if err := f.k8s.List(f.ctx, &list, client.InNamespace(f.ns)); err != nil {
			return false
		}
		return slices.ContainsFunc(list.Items, func(e corev1.Event) bool {
			return e.InvolvedObject.Name == name && e.Reason == reason
		})
	})
}

func (f *gitopsFixture) assertNoSecret(secret string) {
	f.t.Helper()
	if strings.Contains(f.logs.String(), secret) {
		f.t.Errorf("a log line holds the secret")
	}
	if f.logs.String() == "" {
		f.t.Error("no logs captured")
	}
	var events corev1.EventList
	if err := f.k8s.List(f.ctx, &events, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	if b, _ := json.Marshal(events.Items); bytes.Contains(b, []byte(secret)) || len(events.Items) == 0 {
		f.t.Errorf("the Events hold the secret (or there are none: %d)", len(events.Items))
	}
	var sources v1alpha1.ConfluxSourceList
	if err := f.k8s.List(f.ctx, &sources, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	if b, _ := json.Marshal(sources.Items); bytes.Contains(b, []byte(secret)) {
		f.t.Errorf("a ConfluxSource holds the secret")
	}
	for i, cfg := range f.c.cfgs {
		err := filepath.WalkDir(cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(secret)) {
				f.t.Errorf("node %d: %s holds the secret", i, p)
			}
			return nil
		})
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestGitOpsAPISource registers a Git source through the admin API, over
// git:// and with its template's secret in --secrets-dir.
func TestGitOpsAPISource(t *testing.T) {
	repo := gittest.NewRepo(t)
	daemon := gittest.NewDaemon(t, map[string]*gittest.Repo{"configs": repo})
	secretsDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(secretsDir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretsDir, "db", "password"), []byte(plantedSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cx := newConfluxServer(t)
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		withConflux(cx)(cfg)
		cfg.SecretsDir = secretsDir
		cfg.SourceAllow = []string{"git://127.0.0.1"}
		cfg.GitStatusEvery = 100 * time.Millisecond
	})
	cl := c.client(c.follower(), adminToken)
	ctx := context.Background()
	ref := api.SourceRef{Kind: api.SourceKindGit, Name: "team"}

	// A bad spec is refused with the field named; nothing is registered.
	_, err := cl.PutSource(ctx, api.Source{Source: ref, Spec: json.RawMessage(`{"url":"` + daemon.URL("configs") + `","interval":"1s"}`)})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Field != "spec.interval" {
		t.Fatalf("PutSource with a 1s interval: %v; want 400 on spec.interval", err)
	}

	commit := repo.Commit(t, "db", map[string]string{
		"db.yaml": configFile("db.properties", "properties", "password={{ .Secrets.password }}\n", "  secretsRef:\n    name: db\n"),
	})
	spec, _ := json.Marshal(api.GitSourceSpec{URL: daemon.URL("configs"), Tenant: "team-a", Interval: "5s"})
	if _, err := cl.PutSource(ctx, api.Source{Source: ref, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	var st api.GitSourceStatus
	testutil.WaitFor(t, 60*time.Second, "the API source Ready", func() bool {
		srcs, err := cl.ListSources(ctx)
		if err != nil {
			return false
		}
		for _, s := range srcs {
			if s.Source == ref && json.Unmarshal(s.Status, &st) == nil {
				for _, c := range st.Conditions {
					if c.Type == "Ready" && c.Status == "True" {
						return st.LastSyncedCommit == commit
					}
				}
			}
		}
		return false
	})
	if len(st.Inventory) != 1 || st.Inventory[0].Config != "team-a/shop/prod/db.properties" || st.Inventory[0].VersionID == "" {
		t.Fatalf("inventory %+v", st.Inventory)
	}
	var contents []string
	for _, cfg := range cx.emu.Configs() {
		for _, v := range cx.emu.Versions(cfg.ID) {
			contents = append(contents, v.Content)
		}
	}
	if !slices.Equal(contents, []string{"password=" + plantedSecret + "\n"}) {
		t.Fatalf("Conflux holds %q", contents)
	}
	frags, err := cl.ListFragments(ctx, api.TargetRef{}, ref)
	if err != nil || len(frags) != 1 || bytes.Contains(frags[0].Spec, []byte(plantedSecret)) {
		t.Fatalf("fragments %v (%v): want one, without the secret", frags, err)
	}

	// A config another source owns is a conflict: the file's release is
	// not published into it, and the status names the owner.
	owned := api.Fragment{Target: api.TargetRef{Kind: api.KindConfluxConfig, Name: "team-a/shop/prod/owned.yaml"}, Source: api.SourceRef{Kind: "API", Name: "platform"},
		Generation: 1, Spec: json.RawMessage(`{"config":{"format":"yaml"},"releases":[{"name":"v1","content":"a: 1\n"}],"policy":{"rules":[{"priority":0,"release":"v1"}]}}`)}
	if _, err := cl.PutFragment(ctx, owned, api.Wait(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, "owned", map[string]string{"owned.yaml": configFile("owned.yaml", "yaml", "a: 2\n", "")})
	spec, _ = json.Marshal(api.GitSourceSpec{URL: daemon.URL("configs"), Tenant: "team-a", Interval: "5s", RequestedAt: "now"})
	if _, err := cl.PutSource(ctx, api.Source{Source: ref, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "a Conflict naming the owner", func() bool {
		srcs, _ := cl.ListSources(ctx)
		for _, s := range srcs {
			if s.Source == ref && json.Unmarshal(s.Status, &st) == nil {
				for _, c := range st.Conditions {
					if c.Type == "Ready" && c.Reason == "Conflict" {
						return strings.Contains(c.Message, "owned by API/platform")
					}
				}
			}
		}
		return false
	})
	var ownedVersions []string
	for _, cfg := range cx.emu.Configs() {
		if cfg.Name == "owned.yaml" {
			for _, v := range cx.emu.Versions(cfg.ID) {
				ownedVersions = append(ownedVersions, v.Content)
			}
		}
	}
	if !slices.Equal(ownedVersions, []string{"a: 1\n"}) {
		t.Errorf("the owned config holds %q: the Git release was published into it", ownedVersions)
	}

	// Removing the source removes its config from Conflux (and leaves the
	// one it did not own).
	if _, err := cl.DeleteSource(ctx, ref); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the config deleted with its source", func() bool {
		cfgs := cx.emu.Configs()
		return len(cfgs) == 1 && cfgs[0].Name == "owned.yaml"
	})
}
