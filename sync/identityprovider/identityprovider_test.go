package identityprovider

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "github"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "idp"}
	const secret = `"secrets":{"client_secret":{"namespace":"infra","name":"github-oauth","key":"secret"}}`
	const objRef = `{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","kind":"AccessIdentityProvider","name":"gh","field":"spec.config.clientSecret","generation":2}`
	const objSecret = `"objectSecrets":{"client_secret":` + objRef + `}`
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"one-time PIN", `{"name":"PIN","type":"onetimepin"}`, "", ""},
		{"github", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},` + secret + `}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"OIDC","type":"oidc","config":{"client_id":"abc","auth_url":"https://idp/auth","token_url":"https://idp/token",` +
			`"certs_url":"https://idp/certs","scopes":["openid","email"],"claims":["groups"],"pkce_enabled":true,"email_claim_name":"mail"},` + secret + `,` +
			`"scimConfig":{"enabled":true,"userDeprovision":true,"seatDeprovision":true,"groupMemberDeprovision":true,"identityUpdateBehavior":"reauth"},` +
			`"adopt":true,"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"by id", `{"name":"PIN","type":"onetimepin","id":"` + strings.ToUpper(uuid1) + `"}`, "", ""},
		{"take over", `{"name":"PIN","type":"onetimepin","takeOver":"` + uuid1 + `"}`, "", ""},
		{"unknown field", `{"name":"PIN","type":"onetimepin","clientSecret":"x"}`, "spec.clientSecret", "unknown field"},
		{"no name", `{"type":"onetimepin"}`, "spec.name", "required"},
		{"unknown type", `{"name":"LDAP","type":"ldap"}`, "spec.type", `"ldap" is not an identity provider type`},
		{"secret inline", `{"name":"GitHub","type":"github","config":{"client_id":"abc","client_secret":"hunter2"}}`, "spec.config.client_secret", "is a secret"},
		{"unknown config field", `{"name":"GitHub","type":"github","config":{"client_id":"abc","colour":"blue"},` + secret + `}`, "spec.config.colour", "not a config field"},
		{"config not a string", `{"name":"GitHub","type":"github","config":{"client_id":1},` + secret + `}`, "spec.config.client_id", "non-empty string"},
		{"config not a list", `{"name":"OIDC","type":"github","config":{"client_id":"a","scopes":"openid"},` + secret + `}`, "spec.config.scopes", "list"},
		{"config not a bool", `{"name":"OIDC","type":"github","config":{"client_id":"a","pkce_enabled":"yes"},` + secret + `}`, "spec.config.pkce_enabled", "true or false"},
		{"required config", `{"name":"GitHub","type":"github",` + secret + `}`, "spec.config.client_id", "required for type github (give it in config)"},
		{"required secret", `{"name":"GitHub","type":"github","config":{"client_id":"abc"}}`, "spec.config.client_secret", "give it in secrets"},
		{"oidc urls", `{"name":"OIDC","type":"oidc","config":{"client_id":"abc"},` + secret + `}`, "spec.config.auth_url", "required for type oidc"},
		{"secret not a secret field", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"secrets":{"client_id":{"namespace":"a","name":"b","key":"c"}}}`, "spec.secrets.client_id", "not a secret config field"},
		{"secret ref incomplete", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"secrets":{"client_secret":{"namespace":"a","name":"b"}}}`, "spec.secrets.client_secret.key", "required"},
		{"secret inline in an object", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},` + objSecret + `}`, "", ""},
		{"object secret not a secret field", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},` + secret + `,"objectSecrets":{"client_id":` + objRef + `}}`, "spec.objectSecrets.client_id", "not a secret config field"},
		{"secret in both places", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},` + secret + `,` + objSecret + `}`, "spec.objectSecrets.client_secret", "also in spec.secrets"},
		{"object secret outside spec", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"objectSecrets":{"client_secret":` +
			`{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","kind":"AccessIdentityProvider","name":"gh","field":"status.secret"}}}`, "spec.objectSecrets.client_secret.field", "under spec"},
		{"object secret without kind", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"objectSecrets":{"client_secret":` +
			`{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","name":"gh","field":"spec.config.clientSecret"}}}`, "spec.objectSecrets.client_secret.kind", "required"},
		{"object secret bad apiVersion", `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"objectSecrets":{"client_secret":` +
			`{"apiVersion":"a/b/c","kind":"AccessIdentityProvider","name":"gh","field":"spec.config.clientSecret"}}}`, "spec.objectSecrets.client_secret.apiVersion", "group/version"},
		{"scim behaviour", `{"name":"PIN","type":"onetimepin","scimConfig":{"identityUpdateBehavior":"sometimes"}}`, "spec.scimConfig.identityUpdateBehavior", "not one of"},
		{"bad id", `{"name":"PIN","type":"onetimepin","id":"pin"}`, "spec.id", "UUID"},
		{"id and take over", `{"name":"PIN","type":"onetimepin","id":"` + uuid1 + `","takeOver":"` + uuid1 + `"}`, "spec.takeOver", "not both"},
		{"credentials without account", `{"name":"PIN","type":"onetimepin","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Validate(testTarget, src, json.RawMessage(tt.spec))
			kindtest.CheckValidation(t, err, tt.field, tt.reason)
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error quotes the secret: %v", err)
			}
		})
	}
}

// Config values are canonical whatever their formatting.
func TestAggregate(t *testing.T) {
	frag := func(spec string) []api.Fragment {
		return []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "a"}, CreateIndex: 1, Spec: json.RawMessage(spec)}}
	}
	r1, err := New().Aggregate(testTarget, frag(`{"name":"OIDC","type":"onetimepin","config":{"scopes":[ "openid",  "email" ]}}`))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, frag(`{"config":{"scopes":["openid","email"]},"type":"onetimepin","name":"OIDC"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r1.Desired, r2.Desired) {
		t.Fatalf("%s != %s", r1.Desired, r2.Desired)
	}
}
