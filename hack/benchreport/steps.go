package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// results is everything one run measured; each step's part is also its
// JSON file in the work directory.
type results struct {
	Started    time.Time
	Elapsed    string
	Quick      bool
	Steps      []stepMeta // when each step was measured, in the order run
	Machine    machine
	Agg        *aggResult
	Sync       *syncResult
	Kube       *kubeResult
	Throughput *throughputResult
	Profile    *profileResult
	Scale      *scaleResult
	Errors     []stepError
}

type stepError struct{ Step, Err string }

// stepMeta records when a step was measured and how busy the machine was:
// a reused step keeps the record of the run that measured it.
type stepMeta struct {
	Step      string    `json:"step"`
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
	LoadStart string    `json:"loadStart"` // 1-minute load average before
	LoadEnd   string    `json:"loadEnd"`   // and after
	Reused    bool      `json:"-"`
}

type runner struct{ o options }

// runStep fills *dst from the step's JSON in the work directory when the
// step is reused, and otherwise measures it with measure and stores the
// JSON for later reuse.
func runStep[T any](ctx context.Context, r *runner, res *results, step string, dst **T, measure func(context.Context) (*T, error)) error {
	path := filepath.Join(r.o.work, step+".json")
	metaPath := filepath.Join(r.o.work, step+".meta.json")
	if slices.Contains(r.o.reuse, step) {
		meta := stepMeta{Step: step, LoadStart: "?", LoadEnd: "?"}
		if raw, err := os.ReadFile(metaPath); err == nil {
			_ = json.Unmarshal(raw, &meta) // a missing record only costs the table its row's details
		}
		meta.Reused = true
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reuse: %w", err)
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("reuse %s: %w", path, err)
		}
		logf("%s: reusing %s", step, path)
		res.Steps = append(res.Steps, meta)
		*dst = &v
		return nil
	}
	logf("%s: measuring", step)
	meta := stepMeta{Step: step, Started: time.Now().UTC(), LoadStart: loadAvg()}
	v, err := measure(ctx)
	if err != nil {
		return err
	}
	meta.Seconds = time.Since(meta.Started).Seconds()
	meta.LoadEnd = loadAvg()
	res.Steps = append(res.Steps, meta)
	for file, v := range map[string]any{path: v, metaPath: meta} {
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(file, raw, 0o644); err != nil {
			return err
		}
	}
	*dst = v
	return nil
}

// command runs name with args in the repository root and returns its
// standard output. Standard error goes to the step's log file in the work
// directory (and to our stderr with -v), so that a failure can be read
// afterwards.
func (r *runner) command(ctx context.Context, logName string, env []string, name string, args ...string) ([]byte, error) {
	logPath := filepath.Join(r.o.work, logName+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "\n### %s %s %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(env, " "), strings.Join(append([]string{name}, args...), " "))
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.o.root
	cmd.Env = append(childEnv(), env...)
	var errw io.Writer = logFile
	outw := io.MultiWriter(&stdout, logFile)
	if r.o.verbose {
		errw = io.MultiWriter(logFile, os.Stderr)
		outw = io.MultiWriter(&stdout, logFile, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = outw, errw
	// SIGTERM first, so that the bench scripts' traps stop their clusters.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w (log: %s)", name, strings.Join(args, " "), err, logPath)
	}
	return stdout.Bytes(), nil
}

// goTest runs go test with args. A build that fails is tried once more a
// little later: other people's half-saved edits in the same tree break a
// build for a moment, and a run of an hour should not lose a step to that.
func (r *runner) goTest(ctx context.Context, logName string, env []string, args ...string) ([]byte, error) {
	out, err := r.command(ctx, logName, env, "go", args...)
	if err == nil || !bytes.Contains(out, []byte("[build failed]")) || ctx.Err() != nil {
		return out, err
	}
	logf("%s: the build failed; trying again in 30s", logName)
	select {
	case <-ctx.Done():
		return out, err
	case <-time.After(30 * time.Second):
	}
	return r.command(ctx, logName, env, "go", args...)
}

// childEnv is our environment without -mod=mod in GOFLAGS: that flag is for
// this module (`make bench` sets it), and must not let go test rewrite the
// main module's go.mod.
func childEnv() []string {
	env := os.Environ()
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			var keep []string
			for _, f := range strings.Fields(v) {
				if f != "-mod=mod" {
					keep = append(keep, f)
				}
			}
			env[i] = "GOFLAGS=" + strings.Join(keep, " ")
		}
	}
	return env
}

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	Name    string             `json:"name"` // without the -GOMAXPROCS suffix
	N       int64              `json:"n"`
	Metrics map[string]float64 `json:"metrics"` // unit → value, e.g. "ns/op"
}

var benchLineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// parseBench returns the result lines of go test -bench output, in order.
func parseBench(out []byte) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLineRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[2], 10, 64)
		f := strings.Fields(m[3])
		if len(f)%2 != 0 {
			continue
		}
		l := benchLine{Name: m[1], N: n, Metrics: map[string]float64{}}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				l.Metrics = nil
				break
			}
			l.Metrics[f[i+1]] = v
		}
		if l.Metrics != nil {
			lines = append(lines, l)
		}
	}
	return lines
}

// lookup returns the first line named name.
func lookup(lines []benchLine, name string) (benchLine, bool) {
	for _, l := range lines {
		if l.Name == name {
			return l, true
		}
	}
	return benchLine{}, false
}

// skipReason returns the reason of a skipped benchmark in go test output.
func skipReason(out []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "--- SKIP") && sc.Scan() {
			return strings.TrimSpace(sc.Text())
		}
	}
	return ""
}

// ---- agg

type aggPoint struct {
	Rules       int       `json:"rules"`
	Seconds     float64   `json:"seconds"` // best of the runs
	Bytes       float64   `json:"bytes"`
	Allocs      float64   `json:"allocs"`
	Runs        int       `json:"runs"`
	AllSeconds  []float64 `json:"allSeconds"`
	BenchmarkID string    `json:"benchmark"`
}

type aggResult struct {
	Command string     `json:"command"`
	Points  []aggPoint `json:"points"`
}

func (r *runner) aggregation(ctx context.Context) (*aggResult, error) {
	var alts []string
	for _, n := range r.o.aggRules {
		alts = append(alts, strconv.Itoa(n))
	}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkAggregate$/^rules=(" + strings.Join(alts, "|") + ")$",
		"-benchmem", "-count", strconv.Itoa(r.o.aggCount), "-timeout", "30m", "./sync/tunnel"}
	out, err := r.goTest(ctx, "agg", nil, args...)
	if err != nil {
		return nil, err
	}
	res := &aggResult{Command: "go " + shellJoin(args)}
	for _, n := range r.o.aggRules {
		name := fmt.Sprintf("BenchmarkAggregate/rules=%d", n)
		p := aggPoint{Rules: n, BenchmarkID: name}
		for _, l := range parseBench(out) {
			if l.Name != name {
				continue
			}
			s := l.Metrics["ns/op"] / 1e9
			p.AllSeconds = append(p.AllSeconds, s)
			if p.Runs == 0 || s < p.Seconds {
				p.Seconds, p.Bytes, p.Allocs = s, l.Metrics["B/op"], l.Metrics["allocs/op"]
			}
			p.Runs++
		}
		if p.Runs == 0 {
			return nil, fmt.Errorf("no result for %s in the output of %s", name, res.Command)
		}
		res.Points = append(res.Points, p)
	}
	return res, nil
}

// ---- sync

type syncResult struct {
	Command    string      `json:"command"`
	Iterations int         `json:"iterations"`
	Lines      []benchLine `json:"lines"`
}

