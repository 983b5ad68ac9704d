package main

// BenchmarkScale measures a three-node cluster of real server processes at
// growing state sizes: the time to load the fragments, snapshot save and
// restore, the catch-up of a wiped follower, and resident memory.
//
//	CONFLUX_BENCH_SCALE_SIZES=10000,100000,1000000 CONFLUX_BENCH_SCALE_OUT=/tmp/scale.json \
//	  go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 60m ./cmd/conflux-sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// scaleResult is one size's row of CONFLUX_BENCH_SCALE_OUT; hack/benchreport
// reads these keys.
type scaleResult struct {
	Fragments           int     `json:"fragments"`
	SpecBytes           int     `json:"spec_bytes"`
	LoadSeconds         float64 `json:"load_seconds"`
	SnapshotSaveSeconds float64 `json:"snapshot_save_seconds"`
	SnapshotBytes       int64   `json:"snapshot_bytes"`
	RestoreSeconds      float64 `json:"restore_seconds"`
	CatchupSeconds      float64 `json:"catchup_seconds"`
	// RSSBytes and HWMBytes are VmRSS and VmHWM of node 0, 1 and 2 once
	// every node has applied the load.
	RSSBytes                   []int64 `json:"rss_bytes"`
	HWMBytes                   []int64 `json:"hwm_bytes"`
	LeaderRSSAfterCatchupBytes int64   `json:"leader_rss_after_catchup_bytes"`
}

const (
	// scaleFragsPerWrite is the number of fragments of one
	// ReplaceSourceFragments call (the server takes up to 10000).
	scaleFragsPerWrite = 1000
	// scaleFragsPerTarget is how many sources contribute to one target
	// once there are enough fragments.
	scaleFragsPerTarget = 100
	// scaleWriters is the number of concurrent loading clients.
	scaleWriters = 4
)

