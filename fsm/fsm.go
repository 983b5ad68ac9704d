package fsm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/failpoint"
	"github.com/conflux-sync/conflux-sync/store"
)

// Response is what Apply returns for each command entry.
type Response struct {
	Result api.WriteResult
	// Err is set for an entry that could not be decoded. It never happens
	// for entries written by Encode; it is reported, not fatal, so one bad
	// entry cannot wedge the cluster.
	Err error
	// TF is what a Terraform state command did (TF* commands only).
	TF store.TFResult
}

// FSM applies the raft log to a store. It implements raft.BatchingFSM.
type FSM struct {
	store  *store.Store
	logger *slog.Logger

	applied atomic.Uint64
	// onApply, when set, is called after each batch commits with the last
	// index and the targets whose revision or status changed.
	onApply func(index uint64, changed []api.TargetRef)

	mu       sync.Mutex // serialises Restore against ApplyBatch
	batchDur func(time.Duration, int)

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	// stalled is set while a batch waits for space; lastSpaceLog (FSM
	// goroutine only) spaces out the log lines about it.
	stalled      atomic.Bool
	lastSpaceLog time.Time
	// failed is set once a batch was given up (Stop during a wait): the
	// state is behind what raft believes applied, for good.
	failed atomic.Bool
}

// Config configures an FSM.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// OnApply is called after every committed batch with the last applied
	// index and the targets that changed (deduplicated, in order). It runs
	// on raft's FSM goroutine: it must not block.
	OnApply func(index uint64, changed []api.TargetRef)
	// ObserveBatch receives the duration and size of every batch.
	ObserveBatch func(d time.Duration, entries int)
}

// New builds an FSM over an open store.
func New(cfg Config) (*FSM, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FSM{store: cfg.Store, logger: cfg.Logger, onApply: cfg.OnApply, batchDur: cfg.ObserveBatch, stop: make(chan struct{})}
	err := cfg.Store.View(func(v *store.View) error {
		idx, _ := v.AppliedIndex()
		f.applied.Store(idx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fsm: read applied index: %w", err)
	}
	return f, nil
}

// Store is the store the FSM writes.
func (f *FSM) Store() *store.Store { return f.store }

// ErrNodeKeyBound is a BindNodeKey's response error when the node id is
// already bound to another key.
var ErrNodeKeyBound = errors.New("fsm: node id is bound to another key")

// NodeKey returns the key fingerprint bound to node id (cluster PKI).
func (f *FSM) NodeKey(id string) (fp string, ok bool, err error) {
	err = f.store.View(func(v *store.View) error {
		fp, ok = v.NodeKey(id)
		return nil
	})
	return fp, ok, err
}

// BindCommand encodes a BindNodeKey.
func (f *FSM) BindCommand(id, fingerprint string) ([]byte, error) {
	return Encode(BindNodeKey{NodeID: id, Fingerprint: fingerprint})
}

// UnbindCommand encodes an UnbindNodeKey.
func (f *FSM) UnbindCommand(id string) ([]byte, error) {
	return Encode(UnbindNodeKey{NodeID: id})
}

// AppliedIndex is the index of the last entry whose effect is on disk.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// Apply applies one entry; raft calls ApplyBatch instead, this completes
// the raft.FSM interface.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies entries in one bbolt transaction, together with the
// new applied index, so a crash leaves either all of the batch or none (a
// batch over maxTxBytes takes several transactions, each one all or none).
// Entries at or below the stored applied index are skipped: with
// NoSnapshotRestoreOnStart raft re-delivers everything after its last
// snapshot on restart.
//
// A committed entry must never be skipped. When the transaction fails
// because the volume is full, ApplyBatch waits for space and applies the
// same batch again (see waitForSpace); any other store failure stops the
// process.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	if runs := splitBatch(logs); runs != nil {
		// One transaction per run (see maxTxBytes); each commits with
		// its own applied index, so a crash between two leaves a
		// consistent prefix, as between two batches.
		resps := make([]any, 0, len(logs))
		for _, run := range runs {
			resps = append(resps, f.ApplyBatch(run)...)
		}
		return resps
	}
	start := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()

	if f.failed.Load() {
		return failedResponses(logs)
	}
	applied := f.applied.Load()
	var (
		resps   []any
		changed []api.TargetRef
		last    uint64
		err     error
	)
	for attempt := 0; ; attempt++ {
		resps, changed, last, err = f.applyTx(logs, applied)
		if err == nil {
			break
		}
		if !store.NoSpace(err) {
			// A store that cannot write would make this node diverge
			// from the others; stopping is the only safe answer (as
			// Vault does).
			panic(fmt.Sprintf("fsm: apply batch ending at index %d: %v", logs[len(logs)-1].Index, err))
		}
		if !f.waitForSpace(logs, attempt, err) {
			// Shutting down. raft counts these entries as applied, so
			// nothing may be applied after them and no snapshot may be
			// taken: the state would claim entries it lacks. The
			// restart replays them from the log.
			f.failed.Store(true)
			f.logger.Error("shutting down while the volume is full; the entries not applied are replayed at the next start",
				"first", logs[0].Index, "last", logs[len(logs)-1].Index)
			return failedResponses(logs)
		}
	}
	if wasStalled := f.stalled.Swap(false); wasStalled {
		f.logger.Warn("space is available again; applying committed entries", "index", last)
	}
	if last != 0 {
		f.applied.Store(last)
		if f.onApply != nil {
			f.onApply(last, changed)
		}
	}
	if f.batchDur != nil {
		f.batchDur(time.Since(start), len(logs))
	}
	return resps
}

