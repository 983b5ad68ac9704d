package cloudflare_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func TestAccessApplications(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	app, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{
		Name: "app", Domain: "app.example.com", Type: cf.SelfHosted, Policies: []string{"pol1", "pol2"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if app.ID == "" || len(app.AUD) != 64 || app.SessionDuration != "24h" || app.CreatedAt == nil ||
		len(app.Policies) != 2 || app.Policies[0].ID != "pol1" || len(app.Destinations) != 1 {
		t.Fatalf("unexpected app %+v", app)
	}

	_, err = e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{Name: "dup", Domain: "APP.example.com", Type: cf.SelfHosted})
	wantAPIError(t, err, 409, 11010)

	up, err := e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{ID: app.ID, Name: "renamed", Domain: "app.example.com"})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.Name != "renamed" || len(up.Policies) != 2 {
		t.Fatalf("update should rename and keep policies (nil): %+v", up)
	}
	up, err = e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{ID: app.ID, Name: "renamed", Domain: "app.example.com", Policies: &[]string{}})
	if err != nil || len(up.Policies) != 0 {
		t.Fatalf("empty policy list should clear: %v %+v", err, up.Policies)
	}

	got, err := e.api.GetAccessApplication(c, rc, app.ID)
	if err != nil || got.Name != "renamed" {
		t.Fatalf("get: %v %+v", err, got)
	}

	for i := range 30 {
		if _, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{
			Name: fmt.Sprintf("a%d", i), Domain: fmt.Sprintf("a%d.example.com", i), Type: cf.SelfHosted}); err != nil {
			t.Fatal(err)
		}
	}
	apps, _, err := e.api.ListAccessApplications(c, rc, cf.ListAccessApplicationsParams{})
	if err != nil || len(apps) != 31 {
		t.Fatalf("list (auto-paginated over 25): %v %d", err, len(apps))
	}

	if err := e.api.DeleteAccessApplication(c, rc, app.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.api.GetAccessApplication(c, rc, app.ID)
	var nf *cf.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError after delete, got %T %v", err, err)
	}
}

