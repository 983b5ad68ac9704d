package engine

import (
	"errors"

	"github.com/conflux-sync/conflux-sync/api"
)

// DependencyError is returned by a flush that cannot go on until another
// target of this cluster changes. The engine records it with
// api.SyncStatus.DependsOn and flushes the target again as soon as an
// outcome of the target it depends on is recorded: no backoff, no polling.
type DependencyError struct {
	// On is the target waited for.
	On api.TargetRef
	// Blocked makes the wait a failure: On holds what this target needs
	// (e.g. it owns the tunnel this one names), which only a change to On
	// (or to this target) resolves. Without it the wait is the normal
	// order of things (the tunnel is not created yet) and is recorded
	// without an error.
	Blocked bool
	Err     error
}

func (d *DependencyError) Error() string { return d.Err.Error() }
func (d *DependencyError) Unwrap() error { return d.Err }

// WaitFor is the error of a flush whose whole output waits for the target
// on, which another flush of this cluster is about to make ready (a tunnel
// not created yet). It is not a failure: the attempt is recorded without
// an error, the synced hash stays what it was, and api.SyncStatus.Waiting
// says what waits (err's message).
func WaitFor(on api.TargetRef, err error) error {
	return &DependencyError{On: on, Err: err}
}

// BlockedBy is the error of a flush that the target on stands in the way
// of (err says how, naming it). It is a failure like a permanent one, but
// it is retried as soon as an outcome of on is recorded (on changed, or
// released what it held).
func BlockedBy(on api.TargetRef, err error) error {
	return &DependencyError{On: on, Blocked: true, Err: err}
}

// dependencyOf returns the DependencyError in err's chain.
func dependencyOf(err error) (*DependencyError, bool) {
	var d *DependencyError
	ok := errors.As(err, &d)
	return d, ok
}

// deps is the index of what waits on what, for one term (Run). It lives
// in memory only: the first pass of a new term flushes every target not in
// sync, and each one that still waits registers again.
type deps struct {
	// waiters maps a target to those that wait for it.
	waiters map[api.TargetRef]map[api.TargetRef]bool
	// waitsOn is the reverse: what each waiting target waits for.
	waitsOn map[api.TargetRef]api.TargetRef
	// seq counts recorded successful outcomes; recorded holds, per
	// target, the seq of its last one. An attempt compares them with the
	// seq it started at, so that a dependency recorded while the attempt
	// ran is not missed.
	seq      uint64
	recorded map[api.TargetRef]uint64
}

func newDeps() *deps {
	return &deps{
		waiters:  map[api.TargetRef]map[api.TargetRef]bool{},
		waitsOn:  map[api.TargetRef]api.TargetRef{},
		recorded: map[api.TargetRef]uint64{},
	}
}

// forget drops what t waited for (it is being flushed again).
func (d *deps) forget(t api.TargetRef) {
	on, ok := d.waitsOn[t]
	if !ok {
		return
	}
	delete(d.waitsOn, t)
	delete(d.waiters[on], t)
	if len(d.waiters[on]) == 0 {
		delete(d.waiters, on)
	}
}

// wait registers that t waits for on and reports whether on recorded an
// outcome after seq (then t must be flushed again at once).
func (d *deps) wait(t, on api.TargetRef, seq uint64) bool {
	d.forget(t)
	d.waitsOn[t] = on
	if d.waiters[on] == nil {
		d.waiters[on] = map[api.TargetRef]bool{}
	}
	d.waiters[on][t] = true
	return d.recorded[on] > seq
}

// done notes a recorded outcome of t and returns (and forgets) the targets
// that waited for it.
func (d *deps) done(t api.TargetRef) []api.TargetRef {
	d.seq++
	d.recorded[t] = d.seq
	var out []api.TargetRef
	for w := range d.waiters[t] {
		out = append(out, w)
		delete(d.waitsOn, w)
	}
	delete(d.waiters, t)
	return out
}

// waiting reports whether t waits for another target.
func (d *deps) waiting(t api.TargetRef) bool {
	_, ok := d.waitsOn[t]
	return ok
}
