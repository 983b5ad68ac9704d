package fault

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func newTestControl(segment bool) *Control {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.PathValue("id"))
	})
	return New(Config{
		APIPrefix:    "/api",
		SegmentMount: segment,
		RelativeKeys: true,
		Mux:          mux,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		WriteFault: func(w http.ResponseWriter, _ *http.Request, ft Fault) {
			w.WriteHeader(ft.Status)
		},
		Unrouted: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
		},
	})
}

func TestMountAndCount(t *testing.T) {
	for _, tc := range []struct {
		segment bool
		in, out string
	}{
		{false, "/things", "/api/things"},
		{false, "/api/things", "/api/things"},
		{false, "/apix", "/apix"},
		{true, "/apix", "/api/apix"},
		{true, "/api", "/api"},
		{true, "", ""},
	} {
		c := newTestControl(tc.segment)
		c.Add(Fault{PathPrefix: tc.in, Status: 500, Count: 2})
		if got := c.faults[0].PathPrefix; got != tc.out {
			t.Errorf("segment=%v Add(%q) path = %q, want %q", tc.segment, tc.in, got, tc.out)
		}
	}

	c := newTestControl(false)
	c.Add(Fault{Method: "get", PathPrefix: "/things", Status: 503, Count: 1, RetryAfter: 4})
	serve := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if rec := serve("/api/things/1"); rec.Code != 503 || rec.Header().Get("Retry-After") != "4" {
		t.Fatalf("first hit = %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve("/api/things/1"); rec.Code != 200 || rec.Body.String() != "1" {
		t.Fatalf("count 1 fault fired twice, or routing lost PathValue: %d %q", rec.Code, rec.Body)
	}
	if rec := serve("/nowhere"); rec.Code != 404 {
		t.Fatalf("unrouted = %d", rec.Code)
	}
	got := c.Requests()
	if got["GET /things/{id}"] != 2 || got["GET <unmatched>"] != 1 || len(got) != 2 {
		t.Fatalf("requests = %v", got)
	}
	c.Reset()
	if len(c.Requests()) != 0 || len(c.faults) != 0 {
		t.Fatal("Reset left state behind")
	}
}
