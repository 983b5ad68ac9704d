package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]int64 // name -> nth
		err      string
	}{
		{"one", "fsm/apply-mid-batch=crash", map[string]int64{FSMApplyMidBatch: 1}, ""},
		{"nth", "store/snapshot-mid-write=crash@3", map[string]int64{StoreSnapshotMidWrite: 3}, ""},
		{"two with spaces", " fsm/apply-mid-batch = crash ; store/restore-mid-write=crash@2,", map[string]int64{FSMApplyMidBatch: 1, StoreRestoreMidWrite: 2}, ""},
		{"unknown name", "fsm/apply=crash", nil, `unknown failpoint "fsm/apply"`},
		{"unknown action", "fsm/apply-mid-batch=panic", nil, `unknown action "panic"`},
		{"no action", "fsm/apply-mid-batch", nil, "is not NAME=ACTION[@N]"},
		{"zero hit", "fsm/apply-mid-batch=crash@0", nil, "is not a hit number"},
		{"bad hit", "fsm/apply-mid-batch=crash@x", nil, "is not a hit number"},
		{"twice", "fsm/apply-mid-batch=crash,fsm/apply-mid-batch=crash@2", nil, "given twice"},
		{"empty", " , ", nil, "no failpoint given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parse(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parse(%q) = %d points, want %d", tt.in, len(got), len(tt.want))
			}
			for name, nth := range tt.want {
				if p := got[name]; p == nil || p.nth != nth || p.action != ActionCrash {
					t.Errorf("parse(%q)[%s] = %+v, want crash@%d", tt.in, name, p, nth)
				}
			}
		})
	}
}

func TestInjectDisabledIsANoOp(t *testing.T) {
	if Armed() {
		t.Fatal("armed without CONFLUX_FAILPOINTS")
	}
	for range 3 {
		Inject(FSMApplyMidBatch)
	}
}

// TestCrash runs this test binary again with a failpoint armed: the child
// must die by SIGKILL on the second hit, not before.
func TestCrash(t *testing.T) {
	if os.Getenv("FAILPOINT_TEST_CHILD") == "1" {
		if err := Load(); err != nil {
			os.Exit(3)
		}
		Inject(StoreSnapshotMidWrite)
		os.Stdout.WriteString("after first hit\n")
		Inject(StoreSnapshotMidWrite)
		os.Stdout.WriteString("after second hit\n")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "FAILPOINT_TEST_CHILD=1", EnvVar+"="+StoreSnapshotMidWrite+"=crash@2")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: %v, want death by SIGKILL", err)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ws)
	}
	if got := string(out); got != "after first hit\n" {
		t.Errorf("child printed %q, want only the line after the first hit", got)
	}
	if !strings.Contains(string(exit.Stderr), "failpoint store/snapshot-mid-write: crash (hit 2)") {
		t.Errorf("child's stderr does not name the failpoint: %q", exit.Stderr)
	}
}
