package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/gitops/v1alpha1"
	"github.com/conflux-sync/conflux-sync/internal/gittest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

// wantAPIError checks that err is an API error with status and field whose
// message holds want.
func wantAPIError(t *testing.T, what string, err error, status int, field, want string) *api.Error {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Field != field || !strings.Contains(ae.Message, want) {
		t.Fatalf("%s: %v; want %d on %s with %q", what, err, status, field, want)
	}
	return ae
}

// TestGitSourceURLRules registers GitSources through the admin API of a
// three-node cluster (issue #19 item 4): URLs with credentials, file://
// outside --local-sources-dir, hosts outside --source-allow or a token's
// sources= are refused with the field and the rule; the credentials of a
// Secret are never sent to a host they are not bound to.
func TestGitSourceURLRules(t *testing.T) {
	repo := gittest.NewRepo(t)
	repo.Commit(t, "one", map[string]string{"app.yaml": configFile("app.yaml", "yaml", "pool: 1\n", "")})
	git := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: gitUser, Password: gitPassword}, map[string]*gittest.Repo{"configs": repo})
	evil := gittest.NewAuthRecorder(t)
	evilRepo := evil.URL() + "/configs.git"
	local := filepath.Dir(repo.Dir())
	outside := gittest.NewRepo(t)
	if err := os.Symlink(outside.Dir(), filepath.Join(local, "escape.git")); err != nil {
		t.Fatal(err)
	}
	secretsDir := t.TempDir()
	writeSecret(t, secretsDir, "git-auth", map[string]string{"username": gitUser, "password": gitPassword})
	writeSecret(t, secretsDir, "db", map[string]string{"username": "shop", "password": plantedSecret})

	const narrowToken = "ae5dc0b5321771c0920cfe13fd4d61871f8caf38095807f10ed9d7956ac852b7"
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	tokens := fmt.Sprintf("admin:%s\nwrite:%s\nread:%s\nwrite:%s sources=http://127.0.0.1/team-a\n", adminToken, writeToken, readToken, narrowToken)
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	cx := newConfluxServer(t)
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		withConflux(cx)(cfg)
		cfg.Tokens, cfg.TokenFile = nil, tokenFile
		cfg.SecretsDir = secretsDir
		cfg.SourceAllow = []string{"https://*,ssh://*,http://127.0.0.1,http://localhost"}
		cfg.LocalSourcesDir = local
		cfg.GitStatusEvery = 100 * time.Millisecond
	})
	ctx := context.Background()
	admin, write, read := c.client(c.follower(), adminToken), c.client(c.follower(), writeToken), c.client(c.follower(), readToken)
	narrow := c.client(c.follower(), narrowToken)
	put := func(cl *api.Client, name string, spec api.GitSourceSpec) error {
		raw, _ := json.Marshal(spec)
		_, err := cl.PutSource(ctx, api.Source{Source: api.SourceRef{Kind: api.SourceKindGit, Name: name}, Spec: raw})
		return err
	}

	// A URL with credentials: 400 on spec.url, not stored, not shown.
	withPassword := strings.Replace(git.URL("configs"), "://", "://"+gitUser+":"+gitPassword+"@", 1)
	ae := wantAPIError(t, "a URL with a password", put(write, "inline", api.GitSourceSpec{URL: withPassword}), 400, "spec.url", "put the credentials in a Secret")
	if strings.Contains(ae.Message, gitPassword) {
		t.Errorf("the error repeats the password: %s", ae.Message)
	}
	wantAPIError(t, "a URL with a token as user", put(write, "inline", api.GitSourceSpec{URL: strings.Replace(git.URL("configs"), "://", "://ghp_0123456789@", 1)}), 400, "spec.url", "credentials before @")

	// Hosts and schemes outside the rules: 403 naming the rule.
	wantAPIError(t, "plain http to a host not listed", put(write, "other", api.GitSourceSpec{URL: "http://git.example.com/configs.git"}), 403, "spec.url", "--source-allow")
	wantAPIError(t, "git://", put(write, "other", api.GitSourceSpec{URL: "git://127.0.0.1/configs.git"}), 403, "spec.url", "--source-allow")
	wantAPIError(t, "a token's sources=", put(narrow, "other", api.GitSourceSpec{URL: git.URL("configs")}), 403, "spec.url", "this token's sources= (http://127.0.0.1/team-a)")

	// file://: only inside --local-sources-dir, symlinks resolved.
	wantAPIError(t, "file:// outside", put(admin, "local", api.GitSourceSpec{URL: "file://" + outside.Dir()}), 403, "spec.url", "outside --local-sources-dir")
	wantAPIError(t, "file:// through a symlink", put(admin, "local", api.GitSourceSpec{URL: "file://" + filepath.Join(local, "escape.git")}), 403, "spec.url", "resolves to")
	wantAPIError(t, "file:///etc", put(admin, "local", api.GitSourceSpec{URL: "file:///etc"}), 403, "spec.url", "outside --local-sources-dir")
	if err := put(admin, "local", api.GitSourceSpec{URL: "file://" + repo.Dir(), Tenant: "team-a", Interval: "1h"}); err != nil {
		t.Fatalf("file:// inside --local-sources-dir: %v", err)
	}
	waitGitReady(t, read, "local", "True", "Succeeded")

	// Credentials: a write token cannot be the first to use a Secret (it
	// would choose where the Secret goes); an admin binds it to its host.
	wantAPIError(t, "a write token and an unbound Secret", put(write, "thief", api.GitSourceSpec{URL: evilRepo, SecretRef: "db"}), 403, "spec.secretRef", "not bound to any host yet")
	if err := put(admin, "app", api.GitSourceSpec{URL: git.URL("configs"), SecretRef: "git-auth", Tenant: "team-b", Interval: "1h"}); err != nil {
		t.Fatal(err)
	}
	waitGitReady(t, read, "app", "True", "Succeeded")
	// Pointing the source, or a new one, at another host is refused.
	wantAPIError(t, "the source moved to another host", put(write, "app", api.GitSourceSpec{URL: evilRepo, SecretRef: "git-auth", Tenant: "team-b"}), 403, "spec.url", "bound to 127.0.0.1, not localhost")
	wantAPIError(t, "a new source at another host", put(write, "thief", api.GitSourceSpec{URL: evilRepo, SecretRef: "git-auth"}), 403, "spec.url", "bind-secret git-auth --host 127.0.0.1 --host localhost")
	// The same host is fine for a write token.
	if err := put(write, "app2", api.GitSourceSpec{URL: git.URL("configs"), SecretRef: "git-auth", Tenant: "team-c", Interval: "1h"}); err != nil {
		t.Fatalf("a second source at the bound host: %v", err)
	}
	// Only an admin rebinds.
	bind := func(cl *api.Client, hosts ...string) error {
		raw, _ := json.Marshal(api.GitCredentialsSpec{Hosts: hosts})
		_, err := cl.PutSource(ctx, api.Source{Source: api.SourceRef{Kind: api.SourceKindGitCredentials, Name: "git-auth"}, Spec: raw})
		return err
	}
	wantAPIError(t, "a write token rebinding", bind(write, "localhost"), 403, "source.kind", "needs admin")
	_, err := write.DeleteSource(ctx, api.SourceRef{Kind: api.SourceKindGitCredentials, Name: "git-auth"})
	wantAPIError(t, "a write token unbinding", err, 403, "source.kind", "needs admin")
	wantAPIError(t, "a bad binding", bind(admin, "https://localhost"), 400, "spec.hosts[0]", "host name")

	if n, auths := evil.Seen(); n != 0 || len(auths) != 0 {
		t.Errorf("the other host got %d requests and %d Authorization headers; want none", n, len(auths))
	}
	srcs, err := read.ListSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(srcs)
	if strings.Contains(string(raw), gitPassword) || strings.Contains(string(raw), "ghp_0123456789") || strings.Contains(string(raw), "thief") {
		t.Errorf("the sources hold a refused registration or a password: %s", raw)
	}
	if !strings.Contains(string(raw), `"kind":"GitCredentials"`) || !strings.Contains(string(raw), `"hosts":["127.0.0.1"]`) {
		t.Errorf("no binding of git-auth to 127.0.0.1 in %s", raw)
	}

	// Sources registered before bindings existed keep working: a Secret
	// without a binding is bound to the hosts of every source using it.
	// (Built here by binding two hosts, registering a second source and
	// removing the binding: the state an upgraded data dir has.)
	if err := bind(admin, "127.0.0.1", "localhost"); err != nil {
		t.Fatal(err)
	}
	mirror := api.GitSourceSpec{URL: strings.Replace(git.URL("configs"), "127.0.0.1", "localhost", 1), SecretRef: "git-auth", Tenant: "team-d", Interval: "1h"}
	if err := put(admin, "mirror", mirror); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteSource(ctx, api.SourceRef{Kind: api.SourceKindGitCredentials, Name: "git-auth"}); err != nil {
		t.Fatal(err)
	}
	mirror.RequestedAt = "after the upgrade"
	if err := put(write, "mirror", mirror); err != nil {
		t.Fatalf("a write token re-registering a source of an unbound Secret used before: %v", err)
	}
	waitGitReady(t, read, "mirror", "True", "Succeeded")
	srcs, err = read.ListSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range srcs {
		if src.Source.Kind == api.SourceKindGitCredentials && src.Source.Name == "git-auth" {
			var spec api.GitCredentialsSpec
			json.Unmarshal(src.Spec, &spec)
			if !spec.AllowsHost("127.0.0.1") || !spec.AllowsHost("localhost") {
				t.Errorf("git-auth bound to %v after the upgrade; want the hosts of both sources", spec.Hosts)
			}
		}
	}
}

