package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

type leaderTask struct {
	name string
	fn   func(ctx context.Context)
}

// leaderTasks runs the registered tasks while this node is the established
// leader (leadership gained and a barrier applied).
type leaderTasks struct {
	mu     sync.Mutex
	tasks  []leaderTask
	ctx    context.Context // non-nil while established
	cancel context.CancelFunc
	term   uint64
	wg     sync.WaitGroup
}

// RegisterLeaderTask registers fn to run in its own goroutine each time this
// node becomes leader, after a raft barrier (so the FSM has applied every
// earlier entry). Its ctx is cancelled as soon as leadership is lost or the
// node shuts down; fn must then return promptly. A task registered while
// this node is the established leader starts immediately.
func (n *Node) RegisterLeaderTask(name string, fn func(ctx context.Context)) {
	lt := &n.leaderTasks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	t := leaderTask{name: name, fn: fn}
	lt.tasks = append(lt.tasks, t)
	if lt.ctx != nil {
		n.startTaskLocked(t)
	}
}

func (n *Node) startTaskLocked(t leaderTask) {
	lt := &n.leaderTasks
	ctx := lt.ctx
	lt.wg.Add(1)
	go func() {
		defer lt.wg.Done()
		n.log.Info("leader task started", "task", t.name)
		t.fn(ctx)
		n.log.Info("leader task stopped", "task", t.name)
	}()
}

// leaderLoop follows raft leadership: it establishes leadership (barrier,
// then the tasks) when this node becomes leader and stops the tasks when it
// is lost. A periodic check catches a lost-and-regained leadership that the
// coalescing LeaderCh hides.
func (n *Node) leaderLoop(ctx context.Context) {
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	defer n.revokeLeadership()
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.raft.LeaderCh():
			if !isLeader {
				n.revokeLeadership()
				continue
			}
		case <-check.C:
		}
		n.syncLeadership(ctx)
	}
}

// syncLeadership makes the task state match raft's state and term.
func (n *Node) syncLeadership(ctx context.Context) {
	lt := &n.leaderTasks
	leader := n.raft.State() == raft.Leader
	term := n.raft.CurrentTerm()
	lt.mu.Lock()
	established, estTerm := lt.ctx != nil, lt.term
	lt.mu.Unlock()
	switch {
	case !leader && established, leader && established && estTerm != term:
		n.revokeLeadership()
		if !leader {
			return
		}
	case !leader, established:
		return
	}
	// Newly leader: wait until the FSM has applied everything before this
	// term, then start the tasks. A failure means leadership was lost or the
	// node is stopping; the next event or check decides again.
	start := time.Now()
	if err := n.Barrier(ctx); err != nil {
		if ctx.Err() == nil {
			n.log.Warn("leader barrier failed", "err", err)
		}
		return
	}
	if n.raft.State() != raft.Leader || n.raft.CurrentTerm() != term {
		return
	}
	tctx, cancel := context.WithCancel(ctx)
	lt.mu.Lock()
	lt.ctx, lt.cancel, lt.term = tctx, cancel, term
	for _, t := range lt.tasks {
		n.startTaskLocked(t)
	}
	lt.mu.Unlock()
	n.log.Info("leadership established", "term", term, "barrier", time.Since(start).Round(time.Millisecond))
}

// revokeLeadership cancels the tasks and waits for them to return.
func (n *Node) revokeLeadership() {
	lt := &n.leaderTasks
	lt.mu.Lock()
	cancel := lt.cancel
	lt.ctx, lt.cancel, lt.term = nil, nil, 0
	lt.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	n.mu.Lock()
	clear(n.failing)
	clear(n.replaced)
	n.mu.Unlock()
	done := make(chan struct{})
	go func() { lt.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		n.log.Warn("leader tasks still running 5s after leadership was lost; waiting")
		<-done
	}
	n.log.Info("leadership revoked; leader tasks stopped")
}
