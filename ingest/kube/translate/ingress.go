package translate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// Annotations of Ingresses and IngressClasses read here.
const (
	LegacyIngressClassAnnotation  = "kubernetes.io/ingress.class"
	DefaultIngressClassAnnotation = "ingressclass.kubernetes.io/is-default-class"
)

// IngressClassFor returns the IngressClass an Ingress belongs to: the one
// named by spec.ingressClassName, else by the legacy annotation, else the
// default class (the newest, then first by name, if several). nil if none.
func IngressClassFor(ing *networkingv1.Ingress, l Lookup) *networkingv1.IngressClass {
	name := ""
	if ing.Spec.IngressClassName != nil {
		name = *ing.Spec.IngressClassName
	} else if v, ok := ing.Annotations[LegacyIngressClassAnnotation]; ok {
		name = v
	}
	if name != "" {
		if c, ok := l.IngressClass(name); ok {
			return c
		}
		return nil
	}
	var def *networkingv1.IngressClass
	for _, c := range l.IngressClasses() {
		if c == nil || c.Annotations[DefaultIngressClassAnnotation] != "true" {
			continue
		}
		if def == nil || c.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			(c.CreationTimestamp.Equal(&def.CreationTimestamp) && c.Name < def.Name) {
			def = c
		}
	}
	return def
}

// Ingress translates an Ingress of an IngressClass whose spec.controller
// is one of Options.IngressControllers, in that controller's dialect;
// others are not managed.
func Ingress(ing *networkingv1.Ingress, l Lookup, o Options) Result {
	class := IngressClassFor(ing, l)
	if class == nil {
		return Result{}
	}
	d, ok := o.ingressDialect(class.Spec.Controller)
	if !ok {
		return Result{}
	}
	var r Result
	switch d {
	case DialectConflux:
		r = ingressConflux(ing, class, l, o)
	case DialectCloudflareOperator:
		r = ingressCloudflareOperator(ing, class, l, o)
	case DialectSTRRL:
		r = ingressSTRRL(ing, class, l, o)
	default:
		var ps problems
		ps.add("spec.ingressClassName", "IngressClass %s's controller %s is configured with the dialect %q, which conflux-sync does not know (known: %s)", class.Name, class.Spec.Controller, d, dialectNames())
		r = (&builder{}).result(ps)
	}
	if r.Managed {
		r.Dialect = d
	}
	return r
}

func dialectNames() string {
	names := make([]string, len(Dialects))
	for i, d := range Dialects {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// ingressConflux is conflux-sync's own dialect: the class's parameters
// name the tunnel, paths keep the Kubernetes semantics, the
// cloudflare.com/ annotations apply.
func ingressConflux(ing *networkingv1.Ingress, class *networkingv1.IngressClass, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&ing.ObjectMeta)}
	ann := parseAnnotations(ing.Annotations, &ps)
	deg := foreignAnnotations(ing.Annotations, STRRLAnnotationPrefix, "is STRRL's controller's annotation: IngressClass "+class.Name+" is conflux-sync's, which reads the cloudflare.com/ annotations; ignored")

	t := ingressClassTunnel(class, l, o, &ps)
	if ing.Spec.DefaultBackend != nil {
		ps.add("spec.defaultBackend", "is not supported: requests no rule matches go to the tunnel's catch-all, its spec.fallbackTarget")
	}
	if t == nil {
		r := b.result(ps)
		r.Degraded = deg
		return r
	}
	rs := newRuleSet(t, !ann.disableDNS)
	rs.unproxied = ann.dnsProxied != nil && !*ann.dnsProxied
	for i, ir := range ing.Spec.Rules {
		rf := fmt.Sprintf("spec.rules[%d]", i)
		host := normHost(ir.Host)
		if host == "" {
			ps.add(rf+".host", "is required: cloudflared routes by hostname (the tunnel's catch-all is its spec.fallbackTarget)")
			continue
		}
		if !rs.checkHost(host, rf+".host", &ps) {
			continue
		}
		if ir.HTTP == nil || len(ir.HTTP.Paths) == 0 {
			ps.add(rf+".http.paths", "is required: at least one path with a backend")
			continue
		}
		for j, p := range ir.HTTP.Paths {
			pf := fmt.Sprintf("%s.http.paths[%d]", rf, j)
			path, ok := ingressPath(p, pf, &ps)
			svc := ingressBackend(p.Backend, ing.Namespace, ann, pf+".backend", l, &ps)
			if !ok || svc == "" {
				continue
			}
			rs.add(api.TunnelRule{Hostname: host, Path: path, Service: svc, OriginRequest: cloneOrigin(ann.origin)}, pf, &ps)
		}
	}
	r := rs.result(b, ps)
	r.Degraded = deg
	return r
}

