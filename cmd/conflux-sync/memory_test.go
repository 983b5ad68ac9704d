package main

// One valid 60 MB source-fragments write took a leader from 82 MB to
// 1.0 GB RSS, a second to 2.0 GB (issue #19, finding 5). This test runs a
// three-node cluster of real server processes, each in a 512 MiB memory
// cgroup when the machine lets the test make one (else with
// GOMEMLIMIT=460MiB, what a node derives from a 512 MiB cgroup), and
// sends it several of the largest writes the API
// allows at once, from several tokens. Every node must stay up, answer,
// and peak below 512 MiB RSS (VmHWM in /proc).

import (
	"bytes"
	"encoding/json"
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
	"github.com/conflux-sync/conflux-sync/httpapi"
)

const memoryLimit = 512 << 20

func TestE2EMemoryBoundedUnderLargestWrites(t *testing.T) {
	needBinary(t)
	c := configureProcCluster(t, 3)
	// More write tokens: one bad producer per token.
	writers := []string{e2eWriteToken,
		"1f0e3d2c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		"9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9",
		"c0ffee15deadbeef7a3e91d04b6f28c5e0d1a9b7c3f56e2841d0c9b8a7f6e5d4"}
	f, err := os.OpenFile(c.tokenFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writers[1:] {
		fmt.Fprintf(f, "write:%s\n", w)
	}
	f.Close()

	// CONFLUX_MEMTEST_BIN runs another build (e.g. an older release) under
	// the same load, for docs/benchmarks.md's comparison.
	bin := binPath
	if other := os.Getenv("CONFLUX_MEMTEST_BIN"); other != "" {
		bin = other
	}
	// CONFLUX_MEMTEST_ONE=1 measures the cost of one write instead: no
	// cgroup and no memory limit, GOGC=100, one write from one token.
	one := os.Getenv("CONFLUX_MEMTEST_ONE") == "1"
	perToken := 2
	var cgroups []string
	if one {
		writers, perToken = writers[:1], 1
	} else {
		cgroups = memoryCgroups(t, len(c.nodes))
	}
	for i, p := range c.nodes {
		if cgroups != nil {
			// The wrapper moves itself into the cgroup and becomes the
			// server: everything the server allocates is charged there,
			// and it derives GOMEMLIMIT from the cgroup itself.
			p.bin = filepath.Join(t.TempDir(), "in-cgroup.sh")
			script := fmt.Sprintf("#!/bin/sh\necho $$ > %s\nexec %s \"$@\"\n", filepath.Join(cgroups[i], "cgroup.procs"), bin)
			if err := os.WriteFile(p.bin, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		} else if one {
			p.bin = bin
			p.env = append(p.env, "GOGC=100")
		} else {
			// 90% of the limit, as the node would derive from a cgroup.
			p.bin = bin
			p.env = append(p.env, "GOMEMLIMIT=460MiB")
		}
		extra := []string{"--log-level", "info"}
		if bin == binPath {
			// A wrapped binary gets no flags of this build by default
			// (procCluster.args): an older release may lack them.
			extra = append(extra, "--cluster-secret-file", c.secretFile, "--token-file-check-interval", "200ms")
		}
		c.start(i, extra...)
	}
	c.waitAllReady()
	leader := c.leader()
	if cgroups != nil && bin == binPath {
		raw, _ := os.ReadFile(c.nodes[leader].logPath)
		if !strings.Contains(string(raw), "Go memory limit set") {
			t.Errorf("the node did not derive GOMEMLIMIT from its cgroup; log:\n%s", raw)
		}
	}
	baseline := procMemory(t, c.nodes[leader])
	// Peak anonymous memory (the heap, stacks: what the process
	// allocates) is sampled while the writes run; VmHWM also counts the
	// state file's and raft log's mmap'd pages, which the kernel can drop.
	peaks := make([]memory, len(c.nodes))
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	for i, p := range c.nodes {
		sampling.Add(1)
		go func() {
			defer sampling.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if m, ok := readProcMemory(p); ok && m.anon > peaks[i].anon {
					peaks[i] = m
				}
				select {
				case <-stopSampling:
					return
				case <-tick.C:
				}
			}
		}()
	}

	// Two largest writes per token, all at once: half to the leader, half
	// through followers. A write the node cannot hold now is answered 503
	// with Retry-After; the writer retries as a well-behaved client does.
	type outcome struct {
		status, retries int
		err             error
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []outcome
	)
	client := &http.Client{Timeout: 2 * time.Minute}
	for wi, tok := range writers {
		for k := range perToken {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := largestWrite(fmt.Sprintf("mem-%d-%d", wi, k))
				node := c.nodes[(wi+k)%len(c.nodes)]
				var o outcome
				deadline := time.Now().Add(4 * time.Minute)
				for time.Now().Before(deadline) {
					req, _ := http.NewRequest("PUT", node.url()+"/v1/source-fragments", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := client.Do(req)
					if err != nil {
						o.err = err
						break
					}
					var eb api.ErrorBody
					json.NewDecoder(resp.Body).Decode(&eb)
					resp.Body.Close()
					o.status = resp.StatusCode
					if resp.StatusCode != http.StatusServiceUnavailable {
						if resp.StatusCode != 200 {
							o.err = fmt.Errorf("%d %+v", resp.StatusCode, eb.Error)
						}
						break
					}
					o.retries++
					secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
					time.Sleep(time.Duration(max(secs, 1)) * time.Second) // what Retry-After asks
				}
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(stopSampling)
	sampling.Wait()
	shed := 0
	for _, o := range out {
		if o.err != nil || o.status != 200 {
			t.Errorf("a largest write failed: status %d after %d retries: %v", o.status, o.retries, o.err)
		}
		shed += o.retries
	}
	for i, p := range c.nodes {
		if !p.running() {
			t.Fatalf("%s died under the writes: %v", p.id, p.werr)
		}
		if !c.ready(i) {
			t.Errorf("%s does not answer /readyz after the writes", p.id)
		}
		end := procMemory(t, p)
		t.Logf("%s: peak anonymous RSS %d MiB, peak RSS (VmHWM) %d MiB, now anonymous %d MiB + file-backed %d MiB (leader before the writes: anonymous %d MiB)",
			p.id, peaks[i].anon>>20, end.hwm>>20, end.anon>>20, end.file>>20, baseline.anon>>20)
		if peaks[i].anon >= anonBound {
			t.Errorf("%s peaked at %d MiB anonymous RSS, over %d MiB", p.id, peaks[i].anon>>20, anonBound>>20)
		}
	}
	t.Logf("%d writes of %d bytes from %d tokens; %d answers were 503 (in-flight budget) and retried; cgroup: %v",
		len(out), len(largestWrite("mem-x-x")), len(writers), shed, cgroups != nil)
}

// largestWrite is a source-fragments body just under the default
// --max-request-body: tunnel fragments of 1000 rules each (the most a
// fragment may have), the shape that costs the most memory per byte.
func largestWrite(source string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"source":{"kind":"API","name":%q},"fragments":[`, source)
	pad := strings.Repeat("p", 180)
	for i := 0; ; i++ {
		var frag bytes.Buffer
		if i > 0 {
			frag.WriteByte(',')
		}
		fmt.Fprintf(&frag, `{"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/%s-%d"},"generation":1,"spec":{"rules":[`, source, i)
		for r := range 1000 {
			if r > 0 {
				frag.WriteByte(',')
			}
			fmt.Fprintf(&frag, `{"hostname":"h%d.example.com","path":"^/%s/%d","service":"http://svc-%d.default.svc:80"}`, r, pad, r, r)
		}
		frag.WriteString(`]}}`)
		if b.Len()+frag.Len()+2 > httpapi.DefaultMaxRequestBody {
			break
		}
		b.Write(frag.Bytes())
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// anonBound is what a node's own memory (heap, stacks: RssAnon) must stay
// under. GOMEMLIMIT is soft: the Go runtime lets the heap reach it (the
// default GOGC of 400 leaves the GC that much slack) and no further, and a
// node in the cgroup is killed by the kernel beyond it. VmHWM is logged,
// not bounded: it also counts the mmap'd state and raft log pages, which
// the kernel reclaims under the cgroup's pressure.
const anonBound = memoryLimit

// readProcMemory is procMemory for a sampler goroutine: false instead of
// failing the test when the process is gone.
func readProcMemory(p *proc) (memory, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memory{}, false
	}
	var m memory
	for line := range strings.Lines(string(raw)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	return m, true
}

// memoryCgroups makes n memory cgroups limited to memoryLimit (v2, else
// v1) and removes them when the test ends; nil when this machine does not
// let the test make them (not root, no memory controller), and the test
// falls back to GOMEMLIMIT.
func memoryCgroups(t *testing.T, n int) []string {
	t.Helper()
	type layout struct{ root, limitFile, swapFile string }
	var l layout
	switch {
	case fileExists("/sys/fs/cgroup/cgroup.controllers"):
		l = layout{"/sys/fs/cgroup", "memory.max", "memory.swap.max"}
	case fileExists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
		l = layout{"/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}
	default:
		t.Log("no cgroup memory controller: falling back to GOMEMLIMIT")
		return nil
	}
	var dirs []string
	for i := range n {
		dir := filepath.Join(l.root, fmt.Sprintf("conflux-sync-memtest-%d-%d", os.Getpid(), i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Logf("cannot make a memory cgroup (%v): falling back to GOMEMLIMIT", err)
			return nil
		}
		t.Cleanup(func() { os.Remove(dir) }) // after the processes are killed
		if err := os.WriteFile(filepath.Join(dir, l.limitFile), []byte(strconv.Itoa(memoryLimit)), 0o644); err != nil {
			t.Logf("cannot limit a memory cgroup (%v): falling back to GOMEMLIMIT", err)
			return nil
		}
		// No swap beyond the limit, where the kernel offers the knob.
		os.WriteFile(filepath.Join(dir, l.swapFile), []byte(strconv.Itoa(memoryLimit)), 0o644)
		if l.swapFile == "memory.swap.max" {
			os.WriteFile(filepath.Join(dir, l.swapFile), []byte("0"), 0o644)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
