// Package fsm is the raft state machine: it decodes the commands in the
// log and applies them to the store, one bbolt transaction per batch.
package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// Version is the command format written by this release. The first byte of
// every command is its format version, so a later release can add fields
// or change the encoding and still read old entries.
const Version byte = 1

// Type identifies a command.
type Type byte

// Command types. The numbers are part of the log format: never reuse one.
const (
	TypePutFragment            Type = 1
	TypeDeleteFragment         Type = 2
	TypeReplaceSourceFragments Type = 3
	TypeRecordSync             Type = 4
	TypePutSource              Type = 5
	TypeDeleteSource           Type = 6
	TypeRecordSourceStatus     Type = 7
	TypeSetClusterID           Type = 8
	TypeBindNodeKey            Type = 9
	TypeUnbindNodeKey          Type = 10
	TypeTFPutState             Type = 11
	TypeTFLock                 Type = 12
	TypeTFUnlock               Type = 13
	TypeTFDeleteState          Type = 14
	TypeTFRestoreState         Type = 15
)

func (t Type) String() string {
	switch t {
	case TypePutFragment:
		return "PutFragment"
	case TypeDeleteFragment:
		return "DeleteFragment"
	case TypeReplaceSourceFragments:
		return "ReplaceSourceFragments"
	case TypeRecordSync:
		return "RecordSync"
	case TypePutSource:
		return "PutSource"
	case TypeDeleteSource:
		return "DeleteSource"
	case TypeRecordSourceStatus:
		return "RecordSourceStatus"
	case TypeSetClusterID:
		return "SetClusterID"
	case TypeBindNodeKey:
		return "BindNodeKey"
	case TypeUnbindNodeKey:
		return "UnbindNodeKey"
	case TypeTFPutState:
		return "TFPutState"
	case TypeTFLock:
		return "TFLock"
	case TypeTFUnlock:
		return "TFUnlock"
	case TypeTFDeleteState:
		return "TFDeleteState"
	case TypeTFRestoreState:
		return "TFRestoreState"
	default:
		return fmt.Sprintf("Type(%d)", byte(t))
	}
}

// PutFragment stores one fragment.
type PutFragment struct {
	Fragment api.Fragment `json:"fragment"`
}

// DeleteFragment removes one fragment.
type DeleteFragment struct {
	Target api.TargetRef `json:"target"`
	Source api.SourceRef `json:"source"`
}

// ReplaceSourceFragments makes Fragments the complete set of one source.
type ReplaceSourceFragments struct {
	Source    api.SourceRef        `json:"source"`
	Fragments []api.SourceFragment `json:"fragments"`
}

// RecordSync stores the outcome of a sync attempt.
type RecordSync struct {
	Target api.TargetRef  `json:"target"`
	Status api.SyncStatus `json:"status"`
}

// PutSource registers a source.
type PutSource struct {
	Source api.Source `json:"source"`
}

// DeleteSource removes a source and its fragments.
type DeleteSource struct {
	Source api.SourceRef `json:"source"`
}

// RecordSourceStatus stores what a producer last did with a registered
// source (e.g. a Git source's last commit and inventory). It changes
// nothing when the source is not registered.
type RecordSourceStatus struct {
	Source api.SourceRef   `json:"source"`
	Status json.RawMessage `json:"status"`
}

// SetClusterID names the cluster. The leader proposes it when the state
// has no id carried by the log (a new cluster, or one bootstrapped by an
// older release); the first one applied wins on every node and later ones
// change nothing, so a cluster keeps its id for good. See NewClusterID.
type SetClusterID struct {
	ID string `json:"id"`
}

// BindNodeKey binds a raft node id to the SHA-256 fingerprint of the public
// key the node proved it holds (see cluster's PKI). A bound id keeps its
// fingerprint: a different one is refused until UnbindNodeKey. Only the
// fingerprint is logged, never key material.
type BindNodeKey struct {
	NodeID      string `json:"nodeId"`
	Fingerprint string `json:"fingerprint"`
}

// UnbindNodeKey drops a node id's binding (the node was removed, e.g. to
// rejoin with a wiped data dir and a new key).
type UnbindNodeKey struct {
	NodeID string `json:"nodeId"`
}

// The Terraform state backend's commands (httpapi serves Terraform's
// "http" backend over them). Every check that depends on the state — the
// lock — is made in Apply, so two writes racing through the log are
// ordered by it alone. Time is the proposing leader's clock, carried in
// the entry so every node records the same.

// TFPutState makes Body the workspace's current state as a new version,
// keeping the newest Keep versions (the proposing leader's
// --tf-state-versions). A locked workspace takes it only from the lock's
// holder (LockID); an unlocked one only without a LockID.
type TFPutState struct {
	Workspace string    `json:"workspace"`
	LockID    string    `json:"lockId,omitempty"`
	Serial    int64     `json:"serial"`
	Lineage   string    `json:"lineage,omitempty"`
	MD5       string    `json:"md5"`
	Keep      int       `json:"keep"`
	Time      time.Time `json:"time"`
	// Body is the state, byte for byte (Terraform checks its MD5). It is
	// encoded after the JSON header rather than inside it, where it would
	// be base64 — a third larger in the log.
	Body []byte `json:"-"`
}

// TFLock takes a workspace's lock for ID; Info is the lock info Terraform
// sent, kept to show to whoever finds the lock held.
type TFLock struct {
	Workspace string          `json:"workspace"`
	ID        string          `json:"id"`
	Info      json.RawMessage `json:"info"`
	Time      time.Time       `json:"time"`
}

