package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	ReasonWaiting     = "Waiting"
	ReasonSyncFailed  = "SyncFailed"
	ReasonInvalidSpec = "InvalidSpec"
	ReasonUnsupported = "Unsupported"
	ReasonConflict    = "Conflict"
	ReasonDeleting    = "Deleting"
	// ReasonDependencyNotReady: the object's output waits for something
	// another target of this cluster is about to create (a tunnel not
	// created yet). The normal order of things, not a failure: a Normal
	// Event, and the leader flushes it again as soon as that is recorded.
	ReasonDependencyNotReady = "DependencyNotReady"
	// ReasonRefused: Cloudflare refused one of the object's records (its
	// code and message are in the message); the rest of the zone is
	// written.
	ReasonRefused = "Refused"
	// ReasonNotApplied is the Degraded condition's (and Event's) reason
	// when fields are not applied.
	ReasonNotApplied = "NotApplied"
	// ReasonNotRecommended is the Degraded condition's (and Event's)
	// reason when every field it lists is applied, but written in a way
	// that is not recommended (a secret inline in the object).
	ReasonNotRecommended = "NotRecommended"
)

// verdict is what the recorded sync says about one object.
type verdict struct {
	ready   bool
	stalled bool // needs a change to the object (or its rival) to move on
	reason  string
	message string
	// degraded lists the fields not applied (Result.Degraded), "" if none.
	degraded string
	// degradedReason is ReasonNotRecommended when every field degraded
	// lists is applied, else ReasonNotApplied.
	degradedReason string
	// ids are downstream ids worth showing (tunnelId, routeId, ...).
	ids map[string]string
	// targets are the recorded state of the targets the object feeds.
	targets map[api.TargetRef]api.Target
}

// judge reads the targets the object feeds and decides its conditions.
func (t *term) judge(ctx context.Context, key objKey, obj client.Object, res translate.Result, problems []translate.Problem) (verdict, error) {
	v := verdict{ids: map[string]string{}, targets: map[api.TargetRef]api.Target{}}
	if len(res.Degraded) > 0 {
		v.degraded = problemList(res.Degraded)
		v.degradedReason = ReasonNotRecommended
		for _, p := range res.Degraded {
			if !p.Applied {
				v.degradedReason = ReasonNotApplied
			}
		}
	}
	if res.Tunnel != "" {
		for _, kind := range []string{api.KindTunnel, api.KindTunnelConfiguration} {
			ref := api.TargetRef{Kind: kind, Name: res.Tunnel}
			tg, ok, err := t.c.cfg.Reader.Target(ctx, ref)
			if err != nil {
				return v, err
			}
			if ok {
				v.targets[ref] = tg
			}
			if ok && tg.Status != nil && kind == api.KindTunnel {
				for _, k := range []string{"tunnelId", "accountId", "tunnelName"} {
					if id := tg.Status.DownstreamIDs[k]; id != "" {
						v.ids[k] = id
					}
				}
			}
		}
	}
	switch {
	case obj.GetDeletionTimestamp() != nil:
		v.reason, v.message = ReasonDeleting, "waiting for Cloudflare to delete the tunnel"
		return v, nil
	case len(problems) > 0:
		v.stalled, v.reason, v.message = true, ReasonInvalidSpec, problemList(problems)
		if !slices.ContainsFunc(problems, func(p translate.Problem) bool { return !p.Unsupported }) {
			v.reason = ReasonUnsupported
		}
		return v, nil
	}
	src := key.source()
	var pending, failed, waits, refused []string
	permanent, conflict := false, false
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
		v.targets[f.Target] = tg
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
		case st.Error == "" && st.DependsOn != nil && st.AttemptedHash == tg.Hash && !st.DryRun:
			// The whole target waits for another one (engine.WaitFor).
			for _, w := range st.Waiting {
				waits = append(waits, f.Target.String()+" waits for "+w.For)
			}
		case st.SyncedHash != tg.Hash:
			pending = append(pending, f.Target.String())
		default:
			for k, id := range st.DownstreamIDs {
				if k != "created" && k != "credentials" && k != "pendingName" {
					v.ids[k] = id
				}
			}
			waits = append(waits, waitingOf(f, st.Waiting)...)
			r, c := refusedOf(f, st.Refused)
			refused, conflict = append(refused, r...), conflict || c
		}
	}
	switch {
	case len(failed) > 0:
		v.stalled, v.reason, v.message = permanent, ReasonSyncFailed, strings.Join(failed, "; ")
	case len(refused) > 0:
		// Only this object's records: the rest of the zone is written.
		v.stalled, v.reason, v.message = true, ReasonRefused, strings.Join(refused, "; ")
		if conflict {
			v.reason = ReasonConflict
		}
	case res.Waiting != "":
		v.reason, v.message = ReasonWaiting, res.Waiting
	case len(waits) > 0:
		v.reason, v.message = ReasonDependencyNotReady, strings.Join(waits, "; ")
	case len(pending) > 0:
		v.reason, v.message = ReasonProgressing, "waiting for the sync of "+strings.Join(pending, ", ")
	case len(res.Fragments) == 0:
		v.ready, v.reason, v.message = true, ReasonSynced, "accepted"
	default:
		v.ready, v.reason = true, ReasonSynced
		v.message = fmt.Sprintf("synced to Cloudflare (%d targets)", len(res.Fragments))
	}
	return v, nil
}

