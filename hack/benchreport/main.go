// Command benchreport runs every scale and performance measurement of
// conflux-sync in one run on one machine and writes the results: a generated
// section of docs/benchmarks.md (between the markers below) and SVG plots in
// docs/bench/. It is its own module so that the plotting library stays out of
// conflux-sync's go.mod; `make bench` runs it from the repository root:
//
//	cd hack/benchreport && GOFLAGS=-mod=mod go run . -root ../..
//
// Each step keeps its raw result as JSON in the work directory (-work); a
// later run can reuse it (-reuse step,...) instead of measuring again, e.g.
// to re-render the report after the long scale step, or to try new plots.
//
// Steps, in the order they run:
//
//	agg         aggregation time against rules per tunnel (BenchmarkAggregate)
//	sync        fragment-write convergence, calls per 1,000 changes, failover (BenchmarkCloudflare*)
//	kube        Ingress-change convergence against a real kube-apiserver (BenchmarkKubeIngressConvergence)
//	throughput  write throughput and latency: conflux-sync and etcd, interleaved rounds
//	profile     CPU profile of the cluster's write path, when it is behind etcd
//	scale       snapshot save/restore, catch-up and memory at each size (BenchmarkScale)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The generated section of docs/benchmarks.md lies between these markers;
// everything outside them is kept as written.
const (
	beginMarker = "<!-- benchreport:begin -->"
	endMarker   = "<!-- benchreport:end -->"
)

var allSteps = []string{"agg", "sync", "kube", "throughput", "profile", "scale"}

type options struct {
	root    string // repository root
	work    string // raw results of each step
	out     string // the Markdown file to write
	svgDir  string // where the plots go
	steps   []string
	reuse   []string
	quick   bool
	verbose bool

	rounds     int
	duration   time.Duration
	clients    int
	size       int
	syncTimes  int
	kubeTimes  int
	aggRules   []int
	aggCount   int
	scaleSizes []int
	scaleTO    time.Duration
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", "", "repository root (default: found from the working directory)")
	fs.StringVar(&o.work, "work", "", "directory for each step's raw results (default <root>/.cache/benchreport, or a temporary directory with -quick)")
	fs.StringVar(&o.out, "out", "", "Markdown file to write (default <root>/docs/benchmarks.md; with -quick a temporary copy)")
	fs.StringVar(&o.svgDir, "svg-dir", "", "directory for the SVG plots (default bench/ next to -out)")
	steps := fs.String("steps", strings.Join(allSteps, ","), "steps to run or reuse: "+strings.Join(allSteps, ","))
	reuse := fs.String("reuse", "", "steps whose JSON in -work is reused instead of measured again (comma-separated, or all)")
	fs.BoolVar(&o.quick, "quick", false, "a smoke run of a few minutes: small sizes, short runs, no profile, output to a temporary directory")
	fs.BoolVar(&o.verbose, "v", false, "copy every command's output to stderr")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of the throughput comparison")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "length of each throughput run")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients of each throughput run")
	fs.IntVar(&o.size, "size", 1024, "fragment / value size in bytes of each throughput run")
	fs.IntVar(&o.syncTimes, "sync-iterations", 20, "iterations (-benchtime Nx) of the Cloudflare sink benchmarks")
	fs.IntVar(&o.kubeTimes, "kube-iterations", 20, "iterations (-benchtime Nx) of the Ingress convergence benchmark")
	aggRules := fs.String("agg-rules", "100,1000,10000,100000", "rules per tunnel of the aggregation benchmark (sub-benchmarks of BenchmarkAggregate)")
	fs.IntVar(&o.aggCount, "agg-count", 3, "runs of each aggregation size (-count); the best is reported")
	scaleSizes := fs.String("scale-sizes", "10000,100000,1000000", "fragment counts of BenchmarkScale")
	fs.DurationVar(&o.scaleTO, "scale-timeout", 60*time.Minute, "go test -timeout of BenchmarkScale")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// -quick changes the defaults only: a flag given explicitly wins.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("rounds", func() { o.rounds = 1 })
		def("duration", func() { o.duration = 5 * time.Second })
		def("sync-iterations", func() { o.syncTimes = 1 })
		def("kube-iterations", func() { o.kubeTimes = 3 })
		def("agg-rules", func() { *aggRules = "100,1000,10000" })
		def("agg-count", func() { o.aggCount = 1 })
		def("scale-sizes", func() { *scaleSizes = "1000,3000" })
		// The profile alone takes a minute; a smoke run asks for it by
		// naming it in -steps.
		def("steps", func() { *steps = "agg,sync,kube,throughput,scale" })
	}
	var err error
	if o.aggRules, err = parseInts(*aggRules); err != nil {
		return o, fmt.Errorf("-agg-rules: %w", err)
	}
	if o.scaleSizes, err = parseInts(*scaleSizes); err != nil {
		return o, fmt.Errorf("-scale-sizes: %w", err)
	}
	o.steps = splitList(*steps)
	o.reuse = splitList(*reuse)
	if slices.Contains(o.reuse, "all") {
		o.reuse = slices.Clone(allSteps)
	}
	for _, s := range append(slices.Clone(o.steps), o.reuse...) {
		if !slices.Contains(allSteps, s) {
			return o, fmt.Errorf("unknown step %q (steps: %s)", s, strings.Join(allSteps, ","))
		}
	}
	if o.rounds < 1 || o.duration <= 0 || o.clients < 1 || o.syncTimes < 1 || o.kubeTimes < 1 || o.aggCount < 1 {
		return o, errors.New("-rounds, -duration, -clients, -sync-iterations, -kube-iterations and -agg-count must be positive")
	}
	return o, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// resolvePaths fills in the defaults that depend on the repository root.
