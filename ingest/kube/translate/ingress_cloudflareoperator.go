package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// The kinds of cloudflare-operator's class parameters.
const (
	KindTunnelIngressClassConfig = "TunnelIngressClassConfig"
	KindTunnelGatewayClassConfig = "TunnelGatewayClassConfig"
)

// DNSManagementManual is the class configs' dnsManagement that makes no
// DNS records (Automatic and DNSRecord both make them).
const DNSManagementManual = "Manual"

// classConfig is a resolved TunnelIngressClassConfig or TunnelGatewayClassConfig.
type classConfig struct {
	kind, namespace, name string
	spec                  *v1alpha2.ClassConfigSpec
}

func (c *classConfig) String() string { return c.kind + " " + c.namespace + "/" + c.name }

// dns reports whether the config asks for DNS records, and proxied ones.
func (c *classConfig) dns() (on, proxied bool) {
	return c.spec.DNSManagement != DNSManagementManual, c.spec.DNSProxied == nil || *c.spec.DNSProxied
}

// tunnel resolves the config's tunnelRef (a Tunnel's namespace defaults to
// the config's; the group is cloudflare-operator's); problems go on field,
// prefixed with who names the config.
func (c *classConfig) tunnel(l Lookup, o Options, field, prefix string, ps *problems) *tunnelInfo {
	tr := c.spec.TunnelRef
	ref := ObjectRef{Group: GroupCloudflareOperator, Kind: tr.Kind, Name: tr.Name}
	if tr.Kind == v1alpha2.KindTunnel {
		ref.Namespace = tr.Namespace
		if ref.Namespace == "" {
			ref.Namespace = c.namespace
		}
	}
	var tps problems
	t := resolveTunnel(l, o, ref, field, &tps)
	for _, tp := range tps {
		ps.add(tp.Field, "%s%s: spec.tunnelRef: %s", prefix, c, tp.Reason)
	}
	return t
}

// origin converts the config's defaultOriginRequest. cloudflare-operator's
// noTlsVerify and http2Origin are plain booleans (false when not written),
// so with a defaultOriginRequest they are always set.
func (c *classConfig) origin(field, prefix string, ps *problems) *api.OriginRequest {
	in := c.spec.DefaultOriginRequest
	if in == nil {
		return nil
	}
	var ops problems
	out := convertOriginRequest(in, "spec.defaultOriginRequest", &ops)
	for _, p := range ops {
		ps.add(field, "%s%s: %s", prefix, c, p)
	}
	if out == nil {
		out = &api.OriginRequest{}
	}
	if out.NoTLSVerify == nil {
		out.NoTLSVerify = ptr(false)
	}
	if out.HTTP2Origin == nil {
		out.HTTP2Origin = ptr(false)
	}
	return out
}

// spellOutFalse sets the booleans cloudflare-operator's tunnel
// configuration writer always sends with a rule's originRequest (false
// when unset): a rule's explicit false overrides a tunnel-wide true, so
// they are part of what the rule means.
func spellOutFalse(o *api.OriginRequest) {
	for _, b := range []**bool{&o.NoTLSVerify, &o.DisableChunkedEncoding, &o.BastionMode, &o.HTTP2Origin, &o.NoHappyEyeballs} {
		if *b == nil {
			*b = ptr(false)
		}
	}
}

// generatedTakeOver returns the takeover evidence of the records
// cloudflare-operator made through one DNSRecord object per hostname:
// their status.recordId, by hostname.
func generatedTakeOver(ids map[string]string) func(string) *api.DNSTakeOver {
	byHost := make(map[string]string, len(ids))
	for h, id := range ids {
		if id != "" {
			byHost[normHost(h)] = id
		}
	}
	return func(host string) *api.DNSTakeOver {
		if id, ok := byHost[host]; ok {
			return &api.DNSTakeOver{RecordIDs: []string{id}}
		}
		return nil
	}
}

// domainZones finds the zone of a hostname among the CloudflareDomains:
// the longest one it is in; "" when none.
func domainZones(l Lookup) func(string) string {
	domains := l.CloudflareDomains()
	return func(host string) string {
		best := ""
		for _, d := range domains {
			z := normHost(d.Domain)
			if z != "" && (host == z || strings.HasSuffix(host, "."+z)) && len(z) > len(best) {
				best = z
			}
		}
		return best
	}
}

