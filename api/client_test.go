package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestClientRetry: with WithRetry, answers that say "not now" are sent
// again (the same body each time) until one succeeds; any other error, or
// a client without WithRetry, returns at once.
func TestClientRetry(t *testing.T) {
	notNow := func(w http.ResponseWriter, status int, code string) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(ErrorBody{Error: Error{Code: code, Message: "not now"}})
	}
	tests := []struct {
		name      string
		retry     time.Duration
		status    int
		code      string
		failFirst int
		wantCalls int
		wantErr   string // the code of the error returned; "" for success
	}{
		{"no leader, then a leader", 30 * time.Second, http.StatusServiceUnavailable, CodeNoLeader, 2, 3, ""},
		{"throttled, then served", 30 * time.Second, http.StatusTooManyRequests, CodeTooManyRequests, 1, 2, ""},
		{"unavailable, then served", 30 * time.Second, http.StatusServiceUnavailable, CodeUnavailable, 1, 2, ""},
		{"without WithRetry", 0, http.StatusServiceUnavailable, CodeNoLeader, 1, 1, CodeNoLeader},
		{"a refusal is not retried", 30 * time.Second, http.StatusUnprocessableEntity, CodeInvalidSpec, 1, 1, CodeInvalidSpec},
		{"gives up at the retry budget", 500 * time.Millisecond, http.StatusServiceUnavailable, CodeNoLeader, 5, 1, CodeNoLeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu     sync.Mutex
				calls  int
				bodies []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				calls++
				n := calls
				bodies = append(bodies, string(b))
				mu.Unlock()
				if n <= tt.failFirst {
					notNow(w, tt.status, tt.code)
					return
				}
				json.NewEncoder(w).Encode(WriteResult{Index: 7})
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(srv.URL, WithRetry(tt.retry))
			if err != nil {
				t.Fatal(err)
			}
			f := Fragment{Target: TargetRef{Kind: "cloudflare.Tunnel", Name: "edge"}, Source: SourceRef{Kind: "API", Name: "t"}, Generation: 1, Spec: json.RawMessage(`{}`)}
			res, err := c.PutFragment(context.Background(), f)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("PutFragment: %v", err)
			case tt.wantErr == "" && res.Index != 7:
				t.Fatalf("result %+v", res)
			case tt.wantErr != "" && !IsCode(err, tt.wantErr):
				t.Fatalf("got %v, want code %s", err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tt.wantCalls {
				t.Errorf("%d requests, want %d", calls, tt.wantCalls)
			}
			for _, b := range bodies {
				if b != bodies[0] || b == "" {
					t.Errorf("bodies differ between attempts: %q", bodies)
					break
				}
			}
		})
	}
}

// TestClientRetryStopsWithContext: a cancelled context ends the wait.
func TestClientRetryStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(ErrorBody{Error: Error{Code: CodeNoLeader, Message: "no leader"}})
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, WithRetry(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Status(ctx); !IsCode(err, CodeNoLeader) {
		t.Fatalf("got %v, want the no_leader answer", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("returned after %v: the wait ignored the context", d)
	}
}
