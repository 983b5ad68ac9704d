package cloudflare

import (
	"net/http"
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

// accessGroups are the account's Access groups.
var accessGroups = collection[*accessGroup]{
	of:       func(a *account) *[]*accessGroup { return &a.groups },
	id:       func(g *accessGroup) string { return g.id },
	notFound: func(string) *apiError { return accessGroupNotFound() },
	answer:   func(_ *account, g *accessGroup) any { return g.json() },
	page:     pages(25, 1000),
}

func (s *Server) createAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	g, aerr := decodeAccessGroup(r)
	if aerr != nil {
		return aerr
	}
	return accessGroups.add(s, w, r, scope, http.StatusCreated, g, func(_ *account, g *accessGroup) *apiError {
		now := s.now()
		g.id, g.created, g.updated = newUUID(), now, now
		return nil
	}, nil)
}

func (s *Server) getAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessGroups.get(s, w, r, scope)
}

// updateAccessGroup is a PUT: the body replaces the name and all three
// rule lists (an absent list becomes empty).
func (s *Server) updateAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	next, aerr := decodeAccessGroup(r)
	if aerr != nil {
		return aerr
	}
	return accessGroups.replace(s, w, r, scope, next, func(_ *account, cur, next *accessGroup) *apiError {
		next.id, next.created, next.updated = cur.id, cur.created, s.now()
		return nil
	})
}

func (s *Server) deleteAccessGroup(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessGroups.remove(s, w, r, scope, http.StatusAccepted, nil, nil)
}

func (s *Server) listAccessGroups(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessGroups.list(s, w, r, scope, nil)
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
	return snapshot(s, accountID, accessGroups, func(_ *account, g *accessGroup) AccessGroupInfo {
		return AccessGroupInfo{ID: g.id, Name: g.name,
			Include: orNoRules(g.include), Exclude: orNoRules(g.exclude), Require: orNoRules(g.require)}
	})
}