// ingressClassConfig resolves a cloudflare-operator IngressClass's
// parameters, a TunnelIngressClassConfig (its namespace defaults to
// conflux-sync's; scope is ignored, as cloudflare-operator ignores it).
func ingressClassConfig(c *networkingv1.IngressClass, l Lookup, o Options, ps *problems) *classConfig {
	const field = "spec.ingressClassName"
	p := c.Spec.Parameters
	want := fmt.Sprintf("IngressClass %s needs spec.parameters {apiGroup: %s, kind: %s, name, namespace (default %q)}", c.Name, GroupCloudflareOperator, KindTunnelIngressClassConfig, o.Namespace)
	var why string
	switch {
	case p == nil:
	case ptrValue(p.APIGroup) != GroupCloudflareOperator:
		why = fmt.Sprintf("its apiGroup is %q", ptrValue(p.APIGroup))
	case p.Kind != KindTunnelIngressClassConfig:
		why = fmt.Sprintf("its kind is %q", p.Kind)
	case p.Name == "":
		why = "its name is empty"
	}
	if p == nil || why != "" {
		if why != "" {
			want += "; " + why
		}
		ps.add(field, "%s", want)
		return nil
	}
	ns := ptrValue(p.Namespace)
	if ns == "" {
		ns = o.Namespace
	}
	if ns == "" {
		ps.add(field, "IngressClass %s: its spec.parameters name no namespace, and conflux-sync has no namespace configured to default it to", c.Name)
		return nil
	}
	spec, ok := l.ClassConfig(KindTunnelIngressClassConfig, ns, p.Name)
	if !ok || spec == nil {
		ps.add(field, "IngressClass %s: %s %s/%s not found", c.Name, KindTunnelIngressClassConfig, ns, p.Name)
		return nil
	}
	return &classConfig{kind: KindTunnelIngressClassConfig, namespace: ns, name: p.Name, spec: spec}
}

// ingressCloudflareOperator is StringKe/cloudflare-operator's dialect: the
// class's TunnelIngressClassConfig names the tunnel and the defaults,
// protocols are detected in its seven levels, paths converted as it
// converts them, and the records of the DNSRecord objects it generated
// are taken over.
//
// The one deliberate difference: cloudflare-operator parses every
// origin-request annotation and defaultOriginRequest field but passes only
// noTLSVerify, http2Origin and the proxy settings on to Cloudflare;
// conflux-sync applies them all, as the user asked. An Ingress using none
// of the others gets the rules cloudflare-operator wrote.
func ingressCloudflareOperator(ing *networkingv1.Ingress, class *networkingv1.IngressClass, l Lookup, o Options) Result {
	var ps, deg problems
	b := &builder{gen: generation(&ing.ObjectMeta)}
	cfg := ingressClassConfig(class, l, o, &ps)
	if cfg != nil && len(cfg.spec.WatchNamespaces) > 0 && !slices.Contains(cfg.spec.WatchNamespaces, ing.Namespace) {
		return Result{}
	}
	ann := parseAnnotations(ing.Annotations, &ps)
	deg = append(deg, foreignAnnotations(ing.Annotations, STRRLAnnotationPrefix, "is STRRL's controller's annotation: IngressClass "+class.Name+" is cloudflare-operator's, which reads the cloudflare.com/ annotations; ignored")...)
	if ing.Spec.DefaultBackend != nil {
		deg.add("spec.defaultBackend", "is ignored, as cloudflare-operator ignores it: requests no rule matches go to the tunnel's catch-all, its spec.fallbackTarget")
	}
	var t *tunnelInfo
	var base *api.OriginRequest
	if cfg != nil {
		prefix := "IngressClass " + class.Name + ": "
		t = cfg.tunnel(l, o, "spec.ingressClassName", prefix, &ps)
		base = cfg.origin("spec.ingressClassName", prefix, &ps)
	}
	if t == nil {
		r := b.result(ps)
		r.Degraded = deg
		return r
	}
	dns, proxied := cfg.dns()
	if ann.dnsProxied != nil {
		proxied = *ann.dnsProxied
	}
	rs := newRuleSet(t, dns && !ann.disableDNS)
	rs.unproxied = !proxied
	rs.takeOver = generatedTakeOver(l.GeneratedRecordIDs(SourceIngress, ing.Namespace, ing.Name))
	origin := operatorIngressOrigin(base, ann.origin)

	for i, ir := range ing.Spec.Rules {
		rf := fmt.Sprintf("spec.rules[%d]", i)
		host := normHost(ir.Host)
		if host == "" {
			deg.add(rf+".host", "is empty: the rule is skipped, as cloudflare-operator skips it (cloudflared routes by hostname; the tunnel's catch-all is its spec.fallbackTarget)")
			continue
		}
		if !rs.checkHost(host, rf+".host", &ps) {
			continue
		}
		if ir.HTTP == nil || len(ir.HTTP.Paths) == 0 {
			deg.add(rf+".http", "has no paths: as cloudflare-operator, conflux-sync makes the DNS record of %s but no tunnel rule", host)
			rs.dnsOnly[host] = true
			continue
		}
		for j, p := range ir.HTTP.Paths {
			pf := fmt.Sprintf("%s.http.paths[%d]", rf, j)
			path, ok := operatorIngressPath(p, pf, &ps)
			svc := operatorIngressBackend(p.Backend, ing.Namespace, ann, cfg, pf+".backend", l, &ps, &deg)
			if !ok || svc == "" {
				continue
			}
			rs.add(api.TunnelRule{Hostname: host, Path: path, Service: svc, OriginRequest: cloneOrigin(origin)}, pf, &ps)
		}
	}
	// cloudflare-operator also makes records for the TLS hosts.
	for i, tls := range ing.Spec.TLS {
		for j, h := range tls.Hosts {
			host := normHost(h)
			if host == "" || rs.hosts[host] {
				continue
			}
			if rs.dns && rs.zoneOf(host) == "" {
				deg.add(fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j), "%s is not in zone %s of %s: no DNS record is made for it", host, t.zone, t)
				continue
			}
			rs.dnsOnly[host] = true
		}
	}
	r := rs.result(b, ps)
	r.Degraded = deg
	return r
}