// The self-hosted schema's settings come back as sent, with the API's
// defaults for what was left out; a destination list gives the domain.
func TestAccessApplicationSettings(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	app, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{Name: "plain", Domain: "plain.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if app.HttpOnlyCookieAttribute == nil || !*app.HttpOnlyCookieAttribute || app.EnableBindingCookie == nil || *app.EnableBindingCookie ||
		app.SkipInterstitial == nil || *app.SkipInterstitial || app.AllowAuthenticateViaWarp != nil || app.CorsHeaders != nil {
		t.Fatalf("defaults: %+v", app)
	}

	app, err = e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{
		Name: "full", Type: cf.SelfHosted,
		Destinations:  []cf.AccessDestination{{Type: "private", CIDR: "10.0.0.0/24", PortRange: "443"}, {Type: "public", URI: "full.example.com/x"}},
		CustomDenyURL: "https://deny.example.com", SameSiteCookieAttribute: "lax", HttpOnlyCookieAttribute: ptr(false),
		AllowAuthenticateViaWarp: ptr(false), CustomPages: []string{"pg"},
		CorsHeaders: &cf.AccessApplicationCorsHeaders{AllowedMethods: []string{"GET"}, MaxAge: 60},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := must(e.api.GetAccessApplication(c, rc, app.ID))
	if got.Domain != "full.example.com/x" || len(got.Destinations) != 2 || got.Destinations[0].CIDR != "10.0.0.0/24" ||
		got.CustomDenyURL != "https://deny.example.com" || got.SameSiteCookieAttribute != "lax" || *got.HttpOnlyCookieAttribute ||
		got.AllowAuthenticateViaWarp == nil || *got.AllowAuthenticateViaWarp || len(got.CustomPages) != 1 ||
		got.CorsHeaders == nil || got.CorsHeaders.MaxAge != 60 {
		t.Fatalf("settings not stored: %+v", got)
	}
}

// SaaS applications: the server owns the domain and what it generates for
// saas_app (an OIDC client id and secret, the SAML endpoints), kept over a
// PUT that keeps the protocol; a PUT that switches protocol makes new ones.
func TestAccessApplicationSaaS(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	saml, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{Name: "saml", Type: cf.Saas,
		SaasApplication: &cf.SaasApplication{AuthType: "saml", SPEntityID: "https://sp.example.com", ConsumerServiceUrl: "https://sp.example.com/acs"}})
	if err != nil {
		t.Fatal(err)
	}
	sa := saml.SaasApplication
	if sa == nil || sa.NameIDFormat != "email" || sa.SSOEndpoint == "" || sa.IDPEntityID == "" || sa.PublicKey == "" || sa.ClientSecret != "" ||
		saml.SessionDuration != "" || !strings.Contains(saml.Domain, ".cloudflareaccess.com/cdn-cgi/access/sso/saml/") {
		t.Fatalf("saml app %+v / %+v", saml, sa)
	}

	oidc, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{Name: "oidc", Type: cf.Saas,
		SaasApplication: &cf.SaasApplication{AuthType: "oidc", RedirectURIs: []string{"https://sp.example.com/cb"}, ClientSecret: "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := oidc.SaasApplication.ClientID, oidc.SaasApplication.ClientSecret
	if len(id) != 64 || len(secret) != 64 {
		t.Fatalf("oidc app must get a generated client id and secret (not the client's): %+v", oidc.SaasApplication)
	}
	up, err := e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{ID: oidc.ID, Name: "oidc2", Type: cf.Saas,
		SaasApplication: &cf.SaasApplication{AuthType: "oidc", Scopes: []string{"openid"}}})
	if err != nil {
		t.Fatal(err)
	}
	if up.SaasApplication.ClientID != id || up.SaasApplication.ClientSecret != secret || len(up.SaasApplication.RedirectURIs) != 0 ||
		len(up.SaasApplication.Scopes) != 1 {
		t.Fatalf("PUT keeping oidc must keep the client and replace the rest: %+v", up.SaasApplication)
	}
	up, err = e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{ID: oidc.ID, Name: "now-saml", Type: cf.Saas,
		SaasApplication: &cf.SaasApplication{AuthType: "saml", SPEntityID: "x", ConsumerServiceUrl: "https://x.example.com"}})
	if err != nil || up.SaasApplication.ClientID != "" || up.SaasApplication.SSOEndpoint == "" {
		t.Fatalf("switch to saml: %v %+v", err, up.SaasApplication)
	}
}

func TestAccessApplicationRefusals(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	for name, p := range map[string]cf.CreateAccessApplicationParams{
		"unknown type":        {Name: "a", Domain: "a.example.com", Type: "web"},
		"no domain":           {Name: "a", Type: cf.SelfHosted},
		"saas without config": {Name: "a", Type: cf.Saas},
		"saas_app elsewhere":  {Name: "a", Domain: "a.example.com", SaasApplication: &cf.SaasApplication{AuthType: "oidc"}},
		"bad auth type":       {Name: "a", Type: cf.Saas, SaasApplication: &cf.SaasApplication{AuthType: "wsfed"}},
		"preflight and cors": {Name: "a", Domain: "a.example.com", OptionsPreflightBypass: ptr(true),
			CorsHeaders: &cf.AccessApplicationCorsHeaders{AllowAllOrigins: true}},
		"same site":       {Name: "a", Domain: "a.example.com", SameSiteCookieAttribute: "Lax"},
		"bookmark cookie": {Name: "a", Domain: "a.example.com", Type: cf.Bookmark, EnableBindingCookie: ptr(true)},
		"saas session":    {Name: "a", Type: cf.Saas, SessionDuration: "1h", SaasApplication: &cf.SaasApplication{AuthType: "oidc"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.api.CreateAccessApplication(c, rc, p)
			wantAPIError(t, err, 400, 12130)
		})
	}
	if n := len(e.emu.AccessApps(acct)); n != 0 {
		t.Fatalf("a refused create stored %d apps", n)
	}
}

// What the server generated for a saas application survives a restart.
func TestAccessApplicationSaaSPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	a := openEnv(t, path)
	app, err := a.api.CreateAccessApplication(ctx(t), cf.AccountIdentifier(acct), cf.CreateAccessApplicationParams{Name: "oidc", Type: cf.Saas,
		SaasApplication: &cf.SaasApplication{AuthType: "oidc"}})
	if err != nil {
		t.Fatal(err)
	}
	b := openEnv(t, path)
	got := must(b.api.GetAccessApplication(ctx(t), cf.AccountIdentifier(acct), app.ID))
	if got.SaasApplication == nil || got.SaasApplication.ClientID != app.SaasApplication.ClientID ||
		got.SaasApplication.ClientSecret != app.SaasApplication.ClientSecret || got.Domain != app.Domain {
		t.Fatalf("after restart %+v, want %+v", got.SaasApplication, app.SaasApplication)
	}
}
