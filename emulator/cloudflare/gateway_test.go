package cloudflare_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func TestGatewayLists(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	var items []cf.TeamsListItem
	for i := range 120 {
		items = append(items, cf.TeamsListItem{Value: fmt.Sprintf("10.0.%d.0/24", i)})
	}
	l, err := e.api.CreateTeamsList(c, rc, cf.CreateTeamsListParams{Name: "nets", Type: "IP", Description: "d", Items: items})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// The list is answered without its items; they come in pages of 50,
	// which cloudflare-go walks.
	got, err := e.api.GetTeamsList(c, rc, l.ID)
	if err != nil || got.Count != 120 || len(got.Items) != 0 || got.Type != "IP" || got.Description != "d" {
		t.Fatalf("get %+v %v", got, err)
	}
	all, _, err := e.api.ListTeamsListItems(c, rc, cf.ListTeamsListItemsParams{ListID: l.ID})
	if err != nil || len(all) != 120 || all[119].Value != "10.0.119.0/24" {
		t.Fatalf("items %d %v", len(all), err)
	}
	if n := e.emu.Requests()["GET /accounts/{account}/gateway/lists/{id}/items"]; n != 3 {
		t.Fatalf("want 3 pages, got %d", n)
	}
	// PATCH removes, then appends; a value still there is refused.
	if _, err := e.api.PatchTeamsList(c, rc, cf.PatchTeamsListParams{ID: l.ID, Append: []cf.TeamsListItem{{Value: "10.0.0.0/24"}}, Remove: []string{"10.0.0.0/24", "10.0.1.0/24"}}); err != nil {
		t.Fatalf("patch: %v", err)
	}
	if _, err := e.api.PatchTeamsList(c, rc, cf.PatchTeamsListParams{ID: l.ID, Append: []cf.TeamsListItem{{Value: "10.0.2.0/24"}}}); err == nil || !strings.Contains(err.Error(), "already in the list") {
		t.Fatalf("duplicate append: %v", err)
	}
	ls := e.emu.GatewayLists(acct)
	if len(ls) != 1 || len(ls[0].Items) != 119 {
		t.Fatalf("lists %+v", ls)
	}
	// PUT without items keeps them; with items replaces them; the type stays.
	if _, err := e.api.UpdateTeamsList(c, rc, cf.UpdateTeamsListParams{ID: l.ID, Name: "renamed", Type: "IP"}); err != nil {
		t.Fatal(err)
	}
	if ls = e.emu.GatewayLists(acct); ls[0].Name != "renamed" || ls[0].Description != "" || len(ls[0].Items) != 119 {
		t.Fatalf("after PUT %+v", ls[0].Name)
	}
	if _, err := e.api.UpdateTeamsList(c, rc, cf.UpdateTeamsListParams{ID: l.ID, Name: "renamed", Type: "IP", Items: []cf.TeamsListItem{{Value: "192.0.2.1"}}}); err != nil {
		t.Fatal(err)
	}
	if ls = e.emu.GatewayLists(acct); len(ls[0].Items) != 1 {
		t.Fatalf("after PUT with items %+v", ls[0])
	}
	_, err = e.api.UpdateTeamsList(c, rc, cf.UpdateTeamsListParams{ID: l.ID, Name: "renamed", Type: "DOMAIN"})
	wantAPIError(t, err, 400, 2001)
	_, err = e.api.GetTeamsList(c, rc, "00000000-0000-4000-8000-000000000000")
	wantAPIError(t, err, 404, 2007)
	if err := e.api.DeleteTeamsList(c, rc, l.ID); err != nil {
		t.Fatal(err)
	}
	if ls = e.emu.GatewayLists(acct); len(ls) != 0 {
		t.Fatalf("not deleted %+v", ls)
	}
}

func TestGatewayListValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	tests := []struct {
		name, typ string
		values    []string
		msg       string
	}{
		{"no type", "", nil, "type"},
		{"unknown type", "CATEGORY", nil, "type"},
		{"bad ip", "IP", []string{"10.0.0.1", "10.0.0.300"}, "items[1].value"},
		{"bad email", "EMAIL", []string{"nobody"}, "items[0].value"},
		{"bad domain", "DOMAIN", []string{"https://example.com"}, "items[0].value"},
		{"duplicate", "DOMAIN", []string{"a.example.com", "a.example.com"}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cf.CreateTeamsListParams{Name: "l", Type: tt.typ}
			for _, v := range tt.values {
				p.Items = append(p.Items, cf.TeamsListItem{Value: v})
			}
			_, err := e.api.CreateTeamsList(ctx(t), cf.AccountIdentifier(acct), p)
			wantAPIError(t, err, 400, 2001)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%v does not name %s", err, tt.msg)
			}
		})
	}
}

