package engine

import (
	"container/heap"
	"sync"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// reason says why a target was queued; reasons of one key are merged (OR)
// when it becomes ready.
type reason uint8

const (
	// reasonChange: the target changed (Notify); flush unless up to date or
	// its last attempt at this revision failed (a retry is scheduled, or the
	// error is permanent).
	reasonChange reason = 1 << iota
	// reasonCheck: startup or retry; flush unless up to date or failed
	// permanently at this revision.
	reasonCheck
	// reasonDrift: periodic drift pass; flush even when the hash matches.
	reasonDrift
	// reasonForce: Enqueue; flush now, whatever was recorded.
	reasonForce
)

// numReasons is the number of reason bits.
const numReasons = 4

// queue is a keyed delaying work queue. A key is handed to at most one
// worker at a time; a key added while in flight is handed out again after
// done. Delayed adds are kept per (key, reason), the earliest time wins, so
// many changes inside a debounce window cost one pass.
type queue struct {
	mu   sync.Mutex
	cond *sync.Cond

	ready      []api.TargetRef
	readyWhy   map[api.TargetRef]reason // keys in ready, and keys re-added while in flight
	processing map[api.TargetRef]bool
	waiting    map[api.TargetRef]*[numReasons]time.Time
	timers     timerHeap
	wake       chan struct{}
	closed     bool
}

func newQueue() *queue {
	q := &queue{
		readyWhy:   make(map[api.TargetRef]reason),
		processing: make(map[api.TargetRef]bool),
		waiting:    make(map[api.TargetRef]*[numReasons]time.Time),
		wake:       make(chan struct{}, 1),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add makes key ready now with reason why.
func (q *queue) add(key api.TargetRef, why reason) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key, why)
}

func (q *queue) addLocked(key api.TargetRef, why reason) {
	if q.closed {
		return
	}
	prev, queued := q.readyWhy[key]
	q.readyWhy[key] = prev | why
	if queued || q.processing[key] {
		return
	}
	q.ready = append(q.ready, key)
	q.cond.Signal()
}

// addAfter makes key ready with reason why after d, unless the same reason
// is already scheduled earlier.
func (q *queue) addAfter(key api.TargetRef, why reason, d time.Duration) {
	if d <= 0 {
		q.add(key, why)
		return
	}
	at := time.Now().Add(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	w := q.waiting[key]
	if w == nil {
		w = new([numReasons]time.Time)
		q.waiting[key] = w
	}
	i := reasonIndex(why)
	if !w[i].IsZero() && !w[i].After(at) {
		return
	}
	w[i] = at
	heap.Push(&q.timers, timerEntry{key: key, why: why, at: at})
	if q.timers[0].at.Equal(at) {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func reasonIndex(why reason) int {
	for i := range numReasons {
		if why == 1<<i {
			return i
		}
	}
	panic("engine: addAfter takes exactly one reason")
}

// get blocks until a key is ready or the queue is closed.
func (q *queue) get() (api.TargetRef, reason, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.ready) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return api.TargetRef{}, 0, false
	}
	key := q.ready[0]
	q.ready[0] = api.TargetRef{}
	q.ready = q.ready[1:]
	why := q.readyWhy[key]
	delete(q.readyWhy, key)
	q.processing[key] = true
	return key, why, true
}

// done ends the processing of key; if it was re-added meanwhile it is
// ready again.
func (q *queue) done(key api.TargetRef) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, again := q.readyWhy[key]; again && !q.closed {
		q.ready = append(q.ready, key)
		q.cond.Signal()
	}
}

// depth is the number of keys ready or scheduled.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready) + len(q.waiting)
}

// close wakes every waiting worker; get then returns false.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// runTimers moves scheduled keys to ready when they are due, until stop
// is closed.
func (q *queue) runTimers(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := q.promote(time.Now())
		if next > 0 {
			timer.Reset(next)
		} else {
			timer.Stop()
		}
		var tc <-chan time.Time
		if next > 0 {
			tc = timer.C
		}
		select {
		case <-stop:
			return
		case <-q.wake:
		case <-tc:
		}
	}
}

// promote readies every due entry and returns the time until the next one
// (0: none).
func (q *queue) promote(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.timers) > 0 {
		e := q.timers[0]
		if e.at.After(now) {
			return e.at.Sub(now)
		}
		heap.Pop(&q.timers)
		w := q.waiting[e.key]
		i := reasonIndex(e.why)
		if w == nil || !w[i].Equal(e.at) {
			continue // superseded by an earlier schedule
		}
		w[i] = time.Time{}
		if *w == ([numReasons]time.Time{}) {
			delete(q.waiting, e.key)
		}
		q.addLocked(e.key, e.why)
	}
	return 0
}

type timerEntry struct {
	key api.TargetRef
	why reason
	at  time.Time
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
