package servicetoken

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "ci"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "ci"}
	const file = `"file":"/var/lib/conflux-sync/ci.json"`
	const secret = `"secret":{"namespace":"apps","name":"ci-token"}`
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"file", `{"name":"ci",` + file + `}`, "", ""},
		{"secret", `{"name":"ci",` + secret + `}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"ci","duration":"2160h","refreshBefore":"720h",` + file + `,` +
			`"secret":{"namespace":"apps","name":"ci-token","clientIdKey":"id","clientSecretKey":"secret"},"takeOver":"` + strings.ToUpper(uuid1) + `",` +
			`"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"forever", `{"name":"ci","duration":"forever",` + file + `}`, "", ""},
		{"minutes", `{"name":"ci","duration":"90m",` + file + `}`, "", ""},
		{"unknown field", `{"name":"ci",` + file + `,"client_secret":"x"}`, "spec.client_secret", "unknown field"},
		{"no name", `{` + file + `}`, "spec.name", "required"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `",` + file + `}`, "spec.name", "longer than 255"},
		{"nowhere to deliver", `{"name":"ci"}`, "spec.secret", "must be delivered"},
		{"days", `{"name":"ci","duration":"365d",` + file + `}`, "spec.duration", "not a positive duration"},
		{"negative", `{"name":"ci","duration":"-1h",` + file + `}`, "spec.duration", "not a positive duration"},
		{"bad refresh", `{"name":"ci","refreshBefore":"soon",` + file + `}`, "spec.refreshBefore", "not a positive duration"},
		{"refresh forever", `{"name":"ci","duration":"forever","refreshBefore":"1h",` + file + `}`, "spec.refreshBefore", "never expires"},
		{"refresh too long", `{"name":"ci","duration":"24h","refreshBefore":"24h",` + file + `}`, "spec.refreshBefore", "shorter than the duration (24h)"},
		{"refresh default duration", `{"name":"ci","refreshBefore":"9000h",` + file + `}`, "spec.refreshBefore", "shorter than the duration (8760h)"},
		{"relative file", `{"name":"ci","file":"ci.json"}`, "spec.file", "absolute"},
		{"unclean file", `{"name":"ci","file":"/var/../ci.json"}`, "spec.file", "clean path"},
		{"directory", `{"name":"ci","file":"/var/lib/"}`, "spec.file", "clean path"},
		{"secret without name", `{"name":"ci","secret":{"namespace":"apps"}}`, "spec.secret.name", "required"},
		{"secret without namespace", `{"name":"ci","secret":{"name":"x"}}`, "spec.secret.namespace", "required"},
		{"secret name upper case", `{"name":"ci","secret":{"namespace":"apps","name":"CI"}}`, "spec.secret.name", "not a Kubernetes name"},
		{"secret namespace with a dot", `{"name":"ci","secret":{"namespace":"a.b","name":"ci"}}`, "spec.secret.namespace", "not a Kubernetes namespace"},
		{"bad key", `{"name":"ci","secret":{"namespace":"apps","name":"ci","clientIdKey":"a/b"}}`, "spec.secret.clientIdKey", "not a Secret key"},
		{"same keys", `{"name":"ci","secret":{"namespace":"apps","name":"ci","clientIdKey":"CF_ACCESS_CLIENT_SECRET"}}`, "spec.secret.clientSecretKey", "differ"},
		{"bad take over", `{"name":"ci",` + file + `,"takeOver":"x"}`, "spec.takeOver", "UUID"},
		{"credentials without account", `{"name":"ci",` + file + `,"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
		{"bad account", `{"name":"ci",` + file + `,"accountId":"a/b"}`, "spec.accountId", "account id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

// Saying the defaults or not is the same target.
func TestAggregateDefaults(t *testing.T) {
	frag := func(spec string) []api.Fragment {
		return []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "a"}, CreateIndex: 1, Spec: json.RawMessage(spec)}}
	}
	r1, err := New().Aggregate(testTarget, frag(`{"name":"ci","secret":{"namespace":"apps","name":"ci"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, frag(`{"name":"ci","duration":"8760h","secret":{"namespace":"apps","name":"ci","clientIdKey":"CF_ACCESS_CLIENT_ID","clientSecretKey":"CF_ACCESS_CLIENT_SECRET"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(r1.Desired) != string(r2.Desired) || !strings.Contains(string(r1.Desired), `"duration":"8760h"`) {
		t.Fatalf("%s != %s", r1.Desired, r2.Desired)
	}
}
