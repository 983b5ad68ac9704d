package conflux

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/emulator/internal/fault"
)

const apiPrefix = "/v1"

// Config configures a Server. The zero value is usable but, having no
// tokens, rejects every API call with 401.
type Config struct {
	// Tokens are the bearer tokens the API accepts; more can be added with
	// AddToken.
	Tokens []string
	// Now returns the current time; nil means time.Now. It stamps configs
	// and versions and drives "days" retention rules. It is called with the
	// server's lock held, so it must not call back into the Server.
	Now func() time.Time
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// DataFile, honoured only by Open (New ignores it), is a bbolt file the
	// state is loaded from and written through to, one transaction per
	// request. Empty means memory only.
	DataFile string
}

// Server is the Conflux reference server. It implements http.Handler, is
// safe for concurrent use and starts no goroutines.
type Server struct {
	mux *http.ServeMux
	now func() time.Time
	log *slog.Logger
	// control holds injected faults and request counts.
	control *fault.Control
	// tokenUse counts the requests of each token (by fingerprint).
	tokenUse fault.TokenUsage

	// db and dataFile are set once by Open before serving.
	db       *bolt.DB
	dataFile string

	mu       sync.Mutex
	tokens   map[string]bool
	configs  map[string]*configRec
	byKey    map[string]string // natural key -> config id
	versions map[string][]*Version
	idem     map[string]map[string]*idemRec // config id -> key -> record
}

// New builds an in-memory Server. It ignores cfg.DataFile; use Open for
// persistence.
func New(cfg Config) *Server {
	s := &Server{
		mux:      http.NewServeMux(),
		now:      cfg.Now,
		log:      cfg.Logger,
		tokens:   map[string]bool{},
		configs:  map[string]*configRec{},
		byKey:    map[string]string{},
		versions: map[string][]*Version{},
		idem:     map[string]map[string]*idemRec{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, t := range cfg.Tokens {
		s.tokens[t] = true
	}
	s.control = s.newControl()
	s.routes()
	return s
}

// Open is New plus persistence: with cfg.DataFile set it opens (or
// creates) that bbolt file, loads its state and writes every change through
// to it. A file of another format version, or a corrupt one, is an error.
func Open(cfg Config) (*Server, error) {
	s := New(cfg)
	if cfg.DataFile == "" {
		return s, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.openStore(cfg.DataFile); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the data file; an in-memory server has nothing to close.
// The server must not serve requests afterwards.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// AddToken registers a bearer token.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

func (s *Server) clock() time.Time { return s.now().UTC() }

// handler serves one API route; a non-nil problem is written as the
// response and means nothing was changed.
type handler func(w http.ResponseWriter, r *http.Request) *problem

// route registers an authenticated handler; pattern is "METHOD /v1/..."
// and doubles as the request-count key.
func (s *Server) route(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if p := s.authenticate(r); p != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="conflux"`)
			writeProblem(w, r, p)
			return
		}
		if p := h(w, r); p != nil {
			writeProblem(w, r, p)
		}
	})
}

func (s *Server) routes() {
	s.route("POST /v1/configs", s.createConfig)
	s.route("GET /v1/configs", s.listConfigs)
	s.route("GET /v1/configs/{id}", s.getConfig)
	s.route("PATCH /v1/configs/{id}", s.updateConfig)
	s.route("DELETE /v1/configs/{id}", s.deleteConfig)

	s.route("POST /v1/configs/{id}/versions", s.publish)
	s.route("GET /v1/configs/{id}/versions", s.listVersions)
	s.route("GET /v1/configs/{id}/versions/{vid}", s.getVersion)

	s.route("GET /v1/configs/{id}/policy", s.getPolicy)
	s.route("PUT /v1/configs/{id}/policy", s.putPolicy)

	s.route("GET /v1/resolve", s.resolve)
}

func (s *Server) authenticate(r *http.Request) *problem {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
			"Send a bearer token in the Authorization header.")
	}
	s.mu.Lock()
	ok := s.tokens[tok]
	s.mu.Unlock()
	s.tokenUse.Count(tok, r.Method, ok)
	if !ok {
		return newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized", "The bearer token is not valid.")
	}
	return nil
}

// ServeHTTP dispatches the token-less /__emulator/ endpoints, then counts
// the request, applies injected faults and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == fault.TokensPath {
		s.serveTokens(w, r)
		return
	}
	s.control.ServeHTTP(w, r)
}

// RevokeToken stops accepting token at once; false when it was not
// accepted.
func (s *Server) RevokeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.tokens[token]
	delete(s.tokens, token)
	return ok
}

// TokenUses lists how often each token was sent, by fingerprint (see
// GET /__emulator/tokens).
func (s *Server) TokenUses() []fault.TokenUse { return s.tokenUse.List(s.activeTokens()) }

func (s *Server) activeTokens() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fault.Fingerprints(s.tokens)
}

// serveTokens serves /__emulator/tokens: POST {"token"} adds a token,
// DELETE {"token"} revokes one, GET lists the use of each token by
// fingerprint.
func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request) {
	fault.ServeTokens(w, r, &s.tokenUse, func(req fault.TokenRequest) error {
		s.AddToken(req.Token)
		return nil
	}, s.RevokeToken, s.activeTokens)
}

// serveUnrouted answers an API request no route matches. Unknown paths and
// method mismatches both answer with a problem; a known path with another
// method gets 405 and Allow.
func (s *Server) serveUnrouted(w http.ResponseWriter, r *http.Request) {
	probe := r.Clone(r.Context())
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			w.Header().Add("Allow", m)
		}
	}
	if len(w.Header().Values("Allow")) > 0 {
		writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			r.Method+" is not supported on "+r.URL.Path+"."))
		return
	}
	writeProblem(w, r, newProblem(http.StatusNotFound, "not-found", "Not found", "No route for "+r.URL.Path+"."))
}

// Requests returns a copy of the per-route request counts, keyed
// "METHOD /v1/route/{pattern}" ("METHOD <unmatched>" for unknown routes).
func (s *Server) Requests() map[string]int { return s.control.Requests() }

// Reset clears injected faults and request counts. Configs, versions,
// policies and idempotency records are kept.
func (s *Server) Reset() { s.control.Reset() }

// DataFile reports the bbolt file the server writes to ("" when in memory).
func (s *Server) DataFile() string { return s.dataFile }
