package git

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/gitops/v1alpha1"
)

// FieldManager owns the ConfluxSource status fields conflux-sync writes,
// and is the Events' reporting component.
const FieldManager = "conflux-sync"

// KubeSourcesConfig configures KubeSources. Zero values take the defaults
// noted.
type KubeSourcesConfig struct {
	// REST reaches the Kubernetes API server. Required.
	REST *rest.Config
	// WatchNamespaces limits the ConfluxSources watched; empty: all.
	WatchNamespaces []string
	// Store is the node's replicated state. Required.
	Store Store
	// Secrets reads Secrets of the ConfluxSource's namespace.
	Secrets SecretReader
	// URLPolicy and Bindings: see PollerConfig. The policy's namespace
	// patterns narrow the ConfluxSources of their namespace.
	URLPolicy *URLPolicy
	Bindings  CredentialBindings
	// CacheSyncTimeout bounds the first list of a term; default 2m.
	CacheSyncTimeout time.Duration
	// Resync re-lists the ConfluxSources even without a notification;
	// default 30s.
	Resync      time.Duration
	StatusEvery time.Duration
	Logger      *slog.Logger
	Metrics     *Metrics
	// ReadOnly writes nothing to Kubernetes: no status, no Events (the
	// server's dry run). The sources are still polled.
	ReadOnly bool
}

// KubeSources polls the ConfluxSource objects of a Kubernetes cluster and
// writes their status and Events. Run it as a leader task.
type KubeSources struct {
	cfg    KubeSourcesConfig
	log    *slog.Logger
	scheme *runtime.Scheme
	client client.Client
	events kubernetes.Interface
}

// NewKubeSources returns the Kubernetes Git front end.
func NewKubeSources(cfg KubeSourcesConfig) (*KubeSources, error) {
	if cfg.CacheSyncTimeout <= 0 {
		cfg.CacheSyncTimeout = 2 * time.Minute
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.URLPolicy == nil {
		cfg.URLPolicy = defaultURLPolicy()
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("git: scheme: %w", err)
		}
	}
	c, err := client.New(cfg.REST, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("git: kubernetes client: %w", err)
	}
	events, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("git: kubernetes clientset: %w", err)
	}
	return &KubeSources{cfg: cfg, log: cfg.Logger.With("producer", "git-kube"), scheme: scheme, client: c, events: events}, nil
}

// Run watches ConfluxSources while ctx (the leadership term) lasts,
// restarting the watch after a failure.
func (k *KubeSources) Run(ctx context.Context) {
	for {
		err := k.runTerm(ctx)
		if ctx.Err() != nil {
			return
		}
		k.log.Error("ConfluxSource watch stopped; restarting", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func (k *KubeSources) runTerm(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := cache.Options{Scheme: k.scheme, DefaultTransform: cache.TransformStripManagedFields()}
	if len(k.cfg.WatchNamespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range k.cfg.WatchNamespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	informers, err := cache.New(k.cfg.REST, opts)
	if err != nil {
		return fmt.Errorf("informer cache: %w", err)
	}
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	inf, err := informers.GetInformer(ctx, &v1alpha1.ConfluxSource{})
	if err != nil {
		return fmt.Errorf("watch ConfluxSources (is the gitops.conflux.io CRD installed?): %w", err)
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { poke() }, UpdateFunc: func(any, any) { poke() }, DeleteFunc: func(any) { poke() },
	}); err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster()
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.events.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(k.scheme, corev1.EventSource{Component: FieldManager})

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		if err := informers.Start(ctx); err != nil && ctx.Err() == nil {
			k.log.Error("ConfluxSource informer stopped", "error", err)
		}
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, k.cfg.CacheSyncTimeout)
	synced := informers.WaitForCacheSync(syncCtx)
	syncCancel()
	if !synced {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ConfluxSources did not list within %s (is list/watch on confluxsources.gitops.conflux.io allowed?)", k.cfg.CacheSyncTimeout)
	}

	pollers := NewPollers(ctx, PollerConfig{
		Store: k.cfg.Store, Secrets: k.cfg.Secrets, URLPolicy: k.cfg.URLPolicy, Bindings: k.cfg.Bindings, StatusEvery: k.cfg.StatusEvery, Logger: k.log, Metrics: k.cfg.Metrics,
		Report: func(ctx context.Context, src Source, st api.GitSourceStatus, events []Event) {
			k.report(ctx, informers, recorder, src, st, events)
		},
	})
	defer pollers.Wait()
	ticker := time.NewTicker(k.cfg.Resync)
	defer ticker.Stop()
	for {
		if err := k.update(ctx, informers, pollers); err != nil && ctx.Err() == nil {
			k.log.Warn("ConfluxSource resync", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-ticker.C:
		}
	}
}

// update hands the current ConfluxSources to the pollers and removes the
// fragments of the ones that are gone (deleted now, or while no leader
// watched).
func (k *KubeSources) update(ctx context.Context, reader client.Reader, pollers *Pollers) error {
	var list v1alpha1.ConfluxSourceList
	if err := reader.List(ctx, &list); err != nil {
		return err
	}
	sources := make([]Source, 0, len(list.Items))
	prev := map[api.SourceRef]api.GitSourceStatus{}
	live := map[api.SourceRef]bool{}
	for i := range list.Items {
		cs := &list.Items[i]
		ref := api.SourceRef{Kind: api.SourceKindConfluxSource, Namespace: cs.Namespace, Name: cs.Name}
		live[ref] = true
		if cs.DeletionTimestamp != nil {
			continue
		}
		prev[ref] = statusFromCRD(cs.Status)
		src := Source{Ref: ref, Spec: specFromCRD(cs), Generation: cs.Generation, SecretNamespace: cs.Namespace}
		if ps, ok := k.cfg.URLPolicy.Namespace(cs.Namespace); ok {
			src.Narrowing = []Narrowing{{Patterns: ps, By: "--source-allow-namespaces for namespace " + cs.Namespace}}
		}
		sources = append(sources, src)
	}
	pollers.Update(sources, func(ref api.SourceRef) api.GitSourceStatus { return prev[ref] })

	stored, err := k.cfg.Store.SourceFragments(ctx, api.SourceKindConfluxSource)
	if err != nil {
		return err
	}
	gone := map[api.SourceRef]bool{}
	for _, f := range stored {
		if !live[f.Source] && k.watches(f.Source.Namespace) {
			gone[f.Source] = true
		}
	}
	for ref := range gone {
		if _, err := k.cfg.Store.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: ref}); err != nil {
			return fmt.Errorf("remove the configs of deleted %s: %w", ref, err)
		}
		k.log.Info("removed the configs of a deleted ConfluxSource", "source", ref.String())
	}
	return nil
}

func (k *KubeSources) watches(namespace string) bool {
	return len(k.cfg.WatchNamespaces) == 0 || slices.Contains(k.cfg.WatchNamespaces, namespace)
}

// report writes the status with server-side apply (only when it changed)
// and records the events on the object; read-only, it does neither.
func (k *KubeSources) report(ctx context.Context, reader client.Reader, recorder record.EventRecorder, src Source, st api.GitSourceStatus, events []Event) {
	if k.cfg.ReadOnly {
		return
	}
	obj := &v1alpha1.ConfluxSource{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: src.Ref.Namespace, Name: src.Ref.Name}, obj); err != nil {
		if client.IgnoreNotFound(err) != nil && ctx.Err() == nil {
			k.log.Warn("read ConfluxSource", "source", src.Ref.String(), "error", err)
		}
		return
	}
	for _, e := range events {
		typ := corev1.EventTypeNormal
		if e.Warning {
			typ = corev1.EventTypeWarning
		}
		recorder.Event(obj, typ, e.Reason, e.Message)
	}
	want := statusToCRD(st, obj.Status.Conditions)
	if equalStatus(obj.Status, want) {
		return
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "ConfluxSource",
		"metadata":   map[string]any{"name": obj.Name, "namespace": obj.Namespace},
		"status":     want,
	})
	if err != nil {
		return
	}
	err = k.client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldManager), client.ForceOwnership)
	if client.IgnoreNotFound(err) != nil && ctx.Err() == nil {
		k.log.Warn("write ConfluxSource status", "source", src.Ref.String(), "error", err)
	}
}

