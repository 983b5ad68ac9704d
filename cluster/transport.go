package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/raft"
)

// advertiseAddr is a net.Addr that keeps the configured host:port verbatim
// (a DNS name stays a name, so TLS server names and StatefulSet names work).
type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }

// streamLayer is raft's stream layer over TCP, or TLS when client is set.
// Connections are dialled from the bind IP (see DialerFrom). With TLS,
// accepted connections handshake lazily on first read (inside raft's
// connection handler, so a bad peer never blocks Accept); dialled ones
// handshake before Dial returns, bounded by raft's dial timeout.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	dialer    net.Dialer
	client    *tls.Config // nil: plain TCP
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := s.dialer
	d.Timeout = timeout
	if s.client == nil {
		conn, err := d.DialContext(ctx, "tcp", string(address))
		if err != nil {
			return nil, fmt.Errorf("raft dial %s: %w", address, err)
		}
		return conn, nil
	}
	conn, err := (&tls.Dialer{NetDialer: &d, Config: s.client}).DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raft tls dial %s: %w", address, err)
	}
	return conn, nil
}

// DialerFrom returns a dialer whose connections leave from bindAddr's IP
// when bindAddr names one. On a machine with several addresses, peers (and
// their firewalls, and the fault suite's link proxies) then see every
// connection of a server come from the one address it serves on. An
// unspecified or empty host lets the kernel choose, as a plain dialer does.
func DialerFrom(bindAddr string) net.Dialer {
	host, _, err := net.SplitHostPort(bindAddr)
	if err != nil {
		return net.Dialer{}
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return net.Dialer{}
	}
	return net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
}

// tlsConfigs derives the server and client configs from the one RaftTLS.
func tlsConfigs(c *tls.Config) (server, client *tls.Config) {
	server = c.Clone()
	if server.MinVersion == 0 {
		server.MinVersion = tls.VersionTLS12
	}
	if server.ClientCAs != nil && server.ClientAuth == tls.NoClientCert {
		server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	client = c.Clone()
	if client.MinVersion == 0 {
		client.MinVersion = tls.VersionTLS12
	}
	if client.RootCAs == nil && client.ClientCAs != nil {
		client.RootCAs = client.ClientCAs
	}
	if len(client.Certificates) == 0 && client.GetClientCertificate == nil && c.GetCertificate != nil {
		get := c.GetCertificate
		client.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return get(&tls.ClientHelloInfo{})
		}
	}
	return server, client
}

// raftAdvertise returns the address other servers dial for raft.
func raftAdvertise(cfg Config) (string, error) {
	if cfg.RaftAdvertise != "" {
		if _, _, err := net.SplitHostPort(cfg.RaftAdvertise); err != nil {
			return "", fmt.Errorf("RaftAdvertise %q: %w", cfg.RaftAdvertise, err)
		}
		return cfg.RaftAdvertise, nil
	}
	host, port, err := net.SplitHostPort(cfg.RaftBindAddr)
	if err != nil {
		return "", fmt.Errorf("RaftBindAddr %q: %w", cfg.RaftBindAddr, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return cfg.RaftBindAddr, nil // port 0 is resolved after listening
	}
	if port == "0" {
		return "", errors.New("RaftBindAddr has an unspecified host and port 0: set RaftAdvertise")
	}
	if cfg.GossipAdvertise != "" {
		if gh, _, err := net.SplitHostPort(cfg.GossipAdvertise); err == nil && gh != "" {
			return net.JoinHostPort(gh, port), nil
		}
	}
	ip, err := sockaddr.GetPrivateIP()
	if err != nil {
		return "", fmt.Errorf("find a private IP to advertise for raft: %w", err)
	}
	if ip == "" {
		return "", errors.New("no private IP found to advertise for raft: set RaftAdvertise")
	}
	return net.JoinHostPort(ip, port), nil
}

// newTransport starts the raft transport: TLS with the given configs, or
// plain TCP when they are nil.
func newTransport(cfg Config, server, client *tls.Config) (*raft.NetworkTransport, error) {
	stream, err := newStreamLayer(cfg, server, client)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  newHCLogger(cfg.Logger, "raft-net"),
	}), nil
}

// newStreamLayer listens on the raft bind address.
func newStreamLayer(cfg Config, server, client *tls.Config) (*streamLayer, error) {
	adv, err := raftAdvertise(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.RaftBindAddr)
	if err != nil {
		return nil, fmt.Errorf("raft listen on %s: %w", cfg.RaftBindAddr, err)
	}
	if adv == cfg.RaftBindAddr { // bind host is concrete; take the real port
		adv = ln.Addr().String()
	}
	stream := &streamLayer{Listener: ln, advertise: advertiseAddr(adv), dialer: DialerFrom(cfg.RaftBindAddr)}
	if server != nil {
		stream.Listener, stream.client = tls.NewListener(ln, server), client
		return stream, nil
	}
	a, err := resolveAdvertise(adv)
	if err != nil {
		ln.Close()
		return nil, err
	}
	stream.advertise = a
	return stream, nil
}

// resolveAdvertise resolves a plain-TCP advertise address once, as raft's
// own TCP transport does: peers get a concrete IP (a DNS name is kept only
// with TLS, where it is the certificate's name).
func resolveAdvertise(adv string) (net.Addr, error) {
	a, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		return nil, fmt.Errorf("resolve raft advertise address %q: %w", adv, err)
	}
	if a.IP == nil || a.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft advertise address %q is not advertisable: set RaftAdvertise", adv)
	}
	return a, nil
}
