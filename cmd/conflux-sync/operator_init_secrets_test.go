package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
)

// runOperatorCLI runs the command line in-process and returns its standard output.
func runOperatorCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return stdout.String(), err
}

var adminTokenLine = regexp.MustCompile(`^admin:[0-9a-f]{64}\n$`)

// requireStrongSecret checks both keys of a generated Secret: a cluster
// secret of one base64 line of 32 bytes, and a token file the server loads
// holding one admin token of 64 hex characters.
func requireStrongSecret(t *testing.T, data map[string][]byte) {
	t.Helper()
	cs := string(data[SecretKeyClusterSecret])
	line, ok := strings.CutSuffix(cs, "\n")
	if !ok || strings.Contains(line, "\n") {
		t.Errorf("%s is not exactly one line", SecretKeyClusterSecret)
	}
	if raw, err := base64.StdEncoding.DecodeString(line); err != nil || len(raw) != 32 {
		t.Errorf("%s: not standard base64 of 32 bytes (%d bytes, %v)", SecretKeyClusterSecret, len(raw), err)
	} else if bytes.Equal(raw, make([]byte, 32)) {
		t.Errorf("%s is all zero bytes", SecretKeyClusterSecret)
	}
	tokens := data[SecretKeyTokens]
	if !adminTokenLine.Match(tokens) {
		t.Errorf("%s is not one admin:<64 hex> line (%d bytes)", SecretKeyTokens, len(tokens))
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	byRole, err := httpapi.LoadTokenFile(path)
	if err != nil {
		t.Errorf("the server refuses the generated %s: %v", SecretKeyTokens, err)
	} else if len(byRole[httpapi.RoleAdmin]) != 1 {
		t.Errorf("the generated %s has %d admin tokens, want 1", SecretKeyTokens, len(byRole[httpapi.RoleAdmin]))
	}
}

// requireNoSecretIn fails when out holds any secret value of data, raw or
// in the base64 form the API uses.
func requireNoSecretIn(t *testing.T, what, out string, data map[string][]byte) {
	t.Helper()
	for k, v := range data {
		for _, s := range []string{strings.TrimSpace(string(v)), base64.StdEncoding.EncodeToString(v)} {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("%s shows the value of %s", what, k)
			}
		}
		if tok, ok := strings.CutPrefix(strings.TrimSpace(string(v)), "admin:"); ok && strings.Contains(out, tok) {
			t.Errorf("%s shows the admin token", what)
		}
	}
}

// secretsNamespace creates namespace ns on env's API server and returns an
// admin kubeconfig for the command under test and the namespace's Secrets,
// which the test reads and seeds behind the command's back.
func secretsNamespace(t *testing.T, env *kubetest.Env, ns string) (kubeconfig string, secrets typedcorev1.SecretInterface) {
	t.Helper()
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, cs.CoreV1().Secrets(ns)
}

