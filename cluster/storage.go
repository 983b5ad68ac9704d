package cluster

import (
	"context"
	"time"
)

// stallReporter is implemented by an FSM that waits, rather than fails,
// when its volume is full (fsm.FSM).
type stallReporter interface {
	StallErr() error
}

// storageCheckInterval is how often storageLoop looks at the FSM.
const storageCheckInterval = 500 * time.Millisecond

// storageLoop hands leadership away while this node's FSM cannot apply
// committed entries (its volume is full). A leader in that state commits
// entries it cannot apply, so no write through it can complete, and the
// API refuses them (507) — while the other voters may have space and could
// take every write. As a follower the node merely lags, and catches up
// once space is freed. It does not step down when it is the only voter.
func (n *Node) storageLoop(ctx context.Context) {
	sr, ok := n.cfg.FSM.(stallReporter)
	if !ok {
		return
	}
	t := time.NewTicker(storageCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := sr.StallErr()
		if err == nil || !n.IsLeader() || !n.otherVoters() {
			continue
		}
		n.log.Error("this leader cannot apply committed entries (its data volume is full); handing leadership to another voter", "error", err)
		tctx, cancel := context.WithTimeout(ctx, n.cfg.ApplyTimeout)
		if err := waitFuture(tctx, n.raft.LeadershipTransfer()); err != nil {
			n.log.Warn("leadership transfer away from a node with a full volume failed; trying again", "error", err)
		}
		cancel()
	}
}
