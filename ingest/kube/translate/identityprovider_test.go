package translate

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func idp(name string, spec v1alpha2.AccessIdentityProviderSpec) *v1alpha2.AccessIdentityProvider {
	return &v1alpha2.AccessIdentityProvider{ObjectMeta: meta("", name, 1), Spec: spec}
}

func TestAccessIdentityProviderHappy(t *testing.T) {
	yes := true
	taken := idp("sk-otp", v1alpha2.AccessIdentityProviderSpec{Type: "onetimepin", Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}})
	taken.Status.ProviderID = "0B7C1F0E-1111-4222-8333-444455556666"
	runRecCases(t, []recCase{
		{
			// Mirrors StringKe's identity-provider example #4 (one-time PIN):
			// type, name, cloudflare.{accountId, secret}; the provider it
			// recorded is taken over.
			name: "one-time PIN, the object's name, taken over", source: "AccessIdentityProvider", obj: "sk-otp",
			run: func(f *fake) Result { return AccessIdentityProvider(taken, f, opts) },
			want: `cloudflare.AccessIdentityProvider AccessIdentityProvider/sk-otp 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"sk-otp","type":"onetimepin","takeOver":"0b7c1f0e-1111-4222-8333-444455556666","credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
		},
		{
			// Mirrors StringKe's docs (custom-oidc) with the client secret in
			// a Secret: config in the API's names, SCIM settings.
			name: "OIDC with configSecretRef", source: "AccessIdentityProvider", obj: "oidc",
			run: func(f *fake) Result {
				return AccessIdentityProvider(idp("oidc", v1alpha2.AccessIdentityProviderSpec{Name: "Custom OIDC", Type: "oidc",
					Config: &v1alpha2.IdentityProviderConfig{ClientID: "client", AuthURL: "https://idp/auth", TokenURL: "https://idp/token", CertsURL: "https://idp/jwks",
						Claims: []string{"email", "groups"}, Scopes: []string{"openid", "email"}, PKCEEnabled: &yes},
					ConfigSecretRef: &v1alpha2.SecretKeySelector{Name: "cf", Key: "other", Namespace: "default"},
					ScimConfig:      &v1alpha2.IdentityProviderScimConfig{Enabled: &yes, UserDeprovision: &yes, IdentityUpdateBehavior: "reauth"},
					Cloudflare:      v1alpha2.CloudflareDetails{AccountID: acct1, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}}), f, opts)
			},
			want: `cloudflare.AccessIdentityProvider AccessIdentityProvider/oidc 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"Custom OIDC","type":"oidc","config":{"auth_url":"https://idp/auth","certs_url":"https://idp/jwks","claims":["email","groups"],"client_id":"client","pkce_enabled":true,"scopes":["openid","email"],"token_url":"https://idp/token"},"secrets":{"client_secret":{"namespace":"default","name":"cf","key":"other"}},"scimConfig":{"enabled":true,"userDeprovision":true,"identityUpdateBehavior":"reauth"},"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
		},
	})
}

func TestAccessIdentityProviderProblems(t *testing.T) {
	creds := v1alpha2.CloudflareDetails{AccountID: acct1, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}
	for _, tc := range []struct {
		name string
		spec v1alpha2.AccessIdentityProviderSpec
		want string
	}{
		{"SAML header attributes", v1alpha2.AccessIdentityProviderSpec{Type: "saml", Config: &v1alpha2.IdentityProviderConfig{HeaderAttributes: []v1alpha2.SAMLHeaderAttribute{{AttributeName: "a", HeaderName: "h"}}}, Cloudflare: creds},
			"spec.config.headerAttributes: is not synced yet"},
		{"Secret missing", v1alpha2.AccessIdentityProviderSpec{Type: "github", ConfigSecretRef: &v1alpha2.SecretKeySelector{Name: "nope", Key: "k"}, Cloudflare: creds},
			"spec.configSecretRef: Secret conflux/nope not found"},
		{"key missing", v1alpha2.AccessIdentityProviderSpec{Type: "github", ConfigSecretRef: &v1alpha2.SecretKeySelector{Name: "cf", Key: "k"}, Cloudflare: creds},
			"spec.configSecretRef.key: Secret conflux/cf has no key k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := AccessIdentityProvider(idp("x", tc.spec), newRecordFake(), opts)
			got := problemsString(r.Problems)
			if !r.Managed || len(r.Fragments) != 0 || !strings.Contains(got, tc.want) || strings.Contains(got, "fixture-secret") {
				t.Fatalf("problems:\n%s\nwant %s", got, tc.want)
			}
		})
	}
}

