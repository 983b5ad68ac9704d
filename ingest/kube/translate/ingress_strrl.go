package translate

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/conflux-sync/conflux-sync/api"
)

// ingressSTRRL is STRRL/cloudflare-tunnel-ingress-controller's dialect:
// the tunnel is Options.DefaultTunnel (STRRL's controller named its one
// tunnel in its flags), services are "<scheme>://<service>.<namespace>.svc.<cluster
// domain>:<port>", paths are written as they are (dropped for schemes
// other than http and https), the cloudflare-tunnel-ingress-controller.strrl.dev/
// annotations apply, and every hostname gets a proxied CNAME in the zone
// it is in, taken over from STRRL's _ctic_managed TXT registry.
//
// Where STRRL's controller refused an Ingress conflux-sync may accept it:
// pathType Exact is supported (as "^<path>$", the path escaped).
func ingressSTRRL(ing *networkingv1.Ingress, class *networkingv1.IngressClass, l Lookup, o Options) Result {
	var ps, deg problems
	b := &builder{gen: generation(&ing.ObjectMeta)}
	ann := parseSTRRLAnnotations(ing.Annotations, &ps)
	deg = append(deg, foreignAnnotations(ing.Annotations, AnnotationPrefix, "is not read: IngressClass "+class.Name+" is STRRL's controller's, which reads only the "+STRRLAnnotationPrefix+" annotations; ignored")...)
	deg = append(deg, ann.degraded()...)
	if len(ing.Spec.TLS) > 0 {
		deg.add("spec.tls", "is ignored, as STRRL's controller ignores it: TLS ends at Cloudflare's edge")
	}
	if ing.Spec.DefaultBackend != nil {
		deg.add("spec.defaultBackend", "is ignored, as STRRL's controller ignores it: requests no rule matches go to the tunnel's catch-all, its spec.fallbackTarget")
	}
	var t *tunnelInfo
	if o.DefaultTunnel == nil {
		ps.add("spec.ingressClassName", "IngressClass %s is STRRL's controller's, which names its tunnel in its own flags: conflux-sync's --kube-default-tunnel must name the Tunnel or ClusterTunnel standing for the tunnel STRRL's controller used", class.Name)
	} else {
		var tps problems
		t = resolveTunnel(l, o, *o.DefaultTunnel, "spec.ingressClassName", &tps)
		for _, tp := range tps {
			ps.add(tp.Field, "IngressClass %s (the default tunnel, --kube-default-tunnel): %s", class.Name, tp.Reason)
		}
	}
	if t == nil {
		r := b.result(ps)
		r.Degraded = deg
		return r
	}
	rs := newRuleSet(t, !ann.disableDNS)
	rs.zones = domainZones(l)
	rs.takeOver = func(string) *api.DNSTakeOver { return &api.DNSTakeOver{Registry: api.DNSRegistrySTRRL} }
	httpScheme := ann.scheme == "http" || ann.scheme == "https"
	origin := ann.originFor()
	// STRRL's controller wrote a rule per path, duplicates included; the
	// same rule twice is written once, the same hostname and path with
	// another service is the duplicate problem.
	written := map[[2]string]string{}

	for i, ir := range ing.Spec.Rules {
		rf := fmt.Sprintf("spec.rules[%d]", i)
		host := normHost(ir.Host)
		if host == "" {
			ps.add(rf+".host", "is required: cloudflared routes by hostname (STRRL's controller refused such an Ingress too; the tunnel's catch-all is its spec.fallbackTarget)")
			continue
		}
		if ir.HTTP == nil {
			deg.add(rf+".http", "is missing: the rule for %s is skipped, as STRRL's controller skipped it", host)
			continue
		}
		if rs.dns && rs.zoneOf(host) == "" {
			ps.add(rf+".host", "%s is in no zone conflux-sync knows: neither in zone %q of %s nor under a CloudflareDomain (STRRL's controller used every zone its API token could see: add a CloudflareDomain for the zone, or set %s%s: \"true\")", host, t.zone, t, STRRLAnnotationPrefix, STRRLAnnotationDisableDNSManagement)
			continue
		}
		for j, p := range ir.HTTP.Paths {
			pf := fmt.Sprintf("%s.http.paths[%d]", rf, j)
			svc := strrlBackend(p.Backend, ing.Namespace, ann.scheme, pf+".backend", l, o, &ps)
			path, ok := strrlPath(p, httpScheme, pf, &ps, &deg)
			if !ok || svc == "" {
				continue
			}
			k := [2]string{host, path}
			if prev, seen := written[k]; seen && prev == svc {
				continue
			}
			written[k] = svc
			rs.add(api.TunnelRule{Hostname: host, Path: path, Service: svc, OriginRequest: cloneOrigin(origin)}, pf, &ps)
		}
	}
	r := rs.result(b, ps)
	r.Degraded = deg
	return r
}

