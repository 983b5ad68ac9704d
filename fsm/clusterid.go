package fsm

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ClusterIDLen is the length of a cluster id: 8 random bytes as 16 hex
// digits (the ownership markers downstream have room for no more).
const ClusterIDLen = 16

// NewClusterID returns a fresh random cluster id. It is random rather than
// derived from the bootstrap configuration: two clusters bootstrapped
// alike (the same node names and addresses, as every deployment from the
// same manifests is) must not share an id, or each would take the other's
// downstream objects for its own.
func NewClusterID() (string, error) {
	var b [ClusterIDLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("fsm: new cluster id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidateClusterID checks that id has the form NewClusterID gives.
func ValidateClusterID(id string) error {
	if len(id) != ClusterIDLen {
		return fmt.Errorf("cluster id %q: want %d hex digits, got %d characters", id, ClusterIDLen, len(id))
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("cluster id %q: want lowercase hex digits, got %q", id, c)
		}
	}
	return nil
}
