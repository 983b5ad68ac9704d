package conflux

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

const testToken = "test-token"

// env is a Conflux reference server over HTTP and a flusher talking to it.
type env struct {
	srv  *emu.Server
	http *httptest.Server
	f    *Flusher

	mu          sync.Mutex
	checkpoints []map[string]string
}

// roundTripFunc lets a test act between the flusher and the server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newEnv(t *testing.T) *env {
	return newEnvWith(t, nil)
}

// newEnvWith builds an env whose flusher sends through wrap(default
// transport) when wrap is not nil.
func newEnvWith(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) *env {
	t.Helper()
	e := &env{srv: emu.New(emu.Config{Tokens: []string{testToken}})}
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	var rt http.RoundTripper = http.DefaultTransport
	if wrap != nil {
		rt = wrap(rt)
	}
	e.f = mustFlusher(t, FlusherConfig{BaseURL: e.http.URL + "/", Token: testToken, Transport: rt, Timeout: 10 * time.Second})
	return e
}

func (e *env) result(t *testing.T, frags ...api.Fragment) engine.Request {
	t.Helper()
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Request{Target: testTarget, Revision: 1, Result: res, ClusterID: "c1", Checkpoint: e.checkpoint}
}

func (e *env) checkpoint(_ context.Context, ids map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkpoints = append(e.checkpoints, ids)
	return nil
}

func (e *env) takeCheckpoints() []map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	cps := e.checkpoints
	e.checkpoints = nil
	return cps
}

// flush runs one flush of frags with prev ids (nil: never synced).
func (e *env) flush(t *testing.T, prev map[string]string, drift bool, frags ...api.Fragment) (map[string]string, error) {
	t.Helper()
	req := e.result(t, frags...)
	if prev != nil {
		req.Prev = &api.SyncStatus{DownstreamIDs: prev}
	}
	req.Drift = drift
	out, err := e.f.Flush(t.Context(), req)
	return out.DownstreamIDs, err
}

func (e *env) mustFlush(t *testing.T, prev map[string]string, frags ...api.Fragment) map[string]string {
	t.Helper()
	ids, err := e.flush(t, prev, false, frags...)
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	return ids
}

