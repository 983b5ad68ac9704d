package cloudflare

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// accessApp stores the client-supplied fields verbatim (so unknown fields
// round-trip) next to the server-owned ones.
type accessApp struct {
	id       string
	aud      string
	fields   map[string]any
	policies []string
	created  time.Time
	updated  time.Time
}

// serverOwned keys are never taken from request bodies.
var serverOwned = []string{"id", "uid", "aud", "created_at", "updated_at", "policies"}

func (a *accessApp) json() map[string]any {
	out := make(map[string]any, len(a.fields)+8)
	for k, v := range a.fields {
		out[k] = v
	}
	out["id"], out["uid"], out["aud"] = a.id, a.id, a.aud
	out["created_at"], out["updated_at"] = a.created, a.updated
	if _, ok := out["session_duration"]; !ok {
		out["session_duration"] = "24h"
	}
	if _, ok := out["type"]; !ok {
		out["type"] = "self_hosted"
	}
	if d, _ := out["destinations"].([]any); len(d) == 0 {
		if dom, _ := out["domain"].(string); dom != "" {
			out["destinations"] = []map[string]any{{"type": "public", "uri": dom}}
		}
	}
	pols := make([]map[string]any, 0, len(a.policies))
	for i, p := range a.policies {
		pols = append(pols, map[string]any{
			"id": p, "name": p, "decision": "allow", "precedence": i + 1, "reusable": true,
			"include": []any{}, "exclude": []any{}, "require": []any{},
			"created_at": a.created, "updated_at": a.updated,
		})
	}
	out["policies"] = pols
	return out
}

func (a *accessApp) domain() string {
	d, _ := a.fields["domain"].(string)
	return strings.ToLower(d)
}

func accessNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 12130, "access.api.error.not_found")
}

// decodeAccessBody splits a body into client fields (nulls and empty
// strings dropped, since the client always sends its zero values) and the
// policy id list (nil when absent, meaning "keep" on update).
func decodeAccessBody(r *http.Request) (map[string]any, *[]string, *apiError) {
	var body map[string]any
	if aerr := decodeBody(r, &body); aerr != nil {
		return nil, nil, aerr
	}
	var pols *[]string
	if raw, ok := body["policies"].([]any); ok {
		ps := make([]string, 0, len(raw))
		for _, p := range raw {
			switch v := p.(type) {
			case string:
				ps = append(ps, v)
			case map[string]any:
				id, _ := v["id"].(string)
				ps = append(ps, id)
			}
		}
		pols = &ps
	}
	for k, v := range body {
		if v == nil || v == "" || slices.Contains(serverOwned, k) {
			delete(body, k)
		}
	}
	return body, pols, nil
}

func (s *Server) checkAccessDomain(a *account, app *accessApp) *apiError {
	d := app.domain()
	if d == "" {
		return nil
	}
	for _, o := range a.apps {
		if o.id != app.id && o.domain() == d {
			return newAPIError(http.StatusConflict, 11010, "access.api.error.application_already_exists")
		}
	}
	return nil
}

func (s *Server) createAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	fields, pols, aerr := decodeAccessBody(r)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	app := &accessApp{id: newUUID(), aud: newAUD(), fields: fields, created: now, updated: now}
	if pols != nil {
		app.policies = *pols
	}
	if aerr := s.checkAccessDomain(a, app); aerr != nil {
		return aerr
	}
	a.apps = append(a.apps, app)
	writeResult(w, http.StatusCreated, app.json(), nil)
	return nil
}

func (s *Server) findAccessApp(r *http.Request, scope TokenScope) (*account, int, *apiError) {
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return nil, 0, aerr
	}
	id := r.PathValue("id")
	i := slices.IndexFunc(a.apps, func(x *accessApp) bool { return x.id == id || x.aud == id })
	if i < 0 {
		return nil, 0, accessNotFound()
	}
	return a, i, nil
}

func (s *Server) getAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessApp(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, a.apps[i].json(), nil)
	return nil
}

// updateAccessApp is a PUT and, like the real API, replaces the app: the
// body's fields become the app's fields and anything absent returns to its
// default (session_duration "24h", type self_hosted, no allowed_idps, ...).
// Only policies are kept when absent: cloudflare-go documents a nil
// Policies as "existing policies will not be modified".
func (s *Server) updateAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	fields, pols, aerr := decodeAccessBody(r)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessApp(r, scope)
	if aerr != nil {
		return aerr
	}
	cur := a.apps[i]
	next := &accessApp{id: cur.id, aud: cur.aud, fields: fields, policies: cur.policies,
		created: cur.created, updated: s.now()}
	if pols != nil {
		next.policies = *pols
	}
	if aerr := s.checkAccessDomain(a, next); aerr != nil {
		return aerr
	}
	a.apps[i] = next
	writeResult(w, http.StatusOK, next.json(), nil)
	return nil
}

func (s *Server) deleteAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessApp(r, scope)
	if aerr != nil {
		return aerr
	}
	id := a.apps[i].id
	a.apps = slices.Delete(a.apps, i, i+1)
	writeResult(w, http.StatusAccepted, map[string]string{"id": id}, nil)
	return nil
}

func (s *Server) listAccessApps(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	start, end, info := pageWindow(r, len(a.apps), 25, 1000)
	res := make([]map[string]any, 0, end-start)
	for _, app := range a.apps[start:end] {
		res = append(res, app.json())
	}
	writeResult(w, http.StatusOK, res, info)
	return nil
}

// newAUD returns a 64-hex-character audience tag.
func newAUD() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
