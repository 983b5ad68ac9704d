package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conflux-sync/conflux-sync/api"
)

// bucketTFState holds the Terraform state backend (one bucket for all of
// it, created on first write so files of older releases open unchanged):
//
//	w/<workspace>               -> api.TFWorkspace (JSON): current version, lock
//	v/<workspace>/<version BE>  -> api.TFStateVersion (JSON): one kept version
//	b/<workspace>/<version BE>  -> the state of that version, verbatim
//
// Workspace names never hold '/' (api.ValidateTFWorkspace), so a prefix
// scan of "v/<workspace>/" sees that workspace's versions alone, oldest
// first.
var bucketTFState = []byte("tfstate")

func tfWorkspaceKey(name string) []byte { return []byte("w/" + name) }

func tfVersionPrefix(kind byte, name string) []byte {
	return append([]byte{kind, '/'}, name+"/"...)
}

func tfVersionKey(kind byte, name string, version uint64) []byte {
	return binary.BigEndian.AppendUint64(tfVersionPrefix(kind, name), version)
}

// TFStateWrite is a new state for a workspace (TFPutState).
type TFStateWrite struct {
	Workspace string
	Body      []byte
	Serial    int64
	Lineage   string
	MD5       string
	Time      time.Time
}

// TFResult says what a Terraform state write did. A write a lock refused
// changes nothing and sets Refused.
type TFResult struct {
	Changed bool
	// Version is the current version after the write.
	Version uint64
	// Refused is set when the lock check refused the write; Holder is then
	// the lock held (nil: the caller named a lock that is not held).
	Refused bool
	Holder  *api.TFLock
	// Missing is set when a restore names a version that is not kept.
	Missing bool
}

// tfLockAllows is the one lock rule of every state change: a locked
// workspace takes writes from the lock's holder (its id) or with force; an
// unlocked one takes writes that name no lock. A write naming a lock that
// is not held is refused too: the lock it thought it held was cleared
// (force-unlock), and the state may have moved on without it.
func tfLockAllows(ws *api.TFWorkspace, lockID string, force bool) TFResult {
	switch {
	case force:
		return TFResult{}
	case ws.Lock != nil && ws.Lock.ID != lockID:
		h := *ws.Lock
		return TFResult{Refused: true, Holder: &h}
	case ws.Lock == nil && lockID != "":
		return TFResult{Refused: true}
	}
	return TFResult{}
}

func (t *Tx) tfBucket() (*bolt.Bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(bucketTFState)
	if err != nil {
		return nil, fmt.Errorf("store: tfstate bucket: %w", err)
	}
	return b, nil
}

func (t *Tx) putTFWorkspace(b *bolt.Bucket, ws api.TFWorkspace, index uint64) error {
	if ws.CreateIndex == 0 {
		ws.CreateIndex = index
	}
	ws.ModifyIndex = index
	raw, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	return b.Put(tfWorkspaceKey(ws.Name), raw)
}

// TFPutState makes w the workspace's current state as a new version,
// keeping the last keep versions (at least one), if the lock allows it
// (see tfLockAllows).
func (t *Tx) TFPutState(w TFStateWrite, lockID string, force bool, keep int, index uint64) (TFResult, error) {
	b, err := t.tfBucket()
	if err != nil {
		return TFResult{}, err
	}
	ws, _, err := tfWorkspace(b, w.Workspace)
	if err != nil {
		return TFResult{}, err
	}
	if r := tfLockAllows(&ws, lockID, force); r.Refused {
		return r, nil
	}
	return t.tfAddVersion(b, ws, w, 0, keep, index)
}

func (t *Tx) tfAddVersion(b *bolt.Bucket, ws api.TFWorkspace, w TFStateWrite, restoredFrom uint64, keep int, index uint64) (TFResult, error) {
	ws.LastVersion++
	v := api.TFStateVersion{
		Workspace: w.Workspace, Version: ws.LastVersion, Index: index, Time: w.Time,
		Serial: w.Serial, Lineage: w.Lineage, Size: len(w.Body), MD5: w.MD5, RestoredFrom: restoredFrom,
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return TFResult{}, err
	}
	if err := b.Put(tfVersionKey('v', w.Workspace, v.Version), raw); err != nil {
		return TFResult{}, err
	}
	if err := b.Put(tfVersionKey('b', w.Workspace, v.Version), w.Body); err != nil {
		return TFResult{}, err
	}
	ws.Name, ws.Version, ws.Serial, ws.Lineage, ws.Size, ws.MD5, ws.Modified = w.Workspace, v.Version, v.Serial, v.Lineage, v.Size, v.MD5, w.Time
	if err := t.putTFWorkspace(b, ws, index); err != nil {
		return TFResult{}, err
	}
	if err := tfPrune(b, w.Workspace, max(keep, 1)); err != nil {
		return TFResult{}, err
	}
	return TFResult{Changed: true, Version: v.Version}, nil
}

