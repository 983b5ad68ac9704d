package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

var tfTime = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

func tfState(serial int) []byte {
	return fmt.Appendf(nil, `{"version":4,"terraform_version":"1.11.4","serial":%d,"lineage":"lin-1","outputs":{},"resources":[]}`+"\n", serial)
}

func tfPut(ws, lockID string, serial, keep int) *TFPutState {
	return &TFPutState{Workspace: ws, LockID: lockID, Serial: int64(serial), Lineage: "lin-1", MD5: fmt.Sprint("md5-", serial), Keep: keep, Time: tfTime, Body: tfState(serial)}
}

func tfLock(ws, id string) *TFLock {
	return &TFLock{Workspace: ws, ID: id, Info: json.RawMessage(fmt.Sprintf(`{"ID":%q,"Operation":"OperationTypeApply","Who":"alice@ci"}`, id)), Time: tfTime}
}

// tfWorkspace reads a workspace and its versions.
func (h *harness) tfWorkspace(name string) (api.TFWorkspace, []api.TFStateVersion) {
	h.t.Helper()
	var (
		ws api.TFWorkspace
		vs []api.TFStateVersion
	)
	if err := h.store.View(func(v *store.View) (err error) {
		if ws, _, err = v.TFWorkspace(name); err != nil {
			return err
		}
		vs, err = v.TFStateVersions(name)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return ws, vs
}

// The lock rule, step by step: who may write, lock and unlock a workspace
// in each state, and what a refused command answers. Every step runs on
// the state the steps before it left.
func TestTFStateLockRules(t *testing.T) {
	h := newHarness(t, store.Options{})
	type want struct {
		changed bool
		refused bool
		holder  string // the holder a refusal names; "" none
		version uint64 // current version after the step
	}
	steps := []struct {
		name string
		cmd  Command
		want want
	}{
		{"first write without a lock", tfPut("prod", "", 1, 10), want{changed: true, version: 1}},
		{"a write naming a lock nobody holds is refused", tfPut("prod", "gone", 2, 10), want{refused: true, version: 1}},
		{"lock", tfLock("prod", "run-a"), want{changed: true, version: 1}},
		{"the holder locking again succeeds (a retried LOCK)", tfLock("prod", "run-a"), want{version: 1}},
		{"another run cannot lock", tfLock("prod", "run-b"), want{refused: true, holder: "run-a", version: 1}},
		{"a write without the lock id is refused", tfPut("prod", "", 2, 10), want{refused: true, holder: "run-a", version: 1}},
		{"a write with a stale lock id is refused", tfPut("prod", "run-b", 2, 10), want{refused: true, holder: "run-a", version: 1}},
		{"the holder writes", tfPut("prod", "run-a", 2, 10), want{changed: true, version: 2}},
		{"delete without the lock is refused", &TFDeleteState{Workspace: "prod", Time: tfTime}, want{refused: true, holder: "run-a", version: 2}},
		{"restore without the lock is refused", &TFRestoreState{Workspace: "prod", Version: 1, Keep: 10, Time: tfTime}, want{refused: true, holder: "run-a", version: 2}},
		{"unlock with a wrong id is refused", &TFUnlock{Workspace: "prod", ID: "run-b"}, want{refused: true, holder: "run-a", version: 2}},
		{"the holder unlocks", &TFUnlock{Workspace: "prod", ID: "run-a"}, want{changed: true, version: 2}},
		{"unlocking again changes nothing (a retried UNLOCK)", &TFUnlock{Workspace: "prod", ID: "run-a"}, want{version: 2}},
		{"run-b locks", tfLock("prod", "run-b"), want{changed: true, version: 2}},
		{"run-a's late write is refused", tfPut("prod", "run-a", 3, 10), want{refused: true, holder: "run-b", version: 2}},
		{"restore with force while locked", &TFRestoreState{Workspace: "prod", Version: 1, Force: true, Keep: 10, Time: tfTime}, want{changed: true, version: 3}},
		{"force-unlock always clears", &TFUnlock{Workspace: "prod", Force: true}, want{changed: true, version: 3}},
		{"delete clears the current state", &TFDeleteState{Workspace: "prod", Time: tfTime}, want{changed: true, version: 0}},
		{"a deleted state is restorable", &TFRestoreState{Workspace: "prod", Version: 2, Keep: 10, Time: tfTime}, want{changed: true, version: 4}},
		{"restore of a version never written", &TFRestoreState{Workspace: "prod", Version: 99, Keep: 10, Time: tfTime}, want{version: 4}},
	}
	for i, st := range steps {
		r := h.apply(cmdLog(t, uint64(i+1), 1, st.cmd))[0]
		if r.Err != nil {
			t.Fatalf("step %d %q: %v", i, st.name, r.Err)
		}
		holder := ""
		if r.TF.Holder != nil {
			holder = r.TF.Holder.ID
		}
		got := want{changed: r.TF.Changed, refused: r.TF.Refused, holder: holder}
		ws, _ := h.tfWorkspace("prod")
		got.version = ws.Version
		if got != st.want {
			t.Errorf("step %d %q: got %+v, want %+v", i, st.name, got, st.want)
		}
		if (r.Result.Changed == 1) != st.want.changed {
			t.Errorf("step %d %q: WriteResult.Changed = %d", i, st.name, r.Result.Changed)
		}
		if st.want.holder != "" && !strings.Contains(string(r.TF.Holder.Info), `"Who":"alice@ci"`) {
			t.Errorf("step %d %q: the holder's lock info is not Terraform's: %s", i, st.name, r.TF.Holder.Info)
		}
	}
	if r := h.apply(cmdLog(t, 100, 1, &TFRestoreState{Workspace: "prod", Version: 99, Keep: 10, Time: tfTime}))[0]; !r.TF.Missing {
		t.Errorf("restore of a version not kept: %+v, want Missing", r.TF)
	}
	ws, vs := h.tfWorkspace("prod")
	if ws.Lock != nil || ws.Version != 4 || ws.LastVersion != 4 || len(vs) != 4 {
		t.Fatalf("end state: %+v with %d versions", ws, len(vs))
	}
	if vs[2].RestoredFrom != 1 || vs[3].RestoredFrom != 2 || !vs[3].Current || vs[3].Serial != 2 {
		t.Errorf("versions: %+v", vs)
	}
}

// Only the newest Keep versions stay, whatever the order of writes and
// restores; the number a version gets is never reused.
func TestTFStatePrunesVersions(t *testing.T) {
	h := newHarness(t, store.Options{})
	idx := uint64(0)
	next := func(c Command) Response {
		idx++
		return h.apply(cmdLog(t, idx, 1, c))[0]
	}
	for serial := 1; serial <= 5; serial++ {
		next(tfPut("ci", "", serial, 3))
	}
	_, vs := h.tfWorkspace("ci")
	if got := versionsOf(vs); got != "3 4 5" {
		t.Fatalf("after 5 writes keeping 3: versions %s, want 3 4 5", got)
	}
	if r := next(&TFRestoreState{Workspace: "ci", Version: 2, Keep: 3, Time: tfTime}); !r.TF.Missing {
		t.Errorf("restore of pruned version 2: %+v, want Missing", r.TF)
	}
	if r := next(&TFRestoreState{Workspace: "ci", Version: 3, Keep: 3, Time: tfTime}); r.TF.Version != 6 {
		t.Errorf("restore of version 3 made version %d, want 6", r.TF.Version)
	}
	_, vs = h.tfWorkspace("ci")
	if got := versionsOf(vs); got != "4 5 6" {
		t.Errorf("after the restore: versions %s, want 4 5 6", got)
	}
	var body []byte
	h.store.View(func(v *store.View) error {
		body, _, _, _ = v.TFStateBody("ci", 0)
		return nil
	})
	if string(body) != string(tfState(3)) {
		t.Errorf("current state after restoring version 3:\n%s\nwant\n%s", body, tfState(3))
	}
	// A smaller Keep (the leader's flag was lowered) prunes at the next
	// write.
	next(tfPut("ci", "", 7, 1))
	_, vs = h.tfWorkspace("ci")
	if got := versionsOf(vs); got != "7" {
		t.Errorf("keeping 1: versions %s, want 7", got)
	}
	// Another workspace is untouched by all of it.
	next(tfPut("other", "", 1, 3))
	_, vs = h.tfWorkspace("other")
	if got := versionsOf(vs); got != "1" {
		t.Errorf("workspace other: versions %s, want 1", got)
	}
}

func versionsOf(vs []api.TFStateVersion) string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprint(v.Version))
	}
	return strings.Join(out, " ")
}

