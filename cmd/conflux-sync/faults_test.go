package main

// TestFaults is the fault suite: three `conflux-sync server` processes,
// each on its own loopback IP with its raft, gossip and forwarding links
// through faultnet proxies; the Cloudflare and Conflux emulators in this
// process; concurrent clients writing, deleting and reading fragments
// through random nodes; and a nemesis that kills (-9), pauses
// (SIGSTOP/SIGCONT), partitions, isolates the leader, cuts one direction,
// delays links, and makes the downstream APIs fail. The recorded history
// is checked for linearizability (porcupine, per fragment); after healing,
// every node must hold the same state, the emulators what the final
// fragments aggregate to, Conflux no duplicate version, and Cloudflare
// must never have accepted a configuration older than one before it.
//
//	CONFLUX_FAULTS_DURATION  how long the nemesis runs (default 30s; make faults: 5m)
//	CONFLUX_FAULTS_SEED      replay a run's schedule and client choices

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/conflux-sync/conflux-sync/api"
	cfemu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/internal/faultnet"
)

const (
	faultsCFToken = "cf-faults-token-0123456789"
	faultsCXToken = "cx-faults-token-0123456789"
	faultsTunnel  = "ClusterTunnel/edge"
	faultsSource  = "FaultClient"
)

// faultKey is one fragment the clients fight over.
type faultKey struct {
	name   string // source name, and the history key
	target api.TargetRef
}

func faultKeys() []faultKey {
	var keys []faultKey
	for i := range 8 {
		keys = append(keys, faultKey{fmt.Sprintf("tunnel-%d", i), api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: faultsTunnel}})
	}
	for i := range 4 {
		keys = append(keys, faultKey{fmt.Sprintf("conflux-%d", i), api.TargetRef{Kind: "conflux.Config", Name: fmt.Sprintf("acme/shop/faults/c%d.json", i)}})
	}
	return keys
}

func (k faultKey) hostname() string { return k.name + ".example.com" }

// fragment is the body of a put of value v.
func (k faultKey) fragment(v int) map[string]any {
	spec := map[string]any{"rules": []any{map[string]any{"hostname": k.hostname(), "service": fmt.Sprintf("http://v%d.svc:80", v)}}}
	if k.target.Kind == "conflux.Config" {
		spec = map[string]any{
			"config":   map[string]any{"format": "json"},
			"releases": []any{map[string]any{"name": "r", "content": fmt.Sprintf(`{"v":%d}`, v), "stable": true}},
		}
	}
	return map[string]any{"target": k.target, "source": map[string]any{"kind": faultsSource, "name": k.name}, "spec": spec}
}

var (
	serviceValue = regexp.MustCompile(`^http://v(\d+)\.svc:80$`)
	contentValue = regexp.MustCompile(`^\{"v":(\d+)\}$`)
)

// valueOf extracts the value a fragment spec carries (0: none).
func valueOf(spec json.RawMessage) int {
	var s struct {
		Rules    []struct{ Service string } `json:"rules"`
		Releases []struct{ Content string } `json:"releases"`
	}
	if json.Unmarshal(spec, &s) != nil {
		return -1
	}
	var m []string
	if len(s.Rules) == 1 {
		m = serviceValue.FindStringSubmatch(s.Rules[0].Service)
	} else if len(s.Releases) == 1 {
		m = contentValue.FindStringSubmatch(s.Releases[0].Content)
	}
	if m == nil {
		return -1
	}
	v, _ := strconv.Atoi(m[1])
	return v
}

// faultNode is one server behind its proxies.
type faultNode struct {
	ip      string
	proxies []*faultnet.Proxy // raft, gossip, http
	args    []string          // extra server flags
	paused  bool
}

type faultEnv struct {
	t       *testing.T
	seed    uint64
	c       *procCluster
	nodes   []*faultNode
	cf      *cfemu.Server
	cx      *cxemu.Server
	keys    []faultKey
	hist    *history
	logMu   sync.Mutex
	events  []string
	cfMu    sync.Mutex
	cfPuts  []cfWrite
	nextVal sync.Mutex
	value   int
}

