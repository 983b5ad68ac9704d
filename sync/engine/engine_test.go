package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// The admin API's "sync now" is served by the engine.
var _ httpapi.Syncer = (*Engine)(nil)

func TestDebounceCoalesces(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: time.Second, BackoffBase: time.Millisecond})
	v.run()
	tg := target("busy")
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 10 {
				v.put(tg, fmt.Sprintf("s%d-%d", g, i), 1)
			}
		})
	}
	wg.Wait()
	st := v.waitSynced(tg)
	rev, hash, _ := v.state(tg)
	calls := v.flusher.callsFor(tg)
	if n := len(calls); n < 1 || n > 2 {
		t.Fatalf("100 changes inside the window cost %d flushes, want 1 or 2", n)
	}
	if last := calls[len(calls)-1]; last.hash != hash || st.Revision != rev {
		t.Fatalf("last flush hash %s revision %d, want the final %s at %d", last.hash, st.Revision, hash, rev)
	}
}

func TestRecordSyncAndRestartSkipsSynced(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: 20 * time.Millisecond, Workers: 1})
	stop := v.run()
	a, b := target("a"), target("b")
	v.put(a, "x", 1)
	v.put(b, "x", 1)
	for _, tg := range []struct {
		ref  string
		want string
	}{{"a", "remote-a"}, {"b", "remote-b"}} {
		st := v.waitSynced(target(tg.ref))
		_, hash, _ := v.state(target(tg.ref))
		if st.SyncedHash != hash || st.AttemptedHash != hash || st.DownstreamIDs["id"] != tg.want ||
			st.Attempts != 0 || st.Time.IsZero() {
			t.Fatalf("status of %s = %+v, want hash %s and id %s", tg.ref, st, hash, tg.want)
		}
	}
	stop()

	// Changed while no engine ran: only this one is flushed on restart.
	c := target("c")
	v.put(c, "x", 1)
	v.run()
	v.waitSynced(c)
	// One worker takes the startup pass in key order: a and b were
	// checked before c was flushed.
	for _, tg := range []string{"a", "b", "c"} {
		if n := len(v.flusher.callsFor(target(tg))); n != 1 {
			t.Fatalf("%s flushed %d times, want 1", tg, n)
		}
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		errs    []error
		minGaps []time.Duration
	}{
		{"backoff", []error{errTransient, errTransient}, []time.Duration{0, 0}},
		{"retry-after", []error{retryAfterErr{300 * time.Millisecond}}, []time.Duration{300 * time.Millisecond}},
		{"wrapped retry-after", []error{fmt.Errorf("put: %w", retryAfterErr{200 * time.Millisecond})}, []time.Duration{200 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			v := newEnv(t, Config{Debounce: 10 * time.Millisecond, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, Registerer: reg})
			v.flusher.failWith(tc.errs...)
			v.run()
			tg := target("r")
			v.put(tg, "x", 1)
			st := v.waitSynced(tg)
			calls := v.flusher.callsFor(tg)
			if len(calls) != len(tc.errs)+1 {
				t.Fatalf("%d calls, want %d", len(calls), len(tc.errs)+1)
			}
			for i, gap := range tc.minGaps {
				if d := calls[i+1].at.Sub(calls[i].at); d < gap {
					t.Fatalf("attempt %d came %s after the previous one, want at least %s", i+2, d, gap)
				}
				prev := calls[i+1].prev
				if prev == nil || prev.Error != tc.errs[i].Error() || prev.Attempts != i+1 || prev.SyncedHash != "" {
					t.Fatalf("attempt %d saw prev %+v, want error %q attempts %d", i+2, prev, tc.errs[i], i+1)
				}
			}
			if st.Attempts != 0 || st.Error != "" {
				t.Fatalf("final status %+v", st)
			}
			flushes := map[string]float64{}
			var latencies uint64
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					switch mf.GetName() {
					case "conflux_sync_flushes_total":
						for _, l := range m.GetLabel() {
							if l.GetName() == "result" {
								flushes[l.GetValue()] += m.GetCounter().GetValue()
							}
						}
					case "conflux_sync_flush_duration_seconds":
						latencies += m.GetHistogram().GetSampleCount()
					}
				}
			}
			if flushes["error"] != float64(len(tc.errs)) || flushes["success"] != 1 || latencies != uint64(len(tc.errs)+1) {
				t.Fatalf("metrics: flushes %v, latency samples %d", flushes, latencies)
			}
		})
	}
}

