package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// A GatewayClass and a Gateway of a served controller get the status a
// conformant Gateway API implementation writes: the class Accepted (its
// parameters name a usable tunnel), the Gateway Accepted and Programmed
// (its tunnel exists in Cloudflare) with the tunnel's hostname as its
// address, and each listener's supported kinds, attached routes and
// conditions. Routes are served through the tunnel by hostname, so only
// HTTP and HTTPS listeners are accepted (TLS ends at Cloudflare's edge).

// reconcileGatewayClass writes a served GatewayClass's Accepted condition.
func (t *term) reconcileGatewayClass(ctx context.Context, key objKey) error {
	gc, ok := lookup{ctx: ctx, t: t}.GatewayClass(key.Name)
	if !ok || !t.gatewayControllers()[string(gc.Spec.ControllerName)] || t.c.cfg.ReadOnly {
		return nil
	}
	_, problems := translate.GatewayClassTunnel(gc, lookup{ctx: ctx, t: t}, t.options())
	cond := metav1.Condition{
		Type: string(gatewayv1.GatewayClassConditionStatusAccepted), Status: metav1.ConditionTrue,
		Reason: string(gatewayv1.GatewayClassReasonAccepted), Message: "served by conflux-sync", ObservedGeneration: gc.Generation,
	}
	if len(problems) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, string(gatewayv1.GatewayClassReasonInvalidParameters), problemList(problems)
	}
	conds := keepTransitions([]metav1.Condition{cond}, gc.Status.Conditions)
	if sameConditionList(gc.Status.Conditions, conds) {
		return nil
	}
	return t.applyGatewayStatus(ctx, gc, "GatewayClass", map[string]any{"conditions": conds})
}

// reconcileGateway writes a served Gateway's status.
func (t *term) reconcileGateway(ctx context.Context, key objKey) error {
	l := lookup{ctx: ctx, t: t}
	gw, ok := l.Gateway(key.Namespace, key.Name)
	if !ok || t.c.cfg.ReadOnly {
		return nil
	}
	gc, ok := l.GatewayClass(string(gw.Spec.GatewayClassName))
	if !ok || !t.gatewayControllers()[string(gc.Spec.ControllerName)] {
		return nil
	}
	if gw.DeletionTimestamp != nil {
		return t.releaseFinalizers(ctx, key, gw)
	}
	tunnel, problems := translate.GatewayClassTunnel(gc, l, t.options())
	accepted := metav1.Condition{Type: string(gatewayv1.GatewayConditionAccepted), Status: metav1.ConditionTrue,
		Reason: string(gatewayv1.GatewayReasonAccepted), Message: "served through " + tunnel}
	programmed := metav1.Condition{Type: string(gatewayv1.GatewayConditionProgrammed), Status: metav1.ConditionFalse,
		Reason: string(gatewayv1.GatewayReasonPending), Message: "waiting for the tunnel to exist in Cloudflare"}
	var addresses []map[string]any
	if len(problems) > 0 {
		accepted.Status, accepted.Reason, accepted.Message = metav1.ConditionFalse, string(gatewayv1.GatewayReasonInvalidParameters), problemList(problems)
		programmed.Reason, programmed.Message = string(gatewayv1.GatewayReasonInvalid), "the GatewayClass is not accepted"
	} else if tg, ok, err := t.c.cfg.Reader.Target(ctx, api.TargetRef{Kind: api.KindTunnel, Name: tunnel}); err != nil {
		return err
	} else if ok && tg.Status != nil && tg.Status.DownstreamIDs["tunnelId"] != "" && tg.Status.Error == "" {
		id := tg.Status.DownstreamIDs["tunnelId"]
		programmed.Status, programmed.Reason, programmed.Message = metav1.ConditionTrue, string(gatewayv1.GatewayReasonProgrammed), "tunnel "+id
		addresses = []map[string]any{{"type": string(gatewayv1.HostnameAddressType), "value": id + ".cfargotunnel.com"}}
	}
	routes := t.attachedRoutes(ctx, gw)
	var listeners []map[string]any
	for _, li := range gw.Spec.Listeners {
		var old []metav1.Condition
		for _, s := range gw.Status.Listeners {
			if s.Name == li.Name {
				old = s.Conditions
			}
		}
		listeners = append(listeners, listenerStatus(li, gw.Generation, programmed, routes[string(li.Name)], old))
	}
	conds := []metav1.Condition{accepted, programmed}
	for i := range conds {
		conds[i].ObservedGeneration = gw.Generation
	}
	conds = keepTransitions(conds, gw.Status.Conditions)
	status := map[string]any{"conditions": conds, "listeners": listeners}
	if addresses != nil {
		status["addresses"] = addresses
	}
	current := map[string]any{"conditions": gw.Status.Conditions, "listeners": gw.Status.Listeners}
	if gw.Status.Addresses != nil {
		current["addresses"] = gw.Status.Addresses
	}
	if sameGatewayStatus(current, status) {
		return nil
	}
	return t.applyGatewayStatus(ctx, gw, "Gateway", status)
}

