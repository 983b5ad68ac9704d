package translate

import (
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// GatewayGroup is the Gateway API group.
const GatewayGroup = "gateway.networking.k8s.io"

// routeParent is a parentRef of an HTTPRoute naming a Gateway of a
// GatewayClass whose controllerName is one of Options.GatewayControllers.
type routeParent struct {
	field   string
	ref     gatewayv1.ParentReference
	gw      *gatewayv1.Gateway
	class   *gatewayv1.GatewayClass
	dialect Dialect
}

// HTTPRoute translates an HTTPRoute with at least one parent Gateway of a
// GatewayClass whose controllerName is one of Options.GatewayControllers,
// in that controller's dialect; others are not managed.
func HTTPRoute(r *gatewayv1.HTTPRoute, l Lookup, o Options) Result {
	var parents []routeParent
	for i, pr := range r.Spec.ParentRefs {
		if pr.Group != nil && string(*pr.Group) != GatewayGroup {
			continue
		}
		if pr.Kind != nil && string(*pr.Kind) != "Gateway" {
			continue
		}
		ns := r.Namespace
		if pr.Namespace != nil && *pr.Namespace != "" {
			ns = string(*pr.Namespace)
		}
		gw, ok := l.Gateway(ns, string(pr.Name))
		if !ok || gw == nil {
			continue
		}
		gc, ok := l.GatewayClass(string(gw.Spec.GatewayClassName))
		if !ok || gc == nil {
			continue
		}
		d, ok := o.gatewayDialect(string(gc.Spec.ControllerName))
		if !ok {
			continue
		}
		parents = append(parents, routeParent{field: fmt.Sprintf("spec.parentRefs[%d]", i), ref: pr, gw: gw, class: gc, dialect: d})
	}
	if len(parents) == 0 {
		return Result{}
	}
	var ps problems
	for _, p := range parents {
		if reason := notAllowed(p, r.Namespace); reason != "" {
			ps = append(ps, Problem{Field: p.field, Reason: reason, RouteReason: string(gatewayv1.RouteReasonNotAllowedByListeners)})
		}
	}
	d := parents[0].dialect
	same := parents[:1]
	for _, p := range parents[1:] {
		if p.dialect != d {
			ps.add(p.field, "GatewayClass %s is translated in the %s dialect, but %s's GatewayClass %s in the %s dialect: one HTTPRoute is translated one way", p.class.Name, p.dialect, parents[0].field, parents[0].class.Name, d)
			continue
		}
		same = append(same, p)
	}
	var res Result
	switch d {
	case DialectConflux:
		res = httpRouteConflux(r, same, l, o, ps)
	case DialectCloudflareOperator:
		res = httpRouteCloudflareOperator(r, same, l, o, ps)
	default:
		ps.add(same[0].field, "GatewayClass %s's controller %s is configured with the dialect %q, which has no Gateway API translation (%s and %s have)", same[0].class.Name, same[0].class.Spec.ControllerName, d, DialectConflux, DialectCloudflareOperator)
		res = (&builder{}).result(ps)
	}
	res.Dialect = d
	return res
}

// notAllowed says why no listener of p's Gateway (the one p's sectionName
// names, or any) admits an HTTPRoute of namespace ns; "" when one does. A
// listener admits it when its protocol is HTTP or HTTPS, its
// allowedRoutes.kinds (if any) include HTTPRoute, and its
// allowedRoutes.namespaces.from is All, or Same (the default) with the
// route in the Gateway's namespace. The route must not attach to a
// Gateway whose owner did not let its namespace in. cloudflare-operator
// ignored listeners; conflux-sync applies them in every dialect.
func notAllowed(p routeParent, ns string) string {
	gw := p.gw
	named := p.ref.SectionName != nil && *p.ref.SectionName != ""
	var why []string
	for _, li := range gw.Spec.Listeners {
		if named && li.Name != *p.ref.SectionName {
			continue
		}
		if li.Protocol != gatewayv1.HTTPProtocolType && li.Protocol != gatewayv1.HTTPSProtocolType {
			why = append(why, fmt.Sprintf("listener %s is %s", li.Name, li.Protocol))
			continue
		}
		ar := li.AllowedRoutes
		if ar != nil && len(ar.Kinds) > 0 && !slices.ContainsFunc(ar.Kinds, func(k gatewayv1.RouteGroupKind) bool {
			return k.Kind == "HTTPRoute" && (k.Group == nil || string(*k.Group) == GatewayGroup)
		}) {
			why = append(why, fmt.Sprintf("listener %s allows no HTTPRoutes (allowedRoutes.kinds)", li.Name))
			continue
		}
		from := gatewayv1.NamespacesFromSame
		if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		switch {
		case from == gatewayv1.NamespacesFromAll, from == gatewayv1.NamespacesFromSame && ns == gw.Namespace:
			return ""
		case from == gatewayv1.NamespacesFromSame:
			why = append(why, fmt.Sprintf("listener %s allows routes of namespace %s only (allowedRoutes.namespaces.from Same, the default)", li.Name, gw.Namespace))
		default:
			why = append(why, fmt.Sprintf("listener %s selects namespaces by label (from %s), which conflux-sync does not read: use All or Same", li.Name, from))
		}
	}
	if len(why) == 0 {
		if named {
			return fmt.Sprintf("Gateway %s/%s has no listener %s", gw.Namespace, gw.Name, *p.ref.SectionName)
		}
		return fmt.Sprintf("Gateway %s/%s has no listeners", gw.Namespace, gw.Name)
	}
	return fmt.Sprintf("Gateway %s/%s does not admit this HTTPRoute of namespace %s: %s", gw.Namespace, gw.Name, ns, strings.Join(why, "; "))
}

// httpRouteConflux is conflux-sync's own dialect: the GatewayClasses'
// parametersRef name the tunnel, hostnames default to the listeners',
// every match the cloudflared cannot express is refused, the
// cloudflare.com/ annotations apply.
func httpRouteConflux(r *gatewayv1.HTTPRoute, parents []routeParent, l Lookup, o Options, ps problems) Result {
	var (
		t         *tunnelInfo
		tField    string
		listeners []string
	)
	for _, p := range parents {
		pt := gatewayClassTunnel(p.class, l, o, p.field, &ps)
		if pt == nil {
			continue
		}
		switch {
		case t == nil:
			t, tField = pt, p.field
		case t.target != pt.target:
			ps.add(p.field, "selects %s but %s selects %s: one HTTPRoute is served through one tunnel", pt, tField, t)
			continue
		}
		for _, li := range p.gw.Spec.Listeners {
			if p.ref.SectionName != nil && li.Name != *p.ref.SectionName {
				continue
			}
			if li.Hostname != nil && *li.Hostname != "" {
				listeners = append(listeners, normHost(string(*li.Hostname)))
			}
		}
	}
	b := &builder{gen: generation(&r.ObjectMeta)}
	ann := parseAnnotations(r.Annotations, &ps)
	if t == nil {
		return b.result(ps)
	}
	rs := newRuleSet(t, !ann.disableDNS)
	rs.unproxied = ann.dnsProxied != nil && !*ann.dnsProxied

	// Hostnames and where they come from.
	type host struct{ name, field string }
	var hosts []host
	for i, h := range r.Spec.Hostnames {
		f := fmt.Sprintf("spec.hostnames[%d]", i)
		n := normHost(string(h))
		if n == "" {
			ps.add(f, "must not be empty")
			continue
		}
		hosts = append(hosts, host{n, f})
	}
	if len(r.Spec.Hostnames) == 0 {
		for _, n := range sortedUnique(listeners) {
			hosts = append(hosts, host{n, "spec.hostnames"})
		}
		if len(hosts) == 0 {
			ps.add("spec.hostnames", "is required: cloudflared routes by hostname, and the parent Gateways' listeners name none")
		}
	}
	var okHosts []string
	seenHost := map[string]bool{}
	for _, h := range hosts {
		if seenHost[h.name] {
			continue
		}
		seenHost[h.name] = true
		if rs.checkHost(h.name, h.field, &ps) {
			okHosts = append(okHosts, h.name)
		}
	}

	for i, rr := range r.Spec.Rules {
		rf := fmt.Sprintf("spec.rules[%d]", i)
		svc := routeBackend(rr, r.Namespace, ann, rf, l, &ps)
		paths := routePaths(rr, rf, &ps)
		if len(rr.Filters) > 0 {
			ps.add(rf+".filters", "are not supported: cloudflared matches host and path only and cannot modify requests")
		}
		if rr.Timeouts != nil {
			ps.add(rf+".timeouts", "are not supported by cloudflared; use the cloudflare.com/connect-timeout annotations")
		}
		if rr.Retry != nil {
			ps.add(rf+".retry", "is not supported by cloudflared")
		}
		if rr.SessionPersistence != nil {
			ps.add(rf+".sessionPersistence", "is not supported by cloudflared")
		}
		if svc == "" {
			continue
		}
		for _, p := range paths {
			for _, h := range okHosts {
				rs.add(api.TunnelRule{Hostname: h, Path: p.path, Service: svc, OriginRequest: cloneOrigin(ann.origin)}, p.field, &ps)
			}
		}
	}
	return rs.result(b, ps)
}

type routePath struct{ path, field string }

// routePaths converts a rule's matches to path regexes.
func routePaths(rr gatewayv1.HTTPRouteRule, rf string, ps *problems) []routePath {
	if len(rr.Matches) == 0 {
		return []routePath{{"", rf}}
	}
	var out []routePath
	for j, m := range rr.Matches {
		mf := fmt.Sprintf("%s.matches[%d]", rf, j)
		bad := false
		if len(m.Headers) > 0 {
			ps.add(mf+".headers", "header matches are not supported: cloudflared matches host and path only")
			bad = true
		}
		if len(m.QueryParams) > 0 {
			ps.add(mf+".queryParams", "query parameter matches are not supported: cloudflared matches host and path only")
			bad = true
		}
		if m.Method != nil {
			ps.add(mf+".method", "method matches are not supported: cloudflared matches host and path only")
			bad = true
		}
		typ, value := gatewayv1.PathMatchPathPrefix, "/"
		if m.Path != nil {
			if m.Path.Type != nil {
				typ = *m.Path.Type
			}
			if m.Path.Value != nil {
				value = *m.Path.Value
			}
		}
		var p string
		switch typ {
		case gatewayv1.PathMatchPathPrefix:
			p = prefixPath(value)
		case gatewayv1.PathMatchExact:
			p = exactPath(value)
		case gatewayv1.PathMatchRegularExpression:
			if reason := checkRegex(value); reason != "" {
				ps.add(mf+".path.value", "%s", reason)
				bad = true
			}
			p = value
		default:
			ps.add(mf+".path.type", "must be PathPrefix, Exact or RegularExpression, not %q", typ)
			bad = true
		}
		if !bad {
			out = append(out, routePath{p, mf})
		}
	}
	return out
}

// routeBackend resolves a rule's single Service backendRef ("" on a problem).
func routeBackend(rr gatewayv1.HTTPRouteRule, ns string, ann annotations, rf string, l Lookup, ps *problems) string {
	switch len(rr.BackendRefs) {
	case 0:
		ps.add(rf+".backendRefs", "is required: one Service backend")
		return ""
	case 1:
	default:
		ps.add(rf+".backendRefs", "has %d backends: cloudflared sends each rule to one origin and has no weights; use one backendRef (a Service can spread load over its endpoints)", len(rr.BackendRefs))
		return ""
	}
	br := rr.BackendRefs[0]
	bf := rf + ".backendRefs[0]"
	if len(br.Filters) > 0 {
		ps.add(bf+".filters", "are not supported: cloudflared cannot modify requests")
		return ""
	}
	if (br.Group != nil && *br.Group != "") || (br.Kind != nil && *br.Kind != "Service") {
		ps.add(bf+".kind", "only Service backends are supported")
		return ""
	}
	if br.Namespace != nil && string(*br.Namespace) != ns {
		ps.add(bf+".namespace", "cross-namespace backends are not supported (conflux-sync does not read ReferenceGrants)")
		return ""
	}
	if br.Port == nil || *br.Port == 0 {
		ps.add(bf+".port", "is required")
		return ""
	}
	return resolveService(l, ns, string(br.Name), *br.Port, "", ann.protocolFor(*br.Port), bf+".name", bf+".port", ps)
}

// gatewayClassTunnel resolves the tunnel a GatewayClass's parametersRef names.
func gatewayClassTunnel(gc *gatewayv1.GatewayClass, l Lookup, o Options, field string, ps *problems) *tunnelInfo {
	p := gc.Spec.ParametersRef
	want := fmt.Sprintf("GatewayClass %s needs spec.parametersRef {group: %s (or %s), kind: Tunnel or ClusterTunnel, name, namespace (for a Tunnel)}", gc.Name, Group, GroupCfargotunnel)
	if p == nil {
		ps.add(field, "%s", want)
		return nil
	}
	if why := classParamsProblem("group", string(p.Group), string(p.Kind), p.Name); why != "" {
		ps.add(field, "%s; %s", want, why)
		return nil
	}
	ns := ""
	if p.Kind == v1alpha2.KindTunnel {
		if p.Namespace == nil || *p.Namespace == "" {
			ps.add(field, "GatewayClass %s names a Tunnel: its parametersRef needs the Tunnel's namespace", gc.Name)
			return nil
		}
		ns = string(*p.Namespace)
	}
	var tps problems
	t := resolveTunnel(l, o, ObjectRef{Group: string(p.Group), Kind: string(p.Kind), Namespace: ns, Name: p.Name}, field, &tps)
	for _, tp := range tps {
		ps.add(tp.Field, "GatewayClass %s: %s", gc.Name, tp.Reason)
	}
	return t
}
