package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// Condition reasons.
const (
	ReasonSynced      = "Synced"
	ReasonProgressing = "Progressing"
	ReasonSyncFailed  = "SyncFailed"
	ReasonInvalidSpec = "InvalidSpec"
	ReasonConflict    = "Conflict"
	ReasonDeleting    = "Deleting"
)

// verdict is what the recorded sync says about one object.
type verdict struct {
	ready   bool
	stalled bool // needs a change to the object (or its rival) to move on
	reason  string
	message string
	// ids are downstream ids worth showing (tunnelId, routeId, ...).
	ids map[string]string
}

// judge reads the targets the object feeds and decides its conditions.
func (t *term) judge(ctx context.Context, key objKey, obj client.Object, res translate.Result, problems []translate.Problem) (verdict, error) {
	v := verdict{ids: map[string]string{}}
	if res.Tunnel != "" {
		tg, ok, err := t.c.cfg.Reader.Target(ctx, api.TargetRef{Kind: api.KindTunnel, Name: res.Tunnel})
		if err != nil {
			return v, err
		}
		if ok && tg.Status != nil {
			for _, k := range []string{"tunnelId", "accountId"} {
				if id := tg.Status.DownstreamIDs[k]; id != "" {
					v.ids[k] = id
				}
			}
		}
	}
	switch {
	case obj.GetDeletionTimestamp() != nil:
		v.reason, v.message = ReasonDeleting, "waiting for Cloudflare to delete the tunnel"
		return v, nil
	case len(problems) > 0:
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		v.stalled, v.reason, v.message = true, ReasonInvalidSpec, strings.Join(msgs, "; ")
		return v, nil
	}
	src := key.source()
	var pending, failed []string
	permanent := false
	// A lost hostname explains a conflict better than the DNS record that
	// follows it: judge the tunnel configuration first.
	frags := slices.Clone(res.Fragments)
	slices.SortStableFunc(frags, func(a, b api.SourceFragment) int {
		return cmp.Compare(judgeOrder(a.Target.Kind), judgeOrder(b.Target.Kind))
	})
	for _, f := range frags {
		tg, ok, err := t.c.cfg.Reader.Target(ctx, f.Target)
		if err != nil {
			return v, err
		}
		if !ok {
			pending = append(pending, f.Target.String())
			continue
		}
		for _, c := range tg.Conflicts {
			if c.Loser == src {
				v.stalled, v.reason = true, ReasonConflict
				v.message = fmt.Sprintf("%s %s is already served by %s %s", conflictNoun(f.Target.Kind), c.Key, c.Winner.Kind, nsName(c.Winner))
				return v, nil
			}
		}
		// The engine records nothing for a revision whose output equals
		// what is synced, so the hash, not the revision, says "done".
		st := tg.Status
		switch {
		case st == nil:
			pending = append(pending, f.Target.String())
		case st.Error != "" && st.Revision >= tg.Revision:
			failed = append(failed, fmt.Sprintf("%s: %s (attempt %d)", f.Target, st.Error, st.Attempts))
			permanent = permanent || st.Permanent
		case st.SyncedHash != tg.Hash:
			pending = append(pending, f.Target.String())
		default:
			for k, id := range st.DownstreamIDs {
				if k != "created" && k != "credentials" && k != "pendingName" {
					v.ids[k] = id
				}
			}
		}
	}
	switch {
	case len(failed) > 0:
		v.stalled, v.reason, v.message = permanent, ReasonSyncFailed, strings.Join(failed, "; ")
	case len(pending) > 0:
		v.reason, v.message = ReasonProgressing, "waiting for the sync of "+strings.Join(pending, ", ")
	default:
		v.ready, v.reason = true, ReasonSynced
		v.message = fmt.Sprintf("synced to Cloudflare (%d targets)", len(res.Fragments))
	}
	return v, nil
}

func judgeOrder(targetKind string) int {
	if targetKind == api.KindTunnelConfiguration {
		return 0
	}
	return 1
}

func conflictNoun(targetKind string) string {
	switch targetKind {
	case "cloudflare.TunnelConfiguration":
		return "hostname"
	case "cloudflare.DNSRecord":
		return "DNS record"
	}
	return targetKind
}

func nsName(s api.SourceRef) string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "/" + s.Name
}

