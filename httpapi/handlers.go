package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/cluster"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := s.cfg.Cluster.Status()
	if st.ClusterID == "" {
		s.cfg.Store.View(func(v *store.View) error { st.ClusterID = v.ClusterID(); return nil })
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleKinds(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]string{"kinds": s.cfg.Kinds.Names()})
}

// readBody reads a body of at most limit bytes (flag names the limit in
// the 413). A declared length is read into one buffer of exactly that
// size; io.ReadAll would grow it by doubling, holding up to twice the body.
func readBody(r *http.Request, limit int64, flag string) ([]byte, error) {
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= limit {
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || (err == nil && int64(len(body)) > limit) {
		return nil, tooLarge(limit, flag)
	}
	if err != nil {
		return nil, api.Errorf(api.CodeBadRequest, "", "reading request body: %v", err)
	}
	return body, nil
}

// validate checks a fragment against its kind and returns the warnings
// of an accepted one, their fields prefixed with field.
func (s *Server) validate(field string, f *api.Fragment) ([]api.Warning, error) {
	k, ok := s.cfg.Kinds.Get(f.Target.Kind)
	if !ok {
		return nil, api.Errorf(api.CodeBadRequest, field+"target.kind", "unknown kind %q (known: %v)", f.Target.Kind, s.cfg.Kinds.Names())
	}
	warnings, err := kind.ValidateWarn(k, f.Target, f.Source, f.Spec)
	if err != nil {
		var fe *api.FieldError
		if errors.As(err, &fe) {
			return nil, api.Errorf(api.CodeInvalidSpec, field+fe.Field, "%s", fe.Reason)
		}
		return nil, api.Errorf(api.CodeInvalidSpec, field+"spec", "%v", err)
	}
	for i := range warnings {
		warnings[i].Field = field + warnings[i].Field
	}
	return warnings, nil
}

// logWarnings logs the warnings of an applied write, one line each, so an
// operator sees them whichever producer made the write.
func (s *Server) logWarnings(src api.SourceRef, warnings []api.Warning) {
	for _, w := range warnings {
		s.log.Warn("fragment accepted with a warning", "source", src.String(), "field", w.Field, "warning", w.Message)
	}
}

func (s *Server) propose(ctx context.Context, cmd fsm.Command) (api.WriteResult, error) {
	r, err := s.proposeResponse(ctx, cmd)
	if err != nil {
		return api.WriteResult{}, err
	}
	if r.Err != nil {
		return api.WriteResult{}, r.Err
	}
	return r.Result, nil
}

// proposeResponse proposes cmd and returns the FSM's whole response once
// it is applied on this node (the leader).
func (s *Server) proposeResponse(ctx context.Context, cmd fsm.Command) (fsm.Response, error) {
	b, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Response{}, err
	}
	// A leader that cannot apply what it commits would only lengthen
	// the queue of entries waiting for space: refuse at once.
	if err := s.cfg.Store.WriteErr(); err != nil {
		return fsm.Response{}, s.noSpaceError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	resp, _, err := s.cfg.Cluster.Apply(ctx, b)
	if err != nil {
		if werr := s.cfg.Store.WriteErr(); werr != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			// Stuck behind entries this node cannot apply until space
			// is freed (it hands leadership away meanwhile).
			return fsm.Response{}, api.Errorf(api.CodeInsufficientStorage, "",
				"node %s cannot apply writes: %s on its data volume; this write may have been committed, and then takes effect once space is freed", s.cfg.NodeID, noSpaceCause(werr))
		}
		return fsm.Response{}, applyError(err)
	}
	r, ok := resp.(fsm.Response)
	if !ok {
		return fsm.Response{}, fmt.Errorf("unexpected apply response %T", resp)
	}
	return r, nil
}

func staleError(stored, sent int64) error {
	return api.Errorf(api.CodeConflict, "generation", "stale: the stored fragment has generation %d, newer than %d; the write was ignored", stored, sent)
}

