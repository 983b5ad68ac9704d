package access

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
)

// handEdit replaces the application out of band with a PUT that keeps
// only name, domain, type, identity providers, tags and logo (and sets
// saas_app to saas), as a dashboard edit that wipes the other settings
// would: they drift back to the API's defaults.
func (e *env) handEdit(t *testing.T, app cf.AccessApplication, saas *cf.SaasApplication) {
	t.Helper()
	if _, err := e.Human.UpdateAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.UpdateAccessApplicationParams{
		ID: app.ID, Name: app.Name, Domain: app.Domain, Type: app.Type, AllowedIdps: app.AllowedIdps, Tags: app.Tags,
		LogoURL: app.LogoURL, SaasApplication: saas}); err != nil {
		t.Fatalf("hand edit: %v", err)
	}
}

// flushNoWrite flushes spec again and fails when that wrote.
func (e *env) flushNoWrite(t *testing.T, spec string) {
	t.Helper()
	w := e.Writes()
	e.MustFlush(t, spec)
	if e.Writes() != w {
		t.Fatalf("a repeated flush wrote %d times", e.Writes()-w)
	}
}

const selfHostedFull = `{"name":"app","domain":"app.example.com",` +
	`"destinations":[{"type":"public","uri":"app.example.com"},{"type":"public","uri":"alt.example.com/x"},` +
	`{"type":"private","cidr":"10.1.0.0/16","portRange":"8000-8099","l4Protocol":"tcp","vnetId":"0b7c1f0e-1111-4222-8333-444455556666"},` +
	`{"type":"private","hostname":"db.internal.example"}],` +
	`"customDenyMessage":"ask #help","customDenyUrl":"https://deny.example.com","customNonIdentityDenyUrl":"https://deny.example.com/bots",` +
	`"customPages":["page2","page1"],"enableBindingCookie":true,"httpOnlyCookieAttribute":false,"sameSiteCookieAttribute":"strict",` +
	`"pathCookieAttribute":true,"logoUrl":"https://logo.example.com/app.png","serviceAuth401Redirect":true,"skipInterstitial":true,` +
	`"allowAuthenticateViaWarp":false,"corsHeaders":{"allowedMethods":["POST","GET"],"allowedOrigins":["https://web.example.com"],` +
	`"allowedHeaders":["x-requested-with"],"allowCredentials":true,"maxAge":600}}`

func checkSelfHostedFull(t *testing.T, app cf.AccessApplication) {
	t.Helper()
	if len(app.Destinations) != 4 || app.Destinations[1].URI != "alt.example.com/x" || app.Destinations[2].VnetID != "0b7c1f0e-1111-4222-8333-444455556666" ||
		app.Destinations[3].Hostname != "db.internal.example" ||
		app.CustomDenyMessage != "ask #help" || app.CustomDenyURL != "https://deny.example.com" || app.CustomNonIdentityDenyURL != "https://deny.example.com/bots" ||
		strings.Join(app.CustomPages, ",") != "page1,page2" || !*app.EnableBindingCookie || *app.HttpOnlyCookieAttribute ||
		app.SameSiteCookieAttribute != "strict" || !*app.PathCookieAttribute || app.LogoURL != "https://logo.example.com/app.png" ||
		!*app.ServiceAuth401Redirect || !*app.SkipInterstitial || app.AllowAuthenticateViaWarp == nil || *app.AllowAuthenticateViaWarp ||
		*app.OptionsPreflightBypass || app.CorsHeaders == nil || strings.Join(app.CorsHeaders.AllowedMethods, ",") != "GET,POST" ||
		!app.CorsHeaders.AllowCredentials || app.CorsHeaders.MaxAge != 600 {
		t.Fatalf("app settings: %+v (cors %+v)", app, app.CorsHeaders)
	}
}

