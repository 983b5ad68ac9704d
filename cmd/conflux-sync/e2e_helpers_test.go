package main

// Multi-process end-to-end harness: TestMain builds the conflux-sync binary
// once; procCluster runs `conflux-sync server` processes on 127.0.0.1 with
// real data folders; cli runs the binary as a client.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// The tokens have the shape deploy generates (`openssl rand -hex 32`): the
// server refuses short, low-strength and placeholder tokens.
const (
	e2eAdminToken = "e2e0admin0c8a1f3b7d2e9460a5b1c7d3e8f2a6b0c4d9e1f5a3b7c2d6e0f4a8b"
	e2eReadToken  = "e2e0read05d9c2e7a1b3f8064c2d7e1a9b5f3c0d8e2a6b4f1c7d3e9a5b0c2d4e"
	e2eWriteToken = "e2e0write1f7b3d9c5a2e8064b1c6d2e9a7f3b5c0d4e8a2f6b1c9d5e3a7b0c4d"
)

// binPath is the conflux-sync binary TestMain built; empty in -short mode.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the e2e tests skip themselves
	}
	dir, err := os.MkdirTemp("", "conflux-sync-e2e-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "conflux-sync")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build failed:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needBinary skips a test in -short mode.
func needBinary(t testing.TB) {
	t.Helper()
	if testing.Short() || binPath == "" {
		t.Skip("multi-process e2e test: skipped in -short mode (it builds the binary and runs server processes)")
	}
}

// ---- ports ----------------------------------------------------------------

// ---- processes ------------------------------------------------------------

// proc is one `conflux-sync server` process (restartable with the same
// flags and data folder).
type proc struct {
	// bin is the binary to run; empty: the one TestMain built.
	bin string
	// env is added to the process's environment at every start (e.g.
	// CONFLUX_FAILPOINTS for the crash tests).
	env        []string
	id         string
	dataDir    string
	logPath    string
	httpAddr   string
	raftAddr   string
	gossipAddr string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	werr error         // cmd.Wait's error, valid after done
}

func (p *proc) url() string { return "http://" + p.httpAddr }

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// procCluster is n server processes that know each other's gossip
// addresses.
type procCluster struct {
	t               testing.TB
	nodes           []*proc
	join            []string
	tokenFile       string
	bootstrapExpect int
	// secretFile is the cluster secret every node of this build reads
	// (--cluster-secret-file), unless insecure: then they run with
	// --insecure-cluster (a cluster mixed with releases before the
	// secure transport).
	secretFile string
	insecure   bool
}

// newProcCluster prepares n nodes (ports, folders, token file) and starts
// them all, then waits until every node is ready.
func newProcCluster(t testing.TB, n int) *procCluster {
	t.Helper()
	c := configureProcCluster(t, n)
	for i := range n {
		c.start(i)
	}
	c.waitAllReady()
	return c
}

func configureProcCluster(t testing.TB, n int) *procCluster {
	t.Helper()
	needBinary(t)
	root := t.TempDir()
	c := &procCluster{t: t, bootstrapExpect: n, tokenFile: filepath.Join(root, "tokens"), secretFile: filepath.Join(root, "cluster-secret")}
	tokens := fmt.Sprintf("# e2e tokens\nadmin:%s\nread:%s\nwrite:%s\n", e2eAdminToken, e2eReadToken, e2eWriteToken)
	if err := os.WriteFile(c.tokenFile, []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
	secret, err := cluster.GenerateClusterSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := testutil.FreePorts(t, 3*n) // one call: no port handed out twice
	for i := range n {
		id := fmt.Sprintf("node-%d", i)
		p := &proc{
			id:         id,
			dataDir:    filepath.Join(root, id),
			logPath:    filepath.Join(root, id+".log"),
			httpAddr:   testutil.Addr(ports[3*i]),
			raftAddr:   testutil.Addr(ports[3*i+1]),
			gossipAddr: testutil.Addr(ports[3*i+2]),
		}
		c.nodes = append(c.nodes, p)
		c.join = append(c.join, p.gossipAddr)
	}
	// Registered after t.TempDir, so it runs before the folders go: kill
	// every process, then show the logs of a failed test.
	t.Cleanup(func() {
		for _, p := range c.nodes {
			p.hardKill()
		}
		if t.Failed() {
			for _, p := range c.nodes {
				raw, err := os.ReadFile(p.logPath)
				if err != nil {
					continue
				}
				t.Logf("==== log of %s (%s) ====\n%s", p.id, p.logPath, raw)
			}
		}
	})
	return c
}

func (c *procCluster) serverArgs(i int, extra ...string) []string {
	p := c.nodes[i]
	args := []string{"server",
		"--node-id", p.id,
		"--data-dir", p.dataDir,
		"--http-addr", p.httpAddr,
		"--raft-addr", p.raftAddr,
		"--gossip-addr", p.gossipAddr,
		"--join", strings.Join(c.join, ","),
		"--bootstrap-expect", strconv.Itoa(c.bootstrapExpect),
		"--token-file", c.tokenFile,
		"--log-level", "warn",
	}
	if p.bin == "" {
		// Flags older releases lack (TestE2EMixedVersionRollingUpgrade).
		args = append(args, "--token-file-check-interval", "200ms")
		if c.insecure {
			args = append(args, "--insecure-cluster")
		} else {
			args = append(args, "--cluster-secret-file", c.secretFile)
		}
	}
	return append(args, extra...)
}

// start runs node i's server process (again) with the same flags and data
// folder; extra flags are appended. It does not wait for readiness.
func (c *procCluster) start(i int, extra ...string) {
	c.t.Helper()
	p := c.nodes[i]
	if p.running() {
		c.t.Fatalf("start %s: already running", p.id)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	args := c.serverArgs(i, extra...)
	fmt.Fprintf(logf, "---- %s start: conflux-sync %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	bin := binPath
	if p.bin != "" {
		bin = p.bin
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("start %s: %v", p.id, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	done := p.done
	go func() {
		p.werr = cmd.Wait()
		logf.Close()
		close(done)
	}()
}

// hardKill SIGKILLs the process if it runs and waits for it to exit.
func (p *proc) hardKill() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// kill SIGKILLs node i (a crash: no leadership transfer, no gossip leave).
func (c *procCluster) kill(i int) {
	c.t.Helper()
	p := c.nodes[i]
	if !p.running() {
		c.t.Fatalf("kill %s: not running", p.id)
	}
	p.hardKill()
}

// restartAll stops every node cleanly, starts them again from their data
// dirs and waits until they are ready and have a leader.
func (c *procCluster) restartAll() {
	c.t.Helper()
	c.stop()
	for i := range c.nodes {
		c.start(i)
	}
	c.waitAllReady()
	c.leader()
}

// stop sends SIGTERM to the given nodes (all when none are given), waits
// for them to exit and checks that each exited cleanly (status 0).
func (c *procCluster) stop(which ...int) {
	c.t.Helper()
	if len(which) == 0 {
		for i := range c.nodes {
			which = append(which, i)
		}
	}
	for _, i := range which {
		if p := c.nodes[i]; p.running() {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, i := range which {
		p := c.nodes[i]
		if p.cmd == nil {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.hardKill()
			c.t.Fatalf("%s did not exit within 30s of SIGTERM", p.id)
		}
		if p.werr != nil {
			c.t.Errorf("%s exited uncleanly after SIGTERM: %v", p.id, p.werr)
		}
	}
}

// wipe removes node i's data folder (the process must be stopped).
func (c *procCluster) wipe(i int) {
	c.t.Helper()
	if c.nodes[i].running() {
		c.t.Fatalf("wipe %s: still running", c.nodes[i].id)
	}
	if err := os.RemoveAll(c.nodes[i].dataDir); err != nil {
		c.t.Fatal(err)
	}
}

// live lists the indexes of running nodes.
func (c *procCluster) live() []int {
	var out []int
	for i, p := range c.nodes {
		if p.running() {
			out = append(out, i)
		}
	}
	return out
}

var probeHTTP = &http.Client{Timeout: 2 * time.Second}

// ready reports whether node i answers 200 on /readyz.
func (c *procCluster) ready(i int) bool {
	resp, err := probeHTTP.Get(c.nodes[i].url() + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitReady polls /readyz of the given nodes until they all answer 200.
func (c *procCluster) waitReady(which ...int) {
	c.t.Helper()
	for _, i := range which {
		p := c.nodes[i]
		eventually(c.t, 60*time.Second, p.id+" answers 200 on /readyz", func() error {
			if !p.running() {
				return stopErr{fmt.Errorf("%s exited: %v", p.id, p.werr)}
			}
			if !c.ready(i) {
				return errors.New("not ready")
			}
			return nil
		})
	}
}

func (c *procCluster) waitAllReady() {
	c.t.Helper()
	c.waitReady(c.live()...)
}

// client is an API client for node i.
func (c *procCluster) client(i int) *api.Client {
	c.t.Helper()
	cl, err := api.NewClient(c.nodes[i].url(), api.WithToken(e2eAdminToken), api.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// leader waits until every running node names the same leader, that
// leader is running and says it leads, and returns its index.
func (c *procCluster) leader() int {
	c.t.Helper()
	idx := -1
	eventually(c.t, 60*time.Second, "one leader that every running node agrees on", func() error {
		idx = -1
		leaderID := ""
		for _, i := range c.live() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := c.client(i).Status(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %v", c.nodes[i].id, err)
			}
			if st.Leader == "" {
				return fmt.Errorf("%s knows no leader", c.nodes[i].id)
			}
			if leaderID != "" && st.Leader != leaderID {
				return fmt.Errorf("nodes disagree on the leader: %s vs %s", leaderID, st.Leader)
			}
			leaderID = st.Leader
			if st.State == "Leader" {
				idx = i
			}
		}
		if idx < 0 || c.nodes[idx].id != leaderID {
			return fmt.Errorf("leader %q is not a running node that says it leads", leaderID)
		}
		return nil
	})
	return idx
}

// follower returns a running node that is not the leader.
func (c *procCluster) follower() int {
	c.t.Helper()
	l := c.leader()
	for _, i := range c.live() {
		if i != l {
			return i
		}
	}
	c.t.Fatal("no running follower")
	return -1
}

// cli runs the binary against node i with the admin token.
func (c *procCluster) cli(i int, args ...string) cliResult {
	c.t.Helper()
	return cli(c.t, append(args, "--addr", c.nodes[i].url(), "--token", e2eAdminToken)...)
}

// mustCLI is cli that fails the test on a non-zero exit.
func (c *procCluster) mustCLI(i int, args ...string) cliResult {
	c.t.Helper()
	r := c.cli(i, args...)
	if r.code != 0 {
		c.t.Fatalf("conflux-sync %s (node %s): exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), c.nodes[i].id, r.code, r.stdout, r.stderr)
	}
	return r
}

// staleFragments is node i's own `fragments ls -o json --consistency stale`.
func (c *procCluster) staleFragments(i int) string {
	c.t.Helper()
	return c.mustCLI(i, "fragments", "ls", "-o", "json", "--consistency", "stale").stdout
}

// converged waits until the given nodes' stale fragment lists are equal
// (and, when want is not empty, equal to want), and returns the list.
func (c *procCluster) converged(want string, which ...int) string {
	c.t.Helper()
	var got string
	eventually(c.t, 30*time.Second, "equal fragment lists on every node", func() error {
		lists := map[string]string{}
		for _, i := range which {
			r := c.cli(i, "fragments", "ls", "-o", "json", "--consistency", "stale")
			if r.code != 0 {
				return fmt.Errorf("%s: exit %d: %s", c.nodes[i].id, r.code, r.stderr)
			}
			lists[c.nodes[i].id] = r.stdout
			got = r.stdout
		}
		for id, l := range lists {
			if l != got {
				return fmt.Errorf("%s differs:\n%s\nvs\n%s", id, l, got)
			}
			if want != "" && l != want {
				return fmt.Errorf("%s differs from the expected list:\n%s\nwant\n%s", id, l, want)
			}
		}
		return nil
	})
	return got
}

// ---- the client binary ----------------------------------------------------

type cliResult struct {
	stdout, stderr string
	code           int
}

type cliOptions struct {
	env     []string // added to a clean environment
	stdin   string
	timeout time.Duration // default 60s
}

// cli runs the binary with args in an environment without CONFLUX_SYNC_*
// variables and returns its output and exit code.
func cli(t testing.TB, args ...string) cliResult {
	t.Helper()
	return cliWith(t, cliOptions{}, args...)
}

func cliWith(t testing.TB, o cliOptions, args ...string) cliResult {
	t.Helper()
	needBinary(t)
	timeout := o.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	// A hung command dumps its goroutines (SIGQUIT) into stderr, which the
	// failure message shows; it is killed if that does not end it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(cleanEnv(), o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("conflux-sync %s: %v (stderr: %s)", strings.Join(args, " "), err, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("conflux-sync %s: did not finish within %s; stderr (goroutine dump):\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	return res
}

// cleanEnv is the test's environment without CONFLUX_SYNC_* settings.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CONFLUX_SYNC_") || strings.HasPrefix(kv, "CLOUDFLARE_")
	})
}

// ---- waiting --------------------------------------------------------------

// stopErr makes eventually give up at once.
type stopErr struct{ error }

// eventually polls cond until it returns nil, failing the test with the
// last error once timeout has passed.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		var stop stopErr
		if errors.As(err, &stop) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- fixtures -------------------------------------------------------------

// tunnelFragmentJSON is a tunnel-configuration fragment of an Ingress
// source with one rule per host.
func tunnelFragmentJSON(target, source string, gen int, hosts ...string) map[string]any {
	var rules []map[string]any
	for _, h := range hosts {
		rules = append(rules, map[string]any{"hostname": h, "service": "http://" + source + ".default.svc:80"})
	}
	return map[string]any{
		"target":     map[string]any{"kind": "cloudflare.TunnelConfiguration", "name": target},
		"source":     map[string]any{"kind": "Ingress", "namespace": "default", "name": source},
		"generation": gen,
		"spec":       map[string]any{"rules": rules},
	}
}

// writeJSONFile writes v as JSON to a new file in dir and returns its path.
func writeJSONFile(t testing.TB, dir, name string, v any) string {
	t.Helper()
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// putFragments puts the fragments through node i with the CLI and returns
// the write results.
func (c *procCluster) putFragments(i int, frags ...map[string]any) []api.WriteResult {
	c.t.Helper()
	var v any = frags
	if len(frags) == 1 {
		v = frags[0]
	}
	path := writeJSONFile(c.t, c.t.TempDir(), "fragments.json", v)
	r := c.mustCLI(i, "fragments", "put", "-f", path, "-o", "json")
	var res []api.WriteResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		c.t.Fatalf("fragments put -o json: %v\n%s", err, r.stdout)
	}
	if len(res) != len(frags) {
		c.t.Fatalf("fragments put: %d results for %d fragments", len(res), len(frags))
	}
	return res
}

func decodeJSON[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	return v
}

// fragmentKeys is the set of target|source keys of a fragment list.
func fragmentKeys(t testing.TB, list string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range decodeJSON[[]api.Fragment](t, list) {
		out[f.Target.Name+"|"+f.Source.String()] = true
	}
	return out
}
