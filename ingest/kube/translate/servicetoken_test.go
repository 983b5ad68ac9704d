package translate

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func serviceToken(ns, name string, spec v1alpha2.AccessServiceTokenSpec) *v1alpha2.AccessServiceToken {
	return &v1alpha2.AccessServiceToken{ObjectMeta: meta(ns, name, 1), Spec: spec}
}

func TestAccessServiceTokenHappy(t *testing.T) {
	taken := serviceToken("default", "ci", v1alpha2.AccessServiceTokenSpec{
		Name: "CI pipeline", Duration: "forever", SecretRef: v1alpha2.ServiceTokenSecretRef{Name: "ci-access", ClientIDKey: "id", ClientSecretKey: "secret"},
		Cloudflare: cfDetails("", "cf", acct1)})
	taken.Status.TokenID = "0B7C1F0E-1111-4222-8333-444455556666"
	runRecCases(t, []recCase{
		{
			// Mirrors StringKe's AccessServiceToken documentation (ci-token):
			// name, duration, secretRef.name with the default keys,
			// cloudflare.{accountId, domain, secret}.
			name: "docs: default keys, the object's Secret", source: "AccessServiceToken", ns: "default", obj: "ci-token",
			run: func(f *fake) Result {
				return AccessServiceToken(serviceToken("default", "ci-token", v1alpha2.AccessServiceTokenSpec{
					Name: "CI/CD Pipeline Token", Duration: "2160h", SecretRef: v1alpha2.ServiceTokenSecretRef{Name: "ci-token-credentials"},
					Cloudflare: cfDetails("example.com", "cloudflare-api-credentials", acct1)}), f, opts)
			},
			want: `cloudflare.AccessServiceToken AccessServiceToken/default/ci-token 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"CI/CD Pipeline Token","duration":"2160h","secret":{"namespace":"default","name":"ci-token-credentials"},"credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
			status: `{"secretName":"default/ci-token-credentials"}`,
		},
		{
			name: "the object's name; a CloudflareCredentials; no duration", source: "AccessServiceToken", ns: "default", obj: "deploy",
			run: func(f *fake) Result {
				return AccessServiceToken(serviceToken("default", "deploy", v1alpha2.AccessServiceTokenSpec{
					SecretRef: v1alpha2.ServiceTokenSecretRef{Name: "deploy"}, Cloudflare: v1alpha2.CloudflareDetails{CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}}), f, opts)
			},
			want: `cloudflare.AccessServiceToken AccessServiceToken/default/deploy 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"deploy","secret":{"namespace":"default","name":"deploy"},"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			status: `{"secretName":"default/deploy"}`,
		},
		{
			name: "cloudflare-operator's token is taken over; own keys; forever", source: "AccessServiceToken", ns: "default", obj: "ci",
			run: func(f *fake) Result { return AccessServiceToken(taken, f, opts) },
			want: `cloudflare.AccessServiceToken AccessServiceToken/default/ci 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"CI pipeline","duration":"forever","secret":{"namespace":"default","name":"ci-access","clientIdKey":"id","clientSecretKey":"secret"},"takeOver":"0b7c1f0e-1111-4222-8333-444455556666","credentials":{"namespace":"default","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			status: `{"secretName":"default/ci-access"}`,
		},
	})
}

func TestAccessServiceTokenProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec v1alpha2.AccessServiceTokenSpec
		want string
	}{
		{"duration in days", v1alpha2.AccessServiceTokenSpec{Duration: "365d", SecretRef: v1alpha2.ServiceTokenSecretRef{Name: "s"}, Cloudflare: cfDetails("", "cf", acct1)},
			`spec.duration: "365d" is not a positive duration such as 8760h (units h, m, s), nor forever`},
		{"no Secret", v1alpha2.AccessServiceTokenSpec{Cloudflare: cfDetails("", "cf", acct1)},
			"spec.secretRef.name: is required: the client secret is answered only once and must be written somewhere"},
		{"a token Secret that does not exist", v1alpha2.AccessServiceTokenSpec{SecretRef: v1alpha2.ServiceTokenSecretRef{Name: "s"}, Cloudflare: cfDetails("", "nope", acct1)},
			"spec.cloudflare.secret: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := AccessServiceToken(serviceToken("default", "x", tc.spec), newRecordFake(), opts)
			if got := problemsString(r.Problems); !r.Managed || len(r.Fragments) != 0 || !strings.Contains(got, tc.want) {
				t.Fatalf("problems:\n%s\nwant %s", got, tc.want)
			}
		})
	}
}
