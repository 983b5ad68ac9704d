package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// resync runs once per term for the source kinds whose informers listed
// (and again for a kind that lists late), before any of their objects is
// reconciled: every source of those kinds in the store but not in the
// cluster (deleted while no leader watched) loses its fragments, and every
// live object is queued, so the store ends up listing exactly what the
// cluster holds. Kinds without an API, or whose informer has not listed,
// are not swept: absence proves nothing then.
func (t *term) resync(ctx context.Context, kinds []string) error {
	swept := 0
	for _, kind := range kinds {
		if !t.watched[kind] || !t.isSource(kind) {
			continue
		}
		stored, err := t.c.cfg.Reader.SourceFragments(ctx, kind)
		if err != nil {
			return err
		}
		bySource := map[objKey][]api.SourceFragment{}
		for _, f := range stored {
			if !t.c.watches(f.Source.Namespace) {
				// Another namespace: not watched here, so not ours to sweep.
				continue
			}
			k := objKey{Kind: f.Source.Kind, Namespace: f.Source.Namespace, Name: f.Source.Name}
			bySource[k] = append(bySource[k], api.SourceFragment{Target: f.Target, Generation: f.Generation, Spec: f.Spec})
		}
		live, err := t.list(ctx, kind, "")
		if err != nil {
			return err
		}
		t.mu.Lock()
		for k, frags := range bySource {
			t.proposed[k] = fragmentsHash(frags)
		}
		t.mu.Unlock()
		alive := make(map[objKey]bool, len(live))
		for _, k := range live {
			alive[k] = true
		}
		for k := range bySource {
			if alive[k] {
				continue
			}
			if _, err := t.propose(ctx, k, nil); err != nil {
				return fmt.Errorf("sweep %s: %w", k, err)
			}
			swept++
		}
	}
	if swept > 0 {
		t.c.log.Info("swept the fragments of objects deleted while no leader watched", "sources", swept)
	}
	// Everything reconciles once: statuses too, not only sources.
	for _, kind := range t.primaryKinds() {
		if !slices.Contains(kinds, kind) && t.isSource(kind) {
			continue // a late source kind: its own resync queues it
		}
		t.enqueueAll("", kind)
	}
	return nil
}

// isSource reports whether objects of kind are sources of fragments.
func (t *term) isSource(kind string) bool {
	if kind == kindIngress || kind == kindHTTPRoute {
		return true
	}
	s, ok := t.served[kind]
	return ok && s.role == roleSource
}

// reconcile brings the store in line with one object and writes its status.
func (t *term) reconcile(ctx context.Context, key objKey) error {
	switch key.Kind {
	case kindGateway:
		return t.reconcileGateway(ctx, key)
	case kindGatewayClass:
		return t.reconcileGatewayClass(ctx, key)
	}
	if t.served[key.Kind].role == roleL4Route {
		return t.reconcileL4Route(ctx, key)
	}
	obj := t.newObject(key.Kind)
	if err := t.cache.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) && t.isSource(key.Kind) {
			_, err = t.propose(ctx, key, nil)
			return err
		}
		return client.IgnoreNotFound(err)
	}
	if _, _, gen := generatedBy(obj); gen && key.Kind == translate.SourceDNSRecord {
		// cloudflare-operator's bookkeeping for an Ingress or Gateway
		// whose records conflux-sync now writes: free it for deletion.
		if obj.GetDeletionTimestamp() != nil {
			return t.releaseFinalizers(ctx, key, obj)
		}
		return nil
	}
	res := t.translateObject(ctx, key, obj)
	if !res.Managed {
		// Another controller's object (or one that stopped being ours):
		// whatever it contributed goes, and so does what we wrote on it.
		if t.isSource(key.Kind) {
			if _, err := t.propose(ctx, key, nil); err != nil {
				return err
			}
		}
		return t.forget(ctx, obj)
	}
	if obj.GetDeletionTimestamp() != nil {
		return t.finalize(ctx, key, obj, res)
	}
	if err := t.ensureFinalizer(ctx, key, obj); err != nil {
		return err
	}
	problems := res.Problems
	if t.isSource(key.Kind) && len(problems) == 0 && !res.Keep {
		// An invalid object keeps what it last contributed: a typo must not
		// take a working route down. Only valid objects are proposed.
		p, err := t.propose(ctx, key, res.Fragments)
		if err != nil {
			return err
		}
		if p != nil {
			problems = append(problems, *p)
		}
	}
	v, err := t.writeStatus(ctx, key, obj, res, problems)
	if err != nil {
		return err
	}
	if t.isTunnel(key.Kind) {
		return t.ensureTokenSecret(ctx, key, obj, v)
	}
	return nil
}

// isTunnel reports whether kind is a Tunnel or ClusterTunnel of either group.
func (t *term) isTunnel(kind string) bool {
	s, ok := t.served[kind]
	return ok && (s.kind == "Tunnel" || s.kind == "ClusterTunnel")
}

