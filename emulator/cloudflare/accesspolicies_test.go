package cloudflare_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// Reusable policies over HTTP through cloudflare-go: create, get, a PUT
// that replaces, list with pagination, delete, 404.
func TestAccessPolicies(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)

	p, err := e.api.CreateAccessPolicy(c, rc, cf.CreateAccessPolicyParams{Name: "staff", Decision: "allow",
		Include:          rules(t, `[{"email_domain":{"domain":"example.com"}}]`),
		Exclude:          rules(t, `[{"email":{"email":"intern@example.com"}}]`),
		SessionDuration:  ptr("30m"),
		ApprovalRequired: ptr(true),
		ApprovalGroups:   []cf.AccessApprovalGroup{{EmailAddresses: []string{"boss@example.com"}, ApprovalsNeeded: 1}},
		InfrastructureConnectionRules: &cf.AccessInfrastructureConnectionRules{SSH: &cf.AccessInfrastructureConnectionRulesSSH{
			Usernames: []string{"root"}, AllowEmailAlias: ptr(true)}},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if p.ID == "" || p.Name != "staff" || p.Decision != "allow" || p.Reusable == nil || !*p.Reusable || p.CreatedAt == nil ||
		len(p.Include) != 1 || len(p.Exclude) != 1 || p.Require == nil || len(p.Require) != 0 ||
		*p.SessionDuration != "30m" || !*p.ApprovalRequired || len(p.ApprovalGroups) != 1 || p.ApprovalGroups[0].EmailAddresses[0] != "boss@example.com" ||
		p.InfrastructureConnectionRules == nil || p.InfrastructureConnectionRules.SSH.Usernames[0] != "root" || *p.IsolationRequired {
		t.Fatalf("unexpected policy %+v", p)
	}

	// PUT replaces: what is not sent returns to the API's defaults.
	up, err := e.api.UpdateAccessPolicy(c, rc, cf.UpdateAccessPolicyParams{PolicyID: p.ID, Name: "everyone", Decision: "bypass",
		Include: rules(t, `[{"everyone":{}}]`)})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.ID != p.ID || up.Name != "everyone" || up.Decision != "bypass" || len(up.Exclude) != 0 || *up.SessionDuration != "24h" ||
		*up.ApprovalRequired || len(up.ApprovalGroups) != 0 || up.InfrastructureConnectionRules != nil {
		t.Fatalf("update should replace: %+v", up)
	}
	got, err := e.api.GetAccessPolicy(c, rc, cf.GetAccessPolicyParams{PolicyID: p.ID})
	if b, _ := json.Marshal(got.Include); err != nil || string(b) != `[{"everyone":{}}]` {
		t.Fatalf("get: %v %s", err, b)
	}

	for i := range 30 {
		if _, err := e.api.CreateAccessPolicy(c, rc, cf.CreateAccessPolicyParams{Name: fmt.Sprintf("p%d", i), Decision: "deny",
			Include: rules(t, `[{"ip":{"ip":"10.0.0.0/8"}}]`)}); err != nil {
			t.Fatal(err)
		}
	}
	ps, _, err := e.api.ListAccessPolicies(c, rc, cf.ListAccessPoliciesParams{})
	if err != nil || len(ps) != 31 {
		t.Fatalf("list (auto-paginated over 25): %v %d", err, len(ps))
	}

	if err := e.api.DeleteAccessPolicy(c, rc, cf.DeleteAccessPolicyParams{PolicyID: p.ID}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.api.GetAccessPolicy(c, rc, cf.GetAccessPolicyParams{PolicyID: p.ID})
	var nf *cf.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError after delete, got %T %v", err, err)
	}
	wantAPIError(t, e.api.DeleteAccessPolicy(c, rc, cf.DeleteAccessPolicyParams{PolicyID: p.ID}), 404, 12130)
	_, err = e.api.UpdateAccessPolicy(c, rc, cf.UpdateAccessPolicyParams{PolicyID: p.ID, Name: "x", Decision: "allow", Include: rules(t, `[{"everyone":{}}]`)})
	wantAPIError(t, err, 404, 12130)
}

// A policy an application lists cannot be deleted; once the application
// drops it, it can. app_count says how many use it.
func TestAccessPolicyInUse(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	p, err := e.api.CreateAccessPolicy(c, rc, cf.CreateAccessPolicyParams{Name: "staff", Decision: "allow", Include: rules(t, `[{"everyone":{}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{Name: "app", Domain: "app.example.com", Policies: []string{p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if ps := e.emu.AccessPolicies(acct); len(ps) != 1 || ps[0].Fields["app_count"] != 1 {
		t.Fatalf("policies %+v", ps)
	}
	wantAPIError(t, e.api.DeleteAccessPolicy(c, rc, cf.DeleteAccessPolicyParams{PolicyID: p.ID}), http.StatusBadRequest, 12130)
	if _, err := e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{ID: app.ID, Name: "app", Domain: "app.example.com", Policies: &[]string{}}); err != nil {
		t.Fatal(err)
	}
	if err := e.api.DeleteAccessPolicy(c, rc, cf.DeleteAccessPolicyParams{PolicyID: p.ID}); err != nil {
		t.Fatalf("delete after the app dropped it: %v", err)
	}
}

func TestAccessPolicyValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	everyone := `[{"everyone":{}}]`
	tests := []struct {
		name string
		p    cf.CreateAccessPolicyParams
	}{
		{"no name", cf.CreateAccessPolicyParams{Decision: "allow", Include: rules(t, everyone)}},
		{"no decision", cf.CreateAccessPolicyParams{Name: "p", Include: rules(t, everyone)}},
		{"unknown decision", cf.CreateAccessPolicyParams{Name: "p", Decision: "permit", Include: rules(t, everyone)}},
		{"no include", cf.CreateAccessPolicyParams{Name: "p", Decision: "allow"}},
		{"unknown rule", cf.CreateAccessPolicyParams{Name: "p", Decision: "allow", Include: rules(t, `[{"emails":{}}]`)}},
		{"bad require", cf.CreateAccessPolicyParams{Name: "p", Decision: "allow", Include: rules(t, everyone), Require: rules(t, `[{"ip":"10.0.0.0/8"}]`)}},
		{"bad session", cf.CreateAccessPolicyParams{Name: "p", Decision: "allow", Include: rules(t, everyone), SessionDuration: ptr("1 day")}},
		{"approval without groups", cf.CreateAccessPolicyParams{Name: "p", Decision: "allow", Include: rules(t, everyone), ApprovalRequired: ptr(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.api.CreateAccessPolicy(ctx(t), rc, tt.p)
			wantAPIError(t, err, 400, 12130)
		})
	}
	if ps := e.emu.AccessPolicies(acct); len(ps) != 0 {
		t.Fatalf("refused creates stored %+v", ps)
	}
}

// A create is saved before it is answered; a restart restores the policy
// with every field.
func TestAccessPoliciesPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}, StateFile: path}
	s, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := serve(t, s)
	p, err := e.api.CreateAccessPolicy(ctx(t), cf.AccountIdentifier(acct), cf.CreateAccessPolicyParams{Name: "staff", Decision: "non_identity",
		Include: rules(t, `[{"any_valid_service_token":{}}]`), IsolationRequired: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := emu.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ps := s2.AccessPolicies(acct)
	if len(ps) != 1 || ps[0].ID != p.ID || ps[0].Name != "staff" || ps[0].Fields["decision"] != "non_identity" || ps[0].Fields["isolation_required"] != true {
		t.Fatalf("restored %+v", ps)
	}
}
