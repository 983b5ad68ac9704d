package cluster

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cluster PKI
//
// One CA per cluster secret: its ed25519 key is HKDF(secret, "conflux-sync
// ca v1") and its certificate is self-signed with a fixed serial and
// validity, so every server derives the same CA without talking to anyone.
// Each server has its own ed25519 key, generated at first start and kept in
// DataDir/raft/node-key.pem (0600); its certificate is issued locally by the
// primary secret's CA, names the node id in a URI SAN
// (spiffe://conflux-sync/node/<id>), lives NodeCertLifetime and is re-issued
// after two thirds of it and whenever the secrets change. Peers are verified
// against every loaded secret's CA; host names play no part, node ids do:
// a node id bound in the replicated store (see IdentityStore) only
// handshakes with the key it was bound to.

const (
	// DefaultNodeCertLifetime is how long a node certificate is valid.
	// Re-issue is local and automatic; a short life bounds what a stolen
	// certificate without its key-holding node is worth.
	DefaultNodeCertLifetime = 7 * 24 * time.Hour

	nodeKeyFile = "node-key.pem"
	nodeURIBase = "spiffe://conflux-sync/node/"
	// probeTimeout bounds the TLS handshake autopilot uses to check that a
	// server holds a certificate for the node id it claims.
	probeTimeout = 2 * time.Second
)

var (
	caNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	caNotAfter  = time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC)

	// ErrKeyMismatch: a peer presented a valid certificate for a node id
	// that is bound to another key (an impostor, or a node whose data dir
	// was wiped: `peers remove` it first).
	ErrKeyMismatch = errors.New("node id is bound to another key")
)

// KeyFingerprint is the SHA-256 of a DER SubjectPublicKeyInfo, unpadded
// base64url (43 characters).
func KeyFingerprint(spki []byte) string {
	sum := sha256.Sum256(spki)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// nodeURI is the URI SAN naming node id.
func nodeURI(id string) *url.URL {
	u, _ := url.Parse(nodeURIBase + url.PathEscape(id)) // an escaped segment always parses
	return u
}

// certNodeID returns the node id a certificate is issued for ("" if none).
func certNodeID(c *x509.Certificate) string {
	for _, u := range c.URIs {
		s := u.String()
		if rest, ok := strings.CutPrefix(s, nodeURIBase); ok {
			if id, err := url.PathUnescape(rest); err == nil {
				return id
			}
		}
	}
	return ""
}

// clusterCA is the CA derived from one secret.
type clusterCA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
}

func deriveCA(secret []byte) (*clusterCA, error) {
	key := ed25519.NewKeyFromSeed(derive(secret, caKeyInfo, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	ski := sha256.Sum256(pub)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "conflux-sync cluster CA " + hex.EncodeToString(ski[:4])},
		NotBefore:             caNotBefore,
		NotAfter:              caNotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
		SubjectKeyId:          ski[:20],
	}
	// ed25519 signatures are deterministic: every server derives the
	// same certificate bytes.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("derive cluster CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("derive cluster CA: %w", err)
	}
	return &clusterCA{cert: cert, key: key}, nil
}

// loadNodeKey reads the node key from dir, creating it at first start.
func loadNodeKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, nodeKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createNodeKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("node key %s: no PKCS#8 PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("node key %s: not an ed25519 key", path)
	}
	return key, nil
}

func createNodeKey(path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode node key: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write node key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write node key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write node key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write node key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write node key: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("write node key: %w", err)
	}
	return key, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pki is a server's certificate authority view: the CAs of the loaded
// secrets, its key and its current certificate. Safe for concurrent use
// (TLS callbacks run on raft's goroutines).
type pki struct {
	nodeID   string
	key      ed25519.PrivateKey
	fp       string
	lifetime time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cas     []*clusterCA // primary first
	pool    *x509.CertPool
	cert    *tls.Certificate
	renewAt time.Time
}

func newPKI(nodeID, dir string, secrets [][]byte, lifetime time.Duration) (*pki, error) {
	key, err := loadNodeKey(dir)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	p := &pki{nodeID: nodeID, key: key, fp: KeyFingerprint(spki), lifetime: lifetime, now: time.Now}
	if err := p.setSecrets(secrets); err != nil {
		return nil, err
	}
	return p, nil
}

// setSecrets derives the CAs of secrets and issues a new certificate from
// the primary one.
func (p *pki) setSecrets(secrets [][]byte) error {
	if len(secrets) == 0 {
		return errors.New("no cluster secret")
	}
	cas := make([]*clusterCA, len(secrets))
	pool := x509.NewCertPool()
	for i, s := range secrets {
		ca, err := deriveCA(s)
		if err != nil {
			return err
		}
		cas[i] = ca
		pool.AddCert(ca.cert)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cas, p.pool = cas, pool
	return p.issueLocked()
}

func (p *pki) issueLocked() error {
	now := p.now()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return fmt.Errorf("issue node certificate: %w", err)
	}
	ca := p.cas[0]
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: p.nodeID},
		URIs:           []*url.URL{nodeURI(p.nodeID)},
		NotBefore:      now.Add(-time.Minute), // clock skew between servers
		NotAfter:       now.Add(p.lifetime),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		AuthorityKeyId: ca.cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, p.key.Public(), ca.key)
	if err != nil {
		return fmt.Errorf("issue node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("issue node certificate: %w", err)
	}
	p.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: crypto.Signer(p.key), Leaf: leaf}
	p.renewAt = now.Add(p.lifetime * 2 / 3)
	return nil
}

// certificate returns the current certificate, re-issuing it once two
// thirds of its life have passed. A failed re-issue keeps the old one.
func (p *pki) certificate() (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.now().Before(p.renewAt) {
		if err := p.issueLocked(); err != nil && p.cert == nil {
			return nil, err
		}
	}
	return p.cert, nil
}

func (p *pki) roots() *x509.CertPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pool
}

// verifyLeaf checks that a peer's certificate chains to one of the loaded
// secrets' CAs and names a node; it returns the node id and the key's
// fingerprint.
func (p *pki) verifyLeaf(rawCerts [][]byte) (id, fp string, err error) {
	if len(rawCerts) == 0 {
		return "", "", errors.New("peer presented no certificate")
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return "", "", fmt.Errorf("peer certificate: %w", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       p.roots(),
		CurrentTime: p.now(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return "", "", fmt.Errorf("peer certificate is not from this cluster's CA: %w", err)
	}
	id = certNodeID(leaf)
	if id == "" {
		return "", "", errors.New("peer certificate names no node id")
	}
	return id, KeyFingerprint(leaf.RawSubjectPublicKeyInfo), nil
}

// tlsConfigs are the raft transport's TLS 1.3 configs: both sides present
// the node certificate and verify the peer's (verify adds the binding
// check). Verification is custom because host names are not the identity.
func (p *pki) tlsConfigs(verify func(rawCerts [][]byte) error) (server, client *tls.Config) {
	check := func(rawCerts [][]byte, _ [][]*x509.Certificate) error { return verify(rawCerts) }
	server = &tls.Config{
		MinVersion:            tls.VersionTLS13,
		ClientAuth:            tls.RequireAnyClientCert,
		GetCertificate:        func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return p.certificate() },
		VerifyPeerCertificate: check,
	}
	client = &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The chain and the node id are checked by check; the server
		// name is not part of a node's identity.
		InsecureSkipVerify:    true, //nolint:gosec // verified in VerifyPeerCertificate
		GetClientCertificate:  func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return p.certificate() },
		VerifyPeerCertificate: check,
	}
	return server, client
}
