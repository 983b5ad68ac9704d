package identityprovider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var account = cf.AccountIdentifier(cfapitest.Account)

var oauthSecret = api.SecretRef{Namespace: "infra", Name: "github-oauth", Key: "secret"}

const (
	githubSpec = `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"secrets":{"client_secret":{"namespace":"infra","name":"github-oauth","key":"secret"}}}`
	oidcSpec   = `{"name":"GitHub","type":"oidc","config":{"client_id":"abc","auth_url":"https://idp.example.com/auth","token_url":"https://idp.example.com/token",` +
		`"certs_url":"https://idp.example.com/certs","scopes":["openid","email"]},"secrets":{"client_secret":{"namespace":"infra","name":"github-oauth","key":"secret"}},` +
		`"scimConfig":{"enabled":true,"identityUpdateBehavior":"reauth"}}`
)

type flow struct {
	*cfapitest.Flow
	logs *bytes.Buffer
}

func newFlow(t *testing.T) *flow {
	t.Helper()
	ce := cfapitest.New(t)
	logs := &bytes.Buffer{}
	f := NewFlusher(FlusherConfig{Clients: ce.Clients, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return &flow{Flow: ce.Flow(New(), f, testTarget), logs: logs}
}

func providersOf(fl *flow) []emu.IdentityProviderInfo {
	return fl.Emu.IdentityProviders(cfapitest.Account)
}

// noSecret fails the test when a secret value shows in the outcome, the
// checkpoints or the logs.
func noSecret(t *testing.T, fl *flow, out engine.Outcome, secrets ...string) {
	t.Helper()
	b, _ := json.Marshal(out)
	cps, _ := json.Marshal(fl.Checkpoints())
	for _, s := range secrets {
		for what, in := range map[string]string{"outcome": string(b), "checkpoints": string(cps), "logs": fl.logs.String()} {
			if strings.Contains(in, s) {
				t.Fatalf("the secret is in the %s: %s", what, in)
			}
		}
	}
}

func TestFlushCreateRepeatSecretChangeDelete(t *testing.T) {
	fl := newFlow(t)
	fl.Secrets.Set(oauthSecret, "first-secret")
	out := fl.MustFlush(t, githubSpec)
	ps := providersOf(fl)
	ids := out.DownstreamIDs
	if len(ps) != 1 || ids[IDProvider] != ps[0].ID || ids[IDCreated] != "true" || ids[IDType] != "github" || ids[IDSecrets] == "" ||
		ps[0].Config["client_id"] != "abc" || ps[0].Config["client_secret"] != "first-secret" {
		t.Fatalf("ids %v, providers %+v", ids, ps)
	}
	if cps := fl.Checkpoints(); len(cps) != 1 || cps[0][IDProvider] != ps[0].ID || cps[0][IDSecrets] != ids[IDSecrets] {
		t.Fatalf("a new provider is checkpointed at once, with its secrets' hash: %v", cps)
	}
	noSecret(t, fl, out, "first-secret")

	// The API answers the secret redacted: the same Secret is no change.
	w := fl.Writes()
	fl.MustFlush(t, githubSpec)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}

	// The Secret changes: the provider is rewritten, the value never shown.
	fl.Secrets.Set(oauthSecret, "second-secret")
	want := []string{"update Access identity provider GitHub (id " + ps[0].ID + "): secrets client_secret (changed, or not known to be written)"}
	if plan := fl.MustPlan(t, githubSpec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q, want %q", plan, want)
	}
	out = fl.MustFlush(t, githubSpec)
	if ps := providersOf(fl); ps[0].Config["client_secret"] != "second-secret" || out.DownstreamIDs[IDSecrets] == ids[IDSecrets] {
		t.Fatalf("providers %+v, ids %v", ps, out.DownstreamIDs)
	}
	noSecret(t, fl, out, "first-secret", "second-secret")

	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(providersOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, providersOf(fl))
	}
}

