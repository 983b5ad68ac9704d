package access

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

var testTarget = api.TargetRef{Kind: Name, Name: "default/app"}

func TestValidate(t *testing.T) {
	src := api.SourceRef{Kind: "AccessApplication", Namespace: "default", Name: "app"}
	tests := []struct {
		name, spec, field, reason string // field "" = valid
	}{
		{"minimal", `{"name":"app","domain":"app.example.com"}`, "", ""},
		{"full", `{"accountId":"acc1","name":"app","domain":"App.Example.com/admin","type":"ssh","sessionDuration":"30m","policies":["p2","p1"],"allowedIdps":["i1"],"autoRedirectToIdentity":true,"appLauncherVisible":false,"tags":["t"],"adopt":true,"id":"0b7c1f0e-1111-4222-8333-444455556666"}`, "", ""},
		{"wildcard", `{"name":"app","domain":"*.example.com"}`, "", ""},
		{"vnc", `{"name":"app","domain":"vnc.example.com","type":"vnc"}`, "", ""},
		{"unknown field", `{"name":"app","domain":"a.example.com","polices":[]}`, "spec.polices", "unknown field"},
		{"wrong type", `{"name":"app","domain":"a.example.com","adopt":"yes"}`, "spec.adopt", "must be true or false"},
		{"no name", `{"domain":"a.example.com"}`, "spec.name", "required"},
		{"blank name", `{"name":"  ","domain":"a.example.com"}`, "spec.name", "required"},
		{"no domain", `{"name":"app"}`, "spec.domain", "required"},
		{"scheme", `{"name":"app","domain":"https://a.example.com"}`, "spec.domain", "scheme"},
		{"port", `{"name":"app","domain":"a.example.com:8443"}`, "spec.domain", "port"},
		{"single label", `{"name":"app","domain":"localhost"}`, "spec.domain", "fully qualified"},
		{"bad char", `{"name":"app","domain":"a_b.example.com"}`, "spec.domain", "may only contain"},
		{"inner wildcard", `{"name":"app","domain":"a.*.example.com"}`, "spec.domain", "may only contain"},
		{"query in path", `{"name":"app","domain":"a.example.com/x?y"}`, "spec.domain", "path"},
		{"bad type", `{"name":"app","domain":"a.example.com","type":"saas"}`, "spec.type", "self_hosted"},
		{"bad duration", `{"name":"app","domain":"a.example.com","sessionDuration":"1 day"}`, "spec.sessionDuration", "not a duration"},
		{"zero duration", `{"name":"app","domain":"a.example.com","sessionDuration":"0s"}`, "spec.sessionDuration", "positive"},
		{"empty policy", `{"name":"app","domain":"a.example.com","policies":["p",""]}`, "spec.policies[1]", "empty"},
		{"dup idp", `{"name":"app","domain":"a.example.com","allowedIdps":["i","i"]}`, "spec.allowedIdps[1]", "duplicates spec.allowedIdps[0]"},
		{"tag with space", `{"name":"app","domain":"a.example.com","tags":["a b"]}`, "spec.tags[0]", "spaces"},
		{"bad id", `{"name":"app","domain":"a.example.com","id":"x/y"}`, "spec.id", "application id"},
		{"bad account", `{"accountId":"a b","name":"app","domain":"a.example.com"}`, "spec.accountId", "account id"},
		{"credentials", `{"accountId":"acc1","name":"app","domain":"a.example.com","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "", ""},
		{"credentials without account", `{"name":"app","domain":"a.example.com","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`, "spec.accountId", "required with spec.credentials"},
		{"credentials without namespace", `{"accountId":"acc1","name":"app","domain":"a.example.com","credentials":{"name":"n","key":"k"}}`, "spec.credentials.namespace", "required"},
		{"credentials with space", `{"accountId":"acc1","name":"app","domain":"a.example.com","credentials":{"namespace":"n","name":"n","key":"a b"}}`, "spec.credentials.key", "spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Validate(testTarget, src, json.RawMessage(tt.spec))
			kindtest.CheckValidation(t, err, tt.field, tt.reason)
		})
	}
	if err := New().Validate(api.TargetRef{Kind: "cloudflare.Tunnel", Name: "x"}, src, json.RawMessage(`{}`)); err == nil {
		t.Fatal("a target of another kind must be rejected")
	}
}

func frag(src string, idx uint64, spec string) api.Fragment {
	return api.Fragment{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: idx, Spec: json.RawMessage(spec)}
}

func TestAggregate(t *testing.T) {
	a := frag("a", 5, `{"tags":["z","a"],"domain":"App.Example.com/Admin","name":"app","allowedIdps":["y","x"],"policies":["p2","p1"]}`)
	b := frag("b", 3, `{"name":"other","domain":"other.example.com"}`)
	c := frag("c", 9, `{"name":"third","domain":"third.example.com"}`)

	r1, err := New().Aggregate(testTarget, []api.Fragment{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New().Aggregate(testTarget, []api.Fragment{c, a, b})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r1.Desired, r2.Desired) || len(r1.Conflicts) != 2 {
		t.Fatalf("order changed the result or conflicts wrong:\n%s\n%s\n%+v", r1.Desired, r2.Desired, r1.Conflicts)
	}
	want := `{"name":"other","domain":"other.example.com","type":"self_hosted","sessionDuration":"24h","appLauncherVisible":true}`
	if string(r1.Desired) != want {
		t.Fatalf("desired = %s\nwant      %s", r1.Desired, want)
	}
	for _, c := range r1.Conflicts {
		if c.Winner.Name != "b" || c.Key != "application" {
			t.Fatalf("conflict %+v", c)
		}
	}

	r, err := New().Aggregate(testTarget, []api.Fragment{a})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"name":"app","domain":"app.example.com/Admin","type":"self_hosted","sessionDuration":"24h","policies":["p2","p1"],"allowedIdps":["x","y"],"appLauncherVisible":true,"tags":["a","z"]}`
	if string(r.Desired) != want || len(r.Conflicts) != 0 {
		t.Fatalf("desired = %s\nwant      %s", r.Desired, want)
	}

	r, err = New().Aggregate(testTarget, nil)
	if err != nil || r.Desired != nil || r.Hash() != "" {
		t.Fatalf("no fragments: %+v %v", r, err)
	}
}
