package conflux_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		auth string
	}{
		{"missing", ""},
		{"wrong token", "Bearer nope"},
		{"wrong scheme", "Basic " + testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/configs", "/v1/resolve?config_id=x", "/v1/configs/x/policy"} {
				r := e.do(t, "GET", path, nil, "Authorization", tc.auth)
				want(t, r, http.StatusUnauthorized)
				if r.header.Get("WWW-Authenticate") == "" || r.body["status"] != float64(401) || r.str("type") == "" || r.str("title") == "" || r.str("instance") != pathOnly(path) {
					t.Fatalf("problem shape: %v %s", r.header, r.raw)
				}
			}
		})
	}
	e.emu.AddToken("second")
	want(t, e.do(t, "GET", "/v1/configs", nil, "Authorization", "Bearer second"), http.StatusOK)
}

func pathOnly(p string) string {
	for i := range p {
		if p[i] == '?' {
			return p[:i]
		}
	}
	return p
}

func TestConfigCRUD(t *testing.T) {
	e := newEnv(t)
	schema := map[string]any{"type": "object", "required": []any{"port"}}
	r := e.do(t, "POST", "/v1/configs", map[string]any{
		"tenant": "acme", "application": "shop", "environment": "prod", "name": "db.yaml", "format": "yaml",
		"schema": schema, "description": "database",
		"retention_policy": map[string]any{"strategy": "OR", "rules": []any{map[string]any{"type": "count", "keep": 5}}},
	})
	want(t, r, http.StatusCreated)
	id, etag := r.str("id"), r.header.Get("ETag")
	if id == "" || etag == "" || r.str("etag") != etag || r.header.Get("Location") != "/v1/configs/"+id {
		t.Fatalf("create: %v %s", r.header, r.raw)
	}
	if r.str("created_at") == "" || r.str("updated_at") == "" || r.body["schema"] == nil {
		t.Fatalf("create body: %s", r.raw)
	}

	g := e.do(t, "GET", "/v1/configs/"+id, nil)
	want(t, g, http.StatusOK)
	if g.header.Get("ETag") != etag || g.str("name") != "db.yaml" {
		t.Fatalf("get: %v %s", g.header, g.raw)
	}

	// Update: If-Match required, checked, and the ETag changes.
	want(t, e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"description": "x"}), http.StatusPreconditionRequired)
	want(t, e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"description": "x"}, "If-Match", `"stale"`), http.StatusPreconditionFailed)
	want(t, e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"description": "x"}, "If-Match", "W/"+etag), http.StatusPreconditionFailed)
	u := e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"description": "primary db", "schema": nil}, "If-Match", etag)
	want(t, u, http.StatusOK)
	etag2 := u.header.Get("ETag")
	if etag2 == etag || u.str("description") != "primary db" || u.body["schema"] != nil {
		t.Fatalf("update: %v %s", u.header, u.raw)
	}
	// Immutable fields.
	wantPointers(t, e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"name": "other", "format": "json"}, "If-Match", etag2),
		http.StatusUnprocessableEntity, "/name", "/format")

	// Delete: a stale If-Match fails, a right one succeeds.
	want(t, e.do(t, "DELETE", "/v1/configs/"+id, nil, "If-Match", etag), http.StatusPreconditionFailed)
	d := e.do(t, "DELETE", "/v1/configs/"+id, nil, "If-Match", etag2)
	want(t, d, http.StatusNoContent)
	want(t, e.do(t, "GET", "/v1/configs/"+id, nil), http.StatusNotFound)
	want(t, e.do(t, "DELETE", "/v1/configs/"+id, nil), http.StatusNotFound)
	if len(e.emu.Configs()) != 0 {
		t.Fatal("config still there")
	}
	// The natural key is free again.
	e.createConfig(t, map[string]any{"name": "db.yaml", "format": "yaml"})
}

func TestConfigDuplicate(t *testing.T) {
	e := newEnv(t)
	e.createConfig(t, nil)
	r := e.do(t, "POST", "/v1/configs", map[string]any{"tenant": "acme", "application": "shop", "environment": "prod", "name": "app.json", "format": "yaml"})
	want(t, r, http.StatusConflict)
	// Another environment is another config.
	e.createConfig(t, map[string]any{"environment": "staging"})
}