// conditions renders a verdict as the three standard conditions, keeping
// lastTransitionTime of those that did not change.
func (v verdict) conditions(gen int64, existing []metav1.Condition) []metav1.Condition {
	status := func(b bool) metav1.ConditionStatus {
		if b {
			return metav1.ConditionTrue
		}
		return metav1.ConditionFalse
	}
	reconciling := !v.ready && !v.stalled
	out := []metav1.Condition{
		{Type: v1alpha2.ConditionReady, Status: status(v.ready), Reason: v.reason, Message: v.message},
		{Type: v1alpha2.ConditionReconciling, Status: status(reconciling), Reason: v.reason},
		{Type: v1alpha2.ConditionStalled, Status: status(v.stalled), Reason: v.reason},
	}
	if reconciling {
		out[1].Message = v.message
	}
	if v.stalled {
		out[2].Message = v.message
	}
	now := metav1.Now()
	for i := range out {
		out[i].ObservedGeneration = gen
		out[i].LastTransitionTime = now
		if old := apimeta.FindStatusCondition(existing, out[i].Type); old != nil && old.Status == out[i].Status {
			out[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return out
}

// event returns the Event a verdict deserves: success, conflicts and
// errors; waiting is not news.
func (v verdict) event() (eventType, reason string, ok bool) {
	switch {
	case v.ready:
		return corev1.EventTypeNormal, ReasonSynced, true
	case v.reason == ReasonConflict, v.reason == ReasonInvalidSpec, v.reason == ReasonSyncFailed:
		return corev1.EventTypeWarning, v.reason, true
	}
	return "", "", false
}

// writeStatus records the verdict in the object's status (when it changed)
// and emits an Event when the Ready condition changed.
func (t *term) writeStatus(ctx context.Context, key objKey, obj client.Object, res translate.Result, problems []translate.Problem) (verdict, error) {
	v, err := t.judge(ctx, key, obj, res, problems)
	if err != nil {
		return v, err
	}
	var changed bool
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		changed, err = t.writeIngressStatus(ctx, o, v)
	case *gatewayv1.HTTPRoute:
		changed, err = t.writeRouteStatus(ctx, o, v, problems)
	default:
		changed, err = t.applyCRDStatus(ctx, key, obj, res, v)
	}
	if err != nil {
		return v, fmt.Errorf("write the status of %s: %w", key, err)
	}
	if changed {
		t.c.metrics.statusWrites.WithLabelValues(key.Kind).Inc()
	}
	// An event when the verdict moved (and once per term at most).
	if typ, reason, ok := v.event(); ok && changed && t.lastEvent(key, reason+"\x00"+v.message) {
		t.recorder.Event(obj, typ, reason, v.message)
	}
	return v, nil
}

// lastEvent remembers the last event per object in this term and reports
// whether ev is new.
func (t *term) lastEvent(key objKey, ev string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.events == nil {
		t.events = map[objKey]string{}
	}
	if t.events[key] == ev {
		return false
	}
	t.events[key] = ev
	return true
}

// applyCRDStatus server-side applies the status of a
// networking.cloudflare-operator.io object; conflux-sync is the only
// writer of those statuses, and apply touches only the fields it sends.
func (t *term) applyCRDStatus(ctx context.Context, key objKey, obj client.Object, res translate.Result, v verdict) (bool, error) {
	existing, err := currentStatus(obj)
	if err != nil {
		return false, err
	}
	status := map[string]any{
		"observedGeneration": obj.GetGeneration(),
		"conditions":         v.conditions(obj.GetGeneration(), existing.Conditions),
	}
	id := func(field, idKey string) {
		if s := v.ids[idKey]; s != "" {
			status[field] = s
		}
	}
	switch key.Kind {
	case translate.SourceTunnel, translate.SourceClusterTunnel:
		id("tunnelId", "tunnelId")
		id("accountId", "accountId")
		if spec, ok := tunnelSpec(obj); ok {
			if spec.NewTunnel != nil {
				status["tunnelName"] = spec.NewTunnel.Name
			} else if spec.ExistingTunnel != nil && spec.ExistingTunnel.Name != "" {
				status["tunnelName"] = spec.ExistingTunnel.Name
			}
		}
	case translate.SourceTunnelBinding:
		id("tunnelId", "tunnelId")
		if len(res.Hostnames) > 0 {
			status["hostnames"] = strings.Join(res.Hostnames, ",")
		}
	case translate.SourceDNSRecord:
		id("tunnelId", "tunnelId")
		id("zoneId", "zoneId")
	case translate.SourceAccessApplication:
		id("applicationId", "appId")
		id("aud", "aud")
	case translate.SourceNetworkRoute:
		id("tunnelId", "tunnelId")
		id("routeId", "routeId")
	}
	if sameStatus(existing, status) {
		return false, nil
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha2.GroupVersion.String(),
		"kind":       key.Kind,
		"metadata":   map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()},
		"status":     status,
	})
	if err != nil {
		return false, err
	}
	err = t.c.client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager), client.ForceOwnership)
	return err == nil, client.IgnoreNotFound(err)
}

