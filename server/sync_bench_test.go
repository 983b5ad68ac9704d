package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// The benchmarks below measure the Cloudflare sink end to end: a
// three-node cluster in this process, the emulator over HTTP, the real
// cloudflare-go client, default sync settings (500ms debounce) and the
// test harness's raft timings (300ms heartbeat and election timeouts).
// `make bench-sync` runs them; docs/benchmarks.md has the results.

// syncedCluster starts the cluster with the edge tunnel configured.
func syncedCluster(b *testing.B) (*cloudflare, *testCluster, *api.Client) {
	b.Helper()
	cf := newCloudflare(b, nil)
	c := newTestClusterWith(b, 3, withCloudflare(cf, nil))
	cl := c.client(c.leader(), writeToken)
	putTunnel(b, cl)
	if !waitUntil(20*time.Second, func() bool { _, ok := cf.tunnelConfig("edge"); return ok }) {
		b.Fatal("tunnel never configured")
	}
	return cf, c, cl
}

func reportPercentiles(b *testing.B, samples []time.Duration, unit string) {
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.5), "p50-"+unit)
	b.ReportMetric(at(0.99), "p99-"+unit)
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCloudflareConvergence: one change at a time, from the write
// call to the emulator accepting a configuration that holds it.
func BenchmarkCloudflareConvergence(b *testing.B) {
	cf, _, cl := syncedCluster(b)
	var samples []time.Duration
	b.ResetTimer()
	for i := range b.N {
		host := fmt.Sprintf("c%d.example.com", i)
		start := time.Now()
		if _, err := cl.PutFragment(context.Background(), tunnelFragment(fmt.Sprintf("c%d", i), 1, host)); err != nil {
			b.Fatal(err)
		}
		at, ok := cf.waitPut(host, 30*time.Second)
		if !ok {
			b.Fatalf("%s never reached the emulator", host)
		}
		samples = append(samples, at.Sub(start))
	}
	reportPercentiles(b, samples, "ms")
}

// BenchmarkCloudflareCallsPer1000Changes counts every downstream request
// (GETs included) per 1,000 fragment writes to one tunnel, written as fast
// as 32 clients can (a burst) and spread over 5 seconds (sustained).
// The naive way, one PUT per change, costs 1,000.
func BenchmarkCloudflareCallsPer1000Changes(b *testing.B) {
	for _, mode := range []struct {
		name   string
		spread time.Duration
	}{{"burst", 0}, {"sustained-5s", 5 * time.Second}} {
		b.Run(mode.name, func(b *testing.B) {
			cf, _, cl := syncedCluster(b)
			total := 0
			// How long the writes took: calls grow with the number of
			// debounce windows the writes span, so a slow machine, on
			// which a burst is no longer a burst, costs more calls.
			var writing time.Duration
			b.ResetTimer()
			for round := range b.N {
				before := cf.emu.Requests()
				prefix := fmt.Sprintf("r%d-", round)
				start := time.Now()
				if mode.spread == 0 {
					burst(b, []*api.Client{cl}, 1000, 32, prefix, 0)
				} else {
					for part := range 10 {
						burst(b, []*api.Client{cl}, 100, 8, fmt.Sprintf("%sp%d-", prefix, part), 0)
						time.Sleep(mode.spread / 10)
					}
				}
				writing += time.Since(start)
				waitConverged(b, cf, cl, 60*time.Second)
				// Let the engine record and re-check; those cost no calls.
				time.Sleep(time.Second)
				for route, n := range cf.emu.Requests() {
					total += n - before[route]
				}
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/1000changes")
			b.ReportMetric(writing.Seconds()/float64(b.N), "write-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkCloudflareFailover kills the leader and measures the time until
// the emulator accepts a configuration holding a change written (through a
// surviving node) right after the kill: election, the new leader's start-up
// pass, the debounce and the flush.
func BenchmarkCloudflareFailover(b *testing.B) {
	var samples []time.Duration
	for i := range b.N {
		b.StopTimer()
		cf, c, _ := syncedCluster(b)
		l := c.leader()
		survivor := (l + 1) % 3
		cl := c.client(survivor, writeToken)
		b.StartTimer()
		killed := time.Now()
		c.kill(l)
		host := fmt.Sprintf("f%d.example.com", i)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := cl.PutFragment(ctx, tunnelFragment("after-kill", 1, host))
			cancel()
			if err == nil {
				break
			}
			if time.Since(killed) > 30*time.Second {
				b.Fatalf("no write accepted 30s after the kill: %v", err)
			}
		}
		at, ok := cf.waitPut(host, 30*time.Second)
		if !ok {
			b.Fatal("the new leader never synced")
		}
		samples = append(samples, at.Sub(killed))
		b.StopTimer()
		c.stopAll()
	}
	reportPercentiles(b, samples, "ms")
}
