package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/conflux-sync/conflux-sync/api"
)

// errCRDsChanged ends a term when the operators' CRDs change (installed,
// removed, a version served or no longer): the next term discovers them
// again.
var errCRDsChanged = errors.New("the cloudflare-operator CRDs changed")

// term is one leadership term of the controller: its own informers, queue
// and event recorder, all stopped when the term ends.
type term struct {
	c        *Controller
	cache    cache.Cache
	queue    workqueue.TypedRateLimitingInterface[objKey]
	recorder record.EventRecorder
	pending  *pendingTargets
	// served are the operators' CRD kinds this cluster serves.
	served map[string]served
	// watched are the kinds with an informer (Gateway API CRDs may not be
	// installed), with their informers. A kind whose informer has not
	// listed yet (see lateKinds) is not in synced.
	watched   map[string]bool
	informers map[string]cache.Informer
	// ctx is the term's; synced is set once the informers listed.
	ctx    context.Context
	cancel context.CancelCauseFunc
	synced atomic.Bool

	mu sync.Mutex
	// proposed is the hash of the fragment set last proposed (or found in
	// the store at the start of the term) per object.
	proposed map[objKey]string
	// events is the last event emitted per object, so a verdict is told once.
	events map[objKey]string
	// late are watched kinds whose first list had not finished when the
	// term started: they are neither reconciled nor swept until it does.
	late map[string]bool
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
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	served, err := discover(ctx, c.client, c.cfg.IgnoreKinds)
	if err != nil {
		return err
	}
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
		served:    served,
		watched:   map[string]bool{},
		informers: map[string]cache.Informer{},
		ctx:       ctx,
		cancel:    cancel,
		proposed:  map[objKey]string{},
		late:      map[string]bool{},
	}
	defer t.queue.ShutDown()
	c.log.Info("cloudflare-operator CRDs found", "kinds", describe(served))

	if err := t.watch(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Go(func() {
		if err := informers.Start(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("informers stopped", "error", err)
		}
	})
	if err := t.waitForSync(ctx); err != nil {
		return err
	}
	t.synced.Store(true)
	if err := t.resync(ctx, t.syncedSourceKinds()); err != nil {
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
	if len(t.late) > 0 {
		wg.Go(func() { t.awaitLate(ctx) })
	}
	<-ctx.Done()
	t.queue.ShutDown()
	if cause := context.Cause(ctx); errors.Is(cause, errCRDsChanged) {
		return cause
	}
	return nil
}

// waitForSync waits for every informer's first list, at most
// CacheSyncTimeout. A kind of the operators' CRDs that does not list in
// time (a conversion webhook gone with its operator, a missing
// permission) is set aside and named, and the rest runs: one broken kind
// must not stop the others. Any other kind failing to list ends the term,
// naming it.
func (t *term) waitForSync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.c.cfg.CacheSyncTimeout)
	defer cancel()
	if t.cache.WaitForCacheSync(ctx) {
		return nil
	}
	if t.ctx.Err() != nil {
		return context.Cause(t.ctx)
	}
	var missing []string
	for kind, inf := range t.informers {
		if inf.HasSynced() {
			continue
		}
		if _, ok := t.served[kind]; ok {
			t.late[kind] = true
			t.c.metrics.kindsWaiting.Inc()
			t.c.log.Error("the informer of a cloudflare-operator kind did not list; its objects are not handled until it does (a conversion webhook of an operator that no longer runs, or a missing list/watch permission?)",
				"kind", kind, "version", t.served[kind].version, "waited", t.c.cfg.CacheSyncTimeout)
			continue
		}
		missing = append(missing, kind)
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("the informers of %s did not list in %v: does conflux-sync's service account have list and watch on them (deploy/rbac)? %w",
		strings.Join(missing, ", "), t.c.cfg.CacheSyncTimeout, context.Cause(ctx))
}

// awaitLate resyncs each late kind once its informer has listed.
func (t *term) awaitLate(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		var ready []string
		for kind := range t.late {
			if t.informers[kind].HasSynced() {
				ready = append(ready, kind)
				delete(t.late, kind)
			}
		}
		left := len(t.late)
		t.mu.Unlock()
		if len(ready) == 0 {
			continue
		}
		t.c.metrics.kindsWaiting.Sub(float64(len(ready)))
		t.c.log.Info("cloudflare-operator kinds listed late; handling them now", "kinds", ready)
		if err := t.resync(ctx, ready); err != nil && ctx.Err() == nil {
			t.c.log.Error("resync of late kinds", "kinds", ready, "error", err)
		}
		if left == 0 {
			return
		}
	}
}

