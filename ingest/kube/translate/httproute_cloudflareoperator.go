package translate

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
)

// gatewayClassConfig resolves a cloudflare-operator GatewayClass's
// parametersRef, a TunnelGatewayClassConfig (namespace required, as
// cloudflare-operator requires it).
func gatewayClassConfig(gc *gatewayv1.GatewayClass, l Lookup, field string, ps *problems) *classConfig {
	p := gc.Spec.ParametersRef
	want := fmt.Sprintf("GatewayClass %s needs spec.parametersRef {group: %s, kind: %s, name, namespace}", gc.Name, GroupCloudflareOperator, KindTunnelGatewayClassConfig)
	var why string
	switch {
	case p == nil:
	case string(p.Group) != GroupCloudflareOperator:
		why = fmt.Sprintf("its group is %q", p.Group)
	case string(p.Kind) != KindTunnelGatewayClassConfig:
		why = fmt.Sprintf("its kind is %q", p.Kind)
	case p.Name == "":
		why = "its name is empty"
	case p.Namespace == nil || *p.Namespace == "":
		why = "its namespace is empty"
	}
	if p == nil || why != "" {
		if why != "" {
			want += "; " + why
		}
		ps.add(field, "%s", want)
		return nil
	}
	ns := string(*p.Namespace)
	spec, ok := l.ClassConfig(KindTunnelGatewayClassConfig, ns, p.Name)
	if !ok || spec == nil {
		ps.add(field, "GatewayClass %s: %s %s/%s not found", gc.Name, KindTunnelGatewayClassConfig, ns, p.Name)
		return nil
	}
	return &classConfig{kind: KindTunnelGatewayClassConfig, namespace: ns, name: p.Name, spec: spec}
}

// httpRouteCloudflareOperator is StringKe/cloudflare-operator's dialect:
// the GatewayClass's TunnelGatewayClassConfig names the tunnel and the
// originRequest of every rule; one rule per hostname of spec.hostnames and
// path match, to the first Service backendRef; what cloudflared cannot
// match on (headers, query parameters, methods) and what it cannot do
// (filters, timeouts, retries, session persistence) is ignored, as
// cloudflare-operator ignores it, and reported as Degraded; the records of
// the DNSRecord objects it generated for the Gateways are taken over.
//
// A backendRef to another namespace stays a problem: conflux-sync does not
// read ReferenceGrants, so it cannot tell whether that namespace allows the
// reference (cloudflare-operator followed such references unchecked).
func httpRouteCloudflareOperator(r *gatewayv1.HTTPRoute, parents []routeParent, l Lookup, o Options, ps problems) Result {
	var deg problems
	var (
		t      *tunnelInfo
		cfg    *classConfig
		tField string
	)
	generated := map[string]string{}
	for _, p := range parents {
		pcfg := gatewayClassConfig(p.class, l, p.field, &ps)
		if pcfg == nil {
			continue
		}
		pt := pcfg.tunnel(l, o, p.field, "GatewayClass "+p.class.Name+": ", &ps)
		if pt == nil {
			continue
		}
		switch {
		case t == nil:
			t, cfg, tField = pt, pcfg, p.field
		case t.target != pt.target:
			ps.add(p.field, "selects %s but %s selects %s: one HTTPRoute is served through one tunnel", pt, tField, t)
			continue
		}
		for h, id := range l.GeneratedRecordIDs("Gateway", p.gw.Namespace, p.gw.Name) {
			generated[h] = id
		}
	}
	b := &builder{gen: generation(&r.ObjectMeta)}
	deg = append(deg, foreignAnnotations(r.Annotations, AnnotationPrefix, "is not read: cloudflare-operator's Gateway controller reads no annotations, and its routes are translated the same way (origin settings come from the TunnelGatewayClassConfig's defaultOriginRequest)")...)
	if t == nil {
		res := b.result(ps)
		res.Degraded = deg
		return res
	}
	dns, proxied := cfg.dns()
	rs := newRuleSet(t, dns)
	rs.unproxied = !proxied
	// cloudflare-operator's Gateway records name no zone: they go to the
	// CloudflareDomain a hostname is in.
	rs.zones = domainZones(l)
	rs.takeOver = generatedTakeOver(generated)
	// Every rule carries the defaults, with the booleans spelled out, as
	// cloudflare-operator's configuration writer sends them.
	origin := cfg.origin(tField, "GatewayClass "+parents[0].class.Name+": ", &ps)
	if origin == nil {
		origin = &api.OriginRequest{}
	}
	spellOutFalse(origin)

	var hosts []string
	seenHost := map[string]bool{}
	for i, h := range r.Spec.Hostnames {
		f := fmt.Sprintf("spec.hostnames[%d]", i)
		n := normHost(string(h))
		switch {
		case n == "":
			ps.add(f, "must not be empty")
		case seenHost[n]:
		case rs.checkHost(n, f, &ps):
			seenHost[n] = true
			hosts = append(hosts, n)
		}
	}
	if len(r.Spec.Hostnames) == 0 {
		ps.add("spec.hostnames", "is required: cloudflared routes by hostname (cloudflare-operator turned a route without hostnames into catch-all rules and then dropped them)")
	}

	// Ignoring header matches can make two matches of a rule the same
	// hostname and path with the same service: that is one rule.
	written := map[[2]string]string{}
	for i, rr := range r.Spec.Rules {
		rf := fmt.Sprintf("spec.rules[%d]", i)
		const every = "cloudflared matches hostname and path only, so the rule matches every request to its hostnames and path"
		if len(rr.Filters) > 0 {
			deg.add(rf+".filters", "are ignored, as cloudflare-operator ignores them: cloudflared cannot modify requests or responses")
		}
		if rr.Timeouts != nil {
			deg.add(rf+".timeouts", "are ignored, as cloudflare-operator ignores them (cloudflared's timeouts are the TunnelGatewayClassConfig's defaultOriginRequest)")
		}
		if rr.Retry != nil {
			deg.add(rf+".retry", "is ignored, as cloudflare-operator ignores it: cloudflared does not retry requests")
		}
		if rr.SessionPersistence != nil {
			deg.add(rf+".sessionPersistence", "is ignored, as cloudflare-operator ignores it: cloudflared has no session persistence (the Service spreads requests over its endpoints)")
		}
		svc := operatorRouteBackend(rr, r.Namespace, rf, l, &ps, &deg)
		var paths []routePath
		if len(rr.Matches) == 0 {
			paths = []routePath{{"", rf}}
		}
		for j, m := range rr.Matches {
			mf := fmt.Sprintf("%s.matches[%d]", rf, j)
			if len(m.Headers) > 0 {
				deg.add(mf+".headers", "are ignored, as cloudflare-operator ignores them: %s", every)
			}
			if len(m.QueryParams) > 0 {
				deg.add(mf+".queryParams", "are ignored, as cloudflare-operator ignores them: %s", every)
			}
			if m.Method != nil {
				deg.add(mf+".method", "is ignored, as cloudflare-operator ignores it: %s", every)
			}
			if p, ok := operatorRoutePath(m.Path, mf, &ps); ok {
				paths = append(paths, routePath{p, mf})
			}
		}
		if svc == "" {
			continue
		}
		for _, p := range paths {
			for _, h := range hosts {
				k := [2]string{h, p.path}
				if prev, seen := written[k]; seen && prev == svc {
					continue
				}
				written[k] = svc
				rs.add(api.TunnelRule{Hostname: h, Path: p.path, Service: svc, OriginRequest: cloneOrigin(origin)}, p.field, &ps)
			}
		}
	}
	res := rs.result(b, ps)
	res.Degraded = deg
	return res
}

