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

// tunnels are the account's cfd_tunnels, deleted ones included: {id}
// finds a deleted tunnel too, as the API keeps them readable.
var tunnels = collection[*tunnel]{
	of:       func(a *account) *[]*tunnel { return &a.tunnels },
	id:       func(t *tunnel) string { return t.id },
	notFound: func(string) *apiError { return tunnelNotFound() },
	answer:   func(_ *account, t *tunnel) any { return t.json() },
	page:     pages(100, 1000),
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
	t := &tunnel{name: body.Name, secret: body.Secret, configSrc: body.ConfigSrc}
	return tunnels.add(s, w, r, scope, http.StatusOK, t, func(a *account, t *tunnel) *apiError {
		active := 0
		for _, o := range a.tunnels {
			if o.deletedAt != nil {
				continue
			}
			active++
			if o.name == t.name {
				return newAPIError(http.StatusConflict, 1013, "You already have a tunnel with this name.")
			}
		}
		if active >= maxTunnelsPerAccount {
			return newAPIError(http.StatusBadRequest, 1001, "Tunnel limit of 1000 reached for this account")
		}
		t.id, t.account, t.created = newUUID(), a.id, s.now()
		return nil
	}, func(t *tunnel) any {
		res := t.json()
		// cloudflared reads the token from the create response.
		res["token"] = t.token()
		return res
	})
}

func (s *Server) getTunnel(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return tunnels.get(s, w, r, scope)
}

// deleteTunnel is soft: the tunnel stays readable; deleting it again is a
// 404.
func (s *Server) deleteTunnel(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return tunnels.update(s, w, r, scope, func(_ *account, t *tunnel) (any, *apiError) {
		if t.deletedAt != nil {
			return nil, tunnelNotFound()
		}
		now := s.now()
		t.deletedAt = &now
		return t.json(), nil
	})
}

func (s *Server) tunnelToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return tunnels.update(s, w, r, scope, func(_ *account, t *tunnel) (any, *apiError) { return t.token(), nil })
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
	// cloudflared filters with name_prefix; treat it like include_prefix.
	include := q.Get("include_prefix")
	if include == "" {
		include = q.Get("name_prefix")
	}
	return tunnels.list(s, w, r, scope, func(t *tunnel) bool {
		switch {
		case (t.deletedAt != nil) != deleted:
		case q.Get("name") != "" && t.name != q.Get("name"):
		case q.Get("uuid") != "" && t.id != q.Get("uuid"):
		case include != "" && !strings.HasPrefix(t.name, include):
		case q.Get("exclude_prefix") != "" && strings.HasPrefix(t.name, q.Get("exclude_prefix")):
		case existedAt != nil && (t.created.After(*existedAt) || (t.deletedAt != nil && t.deletedAt.Before(*existedAt))):
		default:
			return true
		}
		return false
	})
}