func (e *faultEnv) logf(format string, args ...any) {
	line := fmt.Sprintf("%9s  ", time.Since(e.hist.start).Round(time.Millisecond)) + fmt.Sprintf(format, args...)
	e.logMu.Lock()
	e.events = append(e.events, line)
	e.logMu.Unlock()
}

func (e *faultEnv) newValue() int {
	e.nextVal.Lock()
	defer e.nextVal.Unlock()
	e.value++
	return e.value
}

func TestFaults(t *testing.T) {
	needBinary(t)
	duration := 30 * time.Second
	if s := os.Getenv("CONFLUX_FAULTS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CONFLUX_FAULTS_DURATION: %v", err)
		}
		duration = d
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CONFLUX_FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CONFLUX_FAULTS_SEED: %v", err)
		}
		seed = v
	}
	e := setupFaults(t, seed)
	t.Logf("fault suite: seed %d (replay: CONFLUX_FAULTS_SEED=%d), raft log store %s, nemesis for %s", seed, seed, e.logStore(), duration)
	t.Cleanup(func() {
		e.logMu.Lock()
		defer e.logMu.Unlock()
		t.Logf("seed %d; nemesis schedule:\n%s", seed, strings.Join(e.events, "\n"))
	})

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.client(ctx, i)
		}()
	}
	e.nemesis(ctx)
	wg.Wait()

	step := func(name string, f func()) {
		start := time.Now()
		f()
		t.Logf("%s: %s", name, time.Since(start).Round(time.Millisecond))
	}
	step("heal", e.heal)
	step("history check", e.checkHistory)
	step("replica check", e.checkReplicas)
	step("downstream check", e.checkDownstream)
}