// Type, config and SCIM settings are replaced in place; a field the spec
// drops is cleared.
func TestFlushUpdateAndDrift(t *testing.T) {
	fl := newFlow(t)
	fl.Secrets.Set(oauthSecret, "s")
	id := fl.MustFlush(t, githubSpec).DownstreamIDs[IDProvider]
	out := fl.MustFlush(t, oidcSpec)
	ps := providersOf(fl)
	if len(ps) != 1 || ps[0].ID != id || ps[0].Type != "oidc" || ps[0].Config["auth_url"] != "https://idp.example.com/auth" ||
		ps[0].Scim["identity_update_behavior"] != "reauth" || ps[0].Config["client_secret"] != "s" || len(out.Plan) != 1 {
		t.Fatalf("providers %+v, plan %q", ps, out.Plan)
	}
	// Someone edits it by hand: drops the scopes, renames it.
	if _, err := fl.Human.UpdateAccessIdentityProvider(cfapitest.Context(t), account, cf.UpdateAccessIdentityProviderParams{ID: id, Name: "Mine", Type: "oidc",
		Config: cf.AccessIdentityProviderConfiguration{ClientID: "abc", ClientSecret: "**********", AuthURL: "https://idp.example.com/auth",
			TokenURL: "https://idp.example.com/token", CertsURL: "https://idp.example.com/certs", SupportGroups: true},
		ScimConfig: cf.AccessIdentityProviderScimConfiguration{Enabled: true, IdentityUpdateBehavior: "reauth"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update Access identity provider Mine (id ` + id + `): name "Mine" -> "GitHub", config.scopes absent -> ["openid","email"], config.support_groups true -> absent`}
	if plan := fl.MustPlan(t, oidcSpec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, oidcSpec)
	if ps := providersOf(fl); ps[0].Name != "GitHub" || ps[0].Config["support_groups"] != nil || ps[0].Config["client_secret"] != "s" {
		t.Fatalf("drift not repaired: %+v", ps)
	}
}

// The Secret is missing: a retryable error naming it, nothing written.
func TestFlushSecretMissing(t *testing.T) {
	fl := newFlow(t)
	_, err := fl.Flush(t, githubSpec)
	if err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), "config.client_secret: read Secret infra/github-oauth key secret") || fl.Writes() != 0 {
		t.Fatalf("got %v after %d writes", err, fl.Writes())
	}
}

func TestFlushOneTimePINAdoptAndClash(t *testing.T) {
	fl := newFlow(t)
	hand, err := fl.Human.CreateAccessIdentityProvider(cfapitest.Context(t), account, cf.CreateAccessIdentityProviderParams{Name: "PIN", Type: "onetimepin"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fl.Flush(t, `{"name":"PIN","type":"onetimepin"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `an Access identity provider named "PIN" exists and is not managed by conflux-sync; set adopt`) {
		t.Fatalf("want a permanent clash, got %v", err)
	}
	out := fl.MustFlush(t, `{"name":"PIN","type":"onetimepin","adopt":true}`)
	if out.DownstreamIDs[IDProvider] != hand.ID || out.DownstreamIDs[IDCreated] != "false" || out.DownstreamIDs[IDSecrets] != "" {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	fl.MustFlush(t)
	if ps := providersOf(fl); len(ps) != 1 {
		t.Fatalf("an adopted provider is released, not deleted: %+v", ps)
	}
}

// The API's refusals are permanent and never quote the secret.
func TestFlushAPIRefusal(t *testing.T) {
	fl := newFlow(t)
	if _, err := fl.Human.CreateAccessIdentityProvider(cfapitest.Context(t), account, cf.CreateAccessIdentityProviderParams{Name: "Other PIN", Type: "onetimepin"}); err != nil {
		t.Fatal(err)
	}
	_, err := fl.Flush(t, `{"name":"PIN","type":"onetimepin"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "already has a onetimepin") {
		t.Fatalf("got %v", err)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	fl.Secrets.Set(oauthSecret, "s")
	if plan := fl.MustPlan(t, githubSpec); !slices.Equal(plan, []string{"create Access identity provider GitHub (github)"}) {
		t.Fatalf("plan %q", plan)
	}
	if len(providersOf(fl)) != 0 {
		t.Fatal("the dry run created a provider")
	}
	id := fl.MustFlush(t, githubSpec).DownstreamIDs[IDProvider]
	if plan := fl.MustPlan(t); !slices.Equal(plan, []string{"delete Access identity provider " + id}) {
		t.Fatalf("plan %q", plan)
	}
}

// The provider cloudflare-operator made (its status.providerId) is owned
// as created: rewritten with the spec's secret, deleted with the target.
func TestFlushTakeOver(t *testing.T) {
	fl := newFlow(t)
	fl.Secrets.Set(oauthSecret, "ours")
	prev, err := fl.Human.CreateAccessIdentityProvider(cfapitest.Context(t), account, cf.CreateAccessIdentityProviderParams{Name: "GitHub", Type: "github",
		Config: cf.AccessIdentityProviderConfiguration{ClientID: "abc", ClientSecret: "theirs"}})
	if err != nil {
		t.Fatal(err)
	}
	out := fl.MustFlush(t, strings.Replace(githubSpec, `"name"`, `"takeOver":"`+prev.ID+`","name"`, 1))
	ps := providersOf(fl)
	if len(ps) != 1 || ps[0].ID != prev.ID || out.DownstreamIDs[IDCreated] != "true" || ps[0].Config["client_secret"] != "ours" {
		t.Fatalf("ids %v, providers %+v", out.DownstreamIDs, ps)
	}
	fl.MustFlush(t)
	if ps := providersOf(fl); len(ps) != 0 {
		t.Fatalf("a taken-over provider is deleted: %+v", ps)
	}
}

// A secret written inline in a Kubernetes object is read from the object
// at flush time like a Secret key: sent to the API, never in the outcome,
// the checkpoints or the logs; an edited value is written again, and the
// same value moved into a Secret is no change.
func TestFlushObjectSecret(t *testing.T) {
	fl := newFlow(t)
	ref := api.ObjectFieldRef{APIVersion: "networking.cloudflare-operator.io/v1alpha2", Kind: "AccessIdentityProvider", Name: "github",
		Field: "spec.config.clientSecret", Generation: 1}
	spec := func(gen int) string {
		return `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"objectSecrets":{"client_secret":` +
			`{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","kind":"AccessIdentityProvider","name":"github","field":"spec.config.clientSecret","generation":` +
			strconv.Itoa(gen) + `}}}`
	}
	fl.Objects.Set(ref, "inline-first")
	out := fl.MustFlush(t, spec(1))
	ps := providersOf(fl)
	if len(ps) != 1 || ps[0].Config["client_secret"] != "inline-first" || out.DownstreamIDs[IDSecrets] == "" {
		t.Fatalf("ids %v, providers %+v", out.DownstreamIDs, ps)
	}
	noSecret(t, fl, out, "inline-first")
	first := out.DownstreamIDs[IDSecrets]

	fl.Objects.Set(ref, "inline-second")
	want := []string{"update Access identity provider GitHub (id " + ps[0].ID + "): secrets client_secret (changed, or not known to be written)"}
	if plan := fl.MustPlan(t, spec(2)); !slices.Equal(plan, want) {
		t.Fatalf("plan %q, want %q", plan, want)
	}
	out = fl.MustFlush(t, spec(2))
	if ps := providersOf(fl); ps[0].Config["client_secret"] != "inline-second" || out.DownstreamIDs[IDSecrets] == first {
		t.Fatalf("providers %+v, ids %v", ps, out.DownstreamIDs)
	}
	noSecret(t, fl, out, "inline-first", "inline-second")

	fl.Secrets.Set(oauthSecret, "inline-second")
	w := fl.Writes()
	fl.MustFlush(t, githubSpec)
	if fl.Writes() != w {
		t.Fatalf("the same value from a Secret wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
}

// An object field that cannot be read fails the flush with an error
// naming the field; nothing is written.
func TestFlushObjectSecretMissing(t *testing.T) {
	fl := newFlow(t)
	_, err := fl.Flush(t, `{"name":"GitHub","type":"github","config":{"client_id":"abc"},"objectSecrets":{"client_secret":`+
		`{"apiVersion":"networking.cloudflare-operator.io/v1alpha2","kind":"AccessIdentityProvider","name":"github","field":"spec.config.clientSecret"}}}`)
	if err == nil || !strings.Contains(err.Error(), "config.client_secret") || !strings.Contains(err.Error(), "AccessIdentityProvider github") ||
		!strings.Contains(err.Error(), "spec.config.clientSecret") {
		t.Fatalf("err %v", err)
	}
	if len(providersOf(fl)) != 0 {
		t.Fatal("a provider without its secret was written")
	}
}

// Every type's own config fields are read back as the API answers them,
// though v6 decodes each provider as its union's first variant (AzureAD):
// a repeat writes nothing, and a field of the type changed by hand is
// seen and repaired. A value escaped differently by the API ("&" in a
// URL) is no change.
func TestFlushTypeFieldsReadBack(t *testing.T) {
	secret := `"secrets":{"client_secret":{"namespace":"infra","name":"github-oauth","key":"secret"}}`
	cases := []struct {
		name, spec, field, theirs string
	}{
		{"okta", `{"name":"Okta","type":"okta","config":{"client_id":"abc","okta_account":"https://example.okta.com","authorization_server_id":"aus1","claims":["groups"]},` + secret + `}`,
			"okta_account", "https://other.okta.com"},
		{"oidc", `{"name":"OIDC","type":"oidc","config":{"client_id":"abc","auth_url":"https://idp.example.com/auth?a=1&b=2","token_url":"https://idp.example.com/token",` +
			`"certs_url":"https://idp.example.com/certs","pkce_enabled":true},` + secret + `}`, "certs_url", "https://evil.example.com/certs"},
		{"saml", `{"name":"SAML","type":"saml","config":{"issuer_url":"https://idp.example.com","sso_target_url":"https://idp.example.com/sso",` +
			`"sign_request":true,"attributes":["email"],"idp_public_cert":"MIIC"}}`, "issuer_url", "https://other.example.com"},
		{"github with claims", `{"name":"GitHub","type":"github","config":{"client_id":"abc","claims":["email"]},` + secret + `}`, "client_id", "xyz"},
		{"azureAD", `{"name":"Azure","type":"azureAD","config":{"client_id":"abc","directory_id":"dir","support_groups":true},` + secret + `}`, "directory_id", "other"},
		{"one-time PIN", `{"name":"PIN","type":"onetimepin","config":{"redirect_url":"https://example.com/after"}}`, "redirect_url", "https://other.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fl := newFlow(t)
			fl.Secrets.Set(oauthSecret, "s")
			id := fl.MustFlush(t, c.spec).DownstreamIDs[IDProvider]
			w := fl.Writes()
			fl.MustFlush(t, c.spec)
			if fl.Writes() != w {
				t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
			}
			p, err := fl.Human.GetAccessIdentityProvider(cfapitest.Context(t), account, id)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(p.Config)
			var cfg map[string]any
			_ = json.Unmarshal(b, &cfg)
			mine := cfg[c.field]
			cfg[c.field] = c.theirs
			b, _ = json.Marshal(cfg)
			var edited cf.AccessIdentityProviderConfiguration
			_ = json.Unmarshal(b, &edited)
			if _, err := fl.Human.UpdateAccessIdentityProvider(cfapitest.Context(t), account, cf.UpdateAccessIdentityProviderParams{
				ID: id, Name: p.Name, Type: p.Type, Config: edited}); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("config.%s %q -> %q", c.field, c.theirs, mine)
			if plan := fl.MustPlan(t, c.spec); len(plan) != 1 || !strings.Contains(plan[0], want) {
				t.Fatalf("plan %q, want it to say %s", plan, want)
			}
			fl.MustFlush(t, c.spec)
			if ps := providersOf(fl); ps[0].Config[c.field] != mine {
				t.Fatalf("drift not repaired: %+v", ps)
			}
		})
	}
}

// group_member_deprovision, which v6's SCIM settings lack, is sent, read
// back (a repeat writes nothing) and repaired when cleared by hand.
func TestFlushScimGroupMemberDeprovision(t *testing.T) {
	fl := newFlow(t)
	spec := `{"name":"PIN","type":"onetimepin","scimConfig":{"enabled":true,"groupMemberDeprovision":true}}`
	id := fl.MustFlush(t, spec).DownstreamIDs[IDProvider]
	if ps := providersOf(fl); len(ps) != 1 || ps[0].Scim["group_member_deprovision"] != true || ps[0].Scim["enabled"] != true {
		t.Fatalf("providers %+v", ps)
	}
	w := fl.Writes()
	fl.MustFlush(t, spec)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	if _, err := fl.Human.UpdateAccessIdentityProvider(cfapitest.Context(t), account, cf.UpdateAccessIdentityProviderParams{
		ID: id, Name: "PIN", Type: "onetimepin", ScimConfig: cf.AccessIdentityProviderScimConfiguration{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update Access identity provider PIN (id ` + id + `): scim_config {"enabled":true,"identity_update_behavior":"no_action"} -> ` +
		`{"enabled":true,"group_member_deprovision":true,"identity_update_behavior":"no_action"}`}
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, spec)
	if ps := providersOf(fl); ps[0].Scim["group_member_deprovision"] != true {
		t.Fatalf("not repaired: %+v", ps)
	}
}

// Finding the providers with the spec's name reads the list once when
// they fit in a page (v6's auto-pager reads one more, empty, page after a
// page with providers).
func TestFlushListsOnePage(t *testing.T) {
	fl := newFlow(t)
	if _, err := fl.Human.CreateAccessIdentityProvider(cfapitest.Context(t), account, cf.CreateAccessIdentityProviderParams{Name: "PIN", Type: "onetimepin"}); err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t, `{"name":"PIN","type":"onetimepin","adopt":true}`)
	if reqs := fl.Emu.Requests(); reqs["GET /accounts/{account}/access/identity_providers"] != 1 {
		t.Fatalf("listed %d times: %v", reqs["GET /accounts/{account}/access/identity_providers"], reqs)
	}
}
