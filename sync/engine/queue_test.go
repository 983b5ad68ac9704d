package engine

import (
	"sync"
	"testing"
	"time"
)

func TestQueueInFlightReAdd(t *testing.T) {
	t.Parallel()
	q := newQueue()
	k := target("k")
	q.add(k, reasonChange)
	q.add(k, reasonForce) // merged while ready
	got, why, ok := q.get()
	if !ok || got != k || why != reasonChange|reasonForce {
		t.Fatalf("get = %v %b %v", got, why, ok)
	}
	// Re-added while in flight: not handed out until done.
	q.add(k, reasonDrift)
	if d := q.depth(); d != 0 {
		t.Fatalf("depth while in flight = %d, want 0", d)
	}
	q.mu.Lock()
	readyNow := len(q.ready)
	q.mu.Unlock()
	if readyNow != 0 {
		t.Fatal("key ready for a second worker while in flight")
	}
	q.done(k)
	if _, why, _ := q.get(); why != reasonDrift {
		t.Fatalf("re-added reason = %b, want drift", why)
	}
	q.done(k)
	q.close()
	if _, _, ok := q.get(); ok {
		t.Fatal("get after close returned a key")
	}
}

func TestQueueDelayEarliestWins(t *testing.T) {
	t.Parallel()
	q := newQueue()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { q.runTimers(stop) })
	defer func() { close(stop); wg.Wait() }()

	a, b := target("a"), target("b")
	start := time.Now()
	q.addAfter(a, reasonChange, 40*time.Millisecond)
	q.addAfter(a, reasonChange, time.Hour) // later: ignored
	q.addAfter(b, reasonCheck, 10*time.Millisecond)
	q.addAfter(a, reasonCheck, time.Hour) // separate reason: kept
	if d := q.depth(); d != 2 {
		t.Fatalf("depth = %d, want 2", d)
	}
	k1, why1, _ := q.get()
	q.done(k1)
	k2, why2, _ := q.get()
	q.done(k2)
	if k1 != b || why1 != reasonCheck || k2 != a || why2 != reasonChange {
		t.Fatalf("got %v/%b then %v/%b", k1, why1, k2, why2)
	}
	if el := time.Since(start); el < 40*time.Millisecond || el > 30*time.Second {
		t.Fatalf("a came after %s, want its 40ms debounce", el)
	}
	if d := q.depth(); d != 1 {
		t.Fatalf("depth = %d, want 1 (a's retry still scheduled)", d)
	}
}
