package cloudflare

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// accessPolicy is an account-level reusable Access policy. The client's
// fields are kept as sent (rules, approval groups, connection rules), so
// every field round-trips without the emulator modelling its insides;
// what the API checks is checked on the way in.
type accessPolicy struct {
	id               string
	fields           map[string]any
	created, updated time.Time
}

// accessPolicyOwned keys are the server's, never taken from a body.
var accessPolicyOwned = []string{"id", "created_at", "updated_at", "reusable", "app_count", "precedence"}

// accessPolicyDecisions are the values decision takes.
var accessPolicyDecisions = []string{"allow", "deny", "non_identity", "bypass"}

// json renders the policy as the API answers: absent flags false, an
// absent session 24h, absent lists [], and app_count, the applications
// of the account that list it.
func (p *accessPolicy) json(a *account) map[string]any {
	out := make(map[string]any, len(p.fields)+12)
	for _, k := range []string{"isolation_required", "purpose_justification_required", "approval_required"} {
		out[k] = false
	}
	out["session_duration"] = "24h"
	for k, v := range p.fields {
		out[k] = v
	}
	for _, k := range []string{"include", "exclude", "require", "approval_groups"} {
		if l, _ := out[k].([]any); l == nil {
			out[k] = []any{}
		}
	}
	out["id"], out["reusable"], out["app_count"] = p.id, true, a.appsUsingPolicy(p.id)
	out["created_at"], out["updated_at"] = p.created, p.updated
	return out
}

// appsUsingPolicy counts the account's applications that list policy id.
func (a *account) appsUsingPolicy(id string) int {
	n := 0
	for _, app := range a.apps {
		if slices.Contains(app.policies, id) {
			n++
		}
	}
	return n
}

func accessPolicyNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 12130, "access.api.error.not_found")
}

// decodeAccessPolicy reads and validates a create or update body: a name,
// a known decision, at least one include rule, rule lists shaped like a
// group's, a Go duration as session_duration, and approval groups when
// approval is required. Nulls are dropped (cloudflare-go sends a nil
// approval_groups as null).
func decodeAccessPolicy(r *http.Request) (map[string]any, *apiError) {
	var body map[string]any
	if aerr := decodeBody(r, &body); aerr != nil {
		return nil, aerr
	}
	for k, v := range body {
		if v == nil || slices.Contains(accessPolicyOwned, k) {
			delete(body, k)
		}
	}
	name, _ := body["name"].(string)
	if strings.TrimSpace(name) == "" {
		return nil, accessInvalid("name is required")
	}
	if d, _ := body["decision"].(string); !slices.Contains(accessPolicyDecisions, d) {
		return nil, accessInvalid("unrecognized policy decision " + strconv.Quote(d))
	}
	rules := map[string][]any{}
	for _, k := range []string{"include", "exclude", "require"} {
		v, ok := body[k]
		if !ok {
			continue
		}
		l, isList := v.([]any)
		if !isList {
			return nil, accessInvalid(k + " must be a list of rules")
		}
		rules[k] = l
	}
	if len(rules["include"]) == 0 {
		return nil, accessInvalid("include must contain at least one rule")
	}
	for _, k := range []string{"include", "exclude", "require"} {
		if aerr := checkAccessRules(k, rules[k]); aerr != nil {
			return nil, aerr
		}
	}
	if v, ok := body["session_duration"]; ok {
		sd, _ := v.(string)
		if d, err := time.ParseDuration(sd); err != nil || d < 0 {
			return nil, accessInvalid("session_duration must be a duration such as 24h")
		}
	}
	for _, k := range []string{"isolation_required", "purpose_justification_required", "approval_required"} {
		if v, ok := body[k]; ok {
			if _, isBool := v.(bool); !isBool {
				return nil, accessInvalid(k + " must be a boolean")
			}
		}
	}
	if body["approval_required"] == true {
		gs, _ := body["approval_groups"].([]any)
		if len(gs) == 0 {
			return nil, accessInvalid("approval_groups must contain at least one group when approval_required is set")
		}
	}
	return body, nil
}