// applyTx runs one attempt at applying logs in a write transaction. On
// error nothing of it is on disk (bbolt rolls the transaction back) and it
// may be run again.
func (f *FSM) applyTx(logs []*raft.Log, applied uint64) (resps []any, changed []api.TargetRef, last uint64, err error) {
	resps = make([]any, len(logs))
	seen := map[string]bool{}
	note := func(t api.TargetRef) {
		if k := t.Key(); !seen[k] {
			seen[k] = true
			changed = append(changed, t)
		}
	}
	var lastTerm uint64
	err = f.store.Update(func(tx *store.Tx) error {
		for i, l := range logs {
			if l.Index <= applied {
				resps[i] = Response{Result: api.WriteResult{Index: l.Index}}
				continue
			}
			if last != 0 {
				// Some entries of this batch are in the open
				// transaction, the rest not yet: a crash here must
				// leave none of them (the commit is all or nothing).
				failpoint.Inject(failpoint.FSMApplyMidBatch)
			}
			last, lastTerm = l.Index, l.Term
			switch l.Type {
			case raft.LogCommand:
				r, err := f.applyCommand(tx, l, note)
				if err != nil {
					return err
				}
				resps[i] = r
			}
		}
		if last == 0 {
			return nil
		}
		return tx.SetApplied(last, lastTerm)
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return resps, changed, last, nil
}

// Space waits: the first retry comes quickly (another process may have
// freed space already), later ones back off to spaceRetryMax.
const (
	spaceRetryMin = 50 * time.Millisecond
	spaceRetryMax = 2 * time.Second
	spaceLogEvery = 30 * time.Second
)

// waitForSpace waits before the next attempt at a batch that failed for
// lack of space, and reports false when the FSM is stopped instead.
//
// Waiting, rather than stopping the process as for other store failures:
// bbolt rolled the whole transaction back, so applying the same batch again
// later is exact; the restart a crash would bring needs space itself (the
// state file's marker, raft's term) and would fail the same way, over and
// over; and the node keeps serving reads of its consistent, if stale,
// state, and catches up on its own as soon as space is freed. Meanwhile
// raft on this node stops moving (its apply queue fills up), which the
// others treat as a slow follower; the API refuses new writes here with
// 507 (store.WriteErr).
func (f *FSM) waitForSpace(logs []*raft.Log, attempt int, err error) bool {
	now := time.Now()
	if !f.stalled.Swap(true) || now.Sub(f.lastSpaceLog) >= spaceLogEvery {
		f.lastSpaceLog = now
		f.logger.Error("cannot apply committed entries: the data volume is full; waiting for space (nothing is skipped: they are applied once space is freed)",
			"first", logs[0].Index, "last", logs[len(logs)-1].Index, "attempt", attempt+1, "error", err)
	}
	d := spaceRetryMin << min(attempt, 6)
	d = min(d, spaceRetryMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.stop:
		return false
	}
}

// ErrStopped answers entries the FSM gave up on because it was stopped
// while it waited for space. They were committed; the node applies them
// when it starts again.
var ErrStopped = errors.New("fsm: stopped before the entry could be applied (the data volume is full); it is applied when the node starts again")

func failedResponses(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	for i, l := range logs {
		out[i] = Response{Err: ErrStopped, Result: api.WriteResult{Index: l.Index}}
	}
	return out
}

// StallErr is the storage error the FSM is waiting out (see
// waitForSpace), nil when it is not waiting.
func (f *FSM) StallErr() error {
	if !f.stalled.Load() {
		return nil
	}
	if err := f.store.WriteErr(); err != nil {
		return err
	}
	return errors.New("fsm: waiting for space on the data volume")
}

// Stop ends a wait for space (see ApplyBatch): call it before raft shuts
// down, which waits for ApplyBatch to return. Until then it changes
// nothing.
func (f *FSM) Stop() { f.stopOnce.Do(func() { close(f.stop) }) }

// applyCommand applies one command. Its error is a store failure; bad
// input becomes a Response.Err.
func (f *FSM) applyCommand(tx *store.Tx, l *raft.Log, note func(api.TargetRef)) (Response, error) {
	cmd, err := Decode(l.Data)
	if err != nil {
		f.logger.Error("skipping undecodable log entry", "index", l.Index, "error", err)
		return Response{Err: err, Result: api.WriteResult{Index: l.Index}}, nil
	}
	res := api.WriteResult{Index: l.Index}
	switch c := cmd.(type) {
	case *PutFragment:
		r, err := tx.PutFragment(c.Fragment, l.Index)
		if err != nil {
			return Response{}, err
		}
		res.Stale, res.StoredGeneration = r.Stale, r.StoredGeneration
		if r.Changed {
			res.Changed = 1
			note(c.Fragment.Target)
		}
	case *DeleteFragment:
		ok, err := tx.DeleteFragment(c.Target, c.Source, l.Index)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
			note(c.Target)
		}
	case *ReplaceSourceFragments:
		frags := make([]api.Fragment, len(c.Fragments))
		for i, sf := range c.Fragments {
			frags[i] = api.Fragment{Target: sf.Target, Source: c.Source, Generation: sf.Generation, Spec: sf.Spec}
		}
		before, err := tx.SourceFragments(c.Source)
		if err != nil {
			return Response{}, err
		}
		n, err := tx.ReplaceSourceFragments(c.Source, frags, l.Index)
		if err != nil {
			return Response{}, err
		}
		res.Changed = n
		if n > 0 {
			for _, fr := range before {
				note(fr.Target)
			}
			for _, fr := range frags {
				note(fr.Target)
			}
		}
	case *RecordSync:
		ok, err := tx.RecordSync(c.Target, c.Status)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
			note(c.Target)
		} else {
			res.Stale = true
		}
	case *PutSource:
		ok, err := tx.PutSource(c.Source, l.Index)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
		}
	case *RecordSourceStatus:
		ok, err := tx.RecordSourceStatus(c.Source, c.Status)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
		}
	case *SetClusterID:
		if err := ValidateClusterID(c.ID); err != nil {
			f.logger.Error("skipping a cluster id entry", "index", l.Index, "error", err)
			return Response{Err: err, Result: res}, nil
		}
		ok, err := tx.RecordClusterID(c.ID)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
		} else {
			res.Stale = true
		}
	case *DeleteSource:
		before, err := tx.SourceFragments(c.Source)
		if err != nil {
			return Response{}, err
		}
		n, err := tx.DeleteSource(c.Source, l.Index)
		if err != nil {
			return Response{}, err
		}
		res.Changed = n
		for _, fr := range before {
			note(fr.Target)
		}
	case *BindNodeKey:
		ok, err := tx.BindNodeKey(c.NodeID, c.Fingerprint)
		if err != nil {
			return Response{}, err
		}
		if !ok {
			return Response{Result: res, Err: fmt.Errorf("%w: node %q", ErrNodeKeyBound, c.NodeID)}, nil
		}
		res.Changed = 1
	case *UnbindNodeKey:
		ok, err := tx.UnbindNodeKey(c.NodeID)
		if err != nil {
			return Response{}, err
		}
		if ok {
			res.Changed = 1
		}
	case *TFPutState, *TFLock, *TFUnlock, *TFDeleteState, *TFRestoreState:
		return applyTF(tx, cmd, res, l.Index)
	}
	return Response{Result: res}, nil
}

