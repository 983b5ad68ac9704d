package fsm

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

// BenchmarkApplyBatch applies batches of PutFragment commands, each with a
// 1 KiB spec, spread over 100 targets and 10 sources (so up to 1,000
// fragments, each put a real change), to a store on disk. One op is one
// batch, i.e. one bbolt transaction.
func BenchmarkApplyBatch(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts store.Options
	}{
		{"fsync", store.Options{}},
		{"nosync", store.Options{NoSync: true}},
	} {
		for _, size := range []int{1, 64, 512} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode.name, size), func(b *testing.B) {
				benchApplyBatch(b, mode.opts, size)
			})
		}
	}
}

func benchApplyBatch(b *testing.B, opts store.Options, size int) {
	s, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	f, err := New(Config{Store: s})
	if err != nil {
		b.Fatal(err)
	}

	pad := strings.Repeat("x", 1024-len(`{"gen":"00000000","pad":""}`))
	var index uint64
	// next builds the next batch; every entry changes its fragment (the
	// generation goes up), so no entry is a no-op.
	next := func() []*raft.Log {
		logs := make([]*raft.Log, size)
		for i := range logs {
			index++
			spec := fmt.Sprintf(`{"gen":"%08d","pad":%q}`, index, pad)
			data, err := Encode(&PutFragment{Fragment: api.Fragment{
				Target:     api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: fmt.Sprintf("ClusterTunnel/t%03d", index%100)},
				Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: fmt.Sprintf("web-%d", (index/100)%10)},
				Generation: int64(index),
				Spec:       []byte(spec),
			}})
			if err != nil {
				b.Fatal(err)
			}
			logs[i] = &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
		}
		return logs
	}
	if len(next()[0].Data) < 1024 {
		b.Fatal("spec is smaller than 1 KiB")
	}
	// Warm up: every fragment exists.
	for index < 1000 {
		f.ApplyBatch(next())
	}

	b.ReportAllocs()
	var applying time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		logs := next()
		b.StartTimer()
		start := time.Now()
		resps := f.ApplyBatch(logs)
		applying += time.Since(start)
		if r := resps[len(resps)-1].(Response); r.Result.Changed != 1 {
			b.Fatalf("entry not applied: %+v", r)
		}
	}
	b.StopTimer()
	entries := float64(b.N * size)
	b.ReportMetric(entries/applying.Seconds(), "entries/s")
	b.ReportMetric(float64(applying.Nanoseconds())/entries, "ns/entry")
}