func (o *options) resolvePaths() error {
	if o.root == "" {
		root, err := findRoot()
		if err != nil {
			return err
		}
		o.root = root
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return err
	}
	o.root = root
	var tmp string
	if o.quick && (o.work == "" || o.out == "") {
		if tmp, err = os.MkdirTemp("", "benchreport-quick-"); err != nil {
			return err
		}
	}
	if o.work == "" {
		o.work = filepath.Join(root, ".cache", "benchreport")
		if o.quick {
			o.work = filepath.Join(tmp, "work")
		}
	}
	if o.out == "" {
		o.out = filepath.Join(root, "docs", "benchmarks.md")
		if o.quick {
			o.out = filepath.Join(tmp, "benchmarks.md")
		}
	}
	if o.svgDir == "" {
		o.svgDir = filepath.Join(filepath.Dir(o.out), "bench")
	}
	for _, p := range []*string{&o.work, &o.out, &o.svgDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	return nil
}

// findRoot walks up from the working directory to the conflux-sync module:
// the directory whose go.mod is not a hack/ tool's.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "bench-cluster.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (hack/bench-cluster.sh); pass -root")
		}
		dir = parent
	}
}

func run(ctx context.Context, o options) error {
	if err := o.resolvePaths(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	logf("root %s, raw results in %s", o.root, o.work)
	started := time.Now()
	r := &runner{o: o}
	res := &results{Started: started.UTC(), Quick: o.quick}
	res.Machine = machineInfo(ctx, o.root)

	for _, step := range allSteps {
		if !slices.Contains(o.steps, step) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t0 := time.Now()
		var err error
		switch step {
		case "agg":
			err = runStep(ctx, r, res, step, &res.Agg, r.aggregation)
		case "sync":
			err = runStep(ctx, r, res, step, &res.Sync, r.syncBench)
		case "kube":
			err = runStep(ctx, r, res, step, &res.Kube, r.kubeBench)
		case "throughput":
			err = runStep(ctx, r, res, step, &res.Throughput, r.throughput)
		case "profile":
			// The profile explains a throughput behind etcd; without one
			// (or when ahead) it is not needed.
			if res.Throughput == nil || throughputMet(res.Throughput) {
				logf("profile: not needed (throughput ahead of etcd or not measured)")
				continue
			}
			err = runStep(ctx, r, res, step, &res.Profile, r.profile)
		case "scale":
			err = runStep(ctx, r, res, step, &res.Scale, r.scale)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf("%s: %v", step, err)
			res.Errors = append(res.Errors, stepError{Step: step, Err: err.Error()})
			continue
		}
		logf("%s: done in %s", step, time.Since(t0).Round(time.Second))
	}
	res.Elapsed = time.Since(started).Round(time.Second).String()

	if err := os.MkdirAll(o.svgDir, 0o755); err != nil {
		return err
	}
	plots, err := writePlots(res, o.svgDir)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	section := renderSection(res, o, plots)
	if err := writeSection(o.out, filepath.Join(o.root, "docs", "benchmarks.md"), section); err != nil {
		return err
	}
	logf("wrote %s and %d plots in %s (%s)", o.out, len(plots), o.svgDir, res.Elapsed)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: %s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}
