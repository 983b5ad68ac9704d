package cloudflare

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// identityProvider is an account-level Access identity provider. Its
// config is kept as the client sent it; the secret fields are answered
// redacted, as the API does.
type identityProvider struct {
	id, name, kind   string
	config           map[string]any
	scim             map[string]any
	created, updated time.Time
}

// idpRequired are the config fields each provider type needs (from the
// API's per-type schemas); onetimepin needs none.
var idpRequired = map[string][]string{
	"onetimepin":  nil,
	"azureAD":     {"client_id", "client_secret", "directory_id"},
	"saml":        {"issuer_url", "sso_target_url"},
	"centrify":    {"client_id", "client_secret", "centrify_account", "centrify_app_id"},
	"facebook":    {"client_id", "client_secret"},
	"github":      {"client_id", "client_secret"},
	"google":      {"client_id", "client_secret"},
	"google-apps": {"client_id", "client_secret", "apps_domain"},
	"linkedin":    {"client_id", "client_secret"},
	"oidc":        {"client_id", "client_secret", "auth_url", "token_url", "certs_url"},
	"okta":        {"client_id", "client_secret", "okta_account"},
	"onelogin":    {"client_id", "client_secret", "onelogin_account"},
	"pingone":     {"client_id", "client_secret", "ping_env_id"},
	"yandex":      {"client_id", "client_secret"},
}

// idpConfigKeys are the config fields the API takes.
var idpConfigKeys = []string{
	"api_token", "apps_domain", "attributes", "auth_url", "authorization_server_id", "centrify_account",
	"centrify_app_id", "certs_url", "claims", "client_id", "client_secret", "conditional_access_enabled",
	"directory_id", "email_attribute_name", "email_claim_name", "header_attributes", "idp_public_cert",
	"issuer_url", "okta_account", "onelogin_account", "ping_env_id", "pkce_enabled", "prompt", "redirect_url",
	"scopes", "sign_request", "sso_target_url", "support_groups", "token_url",
}

// idpSecretKeys are the config fields answered redacted.
var idpSecretKeys = []string{"client_secret", "api_token"}

// redacted is how a secret config field is answered (chosen here: the
// API answers a mask, never the value).
const redacted = "**********"

func (p *identityProvider) json() map[string]any {
	cfg := make(map[string]any, len(p.config))
	for k, v := range p.config {
		if slices.Contains(idpSecretKeys, k) {
			v = redacted
		}
		cfg[k] = v
	}
	// scim_config is answered whole, with the API's defaults for what was
	// not set; its base URL is the provider's SCIM endpoint. The secret is
	// answered only when Cloudflare generates it, which is not modelled.
	scim := map[string]any{
		"enabled": false, "user_deprovision": false, "seat_deprovision": false,
		"identity_update_behavior": "no_action",
		"scim_base_url":            "https://scim.cloudflareaccess.com/providers/" + p.id + "/scim/v2",
	}
	for k, v := range p.scim {
		scim[k] = v
	}
	return map[string]any{"id": p.id, "name": p.name, "type": p.kind, "config": cfg, "scim_config": scim,
		"created_at": p.created, "updated_at": p.updated}
}

func identityProviderNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 12130, "access.api.error.identity_provider_not_found")
}

// decodeIdentityProvider reads and validates a create or update body.
func decodeIdentityProvider(r *http.Request) (*identityProvider, *apiError) {
	var body struct {
		Name   string         `json:"name"`
		Type   string         `json:"type"`
		Config map[string]any `json:"config"`
		Scim   map[string]any `json:"scim_config"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return nil, aerr
	}
	if strings.TrimSpace(body.Name) == "" {
		return nil, accessInvalid("name is required")
	}
	required, ok := idpRequired[body.Type]
	if !ok {
		return nil, accessInvalid("type " + body.Type + " is not an identity provider type")
	}
	for k := range body.Config {
		if !slices.Contains(idpConfigKeys, k) {
			return nil, accessInvalid("config." + k + " is not a config field")
		}
	}
	for _, k := range required {
		if v, ok := body.Config[k]; !ok || v == "" || v == nil {
			return nil, accessInvalid("config." + k + " is required for type " + body.Type)
		}
	}
	if b, ok := body.Scim["identity_update_behavior"]; ok && !slices.Contains([]any{"automatic", "reauth", "no_action", ""}, b) {
		return nil, accessInvalid("scim_config.identity_update_behavior must be automatic, reauth or no_action")
	}
	return &identityProvider{name: body.Name, kind: body.Type, config: body.Config, scim: body.Scim}, nil
}

// otpTaken reports whether a, other than except, has a one-time PIN
// provider: an account has one at most.
func (a *account) otpTaken(except string) bool {
	return slices.ContainsFunc(a.idps, func(p *identityProvider) bool { return p.kind == "onetimepin" && p.id != except })
}

// identityProviders are the account's Access identity providers.
var identityProviders = collection[*identityProvider]{
	of:       func(a *account) *[]*identityProvider { return &a.idps },
	id:       func(p *identityProvider) string { return p.id },
	notFound: func(string) *apiError { return identityProviderNotFound() },
	answer:   func(_ *account, p *identityProvider) any { return p.json() },
	page:     pages(25, 1000),
}

func (s *Server) createIdentityProvider(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	p, aerr := decodeIdentityProvider(r)
	if aerr != nil {
		return aerr
	}
	return identityProviders.add(s, w, r, scope, http.StatusCreated, p, func(a *account, p *identityProvider) *apiError {
		if p.kind == "onetimepin" && a.otpTaken("") {
			return accessInvalid("the account already has a onetimepin identity provider")
		}
		now := s.now()
		p.id, p.created, p.updated = newUUID(), now, now
		return nil
	}, nil)
}

func (s *Server) getIdentityProvider(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return identityProviders.get(s, w, r, scope)
}

// updateIdentityProvider is a PUT: name, type, config and scim_config are
// replaced; a secret config field sent as the redaction mask keeps its
// value (what a client that read the provider sends back).
func (s *Server) updateIdentityProvider(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	next, aerr := decodeIdentityProvider(r)
	if aerr != nil {
		return aerr
	}
	return identityProviders.replace(s, w, r, scope, next, func(a *account, cur, next *identityProvider) *apiError {
		if next.kind == "onetimepin" && a.otpTaken(cur.id) {
			return accessInvalid("the account already has a onetimepin identity provider")
		}
		for _, k := range idpSecretKeys {
			if next.config[k] == redacted {
				next.config[k] = cur.config[k]
			}
		}
		next.id, next.created, next.updated = cur.id, cur.created, s.now()
		return nil
	})
}

func (s *Server) deleteIdentityProvider(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return identityProviders.remove(s, w, r, scope, http.StatusOK, nil, nil)
}

func (s *Server) listIdentityProviders(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return identityProviders.list(s, w, r, scope, nil)
}

// IdentityProviderInfo describes an Access identity provider; Config
// holds the secret fields in clear (for tests checking what was written).
type IdentityProviderInfo struct {
	ID, Name, Type string
	Config         map[string]any
	Scim           map[string]any
}

// IdentityProviders returns the account's identity providers in creation
// order.
func (s *Server) IdentityProviders(accountID string) []IdentityProviderInfo {
	return snapshot(s, accountID, identityProviders, func(_ *account, p *identityProvider) IdentityProviderInfo {
		cfg := make(map[string]any, len(p.config))
		for k, v := range p.config {
			cfg[k] = v
		}
		return IdentityProviderInfo{ID: p.id, Name: p.name, Type: p.kind, Config: cfg, Scim: p.scim}
	})
}
