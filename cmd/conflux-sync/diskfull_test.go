package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// mountTmpfs mounts a tmpfs of sizeMiB at dir (created if needed). At the
// end of the test the cluster's processes are killed and it is unmounted.
// Without the privilege to mount, the test is skipped, or fails when
// CONFLUX_REQUIRE_MOUNT=1 (CI runs as root).
func (c *procCluster) mountTmpfs(t *testing.T, dir string, sizeMiB int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", sizeMiB))
	if err != nil {
		msg := fmt.Sprintf("cannot mount a tmpfs at %s (%v): this test needs root or CAP_SYS_ADMIN", dir, err)
		if os.Getenv("CONFLUX_REQUIRE_MOUNT") == "1" {
			t.Fatal(msg + "; CONFLUX_REQUIRE_MOUNT=1 makes that a failure")
		}
		t.Skip(msg + "; set CONFLUX_REQUIRE_MOUNT=1 to make this a failure")
	}
	t.Cleanup(func() {
		// Files open in a running process keep the mount busy.
		for _, p := range c.nodes {
			p.hardKill()
		}
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
}

// fillVolume writes a ballast file into dir until the volume is full to
// the last byte, and returns its path.
func fillVolume(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 64 << 10, 4 << 10, 512, 1} {
		chunk := bytes.Repeat([]byte{'x'}, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", path, err)
				}
				break
			}
		}
	}
	return path
}

// TestDiskFull fills a volume under a running cluster, then frees it.
//
// "every volume": the data folders of all three nodes share one small
// tmpfs, as when every node's volume runs out together (identical data
// grows alike). Raft's log store fails first: writes are refused with 507
// insufficient_storage naming the cause.
//
// "the leader's state file": only the volume of the leader's state file
// fills (its raft log has room). Raft commits, the leader's FSM cannot
// apply: it waits for space instead of skipping the entries or crashing,
// hands leadership to a node with space, and writes go on there.
//
// In both, no process dies, every node keeps serving all that was stored,
// and once the ballast is deleted writes succeed with no restart, all
// nodes agree, and a full restart finds intact files.
func TestDiskFull(t *testing.T) {
	tests := []struct {
		name string
		// mount puts the nodes' files on tmpfs volumes (before they
		// start) and returns the folder to fill and the node whose
		// volume fills (-1: all).
		mount func(t *testing.T, c *procCluster) (fill string, victim int)
		// refused: writes must be refused while the volume is full;
		// otherwise they must go on.
		refused bool
	}{
		{
			name: "every volume",
			mount: func(t *testing.T, c *procCluster) (string, int) {
				vol := filepath.Join(filepath.Dir(c.tokenFile), "volume")
				c.mountTmpfs(t, vol, 48)
				for _, p := range c.nodes {
					p.dataDir = filepath.Join(vol, p.id)
				}
				return vol, -1
			},
			refused: true,
		},
		{
			name: "the leader's state file",
			mount: func(t *testing.T, c *procCluster) (string, int) {
				p := c.nodes[0]
				c.mountTmpfs(t, p.dataDir, 16)
				c.mountTmpfs(t, filepath.Join(p.dataDir, "raft"), 64)
				return p.dataDir, 0
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testDiskFull(t, tt.mount, tt.refused)
		})
	}
}

