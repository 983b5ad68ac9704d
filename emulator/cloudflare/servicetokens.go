package cloudflare

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// serviceToken is an account-level Access service token. The secret is
// kept (a real token keeps it too, to check requests) but answered only
// by the create and the rotate, as the API does.
type serviceToken struct {
	id, name, clientID, secret string
	// duration is as the client sent it ("8760h", "forever").
	duration         string
	version          int64
	created, updated time.Time
	// expires is zero for a token that never expires.
	expires time.Time
}

// defaultServiceTokenDuration is the API's duration when none is given:
// one year, in hours.
const defaultServiceTokenDuration = "8760h"

func (t *serviceToken) json(withSecret bool) map[string]any {
	m := map[string]any{
		"id": t.id, "name": t.name, "client_id": t.clientID, "duration": t.duration,
		"client_secret_version": t.version, "created_at": t.created, "updated_at": t.updated,
	}
	if !t.expires.IsZero() {
		m["expires_at"] = t.expires
	}
	if withSecret {
		m["client_secret"] = t.secret
	}
	return m
}

// expiry is when a token of duration d, (re)started at now, expires; zero
// for "forever". d is valid (checkServiceTokenDuration).
func expiry(now time.Time, d string) time.Time {
	if d == "forever" {
		return time.Time{}
	}
	v, _ := time.ParseDuration(d)
	return now.Add(v)
}

// checkServiceTokenDuration accepts what the API documents: a Go-style
// duration ("8760h", "2h45m") or "forever".
func checkServiceTokenDuration(d string) *apiError {
	if d == "forever" {
		return nil
	}
	v, err := time.ParseDuration(d)
	if err != nil || v <= 0 {
		return accessInvalid("duration must be a positive duration such as 8760h, or forever")
	}
	return nil
}

func serviceTokenNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 12130, "access.api.error.service_token_not_found")
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// decodeServiceToken reads a create or update body: a name and an
// optional duration (the API's default when absent).
func decodeServiceToken(r *http.Request) (name, duration string, aerr *apiError) {
	var body struct {
		Name     string `json:"name"`
		Duration string `json:"duration"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return "", "", aerr
	}
	if strings.TrimSpace(body.Name) == "" {
		return "", "", accessInvalid("name is required")
	}
	if body.Duration == "" {
		body.Duration = defaultServiceTokenDuration
	}
	if aerr := checkServiceTokenDuration(body.Duration); aerr != nil {
		return "", "", aerr
	}
	return body.Name, body.Duration, nil
}

// serviceTokens are the account's Access service tokens. Their reads
// never answer the secret.
var serviceTokens = collection[*serviceToken]{
	of:       func(a *account) *[]*serviceToken { return &a.tokens },
	id:       func(t *serviceToken) string { return t.id },
	notFound: func(string) *apiError { return serviceTokenNotFound() },
	answer:   func(_ *account, t *serviceToken) any { return t.json(false) },
	page:     pages(1000, 1000),
}

// createServiceToken answers the secret, the only read but a rotate that
// does.
func (s *Server) createServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	name, duration, aerr := decodeServiceToken(r)
	if aerr != nil {
		return aerr
	}
	t := &serviceToken{name: name, clientID: randomHex(16) + ".access", secret: randomHex(32), duration: duration, version: 1}
	return serviceTokens.add(s, w, r, scope, http.StatusCreated, t, func(_ *account, t *serviceToken) *apiError {
		now := s.now()
		t.id, t.created, t.updated, t.expires = newUUID(), now, now, expiry(now, t.duration)
		return nil
	}, func(t *serviceToken) any { return t.json(true) })
}

func (s *Server) getServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return serviceTokens.get(s, w, r, scope)
}

// updateServiceToken is a PUT of the name and the duration. The expiry
// does not move: a new duration counts from the next refresh.
func (s *Server) updateServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	name, duration, aerr := decodeServiceToken(r)
	if aerr != nil {
		return aerr
	}
	return serviceTokens.update(s, w, r, scope, func(_ *account, t *serviceToken) (any, *apiError) {
		t.name, t.duration, t.updated = name, duration, s.now()
		return t.json(false), nil
	})
}

// refreshServiceToken restarts the token's duration from now; the secret
// stays.
func (s *Server) refreshServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return serviceTokens.update(s, w, r, scope, func(_ *account, t *serviceToken) (any, *apiError) {
		now := s.now()
		t.updated, t.expires = now, expiry(now, t.duration)
		return t.json(false), nil
	})
}

// rotateServiceToken replaces the secret (the old one stops working at
// once: no grace period was asked) and answers the new one.
func (s *Server) rotateServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return serviceTokens.update(s, w, r, scope, func(_ *account, t *serviceToken) (any, *apiError) {
		t.secret, t.version, t.updated = randomHex(32), t.version+1, s.now()
		return t.json(true), nil
	})
}

// deleteServiceToken answers the token deleted, not just its id.
func (s *Server) deleteServiceToken(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return serviceTokens.remove(s, w, r, scope, http.StatusOK, nil, func(t *serviceToken) any { return t.json(false) })
}

// listServiceTokens filters by exact name and answers up to 1000 a page.
func (s *Server) listServiceTokens(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	name := r.URL.Query().Get("name")
	return serviceTokens.list(s, w, r, scope, func(t *serviceToken) bool { return name == "" || t.name == name })
}

// ServiceTokenInfo describes an Access service token; Secret is the one
// in force (for tests checking what was delivered).
type ServiceTokenInfo struct {
	ID, Name, ClientID, Secret, Duration string
	Version                              int64
	// ExpiresAt is zero for a token that never expires.
	ExpiresAt time.Time
}

// ServiceTokens returns the account's service tokens in creation order.
func (s *Server) ServiceTokens(accountID string) []ServiceTokenInfo {
	return snapshot(s, accountID, serviceTokens, func(_ *account, t *serviceToken) ServiceTokenInfo {
		return ServiceTokenInfo{ID: t.id, Name: t.name, ClientID: t.clientID, Secret: t.secret,
			Duration: t.duration, Version: t.version, ExpiresAt: t.expires}
	})
}

// SetServiceTokenExpiry moves a token's expiry, as time passing would. A
// failed state file write is returned but the change is kept in memory.
func (s *Server) SetServiceTokenExpiry(accountID, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountID]; a != nil {
		for _, t := range a.tokens {
			if t.id == id {
				t.expires = at.UTC()
				return s.saveLocked()
			}
		}
	}
	return fmt.Errorf("service token %s in account %s: %w", id, accountID, serviceTokenNotFound())
}
