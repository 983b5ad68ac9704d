package conflux_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/conflux-sync/conflux-sync/emulator/conflux"
)

func TestPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "conflux.db")
	clk := &clock{}
	open := func() *env {
		s, err := conflux.Open(conflux.Config{Tokens: []string{testToken}, DataFile: file, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return serve(t, s, clk)
	}
	e := open()
	id, _ := e.createConfig(t, map[string]any{"retention_policy": map[string]any{"strategy": "OR", "rules": rules("count", 2)}})
	gone, _ := e.createConfig(t, map[string]any{"name": "gone.json"})
	var last resp
	for i := range 3 {
		last = e.publish(t, id, map[string]any{"content": `{"n":` + string(rune('1'+i)) + `}`})
	}
	want(t, e.do(t, "PUT", "/v1/configs/"+id+"/policy", map[string]any{"rules": []any{
		map[string]any{"priority": 0, "version_id": last.str("version_id")}}}), http.StatusOK)
	first := e.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": `{"x":1}`}, "Idempotency-Key", "persisted")
	want(t, first, http.StatusCreated)
	want(t, e.do(t, "DELETE", "/v1/configs/"+gone, nil), http.StatusNoContent)
	beforeConfigs, beforeVersions := e.emu.Configs(), e.emu.Versions(id)
	beforePolicy, _ := e.emu.Policy(id)
	e.srv.Close()
	if err := e.emu.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := open()
	if got := e2.emu.Configs(); len(got) != 1 || got[0].ID != id || got[0].ETag != beforeConfigs[0].ETag {
		t.Fatalf("configs after reopen: %+v", got)
	}
	after := e2.emu.Versions(id)
	if len(after) != len(beforeVersions) || len(after) != 2 {
		t.Fatalf("versions after reopen: %d, want %d", len(after), len(beforeVersions))
	}
	for i := range after {
		if after[i] != beforeVersions[i] {
			t.Fatalf("version %d: %+v != %+v", i, after[i], beforeVersions[i])
		}
	}
	if p, _ := e2.emu.Policy(id); p.ETag != beforePolicy.ETag || len(p.Rules) != 1 {
		t.Fatalf("policy after reopen: %+v", p)
	}
	// The idempotency record survived: the replay answers from it.
	replay := e2.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": `{"x":1}`}, "Idempotency-Key", "persisted")
	if replay.status != http.StatusCreated || !bytes.Equal(replay.raw, first.raw) || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay after reopen: %d %s", replay.status, replay.raw)
	}
	// Numbering continues.
	if r := e2.publish(t, id, map[string]any{"content": `{}`}); r.body["number"] != float64(5) {
		t.Fatalf("number after reopen: %s", r.raw)
	}
	want(t, e2.do(t, "GET", "/v1/resolve?config_id="+id, nil), http.StatusOK)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte("not a bolt file at all, definitely"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := conflux.Open(conflux.Config{DataFile: bad}); err == nil {
		t.Fatal("a corrupt file opened")
	}
	if _, err := conflux.Open(conflux.Config{DataFile: filepath.Join(dir, "missing", "x.db")}); err == nil {
		t.Fatal("a file in a missing directory opened")
	}
	s, err := conflux.Open(conflux.Config{})
	if err != nil || s.Close() != nil {
		t.Fatalf("in-memory Open: %v", err)
	}
}

func TestFaultsAndRequests(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createConfig(t, nil)
	post := func(path string, body string) *http.Response {
		res, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/__emulator/faults", `{"method":"POST","path":"/configs/","status":503,"count":1,"retry_after":7}`); res.StatusCode != 200 {
		t.Fatalf("add fault: %d", res.StatusCode)
	}
	r := e.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": "{}"}, "Idempotency-Key", "f1")
	want(t, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") != "7" || r.str("type") == "" {
		t.Fatalf("fault: %v %s", r.header, r.raw)
	}
	want(t, e.do(t, "POST", "/v1/configs/"+id+"/versions", map[string]any{"content": "{}"}, "Idempotency-Key", "f1"), http.StatusCreated)
	if len(e.emu.Versions(id)) != 1 {
		t.Fatal("the faulted request changed state")
	}
	// Delay-only faults serve normally; Go API equivalents.
	e.emu.AddFault(conflux.Fault{Method: "GET", PathPrefix: "/v1/resolve", Status: 429})
	want(t, e.do(t, "GET", "/v1/resolve?config_id="+id, nil), http.StatusTooManyRequests)
	e.emu.ClearFaults()
	want(t, e.do(t, "GET", "/v1/resolve?config_id="+id, nil), http.StatusNotFound)
	if res := post("/__emulator/faults", `{"status":200}`); res.StatusCode != 400 {
		t.Fatalf("status 200 fault accepted: %d", res.StatusCode)
	}

	want(t, e.do(t, "GET", "/v1/nothing", nil), http.StatusNotFound)
	want(t, e.do(t, "PUT", "/v1/configs", nil), http.StatusMethodNotAllowed)
	got := e.emu.Requests()
	for k, n := range map[string]int{
		"POST /v1/configs":               1,
		"POST /v1/configs/{id}/versions": 2,
		"GET /v1/resolve":                2,
		"GET <unmatched>":                1,
		"PUT <unmatched>":                1,
	} {
		if got[k] != n {
			t.Errorf("requests[%q] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	res, err := http.Get(e.srv.URL + "/__emulator/requests")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET requests: %v", err)
	}
	res.Body.Close()
	e.emu.Reset()
	if len(e.emu.Requests()) != 0 || len(e.emu.Configs()) != 1 {
		t.Fatal("Reset must clear counts and keep configs")
	}
	req, _ := http.NewRequest("DELETE", e.srv.URL+"/__emulator/faults", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE faults: %v", err)
	}
}