func (r *runner) syncBench(ctx context.Context) (*syncResult, error) {
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkCloudflare", "-benchtime", fmt.Sprintf("%dx", r.o.syncTimes), "-timeout", "60m", "./server"}
	out, err := r.goTest(ctx, "sync", nil, args...)
	if err != nil {
		return nil, err
	}
	res := &syncResult{Command: "go " + shellJoin(args), Iterations: r.o.syncTimes, Lines: parseBench(out)}
	for _, name := range []string{"BenchmarkCloudflareConvergence", "BenchmarkCloudflareCallsPer1000Changes/burst", "BenchmarkCloudflareFailover"} {
		if _, ok := lookup(res.Lines, name); !ok {
			return nil, fmt.Errorf("no result for %s in the output of %s", name, res.Command)
		}
	}
	return res, nil
}

// ---- kube

type kubeResult struct {
	Command    string     `json:"command"`
	Iterations int        `json:"iterations"`
	Skipped    string     `json:"skipped,omitempty"`
	Line       *benchLine `json:"line,omitempty"`
}

func (r *runner) kubeBench(ctx context.Context) (*kubeResult, error) {
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkKubeIngressConvergence$", "-benchtime", fmt.Sprintf("%dx", r.o.kubeTimes), "-timeout", "30m", "./server"}
	out, err := r.goTest(ctx, "kube", nil, args...)
	if err != nil {
		return nil, err
	}
	res := &kubeResult{Command: "go " + shellJoin(args), Iterations: r.o.kubeTimes}
	if l, ok := lookup(parseBench(out), "BenchmarkKubeIngressConvergence"); ok {
		res.Line = &l
		return res, nil
	}
	if res.Skipped = skipReason(out); res.Skipped == "" {
		return nil, fmt.Errorf("no result in the output of %s", res.Command)
	}
	return res, nil
}

// ---- throughput

// loadResult is the JSON of `conflux-sync bench -o json` and of
// hack/etcdbench -o json (the same shape).
type loadResult struct {
	Writes          int64   `json:"writes"`
	Errors          int64   `json:"errors"`
	DurationSeconds float64 `json:"durationSeconds"`
	WritesPerSecond float64 `json:"writesPerSecond"`
	P50Ms           float64 `json:"p50Ms"`
	P99Ms           float64 `json:"p99Ms"`
	MaxMs           float64 `json:"maxMs"`
	FirstError      string  `json:"firstError,omitempty"`
}

// The systems compared, in the order each round runs them.
const (
	sysBolt = "conflux-sync (raft-boltdb, default)"
	sysWAL  = "conflux-sync (--raft-log-store wal)"
	sysEtcd = "etcd 3.6.16"
)

var systems = []string{sysBolt, sysWAL, sysEtcd}

type throughputRun struct {
	Round     int        `json:"round"`
	System    string     `json:"system"`
	Result    loadResult `json:"result"`
	PeakRSSKB []int64    `json:"peakRssKB,omitempty"` // per server, from bench-cluster.sh
	Err       string     `json:"error,omitempty"`
}

type throughputResult struct {
	Clients  int               `json:"clients"`
	Size     int               `json:"size"`
	Duration string            `json:"duration"`
	Commands map[string]string `json:"commands"` // system → command
	Runs     []throughputRun   `json:"runs"`
}

