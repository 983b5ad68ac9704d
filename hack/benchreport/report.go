package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Targets. The issue sets "ahead of etcd" and "near linear"; the others are
// the ones docs/benchmarks.md has held the sink to since it was built.
const (
	debounceMs       = 500.0 // the engine's default, which the benchmarks keep
	convergenceMaxMs = debounceMs + 100
	burstCallsMax    = 3.0
	// nearLinearMax is the largest growth exponent (the slope on log-log
	// axes, 1 = linear) that still counts as near linear.
	nearLinearMax = 1.2
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// exponent is the growth exponent of y over x between two points: the
// slope on log-log axes.
func exponent(x0, y0, x1, y1 float64) float64 {
	if x0 <= 0 || x1 <= 0 || y0 <= 0 || y1 <= 0 || x0 == x1 {
		return math.NaN()
	}
	return math.Log(y1/y0) / math.Log(x1/x0)
}

// throughputSummary is the median of each system's rounds.
type throughputSummary struct {
	WritesPerSecond, P50Ms, P99Ms float64
	Rounds, Failed                int
}

func summarize(t *throughputResult) map[string]throughputSummary {
	out := map[string]throughputSummary{}
	for _, s := range systems {
		var w, p50, p99 []float64
		failed := 0
		for _, r := range t.Runs {
			if r.System != s {
				continue
			}
			if r.Err != "" || r.Result.Writes == 0 {
				failed++
				continue
			}
			w = append(w, r.Result.WritesPerSecond)
			p50 = append(p50, r.Result.P50Ms)
			p99 = append(p99, r.Result.P99Ms)
		}
		out[s] = throughputSummary{median(w), median(p50), median(p99), len(w), failed}
	}
	return out
}

// throughputMet reports whether the default conflux-sync is ahead of etcd
// in writes/s and not behind in p50 and p99 latency.
func throughputMet(t *throughputResult) bool {
	s := summarize(t)
	c, e := s[sysBolt], s[sysEtcd]
	if c.Rounds == 0 || e.Rounds == 0 {
		return false
	}
	return c.WritesPerSecond > e.WritesPerSecond && c.P50Ms <= e.P50Ms && c.P99Ms <= e.P99Ms
}

type report struct {
	bytes.Buffer
	summary [][4]string // measurement, result, target, verdict
}

func (r *report) f(format string, args ...any) { fmt.Fprintf(&r.Buffer, format, args...) }

func (r *report) line(measurement, result, target, verdict string) {
	r.summary = append(r.summary, [4]string{measurement, result, target, verdict})
}

func (r *report) command(cmds ...string) {
	r.f("\n```sh\n%s\n```\n\n", strings.Join(cmds, "\n"))
}

// renderSection writes the generated section, markers included. plots maps
// a plot's name to its file; links are relative to the Markdown file.
func renderSection(res *results, o options, plots map[string]string) string {
	var body report
	link := func(name, alt string) {
		p, ok := plots[name]
		if !ok {
			return
		}
		rel, err := filepath.Rel(filepath.Dir(o.out), p)
		if err != nil {
			rel = p
		}
		body.f("![%s](%s)\n\n", alt, filepath.ToSlash(rel))
	}

	body.f("### Write throughput and latency: conflux-sync against etcd\n\n")
	if t := res.Throughput; t != nil {
		renderThroughput(&body, t)
		link("throughput", "writes/s and latency, conflux-sync and etcd")
		if p := res.Profile; p != nil {
			body.f("The default log store is behind etcd. Where its writes spend their time, from a CPU profile of `%s` (cumulative: a function's time includes its callees; \"Total samples\" is CPU time over wall time, and what falls short of %d00%% is time the cores were idle, the cluster waiting on fsync):\n", p.Rate, res.Machine.Cores)
			body.command(p.Command, "go tool pprof -top -cum -nodecount 40 server.test cpu.pprof")
			body.f("```\n%s\n```\n\n", p.Top)
			if p.Note != "" {
				body.f("Note: %s.\n\n", p.Note)
			}
		}
	} else {
		body.f("Not measured in this run.\n\n")
	}

	body.f("### Convergence: from a change to the emulator holding it\n\n")
	renderConvergence(&body, res)

	body.f("### Downstream calls per 1,000 changes\n\n")
	renderCalls(&body, res.Sync)

	body.f("### Failover: from killing the leader to the next successful downstream write\n\n")
	renderFailover(&body, res.Sync)

	body.f("### Scale: snapshot, restore, catch-up and memory against the number of fragments\n\n")
	if s := res.Scale; s != nil && len(s.Points) > 0 {
		renderScale(&body, s, o)
		link("scale", "cost against fragments, log-log, with a linear reference")
	} else {
		body.f("Not measured in this run")
		for _, e := range res.Errors {
			if e.Step == "scale" {
				body.f(": %s", e.Err)
			}
		}
		body.f(".\n\n")
		body.line("scale: snapshot save/restore, catch-up, memory", "not measured", fmt.Sprintf("near linear (growth exponent ≤ %.1f)", nearLinearMax), "not measured")
	}

	body.f("### Aggregation time against rules per tunnel\n\n")
	if a := res.Agg; a != nil && len(a.Points) > 0 {
		renderAgg(&body, a)
		link("aggregation", "aggregation time against rules per tunnel, log-log, with a linear reference")
	} else {
		body.f("Not measured in this run.\n\n")
	}

	if len(res.Errors) > 0 {
		body.f("### Steps that failed in this run\n\n")
		for _, e := range res.Errors {
			body.f("- `%s`: %s\n", e.Step, strings.ReplaceAll(e.Err, "\n", " "))
		}
		body.f("\n")
	}

	var out report
	out.f("%s\n", beginMarker)
	out.f("<!-- Generated by hack/benchreport (make bench); edits between these markers are overwritten. -->\n\n")
	out.f("## Scale and performance report (generated)\n\n")
	m := res.Machine
	mode := "full run"
	if res.Quick {
		mode = "quick smoke run (-quick): small sizes, short runs; not for comparison"
	}
	// The span of the measurements, which reused steps place before this
	// invocation.
	var from, to time.Time
	for _, s := range res.Steps {
		if s.Started.IsZero() {
			continue
		}
		if from.IsZero() || s.Started.Before(from) {
			from = s.Started
		}
		if end := s.Started.Add(time.Duration(s.Seconds * float64(time.Second))); end.After(to) {
			to = end
		}
	}
	if from.IsZero() {
		from, to = res.Started, res.Started
	}
	out.f("Measured %s–%s (%s) on one machine: %d cores (%s), %.1f GiB memory, %s, %s, temporary data on %s. ",
		from.Format("2006-01-02 15:04"), to.Format("15:04 UTC"), mode, m.Cores, m.CPU, m.MemoryGB, m.Go, m.Kernel, m.TempFS)
	out.f("Reproduce all of it with `make bench` (`cd hack/benchreport && GOFLAGS=-mod=mod go run . -root ../..`; `-quick` for a smoke run, `-reuse step,...` to re-render from the JSON a previous run left in `.cache/benchreport`); each table below names the command that measures it alone. ")
	out.f("Two shared cores run the three nodes and the load generator together, so single runs swing by ±15%%: read medians of rounds, not single numbers. ")
	out.f("The 1-minute load average before and after each step says whether other work shared the machine (anything above %d):\n\n", m.Cores)
	out.f("| step | measured | took | load average before → after |\n|---|---|---|---|\n")
	for _, s := range res.Steps {
		when := "—"
		if !s.Started.IsZero() {
			when = s.Started.Format("15:04 UTC")
		}
		if s.Reused {
			when += " (JSON reused)"
		}
		out.f("| %s | %s | %s | %s → %s |\n", s.Step, when, (time.Duration(s.Seconds) * time.Second).String(), s.LoadStart, s.LoadEnd)
	}
	out.f("\n")
	out.f("| measurement | result | target | |\n|---|---|---|---|\n")
	for _, l := range body.summary {
		out.f("| %s | %s | %s | %s |\n", l[0], l[1], l[2], l[3])
	}
	out.f("\n")
	out.Write(body.Bytes())
	out.f("%s\n", endMarker)
	return out.String()
}

func renderThroughput(r *report, t *throughputResult) {
	r.f("Three nodes on 127.0.0.1, every write acknowledged after the raft log is fsync'd on a quorum; etcd the same (three members, fsync on). ")
	r.f("%d clients, %d-byte values, 100 targets (key prefixes), one connection per client, writes to the leader, %s per run, ", t.Clients, t.Size, t.Duration)
	r.f("%d interleaved rounds (each round runs the three systems one after the other).\n", maxRound(t))
	cmds := make([]string, 0, len(systems))
	for _, s := range systems {
		cmds = append(cmds, t.Commands[s])
	}
	r.command(cmds...)
	r.f("| round | %s |\n|---|---|---|---|\n", strings.Join(systems, " | "))
	cell := func(run throughputRun) string {
		if run.Err != "" {
			return "failed"
		}
		s := fmt.Sprintf("%.0f writes/s (p50 %.1f ms, p99 %.1f ms)", run.Result.WritesPerSecond, run.Result.P50Ms, run.Result.P99Ms)
		if run.Result.Errors > 0 {
			s += fmt.Sprintf(", %d errors", run.Result.Errors)
		}
		if len(run.PeakRSSKB) > 0 {
			s += fmt.Sprintf(", peak RSS %s MB", joinMB(run.PeakRSSKB, 1024))
		}
		return s
	}
	for round := 1; round <= maxRound(t); round++ {
		row := []string{fmt.Sprint(round)}
		for _, s := range systems {
			c := "—"
			for _, run := range t.Runs {
				if run.Round == round && run.System == s {
					c = cell(run)
				}
			}
			row = append(row, c)
		}
		r.f("| %s |\n", strings.Join(row, " | "))
	}
	sum := summarize(t)
	e := sum[sysEtcd]
	row := []string{"**median**"}
	for _, s := range systems {
		m := sum[s]
		if m.Rounds == 0 {
			row = append(row, "—")
			continue
		}
		c := fmt.Sprintf("**%.0f** (p50 %.1f, p99 %.1f)", m.WritesPerSecond, m.P50Ms, m.P99Ms)
		if s != sysEtcd && e.Rounds > 0 {
			c += fmt.Sprintf(" — **%.2f× etcd**", m.WritesPerSecond/e.WritesPerSecond)
		}
		row = append(row, c)
	}
	r.f("| %s |\n\n", strings.Join(row, " | "))

	for _, s := range []string{sysBolt, sysWAL} {
		c := sum[s]
		if c.Rounds == 0 || e.Rounds == 0 {
			r.line("write throughput, "+s, "not measured", "ahead of etcd", "not measured")
			continue
		}
		r.line("write throughput, "+s, fmt.Sprintf("%.0f writes/s, %.2f× etcd's %.0f", c.WritesPerSecond, c.WritesPerSecond/e.WritesPerSecond, e.WritesPerSecond),
			"ahead of etcd", verdict(c.WritesPerSecond > e.WritesPerSecond))
		r.line("write latency, "+s, fmt.Sprintf("p50 %.1f ms, p99 %.1f ms (etcd %.1f, %.1f)", c.P50Ms, c.P99Ms, e.P50Ms, e.P99Ms),
			"≤ etcd's", verdict(c.P50Ms <= e.P50Ms && c.P99Ms <= e.P99Ms))
	}
	var failed []string
	for _, run := range t.Runs {
		if run.Err != "" {
			failed = append(failed, fmt.Sprintf("round %d %s: %s", run.Round, run.System, run.Err))
		}
	}
	if len(failed) > 0 {
		r.f("Failed runs: %s.\n\n", strings.Join(failed, "; "))
	}
}

func maxRound(t *throughputResult) int {
	n := 0
	for _, r := range t.Runs {
		n = max(n, r.Round)
	}
	return n
}

// joinMB formats sizes of unit bytes each as MB (10^6 bytes), joined by /.
func joinMB(v []int64, unit float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f", float64(x)*unit/1e6)
	}
	return strings.Join(s, "/")
}

