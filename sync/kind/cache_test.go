package kind

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

// countingKind "aggregates" by concatenating specs and counts its calls.
type countingKind struct {
	calls atomic.Int64
}

func (*countingKind) Name() string { return "test.Kind" }

func (*countingKind) Validate(api.TargetRef, api.SourceRef, json.RawMessage) error { return nil }

func (k *countingKind) Aggregate(target api.TargetRef, frags []api.Fragment) (Result, error) {
	k.calls.Add(1)
	out := []byte(`"` + target.Name)
	for _, f := range frags {
		out = append(out, f.Spec...)
	}
	out = append(out, '"')
	return Result{Desired: out, Conflicts: []api.Conflict{{Key: target.Name}}}, nil
}

func target(name string) api.TargetRef { return api.TargetRef{Kind: "test.Kind", Name: name} }

func loader(spec string) func() ([]api.Fragment, error) {
	return func() ([]api.Fragment, error) {
		return []api.Fragment{{Spec: json.RawMessage(spec)}}, nil
	}
}

func TestCacheHitMissAndRevision(t *testing.T) {
	k := &countingKind{}
	c := NewCache(NewRegistry(k), 10)

	get := func(name string, rev uint64, spec string) string {
		t.Helper()
		r, err := c.Get(target(name), rev, loader(spec))
		if err != nil {
			t.Fatal(err)
		}
		return string(r.Desired)
	}
	if got := get("a", 1, "x"); got != `"ax"` {
		t.Fatalf("got %s", got)
	}
	if got := get("a", 1, "ignored"); got != `"ax"` || k.calls.Load() != 1 {
		t.Fatalf("want a hit: got %s after %d calls", got, k.calls.Load())
	}
	if got := get("a", 2, "y"); got != `"ay"` || k.calls.Load() != 2 {
		t.Fatalf("new revision must recompute: got %s after %d calls", got, k.calls.Load())
	}
	// An older revision (a lagging reader) is computed but does not replace
	// the newer entry.
	if got := get("a", 1, "old"); got != `"aold"` {
		t.Fatalf("got %s", got)
	}
	if got := get("a", 2, "ignored"); got != `"ay"` || k.calls.Load() != 3 {
		t.Fatalf("revision 2 should still be cached: got %s after %d calls", got, k.calls.Load())
	}
}

func TestCacheResultIsACopy(t *testing.T) {
	c := NewCache(NewRegistry(&countingKind{}), 10)
	r, _ := c.Get(target("a"), 1, loader("x"))
	r.Desired[1] = 'Z'
	r.Conflicts[0].Key = "changed"
	again, _ := c.Get(target("a"), 1, loader("x"))
	if string(again.Desired) != `"ax"` || again.Conflicts[0].Key != "a" {
		t.Fatalf("a caller's change leaked into the cache: %s %+v", again.Desired, again.Conflicts)
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	k := &countingKind{}
	c := NewCache(NewRegistry(k), 2)
	mustGet := func(name string) {
		t.Helper()
		if _, err := c.Get(target(name), 1, loader("")); err != nil {
			t.Fatal(err)
		}
	}
	mustGet("a")
	mustGet("b")
	mustGet("a") // a is now the most recently used
	mustGet("c") // evicts b
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	before := k.calls.Load()
	mustGet("a")
	mustGet("c")
	if k.calls.Load() != before {
		t.Fatal("a and c should have been cached")
	}
	mustGet("b")
	if k.calls.Load() != before+1 {
		t.Fatal("b should have been evicted")
	}
}

func TestCacheErrors(t *testing.T) {
	k := &countingKind{}
	c := NewCache(NewRegistry(k), 2)
	_, err := c.Get(api.TargetRef{Kind: "nope", Name: "x"}, 1, loader(""))
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("got %v, want ErrUnknownKind", err)
	}
	boom := errors.New("boom")
	_, err = c.Get(target("a"), 1, func() ([]api.Fragment, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the load error wrapped", err)
	}
	// Errors are not cached.
	if r, err := c.Get(target("a"), 1, loader("x")); err != nil || string(r.Desired) != `"ax"` {
		t.Fatalf("got %s, %v", r.Desired, err)
	}
	// A panicking load becomes an error instead of wedging waiters.
	_, err = c.Get(target("p"), 1, func() ([]api.Fragment, error) { panic("bad") })
	if err == nil {
		t.Fatal("want an error from a panicking load")
	}
}

// TestCacheConcurrent hammers the cache from many goroutines (run with
// -race): results are always right, and concurrent misses for one
// (target, revision) aggregate once.
func TestCacheConcurrent(t *testing.T) {
	k := &countingKind{}
	c := NewCache(NewRegistry(k), 8)
	const goroutines, rounds, targets = 16, 300, 12
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				name := fmt.Sprintf("t%d", (g+i)%targets)
				rev := uint64(i / 50)
				spec := fmt.Sprint(rev)
				r, err := c.Get(target(name), rev, loader(spec))
				if err != nil {
					t.Error(err)
					return
				}
				if want := `"` + name + spec + `"`; string(r.Desired) != want {
					t.Errorf("got %s, want %s", r.Desired, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Fatalf("Len = %d exceeds the bound", c.Len())
	}

	// Single flight: many goroutines missing the same key together.
	k.calls.Store(0)
	release := make(chan struct{})
	slow := func() ([]api.Fragment, error) {
		<-release
		return nil, nil
	}
	var started sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			if _, err := c.Get(target("shared"), 99, slow); err != nil {
				t.Error(err)
			}
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	// Whoever comes later either waits for the flight or finds the stored
	// result, so exactly one aggregation happens.
	if n := k.calls.Load(); n != 1 {
		t.Fatalf("Aggregate called %d times, want 1", n)
	}
}
