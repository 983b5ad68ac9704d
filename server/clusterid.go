package server

import (
	"context"
	"fmt"
	"time"

	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
)

// Retry bounds of nameCluster: an entry that failed (leadership moving,
// a slow disk) is proposed again quickly, as the sync engine waits for it.
const (
	clusterIDRetryMin = 100 * time.Millisecond
	clusterIDRetryMax = 5 * time.Second
)

// nameCluster is a leader task: once leadership is established (the FSM
// has applied every earlier entry), it makes sure the cluster has an id
// carried by the raft log. A new cluster gets a random one; an id written
// by an older release (derived from the bootstrap configuration, on the
// nodes that applied it) goes into the log as it is, so that a node that
// replays the log from the start learns it too. The first entry applied
// wins (fsm.SetClusterID), so two leaders proposing in turn agree. The sync
// engine flushes nothing until the id is known (the ownership markers
// downstream carry it).
func (n *Node) nameCluster(ctx context.Context) {
	wait := clusterIDRetryMin
	for {
		id, logged, err := n.clusterID()
		if err != nil {
			n.log.Error("cluster id: read the state", "error", err)
			return
		}
		if id != "" && logged {
			return
		}
		if err := n.proposeClusterID(ctx, id); err == nil {
			continue // read back what was applied: the first entry wins
		} else if ctx.Err() != nil {
			return
		} else {
			n.log.Warn("cluster id: proposal failed; retrying", "in", wait, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, clusterIDRetryMax)
	}
}

func (n *Node) clusterID() (id string, logged bool, err error) {
	err = n.store.View(func(v *store.View) error {
		id, logged = v.ClusterID(), v.ClusterIDLogged()
		return nil
	})
	return id, logged, err
}

// proposeClusterID proposes id, or a new random id when id is empty.
func (n *Node) proposeClusterID(ctx context.Context, id string) error {
	fresh := id == ""
	if fresh {
		var err error
		if id, err = fsm.NewClusterID(); err != nil {
			return err
		}
	}
	cmd, err := fsm.Encode(fsm.SetClusterID{ID: id})
	if err != nil {
		return err
	}
	resp, _, err := n.cluster.Apply(ctx, cmd)
	if err != nil {
		return fmt.Errorf("propose cluster id %s: %w", id, err)
	}
	r, _ := resp.(fsm.Response)
	if r.Err != nil {
		return fmt.Errorf("propose cluster id %s: %w", id, r.Err)
	}
	if r.Result.Stale {
		return nil // an earlier entry named the cluster
	}
	if fresh {
		n.log.Info("cluster id chosen", "clusterId", id)
	} else {
		n.log.Info("cluster id recorded in the raft log", "clusterId", id)
	}
	return nil
}
