package translate

import (
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// TunnelBinding translates a TunnelBinding: one rule per subject, and their
// CNAMEs unless tunnelRef.disableDNSUpdates.
func TunnelBinding(tb *v1alpha2.TunnelBinding, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&tb.ObjectMeta)}
	t := resolveTunnel(l, o, tb.TunnelRef.Kind, tb.Namespace, tb.TunnelRef.Name, "tunnelRef", &ps)
	if t == nil {
		return b.result(ps)
	}
	rs := newRuleSet(t, !tb.TunnelRef.DisableDNSUpdates)
	for i, s := range tb.Subjects {
		sf := fmt.Sprintf("subjects[%d]", i)
		if s.Kind != "" && s.Kind != "Service" {
			ps.add(sf+".kind", "must be Service, not %q", s.Kind)
			continue
		}
		sp := s.Spec
		host := normHost(sp.Fqdn)
		hostField := sf + ".spec.fqdn"
		if host == "" {
			if t.zone == "" {
				ps.add(hostField, "is required: %s has no spec.cloudflare.domain to name %s.<domain> after", t, s.Name)
				continue
			}
			host = s.Name + "." + t.zone
			hostField = sf + ".name"
		}
		okHost := rs.checkHost(host, hostField, &ps)

		svc := sp.Target
		if svc == "" {
			svc = bindingService(l, tb.Namespace, s.Name, sp.Protocol, sf, &ps)
		}
		path := sp.Path
		okPath := true
		if path != "" {
			if reason := checkRegex(path); reason != "" {
				ps.add(sf+".spec.path", "%s", reason)
				okPath = false
			}
		}
		or := &api.OriginRequest{}
		if sp.NoTLSVerify {
			or.NoTLSVerify = ptr(true)
		}
		if sp.HTTP2Origin {
			or.HTTP2Origin = ptr(true)
		}
		if sp.CAPool != "" {
			if reason := checkSecretName(sp.CAPool); reason != "" {
				ps.add(sf+".spec.caPool", "%s", reason)
			} else {
				or.CAPool = ptr(CAPoolPath(sp.CAPool))
			}
		}
		or.ProxyAddress = nonEmpty(sp.ProxyAddress)
		if sp.ProxyPort != 0 {
			or.ProxyPort = ptr(int64(sp.ProxyPort))
		}
		or.ProxyType = nonEmpty(sp.ProxyType)
		if !okHost || !okPath || svc == "" {
			continue
		}
		rs.add(api.TunnelRule{Hostname: host, Path: path, Service: svc, OriginRequest: orNil(or)}, sf, &ps)
	}
	return rs.result(b, ps)
}

// bindingService is the operator's rule: the Service's first port, scheme
// from spec.protocol, else https for 443, else http.
func bindingService(l Lookup, ns, name, protocol, sf string, ps *problems) string {
	svc, ok := l.Service(ns, name)
	if !ok || svc == nil {
		ps.add(sf+".name", "Service %s/%s not found", ns, name)
		return ""
	}
	if len(svc.Spec.Ports) == 0 {
		ps.add(sf+".name", "Service %s/%s has no ports", ns, name)
		return ""
	}
	port := svc.Spec.Ports[0].Port
	if protocol == "" {
		protocol = "http"
		if port == 443 {
			protocol = "https"
		}
	}
	return serviceURL(protocol, ns, name, port)
}
