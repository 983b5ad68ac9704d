package store

import (
	"bytes"
)

// bucketNodeKeys binds raft node ids to the fingerprint of the key the node
// proved it holds (cluster PKI): node id -> fingerprint. Only fingerprints of
// public keys live here, never key material. The bucket is created on first
// write, so files of older releases open unchanged.
var bucketNodeKeys = []byte("node_keys")

// BindNodeKey records that node id holds the key with fingerprint fp. A
// binding is written once: a different fingerprint for a bound id is
// refused (false), so that no later writer can take over a node id; the
// operator clears it with UnbindNodeKey (`peers remove`).
func (t *Tx) BindNodeKey(id, fp string) (bool, error) {
	b, err := t.tx.CreateBucketIfNotExists(bucketNodeKeys)
	if err != nil {
		return false, err
	}
	if old := b.Get([]byte(id)); old != nil {
		return bytes.Equal(old, []byte(fp)), nil
	}
	return true, b.Put([]byte(id), []byte(fp))
}

// UnbindNodeKey removes id's binding; it reports whether there was one.
func (t *Tx) UnbindNodeKey(id string) (bool, error) {
	b := t.tx.Bucket(bucketNodeKeys)
	if b == nil || b.Get([]byte(id)) == nil {
		return false, nil
	}
	return true, b.Delete([]byte(id))
}

// NodeKey returns the fingerprint bound to node id.
func (v *View) NodeKey(id string) (string, bool) {
	b := v.tx.Bucket(bucketNodeKeys)
	if b == nil {
		return "", false
	}
	fp := b.Get([]byte(id))
	if fp == nil {
		return "", false
	}
	return string(fp), true
}

// NodeKeys returns every binding.
func (v *View) NodeKeys() map[string]string {
	out := map[string]string{}
	b := v.tx.Bucket(bucketNodeKeys)
	if b == nil {
		return out
	}
	_ = b.ForEach(func(k, val []byte) error {
		out[string(k)] = string(val)
		return nil
	})
	return out
}
