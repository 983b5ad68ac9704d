package conflux_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func TestPublishAndIdempotency(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createConfig(t, nil)
	path := "/v1/configs/" + id + "/versions"
	body := map[string]any{"content": `{"a":1}`, "description": "first", "is_stable": true}

	want(t, e.do(t, "POST", path, body), http.StatusBadRequest) // no Idempotency-Key
	first := e.do(t, "POST", path, body, "Idempotency-Key", "k1")
	want(t, first, http.StatusCreated)
	sum := sha256.Sum256([]byte(`{"a":1}`))
	if first.body["number"] != float64(1) || first.str("content_sha256") != hex.EncodeToString(sum[:]) ||
		first.str("version_id") == "" || first.body["is_stable"] != true || first.str("created_at") == "" {
		t.Fatalf("publish body: %s", first.raw)
	}
	if first.header.Get("Idempotent-Replayed") != "" || !strings.HasSuffix(first.header.Get("Location"), first.str("version_id")) {
		t.Fatalf("publish headers: %v", first.header)
	}

	// Replay: same key, same payload (fields reordered) -> same response.
	replay := e.do(t, "POST", path, `{"is_stable":true,"description":"first","content":"{\"a\":1}"}`, "Idempotency-Key", "k1")
	want(t, replay, http.StatusCreated)
	if !bytes.Equal(replay.raw, first.raw) || replay.header.Get("Idempotent-Replayed") != "true" ||
		replay.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("replay differs: %s vs %s (%v)", replay.raw, first.raw, replay.header)
	}
	// Same key, different payload -> 422.
	diff := e.do(t, "POST", path, map[string]any{"content": `{"a":2}`}, "Idempotency-Key", "k1")
	want(t, diff, http.StatusUnprocessableEntity)
	if !strings.HasSuffix(diff.str("type"), "idempotency-key-reused") {
		t.Fatalf("type: %s", diff.raw)
	}
	// Equal content under a new key still makes a new version.
	second := e.publish(t, id, map[string]any{"content": `{"a":1}`})
	if second.body["number"] != float64(2) || second.str("content_sha256") != first.str("content_sha256") {
		t.Fatalf("second: %s", second.raw)
	}
	if n := len(e.emu.Versions(id)); n != 2 {
		t.Fatalf("%d versions, want 2", n)
	}

	// List newest first, paginated; get one.
	l := e.do(t, "GET", path+"?page_size=1", nil)
	want(t, l, http.StatusOK)
	items := l.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["number"] != float64(2) || l.str("next_page_token") == "" {
		t.Fatalf("list: %s", l.raw)
	}
	l2 := e.do(t, "GET", path+"?page_size=1&page_token="+l.str("next_page_token"), nil)
	if items := l2.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["number"] != float64(1) || l2.str("next_page_token") != "" {
		t.Fatalf("list page 2: %s", l2.raw)
	}
	st := e.do(t, "GET", path+"?stable=true", nil)
	if items := st.body["items"].([]any); len(items) != 1 {
		t.Fatalf("stable filter: %s", st.raw)
	}
	g := e.do(t, "GET", path+"/"+first.str("version_id"), nil)
	want(t, g, http.StatusOK)
	if g.str("content") != `{"a":1}` || g.str("description") != "first" {
		t.Fatalf("get version: %s", g.raw)
	}
	want(t, e.do(t, "GET", path+"/ver_missing", nil), http.StatusNotFound)
	want(t, e.do(t, "POST", "/v1/configs/nope/versions", body, "Idempotency-Key", "k9"), http.StatusNotFound)

	// A failed publish records nothing: the key can be used again.
	bad := e.do(t, "POST", path, map[string]any{"content": `{`}, "Idempotency-Key", "k2")
	wantPointers(t, bad, http.StatusUnprocessableEntity, "/content")
	want(t, e.do(t, "POST", path, map[string]any{"content": `{}`}, "Idempotency-Key", "k2"), http.StatusCreated)

	wantPointers(t, e.do(t, "POST", path, map[string]any{"description": "no content", "is_stable": "yes"}, "Idempotency-Key", "k3"),
		http.StatusUnprocessableEntity, "/content", "/is_stable")
}