// checkAccessRules refuses a rule that is not an object with one known
// rule type whose value is an object (groups and policies alike).
func checkAccessRules(field string, rules []any) *apiError {
	for _, rule := range rules {
		obj, ok := rule.(map[string]any)
		if !ok || len(obj) != 1 {
			return accessInvalid(field + ": each rule must be an object with one rule type")
		}
		for k, v := range obj {
			if !slices.Contains(accessRuleKeys, k) {
				return accessInvalid(field + ": unknown rule type " + k)
			}
			if _, ok := v.(map[string]any); !ok {
				return accessInvalid(field + ": rule " + k + " must be an object")
			}
		}
	}
	return nil
}

// accessPolicies are the account's reusable Access policies.
var accessPolicies = collection[*accessPolicy]{
	of:       func(a *account) *[]*accessPolicy { return &a.policies },
	id:       func(p *accessPolicy) string { return p.id },
	notFound: func(string) *apiError { return accessPolicyNotFound() },
	answer:   func(a *account, p *accessPolicy) any { return p.json(a) },
	page:     pages(25, 1000),
}

func (s *Server) createAccessPolicy(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	fields, aerr := decodeAccessPolicy(r)
	if aerr != nil {
		return aerr
	}
	return accessPolicies.add(s, w, r, scope, http.StatusCreated, &accessPolicy{fields: fields}, func(_ *account, p *accessPolicy) *apiError {
		now := s.now()
		p.id, p.created, p.updated = newUUID(), now, now
		return nil
	}, nil)
}

func (s *Server) getAccessPolicy(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessPolicies.get(s, w, r, scope)
}

// updateAccessPolicy is a PUT: the body replaces the policy; absent
// fields return to their defaults.
func (s *Server) updateAccessPolicy(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	fields, aerr := decodeAccessPolicy(r)
	if aerr != nil {
		return aerr
	}
	return accessPolicies.replace(s, w, r, scope, &accessPolicy{fields: fields}, func(_ *account, cur, next *accessPolicy) *apiError {
		next.id, next.created, next.updated = cur.id, cur.created, s.now()
		return nil
	})
}

// deleteAccessPolicy refuses a policy that applications still list: they
// must drop it first.
func (s *Server) deleteAccessPolicy(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessPolicies.remove(s, w, r, scope, http.StatusAccepted, func(a *account, p *accessPolicy) *apiError {
		if n := a.appsUsingPolicy(p.id); n > 0 {
			return accessInvalid("policy is in use by " + strconv.Itoa(n) + " application(s); remove it from them first")
		}
		return nil
	}, nil)
}

func (s *Server) listAccessPolicies(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessPolicies.list(s, w, r, scope, nil)
}

// AccessPolicyInfo describes a reusable Access policy as the API answers
// it (JSON field names as keys).
type AccessPolicyInfo struct {
	ID     string
	Name   string
	Fields map[string]any
}

// AccessPolicies returns the account's reusable Access policies in
// creation order.
func (s *Server) AccessPolicies(accountID string) []AccessPolicyInfo {
	return snapshot(s, accountID, accessPolicies, func(a *account, p *accessPolicy) AccessPolicyInfo {
		name, _ := p.fields["name"].(string)
		return AccessPolicyInfo{ID: p.id, Name: name, Fields: p.json(a)}
	})
}

// AccessAppPolicies returns the policy ids Access application id lists,
// in order; nil when there is no such application.
func (s *Server) AccessAppPolicies(accountID, id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	for _, app := range a.apps {
		if app.id == id {
			return slices.Clone(app.policies)
		}
	}
	return nil
}

// policyState is a reusable policy in the state file.
type policyState struct {
	ID      string         `json:"id"`
	Fields  map[string]any `json:"fields"`
	Created time.Time      `json:"created_at"`
	Updated time.Time      `json:"updated_at"`
}

func (a *account) policyStates() []policyState {
	var out []policyState
	for _, p := range a.policies {
		out = append(out, policyState{ID: p.id, Fields: p.fields, Created: p.created, Updated: p.updated})
	}
	return out
}

func (a *account) restorePolicies(ps []policyState) {
	for _, p := range ps {
		a.policies = append(a.policies, &accessPolicy{id: p.ID, fields: p.Fields, created: p.Created, updated: p.Updated})
	}
}
