package kind

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/conflux-sync/conflux-sync/api"
)

// ErrUnknownKind is returned (wrapped) for a target whose kind is not in
// the registry.
var ErrUnknownKind = errors.New("unknown target kind")

// Cache memoises aggregates by (target, revision). Aggregation is a pure
// function of a target's fragments and every change to them bumps the
// target's revision, so a cached result is valid exactly as long as the
// revision it was computed at. The cache keeps one entry per target — the
// newest revision asked for — and at most max targets, evicting the least
// recently used. It is safe for concurrent use; concurrent misses for the
// same (target, revision) aggregate once.
type Cache struct {
	reg *Registry
	max int

	mu       sync.Mutex
	lru      *list.List // of *cacheEntry, most recently used first
	entries  map[string]*list.Element
	inflight map[flightKey]*flight
	// epoch counts Purges; a flight started before one must not store its
	// result after it.
	epoch uint64
}

type cacheEntry struct {
	target   string // TargetRef.Key()
	revision uint64
	result   Result
}

type flightKey struct {
	target   string
	revision uint64
}

// flight is one aggregation in progress; waiters block on done.
type flight struct {
	done   chan struct{}
	result Result
	err    error
}

// NewCache returns a cache over the kinds in reg holding at most
// maxTargets targets; maxTargets < 1 is treated as 1.
func NewCache(reg *Registry, maxTargets int) *Cache {
	return &Cache{
		reg:      reg,
		max:      max(maxTargets, 1),
		lru:      list.New(),
		entries:  make(map[string]*list.Element),
		inflight: make(map[flightKey]*flight),
	}
}

// Get returns the aggregate of target at revision, calling load for the
// fragments (and the kind's Aggregate) only on a miss. Errors are not
// cached. The result is a copy the caller may modify.
func (c *Cache) Get(target api.TargetRef, revision uint64, load func() ([]api.Fragment, error)) (Result, error) {
	k, ok := c.reg.Get(target.Kind)
	if !ok {
		return Result{}, fmt.Errorf("aggregate %s: %w %q", target, ErrUnknownKind, target.Kind)
	}
	key := flightKey{target: target.Key(), revision: revision}

	c.mu.Lock()
	if r, ok := c.lookup(key); ok {
		c.mu.Unlock()
		return r.clone(), nil
	}
	if f, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-f.done
		return f.result.clone(), f.err
	}
	f := &flight{done: make(chan struct{})}
	c.inflight[key] = f
	epoch := c.epoch
	c.mu.Unlock()

	f.result, f.err = compute(k, target, load)

	c.mu.Lock()
	if epoch == c.epoch {
		delete(c.inflight, key)
		if f.err == nil {
			c.store(key, f.result)
		}
	}
	c.mu.Unlock()
	close(f.done)
	return f.result.clone(), f.err
}

// compute loads and aggregates; a panic in either (a bug in a kind) is
// turned into an error so waiters on the flight are released, not stuck.
func compute(k Kind, target api.TargetRef, load func() ([]api.Fragment, error)) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, fmt.Errorf("aggregate %s: panic: %v", target, p)
		}
	}()
	frags, err := load()
	if err != nil {
		return Result{}, fmt.Errorf("load fragments of %s: %w", target, err)
	}
	res, err = k.Aggregate(target, frags)
	if err != nil {
		return Result{}, fmt.Errorf("aggregate %s: %w", target, err)
	}
	return res, nil
}

// lookup returns the cached result for key and marks it recently used.
// Caller holds c.mu.
func (c *Cache) lookup(key flightKey) (Result, bool) {
	el, ok := c.entries[key.target]
	if !ok {
		return Result{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.revision != key.revision {
		return Result{}, false
	}
	c.lru.MoveToFront(el)
	return e.result, true
}

// store records a result unless a newer revision of the target is already
// cached: a reader on a lagging follower may ask for an older revision, and
// that must not push out the current one. Caller holds c.mu.
func (c *Cache) store(key flightKey, r Result) {
	if el, ok := c.entries[key.target]; ok {
		e := el.Value.(*cacheEntry)
		if e.revision > key.revision {
			return
		}
		e.revision, e.result = key.revision, r
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key.target] = c.lru.PushFront(&cacheEntry{target: key.target, revision: key.revision, result: r})
	for c.lru.Len() > c.max {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).target)
	}
}

// Len returns the number of cached targets.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// clone copies r so callers cannot alter what the cache holds.
func (r Result) clone() Result {
	return Result{Desired: bytes.Clone(r.Desired), Conflicts: slices.Clone(r.Conflicts)}
}