// TFUnlock releases a workspace's lock held by ID; Force releases it
// whoever holds it (terraform force-unlock).
type TFUnlock struct {
	Workspace string `json:"workspace"`
	ID        string `json:"id,omitempty"`
	Force     bool   `json:"force,omitempty"`
}

// TFDeleteState clears a workspace's current state; the versions kept
// stay restorable. The lock rule is TFPutState's, or Force.
type TFDeleteState struct {
	Workspace string    `json:"workspace"`
	LockID    string    `json:"lockId,omitempty"`
	Force     bool      `json:"force,omitempty"`
	Time      time.Time `json:"time"`
}

// TFRestoreState makes a kept version the current state again, as a new
// version. The lock rule is TFPutState's, or Force.
type TFRestoreState struct {
	Workspace string    `json:"workspace"`
	Version   uint64    `json:"version"`
	LockID    string    `json:"lockId,omitempty"`
	Force     bool      `json:"force,omitempty"`
	Keep      int       `json:"keep"`
	Time      time.Time `json:"time"`
}

// Command is any of the command structs above.
type Command interface {
	commandType() Type
}

func (PutFragment) commandType() Type            { return TypePutFragment }
func (DeleteFragment) commandType() Type         { return TypeDeleteFragment }
func (ReplaceSourceFragments) commandType() Type { return TypeReplaceSourceFragments }
func (RecordSync) commandType() Type             { return TypeRecordSync }
func (PutSource) commandType() Type              { return TypePutSource }
func (DeleteSource) commandType() Type           { return TypeDeleteSource }
func (RecordSourceStatus) commandType() Type     { return TypeRecordSourceStatus }
func (SetClusterID) commandType() Type           { return TypeSetClusterID }
func (BindNodeKey) commandType() Type            { return TypeBindNodeKey }
func (UnbindNodeKey) commandType() Type          { return TypeUnbindNodeKey }
func (TFPutState) commandType() Type             { return TypeTFPutState }
func (TFLock) commandType() Type                 { return TypeTFLock }
func (TFUnlock) commandType() Type               { return TypeTFUnlock }
func (TFDeleteState) commandType() Type          { return TypeTFDeleteState }
func (TFRestoreState) commandType() Type         { return TypeTFRestoreState }

// Encode serialises a command: version byte, type byte, body. The body of
// a PutFragment — by far the most frequent command — is the fragment's
// binary form (api.Fragment.AppendBinary), which every node decodes
// without scanning the spec; the others are JSON.
func Encode(c Command) ([]byte, error) {
	switch pf := c.(type) {
	case PutFragment:
		return pf.Fragment.AppendBinary([]byte{Version, byte(TypePutFragment)}), nil
	case *PutFragment:
		return pf.Fragment.AppendBinary([]byte{Version, byte(TypePutFragment)}), nil
	case TFPutState:
		return encodeTFPutState(&pf)
	case *TFPutState:
		return encodeTFPutState(pf)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode %s: %w", c.commandType(), err)
	}
	out := make([]byte, 0, len(body)+2)
	out = append(out, Version, byte(c.commandType()))
	return append(out, body...), nil
}

// ErrMalformed is returned for bytes that are not a command.
var ErrMalformed = errors.New("fsm: malformed command")

// Decode parses a command written by Encode (of this or an older version).
func Decode(b []byte) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: format version %d, this release reads %d", ErrMalformed, b[0], Version)
	}
	var c Command
	switch Type(b[1]) {
	case TypePutFragment:
		f, err := api.DecodeBinary(b[2:], true)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, TypePutFragment, err)
		}
		return &PutFragment{Fragment: f}, nil
	case TypeDeleteFragment:
		c = &DeleteFragment{}
	case TypeReplaceSourceFragments:
		c = &ReplaceSourceFragments{}
	case TypeRecordSync:
		c = &RecordSync{}
	case TypePutSource:
		c = &PutSource{}
	case TypeDeleteSource:
		c = &DeleteSource{}
	case TypeRecordSourceStatus:
		c = &RecordSourceStatus{}
	case TypeSetClusterID:
		c = &SetClusterID{}
	case TypeBindNodeKey:
		c = &BindNodeKey{}
	case TypeUnbindNodeKey:
		c = &UnbindNodeKey{}
	case TypeTFPutState:
		return decodeTFPutState(b[2:])
	case TypeTFLock:
		c = &TFLock{}
	case TypeTFUnlock:
		c = &TFUnlock{}
	case TypeTFDeleteState:
		c = &TFDeleteState{}
	case TypeTFRestoreState:
		c = &TFRestoreState{}
	default:
		return nil, fmt.Errorf("%w: unknown type %d", ErrMalformed, b[1])
	}
	if err := json.Unmarshal(b[2:], c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, Type(b[1]), err)
	}
	return c, nil
}

// encodeTFPutState writes the version and type bytes, the JSON header's
// length (uvarint), the header, then the state verbatim.
func encodeTFPutState(c *TFPutState) ([]byte, error) {
	hdr, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode %s: %w", TypeTFPutState, err)
	}
	out := make([]byte, 0, 2+binary.MaxVarintLen64+len(hdr)+len(c.Body))
	out = append(out, Version, byte(TypeTFPutState))
	out = binary.AppendUvarint(out, uint64(len(hdr)))
	out = append(out, hdr...)
	return append(out, c.Body...), nil
}

func decodeTFPutState(b []byte) (*TFPutState, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, fmt.Errorf("%w: %s: bad header length", ErrMalformed, TypeTFPutState)
	}
	c := &TFPutState{}
	if err := json.Unmarshal(b[w:w+int(n)], c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, TypeTFPutState, err)
	}
	c.Body = b[w+int(n):]
	return c, nil
}