func TestConfigUpdateRace(t *testing.T) {
	e := newEnv(t)
	id, etag := e.createConfig(t, nil)
	const n = 8
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PATCH", e.srv.URL+"/v1/configs/"+id, strings.NewReader(fmt.Sprintf(`{"description":"writer %d"}`, i)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("If-Match", etag)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusPreconditionFailed:
		default:
			t.Fatalf("unexpected status %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d updaters won, want exactly 1", won)
	}
}

func TestConfigValidation(t *testing.T) {
	e := newEnv(t)
	valid := func() map[string]any {
		return map[string]any{"tenant": "acme", "application": "shop", "environment": "prod", "name": "a.json", "format": "json"}
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		ptrs   []string
	}{
		{"missing tenant", func(m map[string]any) { delete(m, "tenant") }, []string{"/tenant"}},
		{"bad application", func(m map[string]any) { m["application"] = "has space" }, []string{"/application"}},
		{"environment type", func(m map[string]any) { m["environment"] = 3 }, []string{"/environment"}},
		{"bad format", func(m map[string]any) { m["format"] = "xml" }, []string{"/format"}},
		{"unknown field", func(m map[string]any) { m["colour"] = "red" }, []string{"/colour"}},
		{"retention keep", func(m map[string]any) {
			m["retention_policy"] = map[string]any{"strategy": "AND", "rules": []any{
				map[string]any{"type": "count", "keep": 3}, map[string]any{"type": "days", "keep": 0}}}
		}, []string{"/retention_policy/rules/1/keep"}},
		{"retention strategy and type", func(m map[string]any) {
			m["retention_policy"] = map[string]any{"strategy": "XOR", "rules": []any{map[string]any{"type": "weeks", "keep": 1}}}
		}, []string{"/retention_policy/strategy", "/retention_policy/rules/0/type"}},
		{"schema keyword", func(m map[string]any) {
			m["schema"] = map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"oneOf": []any{}}}}
		}, []string{"/schema/properties/a/oneOf"}},
		{"schema type", func(m map[string]any) { m["schema"] = map[string]any{"type": "float"} }, []string{"/schema/type"}},
		{"schema pattern", func(m map[string]any) { m["schema"] = map[string]any{"pattern": "("} }, []string{"/schema/pattern"}},
		{"schema on text", func(m map[string]any) { m["format"] = "text"; m["schema"] = map[string]any{} }, []string{"/schema"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.mutate(m)
			wantPointers(t, e.do(t, "POST", "/v1/configs", m), http.StatusUnprocessableEntity, tc.ptrs...)
		})
	}
	want(t, e.do(t, "POST", "/v1/configs", "{not json"), http.StatusBadRequest)
	want(t, e.do(t, "POST", "/v1/configs", "[]"), http.StatusBadRequest)
	if len(e.emu.Configs()) != 0 {
		t.Fatal("an invalid create stored a config")
	}
}

func TestConfigList(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		e.createConfig(t, map[string]any{"name": fmt.Sprintf("c%d.json", i)})
	}
	e.createConfig(t, map[string]any{"tenant": "other"})
	var names []string
	tok := ""
	pages := 0
	for {
		r := e.do(t, "GET", "/v1/configs?tenant=acme&application=shop&page_size=3&page_token="+tok, nil)
		want(t, r, http.StatusOK)
		pages++
		for _, it := range r.body["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		tok = r.str("next_page_token")
		if tok == "" {
			break
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[c0.json c1.json c2.json c3.json c4.json c5.json c6.json]" {
		t.Fatalf("pages %d names %v", pages, names)
	}
	r := e.do(t, "GET", "/v1/configs?tenant=other", nil)
	if items := r.body["items"].([]any); len(items) != 1 {
		t.Fatalf("filter: %s", r.raw)
	}
	want(t, e.do(t, "GET", "/v1/configs?page_size=0", nil), http.StatusBadRequest)
	want(t, e.do(t, "GET", "/v1/configs?page_token=!!", nil), http.StatusBadRequest)
}
