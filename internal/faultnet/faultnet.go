// Package faultnet puts a controllable network between the servers of a
// test cluster on one machine. Each server listens on its own loopback IP
// and dials its peers from that IP (cluster.DialerFrom), so a Proxy in
// front of one server's port knows which server every connection and
// packet comes from, and applies the Link the test set for that direction:
// cut (a partition, one direction at a time), delayed, or open.
//
// A connection belongs to the direction of the server that opened it: raft
// RPCs from A to B travel on connections A opened to B (the replies too),
// so cutting A→B stops A's RPCs to B while B's RPCs to A still flow — the
// asymmetric partition that raft must survive.
package faultnet

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Link is the state of one direction between two servers.
type Link struct {
	// Cut drops everything: open connections are closed, new ones are
	// accepted and held without an answer (as a lost SYN-ACK looks to a
	// dialer that gave its connection a deadline), packets are dropped.
	Cut bool
	// Delay is added to every chunk of data and every packet.
	Delay time.Duration
}

// Proxy forwards TCP (and, when asked, UDP) traffic from a listen address
// to a target address, by the Link of each source IP.
type Proxy struct {
	target string
	log    *slog.Logger
	tcp    net.Listener
	udp    *net.UDPConn // nil without UDP

	mu     sync.Mutex
	closed bool
	links  map[string]Link         // by source IP
	conns  map[*proxyConn]struct{} // open forwarded connections
	peers  map[string]*net.UDPConn // UDP source address → upstream socket
	wg     sync.WaitGroup          // every goroutine the proxy started
	held   map[net.Conn]struct{}   // accepted while cut, never forwarded
}

// Listen starts a proxy on listen (host:port; port 0 picks one) that
// forwards to target. With udp it also relays UDP datagrams on the same
// port (memberlist gossip uses both).
func Listen(listen, target string, udp bool, log *slog.Logger) (*Proxy, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("faultnet: listen %s: %w", listen, err)
	}
	p := &Proxy{
		target: target, log: log, tcp: ln,
		links: map[string]Link{}, conns: map[*proxyConn]struct{}{},
		peers: map[string]*net.UDPConn{}, held: map[net.Conn]struct{}{},
	}
	if udp {
		ua, err := net.ResolveUDPAddr("udp", ln.Addr().String())
		if err == nil {
			p.udp, err = net.ListenUDP("udp", ua)
		}
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("faultnet: listen udp %s: %w", ln.Addr(), err)
		}
		p.wg.Add(1)
		go p.serveUDP()
	}
	p.wg.Add(1)
	go p.serveTCP()
	return p, nil
}

// Addr is the proxy's listen address.
func (p *Proxy) Addr() string { return p.tcp.Addr().String() }

// SetLink sets the link from the server at source IP to the target. Open
// connections from that IP are closed when the link is cut; held ones are
// released (closed, so the dialer retries) when it is no longer cut.
func (p *Proxy) SetLink(source string, l Link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l == (Link{}) {
		delete(p.links, source)
	} else {
		p.links[source] = l
	}
	for c := range p.conns {
		if c.source == source {
			c.setDelay(l.Delay)
			if l.Cut {
				c.close()
			}
		}
	}
	if !l.Cut {
		for c := range p.held {
			if hostOf(c.RemoteAddr()) == source {
				c.Close()
				delete(p.held, c)
			}
		}
	}
}

func (p *Proxy) link(source string) Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.links[source]
}

// Close stops the proxy and closes every connection it holds.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for c := range p.conns {
		c.close()
	}
	for c := range p.held {
		c.Close()
	}
	for _, u := range p.peers {
		u.Close()
	}
	p.mu.Unlock()
	err := p.tcp.Close()
	if p.udp != nil {
		p.udp.Close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) serveTCP() {
	defer p.wg.Done()
	for {
		in, err := p.tcp.Accept()
		if err != nil {
			return
		}
		source := hostOf(in.RemoteAddr())
		if p.link(source).Cut {
			p.hold(in)
			continue
		}
		p.wg.Add(1)
		go p.forward(in, source)
	}
}

// hold keeps a connection accepted during a cut open and silent.
func (p *Proxy) hold(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	p.held[c] = struct{}{}
}

func (p *Proxy) forward(in net.Conn, source string) {
	defer p.wg.Done()
	out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		// The target is down: refuse, as the target itself would.
		in.Close()
		return
	}
	c := &proxyConn{source: source, in: in, out: out, done: make(chan struct{})}
	c.delay.Store(int64(p.link(source).Delay))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { defer pipes.Done(); c.pipe(out, in) }()
	go func() { defer pipes.Done(); c.pipe(in, out) }()
	pipes.Wait()
	c.close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// serveUDP relays datagrams: each source address gets its own upstream
// socket, so the target's replies to it find their way back.
func (p *Proxy) serveUDP() {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := p.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		l := p.link(from.IP.String())
		if l.Cut {
			continue
		}
		up, err := p.upstream(from)
		if err != nil {
			p.log.Debug("faultnet: udp upstream", "err", err)
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		send := func() { _, _ = up.Write(msg) }
		if l.Delay > 0 {
			time.AfterFunc(l.Delay, send)
		} else {
			send()
		}
	}
}

func (p *Proxy) upstream(from *net.UDPAddr) (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, net.ErrClosed
	}
	if up, ok := p.peers[from.String()]; ok {
		return up, nil
	}
	ta, err := net.ResolveUDPAddr("udp", p.target)
	if err != nil {
		return nil, err
	}
	up, err := net.DialUDP("udp", nil, ta)
	if err != nil {
		return nil, err
	}
	p.peers[from.String()] = up
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			if p.link(from.IP.String()).Cut {
				continue
			}
			_, _ = p.udp.WriteToUDP(buf[:n], from)
		}
	}()
	return up, nil
}

// proxyConn is one forwarded TCP connection.
type proxyConn struct {
	source  string
	in, out net.Conn
	delay   atomic.Int64 // time.Duration
	once    sync.Once
	done    chan struct{}
}

func (c *proxyConn) setDelay(d time.Duration) { c.delay.Store(int64(d)) }

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.in.Close()
		c.out.Close()
	})
}

// pipe copies src to dst, holding each chunk back by the link's delay
// (measured from when it was read, so a steady stream is shifted, not
// slowed down chunk by chunk).
func (c *proxyConn) pipe(dst, src net.Conn) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	queue := make(chan chunk, 256)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case queue <- chunk{time.Now(), buf[:n]}:
				case <-c.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range queue {
		if d := time.Duration(c.delay.Load()); d > 0 {
			select {
			case <-time.After(time.Until(ch.at.Add(d))):
			case <-c.done:
			}
		}
		if _, err := dst.Write(ch.data); err != nil {
			c.close() // ends the reader too
			for range queue {
			}
			return
		}
	}
	// src ended: half-close, so that the other direction drains as TCP's
	// would.
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
