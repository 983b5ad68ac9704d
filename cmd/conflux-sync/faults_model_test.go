package main

// The fault suite's history and its checks: a per-fragment register model
// for porcupine, and the order check of the configurations Cloudflare
// received. Pure logic, unit-tested below with histories that must fail.

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// opKind is what a client asked.
type opKind int

const (
	opPut opKind = iota
	opDelete
	opRead
)

// regInput is one operation on one fragment (a register): put a value,
// delete it (value 0: absent), or read it.
type regInput struct {
	Key   string
	Kind  opKind
	Value int    // put: the unique value written
	Mode  string // read: default or consistent
	Node  string // the node the client called
}

// regOutput is what came back: the value a read saw (0: absent).
type regOutput struct {
	Value int
}

// history records operations as clients invoke and complete them.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	// indexOf maps an acknowledged put's value to the raft index it was
	// applied at.
	indexOf map[int]uint64
}

func newHistory() *history { return &history{start: time.Now(), indexOf: map[int]uint64{}} }

func (h *history) now() int64 { return int64(time.Since(h.start)) }

// add records a completed operation. ret < 0 means the outcome is unknown
// (a timeout, a broken connection, a 5xx that may follow a commit): the
// operation may take effect at any time after its call, so it stays open
// until the end of the history.
func (h *history) add(client int, in regInput, call int64, out regOutput, ret int64) {
	if ret < 0 {
		ret = openReturn
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

func (h *history) acked(value int, index uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.indexOf[value] = index
}

// operations returns the history to check. Values are unique, which lets
// two kinds of put whose outcome is unknown be narrowed without hiding
// anything:
//   - one whose value no read returned is indistinguishable from one that
//     took effect after the last read (an open operation always may), so
//     it is left out;
//   - one whose value a read returned took effect before that read ended,
//     so it returns, at the latest, when the first such read returned.
//
// Open operations are what makes checking expensive; this keeps the search
// small.
func (h *history) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	seenBy := map[int]int64{} // value → earliest return of a read of it
	for _, op := range h.ops {
		if op.Input.(regInput).Kind != opRead {
			continue
		}
		v := op.Output.(regOutput).Value
		if r, ok := seenBy[v]; !ok || op.Return < r {
			seenBy[v] = op.Return
		}
	}
	var out []porcupine.Operation
	for _, op := range h.ops {
		in := op.Input.(regInput)
		if in.Kind == opPut && op.Return >= openReturn {
			r, seen := seenBy[in.Value]
			if !seen {
				continue
			}
			op.Return = max(r, op.Call)
		}
		out = append(out, op)
	}
	return out
}

// openReturn is the return time of an operation whose outcome is unknown.
const openReturn = math.MaxInt64 / 2

// registerModel: each fragment is an independent register, so the history
// is checked key by key (porcupine's partitions), which keeps the search
// small and makes a failing key its own minimal history.
var registerModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(regInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range byKey {
				if !yield(k) {
					return
				}
			}
		})
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(regInput), output.(regOutput)
		switch in.Kind {
		case opPut:
			return true, in.Value
		case opDelete:
			return true, 0
		default:
			return out.Value == state.(int), state
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		switch in.Kind {
		case opPut:
			return fmt.Sprintf("put(%s, %d) via %s", in.Key, in.Value, in.Node)
		case opDelete:
			return fmt.Sprintf("delete(%s) via %s", in.Key, in.Node)
		default:
			return fmt.Sprintf("read[%s](%s) via %s -> %d", in.Mode, in.Key, in.Node, out.Value)
		}
	},
	DescribeState: func(state any) string { return fmt.Sprint(state) },
}

// describeOps prints a key's history in call order, for a failure report.
func describeOps(ops []porcupine.Operation) string {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	var b strings.Builder
	for _, op := range ops {
		ret := "open (outcome unknown)"
		if op.Return < openReturn {
			ret = time.Duration(op.Return).String()
		}
		fmt.Fprintf(&b, "  client %2d  %12s .. %-24s %s\n", op.ClientId, time.Duration(op.Call), ret,
			registerModel.DescribeOperation(op.Input, op.Output))
	}
	return b.String()
}

// linVerdict is the outcome of checking a history key by key.
type linVerdict struct {
	// illegal and unknown hold the history of each key that is not
	// linearizable, and of each key whose check did not finish in time.
	illegal, unknown map[string][]porcupine.Operation
	// keys is how many keys were checked; slowest is the longest check.
	keys    int
	slowest time.Duration
}