// crdStatus is the part of every CRD's status that decides whether a write
// is needed.
type crdStatus struct {
	Conditions         []metav1.Condition `json:"conditions"`
	ObservedGeneration int64              `json:"observedGeneration"`
	Rest               map[string]any     `json:"-"`
}

func currentStatus(obj client.Object) (crdStatus, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return crdStatus{}, err
	}
	var whole struct {
		Status map[string]any `json:"status"`
	}
	if err := json.Unmarshal(raw, &whole); err != nil {
		return crdStatus{}, err
	}
	var st crdStatus
	b, _ := json.Marshal(whole.Status)
	if err := json.Unmarshal(b, &st); err != nil {
		return crdStatus{}, err
	}
	st.Rest = whole.Status
	return st, nil
}

// sameStatus compares the wanted status with the stored one, ignoring
// lastTransitionTime (conditions keeps the old time when nothing moved).
func sameStatus(existing crdStatus, want map[string]any) bool {
	if existing.ObservedGeneration != want["observedGeneration"].(int64) {
		return false
	}
	conds := want["conditions"].([]metav1.Condition)
	if len(conds) != len(existing.Conditions) {
		return false
	}
	for _, c := range conds {
		old := apimeta.FindStatusCondition(existing.Conditions, c.Type)
		if old == nil || old.Status != c.Status || old.Reason != c.Reason || old.Message != c.Message || old.ObservedGeneration != c.ObservedGeneration {
			return false
		}
	}
	for k, v := range want {
		if k == "observedGeneration" || k == "conditions" {
			continue
		}
		if fmt.Sprint(existing.Rest[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// Annotations carrying an Ingress's verdict: the Ingress API has no
// conditions, so `kubectl wait --for=jsonpath='{.metadata.annotations.status\.conflux-sync\.io/ready}'=True`
// is how to wait for one.
const (
	AnnotationReady   = "status.conflux-sync.io/ready"
	AnnotationReason  = "status.conflux-sync.io/reason"
	AnnotationMessage = "status.conflux-sync.io/message"
	// AnnotationObservedGeneration is the metadata.generation the verdict
	// is about.
	AnnotationObservedGeneration = "status.conflux-sync.io/observed-generation"
)

// writeIngressStatus publishes the tunnel's hostname as the Ingress's load
// balancer address once it is ready (what `kubectl get ingress` shows as
// ADDRESS, and what external-dns and Argo CD read), and the verdict as
// annotations owned by conflux-sync's field manager (so GitOps tools that
// apply the Ingress server-side never see them as drift).
func (t *term) writeIngressStatus(ctx context.Context, ing *networkingv1.Ingress, v verdict) (bool, error) {
	changed := false
	ready := "False"
	if v.ready {
		ready = "True"
	}
	want := map[string]string{AnnotationReady: ready, AnnotationReason: v.reason, AnnotationMessage: v.message,
		AnnotationObservedGeneration: strconv.FormatInt(ing.Generation, 10)}
	same := true
	for k, val := range want {
		if ing.Annotations[k] != val {
			same = false
		}
	}
	if !same {
		body, err := json.Marshal(map[string]any{
			"apiVersion": "networking.k8s.io/v1",
			"kind":       "Ingress",
			"metadata":   map[string]any{"name": ing.Name, "namespace": ing.Namespace, "annotations": want},
		})
		if err != nil {
			return false, err
		}
		if err := t.c.client.Patch(ctx, ing, client.RawPatch(types.ApplyPatchType, body),
			client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		changed = true
	}
	var lb []networkingv1.IngressLoadBalancerIngress
	if id := v.ids["tunnelId"]; id != "" && v.ready {
		lb = []networkingv1.IngressLoadBalancerIngress{{Hostname: id + ".cfargotunnel.com"}}
	}
	if len(lb) == len(ing.Status.LoadBalancer.Ingress) && (len(lb) == 0 || equality.Semantic.DeepEqual(lb, ing.Status.LoadBalancer.Ingress)) {
		return changed, nil
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": "networking.k8s.io/v1",
		"kind":       "Ingress",
		"metadata":   map[string]any{"name": ing.Name, "namespace": ing.Namespace},
		"status":     map[string]any{"loadBalancer": map[string]any{"ingress": lb}},
	})
	if err != nil {
		return false, err
	}
	err = t.c.client.Status().Patch(ctx, ing, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager), client.ForceOwnership)
	return err == nil || changed, client.IgnoreNotFound(err)
}

// forget removes what conflux-sync wrote on an object that is no longer
// its own: an Ingress's verdict annotations (applying none of them drops
// the ones our field manager owns), an HTTPRoute's status.parents entries.
func (t *term) forget(ctx context.Context, obj client.Object) error {
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		if _, ok := o.Annotations[AnnotationReady]; !ok {
			return nil
		}
		body, err := json.Marshal(map[string]any{
			"apiVersion": "networking.k8s.io/v1",
			"kind":       "Ingress",
			"metadata":   map[string]any{"name": o.Name, "namespace": o.Namespace},
		})
		if err != nil {
			return err
		}
		patch := client.RawPatch(types.ApplyPatchType, body)
		if err := t.c.client.Status().Patch(ctx, o, patch, client.FieldOwner(FieldManager), client.ForceOwnership); client.IgnoreNotFound(err) != nil {
			return err
		}
		return client.IgnoreNotFound(t.c.client.Patch(ctx, o, patch, client.FieldOwner(FieldManager), client.ForceOwnership))
	case *gatewayv1.HTTPRoute:
		_, err := t.writeRouteStatus(ctx, o, verdict{}, nil)
		return err
	}
	return nil
}

// writeRouteStatus sets conflux-sync's entries of status.parents (one per
// parentRef that names one of our Gateways) and leaves other controllers'
// entries alone. The list is atomic for server-side apply, so this is a
// read-modify-write guarded by resourceVersion.
func (t *term) writeRouteStatus(ctx context.Context, route *gatewayv1.HTTPRoute, v verdict, problems []translate.Problem) (bool, error) {
	l := lookup{ctx: ctx, t: t}
	var ours []gatewayv1.RouteParentStatus
	for _, ref := range route.Spec.ParentRefs {
		if ref.Kind != nil && *ref.Kind != "Gateway" {
			continue
		}
		ns := route.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		gw, ok := l.Gateway(ns, string(ref.Name))
		if !ok {
			continue
		}
		gc, ok := l.GatewayClass(string(gw.Spec.GatewayClassName))
		if !ok || gc.Spec.ControllerName != translate.GatewayController {
			continue
		}
		accepted := metav1.ConditionTrue
		acceptedReason := string(gatewayv1.RouteReasonAccepted)
		if v.stalled {
			accepted, acceptedReason = metav1.ConditionFalse, v.reason
		}
		resolved, resolvedReason := metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs)
		if len(problems) > 0 {
			resolved, resolvedReason = metav1.ConditionFalse, ReasonInvalidSpec
		}
		var existing []metav1.Condition
		for _, p := range route.Status.Parents {
			if p.ControllerName == translate.GatewayController && equality.Semantic.DeepEqual(p.ParentRef, ref) {
				existing = p.Conditions
			}
		}
		conds := v.conditions(route.Generation, existing)
		conds = append(conds,
			metav1.Condition{Type: string(gatewayv1.RouteConditionAccepted), Status: accepted, Reason: acceptedReason, Message: v.message, ObservedGeneration: route.Generation},
			metav1.Condition{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: resolved, Reason: resolvedReason, Message: v.message, ObservedGeneration: route.Generation},
		)
		for i := range conds[3:] {
			c := &conds[3+i]
			c.LastTransitionTime = metav1.Now()
			if old := apimeta.FindStatusCondition(existing, c.Type); old != nil && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		sort.Slice(conds, func(i, j int) bool { return conds[i].Type < conds[j].Type })
		ours = append(ours, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: translate.GatewayController, Conditions: conds})
	}
	var parents []gatewayv1.RouteParentStatus
	for _, p := range route.Status.Parents {
		if p.ControllerName != translate.GatewayController {
			parents = append(parents, p)
		}
	}
	parents = append(parents, ours...)
	if sameParents(route.Status.Parents, parents) {
		return false, nil
	}
	updated := route.DeepCopy()
	updated.Status.Parents = parents
	err := t.c.client.Status().Update(ctx, updated, client.FieldOwner(FieldManager))
	return err == nil, client.IgnoreNotFound(err)
}

func sameParents(a, b []gatewayv1.RouteParentStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ControllerName != b[i].ControllerName || !equality.Semantic.DeepEqual(a[i].ParentRef, b[i].ParentRef) || len(a[i].Conditions) != len(b[i].Conditions) {
			return false
		}
		for _, c := range b[i].Conditions {
			old := apimeta.FindStatusCondition(a[i].Conditions, c.Type)
			if old == nil || old.Status != c.Status || old.Reason != c.Reason || old.Message != c.Message || old.ObservedGeneration != c.ObservedGeneration {
				return false
			}
		}
	}
	return true
}
