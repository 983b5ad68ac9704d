package main

// Helpers of the crash and full-disk tests (crash_test.go, diskfull_test.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// snapshotFlags make raft snapshot and compact its log after a few dozen
// entries, so tests reach snapshots and InstallSnapshot in seconds.
var snapshotFlags = []string{
	"--raft-snapshot-threshold", "32",
	"--raft-snapshot-interval", "100ms",
	"--raft-trailing-logs", "8",
}

// startCluster starts n nodes with extra server flags and waits until all
// are ready and agree on a leader.
func startCluster(t *testing.T, n int, extra ...string) *procCluster {
	t.Helper()
	c := configureProcCluster(t, n)
	for i := range n {
		c.start(i, extra...)
	}
	c.waitAllReady()
	c.leader()
	return c
}

// waitKilled waits until node i's process has exited and fails the test
// unless SIGKILL ended it.
func (c *procCluster) waitKilled(i int, timeout time.Duration) {
	c.t.Helper()
	p := c.nodes[i]
	select {
	case <-p.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s is still running %s after the failpoint should have fired", p.id, timeout)
	}
	var exit *exec.ExitError
	if !errors.As(p.werr, &exit) {
		c.t.Fatalf("%s exited with %v, want death by SIGKILL", p.id, p.werr)
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		c.t.Fatalf("%s ended with %v, want death by SIGKILL", p.id, p.werr)
	}
}

// logContains reports whether node i's log holds s.
func (c *procCluster) logContains(i int, s string) bool {
	raw, err := os.ReadFile(c.nodes[i].logPath)
	return err == nil && strings.Contains(string(raw), s)
}

// ackedWrites puts fragments through node i from several goroutines at
// once (so raft applies them in batches of many entries) and remembers
// each acknowledged write's key and host name: exactly those must survive.
type ackedWrites struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	acked  map[string]string // target|source -> hostname
	failed int
	last   error
}

func (c *procCluster) startWrites(i int, prefix string, workers int) *ackedWrites {
	c.t.Helper()
	w := &ackedWrites{stop: make(chan struct{}), acked: map[string]string{}}
	cl := c.client(i)
	for g := range workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-w.stop:
					return
				default:
				}
				name := fmt.Sprintf("%s-%d-%d", prefix, g, n)
				host := name + ".example.com"
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := cl.PutFragment(ctx, fragment(name, host, nil))
				cancel()
				w.mu.Lock()
				if err == nil {
					w.acked[edgeTunnel+"|Ingress/default/"+name] = host
				} else {
					w.failed++
					w.last = err
				}
				w.mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // an election
				}
			}
		}()
	}
	return w
}

func (w *ackedWrites) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitFor waits until n more writes than now are acknowledged.
func (w *ackedWrites) waitFor(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	target := w.count() + n
	eventually(t, timeout, fmt.Sprintf("%d acknowledged writes", target), func() error {
		if got := w.count(); got < target {
			w.mu.Lock()
			defer w.mu.Unlock()
			return fmt.Errorf("%d acknowledged, %d failed (last: %v)", got, w.failed, w.last)
		}
		return nil
	})
}

// halt stops the writers and returns the acknowledged writes.
func (w *ackedWrites) halt() map[string]string {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

// fragment is an Ingress fragment of the edge tunnel with one rule for
// host; pad, when set, makes the spec larger.
func fragment(source, host string, pad []byte) api.Fragment {
	rule := map[string]any{"hostname": host, "service": "http://" + source + ".default.svc:80"}
	if pad != nil {
		rule["originRequest"] = map[string]any{"httpHostHeader": string(pad)}
	}
	spec, _ := json.Marshal(map[string]any{"rules": []any{rule}})
	return api.Fragment{
		Target:     api.TargetRef{Kind: tunnelKind, Name: edgeTunnel},
		Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: source},
		Generation: 1,
		Spec:       spec,
	}
}

// checkAcked fails the test unless every acknowledged write is in the
// fragment list with its own host name.
func checkAcked(t testing.TB, list string, acked map[string]string) {
	t.Helper()
	have := map[string]string{}
	for _, f := range decodeJSON[[]api.Fragment](t, list) {
		var spec struct {
			Rules []struct {
				Hostname string `json:"hostname"`
			} `json:"rules"`
		}
		if err := json.Unmarshal(f.Spec, &spec); err != nil || len(spec.Rules) != 1 {
			t.Errorf("fragment %s|%s has an unexpected spec %s", f.Target.Name, f.Source, f.Spec)
			continue
		}
		have[f.Target.Name+"|"+f.Source.String()] = spec.Rules[0].Hostname
	}
	lost := 0
	for k, host := range acked {
		got, ok := have[k]
		switch {
		case !ok:
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged write %s is lost", k)
			}
		case got != host:
			t.Errorf("acknowledged write %s holds host %q, want %q", k, got, host)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
}

// snapshotIndexes lists the indexes of node i's finished raft snapshots
// (folders TERM-INDEX-MILLIS under raft/snapshots) and counts unfinished
// ones (.tmp).
func (c *procCluster) snapshotIndexes(i int) (done []uint64, unfinished int) {
	entries, _ := os.ReadDir(filepath.Join(c.nodes[i].dataDir, "raft", "snapshots"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			unfinished++
			continue
		}
		parts := strings.Split(e.Name(), "-")
		if len(parts) != 3 {
			continue
		}
		if idx, err := strconv.ParseUint(parts[1], 10, 64); err == nil {
			done = append(done, idx)
		}
	}
	return done, unfinished
}

// waitSnapshot waits until node i has a finished raft snapshot at index ≥
// min.
func (c *procCluster) waitSnapshot(i int, min uint64) {
	c.t.Helper()
	eventually(c.t, 30*time.Second, fmt.Sprintf("a raft snapshot at index ≥ %d on %s", min, c.nodes[i].id), func() error {
		done, _ := c.snapshotIndexes(i)
		for _, idx := range done {
			if idx >= min {
				return nil
			}
		}
		return fmt.Errorf("snapshots at %v", done)
	})
}

// appliedIndex is node i's own applied index.
func (c *procCluster) appliedIndex(i int) uint64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.client(i).Status(ctx)
	if err != nil {
		c.t.Fatalf("status of %s: %v", c.nodes[i].id, err)
	}
	return st.AppliedIndex
}