func (s *Server) handlePutFragment(w http.ResponseWriter, r *http.Request) {
	wait, err := parseWait(r)
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := readBody(r, int64(s.cfg.MaxFragmentSize), "max-fragment-size")
	if err != nil {
		writeError(w, err)
		return
	}
	f, err := api.DecodeFragment(body, s.cfg.MaxFragmentSize)
	var warnings []api.Warning
	if err == nil {
		warnings, err = s.validate("", &f)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	// Refuse a stale generation before proposing; the FSM checks again, as
	// a newer write may commit between this read and ours.
	var stored api.Fragment
	var exists bool
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		stored, exists, err = v.Fragment(f.Target, f.Source)
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	if exists && f.Generation < stored.Generation {
		writeError(w, staleError(stored.Generation, f.Generation))
		return
	}
	res, err := s.propose(r.Context(), fsm.PutFragment{Fragment: f})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Stale {
		writeError(w, staleError(res.StoredGeneration, f.Generation))
		return
	}
	res.Warnings = warnings
	s.logWarnings(f.Source, warnings)
	s.answerWrite(w, r, res, wait, []api.TargetRef{f.Target})
}

// answerWrite answers a fragment write that was applied: at once, or with
// ?wait after the touched targets settled (504 wait_timeout if they did
// not in time).
func (s *Server) answerWrite(w http.ResponseWriter, r *http.Request, res api.WriteResult, wait time.Duration, touched []api.TargetRef) {
	if wait > 0 {
		var err error
		if res.Sync, err = s.waitSync(r.Context(), wait, res.Index, touched); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, res)
}

func refsFromQuery(r *http.Request) (api.TargetRef, api.SourceRef) {
	q := r.URL.Query()
	return api.TargetRef{Kind: q.Get("target.kind"), Name: q.Get("target.name")},
		api.SourceRef{Kind: q.Get("source.kind"), Namespace: q.Get("source.namespace"), Name: q.Get("source.name")}
}

func (s *Server) handleDeleteFragment(w http.ResponseWriter, r *http.Request) {
	wait, err := parseWait(r)
	if err != nil {
		writeError(w, err)
		return
	}
	t, src := refsFromQuery(r)
	if fe := t.Validate("target"); fe != nil {
		writeError(w, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason))
		return
	}
	if fe := src.Validate("source"); fe != nil {
		writeError(w, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason))
		return
	}
	res, err := s.propose(r.Context(), fsm.DeleteFragment{Target: t, Source: src})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Changed == 0 {
		writeError(w, api.Errorf(api.CodeNotFound, "", "no fragment of %s for %s", src, t))
		return
	}
	s.answerWrite(w, r, res, wait, []api.TargetRef{t})
}

