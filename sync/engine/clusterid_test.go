package engine

import (
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// In a new cluster's first moments the leader's engine runs before the
// cluster id is applied. Nothing may flush without it (the ownership
// markers carry it), nothing is recorded against the targets, and once the
// id is applied they flush at once — not after a backoff, which the
// "cluster id not known yet" error used to cost (up to BackoffMax).
func TestNoFlushUntilTheClusterIDIsKnown(t *testing.T) {
	v := newEnvWithoutClusterID(t, Config{Debounce: 10 * time.Millisecond, BackoffBase: time.Hour, BackoffMax: time.Hour})
	a, b := target("a"), target("b")
	v.put(a, "s", 1)
	v.run()
	v.put(b, "s", 1)

	// Both targets come up (startup check, change) and must wait. Poll
	// until the engine has parked them, so the check below is not vacuous.
	testutil.WaitFor(t, 5*time.Second, "both targets waiting for the cluster id", func() bool {
		v.engine.mu.Lock()
		defer v.engine.mu.Unlock()
		return len(v.engine.awaitID) == 2
	})
	for _, tg := range []string{"a", "b"} {
		if calls := v.flusher.callsFor(target(tg)); len(calls) != 0 {
			t.Fatalf("%s flushed %d times before the cluster id was known (cluster id %q)", tg, len(calls), calls[0].clusterID)
		}
		if _, _, st := v.state(target(tg)); st != nil {
			t.Fatalf("%s: a status was recorded while waiting for the cluster id: %+v", tg, st)
		}
	}

	applied := time.Now()
	v.setClusterID(testClusterID)
	for _, tg := range []string{"a", "b"} {
		v.waitSynced(target(tg))
		calls := v.flusher.callsFor(target(tg))
		if len(calls) != 1 || calls[0].clusterID != testClusterID {
			t.Fatalf("%s: flushes %+v, want one with cluster id %s", tg, calls, testClusterID)
		}
		if d := calls[0].at.Sub(applied); d > 2*time.Second {
			t.Fatalf("%s flushed %s after the cluster id was applied; want promptly", tg, d)
		}
	}
}
