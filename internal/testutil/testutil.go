// Package testutil holds the helpers the integration tests of several
// packages share: free loopback ports, polling with a deadline, and a
// concurrency-safe log buffer. It is for tests only.
package testutil

import (
	"bytes"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FreePorts returns n distinct ports of 127.0.0.1 that are free for both
// TCP and UDP (memberlist gossip uses both on one port). They are held
// until all n are found, so the same port is never returned twice.
//
// The ports come from below the kernel's ephemeral range when it leaves
// room: a port in that range may be handed to any outgoing connection
// (the servers dial from their bind IP, which allocates the port at bind
// time) the moment its listener closes, and a node restarted on it then
// fails with "address already in use".
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			t.Fatalf("found only %d of %d free TCP+UDP ports", len(ports), n)
		}
		l, err := net.Listen("tcp", Addr(candidatePort()))
		if err != nil {
			continue // taken: try another
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			l.Close()
			continue
		}
		held = append(held, func() { l.Close(); u.Close() })
		ports = append(ports, port)
	}
	return ports
}

// FreePort returns one port of 127.0.0.1 free for TCP and UDP.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// WaitFor polls cond until it holds, failing the test after timeout. The
// short sleep between polls is a poll interval, not a wait for state.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// portsBelowEphemeral is the range candidatePort draws from: [low, high),
// high being the start of the ephemeral range; empty when that range
// starts too low to leave room.
var portsBelowEphemeral = sync.OnceValues(func() (low, high int) {
	const low0 = 20000
	high = 32768 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				high = n
			}
		}
	}
	if high-low0 < 1000 {
		return 0, 0
	}
	return low0, high
})

// candidatePort is a random port below the ephemeral range, or 0 (the
// kernel's choice) when there is no room below it.
func candidatePort() int {
	low, high := portsBelowEphemeral()
	if high == 0 {
		return 0
	}
	return low + rand.IntN(high-low)
}