// strrlPath is a rule's path as STRRL's controller writes it: as written
// (a regular expression, unanchored) for Prefix and ImplementationSpecific;
// Exact, which it refused, as "^<path>$"; none for a service that is not
// http or https.
func strrlPath(p networkingv1.HTTPIngressPath, httpScheme bool, field string, ps, deg *problems) (string, bool) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	var path string
	switch pt {
	case networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
		path = p.Path
	case networkingv1.PathTypeExact:
		if p.Path != "" {
			path = exactPath(p.Path)
		}
	default:
		ps.add(field+".pathType", "must be Prefix, ImplementationSpecific or Exact, not %q", pt)
		return "", false
	}
	if !httpScheme {
		if p.Path != "" && p.Path != "/" {
			deg.add(field+".path", "is dropped: the backend is not http or https, and cloudflared matches paths of HTTP requests only (STRRL's controller dropped it too)")
		}
		return "", true
	}
	if reason := checkRegex(path); reason != "" {
		ps.add(field+".path", "%s (STRRL's controller wrote the path as a regular expression)", reason)
		return "", false
	}
	return path, true
}

// strrlBackend is a backend's service as STRRL's controller writes it
// ("" on a problem): the Service must exist and not be headless; an
// ExternalName Service's host is its externalName; a named port is the
// Service port's port, a port number is used as written.
func strrlBackend(be networkingv1.IngressBackend, ns, scheme, field string, l Lookup, o Options, ps *problems) string {
	if be.Service == nil || be.Service.Name == "" {
		if be.Resource != nil {
			ps.add(field+".resource", "is not supported: cloudflared proxies to Services")
		} else {
			ps.add(field+".service", "is required")
		}
		return ""
	}
	s := be.Service
	svc, ok := l.Service(ns, s.Name)
	if !ok || svc == nil {
		ps.add(field+".service.name", "Service %s/%s not found", ns, s.Name)
		return ""
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		ps.add(field+".service.name", "Service %s/%s is headless (clusterIP: None), which STRRL's controller did not support and conflux-sync does not either: cloudflared needs one address", ns, s.Name)
		return ""
	}
	host := s.Name + "." + ns + ".svc." + o.clusterDomain()
	if svc.Spec.Type == corev1.ServiceTypeExternalName && svc.Spec.ExternalName != "" {
		host = svc.Spec.ExternalName
	}
	port := s.Port.Number
	if s.Port.Name != "" {
		port = 0
		for _, sp := range svc.Spec.Ports {
			if sp.Name == s.Port.Name {
				port = sp.Port
				break
			}
		}
		if port == 0 {
			ps.add(field+".service.port", "Service %s/%s has no port named %s", ns, s.Name, s.Port.Name)
			return ""
		}
	}
	if port == 0 {
		ps.add(field+".service.port", "is required: a port number or name of Service %s/%s", ns, s.Name)
		return ""
	}
	url := scheme + "://" + host + ":" + strconv.Itoa(int(port))
	if reason := api.CheckRuleService(url); reason != "" {
		ps.add(field+".service", "%s", reason)
		return ""
	}
	return url
}