func renderConvergence(r *report, res *results) {
	r.f("A three-node cluster in one process over TCP on 127.0.0.1, the Cloudflare emulator over HTTP, the real cloudflare-go client, the default sync settings (%.0f ms debounce) and the test harness's raft timings (300 ms heartbeat and election timeouts). One change at a time; the clock stops when the emulator accepts a tunnel configuration that holds the change.\n", debounceMs)
	var cmds []string
	if res.Sync != nil {
		cmds = append(cmds, strings.Replace(res.Sync.Command, "^BenchmarkCloudflare", "^BenchmarkCloudflareConvergence$", 1))
	}
	if res.Kube != nil {
		cmds = append(cmds, "CONFLUX_REQUIRE_ENVTEST=1 "+res.Kube.Command)
	}
	if len(cmds) > 0 {
		r.command(cmds...)
	}
	r.f("| from | benchmark | iterations | p50 | p99 | target (p99) | |\n|---|---|---|---|---|---|---|\n")
	target := fmt.Sprintf("≤ debounce + 100 ms = %.0f ms", convergenceMaxMs)
	row := func(from, name string, iters int, l *benchLine, missing string) {
		if l == nil {
			r.f("| %s | `%s` | — | — | — | %s | %s |\n", from, name, target, missing)
			r.line("convergence from "+from, missing, target, "not measured")
			return
		}
		p50, p99 := l.Metrics["p50-ms"], l.Metrics["p99-ms"]
		v := verdict(p99 <= convergenceMaxMs)
		r.f("| %s | `%s` | %d | %.1f ms | %.1f ms | %s | %s |\n", from, name, iters, p50, p99, target, v)
		r.line("convergence from "+from, fmt.Sprintf("p50 %.1f ms, p99 %.1f ms", p50, p99), target, v)
	}
	if res.Sync != nil {
		l, _ := lookup(res.Sync.Lines, "BenchmarkCloudflareConvergence")
		row("a fragment write", "BenchmarkCloudflareConvergence", res.Sync.Iterations, &l, "")
	} else {
		row("a fragment write", "BenchmarkCloudflareConvergence", 0, nil, "not measured")
	}
	switch k := res.Kube; {
	case k == nil:
		row("an Ingress change (envtest)", "BenchmarkKubeIngressConvergence", 0, nil, "not measured")
	case k.Line == nil:
		row("an Ingress change (envtest)", "BenchmarkKubeIngressConvergence", 0, nil, "skipped: "+k.Skipped)
	default:
		row("an Ingress change (envtest)", "BenchmarkKubeIngressConvergence", k.Iterations, k.Line, "")
	}
	r.f("\nThe Ingress path adds the API server's watch, the informer, the translation and a raft write before the debounce starts; a real kube-apiserver and etcd (envtest) run on the same two cores.\n\n")
}

