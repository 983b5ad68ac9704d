package translate

import (
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// clusterGroup is a cloudflare-operator AccessGroup (cluster-scoped) in
// the account acct1 with the Secret conflux/cf.
func clusterGroup(name string, spec v1alpha2.AccessGroupSpec) *v1alpha2.AccessGroup {
	if spec.Cloudflare == (v1alpha2.CloudflareDetails{}) {
		spec.Cloudflare = v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf"}
	}
	return &v1alpha2.AccessGroup{ObjectMeta: meta("", name, 1), Spec: spec}
}

const (
	groupCreds  = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`
	groupOther  = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"
	groupPrefix = `cloudflare.AccessGroup AccessGroup/g 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"g",`
	groupSuffix = `"adopt":true,` + groupCreds + "}\n"
)

// TestAccessGroupRules translates every rule type of the CRD into the
// Access API's rule object.
func TestAccessGroupRules(t *testing.T) {
	otp := &v1alpha2.ObjectRef{Name: "test-otp"}
	for _, tc := range []struct {
		name string
		rule v1alpha2.AccessGroupRule
		want string // the include list as sent
	}{
		{"email", v1alpha2.AccessGroupRule{Email: &v1alpha2.AccessGroupEmailRule{Email: " lead@example.com "}}, `[{"email":{"email":"lead@example.com"}}]`},
		{"emailDomain", v1alpha2.AccessGroupRule{EmailDomain: &v1alpha2.AccessGroupEmailDomainRule{Domain: "example.com"}}, `[{"email_domain":{"domain":"example.com"}}]`},
		{"emailList", v1alpha2.AccessGroupRule{EmailList: &v1alpha2.AccessGroupIDRule{ID: "list-1"}}, `[{"email_list":{"id":"list-1"}}]`},
		{"everyone", v1alpha2.AccessGroupRule{Everyone: true}, `[{"everyone":{}}]`},
		{"ipRanges: one rule per range (cloudflare-operator sent the first only)", v1alpha2.AccessGroupRule{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}}},
			`[{"ip":{"ip":"10.0.0.0/8"}},{"ip":{"ip":"2001:db8::/32"}},{"ip":{"ip":"192.0.2.7"}}]`},
		{"ipList", v1alpha2.AccessGroupRule{IPList: &v1alpha2.AccessGroupIDRule{ID: "list-2"}}, `[{"ip_list":{"id":"list-2"}}]`},
		{"country: one geo rule per country, upper-cased", v1alpha2.AccessGroupRule{Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"us", "CA"}}},
			`[{"geo":{"country_code":"US"}},{"geo":{"country_code":"CA"}}]`},
		{"group by id", v1alpha2.AccessGroupRule{Group: &v1alpha2.AccessGroupIDRule{ID: groupOther}}, `[{"group":{"id":"` + groupOther + `"}}]`},
		{"serviceToken", v1alpha2.AccessGroupRule{ServiceToken: &v1alpha2.AccessGroupServiceTokenRule{TokenID: "tok"}}, `[{"service_token":{"token_id":"tok"}}]`},
		{"anyValidServiceToken", v1alpha2.AccessGroupRule{AnyValidServiceToken: true}, `[{"any_valid_service_token":{}}]`},
		{"certificate", v1alpha2.AccessGroupRule{Certificate: true}, `[{"certificate":{}}]`},
		{"commonName", v1alpha2.AccessGroupRule{CommonName: &v1alpha2.AccessGroupCommonNameRule{CommonName: "client.example.com"}}, `[{"common_name":{"common_name":"client.example.com"}}]`},
		{"devicePosture", v1alpha2.AccessGroupRule{DevicePosture: &v1alpha2.AccessGroupDevicePostureRule{IntegrationUID: "posture-1"}}, `[{"device_posture":{"integration_uid":"posture-1"}}]`},
		{"gsuite with idpRef by object", v1alpha2.AccessGroupRule{GSuite: &v1alpha2.AccessGroupGSuiteRule{Email: "eng@example.com", IdpRef: otp}},
			`[{"gsuite":{"email":"eng@example.com","identity_provider_id":"` + idpOTP + `"}}]`},
		{"github organization without teams, idpRef by id", v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "example-org", IdpRef: &v1alpha2.ObjectRef{CloudflareID: idpOTP}}},
			`[{"github-organization":{"identity_provider_id":"` + idpOTP + `","name":"example-org"}}]`},
		{"github teams: one rule per team", v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "example-org", Teams: []string{"engineering", "platform"}, IdpRef: otp}},
			`[{"github-organization":{"identity_provider_id":"` + idpOTP + `","name":"example-org","team":"engineering"}},{"github-organization":{"identity_provider_id":"` + idpOTP + `","name":"example-org","team":"platform"}}]`},
		{"azure under the API's key", v1alpha2.AccessGroupRule{Azure: &v1alpha2.AccessGroupAzureRule{ID: "aad-group", IdpRef: otp}},
			`[{"azureAD":{"id":"aad-group","identity_provider_id":"` + idpOTP + `"}}]`},
		{"okta without idpRef", v1alpha2.AccessGroupRule{Okta: &v1alpha2.AccessGroupOktaRule{Name: "Engineering"}}, `[{"okta":{"name":"Engineering"}}]`},
		{"oidc", v1alpha2.AccessGroupRule{OIDC: &v1alpha2.AccessGroupOIDCRule{ClaimName: "groups", ClaimValue: "dba", IdpRef: otp}},
			`[{"oidc":{"claim_name":"groups","claim_value":"dba","identity_provider_id":"` + idpOTP + `"}}]`},
		{"saml", v1alpha2.AccessGroupRule{SAML: &v1alpha2.AccessGroupSAMLRule{AttributeName: "dept", AttributeValue: "eng"}}, `[{"saml":{"attribute_name":"dept","attribute_value":"eng"}}]`},
		{"authMethod", v1alpha2.AccessGroupRule{AuthMethod: &v1alpha2.AccessGroupAuthMethodRule{AuthMethod: "mfa"}}, `[{"auth_method":{"auth_method":"mfa"}}]`},
		{"authContext", v1alpha2.AccessGroupRule{AuthContext: &v1alpha2.AccessGroupAuthContextRule{ID: "ctx", AcID: "c1", IdpRef: otp}},
			`[{"auth_context":{"ac_id":"c1","id":"ctx","identity_provider_id":"` + idpOTP + `"}}]`},
		{"loginMethod: the provider's id", v1alpha2.AccessGroupRule{LoginMethod: &v1alpha2.AccessGroupLoginMethodRule{IdpRef: otp}}, `[{"login_method":{"id":"` + idpOTP + `"}}]`},
		{"externalEvaluation", v1alpha2.AccessGroupRule{ExternalEvaluation: &v1alpha2.AccessGroupExternalEvaluationRule{EvaluateURL: "https://eval.example.com", KeysURL: "https://eval.example.com/keys"}},
			`[{"external_evaluation":{"evaluate_url":"https://eval.example.com","keys_url":"https://eval.example.com/keys"}}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runRecCases(t, []recCase{{
				name: "include", source: "AccessGroup", obj: "g",
				run: func(f *fake) Result {
					return AccessGroup(clusterGroup("g", v1alpha2.AccessGroupSpec{Include: []v1alpha2.AccessGroupRule{tc.rule}}), f, opts)
				},
				want: groupPrefix + `"include":` + tc.want + `,` + groupSuffix,
			}})
		})
	}
}

