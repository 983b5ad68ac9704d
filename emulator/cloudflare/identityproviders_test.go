package cloudflare_test

import (
	"path/filepath"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// Secrets are kept and answered redacted; a PUT sending the mask back
// keeps the secret.
func TestIdentityProviders(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	p, err := e.api.CreateAccessIdentityProvider(c, rc, cf.CreateAccessIdentityProviderParams{Name: "GitHub", Type: "github",
		Config: cf.AccessIdentityProviderConfiguration{ClientID: "id1", ClientSecret: "s3cret"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if p.ID == "" || p.Config.ClientID != "id1" || p.Config.ClientSecret != "**********" {
		t.Fatalf("created %+v", p)
	}
	got, err := e.api.GetAccessIdentityProvider(c, rc, p.ID)
	if err != nil || got.Config.ClientSecret != "**********" || got.Type != "github" {
		t.Fatalf("get: %v %+v", err, got)
	}
	up, err := e.api.UpdateAccessIdentityProvider(c, rc, cf.UpdateAccessIdentityProviderParams{ID: p.ID, Name: "GitHub SSO", Type: "github",
		Config:     cf.AccessIdentityProviderConfiguration{ClientID: "id2", ClientSecret: "**********"},
		ScimConfig: cf.AccessIdentityProviderScimConfiguration{Enabled: true, IdentityUpdateBehavior: "reauth"}})
	if err != nil || up.Name != "GitHub SSO" || !up.ScimConfig.Enabled {
		t.Fatalf("update: %v %+v", err, up)
	}
	if ps := e.emu.IdentityProviders(acct); len(ps) != 1 || ps[0].Config["client_secret"] != "s3cret" || ps[0].Config["client_id"] != "id2" {
		t.Fatalf("stored %+v", ps)
	}
	list, _, err := e.api.ListAccessIdentityProviders(c, rc, cf.ListAccessIdentityProvidersParams{})
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := e.api.DeleteAccessIdentityProvider(c, rc, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.GetAccessIdentityProvider(c, rc, p.ID)
	wantAPIError(t, err, 404, 12130)
}

func TestIdentityProviderValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	for _, p := range []cf.CreateAccessIdentityProviderParams{
		{Name: "", Type: "onetimepin"},
		{Name: "x", Type: "ldap"},
		{Name: "x", Type: "github", Config: cf.AccessIdentityProviderConfiguration{ClientID: "id"}},
		{Name: "x", Type: "oidc", Config: cf.AccessIdentityProviderConfiguration{ClientID: "id", ClientSecret: "s", AuthURL: "https://a"}},
		{Name: "x", Type: "onetimepin", ScimConfig: cf.AccessIdentityProviderScimConfiguration{IdentityUpdateBehavior: "sometimes"}},
	} {
		_, err := e.api.CreateAccessIdentityProvider(ctx(t), rc, p)
		wantAPIError(t, err, 400, 12130)
	}
	if _, err := e.api.CreateAccessIdentityProvider(ctx(t), rc, cf.CreateAccessIdentityProviderParams{Name: "PIN", Type: "onetimepin"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.api.CreateAccessIdentityProvider(ctx(t), rc, cf.CreateAccessIdentityProviderParams{Name: "PIN 2", Type: "onetimepin"})
	wantAPIError(t, err, 400, 12130)
}

func TestIdentityProvidersPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}, StateFile: path}
	s, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, s)
	p, err := e.api.CreateAccessIdentityProvider(ctx(t), cf.AccountIdentifier(acct), cf.CreateAccessIdentityProviderParams{Name: "Okta", Type: "okta",
		Config: cf.AccessIdentityProviderConfiguration{ClientID: "id", ClientSecret: "s", OktaAccount: "https://acme.okta.com"}})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ps := s2.IdentityProviders(acct); len(ps) != 1 || ps[0].ID != p.ID || ps[0].Config["client_secret"] != "s" || ps[0].Type != "okta" {
		t.Fatalf("restored %+v", ps)
	}
}
