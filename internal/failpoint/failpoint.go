// Package failpoint provides named fault-injection points for crash tests
// and for operators' own fault drills.
//
// A failpoint is a call to Inject at a place where a crash is most
// dangerous: half-way through a bbolt transaction, a snapshot stream or the
// installation of a restored state. Tests (and operators rehearsing
// failures on a staging cluster) make a server process die exactly there,
// as a power cut or an OOM kill would make it die, and then check that the
// restarted node loses nothing and agrees with the others.
//
// Failpoints are configured only by the environment variable
// CONFLUX_FAILPOINTS, read once when the first server starts; no flag, file
// or API call can turn one on in a running process. The value is a list of
// NAME=ACTION[@N] terms separated by commas or semicolons:
//
//	CONFLUX_FAILPOINTS='fsm/apply-mid-batch=crash'
//	CONFLUX_FAILPOINTS='store/snapshot-mid-write=crash@3'
//
// ACTION is "crash": the process sends itself SIGKILL at that point. @N
// fires on the N-th time the point is reached (default 1). Names must be
// among Names(); a typo makes Load fail, and the server refuses to start.
//
// With the variable unset, Inject costs one atomic load and a nil check.
package failpoint

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar is the environment variable that configures failpoints.
const EnvVar = "CONFLUX_FAILPOINTS"

// The injection points. Each is named package/place.
const (
	// FSMApplyMidBatch is reached inside the FSM's bbolt transaction after
	// some, but not all, entries of a batch were applied: before the
	// commit.
	FSMApplyMidBatch = "fsm/apply-mid-batch"
	// StoreSnapshotMidWrite is reached while a state image is streamed to
	// a snapshot (a raft snapshot sink, or `snapshot save`), after part of
	// it was written.
	StoreSnapshotMidWrite = "store/snapshot-mid-write"
	// StoreRestoreMidWrite is reached while a restored image (a user
	// restore, an InstallSnapshot from the leader, or the restore at
	// startup) is written to its temporary file, after part of it was
	// written.
	StoreRestoreMidWrite = "store/restore-mid-write"
	// StoreRestoreBeforeSwap is reached after the restored image was
	// checked and the live state file closed, before the image is renamed
	// over it.
	StoreRestoreBeforeSwap = "store/restore-before-swap"
)

// Names lists every injection point.
func Names() []string {
	return []string{FSMApplyMidBatch, StoreSnapshotMidWrite, StoreRestoreMidWrite, StoreRestoreBeforeSwap}
}

// Action is what an armed failpoint does.
type Action string

// ActionCrash kills the process with SIGKILL.
const ActionCrash Action = "crash"

type point struct {
	action Action
	nth    int64
	hits   atomic.Int64
}

// registry holds the armed failpoints; nil when none are. It is process-
// wide on purpose, with loadOnce and loadErr the only globals of the
// project: the points sit deep in fsm and store, which must not grow a
// parameter in every constructor for a test and drill feature; the
// environment they come from is process-wide too; and a crash is by nature
// a whole-process event. Being an atomic pointer, it costs a disarmed
// Inject one load.
var (
	registry atomic.Pointer[map[string]*point]
	loadOnce sync.Once
	loadErr  error
)

// Load arms the failpoints named by CONFLUX_FAILPOINTS. Only the first call
// reads the variable (the dev command starts three servers in one
// process); every call returns the first call's result.
func Load() error {
	loadOnce.Do(func() {
		v, ok := os.LookupEnv(EnvVar)
		if !ok || strings.TrimSpace(v) == "" {
			return
		}
		points, err := parse(v)
		if err != nil {
			loadErr = fmt.Errorf("%s: %w", EnvVar, err)
			return
		}
		registry.Store(&points)
		for name, p := range points {
			fmt.Fprintf(os.Stderr, "conflux-sync: failpoint %s armed: %s on hit %d (%s is set; for tests and fault drills only)\n", name, p.action, p.nth, EnvVar)
		}
	})
	return loadErr
}

// parse parses a CONFLUX_FAILPOINTS value.
func parse(s string) (map[string]*point, error) {
	points := map[string]*point{}
	for _, term := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		name, spec, ok := strings.Cut(term, "=")
		name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)
		if !ok || name == "" || spec == "" {
			return nil, fmt.Errorf("%q is not NAME=ACTION[@N]", term)
		}
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("unknown failpoint %q (known: %s)", name, strings.Join(Names(), ", "))
		}
		if _, dup := points[name]; dup {
			return nil, fmt.Errorf("failpoint %q is given twice", name)
		}
		action, nth := spec, "1"
		if a, n, ok := strings.Cut(spec, "@"); ok {
			action, nth = a, n
		}
		if Action(action) != ActionCrash {
			return nil, fmt.Errorf("failpoint %s: unknown action %q (known: %s)", name, action, ActionCrash)
		}
		n, err := strconv.ParseInt(nth, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("failpoint %s: @%s is not a hit number ≥ 1", name, nth)
		}
		points[name] = &point{action: Action(action), nth: n}
	}
	if len(points) == 0 {
		return nil, errors.New("no failpoint given")
	}
	return points, nil
}

// Inject marks the injection point name. When it is armed and this is the
// hit it waits for, it acts (crash: the process dies here).
func Inject(name string) {
	m := registry.Load()
	if m == nil {
		return
	}
	inject(*m, name)
}

// Armed reports whether any failpoint is armed, for callers that must do
// extra work (wrap a writer) to offer an injection point.
func Armed() bool { return registry.Load() != nil }

func inject(points map[string]*point, name string) {
	p, ok := points[name]
	if !ok {
		return
	}
	hit := p.hits.Add(1)
	if hit != p.nth {
		return
	}
	switch p.action {
	case ActionCrash:
		// Unbuffered stderr: the line is out before the signal, so the
		// log shows which point killed the process.
		fmt.Fprintf(os.Stderr, "conflux-sync: failpoint %s: crash (hit %d): sending SIGKILL to self\n", name, hit)
		crash()
	}
}