// tfPrune deletes all but the newest keep versions of a workspace.
func tfPrune(b *bolt.Bucket, name string, keep int) error {
	prefix := tfVersionPrefix('v', name)
	var versions []uint64
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		versions = append(versions, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	for _, v := range versions[:max(len(versions)-keep, 0)] {
		if err := b.Delete(tfVersionKey('v', name, v)); err != nil {
			return err
		}
		if err := b.Delete(tfVersionKey('b', name, v)); err != nil {
			return err
		}
	}
	return nil
}

// TFRestoreVersion makes a kept version the current state again, as a new
// version (so the restore itself can be undone), if the lock allows it.
func (t *Tx) TFRestoreVersion(name string, version uint64, lockID string, force bool, keep int, now time.Time, index uint64) (TFResult, error) {
	b, err := t.tfBucket()
	if err != nil {
		return TFResult{}, err
	}
	ws, _, err := tfWorkspace(b, name)
	if err != nil {
		return TFResult{}, err
	}
	if r := tfLockAllows(&ws, lockID, force); r.Refused {
		return r, nil
	}
	meta := b.Get(tfVersionKey('v', name, version))
	body := b.Get(tfVersionKey('b', name, version))
	if meta == nil || body == nil {
		return TFResult{Missing: true, Version: ws.Version}, nil
	}
	var old api.TFStateVersion
	if err := json.Unmarshal(meta, &old); err != nil {
		return TFResult{}, fmt.Errorf("store: tfstate version %s/%d: %w", name, version, err)
	}
	w := TFStateWrite{Workspace: name, Body: bytes.Clone(body), Serial: old.Serial, Lineage: old.Lineage, MD5: old.MD5, Time: now}
	return t.tfAddVersion(b, ws, w, version, keep, index)
}

// TFDeleteState clears a workspace's current state, if the lock allows it.
// The versions kept stay, so a deleted state can be restored; a workspace
// without state, versions or lock is removed.
func (t *Tx) TFDeleteState(name, lockID string, force bool, now time.Time, index uint64) (TFResult, error) {
	b, err := t.tfBucket()
	if err != nil {
		return TFResult{}, err
	}
	ws, exists, err := tfWorkspace(b, name)
	if err != nil || !exists {
		return TFResult{}, err
	}
	if r := tfLockAllows(&ws, lockID, force); r.Refused {
		return r, nil
	}
	if ws.Version == 0 {
		return TFResult{}, nil
	}
	ws.Version, ws.Serial, ws.Lineage, ws.Size, ws.MD5, ws.Modified = 0, 0, "", 0, "", now
	return TFResult{Changed: true}, t.putTFWorkspace(b, ws, index)
}

// TFLock takes a workspace's lock for id. Taking a lock one already holds
// succeeds again (a retried LOCK whose first answer was lost); a lock held
// by another id is refused with the holder.
func (t *Tx) TFLock(name, id string, info json.RawMessage, now time.Time, index uint64) (TFResult, error) {
	b, err := t.tfBucket()
	if err != nil {
		return TFResult{}, err
	}
	ws, _, err := tfWorkspace(b, name)
	if err != nil {
		return TFResult{}, err
	}
	ws.Name = name
	if ws.Lock != nil {
		if ws.Lock.ID == id {
			return TFResult{Version: ws.Version}, nil
		}
		h := *ws.Lock
		return TFResult{Refused: true, Holder: &h, Version: ws.Version}, nil
	}
	ws.Lock = &api.TFLock{ID: id, Info: info, Index: index, Time: now}
	return TFResult{Changed: true, Version: ws.Version}, t.putTFWorkspace(b, ws, index)
}

// TFUnlock releases a workspace's lock: the holder's id releases it, force
// (terraform force-unlock) always does. Unlocking an unlocked workspace
// changes nothing and succeeds (a retried UNLOCK).
func (t *Tx) TFUnlock(name, id string, force bool, index uint64) (TFResult, error) {
	b, err := t.tfBucket()
	if err != nil {
		return TFResult{}, err
	}
	ws, exists, err := tfWorkspace(b, name)
	if err != nil || !exists || ws.Lock == nil {
		return TFResult{Version: ws.Version}, err
	}
	if !force && ws.Lock.ID != id {
		h := *ws.Lock
		return TFResult{Refused: true, Holder: &h, Version: ws.Version}, nil
	}
	ws.Lock = nil
	if ws.LastVersion == 0 {
		// Locked but never written: nothing left to keep.
		return TFResult{Changed: true}, b.Delete(tfWorkspaceKey(name))
	}
	return TFResult{Changed: true, Version: ws.Version}, t.putTFWorkspace(b, ws, index)
}

func tfWorkspace(b *bolt.Bucket, name string) (api.TFWorkspace, bool, error) {
	raw := b.Get(tfWorkspaceKey(name))
	if raw == nil {
		return api.TFWorkspace{Name: name}, false, nil
	}
	var ws api.TFWorkspace
	if err := json.Unmarshal(raw, &ws); err != nil {
		return ws, false, fmt.Errorf("store: tfstate workspace %s: %w", name, err)
	}
	return ws, true, nil
}

// TFWorkspace returns one workspace.
func (v *View) TFWorkspace(name string) (api.TFWorkspace, bool, error) {
	b := v.tx.Bucket(bucketTFState)
	if b == nil {
		return api.TFWorkspace{Name: name}, false, nil
	}
	return tfWorkspace(b, name)
}

// TFWorkspaces returns every workspace, by name.
func (v *View) TFWorkspaces() ([]api.TFWorkspace, error) {
	out := []api.TFWorkspace{}
	b := v.tx.Bucket(bucketTFState)
	if b == nil {
		return out, nil
	}
	prefix := []byte("w/")
	c := b.Cursor()
	for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
		var ws api.TFWorkspace
		if err := json.Unmarshal(raw, &ws); err != nil {
			return nil, fmt.Errorf("store: tfstate workspace %s: %w", k[len(prefix):], err)
		}
		out = append(out, ws)
	}
	return out, nil
}

