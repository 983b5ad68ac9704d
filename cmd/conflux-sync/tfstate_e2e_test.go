package main

// The Terraform state backend with the real terraform binary (built-in
// "http" backend, terraform_data resources: nothing comes from the
// registry) against real server processes.

import (
	"bytes"
	"context"
	"encoding/json"
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

// tfWorkdir is one terraform working directory whose backend is the
// cluster's state endpoint for one workspace.
type tfWorkdir struct {
	t   testing.TB
	dir string
	env []string
}

// tfConfig is the configuration every test applies: a few resources, and
// one that is replaced (running its local-exec provisioner for var.pause
// seconds) whenever var.content changes, so an apply can be made slow.
const tfConfig = `
variable "content" {
  type = string
}

variable "pause" {
  type    = number
  default = 0
}

resource "terraform_data" "item" {
  count = 3
  input = "${var.content}-${count.index}"
}

resource "terraform_data" "slow" {
  input            = var.content
  triggers_replace = [var.content]

  provisioner "local-exec" {
    command = "sleep ${var.pause}"
  }
}

output "content" {
  value = terraform_data.slow.output
}
`

// tfBackend is the backend block the README tells users to copy, with the
// retry settings docs/terraform/guides/backend.md recommends.
const tfBackend = `
terraform {
  backend "http" {
    address        = "%[1]s/v1/terraform/state/%[2]s"
    lock_address   = "%[1]s/v1/terraform/state/%[2]s"
    unlock_address = "%[1]s/v1/terraform/state/%[2]s"
    username       = "terraform"
    retry_max      = 10
    retry_wait_min = 1
    retry_wait_max = 5
  }
}
`

// needTerraform skips unless TF_ACC is set (as for the provider's
// acceptance tests) and fails when it is set but terraform is missing.
func needTerraform(t testing.TB) string {
	t.Helper()
	needBinary(t)
	if os.Getenv("TF_ACC") == "" {
		t.Skip("tests with the real terraform binary run with TF_ACC=1 (make test)")
	}
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("TF_ACC is set but terraform is not on PATH: %v", err)
	}
	return bin
}

// newTFWorkdir writes the configuration pointed at node url's workspace
// and runs terraform init. The password is the write token: the backend
// needs no more.
func newTFWorkdir(t testing.TB, url, workspace string) *tfWorkdir {
	t.Helper()
	needTerraform(t)
	dir := t.TempDir()
	cliConfig := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf(tfBackend, url, workspace) + tfConfig
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &tfWorkdir{t: t, dir: dir, env: []string{
		"TF_HTTP_PASSWORD=" + e2eWriteToken,
		"TF_CLI_CONFIG_FILE=" + cliConfig,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
	}}
	w.must("init", "-input=false", "-no-color")
	return w
}

