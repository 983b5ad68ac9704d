package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
)

// handleSnapshotSave streams the state as a snapshot file. It reads one
// bbolt transaction, so the file is an exact state at one applied index,
// and it streams: memory does not grow with the state.
func (s *Server) handleSnapshotSave(w http.ResponseWriter, r *http.Request) {
	snap, err := s.cfg.Store.BeginSnapshot()
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer snap.Release()
	index, _ := snap.AppliedIndex()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="conflux-sync-%d.snap"`, index))
	w.Header().Set("X-Conflux-Snapshot-Index", strconv.FormatUint(index, 10))
	meta, err := store.WriteSnapshotFile(w, snap)
	if err != nil {
		// The status line is gone; the client sees a truncated file, which
		// the checksum refuses.
		s.log.Error("snapshot save failed mid-stream", "error", err)
		return
	}
	s.log.Info("snapshot saved", "index", meta.Index, "bytes", meta.StateSize, "sha256", meta.SHA256)
}

// restoreRate is a floor on how fast a node installs a restored state: the
// leader reads it into its FSM, then sends it to each follower, which does
// the same. Measured at 12–27 MB/s for a 1.2 GB state on two cores
// (docs/benchmarks.md); the floor leaves room for a slower disk.
const restoreRate = 4 << 20 // bytes per second

// restoreTimeout bounds a restore: a few raft rounds for the barriers, plus
// the time to install size bytes at restoreRate. A fixed bound failed large
// restores that went on to succeed (raft.Restore's timer keeps running
// while the leader installs the snapshot).
func restoreTimeout(applyTimeout time.Duration, size int64) time.Duration {
	return 6*applyTimeout + time.Duration(size/restoreRate)*time.Second
}

// handleSnapshotRestore verifies an uploaded snapshot file completely
// (spooled to a temporary file, never held in memory) before handing the
// state to raft. A corrupt or truncated file touches nothing.
//
// The cluster keeps its own id (the one in the ownership markers of what
// it created downstream) unless take-cluster-id=true: a snapshot from
// another cluster must not make this one the owner of the other's
// objects, while disaster recovery into a fresh cluster needs the lost
// cluster's id to keep owning what it made.
func (s *Server) handleSnapshotRestore(w http.ResponseWriter, r *http.Request) {
	take := false
	if v := r.URL.Query().Get("take-cluster-id"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, api.Errorf(api.CodeBadRequest, "take-cluster-id", "want true or false, got %q", v))
			return
		}
		take = b
	}
	tmp, err := os.CreateTemp(s.cfg.TempDir, "conflux-restore-*.db")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxSnapshotSize)
	meta, err := store.ReadSnapshotFile(body, tmp)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, api.Errorf(api.CodeTooLarge, "", "snapshot is over the limit of %d bytes", s.cfg.MaxSnapshotSize))
		return
	case errors.Is(err, store.ErrBadSnapshot):
		writeError(w, api.Errorf(api.CodeBadRequest, "", "%v", err))
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("spooling the uploaded snapshot: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), restoreTimeout(s.cfg.ApplyTimeout, meta.StateSize))
	defer cancel()
	clusterID, err := s.restoredClusterID(ctx, meta, take)
	if err != nil {
		s.fail(w, r, applyError(err))
		return
	}
	if err := store.SetImageClusterID(tmp.Name(), clusterID); err != nil {
		s.internal(w, r, err)
		return
	}
	// The running servers' node key bindings replace the snapshot's (a
	// backup of another cluster, or of older keys, would lock them out).
	size, err := s.cfg.Store.CarryNodeKeys(tmp.Name())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		s.internal(w, r, err)
		return
	}
	rmeta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: meta.Index, Term: meta.Term, Size: size}
	if err := s.cfg.Cluster.Restore(ctx, rmeta, tmp); err != nil {
		s.fail(w, r, applyError(err))
		return
	}
	s.cfg.Cache.Purge()
	s.log.Info("snapshot restored", "index", meta.Index, "snapshotClusterId", meta.ClusterID, "clusterId", clusterID,
		"tookClusterId", take, "fragments", meta.Fragments)
	writeJSON(w, http.StatusOK, api.SnapshotRestore{SnapshotMeta: meta, RestoredClusterID: clusterID})
}

// restoredClusterID is the id the state has after a restore: the
// snapshot's when take is set (and it has one), else this cluster's. A
// cluster whose leader has not applied its id yet (its first moments)
// gets a new one, as its leader would have proposed.
func (s *Server) restoredClusterID(ctx context.Context, meta api.SnapshotMeta, take bool) (string, error) {
	if take && meta.ClusterID != "" {
		return meta.ClusterID, nil
	}
	// Everything committed before this leader's term is applied by now,
	// the id included if one was named.
	if err := s.cfg.Cluster.WaitLeaderEstablished(ctx); err != nil {
		return "", err
	}
	var id string
	if err := s.cfg.Store.View(func(v *store.View) error { id = v.ClusterID(); return nil }); err != nil {
		return "", err
	}
	if id != "" {
		return id, nil
	}
	return fsm.NewClusterID()
}

// handleReady answers 200 once the node knows a leader and has applied
// everything the leader had committed when this node first saw it, so a
// restarted node is not sent traffic while it replays.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	st := s.cfg.Cluster.Status()
	notReady := func(reason string) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": reason, "appliedIndex": st.AppliedIndex})
	}
	if st.Leader == "" {
		notReady("no known leader")
		return
	}
	if !s.ready.Load() {
		if s.readyIndex.Load() == 0 {
			idx, err := s.leaderCommitIndex(r.Context())
			if err != nil {
				notReady(err.Error())
				return
			}
			s.readyIndex.CompareAndSwap(0, max(idx, 1))
		}
		if st.AppliedIndex < s.readyIndex.Load() {
			notReady(fmt.Sprintf("catching up: applied %d of %d", st.AppliedIndex, s.readyIndex.Load()))
			return
		}
		s.ready.Store(true)
	}
	// ?voter=true is the Kubernetes readiness probe: a StatefulSet rolls
	// to the next pod once this one is Ready, and a pod that came back
	// with a new IP is a non-voter until autopilot promotes it; taking the
	// next voter down before that would lose quorum.
	if v := r.URL.Query().Get("voter"); v == "true" || v == "1" {
		suffrage := ""
		for _, m := range st.Members {
			if m.ID == st.NodeID {
				suffrage = m.Suffrage
			}
		}
		if suffrage != "voter" {
			notReady(fmt.Sprintf("not a voter yet (suffrage %q)", suffrage))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true, "leader": st.Leader, "appliedIndex": st.AppliedIndex})
}

// leaderCommitIndex asks the leader for its commit index (its own status
// when this node leads).
func (s *Server) leaderCommitIndex(ctx context.Context) (uint64, error) {
	if s.cfg.Cluster.IsLeader() {
		return s.cfg.Cluster.Status().CommitIndex, nil
	}
	leader, ok := s.cfg.Cluster.Leader()
	if !ok || leader.HTTPAddr == "" {
		return 0, fmt.Errorf("leader address not known yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.cfg.LeaderWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, leader.HTTPAddr+"/readyz/commit-index", nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Transport: s.cfg.ForwardTransport}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("asking leader %s: %w", leader.ID, err)
	}
	defer resp.Body.Close()
	var body struct {
		CommitIndex uint64 `json:"commitIndex"`
	}
	if err := decodeResponse(resp, &body); err != nil {
		return 0, fmt.Errorf("asking leader %s: %w", leader.ID, err)
	}
	return body.CommitIndex, nil
}

func (s *Server) handleCommitIndex(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]uint64{"commitIndex": s.cfg.Cluster.Status().CommitIndex})
}