func renderCalls(r *report, s *syncResult) {
	if s == nil {
		r.f("Not measured in this run.\n\n")
		r.line("downstream calls per 1,000 changes", "not measured", fmt.Sprintf("≤ %.0f (naive: 1,000)", burstCallsMax), "not measured")
		return
	}
	r.f("Every downstream request (GETs included) for 1,000 fragment writes to one tunnel, against the naive way of one PUT per change (1,000 calls; 2,000 with a read before each write).\n")
	r.command(strings.Replace(s.Command, "^BenchmarkCloudflare", "^BenchmarkCloudflareCallsPer1000Changes$", 1))
	r.f("| load | writes took | calls per 1,000 changes | naive | saving | target | |\n|---|---|---|---|---|---|---|\n")
	for _, c := range []struct{ name, what, target string }{
		{"burst", "1,000 writes as fast as 32 clients write them", fmt.Sprintf("≤ %.0f", burstCallsMax)},
		{"sustained-5s", "the same 1,000 writes spread over 5 s (100 every 0.5 s)", "— (one per debounce window: about 10)"},
	} {
		l, ok := lookup(s.Lines, "BenchmarkCloudflareCallsPer1000Changes/"+c.name)
		if !ok {
			r.f("| %s | | not measured | 1,000 | | %s | |\n", c.what, c.target)
			continue
		}
		took := "—" // not reported by older versions of the benchmark
		if w, ok := l.Metrics["write-s"]; ok {
			took = fmt.Sprintf("%.2f s (%.1f debounce windows)", w, w*1000/debounceMs)
		}
		v := l.Metrics["calls/1000changes"]
		ver := "—"
		if c.name == "burst" {
			ver = verdict(v <= burstCallsMax)
			r.line("downstream calls per 1,000 changes (burst)", fmt.Sprintf("%.2f (naive: 1,000)", v), c.target, ver)
		} else {
			r.line("downstream calls per 1,000 changes (over 5 s)", fmt.Sprintf("%.1f (naive: 1,000)", v), "— (one per debounce window)", "—")
		}
		r.f("| %s | %s | %.2f | 1,000 | %.0f× fewer | %s | %s |\n", c.what, took, v, 1000/math.Max(v, 0.01), c.target, ver)
	}
	r.f("\n")
}

