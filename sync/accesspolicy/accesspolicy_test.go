package accesspolicy

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "staff"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "staff"}
	const base = `"name":"staff","decision":"allow","include":[{"everyone":{}}]`
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"name, decision and include", `{` + base + `}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"staff","decision":"non_identity","include":[{"email_domain":{"domain":"example.com"}},{"group":{"id":"g1"}}],` +
			`"exclude":[{"email":{"email":"intern@example.com"}}],"require":[{"any_valid_service_token":{}}],"sessionDuration":"30m","isolationRequired":true,` +
			`"purposeJustificationRequired":true,"purposeJustificationPrompt":"Why?","approvalRequired":true,` +
			`"approvalGroups":[{"emailAddresses":["boss@example.com"],"approvalsNeeded":1},{"emailListUuid":"` + uuid1 + `","approvalsNeeded":2}],` +
			`"connectionRules":{"ssh":{"usernames":["root"],"allowEmailAlias":true}},"adopt":true}`, "", ""},
		{"deny", `{"name":"staff","decision":"deny","include":[{"everyone":{}}]}`, "", ""},
		{"bypass", `{"name":"staff","decision":"bypass","include":[{"everyone":{}}]}`, "", ""},
		{"by id", `{` + base + `,"id":"` + strings.ToUpper(uuid1) + `"}`, "", ""},
		{"take over", `{` + base + `,"takeOver":"` + uuid1 + `"}`, "", ""},
		{"email alias only", `{` + base + `,"connectionRules":{"ssh":{"usernames":[],"allowEmailAlias":true}}}`, "", ""},
		{"unknown field", `{` + base + `,"precedence":1}`, "spec.precedence", "unknown field"},
		{"no name", `{"decision":"allow","include":[{"everyone":{}}]}`, "spec.name", "required"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `","decision":"allow","include":[{"everyone":{}}]}`, "spec.name", "longer than 255"},
		{"no decision", `{"name":"staff","include":[{"everyone":{}}]}`, "spec.decision", "required: one of allow, deny, non_identity, bypass"},
		{"unknown decision", `{"name":"staff","decision":"permit","include":[{"everyone":{}}]}`, "spec.decision", `"permit" is not one of`},
		{"no include", `{"name":"staff","decision":"allow"}`, "spec.include", "at least one rule"},
		{"unknown rule", `{"name":"staff","decision":"allow","include":[{"emails":{}}]}`, "spec.include[0]", `unknown rule "emails"`},
		{"bad exclude", `{` + base + `,"exclude":[{"everyone":{}},{"nobody":{}}]}`, "spec.exclude[1]", `unknown rule "nobody"`},
		{"bad require", `{` + base + `,"require":[{"ip":"10.0.0.0/8"}]}`, "spec.require[0]", `rule "ip" must be an object`},
		{"bad session", `{` + base + `,"sessionDuration":"1 day"}`, "spec.sessionDuration", "not a duration"},
		{"negative session", `{` + base + `,"sessionDuration":"-1h"}`, "spec.sessionDuration", "not a duration"},
		{"prompt without required", `{` + base + `,"purposeJustificationPrompt":"Why?"}`, "spec.purposeJustificationPrompt", "only with purposeJustificationRequired"},
		{"long prompt", `{` + base + `,"purposeJustificationRequired":true,"purposeJustificationPrompt":"` + strings.Repeat("w", 1025) + `"}`, "spec.purposeJustificationPrompt", "longer than 1024"},
		{"approval without groups", `{` + base + `,"approvalRequired":true}`, "spec.approvalGroups", "at least one group"},
		{"groups without approval", `{` + base + `,"approvalGroups":[{"emailAddresses":["a@example.com"],"approvalsNeeded":1}]}`, "spec.approvalGroups", "only with approvalRequired"},
		{"group without approvers", `{` + base + `,"approvalRequired":true,"approvalGroups":[{"approvalsNeeded":1}]}`, "spec.approvalGroups[0]", "emailAddresses or emailListUuid"},
		{"group needs none", `{` + base + `,"approvalRequired":true,"approvalGroups":[{"emailAddresses":["a@example.com"]}]}`, "spec.approvalGroups[0].approvalsNeeded", "at least 1"},
		{"bad list id", `{` + base + `,"approvalRequired":true,"approvalGroups":[{"emailListUuid":"list","approvalsNeeded":1}]}`, "spec.approvalGroups[0].emailListUuid", "UUID"},
		{"bad approver", `{` + base + `,"approvalRequired":true,"approvalGroups":[{"emailAddresses":["boss"],"approvalsNeeded":1}]}`, "spec.approvalGroups[0].emailAddresses[0]", "not an email address"},
		{"connection rules without ssh", `{` + base + `,"connectionRules":{}}`, "spec.connectionRules.ssh", "required"},
		{"ssh without usernames", `{` + base + `,"connectionRules":{"ssh":{"usernames":[]}}}`, "spec.connectionRules.ssh.usernames", "at least one username"},
		{"bad username", `{` + base + `,"connectionRules":{"ssh":{"usernames":["ro ot"]}}}`, "spec.connectionRules.ssh.usernames[0]", "not a UNIX username"},
		{"bad account", `{` + base + `,"accountId":"a/b"}`, "spec.accountId", "account id"},
		{"bad id", `{` + base + `,"id":"staff"}`, "spec.id", "UUID"},
		{"id and take over", `{` + base + `,"id":"` + uuid1 + `","takeOver":"` + uuid1 + `"}`, "spec.takeOver", "not both"},
		{"credentials without account", `{` + base + `,"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

// Rules and durations are canonical whatever their spelling, and the
// API's default session is written out: the hash does not change.
func TestAggregate(t *testing.T) {
	frag := func(src string, spec string) api.Fragment {
		return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: 2, Spec: json.RawMessage(spec)}
	}
	a := frag("a", `{"include":[ {"saml":{"attribute_value":"eng","attribute_name":"team"}} ],"decision":"allow","name":"staff","id":"`+strings.ToUpper(uuid1)+`"}`)
	b := frag("b", `{"name":"other","decision":"deny","include":[{"everyone":{}}]}`)
	r1, err := New().Aggregate(testTarget, []api.Fragment{a, b})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, []api.Fragment{b, a})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"staff","decision":"allow","include":[{"saml":{"attribute_name":"team","attribute_value":"eng"}}],"sessionDuration":"24h","id":"` + uuid1 + `"}`
	if !bytes.Equal(r1.Desired, r2.Desired) || string(r1.Desired) != want {
		t.Fatalf("desired %s / %s, want %s", r1.Desired, r2.Desired, want)
	}
	if len(r1.Conflicts) != 1 || r1.Conflicts[0].Loser.Name != "b" || r1.Conflicts[0].Key != "accessPolicy" {
		t.Fatalf("conflicts %+v", r1.Conflicts)
	}
	c := frag("a", `{"name":"staff","decision":"allow","include":[{"everyone":{}}],"sessionDuration":"90m"}`)
	d := frag("a", `{"name":"staff","decision":"allow","include":[{"everyone":{}}],"sessionDuration":"1h30m"}`)
	rc, _ := New().Aggregate(testTarget, []api.Fragment{c})
	rd, _ := New().Aggregate(testTarget, []api.Fragment{d})
	if !bytes.Equal(rc.Desired, rd.Desired) {
		t.Fatalf("90m and 1h30m differ: %s / %s", rc.Desired, rd.Desired)
	}
}