func TestGatewayRules(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	l, err := e.api.CreateTeamsList(c, rc, cf.CreateTeamsListParams{Name: "bad", Type: "DOMAIN", Items: []cf.TeamsListItem{{Value: "bad.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := "$" + strings.ReplaceAll(l.ID, "-", "")
	r, err := e.api.TeamsCreateRule(c, acct, cf.TeamsRule{Name: "block bad", Action: cf.Block, Filters: []cf.TeamsFilterType{cf.DnsFilter},
		Traffic: "any(dns.domains[*] in " + ref + ")", Enabled: true, Precedence: 20,
		RuleSettings: cf.TeamsRuleSettings{BlockPageEnabled: true, BlockReason: "no"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if r.ID == "" || r.Version != 1 || !r.RuleSettings.BlockPageEnabled || r.RuleSettings.BlockReason != "no" {
		t.Fatalf("created %+v", r)
	}
	if _, err := e.api.TeamsCreateRule(c, acct, cf.TeamsRule{Name: "first", Action: cf.Allow, Filters: []cf.TeamsFilterType{cf.HttpFilter}, Precedence: 10}); err != nil {
		t.Fatal(err)
	}
	all, err := e.api.TeamsRules(c, acct)
	if err != nil || len(all) != 2 || all[0].Name != "first" || all[1].Name != "block bad" {
		t.Fatalf("list by precedence: %+v %v", all, err)
	}
	r.Enabled = false
	up, err := e.api.TeamsUpdateRule(c, acct, r.ID, r)
	if err != nil || up.Enabled || up.Version != 2 {
		t.Fatalf("update %+v %v", up, err)
	}
	// A list a rule uses cannot be deleted.
	err = e.api.DeleteTeamsList(c, rc, l.ID)
	wantAPIError(t, err, 400, 2002)
	if err := e.api.TeamsDeleteRule(c, acct, r.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.TeamsRule(c, acct, r.ID)
	wantAPIError(t, err, 404, 2007)
	if err := e.api.DeleteTeamsList(c, rc, l.ID); err != nil {
		t.Fatalf("unused list: %v", err)
	}
}

func TestGatewayRuleValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	tests := []struct {
		name string
		rule cf.TeamsRule
		msg  string
	}{
		{"no name", cf.TeamsRule{Action: cf.Block, Filters: []cf.TeamsFilterType{cf.DnsFilter}}, "name"},
		{"no filter", cf.TeamsRule{Name: "r", Action: cf.Block}, "filters"},
		{"two filters", cf.TeamsRule{Name: "r", Action: cf.Block, Filters: []cf.TeamsFilterType{cf.DnsFilter, cf.HttpFilter}}, "filters"},
		{"unknown filter", cf.TeamsRule{Name: "r", Action: cf.Block, Filters: []cf.TeamsFilterType{"smtp"}}, "unknown filter"},
		{"isolate on dns", cf.TeamsRule{Name: "r", Action: cf.Isolate, Filters: []cf.TeamsFilterType{cf.DnsFilter}}, `action "isolate" is not valid for a dns rule`},
		{"safesearch on l4", cf.TeamsRule{Name: "r", Action: cf.SafeSearch, Filters: []cf.TeamsFilterType{cf.L4Filter}}, "not valid for a l4 rule"},
		{"schedule on http", cf.TeamsRule{Name: "r", Action: cf.Block, Filters: []cf.TeamsFilterType{cf.HttpFilter}, Schedule: &cf.TeamsRuleSchedule{Monday: "08:00-12:00"}}, "schedule"},
		{"unknown list", cf.TeamsRule{Name: "r", Action: cf.Block, Filters: []cf.TeamsFilterType{cf.DnsFilter}, Traffic: "any(dns.domains[*] in $0123456789abcdef0123456789abcdef)"}, "unknown list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.api.TeamsCreateRule(ctx(t), acct, tt.rule)
			wantAPIError(t, err, 400, 2001)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("%v does not say %s", err, tt.msg)
			}
		})
	}
	if rs := e.emu.GatewayRules(acct); len(rs) != 0 {
		t.Fatalf("refused creates stored %+v", rs)
	}
}

// Writes are saved before they are answered; a restart restores lists,
// their items, and rules with their settings.
func TestGatewayPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}, StateFile: path}
	s, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, s)
	l, err := e.api.CreateTeamsList(ctx(t), cf.AccountIdentifier(acct), cf.CreateTeamsListParams{Name: "l", Type: "EMAIL", Items: []cf.TeamsListItem{{Value: "a@example.com", Description: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.api.TeamsCreateRule(ctx(t), acct, cf.TeamsRule{Name: "r", Action: cf.Block, Filters: []cf.TeamsFilterType{cf.HttpFilter}, Precedence: 7,
		Identity: "any(identity.email[*] in $" + strings.ReplaceAll(l.ID, "-", "") + ")", RuleSettings: cf.TeamsRuleSettings{BlockReason: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ls, rs := s2.GatewayLists(acct), s2.GatewayRules(acct)
	if len(ls) != 1 || ls[0].ID != l.ID || len(ls[0].Items) != 1 || ls[0].Items[0].Description != "a" ||
		len(rs) != 1 || rs[0].ID != r.ID || rs[0].Precedence != 7 || !strings.Contains(rs[0].RuleSettings, `"block_reason":"x"`) {
		t.Fatalf("restored %+v %+v", ls, rs)
	}
}