func (w *tfWorkdir) command(args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command("terraform", args...)
	cmd.Dir = w.dir
	cmd.Env = append(cleanEnv(), w.env...)
	// Its own process group, so a test can kill terraform and the
	// provisioner's sleep together (an interrupted run).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// run runs terraform to the end and returns its output and exit code.
func (w *tfWorkdir) run(args ...string) (string, int) {
	w.t.Helper()
	cmd, out := w.command(args...)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		w.t.Fatalf("terraform %s did not finish in 3 minutes:\n%s", strings.Join(args, " "), out)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

func (w *tfWorkdir) must(args ...string) string {
	w.t.Helper()
	out, code := w.run(args...)
	if code != 0 {
		w.t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// background starts terraform and returns a wait function for its output
// and exit code, and a kill function (SIGKILL of its process group).
type tfRun struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

func (w *tfWorkdir) background(args ...string) *tfRun {
	w.t.Helper()
	cmd, out := w.command(args...)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	r := &tfRun{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(r.done)
	}()
	w.t.Cleanup(r.kill)
	return r
}

func (r *tfRun) wait(t testing.TB) (string, int) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(3 * time.Minute):
		r.kill()
		t.Fatalf("terraform %s did not finish in 3 minutes:\n%s", strings.Join(r.cmd.Args[1:], " "), r.out)
	}
	return r.out.String(), r.cmd.ProcessState.ExitCode()
}

func (r *tfRun) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
}

func applyArgs(content string, pause int) []string {
	return []string{"apply", "-auto-approve", "-input=false", "-no-color", "-var", "content=" + content, "-var", "pause=" + strconv.Itoa(pause)}
}

// tfWorkspace is the workspace as node i's API reports it.
func (c *procCluster) tfWorkspace(i int, name string) (api.TFWorkspace, bool) {
	c.t.Helper()
	list, err := c.client(i).TFWorkspaces(context.Background())
	if err != nil {
		c.t.Fatalf("list workspaces on %s: %v", c.nodes[i].id, err)
	}
	for _, w := range list {
		if w.Name == name {
			return w, true
		}
	}
	return api.TFWorkspace{}, false
}

// waitTFLock waits until a run holds the workspace's lock and returns it.
func (c *procCluster) waitTFLock(i int, name string) api.TFLock {
	c.t.Helper()
	var lock api.TFLock
	eventually(c.t, 60*time.Second, "terraform to take the lock of "+name, func() error {
		ws, ok := c.tfWorkspace(i, name)
		if !ok || ws.Lock == nil {
			return fmt.Errorf("not locked: %+v", ws)
		}
		lock = *ws.Lock
		return nil
	})
	return lock
}

// tfStateOf decodes a state's outputs and resources.
type tfStateDoc struct {
	Serial    int64  `json:"serial"`
	Lineage   string `json:"lineage"`
	Resources []struct {
		Type, Name string
		Instances  []json.RawMessage
	} `json:"resources"`
	Outputs map[string]struct {
		Value any `json:"value"`
	} `json:"outputs"`
}

func decodeTFState(t testing.TB, raw []byte) tfStateDoc {
	t.Helper()
	var d tfStateDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("state is not JSON: %v\n%s", err, raw)
	}
	return d
}

func (d tfStateDoc) content() string {
	if o, ok := d.Outputs["content"]; ok {
		s, _ := o.Value.(string)
		return s
	}
	return ""
}