func TestAccessGroupHappy(t *testing.T) {
	runRecCases(t, []recCase{
		{
			// mirrors StringKe docs/en/api-reference/accessgroup.md (secure-admin), with one range in require
			name: "docs sample: include, exclude (one geo rule per country), require", source: "AccessGroup", obj: "secure-admin",
			run: func(f *fake) Result {
				return AccessGroup(clusterGroup("secure-admin", v1alpha2.AccessGroupSpec{
					Name: "Secure Admin Access",
					Include: []v1alpha2.AccessGroupRule{
						{Email: &v1alpha2.AccessGroupEmailRule{Email: "admin@example.com"}},
						{Email: &v1alpha2.AccessGroupEmailRule{Email: "security@example.com"}},
					},
					Exclude: []v1alpha2.AccessGroupRule{{Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"CN", "RU"}}}},
					Require: []v1alpha2.AccessGroupRule{
						{AuthMethod: &v1alpha2.AccessGroupAuthMethodRule{AuthMethod: "mfa"}},
						{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"10.0.0.0/8"}}},
					},
				}), f, opts)
			},
			want: `cloudflare.AccessGroup AccessGroup/secure-admin 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"Secure Admin Access",` +
				`"include":[{"email":{"email":"admin@example.com"}},{"email":{"email":"security@example.com"}}],` +
				`"exclude":[{"geo":{"country_code":"CN"}},{"geo":{"country_code":"RU"}}],` +
				`"require":[{"auth_method":{"auth_method":"mfa"}},{"ip":{"ip":"10.0.0.0/8"}}],` + groupSuffix,
		},
		{
			// mirrors StringKe test/e2e/manifests/10-accessgroup.yaml
			name: "e2e sample: credentialsRef and its account; no spec.name: the object's name", source: "AccessGroup", obj: "e2e-group",
			run: func(f *fake) Result {
				return AccessGroup(clusterGroup("e2e-group", v1alpha2.AccessGroupSpec{
					Include:    []v1alpha2.AccessGroupRule{{EmailDomain: &v1alpha2.AccessGroupEmailDomainRule{Domain: "example.com"}}},
					Cloudflare: v1alpha2.CloudflareDetails{CredentialsRef: &v1alpha2.CredentialsRef{Name: "production"}},
				}), f, opts)
			},
			want: `cloudflare.AccessGroup AccessGroup/e2e-group 1 {"accountId":"1234567890abcdef","name":"e2e-group","include":[{"email_domain":{"domain":"example.com"}}],` + groupSuffix,
		},
		{
			name: "the group cloudflare-operator created (status.groupId) is taken over", source: "AccessGroup", obj: "g",
			run: func(f *fake) Result {
				g := clusterGroup("g", v1alpha2.AccessGroupSpec{Include: []v1alpha2.AccessGroupRule{{Everyone: true}}})
				g.Status.GroupID = groupOther
				return AccessGroup(g, f, opts)
			},
			want: groupPrefix + `"include":[{"everyone":{}}],"adopt":true,"takeOver":"` + groupOther + `",` + groupCreds + "}\n",
		},
	})
}