// Snapshot opens a read transaction — an exact view at the applied index —
// that Persist streams while writes continue.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	if f.failed.Load() {
		return nil, errors.New("fsm: no snapshot: committed entries could not be applied before the FSM was stopped")
	}
	snap, err := f.store.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{snap: snap}, nil
}

// Restore replaces the state with a snapshot image written by Persist (or
// uploaded by an operator through raft.Restore).
func (f *FSM) Restore(r io.ReadCloser) error {
	defer r.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.store.Replace(r); err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	var idx uint64
	// The image's cluster id comes with it: raft installs the same image on
	// every node, and keeping a local id instead would split the cluster's
	// name (a follower that installs a snapshot before it applied the
	// SetClusterID entry has no id to keep). A user restore into another
	// cluster puts the id it keeps into the image before raft sees it
	// (store.SetImageClusterID).
	err := f.store.View(func(v *store.View) error {
		idx, _ = v.AppliedIndex()
		return nil
	})
	if err != nil {
		return fmt.Errorf("fsm: restore: %w", err)
	}
	// Only after the commit: the applied index and the callback must not
	// announce state that is not on disk (and OnApply must not run inside
	// a write transaction).
	f.applied.Store(idx)
	if f.onApply != nil {
		f.onApply(idx, nil)
	}
	return nil
}