// TestOperatorInitSecrets runs `conflux-sync operator init-secrets` against
// a real kube-apiserver: it creates the Secret with strong values, a second
// run changes nothing, existing keys are kept and only missing (or empty)
// ones filled, concurrent runs agree on one value per key, and nothing
// secret is printed.
func TestOperatorInitSecrets(t *testing.T) {
	t.Parallel()
	env := kubetest.StartForTest(t)
	ctx := t.Context()
	const ns = "init-secrets"
	kubeconfig, secrets := secretsNamespace(t, env, ns)
	get := func(t *testing.T, name string) *corev1.Secret {
		t.Helper()
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("creates, then changes nothing", func(t *testing.T) {
		out, err := runOperatorCLI(t, "operator", "init-secrets", "--kubeconfig", kubeconfig, "--namespace", ns)
		if err != nil {
			t.Fatalf("init-secrets: %v\n%s", err, out)
		}
		first := get(t, DefaultClusterSecretName)
		if first.Type != corev1.SecretTypeOpaque {
			t.Errorf("type %q, want Opaque", first.Type)
		}
		requireStrongSecret(t, first.Data)
		requireNoSecretIn(t, "the output", out, first.Data)
		for _, want := range []string{"Secret init-secrets/conflux-sync created", "kubectl -n init-secrets get secret conflux-sync"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}

		out, err = runOperatorCLI(t, "operator", "init-secrets", "--kubeconfig", kubeconfig, "--namespace", ns)
		if err != nil {
			t.Fatalf("second init-secrets: %v\n%s", err, out)
		}
		second := get(t, DefaultClusterSecretName)
		if second.ResourceVersion != first.ResourceVersion {
			t.Errorf("the second run wrote the Secret (resourceVersion %s -> %s)", first.ResourceVersion, second.ResourceVersion)
		}
		if !strings.Contains(out, "nothing to do") {
			t.Errorf("second run's output:\n%s", out)
		}
	})

	t.Run("keeps existing keys, fills missing and empty ones", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			data     map[string][]byte
			generate []string
		}{
			{"tokens only", map[string][]byte{SecretKeyTokens: []byte("admin:" + strings.Repeat("ab", 32) + "\nread:" + strings.Repeat("cd", 32) + "\n"), "extra": []byte("kept too")}, []string{SecretKeyClusterSecret}},
			{"cluster secret only", map[string][]byte{SecretKeyClusterSecret: []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) + "\n")}, []string{SecretKeyTokens}},
			{"empty cluster secret", map[string][]byte{SecretKeyClusterSecret: []byte(" \n"), SecretKeyTokens: []byte("admin:" + strings.Repeat("ef", 32))}, []string{SecretKeyClusterSecret}},
			{"both set", map[string][]byte{SecretKeyClusterSecret: []byte("anything the operator chose"), SecretKeyTokens: []byte("admin:" + strings.Repeat("01", 32))}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				name := strings.ReplaceAll(tc.name, " ", "-")
				if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: tc.data}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				out, err := runOperatorCLI(t, "operator", "init-secrets", "--kubeconfig", kubeconfig, "-n", ns, "--name", name)
				if err != nil {
					t.Fatalf("init-secrets: %v\n%s", err, out)
				}
				got := get(t, name).Data
				for k, v := range tc.data {
					generated := false
					for _, g := range tc.generate {
						generated = generated || g == k
					}
					if !generated && !bytes.Equal(got[k], v) {
						t.Errorf("key %s was changed", k)
					}
				}
				for _, k := range tc.generate {
					if bytes.Equal(got[k], tc.data[k]) {
						t.Errorf("key %s was not generated", k)
					}
				}
				// What was generated is strong.
				if len(tc.generate) > 0 {
					strong := map[string][]byte{SecretKeyClusterSecret: newClusterSecretFile(), SecretKeyTokens: newTokenFile()}
					for _, k := range tc.generate {
						strong[k] = got[k]
					}
					requireStrongSecret(t, strong)
				}
				requireNoSecretIn(t, "the output", out, got)
				if len(tc.generate) == 0 && !strings.Contains(out, "nothing to do") {
					t.Errorf("output:\n%s", out)
				}
				if len(tc.generate) > 0 && !strings.Contains(out, "existed: generated "+strings.Join(tc.generate, ", ")) {
					t.Errorf("output:\n%s", out)
				}
			})
		}
	})

	t.Run("concurrent runs agree", func(t *testing.T) {
		// From nothing (all race to create), and from a Secret missing a
		// key (all race to patch it in).
		if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "race-fill"},
			Data: map[string][]byte{SecretKeyTokens: []byte("admin:7c1e4b9a2f6d08e35a9c1b7f4e2d6a0c8b3f5e1d9a7c2b4e6f0a8d3c5b1e9f27\n")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"race-create", "race-fill"} {
			t.Run(name, func(t *testing.T) {
				const runs = 8
				outs := make([]secretOutcome, runs)
				errs := make([]error, runs)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range runs {
					wg.Go(func() {
						c, err := kubernetes.NewForConfig(env.Config)
						if err != nil {
							errs[i] = err
							return
						}
						<-start
						outs[i], errs[i] = ensureSecret(ctx, c.CoreV1().Secrets(ns), ns, name)
					})
				}
				close(start)
				wg.Wait()
				final := get(t, name).Data
				requireStrongSecret(t, final)
				created, rounds, generatedBy := 0, 0, map[string]int{}
				for i := range runs {
					if errs[i] != nil {
						t.Errorf("run %d: %v", i, errs[i])
						continue
					}
					for k, v := range final {
						if !bytes.Equal(outs[i].data[k], v) {
							t.Errorf("run %d ended with another %s than the Secret holds", i, k)
						}
					}
					if outs[i].created {
						created++
					}
					rounds += outs[i].rounds
					for _, k := range outs[i].generated {
						generatedBy[k]++
					}
				}
				t.Logf("%d runs took %d rounds (%d lost a race and read the winner's values)", runs, rounds, rounds-runs)
				if name == "race-create" && created != 1 {
					t.Errorf("%d runs report they created the Secret, want 1", created)
				}
				for k, n := range generatedBy {
					if n != 1 {
						t.Errorf("%d runs report they wrote %s, want 1", n, k)
					}
				}
			})
		}
	})

	t.Run("without permission the error says so", func(t *testing.T) {
		rc, err := env.UserConfig("nobody")
		if err != nil {
			t.Fatal(err)
		}
		c, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ensureSecret(ctx, c.CoreV1().Secrets(ns), ns, "forbidden")
		if err == nil || !strings.Contains(err.Error(), "get Secret init-secrets/forbidden") || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("err %v, want a forbidden get naming the Secret", err)
		}
	})
}

