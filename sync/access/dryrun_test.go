package access

import (
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

func TestDryRun(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.Plan(t, specV1)
		if err != nil || !slices.Equal(out.Plan, []string{"create Access application app for app.example.com"}) {
			t.Fatalf("plan %q, %v", out.Plan, err)
		}
		if apps := e.Emu.AccessApps(cfapitest.Account); len(apps) != 0 || out.DownstreamIDs[IDApp] != "" {
			t.Fatalf("apps %v, ids %v", apps, out.DownstreamIDs)
		}
	})
	t.Run("take over, in sync and changed", func(t *testing.T) {
		e := newEnv(t)
		prev := e.previous(t)
		spec := withTakeOver(specV1, prev.ID)
		out, err := e.Plan(t, spec)
		want := []string{"take over Access application app.example.com (id " + prev.ID + ": spec.takeOver names it)"}
		if err != nil || !slices.Equal(out.Plan, want) || out.DownstreamIDs[IDApp] != prev.ID {
			t.Fatalf("plan %q, ids %v, %v", out.Plan, out.DownstreamIDs, err)
		}
		changed := withTakeOver(strings.Replace(specV1, `"tags":["t1"]`, `"tags":["t2"]`, 1), prev.ID)
		want = append(want, "update Access application app.example.com (id "+prev.ID+"): tags [t1] -> [t2]")
		if plan := e.MustPlan(t, changed); !slices.Equal(plan, want) {
			t.Fatalf("plan %q, want %q", plan, want)
		}
		// Taken over for real: from then on, only the change.
		e.MustFlush(t, spec)
		if plan := e.MustPlan(t, spec); len(plan) != 0 {
			t.Fatalf("in sync, planned %q", plan)
		}
		if plan := e.MustPlan(t, changed); !slices.Equal(plan, want[1:]) {
			t.Fatalf("plan %q", plan)
		}
		if plan := e.MustPlan(t); !slices.Equal(plan, []string{"delete Access application " + prev.ID}) {
			t.Fatalf("the last fragment gone: %q", plan)
		}
		if app := e.app(t, prev.ID); len(app.Tags) != 1 || app.Tags[0] != "t1" {
			t.Fatalf("app changed: %+v", app)
		}
	})
	t.Run("clash", func(t *testing.T) {
		e := newEnv(t)
		e.handMade(t, "app.example.com")
		if _, err := e.Plan(t, specV1); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "not managed by conflux-sync; set adopt") {
			t.Fatalf("got %v", err)
		}
	})
}
