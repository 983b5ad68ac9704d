package access

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const (
	acct    = "acc1"
	token   = "tok-acc1"
	cluster = "c1"
)

type env struct {
	t    *testing.T
	emu  *emu.Server
	api  *cf.API // an out-of-band client (someone else, the dashboard)
	f    *Flusher
	prev *api.SyncStatus

	mu          sync.Mutex
	checkpoints []map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, emu: emu.New(emu.Config{
		Tokens:    map[string]emu.TokenScope{token: {Accounts: []string{acct}}},
		RateLimit: &emu.RateLimit{Requests: 0},
	})}
	e.emu.AddAccount(acct)
	srv := httptest.NewServer(e.emu)
	t.Cleanup(srv.Close)
	clients, err := cfapi.New(cfapi.Config{Credentials: cfapi.Credentials{acct: token}, BaseURL: srv.URL + "/client/v4", RateLimit: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e.f = NewFlusher(FlusherConfig{Clients: clients})
	e.api, err = cf.NewWithAPIToken(token, cf.BaseURL(srv.URL+"/client/v4"), cf.UsingRateLimit(1000), cf.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// flush runs one flush of spec ("" = no fragments) with the status the
// previous flush recorded, and records its outcome like the engine does.
func (e *env) flush(spec string) (engine.Outcome, error) {
	e.t.Helper()
	var frags []api.Fragment
	if spec != "" {
		frags = []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "p"}, CreateIndex: 1, Spec: json.RawMessage(spec)}}
		if err := New().Validate(testTarget, frags[0].Source, frags[0].Spec); err != nil {
			e.t.Fatalf("spec does not validate: %v", err)
		}
	}
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		e.t.Fatal(err)
	}
	req := engine.Request{Target: testTarget, Result: res, Prev: e.prev, ClusterID: cluster,
		Checkpoint: func(_ context.Context, ids map[string]string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.checkpoints = append(e.checkpoints, maps.Clone(ids))
			return nil
		}}
	out, err := e.f.Flush(ctx(e.t), req)
	if err == nil {
		e.prev = &api.SyncStatus{SyncedHash: res.Hash(), DownstreamIDs: out.DownstreamIDs}
	}
	return out, err
}

func (e *env) mustFlush(spec string) engine.Outcome {
	e.t.Helper()
	out, err := e.flush(spec)
	if err != nil {
		e.t.Fatalf("flush: %v", err)
	}
	return out
}

