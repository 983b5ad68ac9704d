package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/server"
)

// A body over the limit is a 413 naming the limit and the flag — with the
// default limit, declared or chunked. On main a 17 MiB source set was read
// whole (the limit was 64 MiB).
func TestOversizedBodyIs413(t *testing.T) {
	c := newTestCluster(t, 1)
	url := c.nodes[0].URL() + "/v1/source-fragments"
	pad := strings.Repeat("x", httpapi.DefaultMaxRequestBody)
	body := `{"source":{"kind":"API","name":"big"},"fragments":[],"pad":"` + pad + `"}`
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = strings.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // no length: sent chunked
		}
		req, err := http.NewRequest("PUT", url, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+writeToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("chunked=%v: %v", chunked, err)
		}
		var eb api.ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 413 || eb.Error.Code != api.CodeTooLarge ||
			!strings.Contains(eb.Error.Message, strconv.Itoa(httpapi.DefaultMaxRequestBody)) || !strings.Contains(eb.Error.Message, "--max-request-body") {
			t.Fatalf("chunked=%v: got %d %+v (%v); want 413 too_large naming %d and --max-request-body", chunked, resp.StatusCode, eb.Error, err, httpapi.DefaultMaxRequestBody)
		}
	}
}

// Writes whose bodies would exceed the node's in-flight budget are
// answered 503 with Retry-After at once, without reading them; the node
// goes on serving, and the budget frees when the held write ends.
func TestInflightBodyBudget(t *testing.T) {
	c := newTestClusterWith(t, 1, func(cfg *server.Config) {
		cfg.API.Requests.MaxInflightBytes = 1 << 20
	})
	addr := strings.TrimPrefix(c.nodes[0].URL(), "http://")
	// A write that sends its headers and half its body, then stalls.
	const held = 900 << 10
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "PUT /v1/source-fragments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", writeToken, held)
	conn.Write([]byte(`{"source":{"kind":"API","name":"slow"},"fragments":[],"x":"` + strings.Repeat("x", held/2)))
	eventually(t, 10*time.Second, "the held body is counted", func() error {
		if v := metricValue(t, c.nodes[0].URL(), "conflux_http_inflight_body_bytes"); v < held {
			return fmt.Errorf("inflight %v", v)
		}
		return nil
	})
	r := rawRequest(t, "PUT", c.nodes[0].URL()+"/v1/source-fragments", writeToken, `{"source":{"kind":"API","name":"other"},"fragments":[],"x":"`+strings.Repeat("y", 200<<10)+`"}`)
	if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "--max-inflight-bytes") {
		t.Fatalf("second write: %d Retry-After=%q %s; want 503 with Retry-After naming --max-inflight-bytes", r.status, r.header.Get("Retry-After"), r.body)
	}
	// Small writes that fit still go through.
	if r := rawRequest(t, "PUT", c.nodes[0].URL()+"/v1/fragments", writeToken, validFragment); r.status != 200 {
		t.Fatalf("a small write beside the held one: %d %s", r.status, r.body)
	}
	conn.Close()
	eventually(t, 10*time.Second, "the budget is free again", func() error {
		if v := metricValue(t, c.nodes[0].URL(), "conflux_http_inflight_body_bytes"); v != 0 {
			return fmt.Errorf("inflight %v", v)
		}
		return nil
	})
}

// One token over its rate gets 429 with Retry-After; another token, and
// health, readiness and metrics, are served as before — also when the
// writes reach the leader forwarded by a follower. Callers without a valid
// token are limited per IP.
func TestPerTokenRateLimit(t *testing.T) {
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		cfg.API.Requests.TokenRate = 0.2
		cfg.API.Requests.TokenBurst = 5
		cfg.API.Requests.AnonRate = 0.2
		cfg.API.Requests.AnonBurst = 3
	})
	f := c.follower()
	follower := c.nodes[f].URL()
	var got []int
	for range 8 {
		got = append(got, rawRequest(t, "PUT", follower+"/v1/fragments", writeToken, validFragment).status)
	}
	r := rawRequest(t, "PUT", follower+"/v1/fragments", writeToken, validFragment)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("statuses %v then %d (Retry-After %q): want 429 with Retry-After once the burst of 5 is spent", got, r.status, r.header.Get("Retry-After"))
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 5 {
		t.Fatalf("Retry-After %q: want whole seconds until a token is back (1-5)", r.header.Get("Retry-After"))
	}
	var eb api.ErrorBody
	if json.Unmarshal(r.body, &eb) != nil || eb.Error.Code != api.CodeTooManyRequests {
		t.Fatalf("429 body %s: want code %s", r.body, api.CodeTooManyRequests)
	}
	// Another producer's token, through the same follower to the same
	// leader, is not hurt.
	for i := range 4 {
		if r := rawRequest(t, "GET", follower+"/v1/fragments", readToken, ""); r.status != 200 {
			t.Fatalf("read token request %d: %d %s", i, r.status, r.body)
		}
		if r := rawRequest(t, "GET", c.nodes[c.leader()].URL()+"/v1/kinds", adminToken, ""); r.status != 200 {
			t.Fatalf("admin token request %d on the leader: %d %s", i, r.status, r.body)
		}
	}
	eventually(t, 20*time.Second, "the follower is ready", func() error {
		if r := rawRequest(t, "GET", follower+"/readyz", "", ""); r.status != 200 {
			return fmt.Errorf("/readyz: %d", r.status)
		}
		return nil
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		for range 10 {
			if r := rawRequest(t, "GET", follower+path, "", ""); r.status != 200 {
				t.Fatalf("%s: %d", path, r.status)
			}
		}
	}
	// Guessing tokens from one IP: 401 for the burst, then 429.
	var anon []int
	for range 5 {
		anon = append(anon, rawRequest(t, "GET", follower+"/v1/kinds", "guess-"+strings.Repeat("0", 30), "").status)
	}
	if anon[0] != 401 || anon[len(anon)-1] != 429 {
		t.Fatalf("unauthenticated statuses %v: want 401 first, 429 once the burst of 3 is spent", anon)
	}
}

