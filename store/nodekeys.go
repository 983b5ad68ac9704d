package store

import (
	"bytes"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
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

// CarryNodeKeys makes the bbolt image at path (a snapshot about to be
// restored) hold this store's node key bindings instead of its own. The
// bindings belong to the servers running now, not to the ones the snapshot
// was taken on: restoring a backup into a fresh cluster (new node keys
// under the old ids) must not bind the ids to keys no server holds any
// more. It returns the image's new size.
func (s *Store) CarryNodeKeys(path string) (int64, error) {
	var keys map[string]string
	if err := s.View(func(v *View) error {
		keys = v.NodeKeys()
		return nil
	}); err != nil {
		return 0, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return 0, fmt.Errorf("store: open snapshot image: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketNodeKeys) != nil {
			if err := tx.DeleteBucket(bucketNodeKeys); err != nil {
				return err
			}
		}
		if len(keys) == 0 {
			return nil
		}
		b, err := tx.CreateBucket(bucketNodeKeys)
		if err != nil {
			return err
		}
		for id, fp := range keys {
			if err := b.Put([]byte(id), []byte(fp)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("store: carry node key bindings into the snapshot image: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return fi.Size(), nil
}
