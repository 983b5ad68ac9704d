package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/fsm"
	"github.com/conflux-sync/conflux-sync/store"
)

// The methods in this file are the admin API's operations without HTTP,
// for producers running inside the node (the Kubernetes ingest): the same
// validation and the same proposals as the handlers, no forwarding — the
// caller runs on the leader.

// ReplaceSourceFragments validates every fragment of req against its kind
// and replaces the source's fragment set in one raft entry. Validation
// errors are *api.Error naming the field.
func (s *Server) ReplaceSourceFragments(ctx context.Context, req api.ReplaceSourceRequest) (api.WriteResult, error) {
	if fe := req.Source.Validate("source"); fe != nil {
		return api.WriteResult{}, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	var warnings []api.Warning
	for i, sf := range req.Fragments {
		if fe := sf.Target.Validate(fmt.Sprintf("fragments[%d].target", i)); fe != nil {
			return api.WriteResult{}, api.Errorf(api.CodeBadRequest, fe.Field, "%s", fe.Reason)
		}
		f := api.Fragment{Target: sf.Target, Source: req.Source, Generation: sf.Generation, Spec: sf.Spec}
		w, err := s.validate(fmt.Sprintf("fragments[%d].", i), &f)
		if err != nil {
			return api.WriteResult{}, err
		}
		warnings = append(warnings, w...)
	}
	res, err := s.propose(ctx, fsm.ReplaceSourceFragments{Source: req.Source, Fragments: req.Fragments})
	if err != nil {
		return api.WriteResult{}, err
	}
	res.Warnings = warnings
	s.logWarnings(req.Source, warnings)
	return res, nil
}

// SourceFragments returns every stored fragment whose source is of kind
// sourceKind, read from this node's store.
func (s *Server) SourceFragments(_ context.Context, sourceKind string) ([]api.Fragment, error) {
	var out []api.Fragment
	err := s.cfg.Store.View(func(v *store.View) error {
		return v.Fragments(store.FragmentFilter{SourceKind: sourceKind}, func(f api.Fragment) bool {
			out = append(out, f)
			return true
		})
	})
	return out, err
}

// Target returns everything known about a target, read from this node's
// store; false when there is no such target.
func (s *Server) Target(_ context.Context, ref api.TargetRef) (api.Target, bool, error) {
	var out api.Target
	found := false
	err := s.cfg.Store.View(func(v *store.View) error {
		rec, ok, err := v.Target(ref)
		if err != nil || !ok {
			return err
		}
		found = true
		frags, err := v.TargetFragments(ref)
		if err != nil {
			return err
		}
		res, err := s.cfg.Cache.Get(ref, rec.Revision, func() ([]api.Fragment, error) { return frags, nil })
		if err != nil {
			return err
		}
		st, err := v.Status(ref)
		if err != nil {
			return err
		}
		out = api.Target{
			Target: ref, Revision: rec.Revision, Desired: res.Desired, Hash: res.Hash(),
			Conflicts: res.Conflicts, Status: st, Fragments: frags,
		}
		return nil
	})
	if out.Conflicts == nil {
		out.Conflicts = []api.Conflict{}
	}
	if out.Fragments == nil {
		out.Fragments = []api.Fragment{}
	}
	return out, found, err
}

// Sources returns the registered sources of one kind, read from this
// node's store.
func (s *Server) Sources(_ context.Context, kind string) ([]api.Source, error) {
	var out []api.Source
	err := s.cfg.Store.View(func(v *store.View) error {
		return v.Sources(func(src api.Source) bool {
			if src.Source.Kind == kind {
				out = append(out, src)
			}
			return true
		})
	})
	return out, err
}

// RecordSourceStatus stores a producer's status of a registered source.
func (s *Server) RecordSourceStatus(ctx context.Context, ref api.SourceRef, status json.RawMessage) error {
	_, err := s.propose(ctx, fsm.RecordSourceStatus{Source: ref, Status: status})
	return err
}

// CredentialHosts returns the hosts the Git credentials of secret are
// bound to (an api.SourceKindGitCredentials record); false when none.
func (s *Server) CredentialHosts(_ context.Context, secret api.SecretName) (api.GitCredentialsSpec, bool, error) {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	return s.credentialHosts(secret)
}

func (s *Server) credentialHosts(secret api.SecretName) (api.GitCredentialsSpec, bool, error) {
	var spec api.GitCredentialsSpec
	var found bool
	err := s.cfg.Store.View(func(v *store.View) error {
		src, ok, err := v.Source(api.SourceRef{Kind: api.SourceKindGitCredentials, Namespace: secret.Namespace, Name: secret.Name})
		if err != nil || !ok {
			return err
		}
		found = true
		return json.Unmarshal(src.Spec, &spec)
	})
	return spec, found, err
}

// BindCredentials records spec as the binding of secret unless it has one,
// and returns the binding in force. A Secret of --secrets-dir is also
// bound to the hosts of every GitSource registered with it before bindings
// existed, so those keep working.
func (s *Server) BindCredentials(ctx context.Context, secret api.SecretName, spec api.GitCredentialsSpec) (api.GitCredentialsSpec, error) {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	bound, ok, err := s.credentialHosts(secret)
	if err != nil || ok {
		return bound, err
	}
	return s.bindLocked(ctx, secret, spec)
}

// bindLocked records a binding; the caller holds bindMu and found none.
// A Secret of --secrets-dir is bound to the hosts of the GitSources
// registered with it before bindings existed as well.
func (s *Server) bindLocked(ctx context.Context, secret api.SecretName, spec api.GitCredentialsSpec) (api.GitCredentialsSpec, error) {
	prior, err := s.priorHosts(ctx, secret)
	if err != nil {
		return spec, err
	}
	for _, h := range prior.Hosts {
		if !spec.AllowsHost(h) {
			spec.Hosts = append(spec.Hosts, h)
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return spec, err
	}
	ref := api.SourceRef{Kind: api.SourceKindGitCredentials, Namespace: secret.Namespace, Name: secret.Name}
	if _, err := s.propose(ctx, fsm.PutSource{Source: api.Source{Source: ref, Spec: raw}}); err != nil {
		return spec, fmt.Errorf("record the hosts of %s: %w", secret, err)
	}
	s.log.Info("Git credentials bound to hosts", "secret", secret.String(), "hosts", strings.Join(spec.Hosts, ","))
	return spec, nil
}

// priorHosts are the hosts of the registered GitSources using a Secret of
// --secrets-dir (none for a Kubernetes Secret: ConfluxSources are not
// registered here).
func (s *Server) priorHosts(ctx context.Context, secret api.SecretName) (api.GitCredentialsSpec, error) {
	var out api.GitCredentialsSpec
	if secret.Namespace != "" {
		return out, nil
	}
	srcs, err := s.Sources(ctx, api.SourceKindGit)
	if err != nil {
		return out, err
	}
	for _, src := range srcs {
		var gs api.GitSourceSpec
		if json.Unmarshal(src.Spec, &gs) != nil || gs.SecretRef != secret.Name {
			continue
		}
		if e, err := api.ParseGitURL(gs.URL); err == nil && e.Host != "" && !out.AllowsHost(e.Host) {
			out.Hosts = append(out.Hosts, e.Host)
		}
	}
	return out, nil
}