// operatorIngressOrigin is a rule's originRequest: the config's defaults
// overridden field by field by the annotations. When cloudflare-operator
// would have sent one (noTLSVerify, http2Origin or a proxy setting is set),
// the booleans it always sends with it are spelled out.
func operatorIngressOrigin(base, ann *api.OriginRequest) *api.OriginRequest {
	o := overlayOrigin(base, ann)
	if o == nil {
		return nil
	}
	if o.NoTLSVerify != nil || o.HTTP2Origin != nil || o.ProxyAddress != nil || o.ProxyPort != nil || o.ProxyType != nil {
		spellOutFalse(o)
	}
	return o
}

// operatorIngressPath converts an Ingress path as cloudflare-operator
// does: "" and "/" match everything; Exact p is "^p$"; Prefix (also when
// pathType is unset) and ImplementationSpecific p is "p.*" when p ends in
// "/", else "p(/.*)?$". Neither anchored at the start nor escaped: p is a
// regular expression, as cloudflare-operator wrote it.
func operatorIngressPath(p networkingv1.HTTPIngressPath, field string, ps *problems) (string, bool) {
	path := p.Path
	if path == "" || path == "/" {
		return "", true
	}
	pt := networkingv1.PathTypePrefix
	if p.PathType != nil {
		pt = *p.PathType
	}
	var re string
	switch pt {
	case networkingv1.PathTypeExact:
		re = "^" + path + "$"
	case networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
		re = operatorPrefix(path)
	default:
		ps.add(field+".pathType", "must be Exact, Prefix or ImplementationSpecific, not %q", pt)
		return "", false
	}
	if reason := checkRegex(re); reason != "" {
		ps.add(field+".path", "becomes %q, which %s", re, reason)
		return "", false
	}
	return re, true
}

// operatorPrefix is cloudflare-operator's prefix match of a path other
// than "" and "/".
func operatorPrefix(path string) string {
	if strings.HasSuffix(path, "/") {
		return path + ".*"
	}
	return path + "(/.*)?$"
}