func (r *runner) throughput(ctx context.Context) (*throughputResult, error) {
	load := []string{"--clients", strconv.Itoa(r.o.clients), "--size", strconv.Itoa(r.o.size), "--duration", r.o.duration.String(), "-o", "json"}
	type sys struct {
		env  []string
		name string
		args []string
	}
	cmds := map[string]sys{
		sysBolt: {[]string{"RAFT_LOG_STORE=boltdb"}, "hack/bench-cluster.sh", append(slices.Clone(load), "--quiet")},
		sysWAL:  {[]string{"RAFT_LOG_STORE=wal"}, "hack/bench-cluster.sh", append(slices.Clone(load), "--quiet")},
		sysEtcd: {nil, "hack/bench-etcd.sh", load},
	}
	res := &throughputResult{Clients: r.o.clients, Size: r.o.size, Duration: r.o.duration.String(), Commands: map[string]string{}}
	for _, s := range systems {
		c := cmds[s]
		res.Commands[s] = strings.TrimSpace(strings.Join(c.env, " ") + " " + c.name + " " + shellJoin(c.args))
	}
	// Interleaved rounds: this machine's speed drifts over minutes, and a
	// comparison of runs far apart in time measures the drift.
	for round := 1; round <= r.o.rounds; round++ {
		for _, s := range systems {
			c := cmds[s]
			logf("throughput: round %d/%d, %s", round, r.o.rounds, s)
			run := throughputRun{Round: round, System: s}
			before := logSize(filepath.Join(r.o.work, "throughput.log"))
			out, err := r.command(ctx, "throughput", c.env, c.name, c.args...)
			if err == nil {
				err = json.Unmarshal(out, &run.Result)
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				run.Err = err.Error()
			}
			run.PeakRSSKB = peakRSS(filepath.Join(r.o.work, "throughput.log"), before)
			res.Runs = append(res.Runs, run)
		}
	}
	return res, nil
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var peakRSSRE = regexp.MustCompile(`server pid \d+ peak RSS\s+(\d+) kB`)

// peakRSS reads the peak resident memory that bench-cluster.sh prints for
// each server on exit, from the log written after offset.
func peakRSS(path string, offset int64) []int64 {
	raw, err := os.ReadFile(path)
	if err != nil || int64(len(raw)) < offset {
		return nil
	}
	var out []int64
	for _, m := range peakRSSRE.FindAllSubmatch(raw[offset:], -1) {
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		out = append(out, n)
	}
	return out
}

// ---- profile

type profileResult struct {
	Command string `json:"command"`
	Top     string `json:"top"`  // go tool pprof -top, flat
	Rate    string `json:"rate"` // the benchmark's own result line
	Note    string `json:"note,omitempty"`
}

// failureLine returns the first line of go test output that explains a
// failure, or "".
func failureLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "bench_test.go:") || strings.Contains(t, "--- FAIL") {
			return t
		}
	}
	return "it failed"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (r *runner) profile(ctx context.Context) (*profileResult, error) {
	prof := filepath.Join(r.o.work, "clusterwrites.cpu.pprof")
	bin := filepath.Join(r.o.work, "server.test")
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkClusterWrites$/^store=boltdb$", "-benchtime", "20000x",
		"-cpuprofile", prof, "-o", bin, "./server"}
	_ = os.Remove(prof)
	out, err := r.goTest(ctx, "profile", nil, args...)
	res := &profileResult{Command: "go " + shellJoin(args)}
	if err != nil {
		// On a loaded machine the harness's short raft timeouts can cost
		// the leader its term mid-run, and the benchmark fails on the
		// first write that must be retried; the profile of the writes
		// before that is still the answer to where the CPU goes.
		if _, statErr := os.Stat(prof); statErr != nil || ctx.Err() != nil {
			return nil, err
		}
		res.Note = "the benchmark stopped early (" + firstLine(failureLine(out)) + "); the profile covers the writes before that"
	}
	res.Command = strings.ReplaceAll(strings.ReplaceAll(res.Command, prof, "cpu.pprof"), bin, "server.test")
	res.Rate = "BenchmarkClusterWrites/store=boltdb"
	for _, l := range parseBench(out) {
		res.Rate = fmt.Sprintf("%s: %.0f writes/s", l.Name, l.Metrics["writes/s"])
	}
	// Cumulative, so that the callers show: a flat profile of a write
	// path bound by fsync is mostly one syscall function.
	top, err := r.command(ctx, "profile", nil, "go", "tool", "pprof", "-top", "-cum", "-nodecount", "40", bin, prof)
	if err != nil {
		return nil, err
	}
	res.Top = trimPprof(string(top))
	return res, nil
}

// trimPprof drops pprof's header lines about the file and build, and the
// goroutine entry points every profile has, which explain nothing.
func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") ||
			strings.HasSuffix(l, " runtime.goexit") || strings.HasSuffix(l, " runtime.main") || strings.Contains(l, " testing.") ||
			strings.HasSuffix(l, " main.main") || strings.Contains(l, " runtime.systemstack") || strings.Contains(l, " runtime.mcall") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// ---- scale

