package cloudflare

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/conflux-sync/conflux-sync/emulator/internal/fault"
)

const apiPrefix = "/client/v4"

// Config configures a Server. The zero value is usable but, having no
// tokens, rejects every API call with 401.
type Config struct {
	// Tokens maps bearer tokens to what they may touch. More can be added
	// later with AddToken.
	Tokens map[string]TokenScope
	// RateLimit is the per-token budget. nil means the published default of
	// 1200 requests per 5 minutes; Requests==0 disables limiting.
	RateLimit *RateLimit
	// Clock returns the current time; nil means time.Now. Used for
	// timestamps and rate-limit windows. It is called with the server's
	// lock held, so it must not call back into the Server.
	Clock func() time.Time
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// StateFile, honoured only by Open (New ignores it), is a JSON file the
	// emulated accounts, zones and their resources are loaded from and
	// saved to after every change, so state survives restarts.
	StateFile string
}

// Server is the emulator. It implements http.Handler and is safe for
// concurrent use; it starts no goroutines.
type Server struct {
	mux   *http.ServeMux
	clock func() time.Time
	log   *slog.Logger
	rate  RateLimit
	// control holds injected faults and request counts.
	control *fault.Control
	// stateFile is set once by Open before serving; "" means memory only.
	stateFile string
	// tokenUse counts the requests of each token (by fingerprint).
	tokenUse fault.TokenUsage
	// patterns are the API routes served, "METHOD /path" relative to
	// /client/v4, in registration order; fixed once New returns.
	patterns []string

	mu       sync.Mutex
	tokens   map[string]TokenScope
	windows  map[string]*rateWindow
	accounts map[string]*account
	zones    map[string]*zone // by id
}

// account holds account-level resources.
type account struct {
	id      string
	tunnels []*tunnel           // creation order
	apps    []*accessApp        // creation order
	groups  []*accessGroup      // creation order
	tokens  []*serviceToken     // creation order
	idps    []*identityProvider // creation order
	routes  []*tunnelRoute
	vnets   []*virtualNetwork // creation order; the default is made lazily
	lists   []*gatewayList    // creation order
	rules   []*gatewayRule    // creation order
	// policies are the reusable Access policies, in creation order.
	policies []*accessPolicy
}

