package accessgroup

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
	const everyone = `"include":[{"everyone":{}}]`
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"name and include", `{"name":"staff",` + everyone + `}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"staff","include":[{"email_domain":{"domain":"example.com"}},{"group":{"id":"g1"}}],` +
			`"exclude":[{"email":{"email":"intern@example.com"}}],"require":[{"any_valid_service_token":{}}],"adopt":true}`, "", ""},
		{"by id", `{"name":"staff",` + everyone + `,"id":"` + strings.ToUpper(uuid1) + `"}`, "", ""},
		{"take over", `{"name":"staff",` + everyone + `,"takeOver":"` + uuid1 + `"}`, "", ""},
		{"credentials", `{"accountId":"acc1","name":"staff",` + everyone + `,"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"unknown field", `{"name":"staff",` + everyone + `,"is_default":true}`, "spec.is_default", "unknown field"},
		{"no name", `{` + everyone + `}`, "spec.name", "required"},
		{"spaces around the name", `{"name":"staff ",` + everyone + `}`, "spec.name", "spaces"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `",` + everyone + `}`, "spec.name", "longer than 255"},
		{"control character in the name", `{"name":"st\taff",` + everyone + `}`, "spec.name", "control characters"},
		{"no include", `{"name":"staff"}`, "spec.include", "at least one rule"},
		{"empty include", `{"name":"staff","include":[]}`, "spec.include", "at least one rule"},
		{"unknown rule", `{"name":"staff","include":[{"emails":{"email":"a@example.com"}}]}`, "spec.include[0]", `unknown rule "emails"`},
		{"two rule keys", `{"name":"staff","include":[{"everyone":{},"email":{"email":"a@example.com"}}]}`, "spec.include[0]", "exactly one rule key, has 2"},
		{"no rule key", `{"name":"staff","include":[{}]}`, "spec.include[0]", "exactly one rule key, has 0"},
		{"rule not an object", `{"name":"staff","include":["everyone"]}`, "spec.include[0]", "rule object"},
		{"rule null", `{"name":"staff","include":[null]}`, "spec.include[0]", "rule object"},
		{"rule value not an object", `{"name":"staff","include":[{"everyone":true}]}`, "spec.include[0]", `rule "everyone" must be an object`},
		{"bad exclude", `{"name":"staff",` + everyone + `,"exclude":[{"everyone":{}},{"nobody":{}}]}`, "spec.exclude[1]", `unknown rule "nobody"`},
		{"bad require", `{"name":"staff",` + everyone + `,"require":[{"ip":"10.0.0.0/8"}]}`, "spec.require[0]", `rule "ip" must be an object`},
		{"bad account", `{"name":"staff",` + everyone + `,"accountId":"a/b"}`, "spec.accountId", "account id"},
		{"bad id", `{"name":"staff",` + everyone + `,"id":"staff"}`, "spec.id", "UUID"},
		{"bad take over", `{"name":"staff",` + everyone + `,"takeOver":"x"}`, "spec.takeOver", "UUID"},
		{"id and take over", `{"name":"staff",` + everyone + `,"id":"` + uuid1 + `","takeOver":"` + uuid1 + `"}`, "spec.takeOver", "not both"},
		{"credentials without account", `{"name":"staff",` + everyone + `,"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

// Rules are canonical whatever their formatting or key order: the hash
// does not change, and no update is planned for it.
func TestAggregate(t *testing.T) {
	frag := func(src string, spec string) api.Fragment {
		return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: 2, Spec: json.RawMessage(spec)}
	}
	a := frag("a", `{"include":[ {"saml":{"attribute_value":"eng","attribute_name":"team"}} ],"name":"staff","id":"`+strings.ToUpper(uuid1)+`"}`)
	b := frag("b", `{"name":"other","include":[{"everyone":{}}]}`)
	r1, err := New().Aggregate(testTarget, []api.Fragment{a, b})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, []api.Fragment{b, a})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"staff","include":[{"saml":{"attribute_name":"team","attribute_value":"eng"}}],"id":"` + uuid1 + `"}`
	if !bytes.Equal(r1.Desired, r2.Desired) || string(r1.Desired) != want {
		t.Fatalf("desired %s / %s, want %s", r1.Desired, r2.Desired, want)
	}
	if len(r1.Conflicts) != 1 || r1.Conflicts[0].Loser.Name != "b" || r1.Conflicts[0].Key != "accessGroup" {
		t.Fatalf("conflicts %+v", r1.Conflicts)
	}
}
