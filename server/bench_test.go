package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/server"
)

// BenchmarkClusterWrites drives a three-node in-process cluster through the
// leader's HTTP API with 32 concurrent writers of 1 KiB fragments, with each
// raft log store; use it with -cpuprofile to see where a write's CPU goes
// (hack/benchreport does, for the default store, when it is behind etcd).
func BenchmarkClusterWrites(b *testing.B) {
	for _, store := range []string{"boltdb", "wal"} {
		b.Run("store="+store, func(b *testing.B) { benchmarkClusterWrites(b, store) })
	}
}

func benchmarkClusterWrites(b *testing.B, store string) {
	c := newTestClusterWith(b, 3, func(cfg *server.Config) {
		cfg.LogStore = store
		cfg.API.Requests.TokenRate = -1 // one caller at full speed
	})
	leader := c.nodes[c.leader()]
	cl, err := api.NewClient(leader.URL(), api.WithToken(writeToken))
	if err != nil {
		b.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	cl = cl.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second})
	pad := make([]byte, 900)
	for i := range pad {
		pad[i] = 'x'
	}
	var seq atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/32 + 1
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				n := seq.Add(1)
				f := api.Fragment{
					Target:     api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: fmt.Sprintf("ClusterTunnel/b-%d", n%100)},
					Source:     api.SourceRef{Kind: "API", Namespace: "bench", Name: fmt.Sprintf("w%d", w)},
					Generation: int64(i + 1),
					Spec:       []byte(fmt.Sprintf(`{"rules":[{"hostname":"w%d.example.com","service":"http://s:80","originRequest":{"caPool":"/%s"}}]}`, w, pad)),
				}
				if _, err := cl.PutFragment(context.Background(), f); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(32*per)/b.Elapsed().Seconds(), "writes/s")
}