// Every self-hosted setting is created, left alone when it matches,
// repaired when it drifts, and cleared back to the API's default when the
// spec drops it.
func TestFlushSelfHostedSettings(t *testing.T) {
	e := newEnv(t)
	id := e.MustFlush(t, selfHostedFull).DownstreamIDs[IDApp]
	app := e.app(t, id)
	checkSelfHostedFull(t, app)
	e.flushNoWrite(t, selfHostedFull)

	e.handEdit(t, app, nil)
	if got := e.app(t, id); got.CorsHeaders != nil || len(got.Destinations) != 1 {
		t.Fatalf("the hand edit did not drift: %+v", got)
	}
	e.MustFlush(t, selfHostedFull)
	checkSelfHostedFull(t, e.app(t, id))
	e.flushNoWrite(t, selfHostedFull)

	// Dropped from the spec: back to the API's defaults.
	const bare = `{"name":"app","domain":"app.example.com"}`
	e.MustFlush(t, bare)
	app = e.app(t, id)
	if len(app.Destinations) != 1 || app.Destinations[0].URI != "app.example.com" || app.CustomDenyURL != "" || len(app.CustomPages) != 0 ||
		*app.EnableBindingCookie || !*app.HttpOnlyCookieAttribute || app.SameSiteCookieAttribute != "" || app.LogoURL != "" ||
		app.AllowAuthenticateViaWarp != nil || app.CorsHeaders != nil {
		t.Fatalf("cleared settings: %+v", app)
	}
	e.flushNoWrite(t, bare)

	// The preflight bypass (without CORS) alone.
	const bypass = `{"name":"app","domain":"app.example.com","optionsPreflightBypass":true}`
	e.MustFlush(t, bypass)
	if app = e.app(t, id); !*app.OptionsPreflightBypass {
		t.Fatalf("bypass: %+v", app)
	}
	e.flushNoWrite(t, bypass)
}

// Each setting alone is seen as a difference (the diff covers it).
func TestDiffCoversEverySetting(t *testing.T) {
	base := Canonical(Spec{Name: "app", Domain: "app.example.com"})
	tr, fa := true, false
	app := cf.AccessApplication{Name: "app", Domain: "app.example.com", Type: "self_hosted", SessionDuration: "24h",
		Destinations: []cf.AccessDestination{{Type: "public", URI: "app.example.com"}}}
	if d := differences(&app, base); len(d) != 0 {
		t.Fatalf("defaults differ: %v", d)
	}
	for field, change := range map[string]func(*Spec){
		"destinations": func(s *Spec) {
			s.Destinations = wantDestinations(*s)
			s.Destinations = append(s.Destinations, api.AccessDestination{Type: "private", CIDR: "10.0.0.0/8"})
		},
		"custom_deny_message":          func(s *Spec) { s.CustomDenyMessage = "m" },
		"custom_deny_url":              func(s *Spec) { s.CustomDenyURL = "https://d.example.com" },
		"custom_non_identity_deny_url": func(s *Spec) { s.CustomNonIdentityDenyURL = "https://d.example.com" },
		"custom_pages":                 func(s *Spec) { s.CustomPages = []string{"p"} },
		"enable_binding_cookie":        func(s *Spec) { s.EnableBindingCookie = true },
		"http_only_cookie_attribute":   func(s *Spec) { s.HTTPOnlyCookieAttribute = &fa },
		"same_site_cookie_attribute":   func(s *Spec) { s.SameSiteCookieAttribute = "lax" },
		"path_cookie_attribute":        func(s *Spec) { s.PathCookieAttribute = true },
		"logo_url":                     func(s *Spec) { s.LogoURL = "https://l.example.com" },
		"options_preflight_bypass":     func(s *Spec) { s.OptionsPreflightBypass = true },
		"service_auth_401_redirect":    func(s *Spec) { s.ServiceAuth401Redirect = true },
		"skip_interstitial":            func(s *Spec) { s.SkipInterstitial = true },
		"allow_authenticate_via_warp":  func(s *Spec) { s.AllowAuthenticateViaWarp = &tr },
		"cors_headers":                 func(s *Spec) { s.CORSHeaders = &api.AccessCORSHeaders{MaxAge: 5} },
	} {
		s := base
		change(&s)
		d := differences(&app, Canonical(s))
		if len(d) != 1 || !strings.HasPrefix(d[0], field+" ") {
			t.Errorf("%s: differences %v", field, d)
		}
	}
}

