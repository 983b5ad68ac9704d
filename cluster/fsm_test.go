package cluster

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"
)

// testFSM is a small persistent BatchingFSM for tests: it records the
// applied commands and persists them with the applied index to a JSON file
// after every batch, skipping entries at or below the persisted index (what
// NoSnapshotRestoreOnStart requires).
type testFSM struct {
	mu      sync.Mutex
	path    string
	applied uint64
	cmds    []string
	keys    map[string]string // node key bindings (IdentityStore)
}

type testFSMState struct {
	Applied uint64            `json:"applied"`
	Cmds    []string          `json:"cmds"`
	Keys    map[string]string `json:"keys,omitempty"`
}

// Binding commands of testFSM's IdentityStore; they are not recorded in
// cmds.
const (
	testBindPrefix   = "\x00bind "
	testUnbindPrefix = "\x00unbind "
)

var _ IdentityStore = (*testFSM)(nil)

func (f *testFSM) NodeKey(id string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp, ok := f.keys[id]
	return fp, ok, nil
}

func (f *testFSM) BindCommand(id, fp string) ([]byte, error) {
	return []byte(testBindPrefix + id + " " + fp), nil
}

func (f *testFSM) UnbindCommand(id string) ([]byte, error) {
	return []byte(testUnbindPrefix + id), nil
}

// applyBinding applies a binding command; false for other commands.
func (f *testFSM) applyBinding(data string) bool {
	if rest, ok := strings.CutPrefix(data, testBindPrefix); ok {
		id, fp, _ := strings.Cut(rest, " ")
		if f.keys == nil {
			f.keys = map[string]string{}
		}
		if _, bound := f.keys[id]; !bound {
			f.keys[id] = fp
		}
		return true
	}
	if id, ok := strings.CutPrefix(data, testUnbindPrefix); ok {
		delete(f.keys, id)
		return true
	}
	return false
}

var _ raft.BatchingFSM = (*testFSM)(nil)

func newTestFSM(t testing.TB, dir string) *testFSM {
	t.Helper()
	f := &testFSM{path: filepath.Join(dir, "fsm.json")}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return f
	}
	if err != nil {
		t.Fatalf("read fsm: %v", err)
	}
	var st testFSMState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("parse fsm: %v", err)
	}
	f.applied, f.cmds, f.keys = st.Applied, st.Cmds, st.Keys
	return f
}

func (f *testFSM) persistLocked() {
	b, _ := json.Marshal(testFSMState{Applied: f.applied, Cmds: f.cmds, Keys: f.keys})
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		panic(err) // a real FSM stops the node rather than diverge
	}
	if err := os.Rename(tmp, f.path); err != nil {
		panic(err)
	}
}

// AppliedIndex lets the node wait for this FSM, not for raft's dispatch.
func (f *testFSM) AppliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *testFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *testFSM) ApplyBatch(logs []*raft.Log) []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	resps := make([]any, len(logs))
	dirty := false
	for i, l := range logs {
		if l.Index <= f.applied {
			continue
		}
		f.applied, dirty = l.Index, true
		if l.Type == raft.LogCommand && f.applyBinding(string(l.Data)) {
			continue
		}
		if l.Type == raft.LogCommand {
			f.cmds = append(f.cmds, string(l.Data))
			resps[i] = len(f.cmds)
		}
	}
	if dirty {
		f.persistLocked()
	}
	return resps
}

func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &testSnapshot{st: testFSMState{Applied: f.applied, Cmds: slices.Clone(f.cmds), Keys: maps.Clone(f.keys)}}, nil
}

func (f *testFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st testFSMState
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied, f.cmds, f.keys = st.Applied, st.Cmds, st.Keys
	f.persistLocked()
	return nil
}

func (f *testFSM) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds)
}

func (f *testFSM) has(cmds ...string) bool {
	have := map[string]bool{}
	for _, c := range f.commands() {
		have[c] = true
	}
	for _, c := range cmds {
		if !have[c] {
			return false
		}
	}
	return true
}

type testSnapshot struct{ st testFSMState }

func (s *testSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.st); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *testSnapshot) Release() {}
