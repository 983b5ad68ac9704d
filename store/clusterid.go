package store

import (
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// keyClusterIDLogged marks a cluster id that the raft log (or a restored
// image) carries to every node. An id written by an older release came
// from the bootstrap configuration entry, which no longer sets it: a node
// that replays the log from the start would never learn it, so the leader
// writes such an id into the log once (see fsm.SetClusterID).
var keyClusterIDLogged = []byte("cluster_id_logged")

// ClusterIDLogged reports whether the cluster id is carried by the log.
func (v *View) ClusterIDLogged() bool { return v.tx.Bucket(bucketMeta).Get(keyClusterIDLogged) != nil }

// RecordClusterID applies a log entry naming the cluster: a stored id is
// kept (the first entry wins, on every node alike), and the id is marked
// as carried by the log. It reports whether id is now the cluster id.
func (t *Tx) RecordClusterID(id string) (bool, error) {
	m := t.tx.Bucket(bucketMeta)
	if err := t.SetClusterID(id); err != nil {
		return false, err
	}
	if err := m.Put(keyClusterIDLogged, []byte{1}); err != nil {
		return false, err
	}
	return string(m.Get(keyClusterID)) == id, nil
}

// SetImageClusterID sets the cluster id of the state image at path (a
// file that ReadSnapshotFile wrote) to id, marked as carried by the image,
// before the image is restored. A restore keeps the id of the cluster it
// runs in, unless the operator takes the image's: the id is in the
// ownership markers of what the cluster created downstream. The id goes
// into the image rather than being kept aside by each node, because raft
// sends the same image to every follower, and to every node that joins
// later.
func SetImageClusterID(path, id string) error {
	if id == "" {
		return fmt.Errorf("store: set the cluster id of %s: the id is empty", path)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: set the cluster id of the image: %w", err)
	}
	// openDB checks the image's format like any state file; the image is
	// checked again, completely, when it is restored.
	s := &Store{path: path, opts: Options{InitialMmapSize: 1 << 20}}
	db, err := s.openDB(path)
	if err != nil {
		return fmt.Errorf("store: set the cluster id of the image: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(keyClusterID, []byte(id)); err != nil {
			return err
		}
		return m.Put(keyClusterIDLogged, []byte{1})
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: set the cluster id of the image %s: %w", path, err)
	}
	return nil
}
