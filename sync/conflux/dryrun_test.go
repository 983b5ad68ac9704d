package conflux

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// plan runs a dry run of frags on top of prev ids as the engine does and
// fails the test unless nothing but GETs reached the server.
func (e *env) plan(t *testing.T, prev map[string]string, frags ...api.Fragment) ([]string, error) {
	t.Helper()
	req := e.result(t, frags...)
	if prev != nil {
		req.Prev = &api.SyncStatus{DownstreamIDs: prev}
	}
	req.DryRun, req.Drift = true, true
	req.Checkpoint = func(context.Context, map[string]string) error {
		t.Error("a dry run checkpointed")
		return engine.ErrDryRun
	}
	before := e.writes()
	out, err := e.f.Flush(engine.WithDryRun(t.Context()), req)
	if errors.Is(err, engine.ErrDryRun) {
		t.Fatalf("the flusher tried to write in a dry run: %v", err)
	}
	if n := e.writes() - before; n != 0 {
		t.Fatalf("the dry run wrote %d times: %v", n, e.srv.Requests())
	}
	return out.Plan, err
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	v1, v2 := ContentSHA("port: 5432\n"), ContentSHA("port: 6543\n")
	plan, err := e.plan(t, nil, ownerFrag(`"port: 6543\n"`))
	want := []string{
		"create conflux config " + testTargetName + " (format yaml)",
		"publish conflux config " + testTargetName + " release v1: a new version (content sha256 " + v1[:12] + ", stable true)",
		"publish conflux config " + testTargetName + " release v2: a new version (content sha256 " + v2[:12] + ", stable false)",
		"replace the release policy of conflux config " + testTargetName + ": 2 rule(s)",
	}
	if err != nil || !slices.Equal(plan, want) {
		t.Fatalf("plan %q, %v\nwant %q", plan, err, want)
	}
	if n := len(e.srv.Configs()); n != 0 {
		t.Fatalf("%d configs after a dry run", n)
	}

	// Published for real: in sync, then one new version and the canary
	// rule that follows it.
	ids := e.mustFlush(t, nil, ownerFrag(`"port: 6543\n"`))
	if plan, err := e.plan(t, ids, ownerFrag(`"port: 6543\n"`)); err != nil || len(plan) != 0 {
		t.Fatalf("in sync: %q, %v", plan, err)
	}
	v3 := ContentSHA("port: 7000\n")
	plan, err = e.plan(t, ids, ownerFrag(`"port: 7000\n"`))
	want = []string{
		"publish conflux config " + testTargetName + " release v2: a new version (content sha256 " + v3[:12] + ", stable false)",
		"replace the release policy of conflux config " + testTargetName + ": 2 rule(s)",
	}
	if err != nil || !slices.Equal(plan, want) {
		t.Fatalf("plan %q, %v\nwant %q", plan, err, want)
	}
	if n := len(e.srv.Versions(ids[IDConfig])); n != 2 {
		t.Fatalf("%d versions after a dry run, want 2", n)
	}

	// The metadata changes; the last fragment goes.
	changed := frag("owner", 1, `{"config":{"format":"yaml","description":"new"},"releases":[{"name":"v1","content":"port: 5432\n","stable":true,"description":"stable"}],
		"policy":{"rules":[{"priority":0,"release":"v1"}]}}`)
	plan, err = e.plan(t, ids, changed)
	if err != nil || len(plan) != 2 || plan[0] != "update conflux config "+testTargetName+" (id "+ids[IDConfig]+"): description, schema, retention policy" ||
		!strings.HasPrefix(plan[1], "replace the release policy") {
		t.Fatalf("plan %q, %v", plan, err)
	}
	if plan, err := e.plan(t, ids); err != nil || !slices.Equal(plan, []string{"delete conflux config " + testTargetName + " (id " + ids[IDConfig] + ")"}) {
		t.Fatalf("the last fragment gone: %q, %v", plan, err)
	}
	if c := e.srv.Configs(); len(c) != 1 || c[0].Description != "primary db" {
		t.Fatalf("configs after dry runs: %+v", c)
	}
}

// A Flusher built for a dry run refuses writes even outside the engine.
func TestDryRunFlusherRefusesWrites(t *testing.T) {
	e := newEnv(t)
	f := mustFlusher(t, FlusherConfig{BaseURL: e.http.URL, Token: testToken, DryRun: true})
	_, err := f.Flush(t.Context(), e.result(t, ownerFrag(`"x: 1\n"`)))
	if !errors.Is(err, engine.ErrDryRun) || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "create config") {
		t.Fatalf("got %v", err)
	}
	if n := e.writes(); n != 0 {
		t.Fatalf("%d writes", n)
	}
}