// isLate reports whether kind's informer has not listed yet.
func (t *term) isLate(kind string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.late[kind]
}

// watchedKind says how to watch one object kind and what its events
// enqueue.
type watchedKind struct {
	kind string
	obj  client.Object
	// primary kinds are reconciled: their own events enqueue them.
	primary bool
	// dependents are kinds whose objects read this kind (through Lookup);
	// sameNamespace limits them to the changed object's namespace
	// (cluster-scoped dependents are always queued).
	dependents    []string
	sameNamespace bool
}

// sourceKinds are the kinds whose objects are sources of fragments.
func (t *term) sourceKinds() []string {
	kinds := []string{kindIngress, kindHTTPRoute}
	for name, s := range t.served {
		if s.role == roleSource {
			kinds = append(kinds, name)
		}
	}
	slices.Sort(kinds)
	return kinds
}

// syncedSourceKinds are sourceKinds without the late ones.
func (t *term) syncedSourceKinds() []string {
	return slices.DeleteFunc(t.sourceKinds(), t.isLate)
}

// primaryKinds are every kind that is reconciled.
func (t *term) primaryKinds() []string {
	kinds := []string{kindIngress, kindHTTPRoute, kindGateway, kindGatewayClass}
	for name := range t.served {
		kinds = append(kinds, name)
	}
	slices.Sort(kinds)
	return kinds
}

// servedKinds returns the served CRD kinds whose kind is one of kinds, in
// either group.
func (t *term) servedKinds(kinds ...string) []string {
	var out []string
	for name, s := range t.served {
		if slices.Contains(kinds, s.kind) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// watchedKinds lists every kind to watch with its dependents.
func (t *term) watchedKinds() []watchedKind {
	all := t.primaryKinds()
	out := []watchedKind{
		{kind: kindIngress, primary: true, dependents: append(t.servedKinds("DNSRecord", "TunnelIngressClassConfig"), kindIngress)},
		{kind: kindHTTPRoute, primary: true, dependents: append(t.servedKinds("DNSRecord", "TunnelGatewayClassConfig"), kindGateway)},
		{kind: kindGateway, primary: true, dependents: append(t.servedKinds("DNSRecord", "TunnelGatewayClassConfig", "TCPRoute", "UDPRoute"), kindHTTPRoute)},
		{kind: kindGatewayClass, primary: true, dependents: append(t.servedKinds("TCPRoute", "UDPRoute"), kindGateway, kindHTTPRoute)},
		{kind: kindIngressClass, dependents: append(t.servedKinds("TunnelIngressClassConfig"), kindIngress)},
		{kind: kindService, dependents: append(t.servedKinds("TunnelBinding"), kindIngress, kindHTTPRoute), sameNamespace: true},
		{kind: kindSecret, dependents: all, sameNamespace: true},
		{kind: kindNode, dependents: t.servedKinds("DNSRecord")},
	}
	for name, s := range t.served {
		w := watchedKind{kind: name, primary: true}
		switch s.kind {
		case "Tunnel", "ClusterTunnel":
			w.dependents = append(t.servedKinds("TunnelBinding", "DNSRecord", "NetworkRoute", "TunnelIngressClassConfig", "TunnelGatewayClassConfig"),
				kindIngress, kindHTTPRoute, kindGateway, kindGatewayClass)
		case "CloudflareCredentials", "CloudflareDomain":
			w.dependents = all
		case "TunnelIngressClassConfig":
			w.dependents = []string{kindIngress}
		case "TunnelGatewayClassConfig":
			w.dependents = []string{kindHTTPRoute, kindGateway, kindGatewayClass}
		case "AccessPolicy", "AccessIdentityProvider":
			w.dependents = t.servedKinds("AccessApplication")
			if s.kind == "AccessIdentityProvider" {
				// AccessGroup rules name identity providers by object too.
				w.dependents = append(w.dependents, t.servedKinds("AccessGroup")...)
			}
		case "DNSRecord":
			// cloudflare-operator's generated records carry the ids the
			// Ingresses and Gateways take their records over with.
			w.dependents, w.sameNamespace = []string{kindIngress, kindGateway, kindHTTPRoute}, true
		}
		out = append(out, w)
	}
	for i := range out {
		out[i].obj = t.newObject(out[i].kind)
	}
	return out
}

// watch registers an informer and its handler for every kind the cluster
// serves, and one on the CRDs that ends the term when the operators'
// CRDs change.
func (t *term) watch(ctx context.Context) error {
	for _, w := range t.watchedKinds() {
		inf, err := t.cache.GetInformer(ctx, w.obj, cache.BlockUntilSynced(false))
		if meta.IsNoMatchError(err) {
			t.c.log.Warn("Kubernetes API not served; not watching it (it is picked up when its CRDs are installed)", "kind", w.kind)
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
	crds, err := t.cache.GetInformer(ctx, &apiextensionsv1.CustomResourceDefinition{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("informer for CustomResourceDefinitions: %w", err)
	}
	t.informers["CustomResourceDefinition"] = crds
	_, err = crds.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.crdChanged(obj) },
		UpdateFunc: func(_, obj any) { t.crdChanged(obj) },
		DeleteFunc: func(obj any) { t.crdChanged(obj) },
	})
	return err
}

// crdChanged ends the term (and the next one discovers the CRDs again)
// when a CRD the controller cares about changes what is served: the
// operators' kinds, and the Gateway API's.
func (t *term) crdChanged(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok || !t.synced.Load() {
		return // the initial list: discovery already saw these
	}
	known := crd.Spec.Group == gatewayGroup
	for _, k := range crdKinds {
		known = known || (crd.Spec.Group == k.group && crd.Spec.Names.Kind == k.kind)
	}
	if !known {
		return
	}
	now, err := discover(t.ctx, t.c.client, t.c.cfg.IgnoreKinds)
	if err != nil {
		return
	}
	gatewayChange := crd.Spec.Group == gatewayGroup && established(crd) != t.watched[crd.Spec.Names.Kind]
	if !sameServed(now, t.served) || gatewayChange {
		t.c.log.Info("cloudflare-operator or Gateway API CRDs changed; restarting the Kubernetes ingest", "crd", crd.Name)
		t.cancel(errCRDsChanged)
	}
}

func sameServed(a, b map[string]served) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.version != y.version || x.namespaced != y.namespaced || !equalSchema(x.status, y.status) {
			return false
		}
	}
	return true
}

