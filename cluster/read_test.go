package cluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestDialerFrom(t *testing.T) {
	cases := []struct {
		bind string
		want string // local IP, "" for the kernel's choice
	}{
		{"127.0.0.9:7781", "127.0.0.9"},
		{"[::1]:0", "::1"},
		{":7781", ""},
		{"0.0.0.0:7781", ""},
		{"[::]:7781", ""},
		{"node-0.conflux-sync-headless:7781", ""}, // a name is not bound to
		{"no-port", ""},
	}
	for _, tc := range cases {
		d := DialerFrom(tc.bind)
		got := ""
		if d.LocalAddr != nil {
			got = d.LocalAddr.(*net.TCPAddr).IP.String()
		}
		if got != tc.want {
			t.Errorf("DialerFrom(%q) binds %q, want %q", tc.bind, got, tc.want)
		}
	}
}

// TestStreamLayerDialsFromBindIP: a peer sees a raft connection come from
// the dialler's bind IP, which is what lets a proxy tell servers apart.
func TestStreamLayerDialsFromBindIP(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	cfg := Config{RaftBindAddr: "127.0.0.7:0", Logger: testLogger(t)}
	stream, err := newStreamLayer(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := peer.Accept()
		if err != nil {
			return
		}
		accepted <- c.RemoteAddr()
		c.Close()
	}()
	conn, err := stream.Dial(raft.ServerAddress("127.0.0.1:"+portOf(t, peer.Addr())), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case a := <-accepted:
		if ip := a.(*net.TCPAddr).IP.String(); ip != "127.0.0.7" {
			t.Fatalf("connection came from %s, want 127.0.0.7", ip)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
	}
}

func portOf(t *testing.T, a net.Addr) string {
	t.Helper()
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestLeaderReads: the read checks pass on the leader only, and a leader
// cut off from its quorum stops passing VerifyLeaderLease within about one
// lease.
func TestLeaderReads(t *testing.T) {
	nodes, _, leader := startCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := leader.WaitLeaderEstablished(ctx); err != nil {
		t.Fatalf("WaitLeaderEstablished on the leader: %v", err)
	}
	for range 2 { // the second is answered from the lease
		if err := leader.VerifyLeaderLease(ctx); err != nil {
			t.Fatalf("VerifyLeaderLease on the leader: %v", err)
		}
	}
	for _, n := range nodes {
		if n == leader {
			continue
		}
		if err := n.WaitLeaderEstablished(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("WaitLeaderEstablished on follower %s: %v, want ErrNotLeader", n.ID(), err)
		}
		if err := n.VerifyLeaderLease(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("VerifyLeaderLease on follower %s: %v, want ErrNotLeader", n.ID(), err)
		}
	}

	for _, n := range nodes {
		if n != leader {
			n.Kill()
		}
	}
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		vctx, vcancel := context.WithTimeout(context.Background(), time.Second)
		err := leader.VerifyLeaderLease(vctx)
		vcancel()
		if err != nil {
			t.Logf("a leader without its quorum failed VerifyLeaderLease after %s: %v", time.Since(start).Round(time.Millisecond), err)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a leader without its quorum still passes VerifyLeaderLease after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