// New builds an in-memory Server from cfg, applying the documented
// defaults. It ignores cfg.StateFile; use Open for persistence.
func New(cfg Config) *Server {
	s := &Server{
		mux:      http.NewServeMux(),
		clock:    cfg.Clock,
		log:      cfg.Logger,
		tokens:   map[string]TokenScope{},
		windows:  map[string]*rateWindow{},
		accounts: map[string]*account{},
		zones:    map[string]*zone{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.RateLimit == nil {
		s.rate = RateLimit{Requests: 1200, Window: 5 * time.Minute}
	} else {
		s.rate = *cfg.RateLimit
		if s.rate.Window <= 0 {
			s.rate.Window = 5 * time.Minute
		}
	}
	for k, v := range cfg.Tokens {
		s.tokens[k] = v
	}
	s.control = s.newControl()
	s.routes()
	return s
}

// AddToken registers (or replaces) a bearer token.
func (s *Server) AddToken(token string, scope TokenScope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = scope
}

// AddZone seeds an active zone (creating the account if needed) and returns
// its generated 32-hex id. Zone names are stored lower-case without a
// trailing dot.
func (s *Server) AddZone(accountID, zoneName string) (zoneID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(accountID)
	now := s.now()
	z := &zone{id: newHexID(), name: normalizeName(zoneName), account: accountID, created: now}
	s.zones[z.id] = z
	s.persistLocked()
	return z.id
}

// AddAccount seeds an empty account so tunnel calls against it succeed.
func (s *Server) AddAccount(accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(accountID)
	s.persistLocked()
}

func (s *Server) accountLocked(id string) *account {
	a := s.accounts[id]
	if a == nil {
		a = &account{id: id}
		s.accounts[id] = a
	}
	return a
}

// now returns the clock in UTC; JSON encoding of time.Time is RFC3339.
func (s *Server) now() time.Time { return s.clock().UTC() }

// handler serves one API route; a non-nil error is written as the response
// and means nothing was changed.
type handler func(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError

// route registers an authenticated API handler. pattern is "METHOD /path"
// relative to /client/v4; it doubles as the request-count key. Every
// non-GET route changes state when it succeeds, so those are persisted.
func (s *Server) route(pattern string, h handler) {
	method, path, _ := strings.Cut(pattern, " ")
	mutates := method != http.MethodGet
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(method+" "+apiPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		tok, scope, aerr := s.authenticate(r)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		if secs, ok := s.allowRate(tok); !ok {
			writeRateLimited(w, secs)
			return
		}
		if mutates && s.stateFile != "" {
			s.servePersisted(w, r, scope, h)
			return
		}
		if aerr := h(w, r, scope); aerr != nil {
			writeError(w, aerr)
		}
	})
}

func (s *Server) routes() {
	s.route("GET /zones", s.listZones)
	s.route("GET /zones/{zone}", s.getZone)

	s.route("GET /zones/{zone}/dns_records", s.listDNS)
	s.route("POST /zones/{zone}/dns_records", s.createDNS)
	s.route("POST /zones/{zone}/dns_records/batch", s.batchDNS)
	s.route("GET /zones/{zone}/dns_records/{id}", s.getDNS)
	s.route("PATCH /zones/{zone}/dns_records/{id}", s.patchDNS)
	s.route("PUT /zones/{zone}/dns_records/{id}", s.putDNS)
	s.route("DELETE /zones/{zone}/dns_records/{id}", s.deleteDNS)

	s.route("GET /accounts/{account}/cfd_tunnel", s.listTunnels)
	s.route("POST /accounts/{account}/cfd_tunnel", s.createTunnel)
	s.route("GET /accounts/{account}/cfd_tunnel/{id}", s.getTunnel)
	s.route("DELETE /accounts/{account}/cfd_tunnel/{id}", s.deleteTunnel)
	s.route("GET /accounts/{account}/cfd_tunnel/{id}/token", s.tunnelToken)
	s.route("GET /accounts/{account}/cfd_tunnel/{id}/configurations", s.getTunnelConfig)
	s.route("PUT /accounts/{account}/cfd_tunnel/{id}/configurations", s.putTunnelConfig)

	// CIDR routes arrive as .../network/10.0.0.0%2F8; ServeMux matches on
	// the escaped path, so {cidr} is one segment decoded to "10.0.0.0/8".
	s.route("GET /accounts/{account}/teamnet/routes", s.listRoutes)
	s.route("POST /accounts/{account}/teamnet/routes", s.createRoute)
	s.route("GET /accounts/{account}/teamnet/routes/{route}", s.getRoute)
	s.route("PATCH /accounts/{account}/teamnet/routes/{route}", s.updateRoute)
	s.route("DELETE /accounts/{account}/teamnet/routes/{route}", s.deleteRoute)
	s.route("POST /accounts/{account}/teamnet/routes/network/{cidr}", s.createRoute)
	s.route("PATCH /accounts/{account}/teamnet/routes/network/{cidr}", s.updateRoute)
	s.route("DELETE /accounts/{account}/teamnet/routes/network/{cidr}", s.deleteRoute)
	s.route("GET /accounts/{account}/teamnet/routes/ip/{ip}", s.routeForIP)

	s.route("GET /accounts/{account}/teamnet/virtual_networks", s.listVnets)
	s.route("POST /accounts/{account}/teamnet/virtual_networks", s.createVnet)
	s.route("PATCH /accounts/{account}/teamnet/virtual_networks/{id}", s.updateVnet)
	s.route("DELETE /accounts/{account}/teamnet/virtual_networks/{id}", s.deleteVnet)
	s.route("GET /accounts/{account}/teamnet/virtual_networks/{id}", s.getVnet)

	s.route("GET /accounts/{account}/access/apps", s.listAccessApps)
	s.route("POST /accounts/{account}/access/apps", s.createAccessApp)
	s.route("GET /accounts/{account}/access/apps/{id}", s.getAccessApp)
	s.route("PUT /accounts/{account}/access/apps/{id}", s.updateAccessApp)
	s.route("DELETE /accounts/{account}/access/apps/{id}", s.deleteAccessApp)
	s.route("GET /accounts/{account}/access/groups", s.listAccessGroups)
	s.route("POST /accounts/{account}/access/groups", s.createAccessGroup)
	s.route("GET /accounts/{account}/access/groups/{id}", s.getAccessGroup)
	s.route("PUT /accounts/{account}/access/groups/{id}", s.updateAccessGroup)
	s.route("DELETE /accounts/{account}/access/groups/{id}", s.deleteAccessGroup)
	s.route("GET /accounts/{account}/gateway/lists", s.listGatewayLists)
	s.route("POST /accounts/{account}/gateway/lists", s.createGatewayList)
	s.route("GET /accounts/{account}/gateway/lists/{id}", s.getGatewayList)
	s.route("GET /accounts/{account}/gateway/lists/{id}/items", s.listGatewayListItems)
	s.route("PUT /accounts/{account}/gateway/lists/{id}", s.updateGatewayList)
	s.route("PATCH /accounts/{account}/gateway/lists/{id}", s.patchGatewayList)
	s.route("DELETE /accounts/{account}/gateway/lists/{id}", s.deleteGatewayList)
	s.route("GET /accounts/{account}/gateway/rules", s.listGatewayRules)
	s.route("POST /accounts/{account}/gateway/rules", s.createGatewayRule)
	s.route("GET /accounts/{account}/gateway/rules/{id}", s.getGatewayRule)
	s.route("PUT /accounts/{account}/gateway/rules/{id}", s.updateGatewayRule)
	s.route("DELETE /accounts/{account}/gateway/rules/{id}", s.deleteGatewayRule)
	s.route("GET /accounts/{account}/access/policies", s.listAccessPolicies)
	s.route("POST /accounts/{account}/access/policies", s.createAccessPolicy)
	s.route("GET /accounts/{account}/access/policies/{id}", s.getAccessPolicy)
	s.route("PUT /accounts/{account}/access/policies/{id}", s.updateAccessPolicy)
	s.route("DELETE /accounts/{account}/access/policies/{id}", s.deleteAccessPolicy)
	s.route("GET /accounts/{account}/access/service_tokens", s.listServiceTokens)
	s.route("POST /accounts/{account}/access/service_tokens", s.createServiceToken)
	s.route("GET /accounts/{account}/access/service_tokens/{id}", s.getServiceToken)
	s.route("PUT /accounts/{account}/access/service_tokens/{id}", s.updateServiceToken)
	s.route("DELETE /accounts/{account}/access/service_tokens/{id}", s.deleteServiceToken)
	s.route("POST /accounts/{account}/access/service_tokens/{id}/refresh", s.refreshServiceToken)
	s.route("POST /accounts/{account}/access/service_tokens/{id}/rotate", s.rotateServiceToken)
	s.route("GET /accounts/{account}/access/identity_providers", s.listIdentityProviders)
	s.route("POST /accounts/{account}/access/identity_providers", s.createIdentityProvider)
	s.route("GET /accounts/{account}/access/identity_providers/{id}", s.getIdentityProvider)
	s.route("PUT /accounts/{account}/access/identity_providers/{id}", s.updateIdentityProvider)
	s.route("DELETE /accounts/{account}/access/identity_providers/{id}", s.deleteIdentityProvider)
}

// ServeHTTP dispatches test-control endpoints (no token), then counts the
// request, applies injected faults and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == fault.TokensPath {
		s.serveTokens(w, r)
		return
	}
	s.control.ServeHTTP(w, r)
}

