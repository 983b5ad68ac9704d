package cloudflare_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// The secret is answered by the create and the rotate only; reads, lists,
// updates and refreshes never carry it.
func TestServiceTokens(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	tok, err := e.api.CreateAccessServiceToken(c, rc, cf.CreateAccessServiceTokenParams{Name: "ci"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if tok.ID == "" || !strings.HasSuffix(tok.ClientID, ".access") || len(tok.ClientSecret) != 64 || tok.Duration != "8760h" ||
		tok.ClientSecretVersion != 1 || tok.ExpiresAt == nil || tok.ExpiresAt.Sub(*tok.CreatedAt) != 8760*time.Hour {
		t.Fatalf("unexpected create answer %+v", tok)
	}
	for _, path := range []string{"/accounts/" + acct + "/access/service_tokens", "/accounts/" + acct + "/access/service_tokens/" + tok.ID} {
		raw, err := e.api.Raw(c, http.MethodGet, path, nil, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if strings.Contains(string(raw.Result), tok.ClientSecret) || strings.Contains(string(raw.Result), "client_secret\"") {
			t.Fatalf("GET %s answers the secret: %s", path, raw.Result)
		}
	}

	up, err := e.api.UpdateAccessServiceToken(c, rc, cf.UpdateAccessServiceTokenParams{UUID: tok.ID, Name: "ci-2", Duration: "forever"})
	if err != nil || up.Name != "ci-2" || up.Duration != "forever" || up.ClientSecret != "" || up.ClientID != tok.ClientID {
		t.Fatalf("update: %v %+v", err, up)
	}
	ref, err := e.api.RefreshAccessServiceToken(c, rc, tok.ID)
	if err != nil || ref.ExpiresAt != nil {
		t.Fatalf("refresh of a token that never expires: %v %+v", err, ref)
	}
	rot, err := e.api.RotateAccessServiceToken(c, rc, tok.ID)
	if err != nil || len(rot.ClientSecret) != 64 || rot.ClientSecret == tok.ClientSecret || rot.ClientSecretVersion != 2 || rot.ClientID != tok.ClientID {
		t.Fatalf("rotate: %v %+v", err, rot)
	}
	if ts := e.emu.ServiceTokens(acct); len(ts) != 1 || ts[0].Secret != rot.ClientSecret {
		t.Fatalf("the rotated secret is not the one in force: %+v", ts)
	}

	list, _, err := e.api.ListAccessServiceTokens(c, rc, cf.ListAccessServiceTokensParams{})
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].ClientSecretVersion != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := e.api.DeleteAccessServiceToken(c, rc, tok.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.api.DeleteAccessServiceToken(c, rc, tok.ID)
	wantAPIError(t, err, 404, 12130)
	_, err = e.api.RotateAccessServiceToken(c, rc, tok.ID)
	wantAPIError(t, err, 404, 12130)
	_, err = e.api.RefreshAccessServiceToken(c, rc, tok.ID)
	wantAPIError(t, err, 404, 12130)
}

// A refresh starts the duration again from now, keeping the secret.
func TestServiceTokenRefresh(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	tok, err := e.api.CreateAccessServiceToken(ctx(t), rc, cf.CreateAccessServiceTokenParams{Name: "ci", Duration: "2h"})
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Minute)
	if err := e.emu.SetServiceTokenExpiry(acct, tok.ID, soon); err != nil {
		t.Fatal(err)
	}
	ref, err := e.api.RefreshAccessServiceToken(ctx(t), rc, tok.ID)
	if err != nil || ref.ExpiresAt == nil || ref.ExpiresAt.Sub(soon) < time.Hour {
		t.Fatalf("refresh: %v %+v", err, ref)
	}
	if ts := e.emu.ServiceTokens(acct); ts[0].Secret != tok.ClientSecret || ts[0].Version != 1 {
		t.Fatalf("a refresh changed the secret: %+v", ts)
	}
}

func TestServiceTokenValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	for _, p := range []cf.CreateAccessServiceTokenParams{
		{Name: ""}, {Name: "  "}, {Name: "ci", Duration: "1y"}, {Name: "ci", Duration: "-1h"}, {Name: "ci", Duration: "0s"},
	} {
		_, err := e.api.CreateAccessServiceToken(ctx(t), rc, p)
		wantAPIError(t, err, 400, 12130)
	}
	if ts := e.emu.ServiceTokens(acct); len(ts) != 0 {
		t.Fatalf("refused creates stored %+v", ts)
	}
	if err := e.emu.SetServiceTokenExpiry(acct, "nope", time.Now()); err == nil {
		t.Fatal("moving the expiry of an unknown token succeeded")
	}
}

// The list pages, filters by name and stays within the token's accounts.
func TestServiceTokenList(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	for _, n := range []string{"a", "b", "a"} {
		if _, err := e.api.CreateAccessServiceToken(ctx(t), rc, cf.CreateAccessServiceTokenParams{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := e.api.Raw(ctx(t), http.MethodGet, "/accounts/"+acct+"/access/service_tokens?name=a&per_page=1&page=2", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []cf.AccessServiceToken
	if err := json.Unmarshal(raw.Result, &got); err != nil || len(got) != 1 || got[0].Name != "a" || raw.ResultInfo == nil || raw.ResultInfo.Total != 2 {
		t.Fatalf("filtered page: %v %+v %+v", err, got, raw.ResultInfo)
	}
	_, err = e.client(t, "wrong").CreateAccessServiceToken(ctx(t), rc, cf.CreateAccessServiceTokenParams{Name: "x"})
	if err == nil {
		t.Fatal("an unknown API token created a service token")
	}
}

// A create is saved before it is answered; a restart restores the token
// with its secret (Cloudflare keeps it) and expiry.
func TestServiceTokensPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}, StateFile: path}
	s, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, s)
	tok, err := e.api.CreateAccessServiceToken(ctx(t), cf.AccountIdentifier(acct), cf.CreateAccessServiceTokenParams{Name: "ci", Duration: "forever"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := s2.ServiceTokens(acct)
	if len(ts) != 1 || ts[0].ID != tok.ID || ts[0].Secret != tok.ClientSecret || ts[0].ClientID != tok.ClientID || ts[0].Duration != "forever" || !ts[0].ExpiresAt.IsZero() {
		t.Fatalf("restored %+v", ts)
	}
}