func renderFailover(r *report, s *syncResult) {
	l, ok := benchLine{}, false
	if s != nil {
		l, ok = lookup(s.Lines, "BenchmarkCloudflareFailover")
	}
	if !ok {
		r.f("Not measured in this run.\n\n")
		r.line("failover to the next downstream write", "not measured", "—", "not measured")
		return
	}
	r.f("The leader is stopped without leaving or transferring leadership (the in-process equivalent of SIGKILL); a write goes through a survivor as soon as one is accepted. The clock runs from the kill to the emulator accepting a configuration that holds that write: the election, the new leader's start-up pass over every target, the %.0f ms debounce and the PUT.\n", debounceMs)
	r.command(strings.Replace(s.Command, "^BenchmarkCloudflare", "^BenchmarkCloudflareFailover$", 1))
	p50, p99 := l.Metrics["p50-ms"], l.Metrics["p99-ms"]
	r.f("| iterations | p50 | p99 | target |\n|---|---|---|---|\n| %d | %.0f ms | %.0f ms | — (the issue sets none; with hashicorp/raft's default 1 s timeouts, which `conflux-sync server` uses, expect about one more second of election) |\n\n", s.Iterations, p50, p99)
	r.line("failover: leader killed → next downstream write", fmt.Sprintf("p50 %.0f ms, p99 %.0f ms", p50, p99), "— (none set)", "—")
}

