package httpapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
)

// Terraform state backend: Terraform's built-in "http" backend, unchanged,
// pointed at /v1/terraform/state/<workspace> for address, lock_address and
// unlock_address. The behaviour follows Terraform's client
// (internal/backend/remote-state/http/client.go):
//
//   - GET answers 200 with the state and its Content-MD5, or 204 when the
//     workspace has none (Terraform starts from an empty state).
//   - POST (or PUT) stores a new state. Terraform sends the body's
//     Content-MD5, checked here, and ?ID=<lock id> while it holds the lock.
//   - LOCK takes the lock with Terraform's lock info as body; a lock held by
//     another id is 423 with the holder's lock info as body, which Terraform
//     prints as "Error acquiring the state lock".
//   - UNLOCK with the lock info releases it; a different id is refused
//     (423). Terraform's force-unlock sends UNLOCK without a body (it has no
//     lock info of its own): that always clears the lock.
//
// Every endpoint needs the write role — the state holds the configuration's
// secrets — and takes the token as HTTP Basic password (what Terraform
// sends; any username) as well as a Bearer token.

// DefaultTFStateVersions is how many versions of each workspace's state
// the cluster keeps (--tf-state-versions), the current one included.
const DefaultTFStateVersions = 10

func (s *Server) tfRoutes() {
	largeBody := func(h http.HandlerFunc) http.HandlerFunc {
		return s.bodyBudget(s.cfg.Limits.MaxRequestBody, "max-request-body", h)
	}
	for _, rt := range []struct {
		pattern string
		mode    mode
		h       http.HandlerFunc
		body    func(http.HandlerFunc) http.HandlerFunc
	}{
		{"GET /v1/terraform/state", read, s.handleTFList, nil},
		{"GET /v1/terraform/state/{workspace}", read, s.handleTFGet, nil},
		{"POST /v1/terraform/state/{workspace}", write, s.handleTFPut, largeBody},
		{"PUT /v1/terraform/state/{workspace}", write, s.handleTFPut, largeBody},
		{"DELETE /v1/terraform/state/{workspace}", write, s.handleTFDelete, nil},
		{"LOCK /v1/terraform/state/{workspace}", write, s.handleTFLock, largeBody},
		{"UNLOCK /v1/terraform/state/{workspace}", write, s.handleTFUnlock, largeBody},
		{"GET /v1/terraform/state/{workspace}/versions", read, s.handleTFVersions, nil},
		{"GET /v1/terraform/state/{workspace}/versions/{version}", read, s.handleTFVersion, nil},
		{"POST /v1/terraform/state/{workspace}/versions/{version}/restore", write, s.handleTFRestore, nil},
	} {
		h := s.route(rt.mode, rt.h)
		if rt.body != nil {
			h = rt.body(h)
		}
		s.mux.Handle(rt.pattern, s.instrument(rt.pattern, s.authorizeWith(RoleWrite, true, s.deadlines(h))))
	}
}

