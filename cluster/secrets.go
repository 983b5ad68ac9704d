package cluster

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Cluster secrets
//
// The root of trust of a secure cluster is a secret every server is given
// before it starts (a file, e.g. a mounted Kubernetes Secret): gossip and
// the bootstrap agreement run before there is a leader that could sign
// anything, so the root has to exist first. Everything else is derived from
// it: the memberlist keyring (one AES key per secret) and one ed25519 CA per
// secret, which every server derives identically and uses to issue its own
// node certificate locally. A process that does not hold a secret can
// neither read nor write gossip nor complete a raft TLS handshake.
//
// The file holds one secret a line (standard base64 of at least
// MinClusterSecretBytes random bytes); `#` starts a comment. The first
// secret is the primary (it encrypts gossip and signs this server's
// certificate); all of them are accepted from peers, which is what lets a
// secret be rotated without downtime (see `conflux-sync operator rotate`).

const (
	// MinClusterSecretBytes is the least number of decoded bytes of a
	// cluster secret.
	MinClusterSecretBytes = 32
	// MaxClusterSecrets bounds the lines of a secret file: a rotation needs
	// two; more would only grow every handshake's trust pool.
	MaxClusterSecrets = 4

	gossipKeyInfo = "conflux-sync gossip v1"
	caKeyInfo     = "conflux-sync ca v1"
	secretIDInfo  = "conflux-sync secret id v1"
)

// knownPlaceholders are keys published in examples and manifests: a
// cluster using one is as open as one without a key.
var knownPlaceholders = []string{
	"cmVwbGFjZS13aXRoLTMyLXJhbmRvbS1ieXRlcy0hISE=", // deploy/base gossip-key before issue #19
}

// GenerateClusterSecret returns a new secret in the file's format (base64
// of 32 random bytes).
func GenerateClusterSecret() (string, error) {
	b, err := RandomSecret()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// RandomSecret returns a new secret's bytes (for secrets held in memory,
// e.g. by `conflux-sync dev`).
func RandomSecret() ([]byte, error) {
	b := make([]byte, MinClusterSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate cluster secret: %w", err)
	}
	return b, nil
}

// checkKeyMaterial refuses key material that was typed or copied from an
// example instead of generated. The errors never quote the material.
func checkKeyMaterial(encoded string, raw []byte) error {
	for _, p := range knownPlaceholders {
		if encoded == p {
			return errors.New("it is a published placeholder (the example key of deploy/base): generate a new one with `conflux-sync operator keygen`")
		}
	}
	printable := true
	for _, c := range raw {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		return errors.New("every byte is printable ASCII, so it is a typed passphrase, not random bytes: generate one with `conflux-sync operator keygen`")
	}
	distinct := map[byte]bool{}
	for _, c := range raw {
		distinct[c] = true
	}
	// Random bytes repeat little: 32 random bytes have about 30 distinct
	// values; fewer than half is a pattern.
	if len(distinct) < len(raw)/2 {
		return fmt.Errorf("only %d distinct byte values in %d bytes: not random; generate one with `conflux-sync operator keygen`", len(distinct), len(raw))
	}
	return nil
}

// ParseClusterSecrets parses a secret file's content; name is the file
// name for errors, which name the line and never quote a secret.
func ParseClusterSecrets(name string, content []byte) ([][]byte, error) {
	var out [][]byte
	seen := map[string]int{}
	for i, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("cluster secret file %s line %d: not standard base64", name, i+1)
		}
		if len(raw) < MinClusterSecretBytes {
			return nil, fmt.Errorf("cluster secret file %s line %d: %d bytes, at least %d random bytes are required", name, i+1, len(raw), MinClusterSecretBytes)
		}
		if err := checkKeyMaterial(line, raw); err != nil {
			return nil, fmt.Errorf("cluster secret file %s line %d: %w", name, i+1, err)
		}
		if prev, ok := seen[string(raw)]; ok {
			return nil, fmt.Errorf("cluster secret file %s line %d: the same secret as line %d", name, i+1, prev)
		}
		seen[string(raw)] = i + 1
		out = append(out, raw)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster secret file %s: no secret (generate one with `conflux-sync operator keygen`)", name)
	}
	if len(out) > MaxClusterSecrets {
		return nil, fmt.Errorf("cluster secret file %s: %d secrets, at most %d (finish the rotation in progress first)", name, len(out), MaxClusterSecrets)
	}
	return out, nil
}

// ReadClusterSecretFile reads and parses a secret file.
func ReadClusterSecretFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster secret file: %w", err)
	}
	return ParseClusterSecrets(path, b)
}

// CheckGossipKey validates an operator-managed memberlist key: AES length
// and not a placeholder or typed passphrase. encoded is its base64 form.
func CheckGossipKey(encoded string, key []byte) error {
	switch len(key) {
	case 16, 24, 32:
	default:
		return fmt.Errorf("%d bytes; it must be 16, 24 or 32", len(key))
	}
	return checkKeyMaterial(encoded, key)
}

// ParseGossipKeys parses a gossip key file: one base64 key a line, the
// first one primary; `#` starts a comment.
func ParseGossipKeys(name string, content []byte) ([][]byte, error) {
	var out [][]byte
	for i, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("gossip key file %s line %d: not standard base64", name, i+1)
		}
		if err := CheckGossipKey(line, key); err != nil {
			return nil, fmt.Errorf("gossip key file %s line %d: %w", name, i+1, err)
		}
		out = append(out, key)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gossip key file %s: no key", name)
	}
	return out, nil
}

// derive expands a secret into n bytes for one purpose (HKDF-SHA256; the
// info string separates the purposes, so no derived value reveals another).
func derive(secret []byte, info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, secret, nil, info, n)
	if err != nil {
		panic(fmt.Sprintf("hkdf: %v", err)) // only for n > 255*32
	}
	return out
}

// gossipKeyring derives the memberlist keys of secrets, primary first.
func gossipKeyring(secrets [][]byte) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = derive(s, gossipKeyInfo, 32)
	}
	return keys
}

// SecretsDigest names a list of secrets (or gossip keys) in order without
// revealing them: the first 8 bytes of a derived identifier per secret,
// hashed together. Every server gossips the digest of what it has loaded,
// so a rotation can check that all servers loaded the same file.
func SecretsDigest(secrets [][]byte) string {
	h := sha256.New()
	for _, s := range secrets {
		h.Write(derive(s, secretIDInfo, 8))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// sameSecrets reports whether a and b are the same list.
func sameSecrets(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