// operatorIngressBackend resolves a backend as cloudflare-operator does
// ("" on a problem): a resource backend is answered with 503; a Service's
// port is the number as written, the named port's port, or the first
// port; the scheme is detected by operatorScheme.
func operatorIngressBackend(be networkingv1.IngressBackend, ns string, ann annotations, cfg *classConfig, field string, l Lookup, ps, deg *problems) string {
	if be.Service == nil {
		deg.add(field+".resource", "is not a Service: the path is answered with http_status:503, as cloudflare-operator answers it")
		return "http_status:503"
	}
	s := be.Service
	if s.Name == "" {
		ps.add(field+".service.name", "is required")
		return ""
	}
	svc, ok := l.Service(ns, s.Name)
	if !ok || svc == nil {
		ps.add(field+".service.name", "Service %s/%s not found", ns, s.Name)
		return ""
	}
	port := s.Port.Number
	var sp *corev1.ServicePort
	switch {
	case port != 0:
		// Used as written, even when the Service does not list it.
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].Port == port {
				sp = &svc.Spec.Ports[i]
				break
			}
		}
	case s.Port.Name != "":
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].Name == s.Port.Name {
				sp = &svc.Spec.Ports[i]
				break
			}
		}
		if sp == nil {
			ps.add(field+".service.port", "Service %s/%s has no port named %s", ns, s.Name, s.Port.Name)
			return ""
		}
		port = sp.Port
	case len(svc.Spec.Ports) > 0:
		sp = &svc.Spec.Ports[0]
		port = sp.Port
	default:
		ps.add(field+".service.port", "is required: Service %s/%s lists no ports", ns, s.Name)
		return ""
	}
	scheme, from := operatorScheme(ann, svc, sp, port, cfg)
	url := serviceURL(scheme, ns, s.Name, port)
	switch reason := api.CheckRuleService(url); {
	case scheme == "h2mux":
		deg.add(field+".service", "%s asks for h2c (HTTP/2 without TLS): cloudflare-operator wrote the scheme h2mux, which cloudflared does not serve as HTTP (it would proxy a raw TCP stream); conflux-sync uses http (cloudflared speaks HTTP/2 to an origin only over TLS: https with %s%s)", from, AnnotationPrefix, AnnotationHTTP2Origin)
		url = serviceURL("http", ns, s.Name, port)
	case reason != "":
		deg.add(field+".service", "%s gives the scheme %q, which cloudflared refuses (%s); conflux-sync uses http", from, scheme, reason)
		url = serviceURL("http", ns, s.Name, port)
	}
	return url
}

// operatorScheme is cloudflare-operator's protocol detection, first that
// says wins: the Ingress's cloudflare.com/protocol, its
// cloudflare.com/protocol-<port>, the Service's cloudflare.com/protocol,
// the port's appProtocol, the port's name, the config's defaultProtocol,
// the port number. It returns the scheme and where it came from.
func operatorScheme(ann annotations, svc *corev1.Service, sp *corev1.ServicePort, port int32, cfg *classConfig) (string, string) {
	if s := ann.protocolFor(port); s != "" {
		return s, "the Ingress's protocol annotation"
	}
	if s := svc.Annotations[AnnotationPrefix+AnnotationProtocol]; s != "" {
		return s, fmt.Sprintf("Service %s/%s's %s%s annotation", svc.Namespace, svc.Name, AnnotationPrefix, AnnotationProtocol)
	}
	if sp != nil && sp.AppProtocol != nil && *sp.AppProtocol != "" {
		return appProtocolScheme(*sp.AppProtocol), fmt.Sprintf("the appProtocol %s of Service %s/%s's port %d", *sp.AppProtocol, svc.Namespace, svc.Name, sp.Port)
	}
	if sp != nil {
		if s := portNameScheme(sp.Name); s != "" {
			return s, fmt.Sprintf("the name %s of Service %s/%s's port %d", sp.Name, svc.Namespace, svc.Name, sp.Port)
		}
	}
	if cfg.spec.DefaultProtocol != "" {
		return cfg.spec.DefaultProtocol, "the defaultProtocol of " + cfg.String()
	}
	return portNumberScheme(port), "port " + strconv.Itoa(int(port))
}

// appProtocolScheme maps a Service port's appProtocol as cloudflare-operator does.
func appProtocolScheme(p string) string {
	switch p {
	case "kubernetes.io/h2c", "h2c":
		return "h2mux"
	case "kubernetes.io/ws", "ws":
		return "ws"
	case "kubernetes.io/wss", "wss":
		return "wss"
	case "http", "HTTP", "grpc", "GRPC":
		return "http"
	case "https", "HTTPS":
		return "https"
	case "tcp", "TCP":
		return "tcp"
	case "udp", "UDP":
		return "udp"
	}
	return p
}

// portNameScheme maps a Service port's name as cloudflare-operator does;
// "" for a name it does not know.
func portNameScheme(name string) string {
	switch name {
	case "http", "http-web", "http-api", "web", "grpc", "grpc-web":
		return "http"
	case "https", "https-web", "https-api", "secure":
		return "https"
	case "h2c", "http2":
		return "h2mux"
	case "ws", "websocket":
		return "ws"
	case "wss", "websocket-secure":
		return "wss"
	case "ssh", "rdp", "smb", "tcp", "udp":
		return name
	}
	return ""
}

// portNumberScheme is cloudflare-operator's scheme of a port number.
func portNumberScheme(port int32) string {
	switch port {
	case 443:
		return "https"
	case 22:
		return "ssh"
	case 3389:
		return "rdp"
	case 139, 445:
		return "smb"
	}
	return "http"
}