// call makes an API request with the test token, returning status and body.
func (e *env) call(t *testing.T, method, path string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// resolve returns the content a client with labels receives.
func (e *env) resolve(t *testing.T, labels map[string]string) string {
	t.Helper()
	q := url.Values{"tenant": {"acme"}, "application": {"shop"}, "environment": {"prod"}, "name": {"db/main.yaml"}}
	for k, v := range labels {
		q.Set("label."+k, v)
	}
	status, _, body := e.call(t, http.MethodGet, "/v1/resolve?"+q.Encode(), nil, "")
	if status != http.StatusOK {
		t.Fatalf("resolve %v: %d %s", labels, status, body)
	}
	var r struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r.Content
}

func (e *env) writes() int {
	n := 0
	for k, v := range e.srv.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

const schemaPort = `{"type":"object","required":["port"],"properties":{"port":{"type":"integer"}}}`

func ownerFrag(v2 string) api.Fragment {
	return frag("owner", 1, `{"config":{"format":"yaml","schema":`+schemaPort+`,"retentionPolicy":{"strategy":"AND","rules":[{"type":"count","keep":10}]},"description":"primary db"},
		"releases":[{"name":"v1","content":"port: 5432\n","stable":true,"description":"stable"},{"name":"v2","content":`+v2+`}],
		"policy":{"rules":[{"priority":10,"release":"v2","labels":{"canary":"true"}},{"priority":0,"release":"v1"}]}}`)
}

func TestFlushCreatePublishResolve(t *testing.T) {
	e := newEnv(t)
	ids := e.mustFlush(t, nil, ownerFrag(`"port: 6543\n"`))
	cfgID := ids[IDConfig]
	if cfgID == "" || ids[IDCreated] != "true" || ids["release.v1"] == "" || ids["release.v2"] == "" ||
		ids["release.v1.sha"] != ContentSHA("port: 5432\n") || len(ids["release.v2.key"]) != 40 {
		t.Fatalf("ids = %v", ids)
	}
	cps := e.takeCheckpoints()
	if len(cps) != 3 || cps[0][IDConfig] != cfgID || cps[0][IDCreated] != "true" || cps[1]["release.v1"] != ids["release.v1"] || cps[2]["release.v2"] != ids["release.v2"] {
		t.Fatalf("checkpoints = %v", cps)
	}
	cfgs := e.srv.Configs()
	if len(cfgs) != 1 || cfgs[0].Format != "yaml" || cfgs[0].Description != "primary db" || cfgs[0].RetentionPolicy == nil || cfgs[0].RetentionPolicy.Rules[0].Keep != 10 {
		t.Fatalf("configs = %+v", cfgs)
	}
	if got := e.resolve(t, nil); got != "port: 5432\n" {
		t.Fatalf("default resolves to %q", got)
	}
	if got := e.resolve(t, map[string]string{"canary": "true"}); got != "port: 6543\n" {
		t.Fatalf("canary resolves to %q", got)
	}
	vs := e.srv.Versions(cfgID)
	if len(vs) != 2 || !vs[0].IsStable || vs[0].Description != "stable" {
		t.Fatalf("versions = %+v", vs)
	}

	// In sync: reads only.
	e.srv.Reset()
	if again := e.mustFlush(t, ids, ownerFrag(`"port: 6543\n"`)); again["release.v2"] != ids["release.v2"] {
		t.Fatalf("ids changed: %v", again)
	}
	if n := e.writes(); n != 0 {
		t.Fatalf("%d writes for an unchanged target: %v", n, e.srv.Requests())
	}

	// Changed content: a new version, and the canary rule follows it.
	ids2 := e.mustFlush(t, ids, ownerFrag(`"port: 7000\n"`))
	if ids2["release.v2"] == ids["release.v2"] || ids2["release.v1"] != ids["release.v1"] {
		t.Fatalf("ids = %v", ids2)
	}
	if n := len(e.srv.Versions(cfgID)); n != 3 {
		t.Fatalf("%d versions, want 3", n)
	}
	if got := e.resolve(t, map[string]string{"canary": "true"}); got != "port: 7000\n" {
		t.Fatalf("canary resolves to %q", got)
	}
	// The same content again publishes nothing.
	e.srv.Reset()
	e.mustFlush(t, ids2, ownerFrag(`"port: 7000\n"`))
	if n := len(e.srv.Versions(cfgID)); n != 3 || e.writes() != 0 {
		t.Fatalf("%d versions, %d writes", n, e.writes())
	}

	// A crash between publish and RecordSync: the replay (Prev = nil)
	// publishes with the same idempotency keys and creates nothing new.
	ids3 := e.mustFlush(t, nil, ownerFrag(`"port: 7000\n"`))
	if n := len(e.srv.Versions(cfgID)); n != 3 {
		t.Fatalf("%d versions after a replay, want 3", n)
	}
	if ids3["release.v1"] != ids2["release.v1"] || ids3["release.v2"] != ids2["release.v2"] {
		t.Fatalf("replay ids %v, want %v", ids3, ids2)
	}
	// Without the recorded status we cannot know we created the config.
	if ids3[IDCreated] != "false" {
		t.Fatalf("created = %q", ids3[IDCreated])
	}
}

func TestFlushUpdatesMetadataAndRepairsDrift(t *testing.T) {
	e := newEnv(t)
	ids := e.mustFlush(t, nil, ownerFrag(`"port: 1\n"`))
	id := ids[IDConfig]

	changed := frag("owner", 1, `{"config":{"format":"yaml","description":"new"},"releases":[{"name":"v1","content":"port: 5432\n","stable":true,"description":"stable"}],
		"policy":{"rules":[{"priority":0,"release":"v1"}]}}`)
	ids = e.mustFlush(t, ids, changed)
	c := e.srv.Configs()[0]
	if c.Description != "new" || c.Schema != nil || c.RetentionPolicy != nil {
		t.Fatalf("config = %+v", c)
	}
	if p, _ := e.srv.Policy(id); len(p.Rules) != 1 || p.Rules[0].VersionID != ids["release.v1"] {
		t.Fatalf("policy = %+v", p)
	}

	// Someone edits the config and the policy out of band.
	_, h, _ := e.call(t, http.MethodGet, "/v1/configs/"+id, nil, "")
	if st, _, b := e.call(t, http.MethodPatch, "/v1/configs/"+id, http.Header{"If-Match": {h.Get("ETag")}}, `{"description":"hand edit"}`); st != 200 {
		t.Fatalf("patch: %d %s", st, b)
	}
	if st, _, b := e.call(t, http.MethodPut, "/v1/configs/"+id+"/policy", http.Header{"If-Match": {"*"}}, `{"rules":[]}`); st != 200 {
		t.Fatalf("put policy: %d %s", st, b)
	}
	if _, err := e.flush(t, ids, true, changed); err != nil {
		t.Fatal(err)
	}
	if c := e.srv.Configs()[0]; c.Description != "new" {
		t.Fatalf("description not repaired: %q", c.Description)
	}
	if got := e.resolve(t, nil); got != "port: 5432\n" {
		t.Fatalf("resolves to %q", got)
	}
}

func TestFlushDriftRepublishesMissingVersion(t *testing.T) {
	e := newEnv(t)
	f := frag("owner", 1, `{"config":{"format":"text"},"releases":[{"name":"a","content":"A"}]}`)
	ids := e.mustFlush(t, nil, f)
	// The recorded version id is stale (say, pruned): only a drift pass
	// reads it back; it then publishes, and Conflux replays.
	stale := map[string]string{}
	for k, v := range ids {
		stale[k] = v
	}
	stale["release.a"] = "ver_gone"
	if got := e.mustFlush(t, stale, f); got["release.a"] != "ver_gone" {
		t.Fatalf("without drift the record is trusted: %v", got)
	}
	got, err := e.flush(t, stale, true, f)
	if err != nil || got["release.a"] != ids["release.a"] {
		t.Fatalf("drift: %v, %v", got, err)
	}
	if n := len(e.srv.Versions(ids[IDConfig])); n != 1 {
		t.Fatalf("%d versions", n)
	}
}

func TestFlushErrors(t *testing.T) {
	tests := []struct {
		name      string
		frags     []api.Fragment
		permanent bool
		contains  []string
	}{
		{
			name:      "schema violation",
			frags:     []api.Fragment{ownerFrag(`"port: high\n"`)},
			permanent: true,
			contains:  []string{"publish release v2: 422", "/content/port: must be of type integer"},
		},
		{
			name:      "no config section",
			frags:     []api.Fragment{frag("a", 1, `{"releases":[{"name":"a","content":"x"}]}`)},
			permanent: true,
			contains:  []string{"no fragment defines the config section of " + testTargetName + "; one source must own it"},
		},
		{
			name:      "rule names an undefined release",
			frags:     []api.Fragment{frag("a", 1, `{"config":{"format":"text"},"policy":{"rules":[{"priority":3,"release":"nope"}]}}`)},
			permanent: true,
			contains:  []string{"priority 3", `"nope"`},
		},
		{
			name:      "schema the server refuses",
			frags:     []api.Fragment{frag("a", 1, `{"config":{"format":"json","schema":{"type":"object","oneOf":[]}}}`)},
			permanent: true,
			contains:  []string{"create config acme/shop/prod/db/main.yaml: 422", "/schema/oneOf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.flush(t, nil, false, tt.frags...)
			if err == nil {
				t.Fatal("want an error")
			}
			if engine.IsPermanent(err) != tt.permanent {
				t.Fatalf("permanent = %v: %v", engine.IsPermanent(err), err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestFlushFormatChangeIsPermanent(t *testing.T) {
	e := newEnv(t)
	ids := e.mustFlush(t, nil, frag("a", 1, `{"config":{"format":"text"}}`))
	_, err := e.flush(t, ids, false, frag("a", 1, `{"config":{"format":"json"}}`))
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "format") {
		t.Fatalf("got %v", err)
	}
}

func TestFlushRetryableFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault emu.Fault
		wait  time.Duration
	}{
		{"503 on publish", emu.Fault{Method: http.MethodPost, PathPrefix: "/configs/", Status: 503, Count: 1, RetryAfter: 7}, 7 * time.Second},
		{"429 on lookup", emu.Fault{Method: http.MethodGet, PathPrefix: "/configs", Status: 429, Count: 1, RetryAfter: 2}, 2 * time.Second},
		{"500 on policy", emu.Fault{Method: http.MethodPut, PathPrefix: "/configs/", Status: 500, Count: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.AddFault(tt.fault)
			ids, err := e.flush(t, nil, false, ownerFrag(`"port: 1\n"`))
			if err == nil || engine.IsPermanent(err) {
				t.Fatalf("want a retryable error, got %v", err)
			}
			var ra interface{ RetryAfter() time.Duration }
			if !errors.As(err, &ra) || ra.RetryAfter() != tt.wait {
				t.Fatalf("retry after: %v", err)
			}
			if ids != nil {
				t.Fatalf("ids on failure: %v", ids)
			}
			// The engine keeps what was checkpointed; the retry succeeds
			// and publishes each release once.
			prev := map[string]string{}
			for _, cp := range e.takeCheckpoints() {
				for k, v := range cp {
					prev[k] = v
				}
			}
			ids = e.mustFlush(t, prev, ownerFrag(`"port: 1\n"`))
			if ids[IDCreated] != "true" || len(e.srv.Versions(ids[IDConfig])) != 2 {
				t.Fatalf("ids %v, versions %d", ids, len(e.srv.Versions(ids[IDConfig])))
			}
			if got := e.resolve(t, map[string]string{"canary": "true"}); got != "port: 1\n" {
				t.Fatalf("canary resolves to %q", got)
			}
		})
	}
}

func TestFlushNetworkErrorIsRetryable(t *testing.T) {
	f := mustFlusher(t, FlusherConfig{BaseURL: "http://127.0.0.1:1", Token: "secret-token"})
	req := engine.Request{Target: testTarget, Result: mustAggregate(t, ownerFrag(`"x: 1\n"`))}
	_, err := f.Flush(t.Context(), req)
	if err == nil || engine.IsPermanent(err) || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("got %v", err)
	}
}

func mustAggregate(t *testing.T, frags ...api.Fragment) kind.Result {
	t.Helper()
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFlushPolicyRace: another writer replaces the policy between our GET
// and our PUT; the PUT fails its If-Match (412), which is retryable, and
// the next attempt wins.
func TestFlushPolicyRace(t *testing.T) {
	var e *env
	var raced bool
	e = newEnvWith(t, func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/policy") && !raced {
				raced = true
				id := strings.Split(r.URL.Path, "/")[3]
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodPut, e.http.URL+"/v1/configs/"+id+"/policy", bytes.NewReader([]byte(`{"rules":[]}`)))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("If-Match", "*")
				resp, err := next.RoundTrip(req)
				if err != nil {
					return nil, err
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("out-of-band policy write: %d", resp.StatusCode)
				}
			}
			return next.RoundTrip(r)
		})
	})
	_, err := e.flush(t, nil, false, ownerFrag(`"port: 1\n"`))
	if err == nil || engine.IsPermanent(err) || StatusOf(err) != http.StatusPreconditionFailed {
		t.Fatalf("want a retryable 412, got %v", err)
	}
	if _, err := e.flush(t, nil, false, ownerFrag(`"port: 1\n"`)); err != nil {
		t.Fatal(err)
	}
	if got := e.resolve(t, nil); got != "port: 5432\n" {
		t.Fatalf("resolves to %q", got)
	}
}

