package conflux

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketConfigs  = []byte("configs")
	bucketVersions = []byte("versions")
	bucketIdem     = []byte("idempotency")
	bucketMeta     = []byte("meta")
	metaVersionKey = []byte("format_version")
)

// storeFormat is the only file layout Open understands.
const storeFormat = "1"

// batch is every change one request makes. commitLocked writes it to bbolt
// in one transaction and only then to memory, so a failed write changes
// nothing and a crash never leaves half a request on disk.
type batch struct {
	putConfig   *configRec
	delConfig   string // deletes the config, its versions and idempotency records
	putVersions []*Version
	delVersions []*Version
	putIdem     []*idemRec
}

func versionKey(configID string, number int) []byte {
	return fmt.Appendf(nil, "%s\x00%020d", configID, number)
}

func idemKey(configID, key string) []byte { return []byte(configID + "\x00" + key) }

// commitLocked applies b durably then in memory. Caller holds s.mu.
func (s *Server) commitLocked(b *batch) error {
	if s.db != nil {
		err := s.db.Update(func(tx *bolt.Tx) error {
			cb, vb, ib := tx.Bucket(bucketConfigs), tx.Bucket(bucketVersions), tx.Bucket(bucketIdem)
			if b.delConfig != "" {
				if err := cb.Delete([]byte(b.delConfig)); err != nil {
					return err
				}
				for _, bk := range []*bolt.Bucket{vb, ib} {
					if err := deletePrefix(bk, []byte(b.delConfig+"\x00")); err != nil {
						return err
					}
				}
			}
			if b.putConfig != nil {
				if err := putJSON(cb, []byte(b.putConfig.ID), b.putConfig); err != nil {
					return err
				}
			}
			for _, v := range b.putVersions {
				if err := putJSON(vb, versionKey(v.ConfigID, v.Number), v); err != nil {
					return err
				}
			}
			for _, v := range b.delVersions {
				if err := vb.Delete(versionKey(v.ConfigID, v.Number)); err != nil {
					return err
				}
			}
			for _, rec := range b.putIdem {
				if err := putJSON(ib, idemKey(rec.ConfigID, rec.Key), rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("conflux emulator: write %s: %w", s.dataFile, err)
		}
	}
	s.applyLocked(b)
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// applyLocked changes memory only. Caller holds s.mu.
func (s *Server) applyLocked(b *batch) {
	if id := b.delConfig; id != "" {
		if c := s.configs[id]; c != nil {
			delete(s.byKey, naturalKey(c.Tenant, c.Application, c.Environment, c.Name))
		}
		delete(s.configs, id)
		delete(s.versions, id)
		delete(s.idem, id)
	}
	if c := b.putConfig; c != nil {
		if old := s.configs[c.ID]; old != nil {
			delete(s.byKey, naturalKey(old.Tenant, old.Application, old.Environment, old.Name))
		}
		s.configs[c.ID] = c
		s.byKey[naturalKey(c.Tenant, c.Application, c.Environment, c.Name)] = c.ID
	}
	for _, v := range b.putVersions {
		s.versions[v.ConfigID] = append(s.versions[v.ConfigID], v)
		sortVersions(s.versions[v.ConfigID])
	}
	for _, v := range b.delVersions {
		list := s.versions[v.ConfigID]
		for i, x := range list {
			if x.VersionID == v.VersionID {
				s.versions[v.ConfigID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
	}
	for _, rec := range b.putIdem {
		m := s.idem[rec.ConfigID]
		if m == nil {
			m = map[string]*idemRec{}
			s.idem[rec.ConfigID] = m
		}
		m[rec.Key] = rec
	}
}

// sortVersions orders by number, oldest first.
func sortVersions(vs []*Version) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
}

// openStore opens (creating) the bbolt file and loads it into memory.
func (s *Server) openStore(path string) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("conflux emulator: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketConfigs, bucketVersions, bucketIdem, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaVersionKey); {
		case v == nil:
			return meta.Put(metaVersionKey, []byte(storeFormat))
		case string(v) != storeFormat:
			return fmt.Errorf("unsupported data file version %q (want %s)", v, storeFormat)
		}
		return nil
	})
	if err == nil {
		err = db.View(func(tx *bolt.Tx) error { return s.load(tx) })
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("conflux emulator: load %s: %w", path, err)
	}
	s.db = db
	s.dataFile = path
	return nil
}

func (s *Server) load(tx *bolt.Tx) error {
	b := &batch{}
	if err := tx.Bucket(bucketConfigs).ForEach(func(k, v []byte) error {
		var c configRec
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("config %s: %w", k, err)
		}
		s.applyLocked(&batch{putConfig: &c})
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketVersions).ForEach(func(k, v []byte) error {
		var ver Version
		if err := json.Unmarshal(v, &ver); err != nil {
			return fmt.Errorf("version %q: %w", k, err)
		}
		b.putVersions = append(b.putVersions, &ver)
		return nil
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketIdem).ForEach(func(k, v []byte) error {
		var rec idemRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("idempotency record %q: %w", k, err)
		}
		b.putIdem = append(b.putIdem, &rec)
		return nil
	}); err != nil {
		return err
	}
	// Versions arrive in key order, so appending keeps them sorted.
	for _, v := range b.putVersions {
		s.versions[v.ConfigID] = append(s.versions[v.ConfigID], v)
	}
	b.putVersions = nil
	s.applyLocked(b)
	return nil
}