// listenerStatus is one listener's status.
func listenerStatus(li gatewayv1.Listener, gen int64, programmed metav1.Condition, attached int32, old []metav1.Condition) map[string]any {
	supported := li.Protocol == gatewayv1.HTTPProtocolType || li.Protocol == gatewayv1.HTTPSProtocolType
	kinds := []map[string]any{}
	accepted := metav1.Condition{Type: string(gatewayv1.ListenerConditionAccepted), Status: metav1.ConditionTrue, Reason: string(gatewayv1.ListenerReasonAccepted)}
	resolved := metav1.Condition{Type: string(gatewayv1.ListenerConditionResolvedRefs), Status: metav1.ConditionTrue, Reason: string(gatewayv1.ListenerReasonResolvedRefs)}
	p := programmed
	p.Type = string(gatewayv1.ListenerConditionProgrammed)
	if supported {
		kinds = append(kinds, map[string]any{"group": gatewayv1.GroupName, "kind": "HTTPRoute"})
		if li.Protocol == gatewayv1.HTTPSProtocolType {
			accepted.Message = "TLS ends at Cloudflare's edge; certificateRefs are not used"
		}
	} else {
		accepted.Status, accepted.Reason = metav1.ConditionFalse, string(gatewayv1.ListenerReasonUnsupportedProtocol)
		accepted.Message = fmt.Sprintf("protocol %s is not served: cloudflared routes public hostnames to HTTP(S) origins (a TCP service goes through an Ingress or TunnelBinding rule of protocol tcp)", li.Protocol)
		p.Status, p.Reason, p.Message = metav1.ConditionFalse, string(gatewayv1.ListenerReasonInvalid), accepted.Message
	}
	conflicted := metav1.Condition{Type: string(gatewayv1.ListenerConditionConflicted), Status: metav1.ConditionFalse, Reason: string(gatewayv1.ListenerReasonNoConflicts)}
	conds := []metav1.Condition{accepted, p, resolved, conflicted}
	for i := range conds {
		conds[i].ObservedGeneration = gen
	}
	return map[string]any{
		"name":           string(li.Name),
		"supportedKinds": kinds,
		"attachedRoutes": attached,
		"conditions":     keepTransitions(conds, old),
	}
}

// attachedRoutes counts, per listener name, the HTTPRoutes that name the
// Gateway (all its listeners, or the one in sectionName) and that
// translate without problems.
func (t *term) attachedRoutes(ctx context.Context, gw *gatewayv1.Gateway) map[string]int32 {
	out := map[string]int32{}
	var routes gatewayv1.HTTPRouteList
	if !t.watched[kindHTTPRoute] || t.cache.List(ctx, &routes) != nil {
		return out
	}
	for i := range routes.Items {
		r := &routes.Items[i]
		for _, p := range r.Spec.ParentRefs {
			ns := r.Namespace
			if p.Namespace != nil {
				ns = string(*p.Namespace)
			}
			if ns != gw.Namespace || string(p.Name) != gw.Name {
				continue
			}
			if res := translate.HTTPRoute(r, lookup{ctx: ctx, t: t}, t.options()); !res.Managed || len(res.Problems) > 0 {
				continue
			}
			for _, li := range gw.Spec.Listeners {
				if p.SectionName != nil && *p.SectionName != li.Name {
					continue
				}
				if li.Protocol == gatewayv1.HTTPProtocolType || li.Protocol == gatewayv1.HTTPSProtocolType {
					out[string(li.Name)]++
				}
			}
		}
	}
	return out
}

// keepTransitions sets lastTransitionTime: the old one for a condition
// whose status did not move, now for the others.
func keepTransitions(conds, old []metav1.Condition) []metav1.Condition {
	out := slices.Clone(conds)
	for i := range out {
		out[i].LastTransitionTime = metav1.Now()
		if o := apimeta.FindStatusCondition(old, out[i].Type); o != nil && o.Status == out[i].Status {
			out[i].LastTransitionTime = o.LastTransitionTime
		}
	}
	return out
}

// sameGatewayStatus compares Gateway statuses as JSON, ignoring
// lastTransitionTime.
func sameGatewayStatus(current, want map[string]any) bool {
	strip := func(v any) any {
		raw, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		dropTimes(m)
		return m
	}
	return sameJSON(strip(current), strip(want))
}