// writes counts the non-GET requests the emulator served.
func (e *env) writes() int {
	n := 0
	for k, v := range e.emu.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

func (e *env) app(id string) cf.AccessApplication {
	e.t.Helper()
	app, err := e.api.GetAccessApplication(ctx(e.t), cf.AccountIdentifier(acct), id)
	if err != nil {
		e.t.Fatalf("get app %s: %v", id, err)
	}
	return app
}

const specV1 = `{"name":"app","domain":"app.example.com","policies":["p1","p2"],"allowedIdps":["idp1"],"tags":["t1"]}`

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	e := newEnv(t)
	out := e.mustFlush(specV1)
	id := out.DownstreamIDs[IDApp]
	if id == "" || out.DownstreamIDs[IDCreated] != "true" || out.DownstreamIDs[IDAccount] != acct || len(out.DownstreamIDs[IDAUD]) != 64 {
		t.Fatalf("ids = %v", out.DownstreamIDs)
	}
	if len(e.checkpoints) != 1 || e.checkpoints[0][IDApp] != id || e.checkpoints[0][IDCreated] != "true" {
		t.Fatalf("checkpoints = %v", e.checkpoints)
	}
	app := e.app(id)
	if app.Name != "app" || app.Domain != "app.example.com" || app.SessionDuration != "24h" || len(app.Policies) != 2 ||
		app.Policies[0].ID != "p1" || app.AppLauncherVisible == nil || !*app.AppLauncherVisible {
		t.Fatalf("app = %+v", app)
	}

	// Repeat: reads only.
	w := e.writes()
	if again := e.mustFlush(specV1); again.DownstreamIDs[IDApp] != id {
		t.Fatalf("repeat changed ids: %v", again.DownstreamIDs)
	}
	if e.writes() != w {
		t.Fatalf("repeat flush wrote %d times", e.writes()-w)
	}

	// Update: reordered policies, emptied idps and tags, other settings.
	e.mustFlush(`{"name":"app2","domain":"app.example.com","policies":["p2","p1"],"sessionDuration":"12h","appLauncherVisible":false,"autoRedirectToIdentity":true}`)
	app = e.app(id)
	if app.Name != "app2" || app.Policies[0].ID != "p2" || app.SessionDuration != "12h" || len(app.AllowedIdps) != 0 ||
		len(app.Tags) != 0 || *app.AppLauncherVisible || !*app.AutoRedirectToIdentity {
		t.Fatalf("after update app = %+v", app)
	}
	w = e.writes()
	e.mustFlush(`{"name":"app2","domain":"app.example.com","policies":["p2","p1"],"sessionDuration":"720m","appLauncherVisible":false,"autoRedirectToIdentity":true}`)
	if e.writes() != w {
		t.Fatal("an equal session duration spelled differently must not write")
	}

	// No fragments: our app goes.
	out = e.mustFlush("")
	if len(out.DownstreamIDs) != 0 || len(e.emu.AccessApps(acct)) != 0 {
		t.Fatalf("after delete: ids %v, apps %v", out.DownstreamIDs, e.emu.AccessApps(acct))
	}
	w = e.writes()
	e.mustFlush("")
	if e.writes() != w {
		t.Fatal("deleting nothing must not write")
	}
}

