package access

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// env is the shared emulator environment with the flusher under test
// flushing testTarget.
type env struct {
	*cfapitest.Flow
	f *Flusher
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ce := cfapitest.New(t)
	e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients})}
	e.Flow = ce.Flow(New(), e.f, testTarget)
	return e
}

func (e *env) app(t *testing.T, id string) cf.AccessApplication {
	t.Helper()
	app, err := e.Human.GetAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), id)
	if err != nil {
		t.Fatalf("get app %s: %v", id, err)
	}
	return app
}

const specV1 = `{"name":"app","domain":"app.example.com","policies":["0f000000-0000-4000-8000-000000000001","0f000000-0000-4000-8000-000000000002"],"allowedIdps":["idp1"],"tags":["t1"]}`

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	e := newEnv(t)
	out := e.MustFlush(t, specV1)
	id := out.DownstreamIDs[IDApp]
	if id == "" || out.DownstreamIDs[IDCreated] != "true" || out.DownstreamIDs[IDAccount] != cfapitest.Account || len(out.DownstreamIDs[IDAUD]) != 64 {
		t.Fatalf("ids = %v", out.DownstreamIDs)
	}
	if cps := e.Checkpoints(); len(cps) != 1 || cps[0][IDApp] != id || cps[0][IDCreated] != "true" {
		t.Fatalf("checkpoints = %v", cps)
	}
	app := e.app(t, id)
	if app.Name != "app" || app.Domain != "app.example.com" || app.SessionDuration != "24h" || len(app.Policies) != 2 ||
		app.Policies[0].ID != "0f000000-0000-4000-8000-000000000001" || app.AppLauncherVisible == nil || !*app.AppLauncherVisible {
		t.Fatalf("app = %+v", app)
	}

	// Repeat: reads only.
	w := e.Writes()
	if again := e.MustFlush(t, specV1); again.DownstreamIDs[IDApp] != id {
		t.Fatalf("repeat changed ids: %v", again.DownstreamIDs)
	}
	if e.Writes() != w {
		t.Fatalf("repeat flush wrote %d times", e.Writes()-w)
	}

	// Update: reordered policies, emptied idps and tags, other settings.
	e.MustFlush(t, `{"name":"app2","domain":"app.example.com","policies":["0f000000-0000-4000-8000-000000000002","0f000000-0000-4000-8000-000000000001"],"sessionDuration":"12h","appLauncherVisible":false,"autoRedirectToIdentity":true}`)
	app = e.app(t, id)
	if app.Name != "app2" || app.Policies[0].ID != "0f000000-0000-4000-8000-000000000002" || app.SessionDuration != "12h" || len(app.AllowedIdps) != 0 ||
		len(app.Tags) != 0 || *app.AppLauncherVisible || !*app.AutoRedirectToIdentity {
		t.Fatalf("after update app = %+v", app)
	}
	w = e.Writes()
	e.MustFlush(t, `{"name":"app2","domain":"app.example.com","policies":["0f000000-0000-4000-8000-000000000002","0f000000-0000-4000-8000-000000000001"],"sessionDuration":"720m","appLauncherVisible":false,"autoRedirectToIdentity":true}`)
	if e.Writes() != w {
		t.Fatal("an equal session duration spelled differently must not write")
	}

	// No fragments: our app goes.
	out = e.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(e.Emu.AccessApps(cfapitest.Account)) != 0 {
		t.Fatalf("after delete: ids %v, apps %v", out.DownstreamIDs, e.Emu.AccessApps(cfapitest.Account))
	}
	w = e.Writes()
	e.MustFlush(t)
	if e.Writes() != w {
		t.Fatal("deleting nothing must not write")
	}
}

func (e *env) handMade(t *testing.T, domain string) cf.AccessApplication {
	t.Helper()
	app, err := e.Human.CreateAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.CreateAccessApplicationParams{
		Name: "hand", Domain: domain, Type: cf.SelfHosted, Policies: []string{"px"}})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade(t, "APP.example.com")
	w := e.Writes()
	_, err := e.Flush(t, specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "app.example.com exists and is not managed by conflux-sync; set adopt") {
		t.Fatalf("want a permanent clash, got %v", err)
	}
	if e.Writes() != w || e.app(t, hand.ID).Name != "hand" {
		t.Fatal("an unowned app must not be touched")
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade(t, "app.example.com")
	out := e.MustFlush(t, strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1))
	if out.DownstreamIDs[IDApp] != hand.ID || out.DownstreamIDs[IDCreated] != "false" || len(e.Checkpoints()) != 0 {
		t.Fatalf("ids %v, checkpoints %v", out.DownstreamIDs, e.Checkpoints())
	}
	if app := e.app(t, hand.ID); app.Name != "app" || len(app.Policies) != 2 {
		t.Fatalf("adopted app not updated: %+v", app)
	}
	// Released, not deleted.
	e.MustFlush(t)
	if apps := e.Emu.AccessApps(cfapitest.Account); len(apps) != 1 || apps[0].ID != hand.ID {
		t.Fatalf("adopted app must survive release: %v", apps)
	}
}

