package git_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git"
	"github.com/conflux-sync/conflux-sync/internal/gittest"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// memStore is the replicated state reduced to what the poller uses; a
// target is "published" (version ids recorded) as soon as it is proposed.
type memStore struct {
	mu        sync.Mutex
	frags     map[api.SourceRef][]api.Fragment
	proposals int
}

func (m *memStore) ReplaceSourceFragments(_ context.Context, req api.ReplaceSourceRequest) (api.WriteResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Fragment
	for _, f := range req.Fragments {
		out = append(out, api.Fragment{Target: f.Target, Source: req.Source, Spec: f.Spec})
	}
	m.frags[req.Source] = out
	m.proposals++
	return api.WriteResult{Changed: len(out)}, nil
}

func (m *memStore) SourceFragments(_ context.Context, kind string) ([]api.Fragment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Fragment
	for src, fs := range m.frags {
		if src.Kind == kind {
			out = append(out, fs...)
		}
	}
	return out, nil
}

func (m *memStore) Target(_ context.Context, ref api.TargetRef) (api.Target, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fs := range m.frags {
		for _, f := range fs {
			if f.Target != ref {
				continue
			}
			var spec api.ConfluxConfigSpec
			if err := json.Unmarshal(f.Spec, &spec); err != nil {
				return api.Target{}, false, err
			}
			ids := map[string]string{}
			for _, r := range spec.Releases {
				ids["release."+r.Name] = "ver-" + r.ContentSHA256()[:8]
				ids["release."+r.Name+".sha"] = r.ContentSHA256()
			}
			return api.Target{Target: ref, Hash: "h", Status: &api.SyncStatus{DownstreamIDs: ids, SyncedHash: "h"}}, true, nil
		}
	}
	return api.Target{}, false, nil
}

func (m *memStore) proposalCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proposals
}

// reports collects the statuses the pollers report.
type reports struct {
	mu     sync.Mutex
	last   map[string]api.GitSourceStatus
	events []git.Event
}

func (r *reports) report(_ context.Context, src git.Source, st api.GitSourceStatus, events []git.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last[src.Ref.Name] = st
	r.events = append(r.events, events...)
}

func (r *reports) status(name string) api.GitSourceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[name]
}

