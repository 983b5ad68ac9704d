package access

import (
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

// previous creates the application the way StringKe's controller does for
// an AccessApplication: every managed field set, no marker (it has none).
func (e *env) previous(t *testing.T) cf.AccessApplication {
	t.Helper()
	auto, visible := false, true
	app, err := e.Human.CreateAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.CreateAccessApplicationParams{
		Name: "app", Domain: "app.example.com", Type: cf.SelfHosted, SessionDuration: "24h",
		Policies: []string{"0f000000-0000-4000-8000-000000000001", "0f000000-0000-4000-8000-000000000002"}, AllowedIdps: []string{"idp1"}, Tags: []string{"t1"},
		AutoRedirectToIdentity: &auto, AppLauncherVisible: &visible,
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func withTakeOver(spec, id string) string {
	return strings.Replace(spec, `"name"`, `"takeOver":"`+id+`","name"`, 1)
}

func TestTakeOverWritesNothingAndOwns(t *testing.T) {
	e := newEnv(t)
	prev := e.previous(t)
	spec := withTakeOver(specV1, prev.ID)

	e.Emu.Reset()
	out := e.MustFlush(t, spec)
	if n := e.Writes(); n != 0 {
		t.Fatalf("the takeover wrote %d times: %v", n, e.Emu.Requests())
	}
	if out.DownstreamIDs[IDApp] != prev.ID || out.DownstreamIDs[IDCreated] != "true" || out.DownstreamIDs[IDAUD] != prev.AUD {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	// Recorded: again nothing to write.
	e.Emu.Reset()
	if again := e.MustFlush(t, spec); again.DownstreamIDs[IDApp] != prev.ID || e.Writes() != 0 {
		t.Fatalf("repeat: ids %v, %d writes", again.DownstreamIDs, e.Writes())
	}
	// A managed field that differs is updated, as for any app of ours.
	e.MustFlush(t, withTakeOver(strings.Replace(specV1, `"tags":["t1"]`, `"tags":["t2"]`, 1), prev.ID))
	if app := e.app(t, prev.ID); len(app.Tags) != 1 || app.Tags[0] != "t2" {
		t.Fatalf("not updated: %+v", app)
	}
	// Owned as created: the last fragment gone, it is deleted.
	if out := e.MustFlush(t); len(out.DownstreamIDs) != 0 || len(e.Emu.AccessApps(cfapitest.Account)) != 0 {
		t.Fatalf("ids %v, apps %v", out.DownstreamIDs, e.Emu.AccessApps(cfapitest.Account))
	}
}

func TestTakeOverMissingApplication(t *testing.T) {
	const gone = "0b7c1f0e-1111-4222-8333-444455556666"
	t.Run("nothing on the domain: created", func(t *testing.T) {
		e := newEnv(t)
		out := e.MustFlush(t, withTakeOver(specV1, gone))
		apps := e.Emu.AccessApps(cfapitest.Account)
		if len(apps) != 1 || out.DownstreamIDs[IDApp] != apps[0].ID || out.DownstreamIDs[IDCreated] != "true" {
			t.Fatalf("ids %v, apps %v", out.DownstreamIDs, apps)
		}
	})
	t.Run("another app on the domain: the usual clash", func(t *testing.T) {
		e := newEnv(t)
		hand := e.handMade(t, "app.example.com")
		e.Emu.Reset()
		_, err := e.Flush(t, withTakeOver(specV1, gone))
		if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "Access application for app.example.com exists and is not managed by conflux-sync; set adopt") {
			t.Fatalf("got %v", err)
		}
		if n := e.Writes(); n != 0 || e.app(t, hand.ID).Name != "hand" {
			t.Fatalf("wrote %d times: %v", n, e.Emu.Requests())
		}
	})
}

func TestTakeOverValidation(t *testing.T) {
	src := api.SourceRef{Kind: "AccessApplication", Namespace: "default", Name: "app"}
	const id = "0B7C1F0E-1111-4222-8333-444455556666"
	tests := []struct {
		name, spec, field, reason string
	}{
		{"takeOver", `{"name":"app","domain":"a.example.com","takeOver":"` + id + `"}`, "", ""},
		{"with adopt", `{"name":"app","domain":"a.example.com","adopt":true,"takeOver":"` + id + `"}`, "", ""},
		{"with id", `{"name":"app","domain":"a.example.com","id":"` + id + `","takeOver":"` + id + `"}`, "spec.takeOver", "not both"},
		{"bad id", `{"name":"app","domain":"a.example.com","takeOver":"a/b"}`, "spec.takeOver", "application id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(testTarget, src, []byte(tt.spec)), tt.field, tt.reason)
		})
	}
	if got := Canonical(Spec{TakeOver: id}).TakeOver; got != strings.ToLower(id) {
		t.Fatalf("canonical takeOver %q", got)
	}
}
