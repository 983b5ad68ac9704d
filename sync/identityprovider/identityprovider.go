package identityprovider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindAccessIdentityProvider

// maxNameLen bounds spec.name.
const maxNameLen = 255

// Spec is a cloudflare.AccessIdentityProvider fragment (see
// api.AccessIdentityProviderSpec).
type Spec = api.AccessIdentityProviderSpec

// Required are the config fields (in config or secrets) each provider
// type needs, from the API's per-type schemas; the keys are the types the
// API takes.
var Required = map[string][]string{
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

// value types of the config fields.
const (
	tString = iota
	tStrings
	tBool
)

// ConfigFields are the config fields the kind manages (those
// cloudflare-go v0 carried; the kind now sends them through v6's generic
// provider param, see doc.go), with their JSON types.
var ConfigFields = map[string]int{
	"apps_domain": tString, "attributes": tStrings, "auth_url": tString, "authorization_server_id": tString,
	"centrify_account": tString, "centrify_app_id": tString, "certs_url": tString, "claims": tStrings,
	"client_id": tString, "conditional_access_enabled": tBool, "directory_id": tString,
	"email_attribute_name": tString, "email_claim_name": tString, "idp_public_cert": tString,
	"issuer_url": tString, "okta_account": tString, "onelogin_account": tString, "ping_env_id": tString,
	"pkce_enabled": tBool, "redirect_url": tString, "scopes": tStrings, "sign_request": tBool,
	"sso_target_url": tString, "support_groups": tBool, "token_url": tString,
}

// SecretFields are the config fields whose values come from Secrets
// (spec.secrets) and never from the spec itself.
var SecretFields = []string{"api_token", "client_secret"}

// identityUpdateBehaviors are scim_config.identity_update_behavior's values.
var identityUpdateBehaviors = []string{"automatic", "no_action", "reauth"}

// New returns the identity provider kind: one owner per target, Conflicts
// keyed "identityProvider".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "identityProvider", Check: validate, Canonical: Canonical}
}

// Canonical lower-cases the ids and re-encodes each config value without
// spaces, so formatting never shows as a change. It does not validate.
func Canonical(s Spec) Spec {
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
	if len(s.Config) > 0 {
		cfg := make(map[string]json.RawMessage, len(s.Config))
		for k, v := range s.Config {
			var buf bytes.Buffer
			if json.Compact(&buf, v) == nil {
				v = buf.Bytes()
			}
			cfg[k] = slices.Clone(v)
		}
		s.Config = cfg
	} else {
		s.Config = nil
	}
	if len(s.Secrets) > 0 {
		s.Secrets = maps.Clone(s.Secrets)
	} else {
		s.Secrets = nil
	}
	if len(s.ObjectSecrets) > 0 {
		s.ObjectSecrets = maps.Clone(s.ObjectSecrets)
	} else {
		s.ObjectSecrets = nil
	}
	if s.ScimConfig != nil {
		c := *s.ScimConfig
		s.ScimConfig = &c
	}
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	if fe := cfapi.CheckObjectName("spec.name", s.Name, maxNameLen); fe != nil {
		return fe
	}
	required, ok := Required[s.Type]
	if !ok {
		return &api.FieldError{Field: "spec.type", Reason: fmt.Sprintf("%q is not an identity provider type (one of %s)", s.Type, strings.Join(slices.Sorted(maps.Keys(Required)), ", "))}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Config)) {
		if fe := checkConfigValue(k, s.Config[k]); fe != nil {
			return fe
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		field := "spec.secrets." + k
		if !slices.Contains(SecretFields, k) {
			return &api.FieldError{Field: field, Reason: fmt.Sprintf("is not a secret config field (%s); other fields go in config", strings.Join(SecretFields, ", "))}
		}
		ref := s.Secrets[k]
		if fe := ref.Validate(field); fe != nil {
			return fe
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.ObjectSecrets)) {
		field := "spec.objectSecrets." + k
		if !slices.Contains(SecretFields, k) {
			return &api.FieldError{Field: field, Reason: fmt.Sprintf("is not a secret config field (%s); other fields go in config", strings.Join(SecretFields, ", "))}
		}
		if _, ok := s.Secrets[k]; ok {
			return &api.FieldError{Field: field, Reason: "is also in spec.secrets: give each secret in one place"}
		}
		ref := s.ObjectSecrets[k]
		if fe := ref.Validate(field); fe != nil {
			return fe
		}
	}
	for _, k := range required {
		_, inConfig := s.Config[k]
		_, inSecrets := s.Secrets[k]
		_, inObject := s.ObjectSecrets[k]
		if !inConfig && !inSecrets && !inObject {
			where := "config"
			if slices.Contains(SecretFields, k) {
				where = "secrets (a Secret key)"
			}
			return &api.FieldError{Field: "spec.config." + k, Reason: fmt.Sprintf("is required for type %s (give it in %s)", s.Type, where)}
		}
	}
	if sc := s.ScimConfig; sc != nil && sc.IdentityUpdateBehavior != "" && !slices.Contains(identityUpdateBehaviors, sc.IdentityUpdateBehavior) {
		return &api.FieldError{Field: "spec.scimConfig.identityUpdateBehavior", Reason: fmt.Sprintf("%q is not one of %s", sc.IdentityUpdateBehavior, strings.Join(identityUpdateBehaviors, ", "))}
	}
	switch {
	case s.ID != "" && !cfapi.IsUUID(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: fmt.Sprintf("%q is not an identity provider id (a UUID)", s.ID)}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that provider) or takeOver (own the provider a previous controller created), not both"}
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not an identity provider id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

// checkConfigValue checks one config field: known, not a secret, of its
// type. The value itself is never quoted (a secret put in the wrong
// field must not reach an error).
func checkConfigValue(k string, v json.RawMessage) *api.FieldError {
	field := "spec.config." + k
	if slices.Contains(SecretFields, k) {
		return &api.FieldError{Field: field, Reason: "is a secret: name the Secret key holding it in spec.secrets." + k + " instead (a spec is stored in the log)"}
	}
	t, ok := ConfigFields[k]
	if !ok {
		return &api.FieldError{Field: field, Reason: "is not a config field conflux-sync manages (known: " + strings.Join(slices.Sorted(maps.Keys(ConfigFields)), ", ") + ")"}
	}
	switch t {
	case tString:
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return &api.FieldError{Field: field, Reason: "must be a non-empty string"}
		}
	case tStrings:
		var ss []string
		if json.Unmarshal(v, &ss) != nil || slices.Contains(ss, "") {
			return &api.FieldError{Field: field, Reason: "must be a list of non-empty strings"}
		}
	case tBool:
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return &api.FieldError{Field: field, Reason: "must be true or false"}
		}
	}
	return nil
}
