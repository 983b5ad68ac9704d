package gatewaylist

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "blocked"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "blocked"}
	items := func(typ string, vals ...string) string {
		var parts []string
		for _, v := range vals {
			b, _ := json.Marshal(v)
			parts = append(parts, `{"value":`+string(b)+`}`)
		}
		return `{"name":"l","type":"` + typ + `","items":[` + strings.Join(parts, ",") + `]}`
	}
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"empty list", `{"name":"l","type":"DOMAIN"}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"l","description":"bad ones","type":"domain","items":[{"value":"a.example.com","description":"x"}],"adopt":true}`, "", ""},
		{"ips", items("IP", "10.0.0.1", "10.0.0.0/8", "2001:db8::/32"), "", ""},
		{"emails", items("EMAIL", "a@example.com"), "", ""},
		{"urls", items("URL", "example.com/path", "https://example.com/x?y=1"), "", ""},
		{"serials", items("SERIAL", "C02XK1ZJJGH5", "8TX-9F2"), "", ""},
		{"by id", `{"name":"l","type":"IP","id":"` + uuid1 + `"}`, "", ""},
		{"unknown field", `{"name":"l","type":"IP","entries":[]}`, "spec.entries", "unknown field"},
		{"no name", `{"type":"IP"}`, "spec.name", "required"},
		{"no type", `{"name":"l"}`, "spec.type", "not a list type"},
		{"unknown type", `{"name":"l","type":"CATEGORY"}`, "spec.type", "not a list type"},
		{"long description", `{"name":"l","type":"IP","description":"` + strings.Repeat("d", 101) + `"}`, "spec.description", "longer than 100"},
		{"bad ip", items("IP", "10.0.0.1", "10.0.0.300"), "spec.items[1].value", "not an IP address"},
		{"bad email", items("EMAIL", "someone"), "spec.items[0].value", "not an email address"},
		{"named email", items("EMAIL", "Someone <a@example.com>"), "spec.items[0].value", "white space"},
		{"bad domain", items("DOMAIN", "example.com", "https://example.com"), "spec.items[1].value", "not a domain name"},
		{"wildcard domain", items("DOMAIN", "*.example.com"), "spec.items[0].value", "not a domain name"},
		{"bad url", items("URL", "https://"), "spec.items[0].value", "not a URL"},
		{"bad serial", items("SERIAL", "#12"), "spec.items[0].value", "serial number"},
		{"empty value", items("SERIAL", ""), "spec.items[0].value", "required"},
		{"duplicate value", items("IP", "10.0.0.1", "10.0.0.2", "10.0.0.1"), "spec.items[2].value", "already items[0]"},
		{"bad account", `{"name":"l","type":"IP","accountId":"a/b"}`, "spec.accountId", "account id"},
		{"bad id", `{"name":"l","type":"IP","id":"l"}`, "spec.id", "UUID"},
		{"id and take over", `{"name":"l","type":"IP","id":"` + uuid1 + `","takeOver":"` + uuid1 + `"}`, "spec.takeOver", "not both"},
		{"credentials without account", `{"name":"l","type":"IP","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

// Items are a set: their order does not change the desired state.
func TestAggregateItemsAreASet(t *testing.T) {
	agg := func(spec string) string {
		res, err := New().Aggregate(testTarget, []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "a"}, Spec: json.RawMessage(spec)}})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Desired)
	}
	a := agg(`{"name":"l","type":"ip","items":[{"value":"10.0.0.2"},{"value":"10.0.0.1"}]}`)
	b := agg(`{"name":"l","type":"IP","items":[{"value":"10.0.0.1"},{"value":"10.0.0.2"}]}`)
	if a != b || !strings.Contains(a, `"type":"IP"`) {
		t.Fatalf("%s\n%s", a, b)
	}
}