// dropTimes removes every lastTransitionTime in a decoded JSON value.
func dropTimes(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "lastTransitionTime")
		for _, e := range v {
			dropTimes(e)
		}
	case []any:
		for _, e := range v {
			dropTimes(e)
		}
	}
}

// applyGatewayStatus server-side applies the status of a GatewayClass or
// Gateway with conflux-sync's field manager.
func (t *term) applyGatewayStatus(ctx context.Context, obj client.Object, kind string, status map[string]any) error {
	body, err := json.Marshal(map[string]any{
		"apiVersion": gatewayv1.GroupVersion.String(),
		"kind":       kind,
		"metadata":   map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()},
		"status":     status,
	})
	if err != nil {
		return err
	}
	err = t.c.client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager), client.ForceOwnership)
	if err == nil {
		t.c.metrics.statusWrites.WithLabelValues(kind).Inc()
	}
	return client.IgnoreNotFound(err)
}

// reconcileL4Route answers a TCPRoute or UDPRoute attached to a served
// Gateway: cloudflared serves public hostnames, which these routes do not
// have, so each such parent gets Accepted=False (NotAllowedByListeners:
// the Gateway's listeners take HTTPRoutes only), rather than silence.
// Other controllers' entries of status.parents are kept.
func (t *term) reconcileL4Route(ctx context.Context, key objKey) error {
	if t.c.cfg.ReadOnly {
		return nil
	}
	l := lookup{ctx: ctx, t: t}
	u, ok := l.crd(key.Kind, key.Namespace, key.Name)
	if !ok {
		return nil
	}
	refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
	mine := t.gatewayControllers()
	var ours []any
	for _, r := range refs {
		ref, _ := r.(map[string]any)
		if k, _ := ref["kind"].(string); k != "" && k != "Gateway" {
			continue
		}
		ns, _ := ref["namespace"].(string)
		if ns == "" {
			ns = u.GetNamespace()
		}
		name, _ := ref["name"].(string)
		gw, ok := l.Gateway(ns, name)
		if !ok {
			continue
		}
		gc, ok := l.GatewayClass(string(gw.Spec.GatewayClassName))
		if !ok || !mine[string(gc.Spec.ControllerName)] {
			continue
		}
		cond := metav1.Condition{
			Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionFalse,
			Reason: string(gatewayv1.RouteReasonNotAllowedByListeners), ObservedGeneration: u.GetGeneration(),
			Message: fmt.Sprintf("%s is not served: cloudflared routes public hostnames, which a %s has none of; expose the service with an Ingress or TunnelBinding rule of protocol tcp (clients use cloudflared access)", key.Kind, key.Kind),
		}
		ours = append(ours, map[string]any{"parentRef": ref, "controllerName": string(gc.Spec.ControllerName), "conditions": []metav1.Condition{cond}})
	}
	old, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	var parents []any
	for _, p := range old {
		m, _ := p.(map[string]any)
		if c, _ := m["controllerName"].(string); !mine[c] {
			parents = append(parents, p)
		}
	}
	parents = append(parents, ours...)
	if sameGatewayStatus(map[string]any{"parents": old}, map[string]any{"parents": parents}) {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": u.GetResourceVersion()},
		"status":   map[string]any{"parents": keepParentTransitions(parents, old)},
	})
	if err != nil {
		return err
	}
	err = t.c.client.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager))
	return client.IgnoreNotFound(err)
}

// keepParentTransitions keeps lastTransitionTime of route parent
// conditions that did not move, and sets it for the others.
func keepParentTransitions(parents, old []any) []any {
	raw, _ := json.Marshal(parents)
	var out []map[string]any
	_ = json.Unmarshal(raw, &out)
	for _, p := range out {
		conds, _ := p["conditions"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			cm["lastTransitionTime"] = metav1.Now().UTC().Format(time.RFC3339)
			for _, o := range old {
				om, _ := o.(map[string]any)
				if fmt.Sprint(om["controllerName"]) != fmt.Sprint(p["controllerName"]) || !sameJSON(om["parentRef"], p["parentRef"]) {
					continue
				}
				ocs, _ := om["conditions"].([]any)
				for _, oc := range ocs {
					ocm, _ := oc.(map[string]any)
					if ocm["type"] == cm["type"] && ocm["status"] == cm["status"] {
						cm["lastTransitionTime"] = ocm["lastTransitionTime"]
					}
				}
			}
		}
	}
	res := make([]any, len(out))
	for i := range out {
		res[i] = out[i]
	}
	return res
}
