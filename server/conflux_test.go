package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
	"github.com/conflux-sync/conflux-sync/server"
)

const cxToken = "conflux-token-for-tests-0123456789"

// confluxServer is the reference Conflux server behind an HTTP server.
type confluxServer struct {
	emu *cxemu.Server
	srv *httptest.Server
}

func newConfluxServer(t testing.TB) *confluxServer {
	t.Helper()
	c := &confluxServer{emu: cxemu.New(cxemu.Config{Tokens: []string{cxToken}})}
	c.srv = httptest.NewServer(c.emu)
	t.Cleanup(c.srv.Close)
	return c
}

func withConflux(c *confluxServer) func(*server.Config) {
	return func(cfg *server.Config) {
		cfg.Conflux = server.ConfluxConfig{URL: c.srv.URL, Token: cxToken}
		cfg.Sync.Debounce = 50 * time.Millisecond
		cfg.Sync.BackoffBase = 50 * time.Millisecond
		cfg.Sync.BackoffMax = time.Second
	}
}

// resolve returns the content a client with the query's labels receives.
func (c *confluxServer) resolve(t testing.TB, labels string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/v1/resolve?tenant=acme&application=shop&environment=prod&name=db.json"+labels, nil)
	req.Header.Set("Authorization", "Bearer "+cxToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Content string }
	json.NewDecoder(resp.Body).Decode(&got)
	return got.Content
}

// versions returns the contents of the config's versions, oldest first.
func (c *confluxServer) versions() []string {
	var out []string
	for _, cfg := range c.emu.Configs() {
		for _, v := range c.emu.Versions(cfg.ID) {
			out = append(out, v.Content)
		}
	}
	return out
}

var dbConfig = api.TargetRef{Kind: api.KindConfluxConfig, Name: "acme/shop/prod/db.json"}

// dbFragment is a config with releases (name → content; the first is
// stable) and a policy giving the last one to canaries.
func dbFragment(gen int64, releases ...string) api.Fragment {
	var rels, rules []string
	for i := 0; i+1 < len(releases); i += 2 {
		rels = append(rels, fmt.Sprintf(`{"name":%q,"content":%q,"stable":%t}`, releases[i], releases[i+1], i == 0))
	}
	rules = append(rules, fmt.Sprintf(`{"priority":0,"release":%q}`, releases[0]))
	if len(releases) > 2 {
		rules = append(rules, fmt.Sprintf(`{"priority":10,"release":%q,"labels":{"canary":"true"}}`, releases[len(releases)-2]))
	}
	return api.Fragment{Target: dbConfig, Source: api.SourceRef{Kind: "API", Name: "deploy"}, Generation: gen,
		Spec: json.RawMessage(fmt.Sprintf(`{"config":{"format":"json","schema":{"type":"object","required":["pool"],"properties":{"pool":{"type":"integer"}}}},"releases":[%s],"policy":{"rules":[%s]}}`,
			strings.Join(rels, ","), strings.Join(rules, ",")))}
}