func TestPermanentWaitsForNewRevision(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: 20 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, Workers: 1})
	v.flusher.failWith(Permanent(errors.New("400 bad request")))
	v.run()
	p, other := target("p"), target("other")
	v.put(p, "x", 1)
	testutil.WaitFor(t, 10*time.Second, "permanent failure recorded", func() bool {
		_, _, st := v.state(p)
		return st != nil && st.Error == "400 bad request" && st.Attempts == 1
	})
	// Anything that would retry a transient failure within a millisecond
	// gets its chance while another target syncs; the changes are queued
	// before it, and one worker serves the queue in order.
	v.engine.Notify(nil)
	v.put(other, "x", 1)
	v.waitSynced(other)
	if n := len(v.flusher.callsFor(p)); n != 1 {
		t.Fatalf("permanent failure retried: %d calls", n)
	}
	// A new revision is tried again.
	v.put(p, "x", 2)
	v.waitSynced(p)
	if n := len(v.flusher.callsFor(p)); n != 2 {
		t.Fatalf("%d calls after the new revision, want 2", n)
	}
}

// A failed attempt keeps what it checkpointed: the next attempt must know
// that it (say) started creating a tunnel.
func TestFailureKeepsCheckpointedIDs(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: time.Millisecond, Workers: 1})
	v.flusher.mu.Lock()
	v.flusher.checkpoint = map[string]string{"pendingName": "edge"}
	v.flusher.mu.Unlock()
	v.flusher.failWith(Permanent(errors.New("409 conflict")))
	v.run()
	p := target("cp")
	v.put(p, "x", 1)
	testutil.WaitFor(t, 10*time.Second, "failure with the checkpointed id", func() bool {
		_, _, st := v.state(p)
		return st != nil && st.Error == "409 conflict" && st.DownstreamIDs["pendingName"] == "edge"
	})
	calls := v.flusher.callsFor(p)
	if len(calls) != 1 || calls[0].prev != nil {
		t.Fatalf("calls %+v", calls)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	const n, perSec = 6, 20
	v := newEnv(t, Config{RateLimit: rate.Limit(perSec), Burst: 1})
	for i := range n {
		v.put(target(fmt.Sprintf("t%d", i)), "x", 1)
	}
	v.run()
	for i := range n {
		v.waitSynced(target(fmt.Sprintf("t%d", i)))
	}
	calls := v.flusher.all()
	if len(calls) != n {
		t.Fatalf("%d flushes, want %d", len(calls), n)
	}
	first, last := calls[0].at, calls[0].at
	for _, c := range calls {
		first, last = minTime(first, c.at), maxTime(last, c.at)
	}
	// n tokens from a bucket of one refilled at perSec: at least n-1
	// intervals (less some scheduling slack).
	if want := time.Duration(n-1)*time.Second/perSec - 20*time.Millisecond; last.Sub(first) < want {
		t.Fatalf("%d flushes within %s, the limit allows no faster than %s", n, last.Sub(first), want)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestCancelStopsEverything is not parallel: it inspects every goroutine's
// stack, and no other test's engine may be running.
func TestCancelStopsEverything(t *testing.T) {
	v := newEnv(t, Config{Debounce: time.Millisecond, DriftInterval: time.Hour})
	v.flusher.setBlock(true)
	stop := v.run()
	tg := target("slow")
	v.put(tg, "x", 1)
	testutil.WaitFor(t, 10*time.Second, "flush in progress", func() bool { return len(v.flusher.callsFor(tg)) == 1 })
	// A pending debounced change and a blocked flush when ctx ends.
	v.put(target("pending"), "x", 1)
	stop()
	if v.engine.running() {
		t.Fatal("engine still running after Run returned")
	}
	// After Run: calls are ignored, nothing starts. Run returned only after
	// its goroutines exited, so none may be left (a worker, the timer loop,
	// or a flush).
	v.engine.Notify(nil)
	v.engine.Enqueue(tg)
	buf := make([]byte, 1<<20)
	// Only the engine's own goroutines count: the test helper's wrapper
	// around Run may still be returning after it closed its done channel.
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "sync/engine.(*") && !strings.Contains(g, "sync/engine.(*env)") {
			t.Fatalf("engine goroutine left:\n%s\n\nall goroutines:\n%s", g, stacks)
		}
	}
	if _, _, st := v.state(tg); st != nil {
		t.Fatalf("cancelled flush recorded %+v", st)
	}
}