func testDiskFull(t *testing.T, mount func(*testing.T, *procCluster) (string, int), refusedWanted bool) {
	c := configureProcCluster(t, 3)
	vol, victim := mount(t, c)
	for i := range c.nodes {
		c.start(i)
	}
	c.waitAllReady()
	leader := c.leader()
	// The victim should lead, to see it hand leadership away: restart
	// the leader until it does (each graceful stop transfers leadership).
	for try := 0; victim >= 0 && leader != victim && try < 8; try++ {
		c.stop(leader)
		c.start(leader)
		c.waitReady(leader)
		leader = c.leader()
	}
	if victim >= 0 && leader != victim {
		t.Logf("%s does not lead; its full volume is a follower's", c.nodes[victim].id)
	}
	writer := 1 // never the victim

	acked := map[string]string{}
	pad := bytes.Repeat([]byte{'p'}, 2<<10)
	put := func(node int, name string, pad []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		host := name + ".example.com"
		_, err := c.client(node).PutFragment(ctx, fragment(name, host, pad))
		if err == nil {
			acked[edgeTunnel+"|Ingress/default/"+name] = host
		}
		return err
	}
	for i := range 20 {
		if err := put(i%3, fmt.Sprintf("before-%d", i), pad); err != nil {
			t.Fatalf("write before the volume is full: %v", err)
		}
	}
	c.converged("", 0, 1, 2)

	ballast := fillVolume(t, vol)
	t.Logf("volume filled (ballast %s)", ballast)
	filled := time.Now()

	big := bytes.Repeat([]byte{'b'}, 256<<10)
	n := 0
	if refusedWanted {
		// Large writes need new pages: soon one is refused. bbolt may
		// still reuse freed pages for a few; those are acknowledged and
		// must stay.
		var refused *api.Error
		eventually(t, 60*time.Second, "a write refused with 507 insufficient_storage", func() error {
			n++
			err := put(writer, fmt.Sprintf("full-%d", n), big)
			var e *api.Error
			switch {
			case err == nil:
				return errors.New("the write was stored")
			case errors.As(err, &e) && e.Code == api.CodeInsufficientStorage:
				refused = e
				return nil
			default:
				return fmt.Errorf("refused otherwise: %v", err)
			}
		})
		t.Logf("refused: HTTP %d %s: %s", refused.Status, refused.Code, refused.Message)
		if refused.Status != 507 || !strings.Contains(refused.Message, "no space left on device") {
			t.Errorf("refusal %d %q does not name the cause", refused.Status, refused.Message)
		}
		// Leaders come and go (each fails to append its first entry);
		// none of that may take a process down.
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
			n++
			_ = put(writer, fmt.Sprintf("full-%d", n), big)
			time.Sleep(100 * time.Millisecond)
		}
	} else {
		// The others have room: once the full node no longer leads,
		// writes are stored again, while its volume is still full.
		eventually(t, 60*time.Second, "its state file failing to grow", func() error {
			n++
			_ = put(writer, fmt.Sprintf("full-%d", n), big)
			if !c.logContains(victim, "cannot apply committed entries") {
				return errors.New("no stall logged yet")
			}
			return nil
		})
		ok := 0
		eventually(t, 60*time.Second, "10 writes stored while the volume is full", func() error {
			n++
			if err := put(writer, fmt.Sprintf("full-%d", n), big); err != nil {
				return err
			}
			if ok++; ok < 10 {
				return fmt.Errorf("%d stored", ok)
			}
			return nil
		})
		t.Logf("writes go on %s after the volume filled", time.Since(filled).Round(time.Millisecond))
		if l := c.leader(); l == victim {
			t.Errorf("%s still leads with a full volume", c.nodes[victim].id)
		}
	}

	// While full: no process dies, and every node still serves all that
	// was stored before the volume filled.
	for i, p := range c.nodes {
		if !p.running() {
			t.Fatalf("%s exited while the volume was full: %v", p.id, p.werr)
		}
		if i != victim {
			checkAcked(t, c.staleFragments(i), acked)
		}
	}

	t.Logf("%s with the volume full", time.Since(filled).Round(time.Millisecond))

	// Space returns: writes succeed again, with no restart.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	eventually(t, 60*time.Second, "a write accepted after space returned", func() error {
		n++
		return put(writer, fmt.Sprintf("after-%d", n), pad)
	})
	for i := range 5 {
		if err := put(i%3, fmt.Sprintf("after-more-%d", i), pad); err != nil {
			t.Fatalf("write after space returned: %v", err)
		}
	}
	list := c.converged("", 0, 1, 2)
	checkAcked(t, list, acked)
	for _, p := range c.nodes {
		if !p.running() {
			t.Fatalf("%s exited: %v", p.id, p.werr)
		}
	}
	t.Logf("%d acknowledged writes present on all three nodes %s after space returned", len(acked), time.Since(freed).Round(time.Millisecond))

	// The files are intact: a full restart comes back with the same state.
	c.restartAll()
	c.converged(list, 0, 1, 2)
}