func (e *env) handMade(domain string) cf.AccessApplication {
	e.t.Helper()
	app, err := e.api.CreateAccessApplication(ctx(e.t), cf.AccountIdentifier(acct), cf.CreateAccessApplicationParams{
		Name: "hand", Domain: domain, Type: cf.SelfHosted, Policies: []string{"px"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade("APP.example.com")
	w := e.writes()
	_, err := e.flush(specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "app.example.com exists and is not managed by conflux-sync; set adopt") {
		t.Fatalf("want a permanent clash, got %v", err)
	}
	if e.writes() != w || e.app(hand.ID).Name != "hand" {
		t.Fatal("an unowned app must not be touched")
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade("app.example.com")
	out := e.mustFlush(strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1))
	if out.DownstreamIDs[IDApp] != hand.ID || out.DownstreamIDs[IDCreated] != "false" || len(e.checkpoints) != 0 {
		t.Fatalf("ids %v, checkpoints %v", out.DownstreamIDs, e.checkpoints)
	}
	if app := e.app(hand.ID); app.Name != "app" || len(app.Policies) != 2 {
		t.Fatalf("adopted app not updated: %+v", app)
	}
	// Released, not deleted.
	e.mustFlush("")
	if apps := e.emu.AccessApps(acct); len(apps) != 1 || apps[0].ID != hand.ID {
		t.Fatalf("adopted app must survive release: %v", apps)
	}
}

func TestFlushAdoptByID(t *testing.T) {
	e := newEnv(t)
	hand := e.handMade("old.example.com")
	out := e.mustFlush(`{"name":"app","domain":"app.example.com","id":"` + hand.ID + `"}`)
	if out.DownstreamIDs[IDApp] != hand.ID || out.DownstreamIDs[IDCreated] != "false" || e.app(hand.ID).Domain != "app.example.com" {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	e.prev = nil
	_, err := e.flush(`{"name":"app","domain":"app.example.com","id":"00000000-0000-4000-8000-000000000000"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("unknown spec.id: %v", err)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	e := newEnv(t)
	id := e.mustFlush(specV1).DownstreamIDs[IDApp]
	_, err := e.api.UpdateAccessApplication(ctx(t), cf.AccountIdentifier(acct), cf.UpdateAccessApplicationParams{
		ID: id, Name: "edited", Domain: "app.example.com", Policies: &[]string{"evil"}})
	if err != nil {
		t.Fatal(err)
	}
	e.mustFlush(specV1)
	if app := e.app(id); app.Name != "app" || len(app.Policies) != 2 || app.Policies[0].ID != "p1" {
		t.Fatalf("drift not repaired: %+v", app)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	e := newEnv(t)
	id := e.mustFlush(specV1).DownstreamIDs[IDApp]
	if err := e.api.DeleteAccessApplication(ctx(t), cf.AccountIdentifier(acct), id); err != nil {
		t.Fatal(err)
	}
	out := e.mustFlush(specV1)
	if nid := out.DownstreamIDs[IDApp]; nid == "" || nid == id || out.DownstreamIDs[IDCreated] != "true" || len(e.emu.AccessApps(acct)) != 1 {
		t.Fatalf("ids %v apps %v", out.DownstreamIDs, e.emu.AccessApps(acct))
	}
}

// A crash after the create: the next flush only has what Checkpoint
// recorded, and must recognise the app as ours instead of creating a
// second one or reporting a clash.
func TestFlushAfterCrashUsesCheckpoint(t *testing.T) {
	e := newEnv(t)
	e.mustFlush(specV1)
	e.prev = &api.SyncStatus{DownstreamIDs: maps.Clone(e.checkpoints[0])}
	w := e.writes()
	out := e.mustFlush(specV1)
	if apps := e.emu.AccessApps(acct); len(apps) != 1 || out.DownstreamIDs[IDApp] != apps[0].ID || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v apps %v", out.DownstreamIDs, apps)
	}
	if e.writes() != w {
		t.Fatal("the recovered flush must not write")
	}
}

// A failed checkpoint undoes the create, so nothing unrecorded is left.
func TestFlushCheckpointFailureUndoesCreate(t *testing.T) {
	e := newEnv(t)
	res, _ := New().Aggregate(testTarget, []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "p"}, Spec: json.RawMessage(specV1)}})
	_, err := e.f.Flush(ctx(t), engine.Request{Target: testTarget, Result: res, ClusterID: cluster,
		Checkpoint: func(context.Context, map[string]string) error { return errors.New("no leader") }})
	if err == nil || engine.IsPermanent(err) || len(e.emu.AccessApps(acct)) != 0 {
		t.Fatalf("err %v apps %v", err, e.emu.AccessApps(acct))
	}
}

func TestFlushCreateConflictIsClash(t *testing.T) {
	e := newEnv(t)
	// Someone creates the app between our list and our create.
	e.emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + acct + "/access/apps", Status: 409, Count: 1})
	_, err := e.flush(specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "set adopt") {
		t.Fatalf("want clash, got %v", err)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t)
	e.emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + acct + "/access/apps", Status: 500, Count: 1})
	_, err := e.flush(specV1)
	if err == nil || engine.IsPermanent(err) {
		t.Fatalf("500: want retryable, got %v", err)
	}
	e.emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + acct + "/access/apps", Status: 429, Count: 1, RetryAfter: 7})
	_, err = e.flush(specV1)
	var ce *cfapi.Error
	if err == nil || engine.IsPermanent(err) || !errors.As(err, &ce) || ce.RetryAfter() != 7*time.Second {
		t.Fatalf("429: want retryable with Retry-After, got %v", err)
	}
	if len(e.emu.AccessApps(acct)) != 0 {
		t.Fatal("nothing must be created after failed reads")
	}
	e.mustFlush(specV1)
}

func TestFlushNeedsClusterID(t *testing.T) {
	e := newEnv(t)
	_, err := e.f.Flush(ctx(t), engine.Request{Target: testTarget})
	if err == nil || engine.IsPermanent(err) {
		t.Fatalf("want retryable, got %v", err)
	}
}
