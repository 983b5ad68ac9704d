package conflux_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/emulator/conflux"
)

const testToken = "test-token"

type env struct {
	emu *conflux.Server
	srv *httptest.Server
	clk *clock
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return serve(t, conflux.New(conflux.Config{Tokens: []string{testToken}, Now: clk.Now}), clk)
}

func serve(t *testing.T, s *conflux.Server, clk *clock) *env {
	t.Helper()
	e := &env{emu: s, clk: clk}
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// problemPointers lists errors[].pointer of a problem body.
func (r resp) pointers() []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		if p, ok := m["pointer"].(string); ok {
			out = append(out, p)
		}
	}
	return out
}

func (r resp) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends a request with the test token (unless headers set
// Authorization, "" meaning none) and decodes a JSON object body.
func (e *env) do(t *testing.T, method, path string, body any, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: %d body is not a JSON object: %v\n%s", method, path, res.StatusCode, err, raw)
		}
		ct := res.Header.Get("Content-Type")
		if res.StatusCode >= 400 && ct != "application/problem+json" {
			t.Fatalf("%s %s: error %d has Content-Type %q", method, path, res.StatusCode, ct)
		}
	}
	return out
}

func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

func wantPointers(t *testing.T, r resp, status int, ptrs ...string) {
	t.Helper()
	want(t, r, status)
	got := r.pointers()
	for _, p := range ptrs {
		found := false
		for _, g := range got {
			if g == p {
				found = true
			}
		}
		if !found {
			t.Fatalf("pointer %q missing; got %v (%s)", p, got, r.raw)
		}
	}
}

// createConfig creates a config and returns its id and ETag.
func (e *env) createConfig(t *testing.T, body map[string]any) (string, string) {
	t.Helper()
	base := map[string]any{"tenant": "acme", "application": "shop", "environment": "prod", "name": "app.json", "format": "json"}
	for k, v := range body {
		base[k] = v
	}
	r := e.do(t, "POST", "/v1/configs", base)
	want(t, r, http.StatusCreated)
	return r.str("id"), r.header.Get("ETag")
}

var keySeq atomic.Int64

// nextKey returns a fresh Idempotency-Key.
func nextKey() string { return "key-" + strconv.FormatInt(keySeq.Add(1), 10) }

// publish publishes content and returns the response (201 expected).
func (e *env) publish(t *testing.T, id string, body map[string]any) resp {
	t.Helper()
	r := e.do(t, "POST", "/v1/configs/"+id+"/versions", body, "Idempotency-Key", nextKey())
	want(t, r, http.StatusCreated)
	return r
}