func equalSchema(a, b statusSchema) bool {
	if (a.fields == nil) != (b.fields == nil) || len(a.fields) != len(b.fields) || !slices.Equal(a.required, b.required) {
		return false
	}
	for f := range a.fields {
		if !b.fields[f] {
			return false
		}
	}
	return true
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
		if !t.watched[k] || t.isLate(k) {
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
	list := t.newList(kind)
	var opts []client.ListOption
	if ns != "" && t.namespaced(kind) {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := t.cache.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	objs := make([]client.Object, 0, len(items))
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			objs = append(objs, o)
		}
	}
	// Oldest first, then by namespace/name (Gateway API's order for
	// conflicting routes): objects queued together register their
	// fragments in this order, and the first registered wins a conflict.
	// The cache lists in map order, which would make that winner random.
	slices.SortFunc(objs, func(a, b client.Object) int {
		if c := a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.GetNamespace(), b.GetNamespace()), strings.Compare(a.GetName(), b.GetName()))
	})
	keys := make([]objKey, len(objs))
	for i, o := range objs {
		keys[i] = objKey{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
	}
	return keys, nil
}

func (t *term) processNext(ctx context.Context) bool {
	key, quit := t.queue.Get()
	if quit {
		return false
	}
	defer t.queue.Done(key)
	if t.isLate(key.Kind) {
		t.queue.Forget(key)
		return true
	}
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
			t.enqueueAll("", t.primaryKinds()...)
		case <-t.pending.wake:
			all, targets := t.pending.take()
			if all {
				t.enqueueAll("", t.primaryKinds()...)
				continue
			}
			tunnels := false
			for _, ref := range targets {
				if ref.Kind == api.KindTunnel || ref.Kind == api.KindTunnelConfiguration {
					tunnels = true
					if key, ok := tunnelObject(ref.Name); ok && t.watched[key.Kind] {
						// A Tunnel being deleted waits for its target's flush.
						t.queue.Add(key)
					}
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
			if tunnels {
				// What shows a tunnel's state: Gateways, classes, configs.
				t.enqueueAll("", append(t.servedKinds("TunnelIngressClassConfig", "TunnelGatewayClassConfig"), kindGateway, kindGatewayClass)...)
			}
		}
	}
}