func TestFlushDelete(t *testing.T) {
	t.Run("created", func(t *testing.T) {
		e := newEnv(t)
		ids := e.mustFlush(t, nil, ownerFrag(`"port: 1\n"`))
		if got := e.mustFlush(t, ids); len(got) != 0 {
			t.Fatalf("ids after delete: %v", got)
		}
		if n := len(e.srv.Configs()); n != 0 {
			t.Fatalf("%d configs left", n)
		}
		// Already gone: nothing to do.
		if _, err := e.flush(t, ids, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("adopted", func(t *testing.T) {
		e := newEnv(t)
		st, _, b := e.call(t, http.MethodPost, "/v1/configs", nil, `{"tenant":"acme","application":"shop","environment":"prod","name":"db/main.yaml","format":"yaml","description":"theirs"}`)
		if st != http.StatusCreated {
			t.Fatalf("create: %d %s", st, b)
		}
		// Releases only: the metadata stays as its creator left it.
		ids := e.mustFlush(t, nil, frag("a", 1, `{"releases":[{"name":"a","content":"port: 1\n"}],"policy":{"rules":[{"priority":0,"release":"a"}]}}`))
		if ids[IDCreated] != "false" || e.srv.Configs()[0].Description != "theirs" || len(e.takeCheckpoints()) != 1 {
			t.Fatalf("ids %v, configs %+v", ids, e.srv.Configs())
		}
		if got := e.resolve(t, nil); got != "port: 1\n" {
			t.Fatalf("resolves to %q", got)
		}
		e.srv.Reset()
		if _, err := e.flush(t, ids, false); err != nil {
			t.Fatal(err)
		}
		if n := len(e.srv.Configs()); n != 1 || e.writes() != 0 {
			t.Fatalf("an adopted config was touched: %d configs, %v", n, e.srv.Requests())
		}
	})
}

func TestFlushRejectedTokenIsPermanent(t *testing.T) {
	e := newEnv(t)
	f := mustFlusher(t, FlusherConfig{BaseURL: e.http.URL, Token: "wrong-token"})
	_, err := f.Flush(t.Context(), e.result(t, ownerFrag(`"port: 1\n"`)))
	if !engine.IsPermanent(err) || StatusOf(err) != http.StatusUnauthorized || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("got %v", err)
	}
}

// TestFlushReplayOfPrunedVersion: content returning to an earlier value
// reuses that publish's idempotency key; when retention has removed the
// version the replay names, the flusher publishes it afresh.
func TestFlushReplayOfPrunedVersion(t *testing.T) {
	e := newEnv(t)
	spec := func(content string) api.Fragment {
		return frag("a", 1, `{"config":{"format":"text","retentionPolicy":{"strategy":"OR","rules":[{"type":"count","keep":1}]}},
			"releases":[{"name":"a","content":"`+content+`"}],"policy":{"rules":[{"priority":0,"release":"a"}]}}`)
	}
	ids := e.mustFlush(t, nil, spec("A"))
	first := ids["release.a"]
	ids = e.mustFlush(t, ids, spec("B"))
	ids = e.mustFlush(t, ids, spec("C"))
	cfgID := ids[IDConfig]
	// Publishing C pruned A (B was still what the policy named).
	if vs := e.srv.Versions(cfgID); len(vs) != 2 || vs[0].Content != "B" || vs[1].Content != "C" {
		t.Fatalf("versions = %+v", vs)
	}
	ids = e.mustFlush(t, ids, spec("A"))
	vs := e.srv.Versions(cfgID)
	if ids["release.a"] == first || len(vs) != 2 || vs[1].Content != "A" || vs[1].Number != 4 || vs[1].VersionID != ids["release.a"] {
		t.Fatalf("ids %v, versions %+v", ids, vs)
	}
	if got := e.resolve(t, nil); got != "A" {
		t.Fatalf("resolves to %q", got)
	}
	// A replay of that flush (Prev lost) still publishes nothing new.
	if again := e.mustFlush(t, nil, spec("A")); again["release.a"] != ids["release.a"] || len(e.srv.Versions(cfgID)) != 2 {
		t.Fatalf("replay: %v, %+v", again, e.srv.Versions(cfgID))
	}
}

func TestErrorMessage(t *testing.T) {
	e := newEnv(t)
	_, err := e.flush(t, nil, false, ownerFrag(`"port: high\n"`))
	t.Log(err)
	want := "publish release v2: 422 The request body has invalid fields; see errors: /content/port: must be of type integer, not string"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func mustFlusher(t testing.TB, cfg FlusherConfig) *Flusher {
	t.Helper()
	f, err := NewFlusher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFlushPolicyResetWhenOwnerLeaves: once no fragment owns the policy,
// everyone gets the newest stable version (never a policy nobody manages).
func TestFlushPolicyResetWhenOwnerLeaves(t *testing.T) {
	e := newEnv(t)
	ids := e.mustFlush(t, nil, ownerFrag(`"port: 6543\n"`))
	if ids[IDPolicy] != "managed" {
		t.Fatalf("ids %v: the policy is not marked managed", ids)
	}
	if got := e.resolve(t, map[string]string{"canary": "true"}); got != "port: 6543\n" {
		t.Fatalf("canary resolves to %q", got)
	}
	// The policy owner leaves; the releases stay.
	noPolicy := frag("owner", 1, `{"config":{"format":"yaml","schema":`+schemaPort+`,"retentionPolicy":{"strategy":"AND","rules":[{"type":"count","keep":10}]},"description":"primary db"},
		"releases":[{"name":"v1","content":"port: 5432\n","stable":true,"description":"stable"},{"name":"v2","content":"port: 6543\n"}]}`)
	ids = e.mustFlush(t, ids, noPolicy)
	if _, ok := ids[IDPolicy]; ok {
		t.Errorf("ids %v: still marked managed", ids)
	}
	for _, labels := range []map[string]string{nil, {"canary": "true"}} {
		if got := e.resolve(t, labels); got != "port: 5432\n" {
			t.Errorf("after the reset %v resolves to %q, want the newest stable version", labels, got)
		}
	}
	// Nothing to do the next time.
	writes := e.writes()
	e.mustFlush(t, ids, noPolicy)
	if e.writes() != writes {
		t.Errorf("a second flush without a policy wrote %d times", e.writes()-writes)
	}
}

// TestSetTokenRotatesAtOnce: after SetToken the flusher sends the new
// token, so the old one can be revoked at Conflux right away; an empty
// token is refused and changes nothing.
func TestSetTokenRotatesAtOnce(t *testing.T) {
	e := newEnv(t)
	ids := e.mustFlush(t, nil, ownerFrag(`"port: 6543\n"`))
	const rotated = "rotated-conflux-token"
	e.srv.AddToken(rotated)
	if err := e.f.SetToken(rotated); err != nil {
		t.Fatal(err)
	}
	e.srv.RevokeToken(testToken)
	if err := e.f.SetToken("  "); err == nil {
		t.Fatal("an empty token was taken")
	}
	e.mustFlush(t, ids, ownerFrag(`"port: 7654\n"`))
	for _, u := range e.srv.TokenUses() {
		if u.Rejected > 0 {
			t.Errorf("%s was refused %d times after the rotation", u.Fingerprint, u.Rejected)
		}
	}
	if vs := e.srv.Versions(ids[IDConfig]); len(vs) != 3 {
		t.Fatalf("%d versions after a publish with the new token, want 3", len(vs))
	}
}
