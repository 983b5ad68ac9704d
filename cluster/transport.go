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

// tlsStreamLayer is a raft.StreamLayer over TLS. Accepted connections
// handshake lazily on first read (inside raft's connection handler, so a bad
// peer never blocks Accept); dialled connections handshake before Dial
// returns, bounded by raft's dial timeout.
type tlsStreamLayer struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
}

var _ raft.StreamLayer = (*tlsStreamLayer)(nil)

func (s *tlsStreamLayer) Addr() net.Addr { return s.advertise }

func (s *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.client}
	conn, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raft tls dial %s: %w", address, err)
	}
	return conn, nil
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

// newTransport starts the raft transport: TLS when cfg.RaftTLS is set,
// otherwise raft's TCP transport.
func newTransport(cfg Config) (*raft.NetworkTransport, error) {
	adv, err := raftAdvertise(cfg)
	if err != nil {
		return nil, err
	}
	logger := newHCLogger(cfg.Logger, "raft-net")
	if cfg.RaftTLS == nil {
		var advAddr net.Addr
		if adv != cfg.RaftBindAddr {
			a, err := net.ResolveTCPAddr("tcp", adv)
			if err != nil {
				return nil, fmt.Errorf("resolve raft advertise address %q: %w", adv, err)
			}
			advAddr = a
		}
		t, err := raft.NewTCPTransportWithConfig(cfg.RaftBindAddr, advAddr, &raft.NetworkTransportConfig{
			MaxPool: transportMaxPool,
			Timeout: transportTimeout,
			Logger:  logger,
		})
		if err != nil {
			return nil, fmt.Errorf("raft tcp transport on %s: %w", cfg.RaftBindAddr, err)
		}
		return t, nil
	}
	server, client := tlsConfigs(cfg.RaftTLS)
	ln, err := net.Listen("tcp", cfg.RaftBindAddr)
	if err != nil {
		return nil, fmt.Errorf("raft tls listen on %s: %w", cfg.RaftBindAddr, err)
	}
	if adv == cfg.RaftBindAddr { // bind host is concrete; take the real port
		adv = ln.Addr().String()
	}
	stream := &tlsStreamLayer{
		Listener:  tls.NewListener(ln, server),
		advertise: advertiseAddr(adv),
		client:    client,
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  logger,
	}), nil
}
