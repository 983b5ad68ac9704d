package vnet

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "lab"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "lab"}
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"name only", `{"name":"lab"}`, "", ""},
		{"every field", `{"accountId":"acc1","name":"lab","comment":"test lab","isDefaultNetwork":true,"adopt":true}`, "", ""},
		{"by id", `{"name":"lab","id":"` + strings.ToUpper(uuid1) + `"}`, "", ""},
		{"take over", `{"name":"lab","takeOver":"` + uuid1 + `"}`, "", ""},
		{"credentials", `{"accountId":"acc1","name":"lab","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"unknown field", `{"name":"lab","is_default":true}`, "spec.is_default", "unknown field"},
		{"no name", `{"comment":"x"}`, "spec.name", "required"},
		{"spaces around the name", `{"name":" lab"}`, "spec.name", "spaces"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `"}`, "spec.name", "longer than 255"},
		{"control character in the name", `{"name":"l\tab"}`, "spec.name", "control characters"},
		{"long comment", `{"name":"lab","comment":"` + strings.Repeat("c", 101) + `"}`, "spec.comment", "longer than 100"},
		{"newline in the comment", `{"name":"lab","comment":"a\nb"}`, "spec.comment", "newlines"},
		{"bad account", `{"name":"lab","accountId":"a/b"}`, "spec.accountId", "account id"},
		{"bad id", `{"name":"lab","id":"default"}`, "spec.id", "UUID"},
		{"bad take over", `{"name":"lab","takeOver":"x"}`, "spec.takeOver", "UUID"},
		{"id and take over", `{"name":"lab","id":"` + uuid1 + `","takeOver":"` + uuid1 + `"}`, "spec.takeOver", "not both"},
		{"credentials without account", `{"name":"lab","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
		{"credentials without key", `{"accountId":"acc1","name":"lab","credentials":{"namespace":"infra","name":"cloudflare"}}`, "spec.credentials.key", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

func TestAggregate(t *testing.T) {
	frag := func(src string, spec string) api.Fragment {
		return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: 2, Spec: json.RawMessage(spec)}
	}
	a := frag("a", `{"comment":"c","name":"lab","id":"`+strings.ToUpper(uuid1)+`"}`)
	b := frag("b", `{"name":"other"}`)
	r1, err := New().Aggregate(testTarget, []api.Fragment{a, b})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, []api.Fragment{b, a})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"lab","comment":"c","id":"` + uuid1 + `"}`
	if !bytes.Equal(r1.Desired, r2.Desired) || string(r1.Desired) != want {
		t.Fatalf("desired %s / %s, want %s", r1.Desired, r2.Desired, want)
	}
	if len(r1.Conflicts) != 1 || r1.Conflicts[0].Loser.Name != "b" || r1.Conflicts[0].Key != "virtualNetwork" {
		t.Fatalf("conflicts %+v", r1.Conflicts)
	}
}