func (s *Server) handleReplaceSource(w http.ResponseWriter, r *http.Request) {
	wait, err := parseWait(r)
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := readBody(r, s.cfg.Limits.MaxRequestBody, "max-request-body")
	if err != nil {
		writeError(w, err)
		return
	}
	req, err := api.DecodeReplaceSource(body, s.cfg.MaxFragmentSize, s.cfg.MaxSourceFragments)
	if err != nil {
		writeError(w, err)
		return
	}
	// The write touches the targets of the new fragments and of the
	// source's fragments before it (those it may delete).
	var touched []api.TargetRef
	if wait > 0 && req.Source.Validate("source") == nil { // else refused below
		for _, sf := range req.Fragments {
			touched = append(touched, sf.Target)
		}
		if err := s.cfg.Store.View(func(v *store.View) error {
			old, err := v.SourceFragments(req.Source)
			for _, f := range old {
				touched = append(touched, f.Target)
			}
			return err
		}); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	res, err := s.ReplaceSourceFragments(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answerWrite(w, r, res, wait, touched)
}

func (s *Server) handleListFragments(w http.ResponseWriter, r *http.Request) {
	t, src := refsFromQuery(r)
	filter := store.FragmentFilter{
		TargetKind: t.Kind, TargetName: t.Name,
		SourceKind: src.Kind, SourceNS: src.Namespace, SourceName: src.Name,
	}
	out := []api.Fragment{}
	err := s.cfg.Store.View(func(v *store.View) error {
		return v.Fragments(filter, func(f api.Fragment) bool {
			out = append(out, f)
			return true
		})
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// aggregate returns the (cached) aggregate of a target read in view v.
func (s *Server) aggregate(v *store.View, rec store.TargetRecord) (kind.Result, error) {
	return s.cfg.Cache.Get(rec.Target, rec.Revision, func() ([]api.Fragment, error) {
		return v.TargetFragments(rec.Target)
	})
}

func (s *Server) handleListTargets(w http.ResponseWriter, r *http.Request) {
	out := []api.TargetSummary{}
	err := s.cfg.Store.View(func(v *store.View) error {
		var ferr error
		err := v.Targets(r.URL.Query().Get("kind"), func(rec store.TargetRecord) bool {
			sum := api.TargetSummary{Target: rec.Target, Revision: rec.Revision, Fragments: rec.Fragments}
			res, err := s.aggregate(v, rec)
			if err != nil {
				ferr = err
				return false
			}
			sum.Hash, sum.Conflicts = res.Hash(), len(res.Conflicts)
			if sum.Status, err = v.Status(rec.Target); err != nil {
				ferr = err
				return false
			}
			out = append(out, sum)
			return true
		})
		if err != nil {
			return err
		}
		return ferr
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetTarget(w http.ResponseWriter, r *http.Request) {
	ref := api.TargetRef{Kind: r.PathValue("kind"), Name: r.PathValue("name")}
	out, found, err := s.Target(r.Context(), ref)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !found {
		writeError(w, api.Errorf(api.CodeNotFound, "", "no target %s", ref))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleSyncTarget(w http.ResponseWriter, r *http.Request) {
	ref := api.TargetRef{Kind: r.PathValue("kind"), Name: r.PathValue("name")}
	var rec store.TargetRecord
	var found bool
	if err := s.cfg.Store.View(func(v *store.View) (err error) {
		rec, found, err = v.Target(ref)
		return err
	}); err != nil {
		s.internal(w, r, err)
		return
	}
	if !found {
		writeError(w, api.Errorf(api.CodeNotFound, "", "no target %s", ref))
		return
	}
	queued := s.cfg.Syncer != nil
	if queued {
		s.cfg.Syncer.Enqueue(ref)
	}
	writeJSON(w, http.StatusAccepted, api.SyncRequest{Target: ref, Revision: rec.Revision, Queued: queued})
}

func (s *Server) handleListSources(w http.ResponseWriter, r *http.Request) {
	out := []api.Source{}
	err := s.cfg.Store.View(func(v *store.View) error {
		return v.Sources(func(src api.Source) bool { out = append(out, redactSource(src)); return true })
	})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePutSource(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, int64(s.cfg.MaxFragmentSize), "max-fragment-size")
	if err != nil {
		writeError(w, err)
		return
	}
	var src api.Source
	if err := api.DecodeStrict(body, &src); err != nil {
		writeError(w, err)
		return
	}
	if fe := src.Source.Validate("source"); fe != nil {
		writeError(w, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason))
		return
	}
	switch src.Source.Kind {
	case api.SourceKindGit:
		var spec api.GitSourceSpec
		if err := api.DecodeStrictAt(src.Spec, &spec, "spec"); err != nil {
			writeError(w, err)
			return
		}
		if err := spec.Validate(); err != nil {
			writeError(w, fieldError(api.CodeBadRequest, err))
			return
		}
		if err := s.checkGitSource(r.Context(), src.Source, spec); err != nil {
			s.fail(w, r, err)
			return
		}
	case api.SourceKindGitCredentials:
		if c := callerOf(r.Context()); c.role < RoleAdmin {
			writeError(w, api.Errorf(api.CodeForbidden, "source.kind", "this token has role %s; binding Git credentials to hosts needs admin", c.role))
			return
		}
		var spec api.GitCredentialsSpec
		if err := api.DecodeStrict(src.Spec, &spec); err != nil {
			writeError(w, err)
			return
		}
		if err := spec.Validate(); err != nil {
			writeError(w, fieldError(api.CodeBadRequest, err))
			return
		}
	}
	// The status is the producer's; a client cannot set it.
	src.CreateIndex, src.ModifyIndex, src.Status = 0, 0, nil
	res, err := s.propose(r.Context(), fsm.PutSource{Source: src})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleDeleteSource(w http.ResponseWriter, r *http.Request) {
	_, src := refsFromQuery(r)
	if fe := src.Validate("source"); fe != nil {
		writeError(w, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason))
		return
	}
	if c := callerOf(r.Context()); src.Kind == api.SourceKindGitCredentials && c.role < RoleAdmin {
		writeError(w, api.Errorf(api.CodeForbidden, "source.kind", "this token has role %s; unbinding Git credentials needs admin", c.role))
		return
	}
	res, err := s.propose(r.Context(), fsm.DeleteSource{Source: src})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Changed == 0 {
		writeError(w, api.Errorf(api.CodeNotFound, "", "no source %s and no fragments from it", src))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleRemovePeer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.cfg.Cluster.RemovePeer(r.Context(), id); err != nil {
		switch {
		case errors.Is(err, cluster.ErrUnknownPeer):
			writeError(w, api.Errorf(api.CodeNotFound, "id", "%s is not in the raft configuration", id))
		case errors.Is(err, cluster.ErrNotLeader):
			writeError(w, applyError(err))
		default:
			writeError(w, api.Errorf(api.CodeConflict, "id", "cannot remove %s: %v", id, err))
		}
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"removed": id})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "node": s.cfg.NodeID})
}

// fail answers an error from a write: API errors as they are, anything
// else as a logged internal error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *api.Error
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	if store.NoSpace(err) {
		s.log.Error("write refused: the data volume is full", "route", r.Pattern, "error", err)
		writeError(w, s.noSpaceError(err))
		return
	}
	s.internal(w, r, err)
}

// noSpaceError is the 507 of a write this node cannot store: raft's log
// store or the state file hit a full volume. Nothing was stored; the
// write can be sent again once space is freed.
func (s *Server) noSpaceError(err error) *api.Error {
	return api.Errorf(api.CodeInsufficientStorage, "",
		"node %s cannot store the write: %s on its data volume; free space there and retry (writes succeed again without a restart)", s.cfg.NodeID, noSpaceCause(err))
}

// noSpaceCause names the system error ("no space left on device" or
// "disk quota exceeded") without the file paths around it.
func noSpaceCause(err error) string {
	if errors.Is(err, syscall.EDQUOT) || strings.Contains(err.Error(), syscall.EDQUOT.Error()) {
		return syscall.EDQUOT.Error()
	}
	return syscall.ENOSPC.Error()
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "route", r.Pattern, "error", err)
	writeError(w, api.Errorf(api.CodeInternal, "", "internal error; see the server log"))
}

// fieldError maps an *api.FieldError to an API error with code.
func fieldError(code string, err error) error {
	var fe *api.FieldError
	if errors.As(err, &fe) {
		return api.Errorf(code, fe.Field, "%s", fe.Reason)
	}
	return err
}

// redactSource hides the credentials in the URL of a GitSource registered
// before URLs with credentials were refused: read tokens see the URL with
// REDACTED userinfo, and a client sending it back is refused (see
// api.RedactGitURL) instead of silently dropping the credentials.
func redactSource(src api.Source) api.Source {
	if src.Source.Kind != api.SourceKindGit {
		return src
	}
	var spec api.GitSourceSpec
	if json.Unmarshal(src.Spec, &spec) != nil || api.RedactGitURL(spec.URL) == spec.URL {
		return src
	}
	var raw map[string]any
	if json.Unmarshal(src.Spec, &raw) != nil {
		return src
	}
	raw["url"] = api.RedactGitURL(spec.URL)
	if b, err := json.Marshal(raw); err == nil {
		src.Spec = b
	}
	return src
}

// checkGitSource applies the server's and the token's URL rules to a
// GitSource and keeps its credentials with their host: a Secret already
// bound to hosts may only be used for them; an unbound one is bound to
// this URL's host when an admin registers it, and refused otherwise (a
// write token must not pick where a Secret it cannot read is sent).
func (s *Server) checkGitSource(ctx context.Context, ref api.SourceRef, spec api.GitSourceSpec) error {
	c := callerOf(ctx)
	if s.cfg.GitURLs != nil {
		if err := s.cfg.GitURLs.CheckGitURL(spec.URL, c.opts.Sources); err != nil {
			return fieldError(api.CodeForbidden, err)
		}
	} else if c.opts.Sources != nil {
		e, err := api.ValidateGitURL(spec.URL)
		if err != nil {
			return api.Errorf(api.CodeBadRequest, "spec.url", "%v", err)
		}
		if _, ok := api.MatchGitURLPatterns(c.opts.Sources, e); !ok {
			return api.Errorf(api.CodeForbidden, "spec.url", "%q is not allowed by this token's sources= (%s)", api.RedactGitURL(spec.URL), api.GitURLPatternList(c.opts.Sources))
		}
	}
	if spec.SecretRef == "" {
		return nil
	}
	e, err := api.ParseGitURL(spec.URL)
	if err != nil || (e.Scheme != "https" && e.Scheme != "http" && e.Scheme != "ssh") {
		return nil // no credentials go over git:// or file://
	}
	secret := api.SecretName{Name: spec.SecretRef}
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	bound, ok, err := s.credentialHosts(secret)
	if err != nil {
		return err
	}
	if !ok {
		// Sources registered before bindings existed bind the Secret to
		// their hosts; otherwise only an admin binds it, to this host.
		want, err := s.priorHosts(ctx, secret)
		if err != nil {
			return err
		}
		if len(want.Hosts) == 0 && c.role < RoleAdmin {
			return api.Errorf(api.CodeForbidden, "spec.secretRef",
				"%s is not bound to any host yet, and this token has role %s: an admin binds it first (`conflux-sync sources bind-secret %s --host %s`, or by registering a source that uses it)",
				secret, c.role, secret.Name, e.Host)
		}
		if len(want.Hosts) == 0 {
			want.Hosts = []string{e.Host}
		}
		if bound, err = s.bindLocked(ctx, secret, want); err != nil {
			return err
		}
	}
	if !bound.AllowsHost(e.Host) {
		return api.Errorf(api.CodeForbidden, "spec.url", "%s", bound.Refusal(secret, e.Host))
	}
	return nil
}
