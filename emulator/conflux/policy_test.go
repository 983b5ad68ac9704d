package conflux_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestPolicyAndResolve(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createConfig(t, nil)
	v1 := e.publish(t, id, map[string]any{"content": `{"v":1}`, "is_stable": true}).str("version_id")
	v2 := e.publish(t, id, map[string]any{"content": `{"v":2}`}).str("version_id")
	pp := "/v1/configs/" + id + "/policy"

	g := e.do(t, "GET", pp, nil)
	want(t, g, http.StatusOK)
	empty := g.header.Get("ETag")
	if empty == "" || len(g.body["rules"].([]any)) != 0 {
		t.Fatalf("empty policy: %v %s", g.header, g.raw)
	}
	// Nothing to resolve yet.
	q := "/v1/resolve?tenant=acme&application=shop&environment=prod&name=app.json"
	nr := e.do(t, "GET", q, nil)
	want(t, nr, http.StatusNotFound)
	if !strings.HasSuffix(nr.str("type"), "no-matching-rule") {
		t.Fatalf("type: %s", nr.raw)
	}

	policy := map[string]any{"rules": []any{
		map[string]any{"priority": 0, "version_id": v1},
		map[string]any{"priority": 10, "version_id": v2, "labels": map[string]any{"canary": "true"}},
	}}
	// Validation: unknown version, duplicate priority, two defaults.
	wantPointers(t, e.do(t, "PUT", pp, map[string]any{"rules": []any{
		map[string]any{"priority": 1, "version_id": "ver_nope"},
		map[string]any{"priority": 1, "version_id": v1, "labels": map[string]any{"a": "b"}},
		map[string]any{"priority": 2, "version_id": v1},
	}}), http.StatusUnprocessableEntity, "/rules/0/version_id", "/rules/1/priority", "/rules/2/labels")
	want(t, e.do(t, "PUT", pp, policy, "If-Match", `"wrong"`), http.StatusPreconditionFailed)
	// The first PUT may omit If-Match (or send the empty policy's ETag).
	put := e.do(t, "PUT", pp, policy, "If-Match", empty)
	want(t, put, http.StatusOK)
	etag := put.header.Get("ETag")
	if etag == empty || put.str("etag") != etag {
		t.Fatalf("put: %v %s", put.header, put.raw)
	}
	rules := put.body["rules"].([]any)
	if rules[0].(map[string]any)["priority"] != float64(10) {
		t.Fatalf("rules not sorted highest first: %s", put.raw)
	}
	// Now If-Match is required.
	want(t, e.do(t, "PUT", pp, policy), http.StatusPreconditionRequired)
	want(t, e.do(t, "PUT", pp, policy, "If-Match", empty), http.StatusPreconditionFailed)

	for _, tc := range []struct {
		name     string
		query    string
		version  string
		priority float64
	}{
		{"default", q, v1, 0},
		{"canary", q + "&label.canary=true", v2, 10},
		{"canary false", q + "&label.canary=false", v1, 0},
		{"extra labels", q + "&label.canary=true&label.zone=eu", v2, 10},
		{"by id", "/v1/resolve?config_id=" + id + "&label.canary=true", v2, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "GET", tc.query, nil)
			want(t, r, http.StatusOK)
			if r.str("version_id") != tc.version || r.body["matched_rule_priority"] != tc.priority ||
				r.header.Get("ETag") != `"`+r.str("content_sha256")+`"` || r.str("content") == "" {
				t.Fatalf("resolve: %v %s", r.header, r.raw)
			}
			nm := e.do(t, "GET", tc.query, nil, "If-None-Match", r.header.Get("ETag"))
			want(t, nm, http.StatusNotModified)
			if nm.header.Get("ETag") != r.header.Get("ETag") || len(nm.raw) != 0 {
				t.Fatalf("304: %v %s", nm.header, nm.raw)
			}
			want(t, e.do(t, "GET", tc.query, nil, "If-None-Match", `"other"`), http.StatusOK)
		})
	}
	want(t, e.do(t, "GET", "/v1/resolve?tenant=acme", nil), http.StatusBadRequest)
	want(t, e.do(t, "GET", "/v1/resolve?config_id=nope", nil), http.StatusNotFound)
	want(t, e.do(t, "GET", "/v1/resolve?config_id="+id+"&bogus=1", nil), http.StatusBadRequest)

	// Only a canary rule: clients without the label match nothing.
	only := e.do(t, "PUT", pp, map[string]any{"rules": []any{
		map[string]any{"priority": 10, "version_id": v2, "labels": map[string]any{"canary": "true"}}}}, "If-Match", etag)
	want(t, only, http.StatusOK)
	want(t, e.do(t, "GET", q, nil), http.StatusNotFound)
	if p, ok := e.emu.Policy(id); !ok || len(p.Rules) != 1 || p.ETag != only.header.Get("ETag") {
		t.Fatalf("Policy(): %+v %v", p, ok)
	}
}

func TestPublishWithPolicy(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createConfig(t, nil)
	v1 := e.publish(t, id, map[string]any{"content": `{"v":1}`, "is_stable": true}).str("version_id")
	path := "/v1/configs/" + id + "/versions"
	body := map[string]any{"content": `{"v":2}`, "policy": map[string]any{"rules": []any{
		map[string]any{"priority": 0, "version_id": v1},
		map[string]any{"priority": 10, "version_id": "$new", "labels": map[string]any{"canary": "true"}},
	}}}
	r := e.do(t, "POST", path, body, "Idempotency-Key", "p1")
	want(t, r, http.StatusCreated)
	v2 := r.str("version_id")
	pol := r.body["policy"].(map[string]any)
	if pol["rules"].([]any)[0].(map[string]any)["version_id"] != v2 || r.header.Get("Policy-ETag") != pol["etag"] {
		t.Fatalf("publish with policy: %v %s", r.header, r.raw)
	}
	res := e.do(t, "GET", "/v1/resolve?config_id="+id+"&label.canary=true", nil)
	if res.str("version_id") != v2 {
		t.Fatalf("resolve: %s", res.raw)
	}
	// "$new" is refused outside a publish; unknown versions refused inside.
	wantPointers(t, e.do(t, "PUT", "/v1/configs/"+id+"/policy", map[string]any{"rules": []any{
		map[string]any{"priority": 0, "version_id": "$new"}}}, "If-Match", pol["etag"].(string)),
		http.StatusUnprocessableEntity, "/rules/0/version_id")
	wantPointers(t, e.do(t, "POST", path, map[string]any{"content": `{}`, "policy": map[string]any{"rules": []any{
		map[string]any{"priority": 0, "version_id": "ver_x"}}}}, "Idempotency-Key", "p2"),
		http.StatusUnprocessableEntity, "/policy/rules/0/version_id")
	// policy_etag guards the policy swap.
	want(t, e.do(t, "POST", path, map[string]any{"content": `{}`, "policy_etag": `"old"`, "policy": map[string]any{"rules": []any{}}},
		"Idempotency-Key", "p3"), http.StatusPreconditionFailed)
	want(t, e.do(t, "POST", path, map[string]any{"content": `{}`, "policy_etag": pol["etag"], "policy": map[string]any{"rules": []any{}}},
		"Idempotency-Key", "p4"), http.StatusCreated)
	if len(e.emu.Versions(id)) != 3 {
		t.Fatalf("versions: %d", len(e.emu.Versions(id)))
	}
}