// ingressClassTunnel resolves the tunnel named by an IngressClass's parameters.
func ingressClassTunnel(c *networkingv1.IngressClass, l Lookup, o Options, ps *problems) *tunnelInfo {
	const field = "spec.ingressClassName"
	p := c.Spec.Parameters
	want := fmt.Sprintf("IngressClass %s needs spec.parameters {apiGroup: %s (or %s), kind: Tunnel or ClusterTunnel, name}", c.Name, Group, GroupCfargotunnel)
	if p == nil {
		ps.add(field, "%s", want)
		return nil
	}
	if why := classParamsProblem("apiGroup", ptrValue(p.APIGroup), p.Kind, p.Name); why != "" {
		ps.add(field, "%s; %s", want, why)
		return nil
	}
	ns := ""
	if p.Kind == v1alpha2.KindTunnel {
		if p.Scope == nil || *p.Scope != networkingv1.IngressClassParametersReferenceScopeNamespace || p.Namespace == nil || *p.Namespace == "" {
			ps.add(field, "IngressClass %s names a Tunnel: its spec.parameters need scope: Namespace and the Tunnel's namespace", c.Name)
			return nil
		}
		ns = *p.Namespace
	} else if p.Scope != nil && *p.Scope != networkingv1.IngressClassParametersReferenceScopeCluster {
		ps.add(field, "IngressClass %s names a ClusterTunnel: its spec.parameters scope must be Cluster", c.Name)
		return nil
	}
	var tps problems
	t := resolveTunnel(l, o, ObjectRef{Group: ptrValue(p.APIGroup), Kind: p.Kind, Namespace: ns, Name: p.Name}, field, &tps)
	for _, tp := range tps {
		ps.add(tp.Field, "IngressClass %s: %s", c.Name, tp.Reason)
	}
	return t
}

// ingressPath converts an Ingress path to cloudflared's path regex.
func ingressPath(p networkingv1.HTTPIngressPath, field string, ps *problems) (string, bool) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	switch pt {
	case networkingv1.PathTypeExact:
		return exactPath(p.Path), true
	case networkingv1.PathTypePrefix:
		return prefixPath(p.Path), true
	case networkingv1.PathTypeImplementationSpecific:
		if reason := checkRegex(p.Path); reason != "" {
			ps.add(field+".path", "%s (pathType ImplementationSpecific is cloudflared's regular expression)", reason)
			return "", false
		}
		return p.Path, true
	default:
		ps.add(field+".pathType", "must be Exact, Prefix or ImplementationSpecific, not %q", pt)
		return "", false
	}
}

// ingressBackend resolves an Ingress backend to an origin URL ("" on a
// problem): the scheme is the protocol annotations', else the Service
// port's (portScheme).
func ingressBackend(be networkingv1.IngressBackend, ns string, ann annotations, field string, l Lookup, ps *problems) string {
	if be.Resource != nil {
		ps.add(field+".resource", "is not supported: cloudflared proxies to Services")
		return ""
	}
	if be.Service == nil || be.Service.Name == "" {
		ps.add(field+".service", "is required")
		return ""
	}
	s := be.Service
	_, sp := lookupServicePort(l, ns, s.Name, s.Port.Number, s.Port.Name, field+".service.name", field+".service.port", ps)
	if sp == nil {
		return ""
	}
	scheme := ann.protocolFor(sp.Port)
	if scheme == "" {
		scheme = portScheme(sp)
	}
	return serviceURL(scheme, ns, s.Name, sp.Port)
}

// lookupServicePort finds the Service port a backend names (by number, or
// by name when number is 0); nil (and a problem on nameField or
// portField) when there is none.
func lookupServicePort(l Lookup, ns, name string, number int32, portName, nameField, portField string, ps *problems) (*corev1.Service, *corev1.ServicePort) {
	svc, ok := l.Service(ns, name)
	if !ok || svc == nil {
		ps.add(nameField, "Service %s/%s not found", ns, name)
		return nil, nil
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (number != 0 && p.Port == number) || (number == 0 && portName != "" && p.Name == portName) {
			return svc, p
		}
	}
	switch {
	case number != 0:
		ps.add(portField, "Service %s/%s has no port %d", ns, name, number)
	case portName != "":
		ps.add(portField, "Service %s/%s has no port named %s", ns, name, portName)
	default:
		ps.add(portField, "is required: a port number or name of Service %s/%s", ns, name)
	}
	return svc, nil
}

// sortedUnique sorts and deduplicates in place.
func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