type fsmSnapshot struct {
	snap *store.Snapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.snap.WriteTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("fsm: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.snap.Release() }

var _ raft.BatchingFSM = (*FSM)(nil)

// applyTF applies a Terraform state command. A command the lock refused,
// or a restore of a version not kept, changes nothing; its Response says
// why (TF.Refused, TF.Holder, TF.Missing).
func applyTF(tx *store.Tx, cmd Command, res api.WriteResult, index uint64) (Response, error) {
	var (
		r   store.TFResult
		err error
	)
	switch c := cmd.(type) {
	case *TFPutState:
		r, err = tx.TFPutState(store.TFStateWrite{
			Workspace: c.Workspace, Body: c.Body, Serial: c.Serial, Lineage: c.Lineage, MD5: c.MD5, Time: c.Time,
		}, c.LockID, false, c.Keep, index)
	case *TFLock:
		r, err = tx.TFLock(c.Workspace, c.ID, c.Info, c.Time, index)
	case *TFUnlock:
		r, err = tx.TFUnlock(c.Workspace, c.ID, c.Force, index)
	case *TFDeleteState:
		r, err = tx.TFDeleteState(c.Workspace, c.LockID, c.Force, c.Time, index)
	case *TFRestoreState:
		r, err = tx.TFRestoreVersion(c.Workspace, c.Version, c.LockID, c.Force, c.Keep, c.Time, index)
	}
	if err != nil {
		return Response{}, err
	}
	if r.Changed {
		res.Changed = 1
	}
	return Response{Result: res, TF: r}, nil
}