const samlSpec = `{"name":"wiki","type":"saas","allowedIdps":["idp1"],"logoUrl":"https://l.example.com/w.png","saasApp":{"authType":"saml",` +
	`"spEntityId":"https://wiki.example.com","consumerServiceUrl":"https://wiki.example.com/saml/acs","defaultRelayState":"/start",` +
	`"customAttributes":[{"name":"groups","nameFormat":"urn:oasis:names:tc:SAML:2.0:attrname-format:basic","required":true,` +
	`"source":{"name":"groups","nameByIdp":{"idp1":"memberOf"}}}]}}`

func TestFlushSaaSSAML(t *testing.T) {
	e := newEnv(t)
	out := e.MustFlush(t, samlSpec)
	id := out.DownstreamIDs[IDApp]
	app := e.app(t, id)
	sa := app.SaasApplication
	if app.Type != "saas" || app.Name != "wiki" || sa == nil || sa.SPEntityID != "https://wiki.example.com" || sa.NameIDFormat != "email" ||
		sa.DefaultRelayState != "/start" || sa.CustomAttributes == nil || len(*sa.CustomAttributes) != 1 ||
		(*sa.CustomAttributes)[0].Source.NameByIDP["idp1"] != "memberOf" || sa.SSOEndpoint == "" || out.DownstreamIDs[IDClientID] != "" {
		t.Fatalf("saml app %+v / %+v / ids %v", app, sa, out.DownstreamIDs)
	}
	e.flushNoWrite(t, samlSpec)

	sso := sa.SSOEndpoint
	e.handEdit(t, app, &cf.SaasApplication{AuthType: "saml", SPEntityID: "https://other.example.com", ConsumerServiceUrl: "https://other.example.com/acs"})
	e.MustFlush(t, samlSpec)
	app = e.app(t, id)
	if app.SaasApplication.SPEntityID != "https://wiki.example.com" || app.SaasApplication.SSOEndpoint != sso || app.LogoURL == "" {
		t.Fatalf("saml drift not repaired (or the SSO endpoint changed): %+v", app.SaasApplication)
	}
	e.flushNoWrite(t, samlSpec)

	// No fragments: the saas application goes too.
	if _, err := e.Flush(t); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Emu.AccessApps(cfapitest.Account)); n != 0 {
		t.Fatalf("the saas app was not deleted: %d left", n)
	}
}

const oidcSpec = `{"name":"grafana","type":"saas","saasApp":{"authType":"oidc","redirectUris":["https://grafana.example.com/login/generic_oauth"],` +
	`"grantTypes":["authorization_code_with_pkce","refresh_tokens"],"scopes":["openid","email","profile","groups"],` +
	`"groupFilterRegex":"^eng-","customClaims":[{"name":"team","scope":"profile","required":true,"source":{"name":"department"}}],` +
	`"allowPkceWithoutClientSecret":true,"accessTokenLifetime":"5m","refreshTokenLifetime":"720h",` +
	`"hybridAndImplicitOptions":{"returnIdTokenFromAuthorizationEndpoint":true}}}`