// TestOperatorInitSecretsPrint: --print writes a Secret manifest with
// fresh strong values (different on every run) and needs no API server.
func TestOperatorInitSecretsPrint(t *testing.T) {
	t.Parallel()
	var values []map[string][]byte
	for _, args := range [][]string{
		{"operator", "init-secrets", "--print", "--namespace", "prod", "--kubeconfig", "/nonexistent"},
		{"operator", "init-secrets", "--print", "--name", "edge"},
	} {
		out, err := runOperatorCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var s corev1.Secret
		if err := yaml.UnmarshalStrict([]byte(out), &s); err != nil {
			t.Fatalf("%v: not a Secret manifest: %v\n%s", args, err, out)
		}
		if s.APIVersion != "v1" || s.Kind != "Secret" || s.Type != corev1.SecretTypeOpaque {
			t.Errorf("%v: %s %s type %s", args, s.APIVersion, s.Kind, s.Type)
		}
		requireStrongSecret(t, s.Data)
		values = append(values, s.Data)
		want := fmt.Sprintf("%s/%s", s.Namespace, s.Name)
		if got := map[int]string{0: "prod/conflux-sync", 1: "/edge"}[len(values)-1]; got != want {
			t.Errorf("%v: metadata %s, want %s", args, want, got)
		}
	}
	for k := range values[0] {
		if bytes.Equal(values[0][k], values[1][k]) {
			t.Errorf("two runs printed the same %s", k)
		}
	}
	if _, err := runOperatorCLI(t, "operator", "init-secrets", "--print", "--name", ""); err == nil || exitCode(err) != 2 {
		t.Errorf("--name \"\": err %v, want a usage error", err)
	}
	if _, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(values[0][SecretKeyTokens])), "admin:")); err != nil {
		t.Errorf("token is not hex: %v", err)
	}
}

