package cloudflare_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func rules(t *testing.T, s string) []any {
	t.Helper()
	var out []any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAccessGroups(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	g, err := e.api.CreateAccessGroup(c, rc, cf.CreateAccessGroupParams{Name: "staff",
		Include: rules(t, `[{"email_domain":{"domain":"example.com"}}]`),
		Exclude: rules(t, `[{"email":{"email":"intern@example.com"}}]`)})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if g.ID == "" || g.Name != "staff" || g.CreatedAt == nil || len(g.Include) != 1 || len(g.Exclude) != 1 || g.Require == nil || len(g.Require) != 0 {
		t.Fatalf("unexpected group %+v", g)
	}

	// PUT replaces: the exclude list not sent is gone.
	up, err := e.api.UpdateAccessGroup(c, rc, cf.UpdateAccessGroupParams{ID: g.ID, Name: "everyone",
		Include: rules(t, `[{"everyone":{}}]`), Require: rules(t, `[{"any_valid_service_token":{}}]`)})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.ID != g.ID || up.Name != "everyone" || len(up.Exclude) != 0 || len(up.Require) != 1 {
		t.Fatalf("update should replace: %+v", up)
	}
	got, err := e.api.GetAccessGroup(c, rc, g.ID)
	if b, _ := json.Marshal(got.Include); err != nil || string(b) != `[{"everyone":{}}]` {
		t.Fatalf("get: %v %s", err, b)
	}

	for i := range 30 {
		if _, err := e.api.CreateAccessGroup(c, rc, cf.CreateAccessGroupParams{
			Name: fmt.Sprintf("g%d", i), Include: rules(t, `[{"ip":{"ip":"10.0.0.0/8"}}]`)}); err != nil {
			t.Fatal(err)
		}
	}
	gs, _, err := e.api.ListAccessGroups(c, rc, cf.ListAccessGroupsParams{})
	if err != nil || len(gs) != 31 {
		t.Fatalf("list (auto-paginated over 25): %v %d", err, len(gs))
	}

	if err := e.api.DeleteAccessGroup(c, rc, g.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.api.GetAccessGroup(c, rc, g.ID)
	var nf *cf.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError after delete, got %T %v", err, err)
	}
	wantAPIError(t, e.api.DeleteAccessGroup(c, rc, g.ID), 404, 12130)
	_, err = e.api.UpdateAccessGroup(c, rc, cf.UpdateAccessGroupParams{ID: g.ID, Name: "x", Include: rules(t, `[{"everyone":{}}]`)})
	wantAPIError(t, err, 404, 12130)
}

func TestAccessGroupValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	tests := []struct {
		name, include, exclude string
	}{
		{"no name", ``, ``},
		{"no include", `[]`, ``},
		{"unknown rule", `[{"emails":{"email":"a@example.com"}}]`, ``},
		{"two keys", `[{"everyone":{},"email":{"email":"a@example.com"}}]`, ``},
		{"not an object", `["everyone"]`, ``},
		{"rule value not an object", `[{"everyone":true}]`, ``},
		{"bad exclude", `[{"everyone":{}}]`, `[{"nobody":{}}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cf.CreateAccessGroupParams{Name: "g"}
			if tt.name == "no name" {
				p.Name, tt.include = "", `[{"everyone":{}}]`
			}
			if tt.include != "" {
				p.Include = rules(t, tt.include)
			}
			if tt.exclude != "" {
				p.Exclude = rules(t, tt.exclude)
			}
			_, err := e.api.CreateAccessGroup(ctx(t), rc, p)
			wantAPIError(t, err, 400, 12130)
		})
	}
	if gs := e.emu.AccessGroups(acct); len(gs) != 0 {
		t.Fatalf("refused creates stored %+v", gs)
	}
}

// A create is saved before it is answered; a restart restores the group.
func TestAccessGroupsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}, StateFile: path}
	s, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, s)
	g, err := e.api.CreateAccessGroup(ctx(t), cf.AccountIdentifier(acct), cf.CreateAccessGroupParams{Name: "staff",
		Include: rules(t, `[{"group":{"id":"abc"}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gs := s2.AccessGroups(acct)
	if len(gs) != 1 || gs[0].ID != g.ID || gs[0].Name != "staff" || len(gs[0].Include) != 1 {
		t.Fatalf("restored %+v", gs)
	}
}