// propose replaces the source's fragment set unless it is what the store
// already holds. A fragment the kinds reject comes back as a Problem, not an
// error: retrying cannot fix it.
func (t *term) propose(ctx context.Context, key objKey, frags []api.SourceFragment) (*translate.Problem, error) {
	if frags == nil {
		frags = []api.SourceFragment{}
	}
	h := fragmentsHash(frags)
	t.mu.Lock()
	prev, known := t.proposed[key]
	t.mu.Unlock()
	if prev == h || (!known && len(frags) == 0) {
		return nil, nil
	}
	_, err := t.c.cfg.Proposer.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: key.source(), Fragments: frags})
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != 409 {
		return &translate.Problem{Field: apiErr.Field, Reason: apiErr.Message}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("propose the fragments of %s: %w", key, err)
	}
	t.c.metrics.proposals.WithLabelValues(key.Kind).Inc()
	t.mu.Lock()
	t.proposed[key] = h
	t.mu.Unlock()
	return nil, nil
}

// fragmentsHash identifies a fragment set independent of its order.
func fragmentsHash(frags []api.SourceFragment) string {
	sorted := slices.Clone(frags)
	slices.SortFunc(sorted, func(a, b api.SourceFragment) int {
		switch {
		case a.Target.Key() < b.Target.Key():
			return -1
		case a.Target.Key() > b.Target.Key():
			return 1
		}
		return 0
	})
	h := sha256.New()
	for _, f := range sorted {
		spec, _ := json.Marshal(f.Spec) // RawMessage: the bytes themselves
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", f.Target.Key(), f.Generation, spec)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// needsFinalizer: only a tunnel conflux-sync creates is deleted in
// Cloudflare with its object, and that deletion should finish (and be
// visible as the object lingering) before the object goes. Everything else
// is removed by the sync after the object is gone, also when no leader
// watched the deletion (resync sweeps it).
func (t *term) needsFinalizer(kind string, obj client.Object) bool {
	if !t.isTunnel(kind) {
		return false
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	_, found, _ := unstructured.NestedMap(u.Object, "spec", "newTunnel")
	return found
}

func (t *term) ensureFinalizer(ctx context.Context, key objKey, obj client.Object) error {
	if t.c.cfg.ReadOnly {
		return nil
	}
	want := t.needsFinalizer(key.Kind, obj)
	if want == controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	if want {
		controllerutil.AddFinalizer(obj, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(obj, Finalizer)
	}
	if err := t.c.client.Patch(ctx, obj, patch, client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("update the finalizers of %s: %w", obj.GetName(), err)
	}
	return nil
}

// finalize handles an object being deleted: its fragments go at once; a
// tunnel we created keeps its object until the sync recorded its deletion.
// Then the finalizers of the operator conflux-sync stands in for go too.
func (t *term) finalize(ctx context.Context, key objKey, obj client.Object, res translate.Result) error {
	if t.isSource(key.Kind) {
		if _, err := t.propose(ctx, key, nil); err != nil {
			return err
		}
	}
	if controllerutil.ContainsFinalizer(obj, Finalizer) {
		ref := api.TargetRef{Kind: api.KindTunnel, Name: translate.TunnelTarget(key.Kind, key.Namespace, key.Name)}
		tg, found, err := t.c.cfg.Reader.Target(ctx, ref)
		if err != nil {
			return err
		}
		// Released: no fragment left and the last flush recorded no tunnel
		// (the tunnel flusher records none once it deleted or let go of it).
		released := !found || (len(tg.Fragments) == 0 && tg.Status != nil && tg.Status.Error == "" && tg.Status.DownstreamIDs["tunnelId"] == "")
		if !released {
			// The target's status change (Notify) queues the object again.
			_, err := t.writeStatus(ctx, key, obj, res, nil)
			return err
		}
	}
	return t.releaseFinalizers(ctx, key, obj)
}

// foreignFinalizers are the finalizers other controllers put on objects of
// kind that conflux-sync releases once it has done its part of a deletion.
func (t *term) foreignFinalizers(kind string) []string {
	switch kind {
	case kindIngress:
		return ingressFinalizers
	case kindGateway:
		return gatewayFinalizers
	}
	if s, ok := t.served[kind]; ok {
		return s.finalizers
	}
	return nil
}

// releaseFinalizers removes conflux-sync's finalizer and the foreign ones
// of an object being deleted.
func (t *term) releaseFinalizers(ctx context.Context, key objKey, obj client.Object) error {
	if t.c.cfg.ReadOnly {
		return nil
	}
	drop := append([]string{Finalizer}, t.foreignFinalizers(key.Kind)...)
	if !slices.ContainsFunc(obj.GetFinalizers(), func(f string) bool { return slices.Contains(drop, f) }) {
		return nil
	}
	patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
	obj.SetFinalizers(slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), func(f string) bool { return slices.Contains(drop, f) }))
	if err := t.c.client.Patch(ctx, obj, patch, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove the finalizers of %s: %w", key, err)
	}
	return nil
}