// An OIDC application records its client id; its client secret reaches
// nothing conflux-sync keeps or says (ids, checkpoints, logs, errors).
func TestFlushSaaSOIDC(t *testing.T) {
	ce := cfapitest.New(t)
	var logs bytes.Buffer
	e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients, Logger: slog.New(slog.NewTextHandler(&logs, nil))})}
	e.Flow = ce.Flow(New(), e.f, testTarget)

	out := e.MustFlush(t, oidcSpec)
	id := out.DownstreamIDs[IDApp]
	app := e.app(t, id)
	sa := app.SaasApplication
	secret := sa.ClientSecret
	if secret == "" || sa.ClientID == "" || out.DownstreamIDs[IDClientID] != sa.ClientID || strings.Join(sa.GrantTypes, ",") != "authorization_code_with_pkce,refresh_tokens" ||
		sa.AllowPKCEWithoutClientSecret == nil || !*sa.AllowPKCEWithoutClientSecret || sa.RefreshTokenOptions == nil ||
		sa.RefreshTokenOptions.Lifetime != "720h" || sa.CustomClaims == nil || (*sa.CustomClaims)[0].Source.Name != "department" ||
		sa.HybridAndImplicitOptions == nil || !*sa.HybridAndImplicitOptions.ReturnIDTokenFromAuthorizationEndpoint {
		t.Fatalf("oidc app %+v / ids %v", sa, out.DownstreamIDs)
	}
	e.flushNoWrite(t, oidcSpec)

	e.handEdit(t, app, &cf.SaasApplication{AuthType: "oidc", RedirectURIs: []string{"https://evil.example.com/cb"}})
	e.MustFlush(t, oidcSpec)
	sa = e.app(t, id).SaasApplication
	if strings.Join(sa.RedirectURIs, ",") != "https://grafana.example.com/login/generic_oauth" || sa.ClientSecret != secret {
		t.Fatalf("oidc drift not repaired, or the client changed: %+v", sa)
	}
	e.flushNoWrite(t, oidcSpec)
	if !strings.Contains(logs.String(), "saas_app") {
		t.Fatalf("the repair was not logged: %s", logs.String())
	}

	kept, _ := json.Marshal([]any{out, e.Checkpoints(), e.Prev})
	for what, text := range map[string]string{"recorded ids and checkpoints": string(kept), "logs": logs.String()} {
		if strings.Contains(text, secret) {
			t.Fatalf("the client secret is in the %s", what)
		}
	}
}

func TestFlushBookmark(t *testing.T) {
	e := newEnv(t)
	const spec = `{"name":"docs","type":"bookmark","domain":"docs.example.com","logoUrl":"https://l.example.com/d.png","appLauncherVisible":true,"tags":["t"]}`
	id := e.MustFlush(t, spec).DownstreamIDs[IDApp]
	app := e.app(t, id)
	if app.Type != "bookmark" || app.Domain != "docs.example.com" || app.LogoURL != "https://l.example.com/d.png" || app.SessionDuration != "" {
		t.Fatalf("bookmark %+v", app)
	}
	e.flushNoWrite(t, spec)
}

// A recorded application of another schema is replaced, not updated:
// self_hosted into saas deletes the old one and creates the new.
func TestFlushTypeChangeReplaces(t *testing.T) {
	e := newEnv(t)
	old := e.MustFlush(t, specV1).DownstreamIDs[IDApp]
	out := e.MustFlush(t, samlSpec)
	id := out.DownstreamIDs[IDApp]
	if id == old || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v (old app %s)", out.DownstreamIDs, old)
	}
	apps := e.Emu.AccessApps(cfapitest.Account)
	if len(apps) != 1 || apps[0].ID != id || e.app(t, id).Type != "saas" {
		t.Fatalf("apps %+v", apps)
	}
	// ssh and self_hosted share a schema: updated in place.
	e.MustFlush(t, `{"name":"app","domain":"app.example.com"}`)
	sh := e.Prev.DownstreamIDs[IDApp]
	if got := e.MustFlush(t, `{"name":"app","domain":"app.example.com","type":"ssh"}`).DownstreamIDs[IDApp]; got != sh || e.app(t, sh).Type != "ssh" {
		t.Fatalf("ssh: id %s (was %s)", got, sh)
	}
}
