package kube

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// term is one leadership term of the controller: its own informers, queue
// and event recorder, all stopped when the term ends.
type term struct {
	c        *Controller
	cache    cache.Cache
	queue    workqueue.TypedRateLimitingInterface[objKey]
	recorder record.EventRecorder
	pending  *pendingTargets
	// watched are the kinds whose API exists in this cluster (Gateway API
	// CRDs may not be installed), with their informers.
	watched   map[string]bool
	informers map[string]cache.Informer
	// ctx is the term's; synced is set once every informer listed.
	ctx    context.Context
	synced atomic.Bool

	mu sync.Mutex
	// proposed is the hash of the fragment set last proposed (or found in
	// the store at the start of the term) per object.
	proposed map[objKey]string
	// events is the last event emitted per object, so a verdict is told once.
	events map[objKey]string
}

func (t *term) notify(changed []api.TargetRef) { t.pending.add(changed) }

// stripSecretValues keeps a Secret's keys but not its values in the cache:
// translation only checks that a key exists, and the token is read from the
// API server when a flush needs it.
func stripSecretValues(obj any) (any, error) {
	if s, ok := obj.(*corev1.Secret); ok {
		for k := range s.Data {
			s.Data[k] = nil
		}
		s.StringData = nil
	}
	return obj, nil
}

func (c *Controller) runTerm(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := cache.Options{
		Scheme:           c.scheme,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{&corev1.Secret{}: {Transform: stripSecretValues}},
	}
	if len(c.cfg.WatchNamespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range c.cfg.WatchNamespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	informers, err := cache.New(c.cfg.REST, opts)
	if err != nil {
		return fmt.Errorf("informer cache: %w", err)
	}
	broadcaster := record.NewBroadcaster()
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.events.CoreV1().Events("")})
	t := &term{
		c:         c,
		cache:     informers,
		queue:     newQueue(),
		recorder:  broadcaster.NewRecorder(c.scheme, corev1.EventSource{Component: FieldManager}),
		pending:   newPendingTargets(),
		watched:   map[string]bool{},
		informers: map[string]cache.Informer{},
		ctx:       ctx,
		proposed:  map[objKey]string{},
	}
	defer t.queue.ShutDown()

	if err := t.watch(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		if err := informers.Start(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("informers stopped", "error", err)
		}
	})
	if err := t.waitForSync(ctx); err != nil {
		return err
	}
	t.synced.Store(true)
	if err := t.resync(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	c.term.Store(t)
	defer c.term.Store(nil)
	c.metrics.running.Set(1)
	defer c.metrics.running.Set(0)
	c.log.Info("Kubernetes ingest running", "kinds", len(t.watched))

	for range c.cfg.Workers {
		wg.Go(func() {
			for t.processNext(ctx) {
			}
		})
	}
	wg.Go(func() { t.statusLoop(ctx) })
	<-ctx.Done()
	t.queue.ShutDown()
	return nil
}

// waitForSync waits for every informer's first list, at most
// CacheSyncTimeout; a kind that does not sync in time is named, which is
// what a missing list or watch permission looks like.
func (t *term) waitForSync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.c.cfg.CacheSyncTimeout)
	defer cancel()
	if t.cache.WaitForCacheSync(ctx) {
		return nil
	}
	var missing []string
	for kind, inf := range t.informers {
		if !inf.HasSynced() {
			missing = append(missing, kind)
		}
	}
	slices.Sort(missing)
	return fmt.Errorf("the informers of %s did not list in %v: does conflux-sync's service account have list and watch on them (deploy/rbac)? %w",
		strings.Join(missing, ", "), t.c.cfg.CacheSyncTimeout, context.Cause(ctx))
}

// watchedKind says how to watch one object kind and what its events
// enqueue.
type watchedKind struct {
	kind string
	obj  client.Object
	// primary kinds are sources: their own events enqueue them.
	primary bool
	// dependents are source kinds whose objects read this kind (through
	// Lookup); sameNamespace limits them to the changed object's namespace.
	dependents    []string
	sameNamespace bool
}

var ruleKinds = []string{translate.SourceIngress, translate.SourceHTTPRoute, translate.SourceTunnelBinding}

func watchedKinds() []watchedKind {
	tunnelUsers := []string{translate.SourceIngress, translate.SourceHTTPRoute, translate.SourceTunnelBinding,
		translate.SourceDNSRecord, translate.SourceNetworkRoute}
	return []watchedKind{
		{kind: translate.SourceTunnel, obj: newObject(translate.SourceTunnel), primary: true, dependents: tunnelUsers},
		{kind: translate.SourceClusterTunnel, obj: newObject(translate.SourceClusterTunnel), primary: true, dependents: tunnelUsers},
		{kind: translate.SourceTunnelBinding, obj: newObject(translate.SourceTunnelBinding), primary: true},
		{kind: translate.SourceIngress, obj: newObject(translate.SourceIngress), primary: true},
		{kind: translate.SourceHTTPRoute, obj: newObject(translate.SourceHTTPRoute), primary: true},
		{kind: translate.SourceDNSRecord, obj: newObject(translate.SourceDNSRecord), primary: true},
		{kind: translate.SourceAccessApplication, obj: newObject(translate.SourceAccessApplication), primary: true},
		{kind: translate.SourceNetworkRoute, obj: newObject(translate.SourceNetworkRoute), primary: true},
		{kind: "Service", obj: &corev1.Service{}, dependents: ruleKinds, sameNamespace: true},
		{kind: "Secret", obj: &corev1.Secret{}, dependents: translate.SourceKinds, sameNamespace: true},
		{kind: "IngressClass", obj: &networkingv1.IngressClass{}, dependents: []string{translate.SourceIngress}},
		{kind: "Gateway", obj: &gatewayv1.Gateway{}, dependents: []string{translate.SourceHTTPRoute}},
		{kind: "GatewayClass", obj: &gatewayv1.GatewayClass{}, dependents: []string{translate.SourceHTTPRoute}},
	}
}