func BenchmarkScale(b *testing.B) {
	env := os.Getenv("CONFLUX_BENCH_SCALE_SIZES")
	if env == "" {
		b.Skip("set CONFLUX_BENCH_SCALE_SIZES (e.g. 10000,100000,1000000) to run")
	}
	var sizes []int
	for _, s := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			b.Fatalf("CONFLUX_BENCH_SCALE_SIZES: bad size %q", s)
		}
		sizes = append(sizes, n)
	}
	var results []scaleResult
	for _, n := range sizes {
		b.Run(fmt.Sprintf("fragments=%d", n), func(b *testing.B) {
			// The measurement is one pass whatever b.N is: each phase is
			// far longer than benchmark noise, and -benchtime 1x is
			// expected.
			for range b.N {
				r := runScale(b, n)
				b.ReportMetric(r.LoadSeconds, "load-s")
				b.ReportMetric(r.SnapshotSaveSeconds, "save-s")
				b.ReportMetric(float64(r.SnapshotBytes)/1e6, "snapshot-MB")
				b.ReportMetric(r.RestoreSeconds, "restore-s")
				b.ReportMetric(r.CatchupSeconds, "catchup-s")
				b.ReportMetric(float64(slicesMax(r.RSSBytes))/1e6, "max-rss-MB")
				b.ReportMetric(float64(slicesMax(r.HWMBytes))/1e6, "max-hwm-MB")
				b.ReportMetric(float64(r.LeaderRSSAfterCatchupBytes)/1e6, "leader-rss-after-catchup-MB")
				b.ReportMetric(0, "ns/op") // the phases above are the result
				results = append(results, r)
			}
		})
	}
	if out := os.Getenv("CONFLUX_BENCH_SCALE_OUT"); out != "" && len(results) > 0 {
		raw, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out, append(raw, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func slicesMax(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// runScale runs every phase against a new cluster holding n fragments.
func runScale(b *testing.B, n int) scaleResult {
	// A benchmark is one caller at full speed: no per-token rate limit.
	c := configureProcCluster(b, 3)
	for i := range c.nodes {
		c.start(i, "--api-token-rate=-1")
	}
	c.waitAllReady()
	leader := c.leader()
	res := scaleResult{Fragments: n}
	load := newScaleLoad(n)
	res.SpecBytes = load.specBytes

	// 1. Load, until every node has applied the last write.
	start := time.Now()
	last := load.run(b, c, leader)
	c.waitApplied(b, last, 30*time.Minute, c.live()...)
	c.waitFragments(b, n, time.Minute, c.live()...)
	res.LoadSeconds = time.Since(start).Seconds()
	var loaded []string
	for i, p := range c.nodes {
		m := procMemory(b, p)
		res.RSSBytes = append(res.RSSBytes, m.rss)
		res.HWMBytes = append(res.HWMBytes, m.hwm)
		loaded = append(loaded, fmt.Sprintf("%s %v, %s", p.id, m, c.heap(b, i)))
	}
	b.Logf("%d fragments (%d sources, %d targets, %d-byte specs) loaded in %.2fs; %s",
		n, load.sources, load.targets, load.specBytes, res.LoadSeconds, strings.Join(loaded, "; "))

	// 2. Snapshot save through the API, as an operator does it.
	snapPath := filepath.Join(b.TempDir(), "scale.snap")
	start = time.Now()
	if r := c.snapshotCLI(b, leader, "save", snapPath); r.code != 0 {
		b.Fatalf("conflux-sync snapshot save: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	res.SnapshotSaveSeconds = time.Since(start).Seconds()
	fi, err := os.Stat(snapPath)
	if err != nil {
		b.Fatal(err)
	}
	res.SnapshotBytes = fi.Size()
	b.Logf("snapshot save: %.2fs, %d bytes", res.SnapshotSaveSeconds, res.SnapshotBytes)

	// 3. Snapshot restore into the running cluster, until every node has
	// applied it (the followers install it with InstallSnapshot). One
	// fragment written after the save makes the restore observable: it
	// must be gone everywhere.
	extra := newScaleLoad(1)
	extraReq := extra.request(0)
	extraReq.Source.Namespace = "after-save"
	if _, _, err := replaceRetrying(c.longClient(b, leader), extraReq); err != nil {
		b.Fatal(err)
	}
	c.waitFragments(b, n+1, time.Minute, c.live()...)
	start = time.Now()
	if r := c.snapshotCLI(b, leader, "restore", snapPath); r.code != 0 {
		// raft.Restore answers once a quorum has the no-op after the
		// restore; a leadership change before that fails the call, though
		// the restore may stand. The fragment count below decides.
		b.Logf("snapshot restore: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	}
	leader = c.leader()
	restored := c.status(b, leader).AppliedIndex
	c.waitApplied(b, restored, 30*time.Minute, c.live()...)
	c.waitFragments(b, n, 10*time.Minute, c.live()...)
	res.RestoreSeconds = time.Since(start).Seconds()
	b.Logf("snapshot restore: %.2fs (all nodes at index %d)", res.RestoreSeconds, restored)

	// 4. Catch-up of a follower that lost its data folder.
	f := c.follower()
	leader = c.leader()
	c.stop(f)
	c.wipe(f)
	target := c.status(b, leader).LastIndex
	start = time.Now()
	// Raft logs at info show how the follower was brought up to date.
	c.start(f, "--log-level", "info", "--api-token-rate=-1")
	c.waitApplied(b, target, 30*time.Minute, f)
	c.waitFragments(b, n, time.Minute, f)
	res.CatchupSeconds = time.Since(start).Seconds()
	res.LeaderRSSAfterCatchupBytes = procMemory(b, c.nodes[leader]).rss
	var after []string
	for i, p := range c.nodes {
		after = append(after, fmt.Sprintf("%s %v, %s", p.id, procMemory(b, p), c.heap(b, i)))
	}
	b.Logf("catch-up of wiped %s: %.2fs (%s); after it: %s",
		c.nodes[f].id, res.CatchupSeconds, catchupPath(c.nodes[f]), strings.Join(after, ", "))
	return res
}

// scaleLoad writes n fragments as ReplaceSourceFragments calls of
// scaleFragsPerWrite fragments each: one call per source, each source
// contributing one tunnel ingress rule to each of scaleFragsPerWrite
// distinct targets, so every target ends up with fragments of about
// scaleFragsPerTarget sources.
type scaleLoad struct {
	n, sources, targets, perWrite int
	specBytes                     int
}

func newScaleLoad(n int) *scaleLoad {
	l := &scaleLoad{n: n, perWrite: min(n, scaleFragsPerWrite)}
	l.sources = (n + l.perWrite - 1) / l.perWrite
	l.targets = max(n/scaleFragsPerTarget, l.perWrite)
	var total int
	for i := range l.perWrite {
		total += len(l.spec(0, i))
	}
	l.specBytes = total / l.perWrite
	return l
}

// spec is the spec of source s's j-th fragment: one Ingress rule with an
// originRequest, about 250 bytes, a hostname of its own (no conflicts).
func (l *scaleLoad) spec(s, j int) []byte {
	host := fmt.Sprintf("app-%07d.team-%04d.example.com", s*l.perWrite+j, s)
	return fmt.Appendf(nil, `{"rules":[{"hostname":%q,"path":"^/api/v%d/","service":"http://web-%d.team-%04d.svc.cluster.local:8080",`+
		`"originRequest":{"connectTimeout":30,"httpHostHeader":%q,"noTLSVerify":false,"keepAliveConnections":100}}]}`,
		host, j%4+1, j%16, s, host)
}

func (l *scaleLoad) request(s int) api.ReplaceSourceRequest {
	count := min(l.perWrite, l.n-s*l.perWrite)
	req := api.ReplaceSourceRequest{
		Source:    api.SourceRef{Kind: "Ingress", Namespace: fmt.Sprintf("team-%04d", s), Name: "web"},
		Fragments: make([]api.SourceFragment, count),
	}
	for j := range count {
		t := (s*l.perWrite + j) % l.targets
		req.Fragments[j] = api.SourceFragment{
			Target:     api.TargetRef{Kind: api.KindTunnelConfiguration, Name: fmt.Sprintf("ClusterTunnel/edge-%05d", t)},
			Generation: 1,
			Spec:       l.spec(s, j),
		}
	}
	return req
}

// run writes every source's fragments through node i with scaleWriters
// concurrent clients and returns the highest index written. A write that
// fails because leadership moved is sent again (ReplaceSourceFragments is
// idempotent); the node forwards it to the new leader.
func (l *scaleLoad) run(b *testing.B, c *procCluster, i int) uint64 {
	b.Helper()
	next := make(chan int)
	go func() {
		defer close(next)
		for s := range l.sources {
			next <- s
		}
	}()
	var (
		mu      sync.Mutex
		last    uint64
		retries int
		errs    []error
		wg      sync.WaitGroup
	)
	for range scaleWriters {
		cl := c.longClient(b, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				req := l.request(s)
				r, n, err := replaceRetrying(cl, req)
				if err == nil && n == 0 && r.Changed != len(req.Fragments) {
					err = fmt.Errorf("changed %d of %d fragments", r.Changed, len(req.Fragments))
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("source %s: %w", req.Source, err))
				}
				last = max(last, r.Index)
				retries += n
				mu.Unlock()
				if err != nil {
					for range next { // drain: stop the producer
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("load: %v", err)
	}
	if retries > 0 {
		b.Logf("load: %d writes were sent again after leadership moved", retries)
	}
	return last
}

// replaceRetrying sends req until it succeeds, fails for another reason
// than a leadership change, or two minutes have passed; it returns how
// many times it sent it again.
func replaceRetrying(cl *api.Client, req api.ReplaceSourceRequest) (api.WriteResult, int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for n := 0; ; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		r, err := cl.ReplaceSourceFragments(ctx, req)
		cancel()
		if err == nil || !(api.IsCode(err, api.CodeNoLeader) || api.IsCode(err, api.CodeUnavailable)) || time.Now().After(deadline) {
			return r, n, err
		}
		time.Sleep(100 * time.Millisecond) // let an election finish
	}
}

// longClient is an admin client of node i whose requests may take minutes.
func (c *procCluster) longClient(t testing.TB, i int) *api.Client {
	t.Helper()
	cl, err := api.NewClient(c.nodes[i].url(), api.WithToken(e2eAdminToken), api.WithHTTPClient(&http.Client{Timeout: 5 * time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// status is node i's own view of raft.
func (c *procCluster) status(t testing.TB, i int) api.ClusterStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.longClient(t, i).Status(ctx)
	if err != nil {
		t.Fatalf("status of %s: %v", c.nodes[i].id, err)
	}
	return st
}

// waitApplied polls the given nodes until each has applied index.
func (c *procCluster) waitApplied(t testing.TB, index uint64, timeout time.Duration, which ...int) {
	t.Helper()
	for _, i := range which {
		p := c.nodes[i]
		eventually(t, timeout, fmt.Sprintf("%s applies index %d", p.id, index), func() error {
			if !p.running() {
				return stopErr{fmt.Errorf("%s exited: %v", p.id, p.werr)}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cl, err := api.NewClient(p.url(), api.WithToken(e2eAdminToken), api.WithHTTPClient(probeHTTP))
			if err != nil {
				return stopErr{err}
			}
			st, err := cl.Status(ctx)
			if err != nil {
				return err
			}
			if st.AppliedIndex < index {
				return fmt.Errorf("applied %d", st.AppliedIndex)
			}
			return nil
		})
	}
}

// waitFragments polls the given nodes until each holds want fragments (the
// conflux_fragments gauge, read from the node's own store). raft's applied
// index, which waitApplied polls, moves when raft hands a batch to the FSM,
// a moment before the batch commits.
func (c *procCluster) waitFragments(t testing.TB, want int, timeout time.Duration, which ...int) {
	t.Helper()
	for _, i := range which {
		eventually(t, timeout, fmt.Sprintf("%s holds %d fragments", c.nodes[i].id, want), func() error {
			got, err := c.metric(i, "conflux_fragments")
			if err != nil {
				return err
			}
			if int(got) != want {
				return fmt.Errorf("holds %d", int(got))
			}
			return nil
		})
	}
}

// heap describes node i's Go heap: in use, and the next GC goal, which is
// the heap live after the last collection times 1+GOGC/100.
func (c *procCluster) heap(t testing.TB, i int) string {
	t.Helper()
	inuse, err := c.metric(i, "go_memstats_heap_inuse_bytes")
	if err != nil {
		t.Fatal(err)
	}
	goal, err := c.metric(i, "go_memstats_next_gc_bytes")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("heap in use %.1f MB, GC goal %.1f MB", inuse/1e6, goal/1e6)
}

// metric reads one unlabelled sample from node i's /metrics.
func (c *procCluster) metric(i int, name string) (float64, error) {
	req, err := http.NewRequest(http.MethodGet, c.nodes[i].url()+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics of %s: %w", c.nodes[i].id, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		got, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("metrics of %s: %q: %w", c.nodes[i].id, sc.Text(), err)
		}
		return got, nil
	}
	return 0, fmt.Errorf("metrics of %s: no %s sample (status %s, %v)", c.nodes[i].id, name, resp.Status, sc.Err())
}

// snapshotCLI runs `conflux-sync snapshot save|restore FILE` against node i.
func (c *procCluster) snapshotCLI(t testing.TB, i int, verb, path string) cliResult {
	t.Helper()
	return cliWith(t, cliOptions{timeout: 30 * time.Minute}, "snapshot", verb, path, "--addr", c.nodes[i].url(), "--token", e2eAdminToken)
}

// memory is a process's resident memory: anon is the Go heap and stacks,
// file the mapped bbolt files (state and raft log) it has touched.
type memory struct{ rss, hwm, anon, file int64 }

func (m memory) String() string {
	return fmt.Sprintf("rss %.1f MB (anon %.1f, file %.1f) hwm %.1f MB", float64(m.rss)/1e6, float64(m.anon)/1e6, float64(m.file)/1e6, float64(m.hwm)/1e6)
}

// procMemory reads VmRSS and VmHWM of p's process from /proc.
func procMemory(t testing.TB, p *proc) memory {
	t.Helper()
	if !p.running() {
		t.Fatalf("memory of %s: not running", p.id)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("memory of %s: %v", p.id, err)
	}
	var m memory
	for line := range strings.Lines(string(raw)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &m.rss
		case "VmHWM":
			dst = &m.hwm
		case "RssAnon":
			dst = &m.anon
		case "RssFile":
			dst = &m.file
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("memory of %s: %q: %v", p.id, line, err)
		}
		*dst = kb << 10
	}
	if m.rss == 0 || m.hwm == 0 {
		t.Fatalf("memory of %s: no VmRSS/VmHWM in /proc/%d/status", p.id, p.cmd.Process.Pid)
	}
	return m
}

// catchupPath says from p's log whether raft installed a snapshot on it or
// only replicated log entries.
func catchupPath(p *proc) string {
	raw, err := os.ReadFile(p.logPath)
	if err != nil {
		return "log unreadable"
	}
	// Only the last start's lines.
	if i := bytes.LastIndex(raw, []byte("---- ")); i >= 0 {
		raw = raw[i:]
	}
	if bytes.Contains(raw, []byte("Installed remote snapshot")) {
		return "InstallSnapshot + log tail"
	}
	return "log replication only"
}
