package cluster

import (
	"context"
	"errors"
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
// lease. The sync engine's write gate uses VerifyLeader too: a deposed
// leader must not write downstream after its successor.
//
// The confirmation commits a barrier entry rather than calling raft's
// VerifyLeader. raft counts toward a verification every heartbeat answer
// that arrives after it was asked for, including answers to heartbeats
// sent before: a leader woken from a pause (SIGSTOP, a long GC, a frozen
// VM) reads the acknowledgements its followers sent before they elected a
// successor, and confirms itself. A barrier entry is appended after the
// call began and commits only once a quorum stores it in this leader's
// term, which followers that moved to a newer term refuse; no answer to an
// older request can commit it. Concurrent callers share rounds
// (confirmations), so a stream of reads or writes costs one log entry per
// round, not one per call.

// confirmations batches leadership confirmations into rounds, one in
// flight at a time. A caller joins the round that starts next, never one
// already running (that one may have begun before the caller asked), so
// every confirmation a caller receives was begun after its call.
type confirmations struct {
	mu      sync.Mutex
	running *confirmRound
	next    *confirmRound // starts when running ends
}

type confirmRound struct {
	done chan struct{}
	err  error // set before done is closed
}

// join returns the round that answers a caller arriving now, starting it
// with confirm when none is running. The round's goroutine ends when
// confirm returns: raft resolves a barrier's future at the latest when
// leadership is lost or raft shuts down.
func (c *confirmations) join(confirm func() error) *confirmRound {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		c.running = &confirmRound{done: make(chan struct{})}
		go c.run(c.running, confirm)
		return c.running
	}
	if c.next == nil {
		c.next = &confirmRound{done: make(chan struct{})}
	}
	return c.next
}

func (c *confirmations) run(r *confirmRound, confirm func() error) {
	for r != nil {
		r.err = confirm()
		close(r.done)
		c.mu.Lock()
		c.running, c.next = c.next, nil
		r = c.running
		c.mu.Unlock()
	}
}

// confirmLeadership commits a barrier entry in the current term (see
// above). ApplyTimeout bounds only the enqueueing; the commit itself ends
// when a quorum stores the entry or this node steps down.
func (n *Node) confirmLeadership() error {
	if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return n.notLeaderErr(err)
		}
		return fmt.Errorf("cluster: verify leader: %w", err)
	}
	return nil
}

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