// TestOperatorInitSecretsAsTheJob runs the init-secrets Job of deploy/base
// and of the example overlay (whose backup component adds
// --admin-token-secret) the way the kubelet would run its container, as
// its ServiceAccount bound by the render's Role: it creates the Secret the
// StatefulSet mounts (and the backup CronJob's token Secret), a second run
// changes nothing, and a Secret that lost a key gets it back: the Role is
// enough for all of it.
func TestOperatorInitSecretsAsTheJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir string
		// tokenSecret is the Secret a CronJob of the render reads its
		// admin token from; "" when there is none.
		tokenSecret string
	}{
		{dir: "deploy/base"},
		{dir: "deploy/overlays/example", tokenSecret: "conflux-sync-backup"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			m := renderKustomization(t, tc.dir)
			sts, _ := m.statefulSet(t)
			env := kubetest.StartForTest(t)
			ctx := t.Context()
			admin, err := client.New(env.Config, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range m.objects(t) {
				switch u.GetKind() {
				case "Namespace", "ServiceAccount", "Role", "RoleBinding":
					if err := admin.Create(ctx, u); err != nil {
						t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
					}
				}
			}
			cs, err := kubernetes.NewForConfig(env.Config)
			if err != nil {
				t.Fatal(err)
			}
			ns := sts.Namespace
			mounted := secretNameOfVolume(t, sts, "/etc/conflux-sync/secret")
			job := newInitSecretsJob(t, m, env)
			for i, want := range []string{"created", "nothing to do"} {
				s, out := job.run(t, env)
				if s.Name != mounted {
					t.Fatalf("the Job makes Secret %s, the StatefulSet mounts %s", s.Name, mounted)
				}
				if !strings.Contains(out, want) {
					t.Errorf("run %d: output lacks %q:\n%s", i+1, want, out)
				}
				requireStrongSecret(t, s.Data)
				requireNoSecretIn(t, "the Job's output", out, s.Data)
				if tc.tokenSecret == "" {
					continue
				}
				// The CronJob's token Secret: the admin token, as the
				// CronJob reads it.
				var cron batchv1.CronJob
				m.decode(t, "batch/v1", "CronJob", "", "", &cron)
				refName, refKey := tokenPathSecret(t, cron.Spec.JobTemplate.Spec.Template.Spec)
				if refName != tc.tokenSecret {
					t.Fatalf("the CronJob reads Secret %s, want %s", refName, tc.tokenSecret)
				}
				ts, err := cs.CoreV1().Secrets(ns).Get(ctx, refName, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("the CronJob's Secret %s: %v", refName, err)
				}
				if got, want := strings.TrimSpace(string(ts.Data[refKey])), firstAdminToken(s.Data[SecretKeyTokens]); got != want || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got) {
					t.Errorf("Secret %s key %s is not the generated admin token", refName, refKey)
				}
				requireNoSecretIn(t, "the Job's output", out, ts.Data)
			}

			// A key removed (an operator's edit) is filled in again; the
			// other is kept.
			patch := []byte(`[{"op":"remove","path":"/data/cluster-secret"}]`)
			before, err := cs.CoreV1().Secrets(ns).Patch(ctx, mounted, types.JSONPatchType, patch, metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			after, out := job.run(t, env)
			requireStrongSecret(t, after.Data)
			if !bytes.Equal(before.Data[SecretKeyTokens], after.Data[SecretKeyTokens]) {
				t.Error("the tokens changed")
			}
			if !strings.Contains(out, "generated cluster-secret; kept tokens") {
				t.Errorf("output:\n%s", out)
			}
		})
	}
}

// TestOperatorInitSecretsAdminTokenSecret: --admin-token-secret copies the
// first admin token into a Secret of its own, keeps an existing one, and
// refuses what it cannot do with a clear error.
func TestOperatorInitSecretsAdminTokenSecret(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--print", "--admin-token-secret", "backup"},
		{"--admin-token-secret", "conflux-sync"},
		{"--admin-token-secret", "backup,,ci"},
	} {
		if _, err := runOperatorCLI(t, append([]string{"operator", "init-secrets"}, args...)...); err == nil || exitCode(err) != 2 {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	for _, tc := range []struct{ tokens, want string }{
		{"admin:" + strings.Repeat("a", 64) + "\n", strings.Repeat("a", 64)},
		{"# comment\nread:" + strings.Repeat("r", 40) + "\n admin : " + strings.Repeat("b", 40) + " # note\nadmin:" + strings.Repeat("c", 40), strings.Repeat("b", 40)},
		{"read:" + strings.Repeat("r", 40), ""},
	} {
		if got := firstAdminToken([]byte(tc.tokens)); got != tc.want {
			t.Errorf("firstAdminToken(%q) = %q, want %q", tc.tokens, got, tc.want)
		}
	}

	env := kubetest.StartForTest(t)
	ctx := t.Context()
	const ns = "admin-token"
	kubeconfig, secrets := secretsNamespace(t, env, ns)
	run := func(t *testing.T, extra ...string) (string, error) {
		t.Helper()
		return runOperatorCLI(t, append([]string{"operator", "init-secrets", "--kubeconfig", kubeconfig, "-n", ns}, extra...)...)
	}
	// An existing token Secret is kept as it is.
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci"}, Data: map[string][]byte{"token": []byte("the-ci-token-of-choice")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--admin-token-secret", "backup,ci")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	main, err := secrets.Get(ctx, DefaultClusterSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	backup, err := secrets.Get(ctx, "backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(backup.Data[SecretKeyClientToken]) != firstAdminToken(main.Data[SecretKeyTokens]) {
		t.Error("Secret backup does not hold the admin token")
	}
	if ci, err := secrets.Get(ctx, "ci", metav1.GetOptions{}); err != nil || string(ci.Data["token"]) != "the-ci-token-of-choice" {
		t.Errorf("Secret ci was changed (err %v)", err)
	}
	for _, want := range []string{"Secret admin-token/backup created", "Secret admin-token/ci exists: kept"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	requireNoSecretIn(t, "the output", out, main.Data)

	// A token Secret without the key is an error naming it, not a silent
	// CronJob failure later.
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keyless"}, Data: map[string][]byte{"other": []byte("x")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--admin-token-secret", "keyless"); err == nil || !strings.Contains(err.Error(), "admin-token/keyless exists without the key token") {
		t.Errorf("err %v, want one naming Secret keyless and its key", err)
	}
	// tokens without an admin token: nothing to copy.
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "readers"}, Data: map[string][]byte{
		SecretKeyClusterSecret: newClusterSecretFile(), SecretKeyTokens: []byte("read:" + strings.Repeat("d", 64) + "\n"),
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--name", "readers", "--admin-token-secret", "readers-copy"); err == nil || !strings.Contains(err.Error(), "admin-token/readers: tokens has no admin token") {
		t.Errorf("err %v, want one saying tokens has no admin token", err)
	}
}

