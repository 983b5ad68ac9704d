package translate

import (
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/sync/accesspolicy"
)

func accessPolicy(name string, spec AccessPolicySpec) *AccessPolicyObject {
	if spec.Cloudflare == (v1alpha2.CloudflareDetails{}) {
		spec.Cloudflare = v1alpha2.CloudflareDetails{AccountID: acct2, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}}
	}
	return &AccessPolicyObject{ObjectMeta: meta("", name, 1), Spec: spec}
}

const policyCreds = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`

// The fragments are validated by the real kind too.
func init() { kinds[api.KindAccessPolicy] = accesspolicy.New() }

func TestAccessPolicyHappy(t *testing.T) {
	runRecCases(t, []recCase{
		{
			// mirrors StringKe docs/en/api-reference/accesspolicy.md (allow-employees): decision, precedence,
			// include emailDomain, exclude ipRanges (two: one API rule each), require devicePosture,
			// sessionDuration, isolationRequired; status.policyId taken over.
			name: "allow employees", source: SourceAccessPolicy, obj: "allow-employees",
			run: func(f *fake) Result {
				p := accessPolicy("allow-employees", AccessPolicySpec{
					Name: "Allow Employees", Decision: "allow", Precedence: 10,
					Include:         []v1alpha2.AccessGroupRule{{EmailDomain: &v1alpha2.AccessGroupEmailDomainRule{Domain: "example.com"}}},
					Exclude:         []v1alpha2.AccessGroupRule{{IPRanges: &v1alpha2.AccessGroupIPRangesRule{IP: []string{"192.0.2.0/24", "198.51.100.0/24"}}}},
					Require:         []v1alpha2.AccessGroupRule{{DevicePosture: &v1alpha2.AccessGroupDevicePostureRule{IntegrationUID: "posture-1"}}},
					SessionDuration: "8h", IsolationRequired: ptr(true),
				})
				p.Status.PolicyID = policyStaff
				return AccessPolicy(p, f, opts)
			},
			want: `cloudflare.AccessPolicy AccessPolicy/allow-employees 1 {"accountId":"` + acct2 + `","name":"Allow Employees","decision":"allow",` +
				`"include":[{"email_domain":{"domain":"example.com"}}],"exclude":[{"ip":{"ip":"192.0.2.0/24"}},{"ip":{"ip":"198.51.100.0/24"}}],` +
				`"require":[{"device_posture":{"integration_uid":"posture-1"}}],"sessionDuration":"8h","isolationRequired":true,` +
				`"takeOver":"` + policyStaff + `",` + policyCreds + `}
