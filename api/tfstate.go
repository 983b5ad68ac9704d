package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Terraform state backend (Terraform's built-in "http" backend pointed at
// /v1/terraform/state/<workspace>): one state per workspace, the last
// versions of it, and the lock Terraform holds while it changes it. State
// holds whatever secrets the configuration has, so every endpoint needs the
// write role.

// TFLock is a held Terraform state lock.
type TFLock struct {
	// ID is the lock id Terraform chose (its lock info's "ID").
	ID string `json:"id"`
	// Info is the lock info Terraform sent, verbatim: who, what operation,
	// when. A second `terraform apply` prints it in its lock error.
	Info json.RawMessage `json:"info"`
	// Index is the raft index of the write that took the lock.
	Index uint64 `json:"index"`
	// Time is the leader's clock when the lock was taken.
	Time time.Time `json:"time"`
}

// TFWorkspace is one workspace's current state and lock.
type TFWorkspace struct {
	Name string `json:"name"`
	// Version is the current state's version; 0: no state (never written,
	// or deleted — the versions kept can still be restored).
	Version uint64 `json:"version"`
	// LastVersion is the highest version number ever written; the next
	// write is LastVersion+1.
	LastVersion uint64 `json:"lastVersion"`
	// Serial and Lineage are the current state's own (Terraform's
	// "serial" and "lineage").
	Serial  int64  `json:"serial"`
	Lineage string `json:"lineage,omitempty"`
	// Size is the current state's length in bytes, MD5 its base64 MD5
	// (the Content-MD5 Terraform checks).
	Size int    `json:"size"`
	MD5  string `json:"md5,omitempty"`
	// Modified is the leader's clock at the last change of the state.
	Modified time.Time `json:"modified"`
	// Lock is the lock held, nil when the workspace is unlocked.
	Lock        *TFLock `json:"lock,omitempty"`
	CreateIndex uint64  `json:"createIndex"`
	ModifyIndex uint64  `json:"modifyIndex"`
}

// TFStateVersion describes one kept version of a workspace's state.
type TFStateVersion struct {
	Workspace string `json:"workspace"`
	Version   uint64 `json:"version"`
	// Index is the raft index of the write that made this version.
	Index   uint64    `json:"index"`
	Time    time.Time `json:"time"`
	Serial  int64     `json:"serial"`
	Lineage string    `json:"lineage,omitempty"`
	Size    int       `json:"size"`
	MD5     string    `json:"md5"`
	// RestoredFrom is the version this one copies (tfstate restore); 0:
	// a write of new state.
	RestoredFrom uint64 `json:"restoredFrom,omitempty"`
	// Current is set on the workspace's current version.
	Current bool `json:"current,omitempty"`
}

// TFStateWrite is the answer to a state write or a restore.
type TFStateWrite struct {
	Workspace string `json:"workspace"`
	// Version is the version the write made current.
	Version uint64 `json:"version"`
	Index   uint64 `json:"index"`
}

// MaxTFWorkspaceName is the longest workspace name.
const MaxTFWorkspaceName = 128

// ValidateTFWorkspace checks a workspace name: 1 to 128 letters, digits,
// '.', '_' or '-', starting with a letter or digit. The name is one path
// segment of the state's address.
func ValidateTFWorkspace(name string) *FieldError {
	if name == "" {
		return &FieldError{Field: "workspace", Reason: "is required"}
	}
	if len(name) > MaxTFWorkspaceName {
		return &FieldError{Field: "workspace", Reason: fmt.Sprintf("is %d characters long, at most %d are allowed", len(name), MaxTFWorkspaceName)}
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			return &FieldError{Field: "workspace", Reason: fmt.Sprintf("%q has %q at position %d: use letters, digits, '.', '_' and '-', starting with a letter or digit", name, c, i+1)}
		}
	}
	return nil
}

// MaxTFLockID is the longest lock id accepted (Terraform's are UUIDs).
const MaxTFLockID = 256

func tfStatePath(workspace string) string {
	return "/v1/terraform/state/" + url.PathEscape(workspace)
}

// TFWorkspaces lists the Terraform state workspaces.
func (c *Client) TFWorkspaces(ctx context.Context) ([]TFWorkspace, error) {
	var out []TFWorkspace
	return out, c.do(ctx, http.MethodGet, "/v1/terraform/state", nil, nil, &out)
}

// TFStateVersions lists the versions kept of a workspace, oldest first.
func (c *Client) TFStateVersions(ctx context.Context, workspace string) ([]TFStateVersion, error) {
	var out []TFStateVersion
	return out, c.do(ctx, http.MethodGet, tfStatePath(workspace)+"/versions", nil, nil, &out)
}

// TFState returns a workspace's state, byte for byte: the current one
// (version 0) or a kept version. A workspace without state is a
// CodeNotFound error.
func (c *Client) TFState(ctx context.Context, workspace string, version uint64) ([]byte, error) {
	path := tfStatePath(workspace)
	if version != 0 {
		path += "/versions/" + strconv.FormatUint(version, 10)
	}
	req, err := c.newRequest(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return nil, Errorf(CodeNotFound, "workspace", "workspace %q has no state", workspace)
	case resp.StatusCode/100 != 2:
		return nil, decodeError(resp)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return body, nil
}

// RestoreTFState makes a kept version the workspace's current state again
// (as a new version). A locked workspace needs the lock's id, or force.
func (c *Client) RestoreTFState(ctx context.Context, workspace string, version uint64, lockID string, force bool) (TFStateWrite, error) {
	q := url.Values{}
	if lockID != "" {
		q.Set("ID", lockID)
	}
	if force {
		q.Set("force", "true")
	}
	var out TFStateWrite
	return out, c.do(ctx, http.MethodPost, tfStatePath(workspace)+"/versions/"+strconv.FormatUint(version, 10)+"/restore", q, nil, &out)
}

// UnlockTFState releases a workspace's lock: the lock with id, or whatever
// lock is held when force (what terraform force-unlock does).
func (c *Client) UnlockTFState(ctx context.Context, workspace, id string, force bool) (WriteResult, error) {
	if id == "" && !force {
		return WriteResult{}, Errorf(CodeBadRequest, "ID", "name the lock to release, or force")
	}
	var body any
	if id != "" {
		body = map[string]string{"ID": id}
	}
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	var out WriteResult
	return out, c.do(ctx, "UNLOCK", tfStatePath(workspace), q, body, &out)
}
