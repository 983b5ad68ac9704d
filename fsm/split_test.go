package fsm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

func TestSplitBatch(t *testing.T) {
	defer func(old int) { maxTxBytes = old }(maxTxBytes)
	maxTxBytes = 10
	logs := func(sizes ...int) []*raft.Log {
		var out []*raft.Log
		for i, n := range sizes {
			out = append(out, &raft.Log{Index: uint64(i + 1), Data: make([]byte, n)})
		}
		return out
	}
	runSizes := func(runs [][]*raft.Log) string {
		var s []string
		for _, r := range runs {
			var idx []string
			for _, l := range r {
				idx = append(idx, fmt.Sprint(l.Index))
			}
			s = append(s, strings.Join(idx, ","))
		}
		return strings.Join(s, " | ")
	}
	for _, tc := range []struct {
		sizes []int
		want  string
	}{
		{nil, ""},
		{[]int{3, 3, 4}, ""},           // exactly the limit: one transaction
		{[]int{30}, ""},                // one entry over the limit is its own run
		{[]int{3, 3, 5}, "1,2 | 3"},    // the third would pass the limit
		{[]int{30, 1, 1}, "1 | 2,3"},   // a large entry first
		{[]int{1, 30, 1}, "1 | 2 | 3"}, // a large entry in the middle
		{[]int{6, 6, 6, 6}, "1 | 2 | 3 | 4"},
	} {
		if got := runSizes(splitBatch(logs(tc.sizes...))); got != tc.want {
			t.Errorf("splitBatch(%v) = %q, want %q", tc.sizes, got, tc.want)
		}
	}
}

// TestApplyBatchSplitsLargeBatches: a batch over maxTxBytes is applied in
// several transactions with the same outcome as one, and every response
// stays at its entry's position.
func TestApplyBatchSplitsLargeBatches(t *testing.T) {
	spec := `{"pad":"` + strings.Repeat("x", 1000) + `"}`
	var logs []*raft.Log
	for i := range 20 {
		logs = append(logs, cmdLog(t, uint64(i+1), 1, putCmd(fmt.Sprintf("t%d", i%3), fmt.Sprintf("s%d", i), 1, spec)))
	}

	whole := newHarness(t, store.Options{NoSync: true})
	whole.apply(logs...)

	defer func(old int) { maxTxBytes = old }(maxTxBytes)
	maxTxBytes = 3 * len(logs[len(logs)-1].Data) // three entries a transaction (the last is the longest)
	split := newHarness(t, store.Options{NoSync: true})
	resps := split.apply(logs...)

	for i, r := range resps {
		if r.Err != nil || r.Result.Index != uint64(i+1) || r.Result.Changed != 1 {
			t.Errorf("response %d = %+v, want index %d, changed 1", i, r, i+1)
		}
	}
	if got, want := len(split.sizes), 7; got != want {
		t.Errorf("%d transactions (sizes %v), want %d", got, split.sizes, want)
	}
	if idx, _ := split.applied(); idx != 20 {
		t.Errorf("applied index %d, want 20", idx)
	}
	if got := split.fsm.AppliedIndex(); got != 20 {
		t.Errorf("FSM applied index %d, want 20", got)
	}
	if split.dump() != whole.dump() {
		t.Errorf("state applied in several transactions differs from one:\n%s\nvs\n%s", split.dump(), whole.dump())
	}
	if last := split.calls[len(split.calls)-1]; last.index != 20 {
		t.Errorf("last OnApply at %d, want 20", last.index)
	}
}

// BenchmarkApplyReplay applies what a follower replaying its log gets: a
// batch of 100 ReplaceSourceFragments entries of 1,000 fragments each
// (about 38 MB) to an empty store. One op is the whole batch.
//
//	go test -run='^$' -bench=ApplyReplay -benchtime=3x ./fsm
func BenchmarkApplyReplay(b *testing.B) {
	const entries, per = 100, 1000
	var logs []*raft.Log
	for s := range entries {
		c := &ReplaceSourceFragments{Source: api.SourceRef{Kind: "Ingress", Namespace: fmt.Sprintf("team-%04d", s), Name: "web"}}
		for j := range per {
			host := fmt.Sprintf("app-%07d.team-%04d.example.com", s*per+j, s)
			c.Fragments = append(c.Fragments, api.SourceFragment{
				Target:     api.TargetRef{Kind: api.KindTunnelConfiguration, Name: fmt.Sprintf("ClusterTunnel/edge-%05d", (s*per+j)%1000)},
				Generation: 1,
				Spec:       fmt.Appendf(nil, `{"rules":[{"hostname":%q,"service":"http://web-%d.team-%04d.svc.cluster.local:8080"}]}`, host, j%16, s),
			})
		}
		logs = append(logs, cmdLog(b, uint64(s+1), 1, c))
	}
	for _, tc := range []struct {
		name  string
		limit int
	}{
		{"one-transaction", 1 << 40},
		{"split", maxTxBytes},
	} {
		b.Run(tc.name, func(b *testing.B) {
			defer func(old int) { maxTxBytes = old }(maxTxBytes)
			maxTxBytes = tc.limit
			for range b.N {
				b.StopTimer()
				h := newHarness(b, store.Options{NoSync: true})
				b.StartTimer()
				h.fsm.ApplyBatch(logs)
			}
		})
	}
}
