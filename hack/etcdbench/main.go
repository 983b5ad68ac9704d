// Command etcdbench drives an etcd cluster with the same load shape as
// `conflux-sync bench`: N concurrent clients, each writing values of a given
// size to keys spread over M prefixes, for a fixed duration.
//
// Every worker owns its own clientv3.Client, so every worker has its own gRPC
// connection(s) to the cluster, like N independent clients of our own API.
// A shared client would multiplex every worker's requests over one HTTP/2
// connection per endpoint, which measures that connection's flow control and
// framing as much as etcd. Each client is given the full endpoint list and
// uses clientv3's default round-robin balancer, so puts reach followers too
// (they forward to the leader, one more hop). With --leader, the endpoints
// are narrowed to the current leader first, as hack/bench-cluster.sh does for
// `conflux-sync bench`; hack/etcd/bench-etcd.sh passes --leader.
//
// Each worker loops Put(/bench/<target>/<client>-<seq>, <size bytes>) where
// target = (client+seq) mod targets. Only successful puts count as writes and
// contribute latencies; failures are counted as errors. Workers stop issuing
// new puts at the deadline and finish the one in flight; writes/s is computed
// over the measured wall time, from the first put to the last reply.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Result is the JSON output (-o json).
type Result struct {
	Writes          int64   `json:"writes"`
	Errors          int64   `json:"errors"`
	DurationSeconds float64 `json:"durationSeconds"`
	WritesPerSecond float64 `json:"writesPerSecond"`
	P50Ms           float64 `json:"p50Ms"`
	P99Ms           float64 `json:"p99Ms"`
	MaxMs           float64 `json:"maxMs"`
}

type config struct {
	endpoints []string
	clients   int
	size      int
	targets   int
	duration  time.Duration
	timeout   time.Duration
	output    string
	leader    bool
}

func main() {
	var cfg config
	var endpoints string
	flag.StringVar(&endpoints, "endpoints", "127.0.0.1:2379", "comma-separated etcd client endpoints")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients (one etcd client connection each)")
	flag.IntVar(&cfg.size, "size", 1024, "value size in bytes")
	flag.IntVar(&cfg.targets, "targets", 100, "number of key prefixes (/bench/<target>/...)")
	flag.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to write")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-put timeout")
	flag.StringVar(&cfg.output, "o", "table", "output format: table or json")
	flag.BoolVar(&cfg.leader, "leader", false, "send all puts to the current leader only")
	flag.Parse()

	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.endpoints = append(cfg.endpoints, e)
		}
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "etcdbench:", err)
		os.Exit(2)
	}
	if cfg.leader {
		ep, err := findLeader(cfg.endpoints)
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcdbench:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "etcdbench: leader is", ep)
		cfg.endpoints = []string{ep}
	}
	res, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdbench:", err)
		os.Exit(1)
	}
	if err := printResult(cfg, res); err != nil {
		fmt.Fprintln(os.Stderr, "etcdbench:", err)
		os.Exit(1)
	}
}

func (c config) validate() error {
	switch {
	case len(c.endpoints) == 0:
		return errors.New("--endpoints is empty")
	case c.clients < 1:
		return errors.New("--clients must be at least 1")
	case c.size < 0:
		return errors.New("--size must not be negative")
	case c.targets < 1:
		return errors.New("--targets must be at least 1")
	case c.duration <= 0:
		return errors.New("--duration must be positive")
	case c.output != "table" && c.output != "json":
		return fmt.Errorf("-o must be table or json, not %q", c.output)
	}
	return nil
}

// findLeader returns the endpoint whose member is the raft leader.
func findLeader(endpoints []string) (string, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return "", err
	}
	defer cli.Close()
	for _, ep := range endpoints {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err != nil {
			return "", fmt.Errorf("status of %s: %w", ep, err)
		}
		if st.Leader != 0 && st.Header.MemberId == st.Leader {
			return ep, nil
		}
	}
	return "", errors.New("no endpoint is the leader")
}

type worker struct {
	id        int
	cli       *clientv3.Client
	latencies []time.Duration
	firstErr  error
}

