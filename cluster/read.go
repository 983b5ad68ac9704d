package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Reads on the leader. Raft §6.4: a leader may answer a read from its own
// state only once (1) it has committed an entry of its own term, so that
// it knows everything committed before it led, and (2) it has confirmed
// that no newer leader exists. WaitLeaderEstablished gives (1);
// VerifyLeader and VerifyLeaderLease give (2), the second at most once per
// lease.

// leaderLease remembers the last quorum confirmation of this node's
// leadership.
type leaderLease struct {
	length time.Duration // immutable after New

	mu    sync.Mutex
	term  uint64
	until time.Time // monotonic
}

// leaseLength is how long a quorum confirmation keeps proving leadership.
// A follower that acknowledged it starts no election for at least
// HeartbeatTimeout after receiving it, and raft requires LeaderLeaseTimeout
// ≤ HeartbeatTimeout, so no other leader can be elected within
// LeaderLeaseTimeout of the moment the confirmation was asked for. Nine
// tenths of it leave a margin for clocks that run at different rates.
func leaseLength(rc *raft.Config) time.Duration {
	return min(rc.LeaderLeaseTimeout, rc.HeartbeatTimeout) * 9 / 10
}

// WaitLeaderEstablished waits until this node leads and has established
// its leadership in the current term: the leadership barrier has applied
// everything committed before the term. A read served earlier could miss a
// write the previous leader acknowledged just before it died. It returns
// an ErrNotLeader error when this node does not lead.
func (n *Node) WaitLeaderEstablished(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if !n.IsLeader() {
			return n.notLeaderErr(nil)
		}
		if n.leadershipEstablished() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: leadership not established yet: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (n *Node) leadershipEstablished() bool {
	term := n.raft.CurrentTerm()
	lt := &n.leaderTasks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.ctx != nil && lt.term == term
}

// VerifyLeaderLease confirms this node's leadership like VerifyLeader, but
// a confirmation asked for less than the lease ago (see leaseLength)
// still counts, so a steady stream of reads costs one quorum round per
// lease rather than one per read. Time keeps running while a process is
// paused (SIGSTOP, a long GC), so a leader that wakes after others elected
// a successor finds its lease expired and asks the quorum again.
func (n *Node) VerifyLeaderLease(ctx context.Context) error {
	term := n.raft.CurrentTerm()
	l := &n.lease
	l.mu.Lock()
	valid := l.term == term && time.Now().Before(l.until)
	l.mu.Unlock()
	if valid && n.IsLeader() {
		return nil
	}
	start := time.Now()
	if err := n.VerifyLeader(ctx); err != nil {
		return err
	}
	if n.raft.CurrentTerm() != term {
		return fmt.Errorf("cluster: leadership changed while it was verified: %w", ErrNotLeader)
	}
	l.mu.Lock()
	if until := start.Add(l.length); l.term != term || until.After(l.until) {
		l.term, l.until = term, until
	}
	l.mu.Unlock()
	return nil
}
