package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// A flush that waits for another target is recorded without an error,
// is not retried on the news of its own record nor by a backoff, and is
// flushed again as soon as the target it waits for records an outcome.
// The backoff here is a minute: only the dependency can bring it back in
// time.
func TestDependencies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  func(on api.TargetRef) error
		// failed: the wait is recorded as a (blocking) failure.
		failed bool
	}{
		{name: "wait for a target not ready yet", err: func(on api.TargetRef) error {
			return WaitFor(on, errors.New("tunnel dep (not created yet)"))
		}},
		{name: "blocked by another target", failed: true, err: func(on api.TargetRef) error {
			return Permanent(BlockedBy(on, errors.New("target dep holds the tunnel")))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, Config{Debounce: 20 * time.Millisecond, BackoffBase: time.Minute, BackoffMax: time.Minute, Workers: 1})
			w, dep, other := target("w"), target("dep"), target("other")
			v.flusher.failWith(tc.err(dep))
			v.run()
			v.put(w, "x", 1)
			var st *api.SyncStatus
			testutil.WaitFor(t, 10*time.Second, "the wait recorded", func() bool {
				_, _, st = v.state(w)
				return st != nil && st.DependsOn != nil
			})
			if *st.DependsOn != dep || (st.Error != "") != tc.failed || st.SyncedHash != "" {
				t.Fatalf("recorded %+v", st)
			}
			if !tc.failed && (st.Attempts != 0 || len(st.Waiting) != 1 || st.Waiting[0].For != "tunnel dep (not created yet)") {
				t.Fatalf("a wait recorded as %+v", st)
			}
			// A scan and another target's sync give any retry its chance;
			// one worker serves the queue in order.
			v.engine.Notify(nil)
			v.put(other, "x", 1)
			v.waitSynced(other)
			if n := len(v.flusher.callsFor(w)); n != 1 {
				t.Fatalf("the waiting target was flushed %d times before its dependency changed", n)
			}
			start := time.Now()
			v.put(dep, "x", 1)
			v.waitSynced(dep)
			v.waitSynced(w)
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("resumed after %v", d)
			}
			calls := v.flusher.callsFor(w)
			if len(calls) != 2 || !calls[1].drift {
				t.Fatalf("calls %+v: want one more, a read-back", calls)
			}
			if _, _, st := v.state(w); st.DependsOn != nil || len(st.Waiting) != 0 {
				t.Fatalf("the wait outlived the sync: %+v", st)
			}
		})
	}
}

// The index never loses a release: a dependency recorded while the
// waiting target's attempt ran (after the seq it started at) makes the
// registration report it, so the engine flushes the waiter at once.
func TestDepsIndex(t *testing.T) {
	t.Parallel()
	w, w2, dep := target("w"), target("w2"), target("dep")
	cases := []struct {
		name  string
		steps func(d *deps) (again bool, released []api.TargetRef)
		again bool
		rel   int
	}{
		{name: "registered, then released", steps: func(d *deps) (bool, []api.TargetRef) {
			again := d.wait(w, dep, d.seq)
			return again, d.done(dep)
		}, rel: 1},
		{name: "released while the attempt ran", steps: func(d *deps) (bool, []api.TargetRef) {
			start := d.seq
			d.done(dep)
			return d.wait(w, dep, start), nil
		}, again: true},
		{name: "released before the attempt started", steps: func(d *deps) (bool, []api.TargetRef) {
			d.done(dep)
			return d.wait(w, dep, d.seq), nil
		}},
		{name: "a waiter flushed meanwhile is forgotten", steps: func(d *deps) (bool, []api.TargetRef) {
			d.wait(w, dep, d.seq)
			d.wait(w2, dep, d.seq)
			d.forget(w)
			return false, d.done(dep)
		}, rel: 1},
		{name: "a release is handed out once", steps: func(d *deps) (bool, []api.TargetRef) {
			d.wait(w, dep, d.seq)
			d.done(dep)
			return d.waiting(w), d.done(dep)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			again, released := tc.steps(newDeps())
			if again != tc.again || len(released) != tc.rel {
				t.Fatalf("again %v, released %v; want %v and %d", again, released, tc.again, tc.rel)
			}
		})
	}
}
