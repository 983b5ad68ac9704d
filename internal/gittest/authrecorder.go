package gittest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// AuthRecorder is a Git server an attacker runs: it counts requests and
// records every Authorization header it receives, answering each with a 401
// and a basic-auth challenge so that a client willing to send credentials
// does. Tests use it to prove that credentials never leave their host.
type AuthRecorder struct {
	mu    sync.Mutex
	reqs  int
	auths []string
	srv   *httptest.Server
}

// NewAuthRecorder starts an AuthRecorder; t.Cleanup stops it.
func NewAuthRecorder(t testing.TB) *AuthRecorder {
	a := &AuthRecorder{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.reqs++
		if h := r.Header.Get("Authorization"); h != "" {
			a.auths = append(a.auths, h)
		}
		a.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="evil"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the recorder's base URL under the host "localhost" rather than
// 127.0.0.1: it is another host than a server on 127.0.0.1 for every rule
// that binds credentials to a host.
func (a *AuthRecorder) URL() string {
	return strings.Replace(a.srv.URL, "127.0.0.1", "localhost", 1)
}

// Seen returns how many requests arrived and the Authorization headers
// they carried.
func (a *AuthRecorder) Seen() (requests int, auths []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reqs, append([]string(nil), a.auths...)
}