// checkLinearizable checks ops one key (the model's partition) at a time,
// each within perKey. Every key is a register of its own, so a key's
// history is small whatever the length of the run, and a check that does
// not finish is a failure too: counting it as a pass would make the suite
// unable to fail once the history grows.
func checkLinearizable(ops []porcupine.Operation, perKey time.Duration) linVerdict {
	v := linVerdict{illegal: map[string][]porcupine.Operation{}, unknown: map[string][]porcupine.Operation{}}
	for _, part := range registerModel.Partition(ops) {
		key := part[0].Input.(regInput).Key
		start := time.Now()
		res := porcupine.CheckOperationsTimeout(registerModel, part, perKey)
		v.keys++
		v.slowest = max(v.slowest, time.Since(start))
		switch res {
		case porcupine.Illegal:
			v.illegal[key] = part
		case porcupine.Unknown:
			v.unknown[key] = part
		}
	}
	return v
}

// err is nil only when every key's history was proven linearizable.
func (v linVerdict) err() error {
	var msgs []string
	for _, key := range slices.Sorted(maps.Keys(v.illegal)) {
		msgs = append(msgs, fmt.Sprintf("history of %s is not linearizable; its operations:\n%s", key, describeOps(v.illegal[key])))
	}
	for _, key := range slices.Sorted(maps.Keys(v.unknown)) {
		msgs = append(msgs, fmt.Sprintf("the linearizability check of %s (%d operations) did not finish in time, so the history is not proven linearizable; its operations:\n%s",
			key, len(v.unknown[key]), describeOps(v.unknown[key])))
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// cfWrite is one tunnel configuration Cloudflare accepted, in order: each
// key's value in it (0 when the key had no rule).
type cfWrite struct {
	at     time.Duration
	values map[string]int
}

// regressions finds configurations written after one that held a newer
// write of some key: the raft index of each key's value never goes back
// from one accepted configuration to the next. Values without a known
// index (their write's outcome was unknown) are not compared.
func regressions(writes []cfWrite, indexOf map[int]uint64) []string {
	var out []string
	newest := map[string]uint64{}
	seenAt := map[string]time.Duration{}
	for _, w := range writes {
		for key, v := range w.values {
			idx, ok := indexOf[v]
			if !ok || v == 0 {
				continue
			}
			if idx < newest[key] {
				out = append(out, fmt.Sprintf("%s: configuration accepted at %s holds value %d (index %d), older than index %d accepted at %s",
					key, w.at, v, idx, newest[key], seenAt[key]))
				continue
			}
			newest[key], seenAt[key] = idx, w.at
		}
	}
	return out
}

func TestRegisterModel(t *testing.T) {
	put := func(v int, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: regInput{Key: "k", Kind: opPut, Value: v}, Call: call, Output: regOutput{}, Return: ret}
	}
	del := func(call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: regInput{Key: "k", Kind: opDelete}, Call: call, Output: regOutput{}, Return: ret}
	}
	read := func(v int, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: regInput{Key: "k", Kind: opRead}, Call: call, Output: regOutput{Value: v}, Return: ret}
	}
	const open = openReturn
	cases := []struct {
		name  string
		ops   []porcupine.Operation
		legal bool
	}{
		{"sequential", []porcupine.Operation{put(1, 0, 10), read(1, 20, 30), del(40, 50), read(0, 60, 70)}, true},
		{"stale read after an acknowledged write", []porcupine.Operation{put(1, 0, 10), put(2, 20, 30), read(1, 40, 50)}, false},
		{"read concurrent with a write sees either", []porcupine.Operation{put(1, 0, 10), put(2, 20, 60), read(1, 30, 40), read(2, 45, 50)}, true},
		{"value going back", []porcupine.Operation{put(1, 0, 10), put(2, 20, 60), read(2, 30, 40), read(1, 45, 50)}, false},
		{"lost acknowledged write", []porcupine.Operation{put(1, 0, 10), read(0, 20, 30)}, false},
		{"unknown outcome may apply late", []porcupine.Operation{put(1, 0, 10), put(2, 20, open), read(1, 30, 40), read(2, 100, 110)}, true},
		{"a value nobody wrote (a definitely failed write)", []porcupine.Operation{put(1, 0, 10), read(3, 20, 30)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(registerModel, tc.ops); got != tc.legal {
				t.Fatalf("linearizable = %v, want %v\n%s", got, tc.legal, describeOps(tc.ops))
			}
		})
	}
}

func TestRegressions(t *testing.T) {
	indexOf := map[int]uint64{1: 10, 2: 20, 3: 30}
	cases := []struct {
		name   string
		writes []cfWrite
		want   int
	}{
		{"forward", []cfWrite{{values: map[string]int{"a": 1}}, {values: map[string]int{"a": 2, "b": 3}}}, 0},
		{"unknown values are skipped", []cfWrite{{values: map[string]int{"a": 2}}, {values: map[string]int{"a": 99}}}, 0},
		{"older after newer", []cfWrite{{values: map[string]int{"a": 2}}, {values: map[string]int{"a": 1}}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := regressions(tc.writes, indexOf); len(got) != tc.want {
				t.Fatalf("regressions %q, want %d", got, tc.want)
			}
		})
	}
}