// #20 item 5, test 1: init, apply, plan, change, restore, destroy with
// `backend "http"` pointed at a follower; the state is visible through the
// API and the CLI, versions are kept (--tf-state-versions) and one is
// restored.
func TestE2ETFStateBackendLifecycle(t *testing.T) {
	needTerraform(t)
	c := startCluster(t, 3, "--tf-state-versions", "3")
	f := c.follower()
	w := newTFWorkdir(t, c.nodes[f].url(), "lifecycle")

	w.must(applyArgs("v1", 0)...)
	if out, code := w.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-var", "content=v1"); code != 0 {
		t.Fatalf("plan after apply: exit %d, want 0 (no changes)\n%s", code, out)
	}
	// Through the API (the Go client) and the CLI, on another node.
	other := (f + 1) % 3
	raw, err := c.client(other).TFState(context.Background(), "lifecycle", 0)
	if err != nil {
		t.Fatal(err)
	}
	st := decodeTFState(t, raw)
	if st.content() != "v1" || len(st.Resources) != 2 {
		t.Fatalf("state through the API: content %q, %d resources\n%s", st.content(), len(st.Resources), raw)
	}
	if shown := c.mustCLI(other, "tfstate", "show", "lifecycle").stdout; shown != string(raw) {
		t.Fatalf("tfstate show differs from the API's state:\n%s\nvs\n%s", shown, raw)
	}
	v1, _ := c.tfWorkspace(other, "lifecycle")

	w.must(applyArgs("v2", 0)...)
	w.must(applyArgs("v3", 0)...)
	var versions []api.TFStateVersion
	if err := json.Unmarshal([]byte(c.mustCLI(other, "tfstate", "versions", "lifecycle", "-o", "json").stdout), &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 || !versions[2].Current {
		t.Fatalf("versions kept with --tf-state-versions 3: %+v", versions)
	}
	table := c.mustCLI(other, "tfstate", "list").stdout
	if !strings.Contains(table, "lifecycle") || !strings.Contains(table, "WORKSPACE") {
		t.Fatalf("tfstate list:\n%s", table)
	}

	// Restore the oldest version kept: terraform then plans to go from it
	// back to the configuration's v3.
	oldest := versions[0]
	oldRaw, err := c.client(other).TFState(context.Background(), "lifecycle", oldest.Version)
	if err != nil {
		t.Fatal(err)
	}
	c.mustCLI(other, "tfstate", "restore", "lifecycle", strconv.FormatUint(oldest.Version, 10))
	now, _ := c.tfWorkspace(other, "lifecycle")
	if now.Version != versions[2].Version+1 || now.Serial != oldest.Serial {
		t.Fatalf("after restoring version %d: %+v", oldest.Version, now)
	}
	if cur, _ := c.client(f).TFState(context.Background(), "lifecycle", 0); string(cur) != string(oldRaw) {
		t.Fatalf("the current state is not the restored version's bytes")
	}
	restoredContent := decodeTFState(t, oldRaw).content()
	if restoredContent == "v3" || v1.Version == 0 {
		t.Fatalf("restored version holds %q; want an older apply's", restoredContent)
	}
	out, code := w.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-var", "content=v3")
	if code != 2 || !strings.Contains(out, "terraform_data.slow must be replaced") {
		t.Fatalf("plan after the restore: exit %d, want 2 with the slow resource replaced (state holds %q)\n%s", code, restoredContent, out)
	}

	w.must("destroy", "-auto-approve", "-input=false", "-no-color", "-var", "content=v3")
	raw, err = c.client(other).TFState(context.Background(), "lifecycle", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st := decodeTFState(t, raw); len(st.Resources) != 0 {
		t.Fatalf("state after destroy still has %d resources", len(st.Resources))
	}
	if ws, _ := c.tfWorkspace(other, "lifecycle"); ws.Lock != nil {
		t.Fatalf("the lock outlived the runs: %+v", ws.Lock)
	}

	// tfstate unlock: a lock id, or --force; neither is a usage error.
	if r := c.cli(other, "tfstate", "unlock", "lifecycle"); r.code != 2 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("tfstate unlock without LOCK_ID or --force: exit %d, want 2\n%s", r.code, r.stderr)
	}
	run := w.background(applyArgs("held", 30)...)
	lock := c.waitTFLock(other, "lifecycle")
	run.kill()
	if r := c.cli(other, "tfstate", "unlock", "lifecycle", "not-"+lock.ID); r.code == 0 || !strings.Contains(r.stderr, lock.ID) {
		t.Fatalf("tfstate unlock with a wrong id: exit %d, want a refusal naming the holder %s\n%s", r.code, lock.ID, r.stderr)
	}
	if r := c.cli(other, "tfstate", "restore", "lifecycle", strconv.FormatUint(oldest.Version+1, 10)); r.code == 0 || !strings.Contains(r.stderr, "locked") {
		t.Fatalf("tfstate restore while locked: exit %d, want a refusal\n%s", r.code, r.stderr)
	}
	c.mustCLI(other, "tfstate", "unlock", "lifecycle", lock.ID)
	if ws, _ := c.tfWorkspace(other, "lifecycle"); ws.Lock != nil {
		t.Fatalf("tfstate unlock %s left %+v", lock.ID, ws.Lock)
	}
}