func writeSecret(t *testing.T, dir, name string, data map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, name, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// waitGitReady waits for the Ready condition of a GitSource.
func waitGitReady(t *testing.T, cl *api.Client, name, status, reason string) api.GitSourceStatus {
	t.Helper()
	var st api.GitSourceStatus
	testutil.WaitFor(t, 60*time.Second, fmt.Sprintf("GitSource %s Ready=%s %s", name, status, reason), func() bool {
		srcs, err := cl.ListSources(context.Background())
		if err != nil {
			return false
		}
		for _, s := range srcs {
			if s.Source.Kind == api.SourceKindGit && s.Source.Name == name && json.Unmarshal(s.Status, &st) == nil {
				for _, c := range st.Conditions {
					if c.Type == "Ready" {
						return c.Status == status && c.Reason == reason
					}
				}
			}
		}
		return false
	})
	return st
}

// TestGitOpsConfluxSourceURLRules: a ConfluxSource whose URL the server
// refuses gets a Ready=False condition and a Warning Event naming
// spec.url and the rule, and the credentials of its namespace's Secret
// never leave for a host they are not bound to.
func TestGitOpsConfluxSourceURLRules(t *testing.T) {
	f := newGitopsFixture(t)
	f.repo.Commit(t, "one", map[string]string{"app/settings.yaml": configFile("settings.yaml", "yaml", "pool: 10\n", "")})
	evil := gittest.NewAuthRecorder(t)

	f.source("configs", f.git.URL("configs"), "git-auth")
	f.waitStatus("configs", "", "Ready", readyIs(metav1.ConditionTrue, "Succeeded"))

	withPassword := strings.Replace(f.git.URL("configs"), "://", "://"+gitUser+":"+gitPassword+"@", 1)
	f.source("inline", withPassword, "")
	f.source("elsewhere", "https://git.example.com/configs.git", "")
	f.source("plain", "http://git.example.com/configs.git", "")
	f.source("thief", evil.URL()+"/configs.git", "git-auth")
	for _, tc := range []struct{ name, reason, event, want string }{
		{"inline", "InvalidSpec", "InvalidSpec", "spec.url: "},
		{"elsewhere", "URLNotAllowed", "URLNotAllowed", "--source-allow-namespaces for namespace " + f.ns},
		{"plain", "URLNotAllowed", "URLNotAllowed", "--source-allow-namespaces for namespace " + f.ns},
		{"thief", "CredentialsNotAllowed", "CredentialsNotAllowed", "bound to 127.0.0.1, not localhost"},
	} {
		st := f.waitStatus(tc.name, "", tc.reason, readyIs(metav1.ConditionFalse, tc.reason))
		msg := condition(st.Conditions, "Ready").Message
		if !strings.HasPrefix(msg, "spec.url: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: Ready message %q; want spec.url and %q", tc.name, msg, tc.want)
		}
		if s := condition(st.Conditions, "Stalled"); s == nil || s.Status != metav1.ConditionTrue {
			t.Errorf("%s: want Stalled=True, got %+v", tc.name, s)
		}
		f.waitEvent(tc.name, tc.event)
	}
	var events corev1.EventList
	if err := f.k8s.List(f.ctx, &events, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.InvolvedObject.Name == "inline" && e.Reason == "InvalidSpec" && (!strings.Contains(e.Message, "spec.url") || strings.Contains(e.Message, gitPassword)) {
			t.Errorf("Event %q: want spec.url without the password", e.Message)
		}
	}
	if n, auths := evil.Seen(); n != 0 || len(auths) != 0 {
		t.Errorf("the other host got %d requests and %d Authorization headers; want none", n, len(auths))
	}
	// The password the user wrote into spec.url is in no log line and
	// no status.
	if strings.Contains(f.logs.String(), gitPassword) {
		t.Error("a log line holds the password of the URL")
	}
	var list v1alpha1.ConfluxSourceList
	if err := f.k8s.List(f.ctx, &list, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	for _, cs := range list.Items {
		if b, _ := json.Marshal(cs.Status); strings.Contains(string(b), gitPassword) {
			t.Errorf("the status of %s holds the password", cs.Name)
		}
	}
}