func TestPublishFormats(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		format  string
		content string
		ok      bool
	}{
		{"json", `{"server":{"port":8080},"tags":["a","b"]}`, true},
		{"json", `{"a":1} {"b":2}`, false},
		{"json", `{"a":}`, false},
		{"yaml", "server:\n  port: 8080\n  hosts:\n    - a\n    - b\n", true},
		{"yaml", "server:\n  port: 8080\n   bad: indent\n", false},
		{"yaml", "a: 1\na: 2\n", false},
		{"yaml", "a: &anchor 1\n", false},
		{"toml", "title = \"x\"\n[server]\nport = 8080\nhosts = [\"a\", \"b\"]\n", true},
		{"toml", "a = 1\na = 2\n", false},
		{"toml", "[s]\nx = \n", false},
		{"properties", "db.url=jdbc:x\ndb.user = admin\n# comment\nmsg=hello \\\n  world\n", true},
		{"properties", "a=1\na=2\n", false},
		{"properties", "bad=\\u12G4\n", false},
		{"text", "anything at all: {[ \n", true},
	}
	for i, tc := range cases {
		t.Run(tc.format+"/"+map[bool]string{true: "valid", false: "invalid"}[tc.ok], func(t *testing.T) {
			id, _ := e.createConfig(t, map[string]any{"name": "f" + string(rune('a'+i)), "format": tc.format})
			r := e.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": tc.content}, "Idempotency-Key", nextKey())
			if tc.ok {
				want(t, r, http.StatusCreated)
				return
			}
			wantPointers(t, r, http.StatusUnprocessableEntity, "/content")
		})
	}
}

func TestPublishSchema(t *testing.T) {
	e := newEnv(t)
	schema := map[string]any{
		"type":     "object",
		"required": []any{"server", "mode"},
		"properties": map[string]any{
			"server": map[string]any{
				"type":                 "object",
				"additionalProperties": false,
				"properties": map[string]any{
					"port": map[string]any{"type": "integer", "minimum": 1, "maximum": 65535},
					"host": map[string]any{"type": "string", "minLength": 1, "maxLength": 10, "pattern": "^[a-z.]+$"},
				},
			},
			"mode":  map[string]any{"enum": []any{"fast", "safe"}},
			"hosts": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		},
	}
	for _, format := range []string{"json", "yaml"} {
		id, _ := e.createConfig(t, map[string]any{"name": "s." + format, "format": format, "schema": schema})
		for _, tc := range []struct {
			name    string
			json    string
			yaml    string
			pointer []string
		}{
			{"valid", `{"server":{"port":80,"host":"a.b"},"mode":"fast","hosts":["x"]}`,
				"server:\n  port: 80\n  host: a.b\nmode: fast\nhosts:\n  - x\n", nil},
			{"port too big", `{"server":{"port":70000},"mode":"fast"}`, "server:\n  port: 70000\nmode: fast\n",
				[]string{"/content/server/port"}},
			{"port not integer", `{"server":{"port":1.5},"mode":"fast"}`, "server:\n  port: 1.5\nmode: fast\n",
				[]string{"/content/server/port"}},
			{"host pattern and length", `{"server":{"host":"UPPER-and-long"},"mode":"safe"}`, "server:\n  host: UPPER-and-long\nmode: safe\n",
				[]string{"/content/server/host"}},
			{"extra property", `{"server":{"extra":1},"mode":"safe"}`, "server:\n  extra: 1\nmode: safe\n",
				[]string{"/content/server/extra"}},
			{"missing required and enum", `{"server":{},"mode":"slow"}`, "server: {}\nmode: slow\n",
				[]string{"/content/mode"}},
			{"missing mode", `{"server":{}}`, "server: {}\n", []string{"/content/mode"}},
			{"item type", `{"server":{},"mode":"safe","hosts":["a",2]}`, "server: {}\nmode: safe\nhosts: [a, 2]\n",
				[]string{"/content/hosts/1"}},
			{"root type", `[1]`, "- 1\n", []string{"/content"}},
		} {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				content := tc.json
				if format == "yaml" {
					content = tc.yaml
				}
				r := e.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": content}, "Idempotency-Key", nextKey())
				if tc.pointer == nil {
					want(t, r, http.StatusCreated)
					return
				}
				wantPointers(t, r, http.StatusUnprocessableEntity, tc.pointer...)
			})
		}
	}
}
