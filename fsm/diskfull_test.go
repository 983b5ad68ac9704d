package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/store"
)

// fullVolume mounts a small tmpfs, opens a harness on it and fills the
// rest of the volume with a ballast file, whose path it returns. Without
// the privilege to mount, the test is skipped (or fails with
// CONFLUX_REQUIRE_MOUNT=1).
func fullVolume(t *testing.T) (*harness, string) {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs (%v): needs root or CAP_SYS_ADMIN", err)
		if os.Getenv("CONFLUX_REQUIRE_MOUNT") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; CONFLUX_REQUIRE_MOUNT=1 makes this a failure")
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount: %v", err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	h := &harness{t: t, path: filepath.Join(dir, "fsm.db")}
	h.open()
	t.Cleanup(func() {
		if h.store != nil {
			h.store.Close()
		}
	})
	h.apply(cmdLog(t, 1, 1, putCmd("a", "before", 1, `{}`)))

	ballast := filepath.Join(dir, "ballast")
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, n := range []int{64 << 10, 4 << 10, 1} {
		for {
			if _, err := f.Write(make([]byte, n)); err != nil {
				break
			}
		}
	}
	return h, ballast
}

// bigBatch is entries 2..4 with specs large enough to need new pages.
func bigBatch(t *testing.T) []*raft.Log {
	spec := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	var logs []*raft.Log
	for i := 2; i <= 4; i++ {
		logs = append(logs, cmdLog(t, uint64(i), 1, putCmd("a", fmt.Sprintf("s%d", i), 1, spec)))
	}
	return logs
}

// TestApplyBatchWaitsForSpace: a batch that cannot commit for lack of
// space is neither skipped nor fatal: ApplyBatch waits, the store reports
// the condition, and once space is freed the same batch is applied whole.
func TestApplyBatchWaitsForSpace(t *testing.T) {
	h, ballast := fullVolume(t)
	logs := bigBatch(t)
	done := make(chan []any, 1)
	go func() { done <- h.fsm.ApplyBatch(logs) }()

	deadline := time.Now().Add(5 * time.Second)
	for h.store.WriteErr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the store never reported the full volume")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !store.NoSpace(h.store.WriteErr()) {
		t.Fatalf("WriteErr = %v, want no space", h.store.WriteErr())
	}
	select {
	case <-done:
		t.Fatal("ApplyBatch returned while the volume was full")
	case <-time.After(300 * time.Millisecond):
	}
	if got := h.fsm.AppliedIndex(); got != 1 {
		t.Fatalf("applied index %d while waiting, want 1", got)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	var resps []any
	select {
	case resps = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ApplyBatch did not finish after space was freed")
	}
	for i, r := range resps {
		if resp := r.(Response); resp.Err != nil || resp.Result.Changed != 1 {
			t.Errorf("response %d = %+v", i, resp)
		}
	}
	if h.fsm.AppliedIndex() != 4 || h.store.WriteErr() != nil {
		t.Errorf("after space returned: applied %d, WriteErr %v", h.fsm.AppliedIndex(), h.store.WriteErr())
	}
	h.reopen()
	for i := 2; i <= 4; i++ {
		if _, ok := h.fragment(tgt("a"), src(fmt.Sprintf("s%d", i))); !ok {
			t.Errorf("fragment s%d missing after reopen", i)
		}
	}
}

// TestApplyBatchStopWhileWaitingForSpace: Stop ends the wait without
// applying anything; later batches and snapshots are refused (the state
// is behind raft's count), and the file still holds the state before.
func TestApplyBatchStopWhileWaitingForSpace(t *testing.T) {
	h, _ := fullVolume(t)
	done := make(chan []any, 1)
	go func() { done <- h.fsm.ApplyBatch(bigBatch(t)) }()
	for h.store.WriteErr() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	h.fsm.Stop()
	var resps []any
	select {
	case resps = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ApplyBatch did not return after Stop")
	}
	for i, r := range resps {
		if resp := r.(Response); !errors.Is(resp.Err, ErrStopped) {
			t.Errorf("response %d = %+v, want ErrStopped", i, resp)
		}
	}
	later := h.fsm.ApplyBatch([]*raft.Log{cmdLog(t, 5, 1, putCmd("a", "small", 1, `{}`))})
	if resp := later[0].(Response); !errors.Is(resp.Err, ErrStopped) {
		t.Errorf("a later batch was not refused: %+v", resp)
	}
	if _, err := h.fsm.Snapshot(); err == nil {
		t.Error("Snapshot succeeded with entries missing")
	}
	if idx, _ := h.applied(); idx != 1 || h.fsm.AppliedIndex() != 1 {
		t.Errorf("applied = %d (FSM %d), want 1", idx, h.fsm.AppliedIndex())
	}
	var dump bytes.Buffer
	h.store.View(func(v *store.View) error { return v.Dump(&dump) })
	if strings.Contains(dump.String(), "small") {
		t.Error("the refused batch reached the file")
	}
}