// scaleCosts are the costs plotted and judged against the number of
// fragments.
var scaleCosts = []struct {
	name, unit string
	value      func(scalePoint) float64
}{
	{"load (write every fragment)", "s", func(p scalePoint) float64 { return p.LoadSeconds }},
	{"snapshot save", "s", func(p scalePoint) float64 { return p.SnapshotSaveSeconds }},
	{"snapshot size", "MB", func(p scalePoint) float64 { return float64(p.SnapshotBytes) / 1e6 }},
	{"restore", "s", func(p scalePoint) float64 { return p.RestoreSeconds }},
	{"node catch-up", "s", func(p scalePoint) float64 { return p.CatchupSeconds }},
	{"memory per node (largest RSS)", "MB", func(p scalePoint) float64 { return float64(slices.Max(append([]int64{0}, p.RSSBytes...))) / 1e6 }},
	{"peak memory per node (largest VmHWM)", "MB", func(p scalePoint) float64 { return float64(slices.Max(append([]int64{0}, p.HWMBytes...))) / 1e6 }},
}

func renderScale(r *report, s *scaleResult, o options) {
	r.f("BenchmarkScale (`cmd/conflux-sync`) loads N fragments into a three-node cluster, saves a snapshot, restores it, lets a fresh node catch up, and reads each node's memory.\n")
	r.command(s.Command)
	sizes := make([]string, len(s.Points))
	for i, p := range s.Points {
		sizes[i] = fmt.Sprintf("%d", p.Fragments)
	}
	r.f("Each fragment's spec is about %d bytes. The growth exponent is the slope on log-log axes (1 = linear, 2 = quadratic), over the whole range and between neighbouring sizes; fixed costs flatten the small sizes, so the target holds for both the whole range and the step between the two largest sizes, where the growth at scale shows.\n\n", s.Points[0].SpecBytes)
	r.f("| fragments | %s | growth exponent: whole range (steps) | target | |\n|---|%s---|---|---|\n", strings.Join(sizes, " | "), strings.Repeat("---|", len(sizes)))
	first, last := s.Points[0], s.Points[len(s.Points)-1]
	for _, c := range scaleCosts {
		r.f("| %s | ", c.name)
		for _, p := range s.Points {
			r.f("%s %s | ", num(c.value(p)), c.unit)
		}
		k := exponent(float64(first.Fragments), c.value(first), float64(last.Fragments), c.value(last))
		kLast := k
		if n := len(s.Points); n > 2 {
			kLast = exponent(float64(s.Points[n-2].Fragments), c.value(s.Points[n-2]), float64(last.Fragments), c.value(last))
		}
		target := fmt.Sprintf("≤ %.1f", nearLinearMax)
		ok := !math.IsNaN(k) && k <= nearLinearMax && !math.IsNaN(kLast) && kLast <= nearLinearMax
		steps := stepExponents(s.Points, c.value)
		r.f("%.2f (%s) | %s | %s |\n", k, steps, target, verdict(ok))
		r.line("scale: "+c.name+fmt.Sprintf(", %d → %d fragments", first.Fragments, last.Fragments),
			fmt.Sprintf("%s → %s %s; exponent %.2f (last step %.2f)", num(c.value(first)), num(c.value(last)), c.unit, k, kLast), "near linear (exponent "+target+")", verdict(ok))
	}
	r.f("\nMemory of each node (RSS / VmHWM, MB of 10^6 bytes; the last column is the leader's RSS after the catch-up):\n\n| fragments | RSS node 1/2/3 | VmHWM node 1/2/3 | leader after catch-up |\n|---|---|---|---|\n")
	for _, p := range s.Points {
		r.f("| %d | %s | %s | %.0f |\n", p.Fragments, joinMB(p.RSSBytes, 1), joinMB(p.HWMBytes, 1), float64(p.LeaderRSSAfterCatch)/1e6)
	}
	r.f("\n")
	if want := o.scaleSizes; !slices.Equal(want, pointSizes(s.Points)) {
		r.f("Sizes asked for: %v; measured: %v.\n\n", want, pointSizes(s.Points))
	}
}

