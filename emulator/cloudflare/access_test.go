package cloudflare_test

import (
	"errors"
	"fmt"
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