// operatorRoutePath converts a path match as cloudflare-operator does: no
// match, "" and "/" match everything; Exact v is "^v$"; PathPrefix (the
// default) v is "v.*" when v ends in "/", else "v(/.*)?$";
// RegularExpression v is v. Neither anchored at the start nor escaped.
func operatorRoutePath(m *gatewayv1.HTTPPathMatch, field string, ps *problems) (string, bool) {
	if m == nil || m.Value == nil || *m.Value == "" || *m.Value == "/" {
		return "", true
	}
	v := *m.Value
	typ := gatewayv1.PathMatchPathPrefix
	if m.Type != nil {
		typ = *m.Type
	}
	var re string
	switch typ {
	case gatewayv1.PathMatchExact:
		re = "^" + v + "$"
	case gatewayv1.PathMatchPathPrefix:
		re = operatorPrefix(v)
	case gatewayv1.PathMatchRegularExpression:
		re = v
	default:
		ps.add(field+".path.type", "must be PathPrefix, Exact or RegularExpression, not %q", typ)
		return "", false
	}
	if reason := checkRegex(re); reason != "" {
		ps.add(field+".path.value", "becomes %q, which %s", re, reason)
		return "", false
	}
	return re, true
}

// operatorRouteBackend is a rule's service ("" when none): the first
// Service backendRef, its port (default 80) as written, the scheme that
// port number implies when the Service has the port, else http.
func operatorRouteBackend(rr gatewayv1.HTTPRouteRule, ns, rf string, l Lookup, ps, deg *problems) string {
	if len(rr.BackendRefs) == 0 {
		deg.add(rf+".backendRefs", "is empty: the rule makes no tunnel rule, as with cloudflare-operator")
		return ""
	}
	svc, used := "", -1
	for k, br := range rr.BackendRefs {
		bf := fmt.Sprintf("%s.backendRefs[%d]", rf, k)
		if (br.Group != nil && *br.Group != "") || (br.Kind != nil && *br.Kind != "Service") {
			deg.add(bf+".kind", "is not a Service: the backend is skipped, as cloudflare-operator skips it")
			continue
		}
		if br.Namespace != nil && string(*br.Namespace) != ns {
			ps.add(bf+".namespace", "cross-namespace backends are not supported: conflux-sync does not read ReferenceGrants, so it cannot tell whether namespace %s allows this route's reference", *br.Namespace)
			continue
		}
		if used >= 0 {
			deg.add(bf, "is not used: cloudflared sends a rule to one origin, and backendRefs[%d] serves it (cloudflare-operator wrote a rule per backendRef, of which cloudflared used one)", used)
			continue
		}
		if len(br.Filters) > 0 {
			deg.add(bf+".filters", "are ignored, as cloudflare-operator ignores them: cloudflared cannot modify requests or responses")
		}
		if br.Name == "" {
			ps.add(bf+".name", "is required")
			continue
		}
		port := int32(80)
		if br.Port != nil {
			port = *br.Port
		}
		s, ok := l.Service(ns, string(br.Name))
		if !ok || s == nil {
			ps.add(bf+".name", "Service %s/%s not found", ns, br.Name)
			continue
		}
		scheme := "http"
		for _, sp := range s.Spec.Ports {
			if sp.Port == port {
				scheme = portNumberScheme(port)
				break
			}
		}
		svc, used = serviceURL(scheme, ns, string(br.Name), port), k
	}
	return svc
}
