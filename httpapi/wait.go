package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

// waitPoll is how often a write made with ?wait re-reads the recorded
// statuses of its targets.
const waitPoll = 30 * time.Millisecond

// parseWait reads the optional ?wait of a fragment write: a Go duration,
// 0 < wait <= api.MaxWait. Absent means 0 (do not wait).
func parseWait(r *http.Request) (time.Duration, error) {
	q := r.URL.Query()
	if !q.Has("wait") {
		return 0, nil
	}
	raw := q.Get("wait")
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, api.Errorf(api.CodeBadRequest, "wait", "must be a duration such as 30s or 2m, not %q", raw)
	}
	if d <= 0 || d > api.MaxWait {
		return 0, api.Errorf(api.CodeBadRequest, "wait", "must be more than 0 and at most %s, not %s", api.MaxWait, raw)
	}
	return d, nil
}

// waitSync waits up to d until every target in targets is settled after
// the write applied at index (see settled), polling the local store. It
// returns one entry per target, ordered by target key, or a 504
// wait_timeout error naming the targets that had not settled.
func (s *Server) waitSync(ctx context.Context, d time.Duration, index uint64, targets []api.TargetRef) ([]api.TargetSync, error) {
	targets = uniqueTargets(targets)
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		out, err := s.syncState(index, targets)
		if err != nil {
			return nil, err
		}
		var pending []string
		for _, ts := range out {
			if !ts.Settled {
				pending = append(pending, ts.Target.String())
			}
		}
		if len(pending) == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, api.Errorf(api.CodeUnavailable, "", "stopped waiting for the sync: %v; the write was applied at index %d", ctx.Err(), index)
		case <-deadline.C:
			return nil, api.Errorf(api.CodeWaitTimeout, "", "the write was applied at index %d, but after %s these targets had not settled: %s",
				index, d, strings.Join(pending, ", "))
		case <-tick.C:
		}
	}
}

// syncState reads where each target stands, in one read transaction.
func (s *Server) syncState(index uint64, targets []api.TargetRef) ([]api.TargetSync, error) {
	out := make([]api.TargetSync, 0, len(targets))
	err := s.cfg.Store.View(func(v *store.View) error {
		for _, ref := range targets {
			ts := api.TargetSync{Target: ref}
			rec, found, err := v.Target(ref)
			if err != nil {
				return err
			}
			if ts.Status, err = v.Status(ref); err != nil {
				return err
			}
			if !found {
				// A target that never had a fragment: the engine has
				// nothing to do for it.
				ts.Settled = true
				out = append(out, ts)
				continue
			}
			res, err := s.aggregate(v, rec)
			if err != nil {
				return err
			}
			ts.Settled = settled(ts.Status, res.Hash(), rec.Revision, index)
			out = append(out, ts)
		}
		return nil
	})
	return out, err
}

// settled reports whether the leader is done with a target whose current
// aggregate hash is hash and revision is revision, after a write applied
// at index: either it is in sync (no error, the synced hash is the current
// one; "" after a removal), or a dry run planned the current hash (the
// plan is the answer: nothing will be written), or its last attempt failed
// permanently at the write's revision or a newer one. A retryable error is
// not an answer: the leader is still retrying, so the wait goes on (and a
// timeout names the targets). A write that did not change the target
// leaves its revision below index; an error at that revision is then about
// the state the write left.
func settled(st *api.SyncStatus, hash string, revision, index uint64) bool {
	if st == nil {
		return false
	}
	if st.Error == "" {
		return st.SyncedHash == hash || st.DryRun && st.AttemptedHash == hash
	}
	return st.Permanent && st.Revision >= min(index, revision)
}

func uniqueTargets(in []api.TargetRef) []api.TargetRef {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b api.TargetRef) int { return strings.Compare(a.Key(), b.Key()) })
	return slices.Compact(out)
}