// waitingOf describes the parts of fragment f that its synced target left
// waiting (api.SyncStatus.Waiting): the rest of the target is written.
func waitingOf(f api.SourceFragment, waiting []api.WaitingPart) []string {
	if len(waiting) == 0 || f.Target.Kind != api.KindDNSRecord {
		return nil
	}
	var spec api.DNSSpec
	if err := json.Unmarshal(f.Spec, &spec); err != nil {
		return nil
	}
	var out []string
	for _, r := range spec.Records {
		for _, w := range waiting {
			if strings.EqualFold(w.Key, r.Key()) {
				out = append(out, "DNS record "+w.Key+" waits for "+w.For)
			}
		}
	}
	return out
}

// refusedOf describes the records of fragment f that its synced target
// did not write (api.SyncStatus.Refused), and reports whether one of them
// clashes with a record conflux-sync does not own (else Cloudflare
// refused it).
func refusedOf(f api.SourceFragment, refused []api.RefusedPart) (out []string, conflict bool) {
	if len(refused) == 0 || f.Target.Kind != api.KindDNSRecord {
		return nil, false
	}
	var spec api.DNSSpec
	if err := json.Unmarshal(f.Spec, &spec); err != nil {
		return nil, false
	}
	seen := map[string]bool{}
	for _, r := range spec.Records {
		for _, p := range refused {
			if strings.EqualFold(p.Key, r.Key()) && !seen[p.Key+p.Message] {
				seen[p.Key+p.Message] = true
				out = append(out, "DNS record "+p.Key+" not written: "+p.Message)
				conflict = conflict || p.Reason == api.RefusedConflict
			}
		}
	}
	return out, conflict
}

func problemList(ps []translate.Problem) string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "; ")
}

func judgeOrder(targetKind string) int {
	if targetKind == api.KindTunnelConfiguration {
		return 0
	}
	return 1
}

func conflictNoun(targetKind string) string {
	switch targetKind {
	case api.KindTunnelConfiguration:
		return "hostname"
	case api.KindDNSRecord:
		return "DNS record"
	case api.KindGatewayRule:
		return "Gateway"
	}
	return targetKind
}

func nsName(s api.SourceRef) string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "/" + s.Name
}