// #20 item 5, test 2: two applies at once against one workspace: the
// second gets terraform's lock error naming the first's lock, the first
// succeeds.
func TestE2ETFStateConcurrentApplies(t *testing.T) {
	needTerraform(t)
	c := startCluster(t, 3)
	a := newTFWorkdir(t, c.nodes[c.follower()].url(), "shared")
	b := newTFWorkdir(t, c.nodes[c.leader()].url(), "shared")

	slow := a.background(applyArgs("from-a", 8)...)
	lock := c.waitTFLock(0, "shared")
	out, code := b.run(append(applyArgs("from-b", 0), "-lock-timeout=0s")...)
	if code == 0 || !strings.Contains(out, "Error acquiring the state lock") || !strings.Contains(out, "ID="+lock.ID) {
		t.Fatalf("second apply while the first holds lock %s: exit %d, want terraform's lock error naming it\n%s", lock.ID, code, out)
	}
	if out, code := slow.wait(t); code != 0 {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}
	raw, err := c.client(0).TFState(context.Background(), "shared", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeTFState(t, raw).content(); got != "from-a" {
		t.Fatalf("state holds %q, want the first apply's from-a", got)
	}
	if ws, _ := c.tfWorkspace(0, "shared"); ws.Lock != nil {
		t.Fatalf("lock still held after both runs: %+v", ws.Lock)
	}
	// The second run, repeated now, succeeds.
	b.must(applyArgs("from-b", 0)...)
}

// #20 item 5, test 3: the leader is killed (SIGKILL) during an apply that
// holds the lock: the apply finishes through the new leader (terraform's
// retries) and no acknowledged state write is lost. Then a run is itself
// killed while it holds the lock, together with the leader: the lock
// survives the failover and terraform force-unlock clears it.
func TestE2ETFStateLeaderKilledDuringApply(t *testing.T) {
	needTerraform(t)
	c := startCluster(t, 3)
	leader := c.leader()
	f := c.follower()
	w := newTFWorkdir(t, c.nodes[f].url(), "failover")

	w.must(applyArgs("before", 0)...)
	acked, err := c.client(f).TFState(context.Background(), "failover", 0)
	if err != nil {
		t.Fatal(err)
	}
	ackedWS, _ := c.tfWorkspace(f, "failover")

	// Kill the leader while the apply holds the lock and sleeps in its
	// provisioner; its state writes and the unlock go to the new leader.
	run := w.background(applyArgs("during", 2)...)
	c.waitTFLock(f, "failover")
	c.kill(leader)
	if out, code := run.wait(t); code != 0 {
		t.Fatalf("apply across the leader's death: exit %d\n%s", code, out)
	}
	newLeader := c.leader()
	if newLeader == leader {
		t.Fatalf("no new leader")
	}
	raw, err := c.client(newLeader).TFState(context.Background(), "failover", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeTFState(t, raw).content(); got != "during" {
		t.Fatalf("state on the new leader holds %q, want the apply's during", got)
	}
	// The write acknowledged before the kill is still there, byte for
	// byte, as the version it was.
	old, err := c.client(newLeader).TFState(context.Background(), "failover", ackedWS.Version)
	if err != nil || !bytes.Equal(old, acked) {
		t.Fatalf("acknowledged version %d after the failover: %v (equal %v)", ackedWS.Version, err, bytes.Equal(old, acked))
	}
	if out, code := w.run("plan", "-detailed-exitcode", "-input=false", "-no-color", "-var", "content=during"); code != 0 {
		t.Fatalf("plan after the failover: exit %d, want 0\n%s", code, out)
	}

	// Bring the old leader back, then kill a run holding the lock and the
	// leader at once: the lock is left behind, in the replicated state.
	c.start(leader)
	c.waitAllReady()
	leader = c.leader()
	f = c.follower()
	// Terraform talks to a node that stays up (the first phase's follower
	// may lead now).
	w = newTFWorkdir(t, c.nodes[f].url(), "failover")
	run = w.background(applyArgs("interrupted", 30)...)
	lock := c.waitTFLock(f, "failover")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); run.kill() }()
	go func() { defer wg.Done(); c.nodes[leader].hardKill() }()
	wg.Wait()
	newLeader = c.leader()
	ws, _ := c.tfWorkspace(newLeader, "failover")
	if ws.Lock == nil || ws.Lock.ID != lock.ID {
		t.Fatalf("after the failover the workspace is %+v; want lock %s still held", ws, lock.ID)
	}
	out, code := w.run("plan", "-input=false", "-no-color", "-lock-timeout=0s", "-var", "content=interrupted")
	if code == 0 || !strings.Contains(out, "Error acquiring the state lock") {
		t.Fatalf("plan with the lock left behind: exit %d, want the lock error\n%s", code, out)
	}
	w.must("force-unlock", "-force", lock.ID)
	if ws, _ := c.tfWorkspace(newLeader, "failover"); ws.Lock != nil {
		t.Fatalf("force-unlock left the lock: %+v", ws.Lock)
	}
	w.must(applyArgs("after", 0)...)
	raw, err = c.client(newLeader).TFState(context.Background(), "failover", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeTFState(t, raw).content(); got != "after" {
		t.Fatalf("state after force-unlock and apply holds %q", got)
	}
}