// isDefault never reached the API: true is reported, the group synced.
func TestAccessGroupIsDefault(t *testing.T) {
	for _, set := range []*bool{nil, ptr(false), ptr(true)} {
		r := AccessGroup(clusterGroup("g", v1alpha2.AccessGroupSpec{Include: []v1alpha2.AccessGroupRule{{Everyone: true}}, IsDefault: set}), newRecordFake(), opts)
		if len(r.Problems) > 0 || len(r.Fragments) != 1 {
			t.Fatalf("isDefault %v: problems %v, %d fragments", set, r.Problems, len(r.Fragments))
		}
		want := set != nil && *set
		if got := len(r.Degraded) == 1 && r.Degraded[0].Field == "spec.isDefault"; got != want {
			t.Errorf("isDefault %v: Degraded = %v", set, r.Degraded)
		}
	}
}

func TestAccessGroupProblems(t *testing.T) {
	group := func(spec v1alpha2.AccessGroupSpec) func(f *fake) Result {
		return func(f *fake) Result {
			if spec.Include == nil {
				spec.Include = []v1alpha2.AccessGroupRule{{Everyone: true}}
			}
			return AccessGroup(clusterGroup("g", spec), f, opts)
		}
	}
	rules := func(r ...v1alpha2.AccessGroupRule) []v1alpha2.AccessGroupRule { return r }
	runRecProblems(t, []recProblem{
		{name: "no include rule", run: group(v1alpha2.AccessGroupSpec{Include: []v1alpha2.AccessGroupRule{}}),
			field: "spec.include", reason: "needs at least one rule"},
		{name: "a rule with no type", run: group(v1alpha2.AccessGroupSpec{Exclude: rules(v1alpha2.AccessGroupRule{})}),
			field: "spec.exclude[0]", reason: "sets no rule type (e.g. email, emailDomain, everyone: true)"},
		{name: "a rule with two types", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{Everyone: true, Email: &v1alpha2.AccessGroupEmailRule{Email: "a@example.com"}})}),
			field: "spec.include[0]", reason: "sets email and everyone: a rule has exactly one rule type; give each its own list entry"},
		{name: "several countries in require", run: group(v1alpha2.AccessGroupSpec{Require: rules(v1alpha2.AccessGroupRule{Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"US", "CA"}}})}),
			field: "spec.require[0].country.country", reason: "lists 2 values, but every require rule must match and an Access rule holds one value (cloudflare-operator sent only the first, US)..."},
		{name: "several ranges in require", run: group(v1alpha2.AccessGroupSpec{Require: rules(v1alpha2.AccessGroupRule{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"10.0.0.0/8", "192.168.0.0/16"}}})}),
			field: "spec.require[0].ipRanges.ip", reason: "lists 2 values, but every require rule must match..."},
		{name: "several GitHub teams in require", run: group(v1alpha2.AccessGroupSpec{Require: rules(v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "o", Teams: []string{"a", "b"}}})}),
			field: "spec.require[0].github.teams", reason: "lists 2 values, but every require rule must match..."},
		{name: "GitHub teams without the organization", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Teams: []string{"a"}}})}),
			field: "spec.include[0].github.name", reason: "is required"},
		{name: "a blank GitHub team", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "o", Teams: []string{"a", " "}}})}),
			field: "spec.include[0].github.teams[1]", reason: "is empty"},
		{name: "a rule type set empty", run: group(v1alpha2.AccessGroupSpec{Require: rules(v1alpha2.AccessGroupRule{Group: &v1alpha2.AccessGroupIDRule{}})}),
			field: "spec.require[0].group.id", reason: "is required"},
		{name: "no ranges", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{IPRanges: &v1alpha2.AccessGroupIPRangesRule{}})}),
			field: "spec.include[0].ipRanges.ip", reason: "needs at least one value"},
		{name: "not a range", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"10.0.0.0/8", "office"}}})}),
			field: "spec.include[0].ipRanges.ip[1]", reason: `"office" is not an IP address or CIDR range such as 10.0.0.0/8`},
		{name: "host bits", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"10.1.2.3/8"}}})}),
			field: "spec.include[0].ipRanges.ip[0]", reason: "10.1.2.3/8 has host bits set; the range is 10.0.0.0/8"},
		{name: "not a country code", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"USA"}}})}),
			field: "spec.include[0].country.country[0]", reason: `"USA" is not a two-letter ISO 3166-1 country code such as US`},
		{name: "empty email", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{Email: &v1alpha2.AccessGroupEmailRule{}})}),
			field: "spec.include[0].email.email", reason: "is required"},
		{name: "oidc without claim value", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{OIDC: &v1alpha2.AccessGroupOIDCRule{ClaimName: "groups"}})}),
			field: "spec.include[0].oidc.claimValue", reason: "is required"},
		{name: "loginMethod without idpRef", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{LoginMethod: &v1alpha2.AccessGroupLoginMethodRule{}})}),
			field: "spec.include[0].loginMethod.idpRef", reason: "is required: the identity provider users must have logged in with"},
		{name: "idpRef to a missing AccessIdentityProvider", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{Okta: &v1alpha2.AccessGroupOktaRule{Name: "Eng", IdpRef: &v1alpha2.ObjectRef{Name: "nope"}}})}),
			field: "spec.include[0].okta.idpRef.name", reason: "AccessIdentityProvider nope not found..."},
		{name: "idpRef to an AccessIdentityProvider without id", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{SAML: &v1alpha2.AccessGroupSAMLRule{AttributeName: "a", AttributeValue: "b", IdpRef: &v1alpha2.ObjectRef{Name: "new-idp"}}})}),
			field: "spec.include[0].saml.idpRef.name", reason: "AccessIdentityProvider new-idp has no status.providerId yet: conflux-sync records it there once it has synced the identity provider..."},
		{name: "idpRef by Cloudflare name", run: group(v1alpha2.AccessGroupSpec{Include: rules(v1alpha2.AccessGroupRule{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "o", IdpRef: &v1alpha2.ObjectRef{CloudflareName: "GitHub"}}})}), unsupported: true,
			field: "spec.include[0].github.idpRef.cloudflareName", reason: "finding the identity provider by its Cloudflare name is not supported yet..."},
		{name: "no credentials", run: group(v1alpha2.AccessGroupSpec{Cloudflare: v1alpha2.CloudflareDetails{Domain: "example.com"}}),
			field: "spec.cloudflare.secret", reason: "is required: the Secret holding the Cloudflare API token..."},
	})
}
