package gittest

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// Daemon is a `git daemon` serving repositories over git:// on 127.0.0.1.
type Daemon struct {
	port int
}

// NewDaemon starts `git daemon` exporting repos and waits until its port
// accepts connections; the URL of repos[name] is URL(name). The daemon is
// killed by t.Cleanup.
func NewDaemon(t testing.TB, repos map[string]*Repo) *Daemon {
	t.Helper()
	git := gitPath(t)
	base := linkRepos(t, repos)
	home := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := testutil.FreePort(t)
		if err := startDaemon(t, git, base, home, port); err != nil {
			lastErr = err // most likely the port was taken meanwhile
			continue
		}
		return &Daemon{port: port}
	}
	t.Fatalf("gittest: git daemon did not start: %v", lastErr)
	return nil
}

func startDaemon(t testing.TB, git, base, home string, port int) error {
	t.Helper()
	args := append(append([]string{}, configFlags...),
		"daemon", "--export-all", "--reuseaddr", "--informative-errors",
		"--base-path="+base, "--listen=127.0.0.1", "--port="+strconv.Itoa(port), base)
	cmd := exec.Command(git, args...)
	cmd.Dir = base
	cmd.Env = hermeticEnv(home)
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	// git daemon forks a child per connection; a process group of its own
	// lets the cleanup kill those children too, and WaitDelay bounds the
	// wait for the stderr pipe should one escape.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("git daemon exited: %s", stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("git daemon not listening on %s after 15s: %s", addr, stderr.String())
		}
		select {
		case <-exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL returns the URL of the repository name, e.g. git://127.0.0.1:PORT/NAME.git.
func (d *Daemon) URL(name string) string {
	return "git://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) + "/" + name + ".git"
}