func tfWorkspaceOf(r *http.Request) (string, error) {
	name := r.PathValue("workspace")
	if fe := api.ValidateTFWorkspace(name); fe != nil {
		return "", api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	return name, nil
}

func tfVersionOf(r *http.Request) (uint64, error) {
	raw := r.PathValue("version")
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || v == 0 {
		return 0, api.Errorf(api.CodeBadRequest, "version", "%q is not a version number (1, 2, ...)", raw)
	}
	return v, nil
}

// tfForce parses ?force: only "true" or "false" (or absent).
func tfForce(r *http.Request) (bool, error) {
	q := r.URL.Query()
	if !q.Has("force") {
		return false, nil
	}
	f, err := strconv.ParseBool(q.Get("force"))
	if err != nil {
		return false, api.Errorf(api.CodeBadRequest, "force", "must be true or false, not %q", q.Get("force"))
	}
	return f, nil
}

// tfLockID parses ?ID, the lock id Terraform sends with a write while it
// holds the lock.
func tfLockID(r *http.Request) (string, error) {
	id := r.URL.Query().Get("ID")
	if len(id) > api.MaxTFLockID {
		return "", api.Errorf(api.CodeBadRequest, "ID", "lock id is %d bytes long, at most %d are allowed", len(id), api.MaxTFLockID)
	}
	return id, nil
}

// tfArgs are a state request's arguments: the workspace of its path, the
// version when the path has one, ?ID (the lock id Terraform sends with a
// write while it holds the lock) and ?force.
type tfArgs struct {
	workspace string
	version   uint64
	lockID    string
	force     bool
}

// tfArgsOf parses and checks every argument r carries; the first bad one
// is a 400 naming it.
func tfArgsOf(r *http.Request) (tfArgs, error) {
	var a tfArgs
	var err error
	if a.workspace, err = tfWorkspaceOf(r); err != nil {
		return a, err
	}
	if r.PathValue("version") != "" {
		if a.version, err = tfVersionOf(r); err != nil {
			return a, err
		}
	}
	if a.lockID, err = tfLockID(r); err != nil {
		return a, err
	}
	a.force, err = tfForce(r)
	return a, err
}

func md5Base64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// proposeTF proposes a Terraform state command and returns what it did.
func (s *Server) proposeTF(r *http.Request, cmd fsm.Command) (fsm.Response, error) {
	resp, err := s.proposeResponse(r.Context(), cmd)
	if err != nil {
		return resp, err
	}
	if resp.Err != nil {
		return resp, resp.Err
	}
	return resp, nil
}

// commitTF proposes cmd and answers its failure, or its refusal (a lock
// held by another, a wrong lock id); ok reports that it committed and the
// caller answers.
func (s *Server) commitTF(w http.ResponseWriter, r *http.Request, cmd fsm.Command, workspace, lockID string) (fsm.Response, bool) {
	resp, err := s.proposeTF(r, cmd)
	if err != nil {
		s.fail(w, r, err)
		return resp, false
	}
	if resp.TF.Refused {
		tfRefused(w, workspace, lockID, resp.TF)
		return resp, false
	}
	return resp, true
}

// tfRefused answers a command the lock refused: 423 with the holder's lock
// info (Terraform reads the body as its LockInfo and prints it), or 409
// when the caller named a lock that is no longer held.
func tfRefused(w http.ResponseWriter, workspace, lockID string, res store.TFResult) {
	if res.Holder == nil {
		writeError(w, api.Errorf(api.CodeConflict, "ID", "workspace %q is not locked, so lock %q is not held (was it cleared with force-unlock?); nothing was changed", workspace, lockID))
		return
	}
	e := api.Errorf(api.CodeLocked, "ID", "the state of workspace %q is locked by lock %q; nothing was changed", workspace, res.Holder.ID)
	// The body is the lock info as Terraform sent it, plus the error the
	// API's other clients read: Terraform ignores the extra key.
	body := map[string]any{}
	if err := json.Unmarshal(res.Holder.Info, &body); err != nil || body == nil {
		body = map[string]any{"ID": res.Holder.ID}
	}
	body["error"] = e
	writeJSON(w, http.StatusLocked, body)
}

func (s *Server) handleTFList(w http.ResponseWriter, r *http.Request) {
	var list []api.TFWorkspace
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		list, err = v.TFWorkspaces()
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// writeTFState answers with one version's state, byte for byte.
func writeTFState(w http.ResponseWriter, body []byte, v api.TFStateVersion) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-MD5", v.MD5)
	w.Header().Set("X-Conflux-TFState-Version", strconv.FormatUint(v.Version, 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (s *Server) handleTFGet(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := a.workspace
	var (
		body []byte
		meta api.TFStateVersion
		ok   bool
	)
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		body, meta, ok, err = v.TFStateBody(name, 0)
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		// Terraform's client reads 204 (and 404) as "no state yet".
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeTFState(w, body, meta)
}

// tfStateHeader is what the backend reads of a state: enough to list
// versions. A state is a JSON object; Terraform writes more fields, which
// stay in the stored bytes.
type tfStateHeader struct {
	Version *int    `json:"version"`
	Serial  *int64  `json:"serial"`
	Lineage *string `json:"lineage"`
}

func (s *Server) handleTFPut(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, lockID := a.workspace, a.lockID
	body, err := readBody(r, s.cfg.Limits.MaxRequestBody, "max-request-body")
	if err != nil {
		writeError(w, err)
		return
	}
	sum := md5Base64(body)
	if want := r.Header.Get("Content-MD5"); want != "" {
		raw, derr := base64.StdEncoding.DecodeString(want)
		if derr != nil || len(raw) != md5.Size {
			writeError(w, api.Errorf(api.CodeBadRequest, "Content-MD5", "is not the base64 of an MD5 sum"))
			return
		}
		if want != sum {
			writeError(w, api.Errorf(api.CodeBadRequest, "Content-MD5", "%s does not match the body's MD5 %s: the state was changed on its way; nothing was stored", want, sum))
			return
		}
	}
	var hdr tfStateHeader
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, api.Errorf(api.CodeBadRequest, "body", "is empty: send the Terraform state (DELETE removes a state)"))
		return
	}
	if err := json.Unmarshal(body, &hdr); err != nil {
		writeError(w, api.Errorf(api.CodeBadRequest, "body", "is not a Terraform state (a JSON object): %v", err))
		return
	}
	if hdr.Version == nil || hdr.Serial == nil || hdr.Lineage == nil {
		writeError(w, api.Errorf(api.CodeBadRequest, "body", "is not a Terraform state: it lacks version, serial or lineage"))
		return
	}
	resp, ok := s.commitTF(w, r, fsm.TFPutState{
		Workspace: name, LockID: lockID, Serial: *hdr.Serial, Lineage: *hdr.Lineage, MD5: sum,
		Keep: s.cfg.TFStateVersions, Time: time.Now().UTC(), Body: body,
	}, name, lockID)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, api.TFStateWrite{Workspace: name, Version: resp.TF.Version, Index: resp.Result.Index})
}

func (s *Server) handleTFDelete(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, lockID, force := a.workspace, a.lockID, a.force
	resp, ok := s.commitTF(w, r, fsm.TFDeleteState{Workspace: name, LockID: lockID, Force: force, Time: time.Now().UTC()}, name, lockID)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp.Result)
}

