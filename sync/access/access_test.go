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
		{"bad type", `{"name":"app","domain":"a.example.com","type":"web"}`, "spec.type", "must be one of self_hosted, ssh, vnc, saas and bookmark"},
		{"app_launcher", `{"name":"app","type":"app_launcher"}`, "spec.type", "app_launcher applications are not synced (the App Launcher is the account's one built-in application"},
		{"warp", `{"name":"app","type":"warp"}`, "spec.type", "warp applications are not synced"},
		{"biso", `{"name":"app","type":"biso"}`, "spec.type", "biso applications are not synced"},
		{"infrastructure", `{"name":"app","type":"infrastructure"}`, "spec.type", "target criteria are not synced"},

		// Self-hosted settings.
		{"every self-hosted setting", `{"name":"app","domain":"a.example.com","destinations":[{"type":"public","uri":"a.example.com"},{"type":"public","uri":"b.example.com/x"},{"type":"private","cidr":"10.0.0.0/24","portRange":"80-443","l4Protocol":"tcp","vnetId":"0b7c1f0e-1111-4222-8333-444455556666"},{"type":"private","hostname":"db.internal.example"}],"customDenyMessage":"no","customDenyUrl":"https://deny.example.com","customNonIdentityDenyUrl":"https://deny.example.com/ni","customPages":["pg1"],"enableBindingCookie":true,"httpOnlyCookieAttribute":false,"sameSiteCookieAttribute":"strict","pathCookieAttribute":true,"logoUrl":"https://logo.example.com/l.png","serviceAuth401Redirect":true,"skipInterstitial":true,"allowAuthenticateViaWarp":false,"corsHeaders":{"allowedMethods":["GET","POST"],"allowedOrigins":["https://x.example.com"],"allowCredentials":true,"maxAge":600}}`, "", ""},
		{"domain from destinations", `{"name":"app","destinations":[{"type":"private","cidr":"10.0.0.0/8"},{"type":"public","uri":"a.example.com"}]}`, "", ""},
		{"only private destinations need a domain", `{"name":"app","destinations":[{"type":"private","cidr":"10.0.0.0/8"}]}`, "spec.domain", "required"},
		{"domain not first public", `{"name":"app","domain":"b.example.com","destinations":[{"type":"public","uri":"a.example.com"},{"type":"public","uri":"b.example.com"}]}`, "spec.domain", `must be the first public destination's uri ("a.example.com")`},
		{"bad destination type", `{"name":"app","domain":"a.example.com","destinations":[{"type":"internal","uri":"a.example.com"}]}`, "spec.destinations[0].type", `must be "public" or "private"`},
		{"public with cidr", `{"name":"app","domain":"a.example.com","destinations":[{"type":"public","uri":"a.example.com","cidr":"10.0.0.0/8"}]}`, "spec.destinations[0]", "only a uri"},
		{"public with scheme", `{"name":"app","domain":"a.example.com","destinations":[{"type":"public","uri":"https://a.example.com"}]}`, "spec.destinations[0].uri", "scheme"},
		{"private with both", `{"name":"app","domain":"a.example.com","destinations":[{"type":"private","cidr":"10.0.0.0/8","hostname":"db.example.com"}]}`, "spec.destinations[0]", "exactly one of hostname and cidr"},
		{"private host bits", `{"name":"app","domain":"a.example.com","destinations":[{"type":"private","cidr":"10.0.0.1/8"}]}`, "spec.destinations[0].cidr", "not a network"},
		{"private port range", `{"name":"app","domain":"a.example.com","destinations":[{"type":"private","cidr":"10.0.0.0/8","portRange":"443-80"}]}`, "spec.destinations[0].portRange", "not a port"},
		{"private protocol", `{"name":"app","domain":"a.example.com","destinations":[{"type":"private","cidr":"10.0.0.0/8","l4Protocol":"icmp"}]}`, "spec.destinations[0].l4Protocol", `must be "tcp" or "udp"`},
		{"dup destination", `{"name":"app","domain":"a.example.com","destinations":[{"type":"public","uri":"a.example.com"},{"type":"public","uri":"A.example.com"}]}`, "spec.destinations[1]", "duplicates spec.destinations[0]"},
		{"deny url", `{"name":"app","domain":"a.example.com","customDenyUrl":"deny.example.com"}`, "spec.customDenyUrl", "not an absolute http(s) URL"},
		{"logo url", `{"name":"app","domain":"a.example.com","logoUrl":"ftp://x.example.com/l.png"}`, "spec.logoUrl", "not an absolute http(s) URL"},
		{"same site", `{"name":"app","domain":"a.example.com","sameSiteCookieAttribute":"Strict"}`, "spec.sameSiteCookieAttribute", `must be "strict", "lax" or "none"`},
		{"preflight with cors", `{"name":"app","domain":"a.example.com","optionsPreflightBypass":true,"corsHeaders":{"allowAllOrigins":true}}`, "spec.optionsPreflightBypass", "cannot be turned on with corsHeaders"},
		{"cors method", `{"name":"app","domain":"a.example.com","corsHeaders":{"allowedMethods":["get"]}}`, "spec.corsHeaders.allowedMethods[0]", "must be one of GET"},
		{"cors max age", `{"name":"app","domain":"a.example.com","corsHeaders":{"maxAge":86401}}`, "spec.corsHeaders.maxAge", "between -1 and 86400"},
		{"cors unknown", `{"name":"app","domain":"a.example.com","corsHeaders":{"allowOrigins":["*"]}}`, "spec.corsHeaders.allowOrigins", "unknown field"},
		{"saasApp on self_hosted", `{"name":"app","domain":"a.example.com","saasApp":{"authType":"oidc"}}`, "spec.saasApp", "only for type saas"},

		// SaaS.
		{"saml", `{"name":"app","type":"saas","allowedIdps":["i"],"customPages":["p"],"logoUrl":"https://l.example.com/x.png","tags":["t"],"saasApp":{"authType":"saml","spEntityId":"https://sp.example.com","consumerServiceUrl":"https://sp.example.com/acs","nameIdFormat":"id","defaultRelayState":"/home","customAttributes":[{"name":"email","nameFormat":"urn:oasis:names:tc:SAML:2.0:attrname-format:basic","friendlyName":"Email","required":true,"source":{"name":"email","nameByIdp":{"i":"mail"}}}]}}`, "", ""},
		{"oidc", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","redirectUris":["https://sp.example.com/cb","myapp://cb"],"grantTypes":["authorization_code_with_pkce","refresh_tokens"],"scopes":["openid","email"],"appLauncherUrl":"https://sp.example.com","groupFilterRegex":"^eng-","customClaims":[{"name":"dept","scope":"profile","source":{"name":"department"}}],"allowPkceWithoutClientSecret":true,"accessTokenLifetime":"5m","refreshTokenLifetime":"720h","hybridAndImplicitOptions":{"returnIdTokenFromAuthorizationEndpoint":true}}}`, "", ""},
		{"saas without saasApp", `{"name":"app","type":"saas"}`, "spec.saasApp", "required for a saas application"},
		{"saas with domain", `{"name":"app","type":"saas","domain":"a.example.com","saasApp":{"authType":"oidc"}}`, "spec.domain", "Cloudflare assigns its domain"},
		{"saas with session", `{"name":"app","type":"saas","sessionDuration":"1h","saasApp":{"authType":"oidc"}}`, "spec.sessionDuration", "not a setting of saas applications"},
		{"saas with cookie", `{"name":"app","type":"saas","enableBindingCookie":true,"saasApp":{"authType":"oidc"}}`, "spec.enableBindingCookie", "not a setting of saas applications"},
		{"saas with destinations", `{"name":"app","type":"saas","destinations":[{"type":"public","uri":"a.example.com"}],"saasApp":{"authType":"oidc"}}`, "spec.destinations", "not a setting of saas applications"},
		{"saas no auth type", `{"name":"app","type":"saas","saasApp":{}}`, "spec.saasApp.authType", "required"},
		{"saas bad auth type", `{"name":"app","type":"saas","saasApp":{"authType":"ws-fed"}}`, "spec.saasApp.authType", `must be "saml" or "oidc"`},
		{"saml with oidc field", `{"name":"app","type":"saas","saasApp":{"authType":"saml","spEntityId":"x","consumerServiceUrl":"https://x.example.com","scopes":["openid"]}}`, "spec.saasApp.scopes", "not a setting of saml SaaS applications"},
		{"oidc with saml field", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","spEntityId":"x"}}`, "spec.saasApp.spEntityId", "not a setting of oidc SaaS applications"},
		{"saml without entity", `{"name":"app","type":"saas","saasApp":{"authType":"saml","consumerServiceUrl":"https://x.example.com"}}`, "spec.saasApp.spEntityId", "required"},
		{"saml without acs", `{"name":"app","type":"saas","saasApp":{"authType":"saml","spEntityId":"x"}}`, "spec.saasApp.consumerServiceUrl", "required"},
		{"saml name id", `{"name":"app","type":"saas","saasApp":{"authType":"saml","spEntityId":"x","consumerServiceUrl":"https://x.example.com","nameIdFormat":"upn"}}`, "spec.saasApp.nameIdFormat", `must be "email" or "id"`},
		{"saml attribute source", `{"name":"app","type":"saas","saasApp":{"authType":"saml","spEntityId":"x","consumerServiceUrl":"https://x.example.com","customAttributes":[{"name":"a","source":{}}]}}`, "spec.saasApp.customAttributes[0].source.name", "required"},
		{"oidc grant", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","grantTypes":["client_credentials"]}}`, "spec.saasApp.grantTypes[0]", "must be one of authorization_code"},
		{"oidc scope", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","scopes":["offline"]}}`, "spec.saasApp.scopes[0]", "must be one of openid"},
		{"oidc redirect", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","redirectUris":["/cb"]}}`, "spec.saasApp.redirectUris[0]", "not an absolute URI"},
		{"oidc regex", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","groupFilterRegex":"("}}`, "spec.saasApp.groupFilterRegex", "not a regular expression"},
		{"oidc lifetime", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","accessTokenLifetime":"forever"}}`, "spec.saasApp.accessTokenLifetime", "not a duration from 1m to 24h"},
		{"oidc access lifetime in days", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","accessTokenLifetime":"2d"}}`, "spec.saasApp.accessTokenLifetime", "not a duration from 1m to 24h"},
		{"oidc refresh lifetime in days", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","refreshTokenLifetime":"30d"}}`, "", ""},
		{"oidc refresh lifetime too short", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","refreshTokenLifetime":"30s"}}`, "spec.saasApp.refreshTokenLifetime", "longer than 1m"},
		{"oidc client secret", `{"name":"app","type":"saas","saasApp":{"authType":"oidc","clientSecret":"s"}}`, "spec.saasApp.clientSecret", "unknown field"},

		// Bookmarks.
		{"bookmark", `{"name":"docs","type":"bookmark","domain":"docs.example.com","logoUrl":"https://l.example.com/x.png","appLauncherVisible":true,"tags":["t"]}`, "", ""},
		{"bookmark policies", `{"name":"docs","type":"bookmark","domain":"docs.example.com","policies":["p"]}`, "spec.policies", "not a setting of bookmark applications"},
		{"bookmark session", `{"name":"docs","type":"bookmark","domain":"docs.example.com","sessionDuration":"1h"}`, "spec.sessionDuration", "not a setting of bookmark applications"},
		{"bookmark cors", `{"name":"docs","type":"bookmark","domain":"docs.example.com","corsHeaders":{"maxAge":1}}`, "spec.corsHeaders", "not a setting of bookmark applications"},
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

	// Settings: sets sorted, defaults and the domain-only destination
	// written as absent, so equal meanings hash equal.
	a = frag("a", 5, `{"name":"app","domain":"App.example.com","destinations":[{"type":"public","uri":"app.EXAMPLE.com"}],"httpOnlyCookieAttribute":true,"customPages":["b","a"],"corsHeaders":{"allowedMethods":["POST","GET"]}}`)
	r, err = New().Aggregate(testTarget, []api.Fragment{a})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"name":"app","domain":"app.example.com","type":"self_hosted","sessionDuration":"24h","appLauncherVisible":true,"customPages":["a","b"],"corsHeaders":{"allowedMethods":["GET","POST"]}}`
	if string(r.Desired) != want {
		t.Fatalf("desired = %s\nwant      %s", r.Desired, want)
	}
	a = frag("a", 5, `{"name":"app","type":"saas","saasApp":{"authType":"saml","spEntityId":"e","consumerServiceUrl":"https://sp.example.com/acs","nameIdFormat":"email"}}`)
	r, err = New().Aggregate(testTarget, []api.Fragment{a})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"name":"app","domain":"","type":"saas","appLauncherVisible":true,"saasApp":{"authType":"saml","spEntityId":"e","consumerServiceUrl":"https://sp.example.com/acs"}}`
	if string(r.Desired) != want {
		t.Fatalf("desired = %s\nwant      %s", r.Desired, want)
	}

	r, err = New().Aggregate(testTarget, nil)
	if err != nil || r.Desired != nil || r.Hash() != "" {
		t.Fatalf("no fragments: %+v %v", r, err)
	}
}