// scalePoint is one size of BenchmarkScale's JSON
// (CONFLUX_BENCH_SCALE_OUT), as cmd/conflux-sync/scale_bench_test.go writes it.
type scalePoint struct {
	Fragments           int     `json:"fragments"`
	SpecBytes           int64   `json:"spec_bytes"`
	LoadSeconds         float64 `json:"load_seconds"`
	SnapshotSaveSeconds float64 `json:"snapshot_save_seconds"`
	SnapshotBytes       int64   `json:"snapshot_bytes"`
	RestoreSeconds      float64 `json:"restore_seconds"`
	CatchupSeconds      float64 `json:"catchup_seconds"`
	RSSBytes            []int64 `json:"rss_bytes"`
	HWMBytes            []int64 `json:"hwm_bytes"`
	LeaderRSSAfterCatch int64   `json:"leader_rss_after_catchup_bytes"`
}

type scaleResult struct {
	Command string       `json:"command"`
	Sizes   []int        `json:"sizes"`
	Points  []scalePoint `json:"points"`
}

func (r *runner) scale(ctx context.Context) (*scaleResult, error) {
	sizes := make([]string, len(r.o.scaleSizes))
	for i, n := range r.o.scaleSizes {
		sizes[i] = strconv.Itoa(n)
	}
	res := &scaleResult{Sizes: r.o.scaleSizes}
	if !hasBenchmark(filepath.Join(r.o.root, "cmd", "conflux-sync"), "BenchmarkScale") {
		return nil, errors.New("BenchmarkScale does not exist yet in ./cmd/conflux-sync")
	}
	out := filepath.Join(r.o.work, "scale-raw.json")
	_ = os.Remove(out)
	env := []string{"CONFLUX_BENCH_SCALE_SIZES=" + strings.Join(sizes, ","), "CONFLUX_BENCH_SCALE_OUT=" + out}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkScale$", "-benchtime", "1x", "-timeout", r.o.scaleTO.String(), "./cmd/conflux-sync"}
	res.Command = strings.Join(env[:1], " ") + " CONFLUX_BENCH_SCALE_OUT=scale.json go " + shellJoin(args)
	if _, err := r.goTest(ctx, "scale", env, args...); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("BenchmarkScale wrote no results: %w", err)
	}
	if err := json.Unmarshal(raw, &res.Points); err != nil {
		return nil, fmt.Errorf("BenchmarkScale's results %s: %w", out, err)
	}
	slices.SortFunc(res.Points, func(a, b scalePoint) int { return a.Fragments - b.Fragments })
	return res, nil
}

// hasBenchmark reports whether a _test.go file in dir declares func name.
func hasBenchmark(dir, name string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err == nil && bytes.Contains(raw, []byte("func "+name+"(")) {
			return true
		}
	}
	return false
}

// shellJoin quotes the arguments that a shell would split or expand.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$|()*?[]^\\&;<>") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// UnmarshalJSON also accepts BenchmarkScale's own output (a JSON array of
// sizes), so that -reuse scale can take the file the benchmark wrote when it
// was run by hand.
func (s *scaleResult) UnmarshalJSON(raw []byte) error {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &s.Points); err != nil {
			return err
		}
		slices.SortFunc(s.Points, func(a, b scalePoint) int { return a.Fragments - b.Fragments })
		s.Sizes = pointSizes(s.Points)
		s.Command = "CONFLUX_BENCH_SCALE_SIZES=" + joinInts(s.Sizes) + " CONFLUX_BENCH_SCALE_OUT=scale.json go test -run '^$' -bench '^BenchmarkScale$' -benchtime 1x -timeout 60m ./cmd/conflux-sync"
		return nil
	}
	type plain scaleResult // without this method
	return json.Unmarshal(raw, (*plain)(s))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