func specFromCRD(cs *v1alpha1.ConfluxSource) api.GitSourceSpec {
	s := cs.Spec
	spec := api.GitSourceSpec{
		URL: s.URL, Interval: s.Interval, Timeout: s.Timeout, Path: s.Path, Suspend: s.Suspend, Prune: s.Prune,
		RequestedAt: cs.Annotations[v1alpha1.RequestedAtAnnotation],
	}
	if s.Ref != nil {
		spec.Ref = api.GitRef{Branch: s.Ref.Branch, Tag: s.Ref.Tag, Commit: s.Ref.Commit}
	}
	if s.SecretRef != nil {
		spec.SecretRef = s.SecretRef.Name
	}
	return spec
}

func statusFromCRD(s v1alpha1.ConfluxSourceStatus) api.GitSourceStatus {
	st := api.GitSourceStatus{
		ObservedGeneration: s.ObservedGeneration, LastSyncedCommit: s.LastSyncedCommit, LastAttemptedCommit: s.LastAttemptedCommit,
		LastHandledReconcileAt: s.LastHandledReconcileAt, FileErrors: s.FileErrors,
	}
	for _, c := range s.Conditions {
		st.Conditions = append(st.Conditions, api.Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime.Time})
	}
	for _, e := range s.Inventory {
		st.Inventory = append(st.Inventory, api.GitInventoryEntry(e))
	}
	return st
}

// statusToCRD converts a status, keeping a condition's transition time
// when its status did not change (the apiserver requires one).
func statusToCRD(st api.GitSourceStatus, existing []metav1.Condition) v1alpha1.ConfluxSourceStatus {
	out := v1alpha1.ConfluxSourceStatus{
		ObservedGeneration: st.ObservedGeneration, LastSyncedCommit: st.LastSyncedCommit, LastAttemptedCommit: st.LastAttemptedCommit,
		LastHandledReconcileAt: st.LastHandledReconcileAt, FileErrors: st.FileErrors,
	}
	for _, c := range st.Conditions {
		reason := c.Reason
		if reason == "" {
			reason = ReasonProgressing
		}
		mc := metav1.Condition{Type: c.Type, Status: metav1.ConditionStatus(c.Status), Reason: reason, Message: c.Message,
			ObservedGeneration: st.ObservedGeneration, LastTransitionTime: metav1.NewTime(c.LastTransitionTime)}
		for _, old := range existing {
			if old.Type == c.Type && old.Status == mc.Status {
				mc.LastTransitionTime = old.LastTransitionTime
			}
		}
		if mc.LastTransitionTime.IsZero() {
			mc.LastTransitionTime = metav1.NewTime(time.Now().UTC().Truncate(time.Second))
		}
		out.Conditions = append(out.Conditions, mc)
	}
	for _, e := range st.Inventory {
		out.Inventory = append(out.Inventory, v1alpha1.InventoryEntry(e))
	}
	return out
}

func equalStatus(a, b v1alpha1.ConfluxSourceStatus) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