// initSecretsJob is the render's init-secrets Job: its args with the env
// expanded as the kubelet would, and a kubeconfig of its ServiceAccount
// (what the in-cluster credentials would be) on env, where the render's
// RBAC must be applied.
type initSecretsJob struct {
	namespace, secret string
	args              []string
}

func newInitSecretsJob(t *testing.T, m *manifests, env *kubetest.Env) *initSecretsJob {
	t.Helper()
	var job batchv1.Job
	m.decode(t, "batch/v1", "Job", "", "", &job)
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		t.Fatalf("Job %s: the test mirrors exactly one container", job.Name)
	}
	ctr := spec.Containers[0]
	if len(ctr.Command) > 0 || len(ctr.EnvFrom) > 0 {
		t.Fatalf("Job %s sets command %v / envFrom %v, which the test does not mirror", job.Name, ctr.Command, ctr.EnvFrom)
	}
	j := &initSecretsJob{namespace: job.Namespace}
	j.args = expandArgs(t, ctr.Args, podEnv(t, m, ctr, job.Name+"-pod", j.namespace))
	for _, a := range j.args {
		if v, ok := strings.CutPrefix(a, "--name="); ok {
			j.secret = v
		}
		if strings.Contains(a, "$(") {
			t.Fatalf("Job %s: arg %q names a variable the test does not map", job.Name, a)
		}
	}
	if j.secret == "" {
		t.Fatalf("Job %s: no --name= in %q", job.Name, j.args)
	}
	user := fmt.Sprintf("system:serviceaccount:%s:%s", j.namespace, spec.ServiceAccountName)
	rc, err := env.UserConfig(user, "system:serviceaccounts", "system:serviceaccounts:"+j.namespace, "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, rc, kubeconfig)
	j.args = append(j.args, "--kubeconfig="+kubeconfig)
	t.Logf("the init-secrets Job as %s: conflux-sync %s", user, strings.Join(j.args, " "))
	return j
}

// run runs the Job's container once and returns the Secret it leaves (read
// as an administrator) and the Job's output.
func (j *initSecretsJob) run(t *testing.T, env *kubetest.Env) (*corev1.Secret, string) {
	t.Helper()
	out, err := runOperatorCLI(t, j.args...)
	if err != nil {
		t.Fatalf("the init-secrets Job fails: %v\n%s", err, out)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().Secrets(j.namespace).Get(t.Context(), j.secret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Secret the Job makes, %s/%s: %v", j.namespace, j.secret, err)
	}
	return s, out
}

// tokenPathSecret is the Secret and key behind the --token-path file of a
// pod's first container: the Secret volume mounted at the file's folder,
// and the key its items map to the file (the file's name without items).
func tokenPathSecret(t *testing.T, pod corev1.PodSpec) (name, key string) {
	t.Helper()
	ctr := pod.Containers[0]
	var file string
	for _, a := range ctr.Args {
		if v, ok := strings.CutPrefix(a, "--token-path="); ok {
			file = v
		}
	}
	if file == "" {
		t.Fatalf("container %s has no --token-path: %q", ctr.Name, ctr.Args)
	}
	dir, base := filepath.Dir(file), filepath.Base(file)
	for _, m := range ctr.VolumeMounts {
		if m.MountPath != dir || m.SubPath != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			key = base
			for _, it := range v.Secret.Items {
				if it.Path == base {
					key = it.Key
				}
			}
			return v.Secret.SecretName, key
		}
	}
	t.Fatalf("no Secret volume is mounted at %s for --token-path=%s", dir, file)
	return "", ""
}