// tfLockInfo reads the lock info of a LOCK or UNLOCK: a JSON object with a
// non-empty string "ID". An empty body reads as none (nil, "").
func (s *Server) tfLockInfo(r *http.Request) (json.RawMessage, string, error) {
	body, err := readBody(r, s.cfg.Limits.MaxRequestBody, "max-request-body")
	if err != nil {
		return nil, "", err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", nil
	}
	var info map[string]any
	if err := json.Unmarshal(body, &info); err != nil || info == nil {
		msg := "is not a JSON object"
		if err != nil {
			msg = fmt.Sprintf("is not Terraform's lock info (a JSON object): %v", err)
		}
		return nil, "", api.Errorf(api.CodeBadRequest, "body", "%s", msg)
	}
	id, _ := info["ID"].(string)
	switch {
	case id == "":
		return nil, "", api.Errorf(api.CodeBadRequest, "ID", "the lock info has no ID (a non-empty string)")
	case len(id) > api.MaxTFLockID:
		return nil, "", api.Errorf(api.CodeBadRequest, "ID", "lock id is %d bytes long, at most %d are allowed", len(id), api.MaxTFLockID)
	}
	return body, id, nil
}

func (s *Server) handleTFLock(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := a.workspace
	info, id, err := s.tfLockInfo(r)
	if err == nil && info == nil {
		err = api.Errorf(api.CodeBadRequest, "body", "is empty: send Terraform's lock info (a JSON object with an ID)")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	resp, ok := s.commitTF(w, r, fsm.TFLock{Workspace: name, ID: id, Info: info, Time: time.Now().UTC()}, name, id)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, resp.Result)
}

func (s *Server) handleTFUnlock(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := a.workspace
	info, id, err := s.tfLockInfo(r)
	if err != nil {
		writeError(w, err)
		return
	}
	// No lock info: Terraform's force-unlock (it never locked, so it has
	// none to send), or ?force=true from another client.
	force := a.force || info == nil
	resp, ok := s.commitTF(w, r, fsm.TFUnlock{Workspace: name, ID: id, Force: force}, name, id)
	if !ok {
		return
	}
	if force && resp.TF.Changed {
		s.log.Warn("terraform state lock cleared by force", "workspace", name)
	}
	writeJSON(w, http.StatusOK, resp.Result)
}

func (s *Server) handleTFVersions(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name := a.workspace
	var (
		list   []api.TFStateVersion
		exists bool
	)
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		if _, exists, err = v.TFWorkspace(name); err != nil || !exists {
			return err
		}
		list, err = v.TFStateVersions(name)
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	if !exists {
		writeError(w, api.Errorf(api.CodeNotFound, "workspace", "no Terraform state workspace %q", name))
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleTFVersion(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, version := a.workspace, a.version
	var (
		body []byte
		meta api.TFStateVersion
		ok   bool
	)
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		body, meta, ok, err = v.TFStateBody(name, version)
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	if !ok {
		writeError(w, api.Errorf(api.CodeNotFound, "version", "workspace %q keeps no version %d (see GET /v1/terraform/state/%s/versions)", name, version, name))
		return
	}
	writeTFState(w, body, meta)
}

func (s *Server) handleTFRestore(w http.ResponseWriter, r *http.Request) {
	a, err := tfArgsOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, version, lockID, force := a.workspace, a.version, a.lockID, a.force
	resp, err := s.proposeTF(r, fsm.TFRestoreState{
		Workspace: name, Version: version, LockID: lockID, Force: force,
		Keep: s.cfg.TFStateVersions, Time: time.Now().UTC(),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case resp.TF.Refused:
		if resp.TF.Holder != nil {
			writeError(w, api.Errorf(api.CodeLocked, "ID", "the state of workspace %q is locked by lock %q: pass that lock id, or force to restore anyway", name, resp.TF.Holder.ID))
			return
		}
		tfRefused(w, name, lockID, resp.TF)
	case resp.TF.Missing:
		writeError(w, api.Errorf(api.CodeNotFound, "version", "workspace %q keeps no version %d (see GET /v1/terraform/state/%s/versions)", name, version, name))
	default:
		writeJSON(w, http.StatusOK, api.TFStateWrite{Workspace: name, Version: resp.TF.Version, Index: resp.Result.Index})
	}
}