func TestEnqueueBypassesDebounce(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: time.Hour})
	v.run()
	tg := target("now")
	v.put(tg, "x", 1)
	v.engine.Enqueue(tg)
	v.waitSynced(tg)
	if n := len(v.flusher.callsFor(tg)); n != 1 {
		t.Fatalf("%d flushes, want 1", n)
	}
	// Enqueue flushes even when the recorded hash matches.
	v.engine.Enqueue(tg)
	testutil.WaitFor(t, 10*time.Second, "forced flush", func() bool { return len(v.flusher.callsFor(tg)) == 2 })
}

func TestDriftReflushesMatchingHash(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: 10 * time.Millisecond, DriftInterval: 100 * time.Millisecond})
	v.run()
	tg := target("drift")
	v.put(tg, "x", 1)
	v.waitSynced(tg)
	testutil.WaitFor(t, 10*time.Second, "drift passes", func() bool { return len(v.flusher.callsFor(tg)) >= 3 })
	_, hash, _ := v.state(tg)
	for i, c := range v.flusher.callsFor(tg)[1:] {
		if c.hash != hash || c.prev == nil || c.prev.SyncedHash != hash {
			t.Fatalf("drift call %d: hash %s prev %+v, want a re-flush of synced %s", i+1, c.hash, c.prev, hash)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a store succeeded")
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	e := &Engine{cfg: Config{BackoffBase: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond}}
	tests := []struct {
		attempts int
		max      time.Duration
	}{{1, 10 * time.Millisecond}, {2, 20 * time.Millisecond}, {4, 80 * time.Millisecond}, {50, 80 * time.Millisecond}}
	for _, tc := range tests {
		for range 100 {
			if d := e.backoff(tc.attempts); d <= 0 || d > tc.max {
				t.Fatalf("backoff(%d) = %s, want in (0, %s]", tc.attempts, d, tc.max)
			}
		}
	}
}

func TestFlushesWriteBehindTheLeadershipGate(t *testing.T) {
	t.Parallel()
	v := newEnv(t, Config{Debounce: time.Millisecond})
	v.run()
	tg := target("gated")
	v.put(tg, "a", 1)
	v.waitSynced(tg)
	for _, c := range v.flusher.callsFor(tg) {
		if !c.gated || c.gate != nil {
			t.Fatalf("flush ran without a working write gate: gated=%v, gate=%v", c.gated, c.gate)
		}
	}
}

func TestVerifyWrite(t *testing.T) {
	ctx := context.Background()
	if err := VerifyWrite(ctx); err != nil {
		t.Fatalf("outside a flush writes are allowed: %v", err)
	}
	lost := errors.New("node is not the leader")
	err := VerifyWrite(withWriteGate(ctx, func(context.Context) error { return lost }))
	if !errors.Is(err, lost) || !strings.Contains(err.Error(), "not writing downstream") {
		t.Fatalf("got %v", err)
	}
}
