package translate

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// examplesCloudflare is what cloudflare-operator's AccessApplication
// samples set in spec.cloudflare.
func examplesCloudflare() v1alpha2.CloudflareDetails {
	return v1alpha2.CloudflareDetails{AccountID: acct1, Domain: "example.com", Secret: "cloudflare-api-credentials"}
}

func accessApplication(name string, spec v1alpha2.AccessApplicationSpec) *v1alpha2.AccessApplication {
	return &v1alpha2.AccessApplication{ObjectMeta: meta("default", name, 1), Spec: spec}
}

func policyRef(name, id string) v1alpha2.PolicyRef {
	return v1alpha2.PolicyRef{ObjectRef: v1alpha2.ObjectRef{Name: name, CloudflareID: id}}
}

func TestAccessApplicationHappy(t *testing.T) {
	const creds = `"credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}`
	runRecCases(t, []recCase{
		{
			name: "every synced field", source: SourceAccessApplication, ns: "default", obj: "app",
			run: func(f *fake) Result {
				a := accessApplication("app", v1alpha2.AccessApplicationSpec{
					Name: "App", Domain: "App.Example.com/admin", Type: "self_hosted", SessionDuration: "12h",
					ReusablePolicyRefs: []v1alpha2.PolicyRef{policyRef("", "p2"), policyRef("", "p1")}, AllowedIdps: []string{"idp1"}, AutoRedirectToIdentity: true,
					AppLauncherVisible: ptr(false), Tags: []string{"b", "a", "b"},
					Cloudflare: cfDetails("", "cf", acct1),
				})
				a.Generation = 2
				return AccessApplication(a, f, opts)
			},
			want: `cloudflare.AccessApplication AccessApplication/default/app 2 {"accountId":"0123456789abcdef0123456789abcdef","name":"App","domain":"App.Example.com/admin","type":"self_hosted","sessionDuration":"12h","policies":["p2","p1"],"allowedIdps":["idp1"],"autoRedirectToIdentity":true,"appLauncherVisible":false,"tags":["a","b"],"credentials":{"namespace":"default","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"app.example.com"}, status: `{"domain":"App.Example.com/admin"}`,
		},
		{
			name: "references by name, taken over, ssh", source: SourceAccessApplication, ns: "default", obj: "ssh-access",
			run: func(f *fake) Result {
				a := accessApplication("ssh-access", v1alpha2.AccessApplicationSpec{
					Domain: "ssh.example.com", Type: "ssh", SessionDuration: "8h",
					ReusablePolicyRefs:   []v1alpha2.PolicyRef{policyRef("service-accounts", ""), {ObjectRef: v1alpha2.ObjectRef{Name: "employees"}, Precedence: ptr(int32(1))}},
					IdentityProviderRefs: []v1alpha2.ObjectRef{{Name: "test-otp"}, {CloudflareID: "github-idp"}},
					AllowedIdps:          []string{idpOTP},
					Cloudflare:           examplesCloudflare(),
				})
				a.Status.ApplicationID = appID
				return AccessApplication(a, f, opts)
			},
			want: `cloudflare.AccessApplication AccessApplication/default/ssh-access 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"ssh-access","domain":"ssh.example.com","type":"ssh","sessionDuration":"8h","policies":["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","6f1b3c9e-2a4d-4e5f-8a7b-9c0d1e2f3a4b"],"allowedIdps":["5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a","github-idp"],"takeOver":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",` + creds + `}
`,
			hostnames: []string{"ssh.example.com"}, status: `{"domain":"ssh.example.com"}`,
		},
		{
			name: "adopted by id: no takeover", source: SourceAccessApplication, ns: "default", obj: "app",
			run: func(f *fake) Result {
				a := accessApplication("app", v1alpha2.AccessApplicationSpec{Domain: "app.example.com", ID: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", Cloudflare: examplesCloudflare()})
				a.Status.ApplicationID = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"
				return AccessApplication(a, f, opts)
			},
			want: `cloudflare.AccessApplication AccessApplication/default/app 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"app","domain":"app.example.com","adopt":true,"id":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",` + creds + `}
`,
			hostnames: []string{"app.example.com"}, status: `{"domain":"app.example.com"}`,
		},
		{
			// test/e2e/manifests/12-accessapplication.yaml (its allowedIdpRefs is pruned by the CRD).
			name: "e2e sample: credentialsRef", source: SourceAccessApplication, ns: "e2e-test", obj: "test-app",
			run: func(f *fake) Result {
				a := accessApplication("test-app", v1alpha2.AccessApplicationSpec{
					Name: "E2E Test Application", Domain: "e2e-test-app.example.com", Type: "self_hosted", SessionDuration: "24h",
					Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct2, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}},
				})
				a.Namespace = "e2e-test"
				return AccessApplication(a, f, opts)
			},
			want: `cloudflare.AccessApplication AccessApplication/e2e-test/test-app 1 {"accountId":"fedcba9876543210fedcba9876543210","name":"E2E Test Application","domain":"e2e-test-app.example.com","type":"self_hosted","sessionDuration":"24h","credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"e2e-test-app.example.com"}, status: `{"domain":"e2e-test-app.example.com"}`,
		},
		{
			name: "the default CloudflareCredentials and its account", source: SourceAccessApplication, ns: "default", obj: "app",
			run: func(f *fake) Result {
				f.credentials["production"].Spec.IsDefault = true
				return AccessApplication(accessApplication("app", v1alpha2.AccessApplicationSpec{Domain: "app.example.com", AppLauncherVisible: ptr(true)}), f, opts)
			},
			want: `cloudflare.AccessApplication AccessApplication/default/app 1 {"accountId":"1234567890abcdef","name":"app","domain":"app.example.com","appLauncherVisible":true,"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			hostnames: []string{"app.example.com"}, status: `{"domain":"app.example.com"}`,
		},
	})
}

func TestAccessApplicationProblems(t *testing.T) {
	app := func(spec v1alpha2.AccessApplicationSpec) func(f *fake) Result {
		return func(f *fake) Result {
			spec.Domain = "app.example.com"
			spec.Cloudflare = examplesCloudflare()
			return AccessApplication(accessApplication("app", spec), f, opts)
		}
	}
	runRecProblems(t, []recProblem{
		{name: "policy listed twice", run: app(v1alpha2.AccessApplicationSpec{ReusablePolicyRefs: []v1alpha2.PolicyRef{policyRef("", policyStaff), policyRef("employees", "")}}),
			field: "spec.reusablePolicyRefs", reason: "lists " + policyStaff + " twice"},
		{name: "AccessPolicy not found", run: app(v1alpha2.AccessApplicationSpec{ReusablePolicyRefs: []v1alpha2.PolicyRef{policyRef("nope", "")}}),
			field: "spec.reusablePolicyRefs[0].name", reason: "AccessPolicy nope not found: conflux-sync reads the policy id cloudflare-operator recorded in its status.policyId (it does not sync policies yet); give the id as cloudflareId"},
		{name: "AccessPolicy without id", run: app(v1alpha2.AccessApplicationSpec{ReusablePolicyRefs: []v1alpha2.PolicyRef{policyRef("unsynced", "")}}), unsupported: true,
			field: "spec.reusablePolicyRefs[0].name", reason: "AccessPolicy unsynced has no status.policyId: cloudflare-operator never recorded an id for it, and conflux-sync does not sync policies yet; give the id as cloudflareId"},
		{name: "AccessPolicy by Cloudflare name", run: app(v1alpha2.AccessApplicationSpec{ReusablePolicyRefs: []v1alpha2.PolicyRef{{ObjectRef: v1alpha2.ObjectRef{CloudflareName: "Staff"}}}}), unsupported: true,
			field: "spec.reusablePolicyRefs[0].cloudflareName", reason: "finding the policy by its Cloudflare name is not supported yet: give its id as cloudflareId, or name the AccessPolicy object"},
		{name: "empty policy reference", run: app(v1alpha2.AccessApplicationSpec{ReusablePolicyRefs: []v1alpha2.PolicyRef{{}}}),
			field: "spec.reusablePolicyRefs[0]", reason: "one of cloudflareId, name and cloudflareName is required"},
		{name: "AccessIdentityProvider without id", run: app(v1alpha2.AccessApplicationSpec{IdentityProviderRefs: []v1alpha2.ObjectRef{{Name: "new-idp"}}}),
			field: "spec.identityProviderRefs[0].name", reason: "AccessIdentityProvider new-idp has no status.providerId yet: conflux-sync records it there once it has synced the identity provider (see that object's status); the application follows then"},
		{name: "AccessIdentityProvider not found", run: app(v1alpha2.AccessApplicationSpec{IdentityProviderRefs: []v1alpha2.ObjectRef{{Name: "gone"}}}),
			field: "spec.identityProviderRefs[0].name", reason: "AccessIdentityProvider gone not found..."},
		{name: "identity provider by Cloudflare name", run: app(v1alpha2.AccessApplicationSpec{IdentityProviderRefs: []v1alpha2.ObjectRef{{CloudflareName: "GitHub"}}}), unsupported: true,
			field: "spec.identityProviderRefs[0].cloudflareName", reason: "finding the identity provider by its Cloudflare name is not supported yet..."},
		{name: "autoRedirectToIdentity with two identity providers", run: app(v1alpha2.AccessApplicationSpec{AutoRedirectToIdentity: true, AllowedIdps: []string{"a"}, IdentityProviderRefs: []v1alpha2.ObjectRef{{Name: "test-otp"}}}),
			field: "spec.autoRedirectToIdentity", reason: "needs exactly one identity provider (allowedIdps and identityProviderRefs), not 2"},
		{name: "saas", run: app(v1alpha2.AccessApplicationSpec{Type: "saas"}), unsupported: true,
			field: "spec.type", reason: "saas applications are not synced yet (conflux-sync syncs self_hosted, ssh and vnc applications)"},
		{name: "inline policies", run: app(v1alpha2.AccessApplicationSpec{Policies: []v1alpha2.InlinePolicy{{Name: "employees", Decision: "allow"}}}), unsupported: true,
			field: "spec.policies", reason: "policies is not synced yet (conflux-sync syncs name, ...; cloudflare-operator ignored them too (the application it made has none of them): name reusable policies by id in reusablePolicyRefs..."},
		{name: "corsHeaders", run: app(v1alpha2.AccessApplicationSpec{CorsHeaders: &apiextensionsv1.JSON{Raw: []byte(`{"allowAllOrigins":true}`)}}), unsupported: true,
			field: "spec.corsHeaders", reason: "corsHeaders is not synced yet (conflux-sync syncs name, domain, type, sessionDuration, allowedIdps, identityProviderRefs, autoRedirectToIdentity, appLauncherVisible, tags and reusablePolicyRefs), so the application is not synced while it is set"},
		{name: "global API key", run: func(f *fake) Result {
			a := accessApplication("app", v1alpha2.AccessApplicationSpec{Domain: "app.example.com",
				Cloudflare: v1alpha2.CloudflareDetails{Secret: "gk", AccountID: acct1, CLOUDFLARE_API_KEY: "CLOUDFLARE_API_KEY", Email: "a@b.c"}})
			return AccessApplication(a, f, opts)
		}, field: "spec.cloudflare.CLOUDFLARE_API_KEY", unsupported: true, reason: "global API keys are not supported, only API tokens..."},
	})
}

// TestAccessApplicationSamples: cloudflare-operator's samples all set
// fields conflux-sync does not sync yet (inline policies, which
// cloudflare-operator ignores, and the application's other settings); each
// such field is named.
func TestAccessApplicationSamples(t *testing.T) {
	inline := []v1alpha2.InlinePolicy{{PolicyName: "Allow Company Employees", Decision: "allow", Precedence: ptr(int32(1))}}
	cases := []struct {
		name   string
		spec   v1alpha2.AccessApplicationSpec
		fields []string
	}{
		{"internal-dashboard", v1alpha2.AccessApplicationSpec{
			Name: "Internal Dashboard", Domain: "dashboard.example.com", Type: "self_hosted", SessionDuration: "24h",
			Policies: []v1alpha2.InlinePolicy{{Name: "employees", Decision: "allow"}, {Name: "service-accounts", Decision: "allow"}},
			LogoURL:  "https://example.com/logo.png", AppLauncherVisible: ptr(true), SkipInterstitial: ptr(true),
		}, []string{"spec.policies", "spec.logoUrl", "spec.skipInterstitial"}},
		{"admin-panel", v1alpha2.AccessApplicationSpec{
			Name: "Admin Panel", Domain: "admin.example.com", Type: "self_hosted", SessionDuration: "1h", Policies: inline,
			CustomDenyMessage: "Access denied. Please contact IT support.", CustomDenyURL: "https://support.example.com/access-denied",
			HTTPOnlyCookieAttribute: ptr(true), SameSiteCookieAttribute: "strict", EnableBindingCookie: ptr(true),
		}, []string{"spec.policies", "spec.enableBindingCookie", "spec.httpOnlyCookieAttribute", "spec.sameSiteCookieAttribute", "spec.customDenyMessage", "spec.customDenyUrl"}},
		{"team-wiki", v1alpha2.AccessApplicationSpec{
			Name: "Team Wiki", Domain: "wiki.example.com", Type: "self_hosted", SessionDuration: "24h", AppLauncherVisible: ptr(true), Policies: inline,
		}, []string{"spec.policies"}},
		{"every other field", v1alpha2.AccessApplicationSpec{
			Domain: "app.example.com", ReusableGroupRefs: []v1alpha2.ObjectRef{{Name: "g"}}, SelfHostedDomains: []string{"b.example.com"},
			Destinations: []apiextensionsv1.JSON{{Raw: []byte(`{}`)}}, DomainType: "public", PrivateAddress: "10.0.0.1",
			PathCookieAttribute: ptr(false), OptionsPreflightBypass: ptr(true), ServiceAuth401Redirect: ptr(true), CustomNonIdentityDenyURL: "https://x",
			AllowAuthenticateViaWarp: ptr(true), CustomPages: []string{"p"}, GatewayRules: []string{"r"},
			SaasApp: &apiextensionsv1.JSON{Raw: []byte(`{}`)}, ScimConfig: &apiextensionsv1.JSON{Raw: []byte(`{}`)},
			AppLauncherCustomization: &apiextensionsv1.JSON{Raw: []byte(`{}`)}, TargetContexts: []apiextensionsv1.JSON{{Raw: []byte(`{}`)}},
		}, []string{"spec.reusableGroupRefs", "spec.selfHostedDomains", "spec.destinations", "spec.domainType", "spec.privateAddress",
			"spec.pathCookieAttribute", "spec.optionsPreflightBypass", "spec.serviceAuth401Redirect", "spec.customNonIdentityDenyUrl",
			"spec.allowAuthenticateViaWarp", "spec.customPages", "spec.gatewayRules", "spec.saasApp", "spec.scimConfig",
			"spec.appLauncherCustomization", "spec.targetContexts"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Cloudflare = examplesCloudflare()
			r := AccessApplication(accessApplication(tc.name, tc.spec), newRecordFake(), opts)
			if len(r.Fragments) > 0 {
				t.Fatalf("synced:\n%s", render(r))
			}
			var fields []string
			for _, p := range r.Problems {
				if !p.Unsupported {
					t.Errorf("%s is not marked Unsupported", p)
				}
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("problems on %q, want %q", fields, tc.fields)
			}
		})
	}
}