func TestConfluxSync(t *testing.T) {
	cx := newConfluxServer(t)
	c := newTestClusterWith(t, 3, withConflux(cx))
	cl := c.client(c.follower(), adminToken)
	ctx := context.Background()

	// Published and released, answered once synced: the version id comes back.
	res, err := cl.PutFragment(ctx, dbFragment(1, "v1", `{"pool":10}`), api.Wait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sync) != 1 || !res.Sync[0].Settled || res.Sync[0].Status.DownstreamIDs["release.v1"] == "" {
		t.Fatalf("wait answer %+v: want the target settled with release v1's version id", res.Sync)
	}
	if got := cx.resolve(t, ""); got != `{"pool":10}` {
		t.Errorf("resolve: %q", got)
	}

	// A canary release: labelled clients get it, the others the stable one.
	if _, err := cl.PutFragment(ctx, dbFragment(2, "v1", `{"pool":10}`, "v2", `{"pool":20}`), api.Wait(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, canary := cx.resolve(t, ""), cx.resolve(t, "&label.canary=true"); got != `{"pool":10}` || canary != `{"pool":20}` {
		t.Errorf("resolve: %q, canary %q", got, canary)
	}
	// The same releases again: no new version.
	if _, err := cl.PutFragment(ctx, dbFragment(3, "v1", `{"pool":10}`, "v2", `{"pool":20}`), api.Wait(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := cx.versions(); fmt.Sprint(got) != fmt.Sprint([]string{`{"pool":10}`, `{"pool":20}`}) {
		t.Errorf("versions %q: want exactly one per release", got)
	}

	// Content the config's schema refuses: the downstream error comes back
	// in the wait answer, naming the JSON pointer, and nothing is published.
	res, err = cl.PutFragment(ctx, dbFragment(4, "v1", `{"pool":10}`, "v3", `{"pool":"many"}`), api.Wait(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Sync[0].Status; st == nil || !strings.Contains(st.Error, "/content/pool") || !st.Permanent {
		t.Errorf("schema-invalid release: status %+v, want a permanent error naming /content/pool", st)
	}
	if got := cx.versions(); len(got) != 2 {
		t.Errorf("versions %q after a refused release", got)
	}

	// New content for a release is a new version; 5xx answers and a slow
	// server on the way are retried until it is out.
	cx.emu.AddFault(cxemu.Fault{Method: http.MethodPost, PathPrefix: "/v1/configs/", Status: http.StatusServiceUnavailable, Count: 2})
	cx.emu.AddFault(cxemu.Fault{Method: http.MethodGet, PathPrefix: "/v1/configs", Delay: 500 * time.Millisecond, Count: 2})
	res, err = cl.PutFragment(ctx, dbFragment(5, "v1", `{"pool":10}`, "v2", `{"pool":25}`), api.Wait(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Sync[0].Status; st == nil || st.Error != "" {
		t.Errorf("after the faults: status %+v, want synced", st)
	}
	if got := cx.resolve(t, "&label.canary=true"); got != `{"pool":25}` {
		t.Errorf("canary resolves to %q after the update", got)
	}
	if got := cx.versions(); fmt.Sprint(got) != fmt.Sprint([]string{`{"pool":10}`, `{"pool":20}`, `{"pool":25}`}) {
		t.Errorf("versions %q: want one more for the new content", got)
	}
}

// TestConfluxLeaderKilledBetweenPublishAndRecord: the leader publishes a
// release and dies before recording it; the new leader publishes again
// with the same idempotency key, so exactly one version exists.
func TestConfluxLeaderKilledBetweenPublishAndRecord(t *testing.T) {
	cx := newConfluxServer(t)
	c := newTestClusterWith(t, 3, withConflux(cx))
	ctx := context.Background()
	if _, err := c.client(c.leader(), adminToken).PutFragment(ctx, dbFragment(1, "v1", `{"pool":10}`), api.Wait(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The policy update that follows the publish hangs, long enough for
	// the kill.
	cx.emu.AddFault(cxemu.Fault{Method: http.MethodPut, PathPrefix: "/v1/configs/", Delay: 3 * time.Second, Count: 1})
	leader := c.leader()
	if _, err := c.client(leader, adminToken).PutFragment(ctx, dbFragment(2, "v1", `{"pool":10}`, "v2", `{"pool":20}`)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "release v2 published", func() bool { return len(cx.versions()) == 2 })
	c.kill(leader)
	next := c.leader()
	testutil.WaitFor(t, 30*time.Second, "the canary policy in Conflux", func() bool {
		return cx.resolve(t, "&label.canary=true") == `{"pool":20}`
	})
	if got := cx.versions(); fmt.Sprint(got) != fmt.Sprint([]string{`{"pool":10}`, `{"pool":20}`}) {
		t.Errorf("versions %q after the failover: want exactly one per release", got)
	}
	// The new leader records the outcome, with the one version's id.
	var tg api.Target
	testutil.WaitFor(t, 30*time.Second, "the outcome recorded", func() bool {
		var err error
		tg, err = c.client(next, adminToken).GetTarget(ctx, dbConfig)
		return err == nil && tg.Status != nil && tg.Status.SyncedHash == tg.Hash
	})
	var v2 string
	for _, cfg := range cx.emu.Configs() {
		for _, v := range cx.emu.Versions(cfg.ID) {
			if v.Content == `{"pool":20}` {
				v2 = v.VersionID
			}
		}
	}
	if got := tg.Status.DownstreamIDs["release.v2"]; got != v2 {
		t.Errorf("recorded release v2 = %q, want the published version %q", got, v2)
	}
}
