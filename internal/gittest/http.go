package gittest

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// HTTPOptions configures an HTTPServer. With Username set, requests must
// carry basic auth Username:Password; with BearerToken set, they must carry
// "Authorization: Bearer BearerToken"; with both, either is accepted. With
// TLS, the server speaks https with a self-signed certificate (see CAPEM).
type HTTPOptions struct {
	Username, Password, BearerToken string
	TLS                             bool
}

// HTTPServer serves repositories over smart HTTP with `git http-backend`.
type HTTPServer struct {
	srv  *httptest.Server
	opts HTTPOptions

	mu    sync.Mutex
	paths []string
}

// NewHTTPServer serves repos on 127.0.0.1; the URL of repos[name] is
// URL(name). Requests failing the configured authentication get 401 with a
// WWW-Authenticate header. The server is closed by t.Cleanup.
func NewHTTPServer(t testing.TB, opts HTTPOptions, repos map[string]*Repo) *HTTPServer {
	t.Helper()
	git := gitPath(t)
	base := linkRepos(t, repos)
	home := t.TempDir()
	backend := &cgi.Handler{
		Path:   git,
		Args:   []string{"http-backend"},
		Dir:    base,
		Stderr: io.Discard,
		Env: append([]string{
			"GIT_PROJECT_ROOT=" + base,
			"GIT_HTTP_EXPORT_ALL=1",
		}, gitEnv(home)...),
	}
	s := &HTTPServer{opts: opts}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		p := req.URL.Path
		if req.URL.RawQuery != "" {
			p += "?" + req.URL.RawQuery
		}
		s.paths = append(s.paths, p)
		s.mu.Unlock()
		if !s.authorized(req) {
			if opts.Username != "" {
				w.Header().Add("WWW-Authenticate", `Basic realm="gittest"`)
			}
			if opts.BearerToken != "" {
				w.Header().Add("WWW-Authenticate", `Bearer realm="gittest"`)
			}
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	})
	s.srv = httptest.NewUnstartedServer(h)
	// Clients that reject the certificate are expected; don't log them.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *HTTPServer) authorized(req *http.Request) bool {
	if s.opts.Username == "" && s.opts.BearerToken == "" {
		return true
	}
	if s.opts.Username != "" {
		if u, p, ok := req.BasicAuth(); ok && equal(u, s.opts.Username) && equal(p, s.opts.Password) {
			return true
		}
	}
	if s.opts.BearerToken != "" {
		const prefix = "Bearer "
		h := req.Header.Get("Authorization")
		if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) && equal(h[len(prefix):], s.opts.BearerToken) {
			return true
		}
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// URL returns the URL of the repository name, e.g. http://127.0.0.1:PORT/NAME.git.
func (s *HTTPServer) URL(name string) string { return s.srv.URL + "/" + name + ".git" }

// Requests returns the number of requests served so far (including the
// rejected ones).
func (s *HTTPServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.paths)
}

// Paths returns the path (and query) of every request served so far, in order.
func (s *HTTPServer) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// CAPEM returns the PEM-encoded certificate of a TLS server (nil without TLS).
func (s *HTTPServer) CAPEM() []byte {
	if s.srv.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Stop closes the server early, so that its URLs become unreachable.
func (s *HTTPServer) Stop() { s.srv.Close() }