// TFStateVersions returns the versions kept of a workspace, oldest first.
func (v *View) TFStateVersions(name string) ([]api.TFStateVersion, error) {
	out := []api.TFStateVersion{}
	b := v.tx.Bucket(bucketTFState)
	if b == nil {
		return out, nil
	}
	ws, _, err := tfWorkspace(b, name)
	if err != nil {
		return nil, err
	}
	prefix := tfVersionPrefix('v', name)
	c := b.Cursor()
	for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
		var sv api.TFStateVersion
		if err := json.Unmarshal(raw, &sv); err != nil {
			return nil, fmt.Errorf("store: tfstate version %s: %w", k, err)
		}
		sv.Current = sv.Version == ws.Version
		out = append(out, sv)
	}
	return out, nil
}

// TFStateBody returns a copy of one version's state (version 0: the
// current one) and its description; false when it is not kept.
func (v *View) TFStateBody(name string, version uint64) ([]byte, api.TFStateVersion, bool, error) {
	b := v.tx.Bucket(bucketTFState)
	if b == nil {
		return nil, api.TFStateVersion{}, false, nil
	}
	if version == 0 {
		ws, _, err := tfWorkspace(b, name)
		if err != nil || ws.Version == 0 {
			return nil, api.TFStateVersion{}, false, err
		}
		version = ws.Version
	}
	meta, body := b.Get(tfVersionKey('v', name, version)), b.Get(tfVersionKey('b', name, version))
	if meta == nil || body == nil {
		return nil, api.TFStateVersion{}, false, nil
	}
	var sv api.TFStateVersion
	if err := json.Unmarshal(meta, &sv); err != nil {
		return nil, sv, false, fmt.Errorf("store: tfstate version %s/%d: %w", name, version, err)
	}
	return bytes.Clone(body), sv, true, nil
}
