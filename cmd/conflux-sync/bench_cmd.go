package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
)

// benchResult has the same shape as hack/etcdbench's, so the two compare
// line by line.
type benchResult struct {
	Writes int64 `json:"writes"`
	Errors int64 `json:"errors"`
	// Throttled counts writes the server answered 429 (the token's rate
	// limit, --api-token-rate): each was retried after a second's pause,
	// so they cost time, not writes.
	Throttled       int64   `json:"throttled,omitempty"`
	DurationSeconds float64 `json:"durationSeconds"`
	WritesPerSecond float64 `json:"writesPerSecond"`
	P50Ms           float64 `json:"p50Ms"`
	P99Ms           float64 `json:"p99Ms"`
	MaxMs           float64 `json:"maxMs"`
	FirstError      string  `json:"firstError,omitempty"`
}

type benchOptions struct {
	clients  int
	size     int
	targets  int
	duration time.Duration
	quiet    bool
}

func newBenchCmd(g *globalOptions) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a running cluster with concurrent fragment writes and report throughput and latency",
		Long: `Each client writes tunnel-configuration fragments of about --size bytes as its own
source, spreading them over --targets targets, for --duration. Writes go through
--addr (a follower forwards them to the leader). Progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.clients < 1 || o.size < 200 || o.targets < 1 || o.duration <= 0 {
				return usageError{fmt.Errorf("need --clients ≥ 1, --size ≥ 200, --targets ≥ 1 and a positive --duration")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := runBench(cmd.Context(), c, o, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Writes:\t%d\nErrors:\t%d\nDuration:\t%.1f s\nWrites/s:\t%.0f\nLatency p50:\t%.2f ms\nLatency p99:\t%.2f ms\nLatency max:\t%.2f ms\n",
					res.Writes, res.Errors, res.DurationSeconds, res.WritesPerSecond, res.P50Ms, res.P99Ms, res.MaxMs)
				if res.Throttled > 0 {
					fmt.Fprintf(tw, "Throttled (429):\t%d (raise the servers' --api-token-rate to measure past it)\n", res.Throttled)
				}
				if res.FirstError != "" {
					fmt.Fprintf(tw, "First error:\t%s\n", res.FirstError)
				}
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.clients, "clients", 32, "concurrent writers")
	f.IntVar(&o.size, "size", 1024, "approximate fragment size in bytes")
	f.IntVar(&o.targets, "targets", 100, "targets to spread the writes over")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "how long to write")
	f.BoolVar(&o.quiet, "quiet", false, "no progress line")
	return cmd
}

// benchFragment builds a valid tunnel fragment of roughly size bytes.
func benchFragment(client, seq, targets, size int) api.Fragment {
	host := fmt.Sprintf("c%d-%d.bench.example.com", client, seq%16)
	spec := map[string]any{"rules": []map[string]any{{
		"hostname": host,
		"service":  "http://bench.default.svc:80",
		"originRequest": map[string]any{
			"httpHostHeader": host,
			"caPool":         "/etc/ssl/" + strings.Repeat("x", max(0, size-260)),
		},
	}}}
	raw, _ := json.Marshal(spec)
	return api.Fragment{
		Target:     api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: fmt.Sprintf("ClusterTunnel/bench-%d", seq%targets)},
		Source:     api.SourceRef{Kind: "API", Namespace: "bench", Name: fmt.Sprintf("client-%d", client)},
		Generation: int64(seq + 1),
		Spec:       raw,
	}
}

func runBench(ctx context.Context, c *api.Client, o benchOptions, progress io.Writer) (benchResult, error) {
	// Keep-alive connections per client, or the benchmark measures TCP
	// handshakes.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.clients
	c2 := c.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second})
	if _, err := c2.Status(ctx); err != nil {
		return benchResult{}, fmt.Errorf("cluster not reachable: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()

	var (
		writes, errs, throttled atomic.Int64
		mu                      sync.Mutex
		latencies               []time.Duration
		firstErr                string
		wg                      sync.WaitGroup
	)
	start := time.Now()
	for cl := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for seq := 0; ctx.Err() == nil; seq++ {
				f := benchFragment(cl, seq, o.targets, o.size)
				t0 := time.Now()
				_, err := c2.PutFragment(ctx, f)
				if ctx.Err() != nil {
					break // the deadline cut this write short: not a result
				}
				var apiErr *api.Error
				if errors.As(err, &apiErr) && apiErr.Code == api.CodeTooManyRequests {
					throttled.Add(1)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second): // the server's Retry-After
					}
					continue
				}
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t0))
				writes.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if o.quiet {
			return
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintln(progress)
				return
			case <-tick.C:
				w := writes.Load()
				fmt.Fprintf(progress, "\r%5.0fs  %8d writes  %7d/s  %d errors   ", time.Since(start).Seconds(), w, w-last, errs.Load())
				last = w
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-done

	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	res := benchResult{
		Writes: writes.Load(), Errors: errs.Load(), Throttled: throttled.Load(), DurationSeconds: elapsed.Seconds(),
		WritesPerSecond: float64(writes.Load()) / elapsed.Seconds(),
		P50Ms:           ms(pct(0.50)), P99Ms: ms(pct(0.99)), FirstError: firstErr,
	}
	if len(latencies) > 0 {
		res.MaxMs = ms(latencies[len(latencies)-1])
	}
	return res, nil
}
