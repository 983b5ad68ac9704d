package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// nodeTLS issues a server+client certificate for 127.0.0.1 and returns the
// node's RaftTLS config (mutual TLS with this CA).
func (ca *testCA) nodeTLS(t testing.TB, id string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{id},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientCAs:    ca.pool,
		RootCAs:      ca.pool,
	}
}

func TestTLSCluster(t *testing.T) {
	ca := newTestCA(t, "conflux test CA")
	nodes, specs, leader := startCluster(t, 3, func(c *Config) { c.RaftTLS = ca.nodeTLS(t, c.NodeID) })
	var idx uint64
	for _, cmd := range []string{"tls-1", "tls-2"} {
		idx = apply(t, leader, cmd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.WaitForApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
		if !fsmOf(n).has("tls-1", "tls-2") {
			t.Fatalf("%s: %v", n.ID(), fsmOf(n).commands())
		}
	}

	// A node whose certificate comes from another CA joins gossip (which
	// is not TLS) but cannot take part in raft traffic.
	rogueCA := newTestCA(t, "rogue CA")
	rs := newSpecs(t, "rogue", 1)[0]
	rcfg := testConfig(t, rs, gossipAddrs(specs), 3)
	rcfg.RaftTLS = rogueCA.nodeTLS(t, rs.id)
	rogue := startNode(t, rcfg)

	// The leader adds it as a non-voter and its heartbeats fail.
	testutil.WaitFor(t, 20*time.Second, "leader fails to replicate to the rogue node", func() bool {
		l := agreedLeader(nodes)
		if l == nil {
			return false
		}
		l.mu.Lock()
		failing := l.failing[rs.id]
		l.mu.Unlock()
		return failing && slices.Contains(nonvoterIDs(l), rs.id)
	})
	leader = agreedLeader(nodes)
	idx = apply(t, leader, "tls-3")
	for _, n := range nodes {
		if err := n.WaitForApplied(ctx, idx); err != nil {
			t.Fatal(err)
		}
	}
	if got := rogue.Raft().LastIndex(); got != 0 {
		t.Fatalf("rogue node received raft log entries up to %d", got)
	}
	if slices.Contains(voterIDs(leader), rs.id) {
		t.Fatal("rogue node was promoted to voter")
	}
	// Its own RPCs are refused too.
	var resp raft.AppendEntriesResponse
	err := rogue.trans.AppendEntries(raft.ServerID(leader.ID()), raft.ServerAddress(leader.RaftAddr()),
		&raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte(rs.id), Addr: []byte(rogue.RaftAddr())}, Term: 1}, &resp)
	if err == nil {
		t.Fatal("AppendEntries from a node with a foreign CA succeeded")
	}
}

func nonvoterIDs(n *Node) []string {
	var ids []string
	cf := n.Raft().GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Nonvoter {
			ids = append(ids, string(s.ID))
		}
	}
	return ids
}