// Apply is deterministic: two nodes applying the same entries, one at a
// time or in batches, end with byte-identical state — the state bytes
// Terraform sent included.
func TestTFStateApplyIsDeterministic(t *testing.T) {
	cmds := []Command{
		tfLock("a", "l1"), tfPut("a", "l1", 1, 2), tfPut("a", "l1", 2, 2), tfLock("b", "l2"),
		tfPut("a", "l1", 3, 2), &TFUnlock{Workspace: "a", ID: "l1"}, tfPut("b", "nope", 1, 2),
		&TFRestoreState{Workspace: "a", Version: 2, Keep: 2, Time: tfTime}, &TFUnlock{Workspace: "b", Force: true},
		&TFDeleteState{Workspace: "a", Time: tfTime},
	}
	var logs []*raft.Log
	for i, c := range cmds {
		logs = append(logs, cmdLog(t, uint64(i+1), 1, c))
	}
	one, batch := newHarness(t, store.Options{}), newHarness(t, store.Options{})
	for _, l := range logs {
		one.apply(l)
	}
	batch.apply(logs...)
	if a, b := one.dump(), batch.dump(); a != b {
		t.Fatalf("states differ:\n%s\nvs\n%s", a, b)
	}
	if d := one.dump(); !strings.Contains(d, "tfstate") {
		t.Fatalf("dump has no tfstate rows:\n%s", d)
	}
	_, vs := one.tfWorkspace("a")
	if got := versionsOf(vs); got != "3 4" {
		t.Errorf("workspace a: versions %s, want 3 4", got)
	}
	if ws, _ := one.tfWorkspace("b"); ws.Lock != nil || ws.LastVersion != 0 {
		t.Errorf("workspace b: %+v, want gone (force-unlocked, never written)", ws)
	}
}

// The state rides in the snapshot image: a restored FSM serves it, its
// versions and its lock.
func TestTFStateInSnapshot(t *testing.T) {
	h := newHarness(t, store.Options{})
	h.apply(cmdLog(t, 1, 1, tfPut("prod", "", 1, 10)), cmdLog(t, 2, 1, tfLock("prod", "held")))
	sink := persist(t, h.fsm)
	other := newHarness(t, store.Options{})
	if err := other.fsm.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	ws, vs := other.tfWorkspace("prod")
	if ws.Version != 1 || ws.Lock == nil || ws.Lock.ID != "held" || len(vs) != 1 {
		t.Fatalf("restored: %+v, %d versions", ws, len(vs))
	}
}