// watch registers an informer and its handler for every kind whose API the
// cluster serves.
func (t *term) watch(ctx context.Context) error {
	for _, w := range watchedKinds() {
		inf, err := t.cache.GetInformer(ctx, w.obj, cache.BlockUntilSynced(false))
		if meta.IsNoMatchError(err) {
			t.c.log.Warn("Kubernetes API not served; not watching it (install its CRDs and restart the leader)", "kind", w.kind)
			continue
		}
		if err != nil {
			return fmt.Errorf("informer for %s: %w", w.kind, err)
		}
		t.watched[w.kind] = true
		t.informers[w.kind] = inf
		if _, err := inf.AddEventHandler(t.handler(w)); err != nil {
			return fmt.Errorf("event handler for %s: %w", w.kind, err)
		}
	}
	// Secrets and Services are only read for the kinds above; a cluster
	// without the CRDs still serves Ingress.
	return nil
}

func (t *term) handler(w watchedKind) toolscache.ResourceEventHandler {
	on := func(obj any) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		o, ok := obj.(client.Object)
		if !ok {
			return
		}
		if w.primary {
			t.queue.Add(objKey{Kind: w.kind, Namespace: o.GetNamespace(), Name: o.GetName()})
		}
		// Before the caches synced, the resync that follows queues
		// everything anyway; listing now would wait on the other informers
		// from inside this one's event delivery.
		if len(w.dependents) > 0 && t.synced.Load() {
			ns := ""
			if w.sameNamespace {
				ns = o.GetNamespace()
			}
			t.enqueueAll(ns, w.dependents...)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: on,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(client.Object)
			n, ok2 := newObj.(client.Object)
			if ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion() {
				return // a periodic resync, nothing changed
			}
			on(newObj)
		},
		DeleteFunc: on,
	}
}

// enqueueAll adds every cached object of kinds (in namespace ns, or all
// namespaces when ns is empty; cluster-scoped kinds always).
func (t *term) enqueueAll(ns string, kinds ...string) {
	for _, k := range kinds {
		if !t.watched[k] {
			continue
		}
		keys, err := t.list(t.ctx, k, ns)
		if err != nil {
			t.c.log.Error("list cached objects", "kind", k, "error", err)
			continue
		}
		for _, key := range keys {
			t.queue.Add(key)
		}
	}
}

// list returns the keys of the cached objects of kind.
func (t *term) list(ctx context.Context, kind, ns string) ([]objKey, error) {
	list := newList(kind)
	var opts []client.ListOption
	if ns != "" && kind != translate.SourceClusterTunnel {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := t.cache.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	keys := make([]objKey, 0, len(items))
	for _, it := range items {
		o := it.(client.Object)
		keys = append(keys, objKey{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()})
	}
	return keys, nil
}

func (t *term) processNext(ctx context.Context) bool {
	key, quit := t.queue.Get()
	if quit {
		return false
	}
	defer t.queue.Done(key)
	if err := t.reconcile(ctx, key); err != nil {
		if ctx.Err() != nil {
			return false
		}
		t.c.metrics.errors.WithLabelValues(key.Kind).Inc()
		level := slog.LevelWarn
		if apierrors.IsConflict(err) {
			level = slog.LevelDebug // another writer was faster: read again
		}
		t.c.log.Log(ctx, level, "reconcile failed; retrying", "object", key.String(), "error", err)
		t.queue.AddRateLimited(key)
		return true
	}
	t.queue.Forget(key)
	return true
}

// statusLoop turns Notify's changed targets into reconciles of the objects
// whose fragments feed them, and recomputes everything now and then.
func (t *term) statusLoop(ctx context.Context) {
	tick := time.NewTicker(t.c.cfg.StatusInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.enqueueAll("", translate.SourceKinds...)
		case <-t.pending.wake:
			all, targets := t.pending.take()
			if all {
				t.enqueueAll("", translate.SourceKinds...)
				continue
			}
			for _, ref := range targets {
				if key, ok := tunnelObject(ref); ok && t.watched[key.Kind] {
					// A Tunnel being deleted waits for its target's flush.
					t.queue.Add(key)
				}
				tg, ok, err := t.c.cfg.Reader.Target(ctx, ref)
				if err != nil || !ok {
					continue
				}
				for _, f := range tg.Fragments {
					if t.watched[f.Source.Kind] {
						t.queue.Add(objKey{Kind: f.Source.Kind, Namespace: f.Source.Namespace, Name: f.Source.Name})
					}
				}
			}
		}
	}
}
