package cloudflare

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// tunnel is a cfd_tunnel. Deletion is soft: deletedAt is set and the tunnel
// stays listable with is_deleted=true.
type tunnel struct {
	id        string
	account   string
	name      string
	secret    string // base64 as submitted
	configSrc string
	created   time.Time
	deletedAt *time.Time

	configVersion int
	config        json.RawMessage // nil until the first PUT
}

// maxTunnelsPerAccount is the published per-account limit.
const maxTunnelsPerAccount = 1000

func (t *tunnel) json() map[string]any {
	return map[string]any{
		"id": t.id, "account_tag": t.account, "name": t.name,
		"created_at": t.created, "deleted_at": t.deletedAt, "connections": []any{},
		"conns_active_at": nil, "conns_inactive_at": t.created,
		"tun_type": "cfd_tunnel", "status": "inactive",
		"remote_config": t.configSrc == "cloudflare", "config_src": t.configSrc,
		"metadata": map[string]any{},
	}
}

// token is what cloudflared expects: base64 of {"a","t","s"}.
func (t *tunnel) token() string {
	b, _ := json.Marshal(map[string]string{"a": t.account, "t": t.id, "s": t.secret})
	return base64.StdEncoding.EncodeToString(b)
}

func tunnelNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 1003, "Tunnel not found")
}

// accountFor checks the {account} path value against the token scope and
// returns the account, creating it on first use so callers need not seed
// accounts explicitly. Caller holds s.mu.
func (s *Server) accountFor(r *http.Request, scope TokenScope) (*account, *apiError) {
	id := r.PathValue("account")
	if !scope.accountAllowed(id) {
		return nil, forbidden()
	}
	return s.accountLocked(id), nil
}

func (a *account) findTunnel(id string) *tunnel {
	for _, t := range a.tunnels {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (s *Server) createTunnel(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var body struct {
		Name      string `json:"name"`
		Secret    string `json:"tunnel_secret"`
		ConfigSrc string `json:"config_src"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return aerr
	}
	if body.Name == "" {
		return newAPIError(http.StatusBadRequest, 1001, "Tunnel name is required")
	}
	sec, err := base64.StdEncoding.DecodeString(body.Secret)
	if err != nil || len(sec) < 32 {
		return newAPIError(http.StatusBadRequest, 1001, "tunnel_secret must be a base64-encoded value of at least 32 bytes")
	}
	switch body.ConfigSrc {
	case "":
		body.ConfigSrc = "local"
	case "local", "cloudflare":
	default:
		return newAPIError(http.StatusBadRequest, 1001, "config_src must be 'local' or 'cloudflare'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	active := 0
	for _, t := range a.tunnels {
		if t.deletedAt != nil {
			continue
		}
		active++
		if t.name == body.Name {
			return newAPIError(http.StatusConflict, 1013, "You already have a tunnel with this name.")
		}
	}
	if active >= maxTunnelsPerAccount {
		return newAPIError(http.StatusBadRequest, 1001, "Tunnel limit of 1000 reached for this account")
	}
	t := &tunnel{id: newUUID(), account: a.id, name: body.Name, secret: body.Secret,
		configSrc: body.ConfigSrc, created: s.now()}
	a.tunnels = append(a.tunnels, t)
	res := t.json()
	// cloudflared reads the token from the create response.
	res["token"] = t.token()
	writeResult(w, http.StatusOK, res, nil)
	return nil
}

func (s *Server) getTunnel(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.tunnelFor(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, t.json(), nil)
	return nil
}

// tunnelFor resolves {account}/{id}; deleted tunnels are still returned, as
// the API keeps them readable. Caller holds s.mu.
func (s *Server) tunnelFor(r *http.Request, scope TokenScope) (*tunnel, *apiError) {
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return nil, aerr
	}
	t := a.findTunnel(r.PathValue("id"))
	if t == nil {
		return nil, tunnelNotFound()
	}
	return t, nil
}

func (s *Server) deleteTunnel(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.tunnelFor(r, scope)
	if aerr != nil {
		return aerr
	}
	if t.deletedAt != nil {
		return tunnelNotFound()
	}
	now := s.now()
	t.deletedAt = &now
	writeResult(w, http.StatusOK, t.json(), nil)
	return nil
}

func (s *Server) tunnelToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.tunnelFor(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, t.token(), nil)
	return nil
}

// listTunnels filters by name (exact), uuid, is_deleted (omitted means
// active only, the behaviour since 2025-12-01), include_prefix (or
// name_prefix),
// exclude_prefix and existed_at, in creation order.
func (s *Server) listTunnels(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	q := r.URL.Query()
	deleted, aerr := isDeletedFilter(q)
	if aerr != nil {
		return aerr
	}
	var existedAt *time.Time
	if v := q.Get("existed_at"); v != "" {
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return newAPIError(http.StatusBadRequest, 1001, "existed_at must be an RFC3339 timestamp")
		}
		existedAt = &ts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	// cloudflared filters with name_prefix; treat it like include_prefix.
	include := q.Get("include_prefix")
	if include == "" {
		include = q.Get("name_prefix")
	}
	var out []*tunnel
	for _, t := range a.tunnels {
		switch {
		case (t.deletedAt != nil) != deleted:
		case q.Get("name") != "" && t.name != q.Get("name"):
		case q.Get("uuid") != "" && t.id != q.Get("uuid"):
		case include != "" && !strings.HasPrefix(t.name, include):
		case q.Get("exclude_prefix") != "" && strings.HasPrefix(t.name, q.Get("exclude_prefix")):
		case existedAt != nil && (t.created.After(*existedAt) || (t.deletedAt != nil && t.deletedAt.Before(*existedAt))):
		default:
			out = append(out, t)
		}
	}
	start, end, info := pageWindow(r, len(out), 100, 1000)
	res := make([]map[string]any, 0, end-start)
	for _, t := range out[start:end] {
		res = append(res, t.json())
	}
	writeResult(w, http.StatusOK, res, info)
	return nil
}