// Keep-alive connections that send nothing more are closed after the
// idle timeout; on main they stayed open for good (20k of them exhausted
// the node's file descriptors).
func TestIdleConnectionsAreClosed(t *testing.T) {
	c := newTestClusterWith(t, 1, func(cfg *server.Config) {
		cfg.API.IdleTimeout = 300 * time.Millisecond
		cfg.API.ReadHeaderTimeout = 300 * time.Millisecond
	})
	addr := strings.TrimPrefix(c.nodes[0].URL(), "http://")
	for _, sendRequest := range []bool{true, false} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		br := bufio.NewReader(conn)
		if sendRequest {
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = br.ReadByte()
		if err != io.EOF {
			t.Fatalf("request sent=%v: read on an idle connection gave %v after %s; want EOF (closed by the server)", sendRequest, err, time.Since(start).Round(time.Millisecond))
		}
	}
}

// The connection cap holds under many idle connections: a connection past
// the cap is not served until one closes, and once the idle ones time out
// the node answers again.
func TestConnectionCap(t *testing.T) {
	const limit = 4
	c := newTestClusterWith(t, 1, func(cfg *server.Config) {
		cfg.API.MaxConnections = limit
		cfg.API.IdleTimeout = 30 * time.Second
		cfg.API.ReadHeaderTimeout = 500 * time.Millisecond
	})
	addr := strings.TrimPrefix(c.nodes[0].URL(), "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn, bufio.NewReader(conn)
	}
	get := func(conn net.Conn, br *bufio.Reader, wait time.Duration) error {
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
	// limit keep-alive connections, each served once and then idle.
	var held []net.Conn
	for range limit {
		conn, br := dial()
		if err := get(conn, br, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	extra, extraBR := dial()
	if err := get(extra, extraBR, 500*time.Millisecond); err == nil {
		t.Fatalf("a connection past the cap of %d was served", limit)
	}
	held[0].Close()
	if err := get(extra, extraBR, 10*time.Second); err != nil {
		t.Fatalf("the waiting connection was not served after one closed: %v", err)
	}
	for _, conn := range held[1:] {
		conn.Close()
	}
	extra.Close()

	// Many connections that never send a request: each is closed after
	// the read-header timeout, and the node serves again.
	for range 40 {
		dial()
	}
	eventually(t, 30*time.Second, "a request is served after 40 silent connections", func() error {
		client := &http.Client{Timeout: 2 * time.Second}
		resp, err := client.Get(c.nodes[0].URL() + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// metricValue reads one unlabelled sample from a node's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	r := rawRequest(t, "GET", base+"/metrics", "", "")
	for _, line := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// eventually polls cond until it returns nil, failing with its last error
// after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	var err error
	deadline := time.Now().Add(timeout)
	for err = cond(); err != nil; err = cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s: %v", timeout, what, err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not a wait for state
	}
}

// The write timeout bounds ordinary answers but not a long poll: a write
// made with ?wait through a follower gets its 504 wait_timeout after the
// wait, well past a write timeout of 300ms, and a snapshot download is
// not cut off either.
func TestWriteTimeoutSparesWaitsAndSnapshots(t *testing.T) {
	c := newTestClusterWith(t, 3, func(cfg *server.Config) {
		cfg.API.WriteTimeout = 300 * time.Millisecond
	})
	f := c.follower()
	start := time.Now()
	r := rawRequest(t, "PUT", c.nodes[f].URL()+"/v1/fragments?wait=1500ms", writeToken, validFragment)
	var eb api.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil || r.status != 504 || eb.Error.Code != api.CodeWaitTimeout {
		t.Fatalf("?wait=1500ms with a 300ms write timeout: %d %s (%v) after %s; want 504 wait_timeout", r.status, r.body, err, time.Since(start))
	}
	if r := rawRequest(t, "GET", c.nodes[f].URL()+"/v1/snapshot", adminToken, ""); r.status != 200 || len(r.body) == 0 {
		t.Fatalf("snapshot download: %d, %d bytes", r.status, len(r.body))
	}
}