// serveUnrouted answers an API request no route matches. The real API
// answers unknown routes and malformed identifiers with both 7003 and 7000;
// 405 method mismatches are reported the same way so every status carries a
// JSON envelope.
func serveUnrouted(w http.ResponseWriter, r *http.Request) {
	writeError(w, &apiError{Status: http.StatusNotFound, Errors: []apiMessage{
		{Code: 7003, Message: "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"},
		{Code: 7000, Message: "No route for that URI"},
	}})
}

// APIRoutes returns the API routes the emulator serves, "METHOD /path"
// relative to /client/v4 with {name} wildcards, as Requests keys them.
func (s *Server) APIRoutes() []string { return slices.Clone(s.patterns) }

// Requests returns a copy of the per-route request counts, keyed
// "METHOD /route/{pattern}" relative to /client/v4.
func (s *Server) Requests() map[string]int { return s.control.Requests() }

// Writes counts the requests other than GETs served so far (since the
// last Reset): what a test that expects no writes checks.
func (s *Server) Writes() int {
	n := 0
	for k, v := range s.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

// Reset clears injected faults, request counts and rate-limit windows. Seeded
// zones, tunnels and records are kept (and the state file rewritten).
func (s *Server) Reset() {
	s.control.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows = map[string]*rateWindow{}
	s.persistLocked()
}

func newHexID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// AddZoneWithID seeds an active zone with a chosen id, as AddZone does
// with a generated one: for state that must match ids written elsewhere
// (a manifest pinning a zone id).
func (s *Server) AddZoneWithID(accountID, zoneID, zoneName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(accountID)
	s.zones[zoneID] = &zone{id: zoneID, name: normalizeName(zoneName), account: accountID, created: s.now()}
	s.persistLocked()
}

// AddTunnel seeds a tunnel with a chosen id (a generated one when id is
// "") and returns the id: for state another tool made before
// conflux-sync (a tunnel an operator created). configSrc is "local" (the
// default) or "cloudflare".
func (s *Server) AddTunnel(accountID, id, name, configSrc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(accountID)
	if id == "" {
		id = newUUID()
	}
	if configSrc == "" {
		configSrc = "local"
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	a.tunnels = append(a.tunnels, &tunnel{id: id, account: a.id, name: name,
		secret: base64.StdEncoding.EncodeToString(secret), configSrc: configSrc, created: s.now()})
	s.persistLocked()
	return id
}
