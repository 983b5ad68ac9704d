package faultnet

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echo serves a line echo on 127.0.0.1 until the test ends.
func echo(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func() {
			buf := make([]byte, 1500)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends one line from source IP through the proxy and reports
// how long the answer took, or an error.
func roundTrip(proxy, network, source string) (time.Duration, error) {
	var local net.Addr = &net.TCPAddr{IP: net.ParseIP(source)}
	if network == "udp" {
		local = &net.UDPAddr{IP: net.ParseIP(source)}
	}
	d := net.Dialer{LocalAddr: local, Timeout: time.Second}
	c, err := d.Dial(network, proxy)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	start := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func TestProxyLinks(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			p, err := Listen("127.0.0.1:0", echo(t, network), network == "udp", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			const a, b = "127.0.0.2", "127.0.0.3"
			steps := []struct {
				name     string
				link     Link
				aOK, bOK bool
				minDelay time.Duration
			}{
				{"open", Link{}, true, true, 0},
				{"a cut", Link{Cut: true}, false, true, 0},
				{"a delayed", Link{Delay: 100 * time.Millisecond}, true, true, 100 * time.Millisecond},
				{"healed", Link{}, true, true, 0},
			}
			for _, s := range steps {
				p.SetLink(a, s.link)
				took, err := roundTrip(p.Addr(), network, a)
				if (err == nil) != s.aOK {
					t.Fatalf("%s: from %s: err %v, want ok=%v", s.name, a, err, s.aOK)
				}
				if err == nil && took < s.minDelay {
					t.Fatalf("%s: answered in %v, want at least %v", s.name, took, s.minDelay)
				}
				if _, err := roundTrip(p.Addr(), network, b); (err == nil) != s.bOK {
					t.Fatalf("%s: from %s: err %v, want ok=%v", s.name, b, err, s.bOK)
				}
			}
		})
	}
}

func TestCutClosesOpenConnections(t *testing.T) {
	p, err := Listen("127.0.0.1:0", echo(t, "tcp"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	c, err := d.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	c.Write([]byte("one\n"))
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	p.SetLink("127.0.0.2", Link{Cut: true})
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("two\n"))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("read %q through a cut link", line)
	}
}