// A secret written inline, as upstream manifests do, is synced by
// reference: the fragment names the object's field and carries the
// object's generation, never the value or anything derived from it; a
// Degraded note recommends configSecretRef.
func TestAccessIdentityProviderInlineSecrets(t *testing.T) {
	creds := v1alpha2.CloudflareDetails{AccountID: acct1, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}
	ref := func(field string, gen int) string {
		return `{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","kind":"AccessIdentityProvider","name":"x","field":"` + field + `","generation":` + strconv.Itoa(gen) + `}`
	}
	for _, tc := range []struct {
		name     string
		spec     v1alpha2.AccessIdentityProviderSpec
		gen      int64
		secrets  string // the spec's objectSecrets as JSON; "" for none
		refs     string // the spec's secrets as JSON; "" for none
		degraded string
		applied  bool // every Degraded note is on a field that is applied
	}{
		{
			// Mirrors StringKe docs/en/api-reference/accessidentityprovider.md
			// (google-workspace): config.clientId and an inline clientSecret.
			name: "inline client secret", gen: 3,
			spec:    v1alpha2.AccessIdentityProviderSpec{Type: "google", Config: &v1alpha2.IdentityProviderConfig{ClientID: "c", ClientSecret: "fixture-secret"}, Cloudflare: creds},
			secrets: `{"client_secret":` + ref("spec.config.clientSecret", 3) + `}`,
			degraded: "spec.config.clientSecret: is applied, read from this object when conflux-sync writes the provider (never stored in its log); " +
				"but whoever may read this object reads the secret: put it in a Secret and name it in spec.configSecretRef",
			applied: true,
		},
		{
			name: "inline API token", gen: 1,
			spec: v1alpha2.AccessIdentityProviderSpec{Type: "okta", Config: &v1alpha2.IdentityProviderConfig{ClientID: "c", ClientSecret: "fixture-secret",
				OktaAccount: "https://dev.okta.com", APIToken: "fixture-token"}, Cloudflare: creds},
			secrets:  `{"api_token":` + ref("spec.config.apiToken", 1) + `,"client_secret":` + ref("spec.config.clientSecret", 1) + `}`,
			degraded: "spec.config.apiToken: is applied",
			applied:  true,
		},
		{
			name: "configSecretRef wins over an inline client secret", gen: 1,
			spec: v1alpha2.AccessIdentityProviderSpec{Type: "github", Config: &v1alpha2.IdentityProviderConfig{ClientID: "c", ClientSecret: "fixture-secret"},
				ConfigSecretRef: &v1alpha2.SecretKeySelector{Name: "cf", Key: "other", Namespace: "default"}, Cloudflare: creds},
			refs:     `{"client_secret":{"namespace":"default","name":"cf","key":"other"}}`,
			degraded: "spec.config.clientSecret: is not used: spec.configSecretRef gives the client secret",
		},
		{
			name: "SCIM secret", gen: 1,
			spec:     v1alpha2.AccessIdentityProviderSpec{Type: "onetimepin", ScimConfig: &v1alpha2.IdentityProviderScimConfig{Secret: "fixture-secret"}, Cloudflare: creds},
			degraded: "spec.scimConfig.secret: is not applied: Cloudflare makes the SCIM secret",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := idp("x", tc.spec)
			obj.Generation = tc.gen
			r := AccessIdentityProvider(obj, newRecordFake(), opts)
			if len(r.Problems) != 0 || len(r.Fragments) != 1 {
				t.Fatalf("problems %s, fragments %d", problemsString(r.Problems), len(r.Fragments))
			}
			var spec struct{ ObjectSecrets, Secrets json.RawMessage }
			if err := json.Unmarshal(r.Fragments[0].Spec, &spec); err != nil {
				t.Fatal(err)
			}
			if string(spec.ObjectSecrets) != tc.secrets || string(spec.Secrets) != tc.refs {
				t.Fatalf("objectSecrets %s\nwant %s\nsecrets %s\nwant %s", spec.ObjectSecrets, tc.secrets, spec.Secrets, tc.refs)
			}
			if deg := problemsString(r.Degraded); !strings.Contains(deg, tc.degraded) {
				t.Fatalf("degraded %s\nwant %s", deg, tc.degraded)
			}
			for _, p := range r.Degraded {
				if p.Applied != tc.applied {
					t.Fatalf("%s: applied %v, want %v", p.Field, p.Applied, tc.applied)
				}
			}
			out, _ := json.Marshal(r)
			if strings.Contains(string(out), "fixture-") {
				t.Fatalf("a secret value is in the result: %s", out)
			}
		})
	}
}