func ready(st api.GitSourceStatus) (string, string) {
	for _, c := range st.Conditions {
		if c.Type == "Ready" {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

const configDoc = `apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: app.yaml
spec:
  application: shop
  environment: prod
  format: yaml
  template:
    content: |
      pool: %d
`

// TestPollerFetchesOnlyWhenTheRefMoves polls one source over smart HTTP:
// a poll of an unchanged head costs one info/refs request and no raft
// write; a new commit is fetched and proposed once.
func TestPollerFetchesOnlyWhenTheRefMoves(t *testing.T) {
	repo := gittest.NewRepo(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{}, map[string]*gittest.Repo{"r": repo})
	c1 := repo.Commit(t, "one", map[string]string{"app.yaml": fmt.Sprintf(configDoc, 1)})

	store := &memStore{frags: map[api.SourceRef][]api.Fragment{}}
	rep := &reports{last: map[string]api.GitSourceStatus{}}
	ctx, cancel := context.WithCancel(context.Background())
	metrics, err := git.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	pollers := git.NewPollers(ctx, git.PollerConfig{Store: store, Report: rep.report, StatusEvery: 10 * time.Millisecond, Metrics: metrics, URLPolicy: testPolicy(t, "")})
	t.Cleanup(func() { cancel(); pollers.Wait() })

	src := git.Source{Ref: api.SourceRef{Kind: api.SourceKindGit, Name: "r"}, Spec: api.GitSourceSpec{URL: srv.URL("r"), Interval: "1h", Tenant: "team"}, Generation: 1}
	poll := func(requestedAt string, wantCommit string) api.GitSourceStatus {
		t.Helper()
		src.Spec.RequestedAt = requestedAt
		pollers.Update([]git.Source{src}, nil)
		var st api.GitSourceStatus
		testutil.WaitFor(t, 30*time.Second, "poll "+requestedAt, func() bool {
			st = rep.status("r")
			status, _ := ready(st)
			return st.LastHandledReconcileAt == requestedAt && st.LastSyncedCommit == wantCommit && status == "True"
		})
		return st
	}
	packFetches := func() int {
		n := 0
		for _, p := range srv.Paths() {
			if strings.HasSuffix(p, "/git-upload-pack") {
				n++
			}
		}
		return n
	}

	st := poll("1", c1)
	if len(st.Inventory) != 1 || st.Inventory[0].Config != "team/shop/prod/app.yaml" || st.Inventory[0].VersionID == "" {
		t.Fatalf("inventory %+v", st.Inventory)
	}
	fetches, requests, proposals := packFetches(), srv.Requests(), store.proposalCount()
	if fetches == 0 || proposals != 1 {
		t.Fatalf("first poll: %d pack fetches, %d proposals", fetches, proposals)
	}

	// The same head twice: one ref listing each, no fetch, no proposal.
	poll("2", c1)
	poll("3", c1)
	if packFetches() != fetches || srv.Requests() != requests+2 || store.proposalCount() != proposals {
		t.Errorf("unchanged head: %d more pack fetches, %d more requests, %d more proposals; want 0, 2, 0",
			packFetches()-fetches, srv.Requests()-requests, store.proposalCount()-proposals)
	}

	// A new commit is fetched and proposed once.
	c2 := repo.Commit(t, "two", map[string]string{"app.yaml": fmt.Sprintf(configDoc, 2)})
	poll("4", c2)
	if packFetches() == fetches || store.proposalCount() != proposals+1 {
		t.Errorf("new commit: %d pack fetches, %d proposals", packFetches()-fetches, store.proposalCount()-proposals)
	}

	// Suspended: no request at all, the status says so.
	requests = srv.Requests()
	src.Spec.Suspend = true
	src.Generation = 2
	pollers.Update([]git.Source{src}, nil)
	testutil.WaitFor(t, 10*time.Second, "suspended", func() bool {
		for _, c := range rep.status("r").Conditions {
			if c.Type == "Reconciling" && c.Reason == git.ReasonSuspended {
				return true
			}
		}
		return false
	})
	if srv.Requests() != requests {
		t.Errorf("a suspended source made %d requests", srv.Requests()-requests)
	}

	// Removed from the set: its poller stops.
	pollers.Update(nil, nil)
}

// TestPollerFailures: Git errors and invalid specs become the Ready
// condition's reason, and a Warning event is told once.
func TestPollerFailures(t *testing.T) {
	repo := gittest.NewRepo(t)
	repo.Commit(t, "one", map[string]string{"app.yaml": fmt.Sprintf(configDoc, 1)})
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: "u", Password: "right"}, map[string]*gittest.Repo{"r": repo})
	store := &memStore{frags: map[api.SourceRef][]api.Fragment{}}
	rep := &reports{last: map[string]api.GitSourceStatus{}}
	ctx, cancel := context.WithCancel(context.Background())
	secrets := mapSecrets{"/creds": {"username": "u", "password": "wrong-pw-123"}}
	local := filepath.Dir(repo.Dir())
	pollers := git.NewPollers(ctx, git.PollerConfig{Store: store, Secrets: secrets, Report: rep.report, URLPolicy: testPolicy(t, local)})
	outside := gittest.NewRepo(t)
	outside.Commit(t, "one", map[string]string{"app.yaml": fmt.Sprintf(configDoc, 1)})
	link := filepath.Join(local, "link.git")
	if err := os.Symlink(outside.Dir(), link); err != nil {
		t.Fatal(err)
	}
	plainHTTP := strings.Replace(srv.URL("r"), "127.0.0.1", "localhost", 1)
	t.Cleanup(func() { cancel(); pollers.Wait() })

	tests := []struct {
		name   string
		spec   api.GitSourceSpec
		reason string
	}{
		{"no credentials", api.GitSourceSpec{URL: srv.URL("r")}, "AuthenticationFailed"},
		{"wrong password", api.GitSourceSpec{URL: srv.URL("r"), SecretRef: "creds"}, "AuthenticationFailed"},
		{"missing secret", api.GitSourceSpec{URL: srv.URL("r"), SecretRef: "nope"}, git.ReasonSecretError},
		{"missing branch", api.GitSourceSpec{URL: "file://" + repo.Dir(), Ref: api.GitRef{Branch: "nope"}}, "RefNotFound"},
		{"missing path", api.GitSourceSpec{URL: "file://" + repo.Dir(), Path: "nope"}, "PathNotFound"},
		{"bad scheme", api.GitSourceSpec{URL: "ftp://example.com/r.git"}, git.ReasonInvalidSpec},
		{"short interval", api.GitSourceSpec{URL: "file://" + repo.Dir(), Interval: "1s"}, git.ReasonInvalidSpec},
		{"password in the URL", api.GitSourceSpec{URL: strings.Replace(srv.URL("r"), "://", "://u:wrong-pw-123@", 1)}, git.ReasonInvalidSpec},
		{"http host not allowed", api.GitSourceSpec{URL: plainHTTP}, git.ReasonURLNotAllowed},
		{"file outside the local sources", api.GitSourceSpec{URL: "file://" + outside.Dir()}, git.ReasonURLNotAllowed},
		{"file through a symlink out", api.GitSourceSpec{URL: "file://" + link}, git.ReasonURLNotAllowed},
		{"file escaping with ..", api.GitSourceSpec{URL: "file://" + local + "/../x"}, git.ReasonInvalidSpec},
	}
	var sources []git.Source
	for _, tt := range tests {
		sources = append(sources, git.Source{Ref: api.SourceRef{Kind: api.SourceKindGit, Name: tt.name}, Spec: tt.spec, Generation: 1})
	}
	pollers.Update(sources, nil)
	for _, tt := range tests {
		testutil.WaitFor(t, 30*time.Second, tt.name+": "+tt.reason, func() bool {
			status, reason := ready(rep.status(tt.name))
			return status == "False" && reason == tt.reason
		})
	}
	if store.proposalCount() != 0 {
		t.Errorf("failing sources proposed %d times", store.proposalCount())
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, e := range rep.events {
		if !e.Warning || strings.Contains(e.Message, "wrong-pw-123") {
			t.Errorf("event %+v: want a Warning without the password", e)
		}
	}
	for name, st := range rep.last {
		if b, _ := json.Marshal(st); strings.Contains(string(b), "wrong-pw-123") {
			t.Errorf("%s: the status holds the password", name)
		}
	}
}

// testPolicy allows plain http to 127.0.0.1 (gittest's servers) and,
// with local set, file:// URLs inside it.
func testPolicy(t *testing.T, local string) *git.URLPolicy {
	t.Helper()
	p, err := git.NewURLPolicy(git.URLPolicyConfig{Allow: []string{git.DefaultSourceAllow, "http://127.0.0.1"}, LocalSourcesDir: local})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPollerCredentialsStayWithTheirHost: the credentials of a Secret go
// only to the host they were first used with. Pointing the source (or a
// new one) at another host, or a server redirecting to one, fails the
// poll, and the other host never receives an Authorization header.
func TestPollerCredentialsStayWithTheirHost(t *testing.T) {
	repo := gittest.NewRepo(t)
	repo.Commit(t, "one", map[string]string{"app.yaml": fmt.Sprintf(configDoc, 1)})
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: "git-user", Password: "s3cret-pw-789"}, map[string]*gittest.Repo{"r": repo})
	evil := gittest.NewAuthRecorder(t)
	// "localhost" is another host than 127.0.0.1 for every rule here.
	evilURL := evil.URL() + "/r.git"
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL()+r.URL.Path+"?"+r.URL.RawQuery, http.StatusFound)
	}))
	t.Cleanup(redirect.Close)

	policy, err := git.NewURLPolicy(git.URLPolicyConfig{Allow: []string{"http://127.0.0.1,http://localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	store := &memStore{frags: map[api.SourceRef][]api.Fragment{}}
	rep := &reports{last: map[string]api.GitSourceStatus{}}
	ctx, cancel := context.WithCancel(context.Background())
	secrets := mapSecrets{"/creds": {"username": "git-user", "password": "s3cret-pw-789"}}
	pollers := git.NewPollers(ctx, git.PollerConfig{Store: store, Secrets: secrets, Report: rep.report, URLPolicy: policy})
	t.Cleanup(func() { cancel(); pollers.Wait() })

	src := func(name, url string, gen int64) git.Source {
		return git.Source{Ref: api.SourceRef{Kind: api.SourceKindGit, Name: name}, Spec: api.GitSourceSpec{URL: url, SecretRef: "creds", Interval: "1h", Tenant: "team"}, Generation: gen}
	}
	waitReady := func(name, status, reason string) api.GitSourceStatus {
		t.Helper()
		var st api.GitSourceStatus
		testutil.WaitFor(t, 30*time.Second, name+": "+reason, func() bool {
			st = rep.status(name)
			s, r := ready(st)
			return s == status && r == reason && st.ObservedGeneration > 0
		})
		return st
	}
	// First use binds the credentials to 127.0.0.1.
	pollers.Update([]git.Source{src("app", srv.URL("r"), 1)}, nil)
	waitReady("app", "True", git.ReasonSucceeded)

	// The same source moved to another host, a new source there, and a
	// server of the bound host redirecting there: all refused.
	pollers.Update([]git.Source{
		src("app", evilURL, 2),
		src("thief", evilURL, 1),
		src("redirected", redirect.URL+"/r.git", 1),
	}, nil)
	for _, name := range []string{"app", "thief"} {
		st := waitReady(name, "False", git.ReasonCredentialsNotAllowed)
		msg := findMsg(st, "Ready")
		if !strings.Contains(msg, "spec.url") || !strings.Contains(msg, "bound to 127.0.0.1") || !strings.Contains(msg, "bind-secret creds") {
			t.Errorf("%s: Ready message %q: want spec.url, the bound host and how to rebind", name, msg)
		}
	}
	st := waitReady("redirected", "False", "GitOperationFailed")
	if msg := findMsg(st, "Ready"); !strings.Contains(msg, "redirect to another host refused") {
		t.Errorf("redirected: Ready message %q", msg)
	}
	if n, auths := evil.Seen(); n != 0 || len(auths) != 0 {
		t.Errorf("the other host got %d requests with %d Authorization headers; want none", n, len(auths))
	}
}

func findMsg(st api.GitSourceStatus, typ string) string {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}