func run(cfg config) (Result, error) {
	workers := make([]*worker, cfg.clients)
	defer func() {
		for _, w := range workers {
			if w != nil && w.cli != nil {
				_ = w.cli.Close()
			}
		}
	}()
	for i := range workers {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   cfg.endpoints,
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			return Result{}, fmt.Errorf("client %d: %w", i, err)
		}
		workers[i] = &worker{id: i, cli: cli}
	}
	// Connect every client before the clock starts, so dialing is not
	// measured as write latency.
	for _, w := range workers {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := w.cli.Get(ctx, "/bench/", clientv3.WithCountOnly())
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("client %d: warm-up read: %w", w.id, err)
		}
	}

	var writes, errs atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(cfg, &stop, &writes, &errs)
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.NewTimer(cfg.duration)
	defer deadline.Stop()
	// SIGINT/SIGTERM end the run early; the result covers what was done.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	var last int64
	for running := true; running; {
		select {
		case <-tick.C:
			n := writes.Load()
			fmt.Fprintf(os.Stderr, "etcdbench: %4.0fs writes=%d (+%d/s) errors=%d\n",
				time.Since(start).Seconds(), n, n-last, errs.Load())
			last = n
		case <-deadline.C:
			stop.Store(true)
		case s := <-sig:
			fmt.Fprintf(os.Stderr, "etcdbench: %v: stopping early\n", s)
			stop.Store(true)
			signal.Stop(sig)
		case <-done:
			running = false
		}
	}
	elapsed := time.Since(start)

	var all []time.Duration
	var firstErr error
	for _, w := range workers {
		all = append(all, w.latencies...)
		if firstErr == nil {
			firstErr = w.firstErr
		}
	}
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "etcdbench: first error:", firstErr)
	}
	slices.Sort(all)
	res := Result{
		Writes:          writes.Load(),
		Errors:          errs.Load(),
		DurationSeconds: elapsed.Seconds(),
		WritesPerSecond: float64(writes.Load()) / elapsed.Seconds(),
		P50Ms:           ms(percentile(all, 0.50)),
		P99Ms:           ms(percentile(all, 0.99)),
	}
	if len(all) > 0 {
		res.MaxMs = ms(all[len(all)-1])
	}
	return res, nil
}

func (w *worker) loop(cfg config, stop *atomic.Bool, writes, errs *atomic.Int64) {
	value := make([]byte, cfg.size)
	rng := rand.New(rand.NewPCG(uint64(w.id), 0x65746364))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range value {
		value[i] = letters[rng.IntN(len(letters))]
	}
	val := string(value)
	w.latencies = make([]time.Duration, 0, 1<<14)
	for seq := 0; !stop.Load(); seq++ {
		key := fmt.Sprintf("/bench/%d/%d-%d", (w.id+seq)%cfg.targets, w.id, seq)
		ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
		t0 := time.Now()
		_, err := w.cli.Put(ctx, key, val)
		d := time.Since(t0)
		cancel()
		if err != nil {
			errs.Add(1)
			if w.firstErr == nil {
				w.firstErr = fmt.Errorf("client %d put %s: %w", w.id, key, err)
			}
			continue
		}
		w.latencies = append(w.latencies, d)
		writes.Add(1)
	}
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printResult(cfg config, r Result) error {
	if cfg.output == "json" {
		enc := json.NewEncoder(os.Stdout)
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "endpoints\t%s\n", strings.Join(cfg.endpoints, ","))
	fmt.Fprintf(tw, "leader only\t%t\n", cfg.leader)
	fmt.Fprintf(tw, "clients\t%d\n", cfg.clients)
	fmt.Fprintf(tw, "value size\t%d B\n", cfg.size)
	fmt.Fprintf(tw, "targets\t%d\n", cfg.targets)
	fmt.Fprintf(tw, "duration\t%.2f s\n", r.DurationSeconds)
	fmt.Fprintf(tw, "writes\t%d\n", r.Writes)
	fmt.Fprintf(tw, "errors\t%d\n", r.Errors)
	fmt.Fprintf(tw, "writes/s\t%.1f\n", r.WritesPerSecond)
	fmt.Fprintf(tw, "p50\t%.2f ms\n", r.P50Ms)
	fmt.Fprintf(tw, "p99\t%.2f ms\n", r.P99Ms)
	fmt.Fprintf(tw, "max\t%.2f ms\n", r.MaxMs)
	return tw.Flush()
}
