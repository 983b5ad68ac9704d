package cloudflare

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// accessGroup is an account-level Access group. Rules are kept as the
// client sent them (each an object with one rule key), so every rule type
// round-trips without the emulator modelling its fields.
type accessGroup struct {
	id                        string
	name                      string
	include, exclude, require []any
	created, updated          time.Time
}

// accessRuleKeys are the rule types the Access API accepts.
var accessRuleKeys = []string{
	"any_valid_service_token", "auth_context", "auth_method", "azureAD",
	"certificate", "common_name", "device_posture", "email", "email_domain",
	"email_list", "everyone", "external_evaluation", "geo",
	"github-organization", "group", "gsuite", "ip", "ip_list",
	"linked_app_token", "login_method", "oidc", "okta", "saml",
	"service_token",
}

func (g *accessGroup) json() map[string]any {
	return map[string]any{
		"id": g.id, "name": g.name,
		"include": orNoRules(g.include), "exclude": orNoRules(g.exclude), "require": orNoRules(g.require),
		"created_at": g.created, "updated_at": g.updated,
		// Cloudflare's schema types is_default in answers as a rule list
		// (requests take a boolean); a group that is not the account's
		// default has none.
		"is_default": []any{},
	}
}

func orNoRules(r []any) []any {
	if r == nil {
		return []any{}
	}
	return r
}

func accessGroupNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 12130, "access.api.error.not_found")
}

func accessInvalid(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, 12130, "access.api.error.invalid_request: "+msg)
}

// decodeAccessGroup reads and validates a create or update body: a name,
// at least one include rule, and rule lists of objects with exactly one
// known rule key whose value is an object.
func decodeAccessGroup(r *http.Request) (*accessGroup, *apiError) {
	var body struct {
		Name    string `json:"name"`
		Include []any  `json:"include"`
		Exclude []any  `json:"exclude"`
		Require []any  `json:"require"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return nil, aerr
	}
	if strings.TrimSpace(body.Name) == "" {
		return nil, accessInvalid("name is required")
	}
	if len(body.Include) == 0 {
		return nil, accessInvalid("include must contain at least one rule")
	}
	for _, l := range []struct {
		field string
		rules []any
	}{{"include", body.Include}, {"exclude", body.Exclude}, {"require", body.Require}} {
		if aerr := checkAccessRules(l.field, l.rules); aerr != nil {
			return nil, aerr
		}
	}
	return &accessGroup{name: body.Name, include: body.Include, exclude: body.Exclude, require: body.Require}, nil
}

func (s *Server) createAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	g, aerr := decodeAccessGroup(r)
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
	g.id, g.created, g.updated = newUUID(), now, now
	a.groups = append(a.groups, g)
	writeResult(w, http.StatusCreated, g.json(), nil)
	return nil
}

func (s *Server) findAccessGroup(r *http.Request, scope TokenScope) (*account, int, *apiError) {
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return nil, 0, aerr
	}
	id := r.PathValue("id")
	i := slices.IndexFunc(a.groups, func(x *accessGroup) bool { return x.id == id })
	if i < 0 {
		return nil, 0, accessGroupNotFound()
	}
	return a, i, nil
}

func (s *Server) getAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessGroup(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, a.groups[i].json(), nil)
	return nil
}

// updateAccessGroup is a PUT: the body replaces the name and all three
// rule lists (an absent list becomes empty).
func (s *Server) updateAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	next, aerr := decodeAccessGroup(r)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessGroup(r, scope)
	if aerr != nil {
		return aerr
	}
	cur := a.groups[i]
	next.id, next.created, next.updated = cur.id, cur.created, s.now()
	a.groups[i] = next
	writeResult(w, http.StatusOK, next.json(), nil)
	return nil
}

func (s *Server) deleteAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := s.findAccessGroup(r, scope)
	if aerr != nil {
		return aerr
	}
	id := a.groups[i].id
	a.groups = slices.Delete(a.groups, i, i+1)
	writeResult(w, http.StatusAccepted, map[string]string{"id": id}, nil)
	return nil
}

func (s *Server) listAccessGroups(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	start, end, info := pageWindow(r, len(a.groups), 25, 1000)
	res := make([]map[string]any, 0, end-start)
	for _, g := range a.groups[start:end] {
		res = append(res, g.json())
	}
	writeResult(w, http.StatusOK, res, info)
	return nil
}

// AccessGroupInfo describes an Access group; rules are as the API
// answers them.
type AccessGroupInfo struct {
	ID                        string
	Name                      string
	Include, Exclude, Require []any
}

// AccessGroups returns the account's Access groups in creation order.
func (s *Server) AccessGroups(accountID string) []AccessGroupInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	out := make([]AccessGroupInfo, 0, len(a.groups))
	for _, g := range a.groups {
		out = append(out, AccessGroupInfo{ID: g.id, Name: g.name,
			Include: orNoRules(g.include), Exclude: orNoRules(g.exclude), Require: orNoRules(g.require)})
	}
	return out
}
