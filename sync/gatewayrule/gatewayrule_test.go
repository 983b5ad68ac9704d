package gatewayrule

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "main"}

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "a"}
	rule := func(fields string) string { return `{"rules":[{"name":"r",` + fields + `}]}` }
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"no rules", `{"rules":[]}`, "", ""},
		{"dns block", rule(`"action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $blocked)"`), "", ""},
		{"every field", `{"accountId":"acc1","credentials":{"namespace":"infra","name":"cloudflare","key":"token"},"rules":[{"name":"r","description":"d","action":"block","enabled":false,"filters":["dns"],` +
			`"traffic":"any(dns.domains[*] in ${team-a/blocked})","identity":"identity.email == \"a@example.com\"","devicePosture":"","precedence":10,` +
			`"ruleSettings":{"block_page_enabled":true,"block_reason":"no"},"schedule":{"mon":"08:00-12:00","time_zone":"UTC"}}]}`, "", ""},
		{"http isolate", rule(`"action":"isolate","filters":["http"],"ruleSettings":{"biso_admin_controls":{"dp":true}}`), "", ""},
		{"l4 override", rule(`"action":"l4_override","filters":["l4"],"ruleSettings":{"l4override":{"ip":"10.0.0.1","port":80}}`), "", ""},
		{"egress", rule(`"action":"egress","filters":["egress"],"ruleSettings":{"egress":{"ipv4":"192.0.2.1","ipv6":"2001:db8::/64","ipv4_fallback":""}}`), "", ""},
		{"resolver", rule(`"action":"resolve","filters":["dns_resolver"]`), "", ""},
		{"unknown field", rule(`"action":"block","filters":["dns"],"expression":"x"`), "spec.rules[0].expression", "unknown field"},
		{"no name", `{"rules":[{"action":"block","filters":["dns"]}]}`, "spec.rules[0].name", "required"},
		{"two names alike", `{"rules":[{"name":"r","action":"block","filters":["dns"]},{"name":"r","action":"allow","filters":["dns"]}]}`, "spec.rules[1].name", "already rules[0]"},
		{"no filter", rule(`"action":"block"`), "spec.rules[0].filters", "exactly one filter"},
		{"two filters", rule(`"action":"block","filters":["dns","http"]`), "spec.rules[0].filters", "exactly one filter"},
		{"unknown filter", rule(`"action":"block","filters":["smtp"]`), "spec.rules[0].filters[0]", `"smtp" is not a filter`},
		{"action not of the filter", rule(`"action":"isolate","filters":["dns"]`), "spec.rules[0].action", `"isolate" is not an action of a dns rule`},
		{"no action", rule(`"filters":["l4"]`), "spec.rules[0].action", `"" is not an action of a l4 rule`},
		{"unknown setting", rule(`"action":"block","filters":["dns"],"ruleSettings":{"block_reasons":"x"}`), "spec.rules[0].ruleSettings", "unknown field"},
		{"setting of the wrong type", rule(`"action":"block","filters":["dns"],"ruleSettings":{"block_page_enabled":"yes"}`), "spec.rules[0].ruleSettings", "cannot unmarshal"},
		{"schedule on http", rule(`"action":"block","filters":["http"],"schedule":{"mon":"08:00-12:00"}`), "spec.rules[0].schedule", "only valid for dns rules"},
		{"unbalanced expression", rule(`"action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $x"`), "spec.rules[0].traffic", "unbalanced"},
		{"empty list name", rule(`"action":"block","filters":["dns"],"identity":"identity.email in ${}"`), "spec.rules[0].identity", "must name"},
		{"long description", rule(`"action":"block","filters":["dns"],"description":"` + strings.Repeat("d", 501) + `"`), "spec.rules[0].description", "longer than 500"},
		{"credentials without account", `{"credentials":{"namespace":"infra","name":"cloudflare","key":"token"},"rules":[]}`, "spec.accountId", "required with spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

func aggregate(t *testing.T, frags ...api.Fragment) (Desired, []api.Conflict) {
	t.Helper()
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		t.Fatal(err)
	}
	var d Desired
	if err := json.Unmarshal(res.Desired, &d); err != nil {
		t.Fatal(err)
	}
	return d, res.Conflicts
}

func frag(src string, index uint64, spec string) api.Fragment {
	return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: index, Spec: json.RawMessage(spec)}
}

func order(d Desired) string {
	var out []string
	for _, r := range d.Rules {
		out = append(out, fmt.Sprintf("%s@%d", r.Name, r.Precedence))
	}
	return strings.Join(out, " ")
}

// Explicit precedence first (lowest first), then the rest in fragment
// order; the written precedences keep that order; the same fragments in
// any order give the same bytes.
func TestAggregateOrder(t *testing.T) {
	a := frag("a", 1, `{"rules":[{"name":"a1","action":"allow","filters":["dns"]},{"name":"a2","action":"block","filters":["dns"],"precedence":200}]}`)
	b := frag("b", 2, `{"rules":[{"name":"b1","action":"block","filters":["http"],"precedence":100},{"name":"b2","action":"block","filters":["http"]},{"name":"b3","action":"allow","filters":["l4"],"precedence":200}]}`)
	d, conflicts := aggregate(t, b, a)
	if got := order(d); got != "b1@100 a2@200 b3@201 a1@202 b2@203" || len(conflicts) != 0 {
		t.Fatalf("order %s, conflicts %v", got, conflicts)
	}
	r1, _ := New().Aggregate(testTarget, []api.Fragment{a, b})
	r2, _ := New().Aggregate(testTarget, []api.Fragment{b, a})
	if string(r1.Desired) != string(r2.Desired) {
		t.Fatalf("arrival order changed the output:\n%s\n%s", r1.Desired, r2.Desired)
	}
	if !d.Rules[0].Enabled {
		t.Fatalf("enabled defaults to true: %+v", d.Rules[0])
	}
}

// A rule name two fragments give belongs to the one registered first; a
// fragment naming another account loses all its rules. Both losers are
// told.
func TestAggregateConflicts(t *testing.T) {
	a := frag("a", 1, `{"rules":[{"name":"shared","action":"allow","filters":["dns"]}]}`)
	b := frag("b", 2, `{"rules":[{"name":"shared","action":"block","filters":["dns"]},{"name":"own","action":"block","filters":["dns"]}]}`)
	c := frag("c", 3, `{"accountId":"other","rules":[{"name":"c1","action":"block","filters":["dns"]}]}`)
	d, conflicts := aggregate(t, c, b, a)
	if got := order(d); got != "shared@1 own@2" || d.Rules[0].Action != "allow" {
		t.Fatalf("rules %s %+v", got, d.Rules)
	}
	if len(conflicts) != 2 || conflicts[0].Key != "rule shared" || conflicts[0].Loser.Name != "b" || conflicts[0].Winner.Name != "a" ||
		conflicts[1].Key != "account" || conflicts[1].Loser.Name != "c" || !strings.Contains(conflicts[1].Reason, `names "other"`) {
		t.Fatalf("conflicts %+v", conflicts)
	}
}