func TestHistoryNarrowsUnknownPuts(t *testing.T) {
	h := newHistory()
	h.add(0, regInput{Key: "k", Kind: opPut, Value: 1}, 0, regOutput{}, 10)
	h.add(1, regInput{Key: "k", Kind: opPut, Value: 2}, 20, regOutput{}, -1) // unknown, read below
	h.add(2, regInput{Key: "k", Kind: opPut, Value: 3}, 25, regOutput{}, -1) // unknown, never read
	h.add(0, regInput{Key: "k", Kind: opRead}, 30, regOutput{Value: 2}, 40)
	ops := h.operations()
	if len(ops) != 3 {
		t.Fatalf("want the unread unknown put left out, got\n%s", describeOps(ops))
	}
	if ops[1].Return != 40 {
		t.Fatalf("the read unknown put returns at %d, want 40 (the read that saw it)", ops[1].Return)
	}
	// A read of the older value after that is stale.
	h.add(0, regInput{Key: "k", Kind: opRead}, 50, regOutput{Value: 1}, 60)
	if porcupine.CheckOperations(registerModel, h.operations()) {
		t.Fatal("a read of 1 after a read of 2 passed")
	}
}

// A history over many keys whose one key is not linearizable is reported
// Illegal, for that key alone, and every key's check finishes (the
// partitions keep each search small).
func TestLinearizabilityPartitionedIllegal(t *testing.T) {
	op := func(key string, client int, kind opKind, v int, call, ret int64) porcupine.Operation {
		in := regInput{Key: key, Kind: kind}
		out := regOutput{}
		if kind == opRead {
			out.Value = v
		} else {
			in.Value = v
		}
		return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
	}
	var ops []porcupine.Operation
	value := 0
	// Twelve keys, four clients each, overlapping puts and reads: legal.
	for k := range 12 {
		key := fmt.Sprintf("key-%d", k)
		for round := range 20 {
			base := int64(round * 100)
			for c := range 4 {
				value++
				ops = append(ops, op(key, c, opPut, value, base+int64(c), base+50+int64(c)))
			}
			// A read overlapping all four puts may see any of them.
			ops = append(ops, op(key, 4, opRead, value-2, base+10, base+60))
		}
	}
	// key-7: a read after an acknowledged put that returns the value
	// before it (a stale read).
	ops = append(ops,
		op("key-7", 5, opPut, 1_000_001, 5000, 5010),
		op("key-7", 5, opPut, 1_000_002, 5020, 5030),
		op("key-7", 6, opRead, 1_000_001, 5040, 5050))

	if got := porcupine.CheckOperationsTimeout(registerModel, ops, time.Minute); got != porcupine.Illegal {
		t.Fatalf("whole history: %v, want Illegal", got)
	}
	v := checkLinearizable(ops, time.Minute)
	if v.keys != 12 || len(v.unknown) != 0 || len(v.illegal) != 1 || v.illegal["key-7"] == nil {
		t.Fatalf("checked %d keys: illegal %v, unknown %v; want key-7 alone illegal", v.keys, slices.Sorted(maps.Keys(v.illegal)), slices.Sorted(maps.Keys(v.unknown)))
	}
	if err := v.err(); err == nil || !strings.Contains(err.Error(), "key-7 is not linearizable") {
		t.Fatalf("err = %v, want key-7 named", err)
	}
	t.Logf("%d operations over %d keys; slowest key %s", len(ops), v.keys, v.slowest)

	// Without the stale read every key is proven linearizable.
	if err := checkLinearizable(ops[:len(ops)-1], time.Minute).err(); err != nil {
		t.Fatalf("legal history reported: %v", err)
	}
}

// A check that runs out of time is a failure, never a pass: 24 concurrent
// puts followed by a read of a value nobody wrote take porcupine 2^24
// states to refute, far beyond 100ms.
func TestLinearizabilityTimeoutFails(t *testing.T) {
	var ops []porcupine.Operation
	for i := range 24 {
		ops = append(ops, porcupine.Operation{ClientId: i, Input: regInput{Key: "k", Kind: opPut, Value: i + 1}, Call: 0, Output: regOutput{}, Return: 100})
	}
	ops = append(ops, porcupine.Operation{ClientId: 24, Input: regInput{Key: "k", Kind: opRead}, Call: 200, Output: regOutput{Value: 999}, Return: 300})
	v := checkLinearizable(ops, 100*time.Millisecond)
	if len(v.unknown) != 1 {
		t.Fatalf("unknown keys %v (illegal %v), want k: the check must not finish in 100ms", slices.Sorted(maps.Keys(v.unknown)), slices.Sorted(maps.Keys(v.illegal)))
	}
	if err := v.err(); err == nil || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("err = %v, want a failure for the unfinished check", err)
	}
}