func TestFlushAdoptByID(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade(t, "old.example.com")
	out := e.MustFlush(t, `{"name":"app","domain":"app.example.com","id":"`+hand.ID+`"}`)
	if out.DownstreamIDs[IDApp] != hand.ID || out.DownstreamIDs[IDCreated] != "false" || e.app(t, hand.ID).Domain != "app.example.com" {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	e.Prev = nil
	_, err := e.Flush(t, `{"name":"app","domain":"app.example.com","id":"00000000-0000-4000-8000-000000000000"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown spec.id: %v", err)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	e := newEnv(t)
	id := e.MustFlush(t, specV1).DownstreamIDs[IDApp]
	_, err := e.Human.UpdateAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.UpdateAccessApplicationParams{
		ID: id, Name: "edited", Domain: "app.example.com", Policies: &[]string{"evil"}})
	if err != nil {
		t.Fatal(err)
	}
	e.MustFlush(t, specV1)
	if app := e.app(t, id); app.Name != "app" || len(app.Policies) != 2 || app.Policies[0].ID != "0f000000-0000-4000-8000-000000000001" {
		t.Fatalf("drift not repaired: %+v", app)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	e := newEnv(t)
	id := e.MustFlush(t, specV1).DownstreamIDs[IDApp]
	if err := e.Human.DeleteAccessApplication(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), id); err != nil {
		t.Fatal(err)
	}
	out := e.MustFlush(t, specV1)
	if nid := out.DownstreamIDs[IDApp]; nid == "" || nid == id || out.DownstreamIDs[IDCreated] != "true" || len(e.Emu.AccessApps(cfapitest.Account)) != 1 {
		t.Fatalf("ids %v apps %v", out.DownstreamIDs, e.Emu.AccessApps(cfapitest.Account))
	}
}

// A crash after the create: the next flush only has what Checkpoint
// recorded, and must recognise the app as ours instead of creating a
// second one or reporting a clash.
func TestFlushAfterCrashUsesCheckpoint(t *testing.T) {
	e := newEnv(t)
	e.MustFlush(t, specV1)
	e.Prev = &api.SyncStatus{DownstreamIDs: maps.Clone(e.Checkpoints()[0])}
	w := e.Writes()
	out := e.MustFlush(t, specV1)
	if apps := e.Emu.AccessApps(cfapitest.Account); len(apps) != 1 || out.DownstreamIDs[IDApp] != apps[0].ID || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v apps %v", out.DownstreamIDs, apps)
	}
	if e.Writes() != w {
		t.Fatal("the recovered flush must not write")
	}
}

// A failed checkpoint undoes the create, so nothing unrecorded is left.
func TestFlushCheckpointFailureUndoesCreate(t *testing.T) {
	e := newEnv(t)
	res, _ := New().Aggregate(testTarget, []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "p"}, Spec: json.RawMessage(specV1)}})
	_, err := e.f.Flush(cfapitest.Context(t), engine.Request{Target: testTarget, Result: res, ClusterID: cfapitest.ClusterID,
		Checkpoint: func(context.Context, map[string]string) error { return errors.New("no leader") }})
	if err == nil || engine.IsPermanent(err) || len(e.Emu.AccessApps(cfapitest.Account)) != 0 {
		t.Fatalf("err %v apps %v", err, e.Emu.AccessApps(cfapitest.Account))
	}
}

func TestFlushCreateConflictIsClash(t *testing.T) {
	e := newEnv(t)
	// Someone creates the app between our list and our create.
	e.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/access/apps", Status: 409, Count: 1})
	_, err := e.Flush(t, specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "set adopt") {
		t.Fatalf("want clash, got %v", err)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t)
	e.Emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + cfapitest.Account + "/access/apps", Status: 500, Count: 1})
	_, err := e.Flush(t, specV1)
	if err == nil || engine.IsPermanent(err) {
		t.Fatalf("500: want retryable, got %v", err)
	}
	e.Emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + cfapitest.Account + "/access/apps", Status: 429, Count: 1, RetryAfter: 7})
	_, err = e.Flush(t, specV1)
	var ce *cfapi.Error
	if err == nil || engine.IsPermanent(err) || !errors.As(err, &ce) || ce.RetryAfter() != 7*time.Second {
		t.Fatalf("429: want retryable with Retry-After, got %v", err)
	}
	if len(e.Emu.AccessApps(cfapitest.Account)) != 0 {
		t.Fatal("nothing must be created after failed reads")
	}
	e.MustFlush(t, specV1)
}

func TestFlushNeedsClusterID(t *testing.T) {
	e := newEnv(t)
	_, err := e.f.Flush(cfapitest.Context(t), engine.Request{Target: testTarget})
	if err == nil || engine.IsPermanent(err) {
		t.Fatalf("want retryable, got %v", err)
	}
}