`,
			status: `{"decision":"allow","name":"Allow Employees"}`,
		},
		{
			// mirrors StringKe docs/en/api-reference/accesspolicy.md (database-access): oidc via idpRef,
			// approval groups (approvalsNeeded defaulted), purpose justification; the name defaults to the object's.
			name: "database access", source: SourceAccessPolicy, obj: "database-access",
			run: func(f *fake) Result {
				return AccessPolicy(accessPolicy("database-access", AccessPolicySpec{
					Include: []v1alpha2.AccessGroupRule{{OIDC: &v1alpha2.AccessGroupOIDCRule{ClaimName: "groups", ClaimValue: "dba", IdpRef: &v1alpha2.ObjectRef{Name: "test-otp"}}},
						{GitHub: &v1alpha2.AccessGroupGitHubRule{Name: "acme", Teams: []string{"dba", "sre"}, IdpRef: &v1alpha2.ObjectRef{CloudflareID: idpOTP}}}},
					ApprovalRequired:             ptr(true),
					ApprovalGroups:               []AccessApprovalGroup{{EmailAddresses: []string{"lead@example.com"}}, {EmailListUUID: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", ApprovalsNeeded: 2}},
					PurposeJustificationRequired: ptr(true), PurposeJustificationPrompt: "Which ticket?",
				}), f, opts)
			},
			want: `cloudflare.AccessPolicy AccessPolicy/database-access 1 {"accountId":"` + acct2 + `","name":"database-access","decision":"allow",` +
				`"include":[{"oidc":{"claim_name":"groups","claim_value":"dba","identity_provider_id":"` + idpOTP + `"}},` +
				`{"github-organization":{"identity_provider_id":"` + idpOTP + `","name":"acme","team":"dba"}},{"github-organization":{"identity_provider_id":"` + idpOTP + `","name":"acme","team":"sre"}}],` +
				`"purposeJustificationRequired":true,"purposeJustificationPrompt":"Which ticket?","approvalRequired":true,` +
				`"approvalGroups":[{"emailAddresses":["lead@example.com"],"approvalsNeeded":1},{"emailListUuid":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d","approvalsNeeded":2}],` + policyCreds + `}
`,
			status: `{"decision":"allow","name":"database-access"}`,
		},
		{
			name: "every other rule type", source: SourceAccessPolicy, obj: "rules",
			run: func(f *fake) Result {
				return AccessPolicy(accessPolicy("rules", AccessPolicySpec{Decision: "non_identity",
					Include: []v1alpha2.AccessGroupRule{{Email: &v1alpha2.AccessGroupEmailRule{Email: "a@example.com"}}, {EmailList: &v1alpha2.AccessGroupIDRule{ID: "l1"}}, {Everyone: true},
						{IPList: &v1alpha2.AccessGroupIDRule{ID: "ipl"}}, {Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"US", "CA"}}}, {Group: &v1alpha2.AccessGroupIDRule{ID: "g1"}},
						{ServiceToken: &v1alpha2.AccessGroupServiceTokenRule{TokenID: "t1"}}, {AnyValidServiceToken: true}, {Certificate: true},
						{CommonName: &v1alpha2.AccessGroupCommonNameRule{CommonName: "cn"}}, {GSuite: &v1alpha2.AccessGroupGSuiteRule{Email: "g@example.com", IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}},
						{Azure: &v1alpha2.AccessGroupAzureRule{ID: "az", IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}}, {Okta: &v1alpha2.AccessGroupOktaRule{Name: "ok", IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}},
						{SAML: &v1alpha2.AccessGroupSAMLRule{AttributeName: "n", AttributeValue: "v", IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}},
						{AuthMethod: &v1alpha2.AccessGroupAuthMethodRule{AuthMethod: "mfa"}}, {AuthContext: &v1alpha2.AccessGroupAuthContextRule{ID: "c", AcID: "ac", IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}},
						{LoginMethod: &v1alpha2.AccessGroupLoginMethodRule{IdpRef: &v1alpha2.ObjectRef{CloudflareID: "i"}}},
						{ExternalEvaluation: &v1alpha2.AccessGroupExternalEvaluationRule{EvaluateURL: "https://e.example.com", KeysURL: "https://k.example.com"}}},
				}), f, opts)
			},
			want: `cloudflare.AccessPolicy AccessPolicy/rules 1 {"accountId":"` + acct2 + `","name":"rules","decision":"non_identity","include":[` +
				`{"email":{"email":"a@example.com"}},{"email_list":{"id":"l1"}},{"everyone":{}},{"ip_list":{"id":"ipl"}},{"geo":{"country_code":"US"}},{"geo":{"country_code":"CA"}},` +
				`{"group":{"id":"g1"}},{"service_token":{"token_id":"t1"}},{"any_valid_service_token":{}},{"certificate":{}},{"common_name":{"common_name":"cn"}},` +
				`{"gsuite":{"email":"g@example.com","identity_provider_id":"i"}},{"azureAD":{"id":"az","identity_provider_id":"i"}},{"okta":{"identity_provider_id":"i","name":"ok"}},` +
				`{"saml":{"attribute_name":"n","attribute_value":"v","identity_provider_id":"i"}},{"auth_method":{"auth_method":"mfa"}},` +
				`{"auth_context":{"ac_id":"ac","id":"c","identity_provider_id":"i"}},{"login_method":{"id":"i"}},` +
				`{"external_evaluation":{"evaluate_url":"https://e.example.com","keys_url":"https://k.example.com"}}],` + policyCreds + `}
`,
			status: `{"decision":"non_identity","name":"rules"}`,
		},
	})
}

func TestAccessPolicyProblems(t *testing.T) {
	pol := func(spec AccessPolicySpec) func(f *fake) Result {
		return func(f *fake) Result {
			if spec.Include == nil {
				spec.Include = []v1alpha2.AccessGroupRule{{Everyone: true}}
			}
			return AccessPolicy(accessPolicy("p", spec), f, opts)
		}
	}
	runRecProblems(t, []recProblem{
		{name: "unknown decision", run: pol(AccessPolicySpec{Decision: "permit"}), field: "spec.decision", reason: `must be one of allow, deny, bypass, non_identity, not "permit"`},
		{name: "no include", run: pol(AccessPolicySpec{Include: []v1alpha2.AccessGroupRule{}}), field: "spec.include", reason: "needs at least one rule"},
		{name: "empty rule", run: pol(AccessPolicySpec{Include: []v1alpha2.AccessGroupRule{{}}}), field: "spec.include[0]", reason: "sets no rule type (e.g. email, emailDomain, everyone: true)"},
		{name: "two rule types", run: pol(AccessPolicySpec{Exclude: []v1alpha2.AccessGroupRule{{Everyone: true, Email: &v1alpha2.AccessGroupEmailRule{Email: "a@example.com"}}}}),
			field: "spec.exclude[0]", reason: "sets email and everyone: a rule has exactly one rule type; give each its own list entry"},
		{name: "several countries in require", run: pol(AccessPolicySpec{Require: []v1alpha2.AccessGroupRule{{Country: &v1alpha2.AccessGroupCountryRule{Country: []string{"US", "CA"}}}}}),
			field: "spec.require[0].country.country", reason: "lists 2 values, but every require rule must match and an Access rule holds one value (cloudflare-operator sent only the first, US): put the alternatives in the include rules of another AccessGroup and require that group (group.id: its status.groupId), or keep one value"},
		{name: "no IP ranges", run: pol(AccessPolicySpec{Include: []v1alpha2.AccessGroupRule{{IPRanges: &v1alpha2.AccessGroupIPRangesRule{}}}}), field: "spec.include[0].ipRanges.ip", reason: "needs at least one value"},
		{name: "identity provider not found", run: pol(AccessPolicySpec{Include: []v1alpha2.AccessGroupRule{{SAML: &v1alpha2.AccessGroupSAMLRule{AttributeName: "a", AttributeValue: "b", IdpRef: &v1alpha2.ObjectRef{Name: "gone"}}}}}),
			field: "spec.include[0].saml.idpRef.name", reason: "AccessIdentityProvider gone not found..."},
		{name: "bad session", run: pol(AccessPolicySpec{SessionDuration: "1 day"}), field: "spec.sessionDuration", reason: `"1 day" is not a duration such as 24h or 30m`},
		{name: "prompt alone", run: pol(AccessPolicySpec{PurposeJustificationPrompt: "why?"}), field: "spec.purposeJustificationPrompt", reason: "is shown only with purposeJustificationRequired: true"},
		{name: "approval without groups", run: pol(AccessPolicySpec{ApprovalRequired: ptr(true)}), field: "spec.approvalGroups", reason: "are required with approvalRequired: true (someone must approve)"},
		{name: "groups without approval", run: pol(AccessPolicySpec{ApprovalGroups: []AccessApprovalGroup{{EmailAddresses: []string{"a@example.com"}}}}),
			field: "spec.approvalGroups", reason: "are asked only with approvalRequired: true"},
		{name: "approvers missing", run: pol(AccessPolicySpec{ApprovalRequired: ptr(true), ApprovalGroups: []AccessApprovalGroup{{ApprovalsNeeded: 1}}}),
			field: "spec.approvalGroups[0]", reason: "needs emailAddresses or emailListUuid (who approves)"},
		{name: "bad email list", run: pol(AccessPolicySpec{ApprovalRequired: ptr(true), ApprovalGroups: []AccessApprovalGroup{{EmailListUUID: "list"}}}),
			field: "spec.approvalGroups[0].emailListUuid", reason: `"list" is not an email list id (a UUID)`},
	})
}

// An application names AccessPolicy objects by their targets, whether
// cloudflare-operator recorded an id for them or not, and a policy of
// the account by its Cloudflare name.
func TestAccessApplicationPolicyTargets(t *testing.T) {
	runRecCases(t, []recCase{{
		name: "by object and by Cloudflare name", source: SourceAccessApplication, ns: "default", obj: "app",
		run: func(f *fake) Result {
			return AccessApplication(accessApplication("app", v1alpha2.AccessApplicationSpec{Domain: "app.example.com", Cloudflare: examplesCloudflare(),
				ReusablePolicyRefs: []v1alpha2.PolicyRef{policyRef("unsynced", ""), {ObjectRef: v1alpha2.ObjectRef{CloudflareName: "Allow staff"}}, policyRef("", policyStaff)}}), f, opts)
		},
		want: `cloudflare.AccessApplication AccessApplication/default/app 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"app","domain":"app.example.com",` +
			`"policies":["AccessPolicy/unsynced","Allow staff","` + policyStaff + `"],"credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
		hostnames: []string{"app.example.com"}, status: `{"domain":"app.example.com"}`,
	}})
}
