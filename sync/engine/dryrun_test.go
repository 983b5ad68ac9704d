package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// waitPlanned waits until the target's recorded status is a plan without
// error for its current revision and hash.
func (v *env) waitPlanned(tg api.TargetRef) *api.SyncStatus {
	v.t.Helper()
	var got *api.SyncStatus
	testutil.WaitFor(v.t, 15*time.Second, "planned "+tg.Name, func() bool {
		rev, hash, st := v.state(tg)
		got = st
		return st != nil && st.DryRun && st.Error == "" && st.Revision == rev && st.AttemptedHash == hash
	})
	return got
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestDryRunRecordsPlansAndNeverWrites(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	v := newEnv(t, Config{DryRun: true, Debounce: 10 * time.Millisecond, Workers: 1, Registerer: reg})
	v.run()
	a, b := target("a"), target("b")
	v.put(a, "x", 1)
	st := v.waitPlanned(a)
	_, hash, _ := v.state(a)
	if len(st.Plan) != 1 || st.Plan[0] != "write a "+hash || st.PlannedIDs["id"] != "remote-a" ||
		st.SyncedHash != "" || st.DownstreamIDs != nil || st.Attempts != 0 {
		t.Fatalf("plan status %+v", st)
	}

	// Planned is up to date: a change scan does not plan it again. One
	// worker serves the queue in order, so once b is planned, a had its
	// chance.
	v.engine.Notify(nil)
	v.put(b, "x", 1)
	v.waitPlanned(b)
	if n := len(v.flusher.callsFor(a)); n != 1 {
		t.Fatalf("a planned %d times, want 1", n)
	}
	for _, c := range v.flusher.all() {
		if !c.dryRun || c.wrote || !c.drift || !errors.Is(c.gate, ErrDryRun) || !IsPermanent(c.gate) {
			t.Fatalf("dry-run flush: dryRun=%v wrote=%v drift=%v gate=%v", c.dryRun, c.wrote, c.drift, c.gate)
		}
	}
	if g := gauge(t, reg, "conflux_sync_dry_run"); g != 1 {
		t.Fatalf("conflux_sync_dry_run = %v", g)
	}
}

// A flusher path that forgets DryRun fails loudly: its write and its
// checkpoint are refused and the refusal is recorded as a permanent error.
func TestDryRunRefusesForgottenWrites(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		checkpoint map[string]string
	}{
		{name: "write"},
		{name: "checkpoint", checkpoint: map[string]string{"pendingName": "edge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, Config{DryRun: true, Debounce: time.Millisecond})
			v.flusher.mu.Lock()
			v.flusher.ignoreDryRun, v.flusher.checkpoint = true, tc.checkpoint
			v.flusher.mu.Unlock()
			v.run()
			tg := target("forgetful")
			v.put(tg, "x", 1)
			var st *api.SyncStatus
			testutil.WaitFor(t, 10*time.Second, "the refusal recorded", func() bool {
				_, _, st = v.state(tg)
				return st != nil && st.Error != ""
			})
			if !st.DryRun || !st.Permanent || !strings.Contains(st.Error, "dry run: refusing to write downstream") || st.DownstreamIDs != nil {
				t.Fatalf("status %+v", st)
			}
			for _, c := range v.flusher.callsFor(tg) {
				if c.wrote {
					t.Fatal("a dry run wrote")
				}
			}
		})
	}
}

// A plan is not a sync: an engine without DryRun flushes every target
// whose last record is a plan, reading back first, and a dry run plans a
// target a real run synced. Synced hash and ids survive the dry run.
func TestDryRunThenRealRun(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: 10 * time.Millisecond, Workers: 1})
	stop := v.run()
	synced, fresh := target("synced"), target("fresh")
	v.put(synced, "x", 1)
	before := v.waitSynced(synced)
	stop()

	v.reconfigure(Config{DryRun: true, Debounce: 10 * time.Millisecond, Workers: 1})
	stop = v.run()
	v.put(fresh, "x", 1)
	v.waitPlanned(fresh)
	plan := v.waitPlanned(synced)
	if plan.SyncedHash != before.SyncedHash || plan.DownstreamIDs["id"] != "remote-synced" || len(plan.Plan) != 1 {
		t.Fatalf("the plan of a synced target lost its sync: %+v", plan)
	}
	stop()
	calls := len(v.flusher.all())

	reg := prometheus.NewRegistry()
	v.reconfigure(Config{Debounce: 10 * time.Millisecond, Workers: 1, Registerer: reg})
	v.run()
	for _, tg := range []api.TargetRef{synced, fresh} {
		st := v.waitSynced(tg)
		if st.DryRun || st.Plan != nil || st.PlannedIDs != nil || st.DownstreamIDs["id"] != "remote-"+tg.Name {
			t.Fatalf("real status of %s: %+v", tg.Name, st)
		}
	}
	real := v.flusher.all()[calls:]
	if len(real) != 2 {
		t.Fatalf("%d real flushes, want 2", len(real))
	}
	for _, c := range real {
		if c.dryRun || !c.wrote || !c.drift || c.prev == nil || !c.prev.DryRun {
			t.Fatalf("real flush after a plan: dryRun=%v wrote=%v drift=%v prev=%+v", c.dryRun, c.wrote, c.drift, c.prev)
		}
	}
	if g := gauge(t, reg, "conflux_sync_dry_run"); g != 0 {
		t.Fatalf("conflux_sync_dry_run = %v", g)
	}
}

func TestVerifyWriteInDryRun(t *testing.T) {
	t.Parallel()
	ctx := WithDryRun(context.Background())
	if err := VerifyWrite(ctx); !errors.Is(err, ErrDryRun) || !IsPermanent(err) {
		t.Fatalf("dry run: %v", err)
	}
	// The leadership check added by a flush keeps the refusal.
	called := false
	err := VerifyWrite(withWriteGate(ctx, func(context.Context) error { called = true; return nil }))
	if !errors.Is(err, ErrDryRun) || called {
		t.Fatalf("dry run behind the leadership gate: %v (leadership checked: %v)", err, called)
	}
}

// A real flush after a plan checkpoints a real status: nothing of the
// plan (DryRun, Plan, PlannedIDs) comes along.
func TestCheckpointAfterDryRunIsReal(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{DryRun: true, Debounce: time.Millisecond})
	stop := v.run()
	tg := target("cp-after-plan")
	v.put(tg, "x", 1)
	v.waitPlanned(tg)
	stop()

	v.flusher.mu.Lock()
	v.flusher.checkpoint = map[string]string{"pendingName": "edge"}
	v.flusher.block = true
	v.flusher.mu.Unlock()
	v.reconfigure(Config{Debounce: time.Millisecond})
	v.run()
	var st *api.SyncStatus
	testutil.WaitFor(t, 10*time.Second, "the checkpoint recorded", func() bool {
		_, _, st = v.state(tg)
		return st != nil && st.DownstreamIDs["pendingName"] == "edge"
	})
	if st.DryRun || st.Plan != nil || st.PlannedIDs != nil {
		t.Fatalf("checkpoint status %+v", st)
	}
}
