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
	// saas is what the server generated for a saas application's
	// saas_app; it survives PUTs that keep the type and auth_type.
	saas map[string]any
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
	if _, ok := out["type"]; !ok {
		out["type"] = "self_hosted"
	}
	typ, _ := out["type"].(string)
	defaults := appDefaults
	if selfHostedSchema(typ) {
		defaults = selfHostedDefaults
		if d, _ := out["destinations"].([]any); len(d) == 0 {
			if dom, _ := out["domain"].(string); dom != "" {
				out["destinations"] = []map[string]any{{"type": "public", "uri": dom}}
			}
		}
	}
	for k, v := range defaults {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	// Lists the API answers empty rather than leaving out.
	for _, k := range []string{"allowed_idps", "tags"} {
		if _, ok := out[k]; !ok {
			out[k] = []any{}
		}
	}
	if selfHostedSchema(typ) {
		if _, ok := out["custom_pages"]; !ok {
			out["custom_pages"] = []any{}
		}
		// The deprecated self_hosted_domains is still answered: the
		// public destinations' hostnames.
		if _, ok := out["self_hosted_domains"]; !ok {
			domains := []any{}
			if ds, ok := out["destinations"].([]map[string]any); ok {
				for _, d := range ds {
					if d["type"] == "public" {
						domains = append(domains, d["uri"])
					}
				}
			} else if ds, ok := out["destinations"].([]any); ok {
				for _, d := range ds {
					if dm, _ := d.(map[string]any); dm != nil && (dm["type"] == "public" || dm["type"] == nil) && dm["uri"] != nil {
						domains = append(domains, dm["uri"])
					}
				}
			}
			out["self_hosted_domains"] = domains
		}
	}
	if sa, ok := out["saas_app"].(map[string]any); ok {
		merged := make(map[string]any, len(sa)+len(a.saas))
		for k, v := range sa {
			merged[k] = v
		}
		for k, v := range a.saas {
			merged[k] = v
		}
		out["saas_app"] = merged
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
	if t, _ := a.fields["type"].(string); t == "saas" {
		return "" // assigned by the server, unique
	}
	d, _ := a.fields["domain"].(string)
	return strings.ToLower(d)
}

// The API's defaults for what a body leaves out, per schema.
var (
	appDefaults = map[string]any{
		"app_launcher_visible": true, "auto_redirect_to_identity": false,
	}
	selfHostedDefaults = map[string]any{
		"session_duration": "24h", "app_launcher_visible": true, "auto_redirect_to_identity": false,
		"enable_binding_cookie": false, "http_only_cookie_attribute": true, "options_preflight_bypass": false,
		"service_auth_401_redirect": false, "skip_interstitial": false, "path_cookie_attribute": false,
	}
	appTypes = []string{"self_hosted", "saas", "ssh", "vnc", "app_launcher", "warp", "biso", "bookmark", "dash_sso", "infrastructure"}
	// selfHostedOnly are the fields of the self-hosted schema (self_hosted,
	// ssh, vnc) that the saas and bookmark schemas do not have.
	selfHostedOnly = []string{"session_duration", "destinations", "self_hosted_domains", "custom_deny_message", "custom_deny_url",
		"custom_non_identity_deny_url", "enable_binding_cookie", "http_only_cookie_attribute", "same_site_cookie_attribute",
		"path_cookie_attribute", "options_preflight_bypass", "service_auth_401_redirect", "skip_interstitial",
		"allow_authenticate_via_warp", "cors_headers"}
	// saasGenerated are the saas_app fields the server owns.
	saasGenerated = []string{"client_id", "client_secret", "public_key", "idp_entity_id", "sso_endpoint", "created_at", "updated_at"}
)

func selfHostedSchema(typ string) bool {
	return typ == "" || typ == "self_hosted" || typ == "ssh" || typ == "vnc"
}

// checkAppFields refuses what the API refuses: an unknown type, a
// self-hosted application without a domain (or public destination), a
// self-hosted setting on a saas or bookmark application, saas_app on
// another type or without a known auth_type, options_preflight_bypass
// with cors_headers, an unknown same_site_cookie_attribute. It fills in
// the domain from the first public destination and the SAML
// name_id_format default.
func checkAppFields(f map[string]any) *apiError {
	typ, _ := f["type"].(string)
	if typ != "" && !slices.Contains(appTypes, typ) {
		return accessInvalid("type " + typ + " is not a valid application type")
	}
	if selfHostedSchema(typ) {
		if _, ok := f["domain"]; !ok {
			ds, _ := f["destinations"].([]any)
			for _, d := range ds {
				if m, _ := d.(map[string]any); m["type"] == "public" {
					if uri, _ := m["uri"].(string); uri != "" {
						f["domain"] = uri
						break
					}
				}
			}
		}
		if _, ok := f["domain"]; !ok {
			return accessInvalid("domain is required for " + cmpOr(typ, "self_hosted") + " applications")
		}
	} else if typ == "saas" || typ == "bookmark" {
		for _, k := range selfHostedOnly {
			if v, ok := f[k]; ok && v != false {
				return accessInvalid(k + " is not allowed for " + typ + " applications")
			}
			delete(f, k) // a false default the client always sends
		}
	}
	sa, hasSaaS := f["saas_app"].(map[string]any)
	switch {
	case typ == "saas" && !hasSaaS:
		return accessInvalid("saas_app is required for saas applications")
	case typ != "saas" && f["saas_app"] != nil:
		return accessInvalid("saas_app is only allowed for saas applications")
	case hasSaaS:
		for k, v := range sa {
			if v == nil || v == "" || slices.Contains(saasGenerated, k) {
				delete(sa, k)
			}
		}
		switch sa["auth_type"] {
		case nil:
			sa["auth_type"] = "saml"
		case "saml", "oidc":
		default:
			return accessInvalid("saas_app.auth_type must be saml or oidc")
		}
		if _, ok := sa["name_id_format"]; !ok && sa["auth_type"] == "saml" {
			sa["name_id_format"] = "email"
		}
	}
	if f["options_preflight_bypass"] == true && f["cors_headers"] != nil {
		return accessInvalid("options_preflight_bypass cannot be set with cors_headers")
	}
	if v, ok := f["same_site_cookie_attribute"]; ok && v != "strict" && v != "lax" && v != "none" {
		return accessInvalid("same_site_cookie_attribute must be strict, lax or none")
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// generateSaaS fills in what the server owns of a saas application:
// kept from prev while the auth_type stays, else made anew (an OIDC
// client id and secret; a SAML entity id, SSO endpoint and public key).
// The domain of a saas application is the server's too.
func generateSaaS(account string, app *accessApp, prev *accessApp) {
	sa, ok := app.fields["saas_app"].(map[string]any)
	if !ok {
		return
	}
	auth, _ := sa["auth_type"].(string)
	if prev != nil && prev.saas != nil && prev.saas["auth_type"] == auth {
		app.saas = prev.saas
	} else {
		team := "https://" + account + ".cloudflareaccess.com"
		app.saas = map[string]any{"auth_type": auth}
		if auth == "oidc" {
			app.saas["client_id"], app.saas["client_secret"] = newAUD(), newAUD()
		} else {
			app.saas["idp_entity_id"] = team
			app.saas["sso_endpoint"] = team + "/cdn-cgi/access/sso/saml/" + app.aud
			app.saas["public_key"] = newAUD() + newAUD()
		}
	}
	app.fields["domain"] = account + ".cloudflareaccess.com/cdn-cgi/access/sso/" + auth + "/" + app.id
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

// accessApps are the account's Access applications; {id} may also be an
// application's aud, as the API takes either.
var accessApps = collection[*accessApp]{
	of:       func(a *account) *[]*accessApp { return &a.apps },
	id:       func(app *accessApp) string { return app.id },
	matches:  func(app *accessApp, id string) bool { return app.id == id || app.aud == id },
	notFound: func(string) *apiError { return accessNotFound() },
	answer:   func(_ *account, app *accessApp) any { return app.json() },
	page:     pages(25, 1000),
}

func (s *Server) createAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	fields, pols, aerr := decodeAccessBody(r)
	if aerr != nil {
		return aerr
	}
	return accessApps.add(s, w, r, scope, http.StatusCreated, &accessApp{fields: fields}, func(a *account, app *accessApp) *apiError {
		if aerr := checkAppFields(app.fields); aerr != nil {
			return aerr
		}
		now := s.now()
		app.id, app.aud, app.created, app.updated = newUUID(), newAUD(), now, now
		if pols != nil {
			app.policies = *pols
		}
		generateSaaS(a.id, app, nil)
		return s.checkAccessDomain(a, app)
	}, nil)
}

func (s *Server) getAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessApps.get(s, w, r, scope)
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
	return accessApps.replace(s, w, r, scope, &accessApp{fields: fields}, func(a *account, cur, next *accessApp) *apiError {
		if aerr := checkAppFields(next.fields); aerr != nil {
			return aerr
		}
		next.id, next.aud, next.policies, next.created, next.updated = cur.id, cur.aud, cur.policies, cur.created, s.now()
		if pols != nil {
			next.policies = *pols
		}
		generateSaaS(a.id, next, cur)
		return s.checkAccessDomain(a, next)
	})
}

func (s *Server) deleteAccessApp(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessApps.remove(s, w, r, scope, http.StatusAccepted, nil, nil)
}

func (s *Server) listAccessApps(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return accessApps.list(s, w, r, scope, nil)
}

// newAUD returns a 64-hex-character audience tag.
func newAUD() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