// setupFaults starts the emulators, the proxies and the three servers.
func setupFaults(t *testing.T, seed uint64) *faultEnv {
	dir := t.TempDir()
	e := &faultEnv{t: t, seed: seed, keys: faultKeys(), hist: newHistory()}

	e.cf = cfemu.New(cfemu.Config{Tokens: map[string]cfemu.TokenScope{faultsCFToken: {Accounts: []string{e2eCFAccount}}}})
	e.cf.AddAccount(e2eCFAccount)
	cfSrv := httptest.NewServer(e.recordConfigs(e.cf))
	t.Cleanup(cfSrv.Close)
	e.cx = cxemu.New(cxemu.Config{Tokens: []string{faultsCXToken}})
	cxSrv := httptest.NewServer(e.cx)
	t.Cleanup(cxSrv.Close)
	creds := filepath.Join(dir, "cloudflare-credentials")
	cxToken := filepath.Join(dir, "conflux-token")
	if err := os.WriteFile(creds, []byte(e2eCFAccount+":"+faultsCFToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cxToken, []byte(faultsCXToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	e.c = configureProcCluster(t, 3)
	e.c.join = nil
	for i, p := range e.c.nodes {
		ip := fmt.Sprintf("127.0.77.%d", i+1)
		ports := freePortsOn(t, ip, 6)
		addr := func(j int) string { return net.JoinHostPort(ip, strconv.Itoa(ports[j])) }
		p.httpAddr, p.raftAddr, p.gossipAddr = addr(0), addr(1), addr(2)
		n := &faultNode{ip: ip}
		for j, target := range []string{p.raftAddr, p.gossipAddr, p.httpAddr} {
			px, err := faultnet.Listen(addr(3+j), target, j == 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { px.Close() })
			n.proxies = append(n.proxies, px)
		}
		n.args = []string{
			"--raft-advertise", n.proxies[0].Addr(),
			"--gossip-advertise", n.proxies[1].Addr(),
			"--http-advertise", "http://" + n.proxies[2].Addr(),
			"--cloudflare-credentials", creds, "--cloudflare-api-url", cfSrv.URL + "/client/v4",
			"--cloudflare-timeout", "2s",
			"--conflux-url", cxSrv.URL, "--conflux-token-file", cxToken, "--conflux-timeout", "2s",
			"--sync-debounce", "100ms", "--log-level", "info",
			"--raft-log-store", e.logStore(),
		}
		e.nodes = append(e.nodes, n)
		e.c.join = append(e.c.join, n.proxies[1].Addr())
	}
	for i := range e.nodes {
		e.c.start(i, e.nodes[i].args...)
	}
	e.c.waitAllReady()
	e.checkLinksProxied()

	// The tunnel the configurations go to.
	e.c.putFragments(0, map[string]any{
		"target": map[string]any{"kind": "cloudflare.Tunnel", "name": faultsTunnel},
		"source": map[string]any{"kind": "ClusterTunnel", "name": "edge"},
		"spec":   map[string]any{"accountId": e2eCFAccount, "name": "edge"},
	})
	eventually(t, 30*time.Second, "the tunnel in the emulator", func() error {
		if _, ok := e.tunnelID(); !ok {
			return fmt.Errorf("no tunnel yet")
		}
		return nil
	})
	return e
}

// checkLinksProxied makes sure the nemesis controls the links: every
// member's raft and forwarding address is its proxy's.
func (e *faultEnv) checkLinksProxied() {
	t := e.t
	want := map[string][2]string{}
	for i, n := range e.nodes {
		want[e.c.nodes[i].id] = [2]string{n.proxies[0].Addr(), "http://" + n.proxies[2].Addr()}
	}
	eventually(t, 30*time.Second, "members advertising their proxies", func() error {
		st, err := e.c.client(0).Status(context.Background())
		if err != nil {
			return err
		}
		if len(st.Members) != len(want) {
			return fmt.Errorf("members %+v", st.Members)
		}
		for _, m := range st.Members {
			if w := want[m.ID]; m.RaftAddr != w[0] || m.HTTPAddr != w[1] {
				return fmt.Errorf("member %s advertises raft %s, http %s; want the proxies %s, %s", m.ID, m.RaftAddr, m.HTTPAddr, w[0], w[1])
			}
		}
		return nil
	})
}

// logStore picks the raft log backend from the seed, so that runs cover
// both. Not the seed's parity: clock-derived seeds are often all odd.
func (e *faultEnv) logStore() string {
	if rand.New(rand.NewPCG(e.seed, 2)).IntN(2) == 1 {
		return "wal"
	}
	return "boltdb"
}

// freePortsOn returns n ports free on ip.
func freePortsOn(t *testing.T, ip string, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("listen on %s: %v", ip, err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func (e *faultEnv) tunnelID() (string, bool) {
	for _, tn := range e.cf.Tunnels(e2eCFAccount) {
		if tn.Name == "edge" && !tn.Deleted {
			return tn.ID, true
		}
	}
	return "", false
}

// recordConfigs records every tunnel configuration the emulator accepts,
// in the order it accepts them.
func (e *faultEnv) recordConfigs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/configurations") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w}
		// The emulator serialises writes under its lock; recording after
		// it answers keeps the acceptance order for writes that do not
		// overlap, which is every pair one leader sends.
		next.ServeHTTP(rec, r)
		if rec.status/100 != 2 {
			return
		}
		var put struct {
			Config struct {
				Ingress []struct{ Hostname, Service string } `json:"ingress"`
			} `json:"config"`
		}
		if json.Unmarshal(body, &put) != nil {
			return
		}
		values := map[string]int{}
		for _, k := range e.keys {
			values[k.name] = 0
		}
		for _, in := range put.Config.Ingress {
			if m := serviceValue.FindStringSubmatch(in.Service); m != nil {
				v, _ := strconv.Atoi(m[1])
				values[strings.TrimSuffix(in.Hostname, ".example.com")] = v
			}
		}
		e.cfMu.Lock()
		e.cfPuts = append(e.cfPuts, cfWrite{at: time.Since(e.hist.start), values: values})
		e.cfMu.Unlock()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ---- clients ------------------------------------------------------------

// faultHTTP is the clients' HTTP client: a paused or cut-off node makes a
// request time out, an outcome the history records as unknown.
var faultHTTP = &http.Client{Timeout: 3 * time.Second}

// call sends one API request to node i's own HTTP address (clients reach
// every node directly; only node-to-node forwarding goes through the
// proxies).
func (e *faultEnv) call(ctx context.Context, i int, method, path string, q url.Values, body any, token string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	u := "http://" + e.c.nodes[i].httpAddr + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := faultHTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func fragmentQuery(k faultKey) url.Values {
	return url.Values{"target.kind": {k.target.Kind}, "target.name": {k.target.Name}, "source.kind": {faultsSource}, "source.name": {k.name}}
}

// definite reports whether a failed write certainly did not happen: a
// request refused before it was proposed (4xx, or 503 no_leader, which
// the leader answers only for commands raft never appended).
func definite(status int, body []byte) bool {
	if status >= 400 && status < 500 {
		return true
	}
	var eb api.ErrorBody
	return status == http.StatusServiceUnavailable && json.Unmarshal(body, &eb) == nil && eb.Error.Code == api.CodeNoLeader
}

// client runs random operations until ctx ends.
func (e *faultEnv) client(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(e.seed, uint64(id)+1))
	for ctx.Err() == nil {
		// Pacing, not waiting: a few ms between operations keeps each
		// fragment's history small enough to check exhaustively.
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		k := e.keys[rng.IntN(len(e.keys))]
		node := rng.IntN(len(e.c.nodes))
		switch r := rng.IntN(100); {
		case r < 45:
			e.put(id, node, k, e.newValue())
		case r < 55:
			e.delete(id, node, k)
		default:
			mode := "default"
			if r < 78 {
				mode = "consistent"
			}
			e.read(id, node, k, mode)
		}
	}
}

func (e *faultEnv) put(client, node int, k faultKey, v int) {
	in := regInput{Key: k.name, Kind: opPut, Value: v, Node: e.c.nodes[node].id}
	call := e.hist.now()
	status, body, err := e.call(context.Background(), node, http.MethodPut, "/v1/fragments", nil, k.fragment(v), e2eWriteToken)
	switch {
	case err == nil && status == http.StatusOK:
		var res api.WriteResult
		if json.Unmarshal(body, &res) == nil {
			e.hist.acked(v, res.Index)
		}
		e.hist.add(client, in, call, regOutput{}, e.hist.now())
	case err == nil && definite(status, body):
		if status != http.StatusServiceUnavailable {
			e.t.Errorf("put %s=%d via %s: %d %s", k.name, v, in.Node, status, body)
		}
	default:
		e.hist.add(client, in, call, regOutput{}, -1)
	}
}

func (e *faultEnv) delete(client, node int, k faultKey) {
	in := regInput{Key: k.name, Kind: opDelete, Node: e.c.nodes[node].id}
	call := e.hist.now()
	status, body, err := e.call(context.Background(), node, http.MethodDelete, "/v1/fragments", fragmentQuery(k), nil, e2eWriteToken)
	switch {
	case err == nil && (status == http.StatusOK || status == http.StatusNotFound):
		// 404: the delete went through the log and found nothing.
		e.hist.add(client, in, call, regOutput{}, e.hist.now())
	case err == nil && definite(status, body):
		if status != http.StatusServiceUnavailable {
			e.t.Errorf("delete %s via %s: %d %s", k.name, in.Node, status, body)
		}
	default:
		e.hist.add(client, in, call, regOutput{}, -1)
	}
}

// read records a successful read; a failed read has no effect and is left
// out of the history.
func (e *faultEnv) read(client, node int, k faultKey, mode string) (int, bool) {
	in := regInput{Key: k.name, Kind: opRead, Mode: mode, Node: e.c.nodes[node].id}
	q := fragmentQuery(k)
	q.Set("consistency", mode)
	call := e.hist.now()
	status, body, err := e.call(context.Background(), node, http.MethodGet, "/v1/fragments", q, nil, e2eReadToken)
	ret := e.hist.now()
	if err != nil || status != http.StatusOK {
		return 0, false
	}
	var frags []api.Fragment
	if err := json.Unmarshal(body, &frags); err != nil || len(frags) > 1 {
		e.t.Errorf("read %s via %s: %d fragments, %v: %s", k.name, in.Node, len(frags), err, body)
		return 0, false
	}
	v := 0
	if len(frags) == 1 {
		v = valueOf(frags[0].Spec)
	}
	e.hist.add(client, in, call, regOutput{Value: v}, ret)
	return v, true
}

// ---- nemesis ------------------------------------------------------------

// nemesis injects one fault at a time until ctx ends, holding each for a
// random while and healing it before the next.
func (e *faultEnv) nemesis(ctx context.Context) {
	rng := rand.New(rand.NewPCG(e.seed, 0))
	pause := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	faults := []func(*rand.Rand) (string, time.Duration, func()){
		e.killNode, e.pauseNode, e.pauseLeader, e.isolateNode, e.isolateLeader, e.cutPair, e.cutOneWay, e.delayNode,
		e.downstreamFaults,
	}
	for ctx.Err() == nil {
		pause(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		what, hold, heal := faults[rng.IntN(len(faults))](rng)
		e.logf("%s", what)
		// Sometimes the downstream misbehaves at the same time.
		var healDown func()
		if rng.IntN(3) == 0 {
			var w string
			w, _, healDown = e.downstreamFaults(rng)
			e.logf("%s", w)
		}
		if hold == 0 {
			hold = time.Duration(1000+rng.IntN(3000)) * time.Millisecond
		}
		pause(hold)
		heal()
		if healDown != nil {
			healDown()
		}
		e.logf("healed")
	}
}

func (e *faultEnv) killNode(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	e.c.nodes[i].hardKill()
	return fmt.Sprintf("kill -9 %s", e.c.nodes[i].id), 0, func() { e.c.start(i, e.nodes[i].args...) }
}

func (e *faultEnv) signal(i int, sig syscall.Signal) {
	if p := e.c.nodes[i]; p.running() {
		p.cmd.Process.Signal(sig)
	}
}

// pauseLeader stops the leader for a little longer than an election
// takes, and a little less than a client waits: reads sent to it while a
// successor takes writes are answered the moment it wakes, while it still
// believes it leads — the window a leader lease must close.
func (e *faultEnv) pauseLeader(rng *rand.Rand) (string, time.Duration, func()) {
	i := e.currentLeader()
	if i < 0 {
		return e.pauseNode(rng)
	}
	e.signal(i, syscall.SIGSTOP)
	hold := time.Duration(2500+rng.IntN(1500)) * time.Millisecond
	return fmt.Sprintf("SIGSTOP the leader %s for %s", e.c.nodes[i].id, hold), hold, func() { e.signal(i, syscall.SIGCONT) }
}

func (e *faultEnv) pauseNode(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	e.signal(i, syscall.SIGSTOP)
	return fmt.Sprintf("SIGSTOP %s", e.c.nodes[i].id), 0, func() { e.signal(i, syscall.SIGCONT) }
}

// setLinks sets the link from node `from` to node `to` on every proxy of
// `to` (raft, gossip, forwarding).
func (e *faultEnv) setLinks(from, to int, l faultnet.Link) {
	for _, px := range e.nodes[to].proxies {
		px.SetLink(e.nodes[from].ip, l)
	}
}

func (e *faultEnv) isolate(i int, l faultnet.Link) {
	for j := range e.nodes {
		if j != i {
			e.setLinks(i, j, l)
			e.setLinks(j, i, l)
		}
	}
}

func (e *faultEnv) isolateNode(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	e.isolate(i, faultnet.Link{Cut: true})
	return fmt.Sprintf("partition {%s} | the other two", e.c.nodes[i].id), 0, func() { e.isolate(i, faultnet.Link{}) }
}

func (e *faultEnv) isolateLeader(rng *rand.Rand) (string, time.Duration, func()) {
	i := e.currentLeader()
	if i < 0 {
		return e.isolateNode(rng)
	}
	e.isolate(i, faultnet.Link{Cut: true})
	return fmt.Sprintf("isolate the leader %s", e.c.nodes[i].id), 0, func() { e.isolate(i, faultnet.Link{}) }
}

// cutPair cuts two nodes from each other while both still reach the
// third: a partial partition, where each of the pair may keep calling
// elections the third one sees.
func (e *faultEnv) cutPair(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	j := (i + 1 + rng.IntN(len(e.nodes)-1)) % len(e.nodes)
	set := func(l faultnet.Link) {
		e.setLinks(i, j, l)
		e.setLinks(j, i, l)
	}
	set(faultnet.Link{Cut: true})
	return fmt.Sprintf("cut %s <-> %s (both still reach the third)", e.c.nodes[i].id, e.c.nodes[j].id), 0, func() { set(faultnet.Link{}) }
}

// cutOneWay cuts what one node sends to the others, or what it receives.
func (e *faultEnv) cutOneWay(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	out := rng.IntN(2) == 0
	set := func(l faultnet.Link) {
		for j := range e.nodes {
			if j == i {
				continue
			}
			if out {
				e.setLinks(i, j, l)
			} else {
				e.setLinks(j, i, l)
			}
		}
	}
	set(faultnet.Link{Cut: true})
	dir := "from"
	if !out {
		dir = "to"
	}
	return fmt.Sprintf("cut every link %s %s (one direction)", dir, e.c.nodes[i].id), 0, func() { set(faultnet.Link{}) }
}

func (e *faultEnv) delayNode(rng *rand.Rand) (string, time.Duration, func()) {
	i := rng.IntN(len(e.nodes))
	d := time.Duration(50+rng.IntN(250)) * time.Millisecond
	e.isolate(i, faultnet.Link{Delay: d})
	return fmt.Sprintf("delay every link of %s by %s", e.c.nodes[i].id, d), 0, func() { e.isolate(i, faultnet.Link{}) }
}

func (e *faultEnv) downstreamFaults(rng *rand.Rand) (string, time.Duration, func()) {
	var what []string
	add := func(name string, f cfemu.Fault, cf bool) {
		if cf {
			e.cf.AddFault(f)
		} else {
			e.cx.AddFault(f)
		}
		what = append(what, name)
	}
	switch rng.IntN(4) {
	case 0:
		add("Cloudflare 429 (Retry-After 1)", cfemu.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1, Probability: 0.7}, true)
		add("Conflux 429", cfemu.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1, Probability: 0.7}, false)
	case 1:
		add("Cloudflare 500/503", cfemu.Fault{Status: http.StatusInternalServerError, Probability: 0.5}, true)
		add("Conflux 503", cfemu.Fault{Status: http.StatusServiceUnavailable, Probability: 0.5}, false)
	case 2:
		// Longer than --cloudflare-timeout/--conflux-timeout (2s): the
		// sink times out, and the emulator drops the abandoned request.
		add("Cloudflare timeouts", cfemu.Fault{Delay: 5 * time.Second, Count: 3}, true)
		add("Conflux timeouts", cfemu.Fault{Delay: 5 * time.Second, Count: 3}, false)
	default:
		add("slow Cloudflare and Conflux (300ms)", cfemu.Fault{Delay: 300 * time.Millisecond}, true)
		add("", cfemu.Fault{Delay: 300 * time.Millisecond}, false)
	}
	return "downstream: " + strings.Join(slices.DeleteFunc(what, func(s string) bool { return s == "" }), ", "), 0, func() {
		e.cf.ClearFaults()
		e.cx.ClearFaults()
	}
}

// currentLeader asks the live, unpaused nodes who leads; -1 if unknown.
func (e *faultEnv) currentLeader() int {
	for i, p := range e.c.nodes {
		if !p.running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		status, body, err := e.call(ctx, i, http.MethodGet, "/v1/status", nil, nil, e2eReadToken)
		cancel()
		if err != nil || status != http.StatusOK {
			continue
		}
		var st api.ClusterStatus
		if json.Unmarshal(body, &st) != nil {
			continue
		}
		for j, q := range e.c.nodes {
			if q.id == st.Leader {
				return j
			}
		}
	}
	return -1
}

// heal ends every fault: links open, paused nodes resumed, dead nodes
// restarted, downstream faults cleared.
func (e *faultEnv) heal() {
	for i := range e.nodes {
		e.isolate(i, faultnet.Link{})
		e.signal(i, syscall.SIGCONT)
		if !e.c.nodes[i].running() {
			e.c.start(i, e.nodes[i].args...)
		}
	}
	e.cf.ClearFaults()
	e.cx.ClearFaults()
	e.logf("all healed")
	e.c.waitAllReady()
}

// ---- checks -------------------------------------------------------------

// checkHistory adds a final consistent read of every key and checks the
// whole history.
func (e *faultEnv) checkHistory() {
	t := e.t
	for _, k := range e.keys {
		eventually(t, 30*time.Second, "a final consistent read of "+k.name, func() error {
			if _, ok := e.read(99, 0, k, "consistent"); !ok {
				return fmt.Errorf("read failed")
			}
			return nil
		})
	}
	ops := e.hist.operations()
	var puts, unknown, reads int
	for _, op := range ops {
		switch in := op.Input.(regInput); {
		case in.Kind == opRead:
			reads++
		case op.Return >= openReturn:
			unknown++
		default:
			puts++
		}
	}
	t.Logf("history: %d operations to check: %d acknowledged writes and deletes, %d with unknown outcome, %d reads", len(ops), puts, unknown, reads)
	start := time.Now()
	v := checkLinearizable(ops, time.Minute)
	t.Logf("linearizability check: %d keys in %s (slowest key %s): %d not linearizable, %d not decided",
		v.keys, time.Since(start).Round(time.Millisecond), v.slowest.Round(time.Millisecond), len(v.illegal), len(v.unknown))
	err := v.err()
	if err == nil {
		return
	}
	for key, part := range v.illegal {
		_, info := porcupine.CheckOperationsVerbose(registerModel, part, time.Minute)
		viz := filepath.Join(os.TempDir(), fmt.Sprintf("conflux-faults-%d-%s.html", e.seed, key))
		if err := porcupine.VisualizePath(registerModel, info, viz); err == nil {
			t.Logf("porcupine visualization of %s: %s", key, viz)
		}
	}
	t.Errorf("the history is not proven linearizable (seed %d):\n%v", e.seed, err)
}

// checkReplicas waits until every node applied the same index and
// compares their state (fragments, targets with their sync records,
// sources), read from each node's own store.
func (e *faultEnv) checkReplicas() {
	t := e.t
	eventually(t, 60*time.Second, "identical state on every node", func() error {
		var first string
		for i := range e.c.nodes {
			var dump []string
			for _, path := range []string{"/v1/fragments", "/v1/targets", "/v1/sources"} {
				status, body, err := e.call(context.Background(), i, http.MethodGet, path, url.Values{"consistency": {"stale"}}, nil, e2eReadToken)
				if err != nil || status != http.StatusOK {
					return fmt.Errorf("%s on %s: %d %v", path, e.c.nodes[i].id, status, err)
				}
				dump = append(dump, string(body))
			}
			s := strings.Join(dump, "\n")
			if i == 0 {
				first = s
			} else if s != first {
				return fmt.Errorf("%s differs from %s", e.c.nodes[i].id, e.c.nodes[0].id)
			}
		}
		return nil
	})
}

// finalValues reads each key's final value (consistent).
func (e *faultEnv) finalValues() map[string]int {
	final := map[string]int{}
	for _, k := range e.keys {
		var v int
		eventually(e.t, 30*time.Second, "the final value of "+k.name, func() error {
			var ok bool
			if v, ok = e.read(99, 0, k, "consistent"); !ok {
				return fmt.Errorf("read failed")
			}
			return nil
		})
		final[k.name] = v
	}
	return final
}

// checkDownstream compares the emulators with the final fragments, then
// checks Conflux for duplicate versions and Cloudflare's accepted
// configurations for regressions.
func (e *faultEnv) checkDownstream() {
	t := e.t
	final := e.finalValues()
	eventually(t, 60*time.Second, "the emulators to hold the final fragments", func() error {
		id, ok := e.tunnelID()
		if !ok {
			return fmt.Errorf("no tunnel")
		}
		_, raw, _ := e.cf.TunnelConfig(e2eCFAccount, id)
		var cfg struct {
			Ingress []struct{ Hostname, Service string } `json:"ingress"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("tunnel configuration %s: %v", raw, err)
		}
		got := map[string]string{}
		for _, in := range cfg.Ingress {
			if in.Hostname != "" {
				got[in.Hostname] = in.Service
			}
		}
		for _, k := range e.keys {
			if k.target.Kind != "cloudflare.TunnelConfiguration" {
				continue
			}
			want := ""
			if v := final[k.name]; v != 0 {
				want = fmt.Sprintf("http://v%d.svc:80", v)
			}
			if got[k.hostname()] != want {
				return fmt.Errorf("tunnel rule %s: %q, want %q", k.hostname(), got[k.hostname()], want)
			}
		}
		configs := map[string]string{}
		for _, c := range e.cx.Configs() {
			configs[c.Tenant+"/"+c.Application+"/"+c.Environment+"/"+c.Name] = c.ID
		}
		for _, k := range e.keys {
			if k.target.Kind != "conflux.Config" {
				continue
			}
			id, exists := configs[k.target.Name]
			v := final[k.name]
			switch {
			case v == 0 && exists:
				return fmt.Errorf("conflux config %s exists, but its fragment was deleted", k.target.Name)
			case v == 0:
				continue
			case !exists:
				return fmt.Errorf("conflux config %s missing", k.target.Name)
			}
			versions := e.cx.Versions(id)
			if len(versions) == 0 || versions[len(versions)-1].Content != fmt.Sprintf(`{"v":%d}`, v) {
				return fmt.Errorf("conflux config %s: newest version is not {\"v\":%d}: %+v", k.target.Name, v, versions)
			}
		}
		return nil
	})
	for _, c := range e.cx.Configs() {
		seen := map[string]int{}
		for _, v := range e.cx.Versions(c.ID) {
			if n, dup := seen[v.Content]; dup {
				t.Errorf("conflux config %s/%s: versions %d and %d have the same content %s", c.Environment, c.Name, n, v.Number, v.Content)
			}
			seen[v.Content] = v.Number
		}
	}
	e.cfMu.Lock()
	puts := slices.Clone(e.cfPuts)
	e.cfMu.Unlock()
	e.hist.mu.Lock()
	bad := regressions(puts, e.hist.indexOf)
	e.hist.mu.Unlock()
	for _, b := range bad {
		t.Errorf("Cloudflare went back: %s", b)
	}
	t.Logf("downstream: %d tunnel configurations accepted, %d Conflux configs", len(puts), len(e.cx.Configs()))
}
