package route

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "office"}

const uuid1 = "0b7c1f0e-1111-4222-8333-444455556666"

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "NetworkRoute", Namespace: "default", Name: "office"}
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"by tunnel name", `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge"}`, "", ""},
		{"by tunnel id", `{"network":"10.1.0.0/16","tunnelId":"` + strings.ToUpper(uuid1) + `","virtualNetworkId":"` + uuid1 + `","comment":"office","adopt":true,"accountId":"acc1"}`, "", ""},
		{"ipv6", `{"network":"2001:DB8::/32","tunnel":"edge"}`, "", ""},
		{"host route", `{"network":"192.168.1.7/32","tunnel":"edge"}`, "", ""},
		{"unknown field", `{"network":"10.0.0.0/8","tunnel":"edge","cidr":"x"}`, "spec.cidr", "unknown field"},
		{"no network", `{"tunnel":"edge"}`, "spec.network", "required"},
		{"not a cidr", `{"network":"10.0.0.0","tunnel":"edge"}`, "spec.network", "not a CIDR"},
		{"host bits", `{"network":"10.1.2.3/8","tunnel":"edge"}`, "spec.network", "the network is 10.0.0.0/8"},
		{"4in6", `{"network":"::ffff:10.0.0.0/104","tunnel":"edge"}`, "spec.network", "IPv4-mapped"},
		{"no tunnel", `{"network":"10.0.0.0/8"}`, "spec.tunnel", "required"},
		{"both tunnels", `{"network":"10.0.0.0/8","tunnel":"edge","tunnelId":"` + uuid1 + `"}`, "spec.tunnelId", "not both"},
		{"bad tunnel id", `{"network":"10.0.0.0/8","tunnelId":"abc"}`, "spec.tunnelId", "UUID"},
		{"bad vnet", `{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"default"}`, "spec.virtualNetworkId", "UUID"},
		{"long comment", `{"network":"10.0.0.0/8","tunnel":"edge","comment":"` + strings.Repeat("x", 101) + `"}`, "spec.comment", "longer"},
		{"newline comment", `{"network":"10.0.0.0/8","tunnel":"edge","comment":"a\nb"}`, "spec.comment", "newlines"},
		{"bad account", `{"network":"10.0.0.0/8","tunnel":"edge","accountId":"a/b"}`, "spec.accountId", "account id"},
		{"credentials, account from the tunnel", `{"network":"10.0.0.0/8","tunnel":"edge","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"credentials with tunnelId", `{"network":"10.0.0.0/8","tunnelId":"` + uuid1 + `","accountId":"acc1","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"credentials, tunnelId, no account", `{"network":"10.0.0.0/8","tunnelId":"` + uuid1 + `","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
		{"credentials without key", `{"network":"10.0.0.0/8","tunnel":"edge","credentials":{"namespace":"infra","name":"cloudflare"}}`, "spec.credentials.key", "required"},
		{"credentials with slash", `{"network":"10.0.0.0/8","tunnel":"edge","credentials":{"namespace":"infra","name":"a/b","key":"token"}}`, "spec.credentials.name", "'/'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Validate(testTarget, src, json.RawMessage(tt.spec))
			kindtest.CheckValidation(t, err, tt.field, tt.reason)
		})
	}
}

func frag(src string, idx uint64, spec string) api.Fragment {
	return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: idx, Spec: json.RawMessage(spec)}
}

func TestAggregate(t *testing.T) {
	a := frag("a", 2, `{"comment":"c","network":"2001:DB8::/32","tunnelId":"`+strings.ToUpper(uuid1)+`"}`)
	b := frag("b", 2, `{"network":"10.0.0.0/8","tunnel":"edge"}`)
	r1, err := New().Aggregate(testTarget, []api.Fragment{a, b})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, []api.Fragment{b, a})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"network":"2001:db8::/32","tunnelId":"` + uuid1 + `","comment":"c"}`
	if !bytes.Equal(r1.Desired, r2.Desired) || string(r1.Desired) != want {
		t.Fatalf("desired %s / %s, want %s", r1.Desired, r2.Desired, want)
	}
	if len(r1.Conflicts) != 1 || r1.Conflicts[0].Loser.Name != "b" || r1.Conflicts[0].Key != "route" {
		t.Fatalf("conflicts %+v", r1.Conflicts)
	}
	if r, err := New().Aggregate(testTarget, nil); err != nil || r.Desired != nil {
		t.Fatalf("no fragments: %+v %v", r, err)
	}
}