func pointSizes(ps []scalePoint) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Fragments
	}
	return out
}

// stepExponents lists the exponent between each pair of neighbouring sizes.
func stepExponents(ps []scalePoint, v func(scalePoint) float64) string {
	var s []string
	for i := 1; i < len(ps); i++ {
		s = append(s, fmt.Sprintf("%.2f", exponent(float64(ps[i-1].Fragments), v(ps[i-1]), float64(ps[i].Fragments), v(ps[i]))))
	}
	return "steps " + strings.Join(s, ", ")
}

// num formats a cost with three significant digits.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func renderAgg(r *report, a *aggResult) {
	r.f("One tunnel's aggregate from its fragments: 100 rules come from 10 sources, larger sizes from 100 sources, plus one ClusterTunnel; some hostnames are contested. Best of %d run(s) each.\n", a.Points[0].Runs)
	r.command(a.Command)
	r.f("| rules per tunnel | time per aggregate | per rule | memory | allocations | growth exponent from the previous size |\n|---|---|---|---|---|---|\n")
	for i, p := range a.Points {
		k := "—"
		if i > 0 {
			k = fmt.Sprintf("%.2f", exponent(float64(a.Points[i-1].Rules), a.Points[i-1].Seconds, float64(p.Rules), p.Seconds))
		}
		r.f("| %d | %s ms | %.1f µs | %.1f MB | %.0f | %s |\n", p.Rules, num(p.Seconds*1e3), p.Seconds*1e6/float64(p.Rules), p.Bytes/1e6, p.Allocs, k)
	}
	n := len(a.Points)
	first, last := a.Points[0], a.Points[n-1]
	k := exponent(float64(first.Rules), first.Seconds, float64(last.Rules), last.Seconds)
	kLast := k
	if n > 2 {
		kLast = exponent(float64(a.Points[n-2].Rules), a.Points[n-2].Seconds, float64(last.Rules), last.Seconds)
	}
	ok := !math.IsNaN(k) && k <= nearLinearMax && !math.IsNaN(kLast) && kLast <= nearLinearMax
	r.f("\nGrowth exponent from %d to %d rules: %.2f, %.2f between the two largest sizes (target ≤ %.1f for both: %s).\n\n", first.Rules, last.Rules, k, kLast, nearLinearMax, verdict(ok))
	r.line(fmt.Sprintf("aggregation, %d → %d rules per tunnel", first.Rules, last.Rules),
		fmt.Sprintf("%s → %s ms; exponent %.2f (last step %.2f)", num(first.Seconds*1e3), num(last.Seconds*1e3), k, kLast), fmt.Sprintf("near linear (exponent ≤ %.1f)", nearLinearMax), verdict(ok))
}

// writeSection writes out: the Markdown of from (docs/benchmarks.md) with
// the generated section replaced, or inserted after the title's opening
// paragraph when from has no markers yet.
func writeSection(out, from, section string) error {
	raw, err := os.ReadFile(out)
	if errors.Is(err, os.ErrNotExist) {
		raw, err = os.ReadFile(from)
	}
	if err != nil {
		return err
	}
	doc, err := spliceSection(string(raw), section)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(doc), 0o644)
}

func spliceSection(doc, section string) (string, error) {
	b, e := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	switch {
	case b >= 0 && e > b:
		end := e + len(endMarker)
		if end < len(doc) && doc[end] == '\n' {
			end++
		}
		return doc[:b] + section + doc[end:], nil
	case b >= 0 || e >= 0:
		return "", errors.New("only one of the benchreport markers is present")
	}
	// Before the first "## " heading: the hand-written sections below stay
	// as the history of earlier measurements.
	i := strings.Index(doc, "\n## ")
	if i < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + section, nil
	}
	history := "## Earlier measurements (hand-written)\n\nThe sections below were measured by hand during earlier work, each with its command; they are kept as history and are not regenerated.\n\n"
	return doc[:i+1] + section + "\n" + history + doc[i+1:], nil
}