// conditions renders a verdict as the standard conditions (Ready,
// Reconciling, Stalled, and Degraded when fields are not applied),
// keeping lastTransitionTime of those that did not change.
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
	if v.degraded != "" {
		out = append(out, metav1.Condition{Type: v1alpha2.ConditionDegraded, Status: metav1.ConditionTrue, Reason: v.degradedReason, Message: v.degraded})
	}
	for i := range out {
		out[i].ObservedGeneration = gen
		out[i].LastTransitionTime = metav1.Now()
		if old := apimeta.FindStatusCondition(existing, out[i].Type); old != nil && old.Status == out[i].Status {
			out[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return out
}

// event returns the Event a verdict deserves: success and waiting for a
// dependency are Normal; conflicts, refusals and errors are Warnings;
// other waiting is not news.
func (v verdict) event() (eventType, reason string, ok bool) {
	switch {
	case v.ready:
		return corev1.EventTypeNormal, ReasonSynced, true
	case v.reason == ReasonDependencyNotReady:
		return corev1.EventTypeNormal, v.reason, true
	case v.reason == ReasonConflict, v.reason == ReasonInvalidSpec, v.reason == ReasonSyncFailed, v.reason == ReasonUnsupported, v.reason == ReasonRefused:
		return corev1.EventTypeWarning, v.reason, true
	}
	return "", "", false
}

// state is the kind's status.state word for the verdict ("" = none).
func (v verdict) state(s states) string {
	switch {
	case v.reason == ReasonDeleting:
		return s.deleting
	case v.ready:
		return s.ready
	case v.stalled || v.reason == ReasonSyncFailed:
		return s.failed
	}
	return s.waiting
}

// writeStatus records the verdict in the object's status (when it changed)
// and emits an Event when the verdict changed.
func (t *term) writeStatus(ctx context.Context, key objKey, obj client.Object, res translate.Result, problems []translate.Problem) (verdict, error) {
	v, err := t.judge(ctx, key, obj, res, problems)
	if err != nil || t.c.cfg.ReadOnly {
		return v, err
	}
	var changed bool
	switch o := obj.(type) {
	case *networkingv1.Ingress:
		changed, err = t.writeIngressStatus(ctx, o, v, res.Dialect)
	case *gatewayv1.HTTPRoute:
		changed, err = t.writeRouteStatus(ctx, o, v, problems)
	case *unstructured.Unstructured:
		changed, err = t.applyCRDStatus(ctx, key, o, res, v)
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
	if v.degraded != "" && t.lastEvent(objKey{Kind: "degraded/" + key.Kind, Namespace: key.Namespace, Name: key.Name}, v.degraded) {
		t.recorder.Event(obj, corev1.EventTypeWarning, v.degradedReason, v.degraded)
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

// applyCRDStatus server-side applies the status of an object of one of
// the operators' CRD kinds, in the shape that kind's installed schema has:
// every field conflux-sync knows a value for that the schema declares
// (the operators' ids, state, conditions), and the schema's required
// fields. A schema without conditions (adyanth's) gets the verdict as
// annotations on the object instead, as an Ingress does.
func (t *term) applyCRDStatus(ctx context.Context, key objKey, u *unstructured.Unstructured, res translate.Result, v verdict) (bool, error) {
	s := t.served[key.Kind]
	existing, _, _ := unstructured.NestedMap(u.Object, "status")
	var oldConds []metav1.Condition
	if raw, ok := existing["conditions"]; ok {
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &oldConds)
	}
	full := t.statusFields(ctx, key, u, res, v)
	full["observedGeneration"] = u.GetGeneration()
	full["conditions"] = v.conditions(u.GetGeneration(), oldConds)
	if st := v.state(s.states); st != "" {
		full["state"] = st
	}
	if state, ok := res.Status["state"].(string); ok {
		full["state"] = state
	}
	want := map[string]any{}
	for k, val := range full {
		if s.status.has(k) {
			want[k] = val
		}
	}
	for _, f := range s.status.required {
		if _, ok := want[f]; !ok {
			want[f] = zeroStatusValue(f)
		}
	}
	changed := false
	if !s.status.has("conditions") {
		c, err := t.applyVerdictAnnotations(ctx, u, v, u.GetGeneration())
		if err != nil {
			return false, err
		}
		changed = c
	}
	if sameStatus(existing, want) {
		return changed, nil
	}
	// A merge patch, not server-side apply: an object written in another
	// version of an operator's CRD (v1alpha1, stored as v1alpha2 without a
	// conversion webhook) has managed fields the API server cannot convert
	// for an apply ("field not declared in schema"). conflux-sync is the
	// only writer of these statuses.
	body, err := json.Marshal(map[string]any{"status": want})
	if err != nil {
		return false, err
	}
	err = t.c.client.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager))
	return err == nil || changed, client.IgnoreNotFound(err)
}

// zeroStatusValue is the value of a required status field conflux-sync has
// nothing for (the operators' schemas require e.g. zoneId and services).
func zeroStatusValue(field string) any {
	if field == "services" {
		return []any{}
	}
	return ""
}

// statusFields are the kind-specific status fields conflux-sync knows, in
// the operators' names, before they are fitted to the installed schema.
func (t *term) statusFields(ctx context.Context, key objKey, u *unstructured.Unstructured, res translate.Result, v verdict) map[string]any {
	out := map[string]any{}
	for k, val := range res.Status {
		if k != "state" {
			out[k] = val
		}
	}
	set := func(field, value string) {
		if value != "" {
			out[field] = value
		}
	}
	set("tunnelId", v.ids["tunnelId"])
	set("accountId", v.ids["accountId"])
	s := t.served[key.Kind]
	switch s.kind {
	case "Tunnel", "ClusterTunnel":
		set("tunnelName", v.ids["tunnelName"])
		if cfg, ok := v.targets[api.TargetRef{Kind: api.KindTunnelConfiguration, Name: res.Tunnel}]; ok {
			if cfg.Status != nil {
				if n, err := strconv.ParseInt(cfg.Status.DownstreamIDs["version"], 10, 64); err == nil {
					out["configVersion"] = n
				}
			}
			if hosts := configHostnames(cfg.Desired); len(hosts) > 0 {
				out["syncedHostnames"] = hosts
			}
		}
	case "TunnelBinding":
		if v.ready && len(res.Hostnames) > 0 {
			out["syncedHostnames"] = res.Hostnames
		}
	case "DNSRecord":
		ids := recordIDs(res, v)
		if len(ids) > 0 {
			out["recordId"] = ids[0]
			out["managedRecordIds"] = ids
		}
		set("zoneId", v.ids["zoneId"])
	case "AccessApplication":
		set("applicationId", v.ids["appId"])
		set("aud", v.ids["aud"])
		if pol := accessPolicies(res, v); len(pol) > 0 {
			out["resolvedPolicyIds"] = pol
		}
	case "AccessPolicy":
		set("policyId", v.ids["policyId"])
	case "NetworkRoute":
		set("routeId", v.ids["routeId"])
		set("virtualNetworkId", v.ids["virtualNetworkId"])
	case "GatewayList":
		set("listId", v.ids["listId"])
	case "GatewayRule":
		if k := translate.GatewayRuleIDKey(res); k != "" {
			set("ruleId", v.ids[k])
		}
	case "VirtualNetwork":
		set("virtualNetworkId", v.ids["virtualNetworkId"])
		if v.ready {
			out["isDefault"] = defaultNetwork(res)
		}
	case "AccessGroup":
		set("groupId", v.ids["groupId"])
	case "AccessIdentityProvider":
		set("providerId", v.ids["providerId"])
	case "AccessServiceToken":
		set("tokenId", v.ids["tokenId"])
		set("clientId", v.ids["clientId"])
		if at := v.ids["expiresAt"]; at != "never" {
			set("expiresAt", at)
		}
	case "CloudflareCredentials":
		if len(res.Problems) == 0 {
			out["lastValidatedTime"] = metav1.Now()
		}
	case "TunnelIngressClassConfig", "TunnelGatewayClassConfig":
		set("tunnelName", v.ids["tunnelName"])
		for field, n := range t.classConfigCounts(ctx, s.kind, u.GetNamespace(), u.GetName()) {
			out[field] = n
		}
	}
	return out
}

// configHostnames are the hostnames of a rendered tunnel configuration.
func configHostnames(desired json.RawMessage) []string {
	var cfg struct {
		Ingress []struct {
			Hostname string `json:"hostname"`
		} `json:"ingress"`
	}
	if json.Unmarshal(desired, &cfg) != nil {
		return nil
	}
	var out []string
	for _, r := range cfg.Ingress {
		if r.Hostname != "" {
			out = append(out, r.Hostname)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// recordIDs are the ids of an object's DNS records, from the recorded
// outcome of its zone (keyed "<name> <type> <content>").
func recordIDs(res translate.Result, v verdict) []string {
	var ids []string
	for _, f := range res.Fragments {
		if f.Target.Kind != api.KindDNSRecord {
			continue
		}
		var spec api.DNSSpec
		if json.Unmarshal(f.Spec, &spec) != nil {
			continue
		}
		tg := v.targets[f.Target]
		if tg.Status == nil {
			continue
		}
		for _, r := range spec.Records {
			prefix := strings.ToLower(r.Name) + " " + strings.ToUpper(r.Type) + " "
			for k, id := range tg.Status.DownstreamIDs {
				if strings.HasPrefix(k, prefix) && (r.Content == "" || k == prefix+r.Content) && id != "" {
					ids = append(ids, id)
				}
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// defaultNetwork says whether a VirtualNetwork's fragment makes its
// network the account's default (as cloudflare-operator's status.isDefault
// says once synced).
func defaultNetwork(res translate.Result) bool {
	for _, f := range res.Fragments {
		var spec api.VirtualNetworkSpec
		if f.Target.Kind == api.KindVirtualNetwork && json.Unmarshal(f.Spec, &spec) == nil {
			return spec.IsDefaultNetwork
		}
	}
	return false
}

// accessPolicies are the policy ids an AccessApplication's fragment asks for.
func accessPolicies(res translate.Result, v verdict) []string {
	// The ids the flush resolved the policies to (names of AccessPolicy
	// targets among them), once it has.
	if ids := v.ids["policyIds"]; ids != "" {
		return strings.Split(ids, ",")
	}
	for _, f := range res.Fragments {
		var spec api.AccessApplicationSpec
		if f.Target.Kind == api.KindAccessApplication && json.Unmarshal(f.Spec, &spec) == nil {
			if slices.ContainsFunc(spec.Policies, func(p string) bool { return !uuidPattern.MatchString(p) }) {
				return nil // names, not resolved yet
			}
			return spec.Policies
		}
	}
	return nil
}

// uuidPattern is a policy id, as opposed to a policy's name.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// classConfigCounts counts the Ingresses, Gateways and routes using a
// TunnelIngressClassConfig or TunnelGatewayClassConfig.
func (t *term) classConfigCounts(ctx context.Context, kind, ns, name string) map[string]int64 {
	l := lookup{ctx: ctx, t: t}
	matches := func(group, k string, paramNS *string, paramName string) bool {
		pns := t.c.cfg.Namespace
		if paramNS != nil && *paramNS != "" {
			pns = *paramNS
		}
		return group == translate.GroupCloudflareOperator && k == kind && paramName == name && pns == ns
	}
	out := map[string]int64{}
	switch kind {
	case "TunnelIngressClassConfig":
		out["ingressCount"] = 0
		classes := map[string]bool{}
		for _, c := range l.IngressClasses() {
			if p := c.Spec.Parameters; p != nil && matches(ptrValue(p.APIGroup), p.Kind, p.Namespace, p.Name) {
				classes[c.Name] = true
			}
		}
		var list networkingv1.IngressList
		if t.watched[kindIngress] && t.cache.List(ctx, &list) == nil {
			for i := range list.Items {
				if c := translate.IngressClassFor(&list.Items[i], l); c != nil && classes[c.Name] {
					out["ingressCount"]++
				}
			}
		}
	case "TunnelGatewayClassConfig":
		classes := map[string]bool{}
		var gcs gatewayv1.GatewayClassList
		if t.watched[kindGatewayClass] && t.cache.List(ctx, &gcs) == nil {
			for _, c := range gcs.Items {
				if p := c.Spec.ParametersRef; p != nil {
					pns := (*string)(p.Namespace)
					if matches(string(p.Group), string(p.Kind), pns, p.Name) {
						classes[c.Name] = true
					}
				}
			}
		}
		gateways := map[string]bool{}
		var gws gatewayv1.GatewayList
		if t.watched[kindGateway] && t.cache.List(ctx, &gws) == nil {
			for _, g := range gws.Items {
				if classes[string(g.Spec.GatewayClassName)] {
					gateways[g.Namespace+"/"+g.Name] = true
				}
			}
		}
		out["gatewayCount"] = int64(len(gateways))
		out["routeCount"] = 0
		var routes gatewayv1.HTTPRouteList
		if t.watched[kindHTTPRoute] && t.cache.List(ctx, &routes) == nil {
			for _, r := range routes.Items {
				for _, p := range r.Spec.ParentRefs {
					pns := r.Namespace
					if p.Namespace != nil {
						pns = string(*p.Namespace)
					}
					if gateways[pns+"/"+string(p.Name)] {
						out["routeCount"]++
						break
					}
				}
			}
		}
	}
	return out
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// sameStatus compares the wanted status with the stored one as JSON,
// ignoring conditions' lastTransitionTime (conditions keep the old time
// when nothing moved) and fields the stored one has that are not wanted.
func sameStatus(existing, want map[string]any) bool {
	for k, w := range want {
		if k == "lastValidatedTime" {
			continue // a time of the check, not news by itself
		}
		e, ok := existing[k]
		if !ok {
			return false
		}
		if k == "conditions" {
			if !sameConditions(e, w) {
				return false
			}
			continue
		}
		if !sameJSON(e, w) {
			return false
		}
	}
	return true
}

func sameConditions(existing, want any) bool {
	var a, b []metav1.Condition
	ja, _ := json.Marshal(existing)
	jb, _ := json.Marshal(want)
	if json.Unmarshal(ja, &a) != nil || json.Unmarshal(jb, &b) != nil {
		return false
	}
	return sameConditionList(a, b)
}

// sameJSON compares two values by their JSON form (the API server's
// int64s and the wanted ints, nil and empty lists alike).
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		var out any
		if json.Unmarshal(raw, &out) != nil {
			return nil
		}
		if l, ok := out.([]any); ok && len(l) == 0 {
			return nil
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Annotations carrying a verdict where the API has no conditions (an
// Ingress, or a CRD whose schema has none): `kubectl wait
// --for=jsonpath='{.metadata.annotations.status\.conflux-sync\.io/ready}'=True`
// waits for one.
const (
	AnnotationReady   = "status.conflux-sync.io/ready"
	AnnotationReason  = "status.conflux-sync.io/reason"
	AnnotationMessage = "status.conflux-sync.io/message"
	// AnnotationObservedGeneration is the metadata.generation the verdict
	// is about.
	AnnotationObservedGeneration = "status.conflux-sync.io/observed-generation"
)

// applyVerdictAnnotations server-side applies the verdict annotations to
// an object, owned by conflux-sync's field manager (so GitOps tools that
// apply the object server-side never see them as drift).
func (t *term) applyVerdictAnnotations(ctx context.Context, obj client.Object, v verdict, gen int64) (bool, error) {
	ready := "False"
	if v.ready {
		ready = "True"
	}
	want := map[string]string{AnnotationReady: ready, AnnotationReason: v.reason, AnnotationMessage: v.message,
		AnnotationObservedGeneration: strconv.FormatInt(gen, 10)}
	same := true
	for k, val := range want {
		if obj.GetAnnotations()[k] != val {
			same = false
		}
	}
	if same {
		return false, nil
	}
	if _, isCRD := obj.(*unstructured.Unstructured); isCRD {
		// A merge patch, for the reason applyCRDStatus gives.
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": want}})
		if err != nil {
			return false, err
		}
		if err := t.c.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager)); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return true, nil
	}
	gvk, err := t.c.client.GroupVersionKindFor(obj)
	if err != nil {
		return false, err
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": gvk.GroupVersion().String(),
		"kind":       gvk.Kind,
		"metadata":   map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace(), "annotations": want},
	})
	if err != nil {
		return false, err
	}
	if err := t.c.client.Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return true, nil
}

// writeIngressStatus publishes the tunnel's hostname as the Ingress's load
// balancer address once it is ready (what `kubectl get ingress` shows as
// ADDRESS, and what external-dns and Argo CD read) — with port 443 in the
// STRRL dialect, as that controller writes it — and the verdict as
// annotations.
func (t *term) writeIngressStatus(ctx context.Context, ing *networkingv1.Ingress, v verdict, dialect translate.Dialect) (bool, error) {
	changed, err := t.applyVerdictAnnotations(ctx, ing, v, ing.Generation)
	if err != nil {
		return false, err
	}
	var lb []networkingv1.IngressLoadBalancerIngress
	if id := v.ids["tunnelId"]; id != "" && v.ready {
		e := networkingv1.IngressLoadBalancerIngress{Hostname: id + ".cfargotunnel.com"}
		if dialect == translate.DialectSTRRL {
			e.Ports = []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP}}
		}
		lb = []networkingv1.IngressLoadBalancerIngress{e}
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
// its own: the verdict annotations (applying none of them drops the ones
// our field manager owns), an HTTPRoute's status.parents entries.
func (t *term) forget(ctx context.Context, obj client.Object) error {
	if t.c.cfg.ReadOnly {
		return nil
	}
	switch o := obj.(type) {
	case *gatewayv1.HTTPRoute:
		_, err := t.writeRouteStatus(ctx, o, verdict{}, nil)
		return err
	}
	if _, ok := obj.GetAnnotations()[AnnotationReady]; !ok {
		return nil
	}
	if _, isCRD := obj.(*unstructured.Unstructured); isCRD {
		drop := map[string]any{AnnotationReady: nil, AnnotationReason: nil, AnnotationMessage: nil, AnnotationObservedGeneration: nil}
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": drop}})
		if err != nil {
			return err
		}
		return client.IgnoreNotFound(t.c.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldManager)))
	}
	gvk, err := t.c.client.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": gvk.GroupVersion().String(),
		"kind":       gvk.Kind,
		"metadata":   map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()},
	})
	if err != nil {
		return err
	}
	patch := client.RawPatch(types.ApplyPatchType, body)
	if _, ok := obj.(*networkingv1.Ingress); ok {
		if err := t.c.client.Status().Patch(ctx, obj, patch, client.FieldOwner(FieldManager), client.ForceOwnership); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return client.IgnoreNotFound(t.c.client.Patch(ctx, obj, patch, client.FieldOwner(FieldManager), client.ForceOwnership))
}

// writeRouteStatus sets conflux-sync's entries of status.parents (one per
// parentRef that names a Gateway of a class it serves) and leaves other
// controllers' entries alone. The list is atomic for server-side apply, so
// this is a read-modify-write guarded by resourceVersion.
func (t *term) writeRouteStatus(ctx context.Context, route *gatewayv1.HTTPRoute, v verdict, problems []translate.Problem) (bool, error) {
	if t.c.cfg.ReadOnly {
		return false, nil
	}
	l := lookup{ctx: ctx, t: t}
	var ours []gatewayv1.RouteParentStatus
	mine := t.gatewayControllers()
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
		if !ok || !mine[string(gc.Spec.ControllerName)] || v.reason == "" {
			continue
		}
		accepted := metav1.ConditionTrue
		acceptedReason := string(gatewayv1.RouteReasonAccepted)
		if v.stalled {
			accepted, acceptedReason = metav1.ConditionFalse, v.reason
			for _, p := range problems {
				if p.RouteReason != "" {
					acceptedReason = p.RouteReason
				}
			}
		}
		resolved, resolvedReason := metav1.ConditionTrue, string(gatewayv1.RouteReasonResolvedRefs)
		if len(problems) > 0 {
			resolved, resolvedReason = metav1.ConditionFalse, ReasonInvalidSpec
		}
		var existing []metav1.Condition
		for _, p := range route.Status.Parents {
			if string(p.ControllerName) == string(gc.Spec.ControllerName) && equality.Semantic.DeepEqual(p.ParentRef, ref) {
				existing = p.Conditions
			}
		}
		conds := v.conditions(route.Generation, existing)
		gwConds := []metav1.Condition{
			{Type: string(gatewayv1.RouteConditionAccepted), Status: accepted, Reason: acceptedReason, Message: v.message, ObservedGeneration: route.Generation},
			{Type: string(gatewayv1.RouteConditionResolvedRefs), Status: resolved, Reason: resolvedReason, Message: v.message, ObservedGeneration: route.Generation},
		}
		for i := range gwConds {
			c := &gwConds[i]
			c.LastTransitionTime = metav1.Now()
			if old := apimeta.FindStatusCondition(existing, c.Type); old != nil && old.Status == c.Status {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		conds = append(conds, gwConds...)
		sort.Slice(conds, func(i, j int) bool { return conds[i].Type < conds[j].Type })
		ours = append(ours, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: gc.Spec.ControllerName, Conditions: conds})
	}
	var parents []gatewayv1.RouteParentStatus
	for _, p := range route.Status.Parents {
		if !mine[string(p.ControllerName)] {
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

// gatewayControllers are the GatewayClass controller names served.
func (t *term) gatewayControllers() map[string]bool {
	m := t.c.cfg.GatewayControllers
	if m == nil {
		m = translate.DefaultGatewayControllers()
	}
	out := make(map[string]bool, len(m))
	for name := range m {
		out[name] = true
	}
	return out
}

func sameParents(a, b []gatewayv1.RouteParentStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ControllerName != b[i].ControllerName || !equality.Semantic.DeepEqual(a[i].ParentRef, b[i].ParentRef) || !sameConditionList(a[i].Conditions, b[i].Conditions) {
			return false
		}
	}
	return true
}

func sameConditionList(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for _, c := range b {
		old := apimeta.FindStatusCondition(a, c.Type)
		if old == nil || old.Status != c.Status || old.Reason != c.Reason || old.Message != c.Message || old.ObservedGeneration != c.ObservedGeneration {
			return false
		}
	}
	return true
}
