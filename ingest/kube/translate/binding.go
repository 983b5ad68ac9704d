package translate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// bindingProtocols are the subject protocols the cloudflare-operators take
// as written; any other value falls back to the port's default.
var bindingProtocols = []string{"http", "https", "rdp", "smb", "ssh", "tcp", "udp"}

// TunnelBinding translates a TunnelBinding of either group (the tunnel it
// names is of the same group) as the cloudflare-operators do: one rule per
// subject, its hostname spec.fqdn or <service>.<tunnel's domain>, its
// service spec.target or <protocol>://<service>.<namespace>.svc:<first
// port>, and a proxied CNAME per hostname unless
// tunnelRef.disableDNSUpdates. The operators' CNAMEs (with their
// _managed.<hostname> TXT records) are taken over without a write.
func TunnelBinding(group string, tb *v1alpha2.TunnelBinding, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&tb.ObjectMeta)}
	ref := ObjectRef{Group: group, Kind: tb.TunnelRef.Kind, Namespace: tb.Namespace, Name: tb.TunnelRef.Name}
	t := resolveTunnel(l, o, ref, "tunnelRef", &ps)
	if t == nil {
		return b.result(ps)
	}
	rs := newRuleSet(t, !tb.TunnelRef.DisableDNSUpdates)
	rs.takeOver = func(string) *api.DNSTakeOver { return &api.DNSTakeOver{Registry: api.DNSRegistryCfargotunnel} }
	var services []any
	for i, s := range tb.Subjects {
		sf := fmt.Sprintf("subjects[%d]", i)
		sp := s.Spec
		host := normHost(sp.Fqdn)
		hostField := sf + ".spec.fqdn"
		if host == "" {
			if t.zone == "" {
				ps.add(hostField, "is required: %s has no spec.cloudflare.domain to name %s.<domain> after", t, s.Name)
				continue
			}
			host = normHost(s.Name) + "." + t.zone
			hostField = sf + ".name"
		}
		okHost := rs.checkHost(host, hostField, &ps)

		// The operators look the Service up even with a target (it only
		// goes into the status then), so a missing one matters only
		// without a target.
		derived := bindingService(l, tb.Namespace, s.Name, sp.Protocol, sf, sp.Target == "", &ps)
		svc := sp.Target
		if svc == "" {
			svc = derived
		}
		if derived == "" {
			derived = "http_status:404"
		}
		services = append(services, map[string]any{"hostname": host, "target": derived})
		path := sp.Path
		okPath := true
		if path != "" {
			if reason := checkRegex(path); reason != "" {
				ps.add(sf+".spec.path", "%s", reason)
				okPath = false
			}
		}
		// The operators write noTLSVerify and http2Origin into every
		// rule, false included: a rule's false overrides a tunnel-wide
		// noTlsVerify, and conflux-sync keeps that meaning.
		or := &api.OriginRequest{NoTLSVerify: ptr(sp.NoTLSVerify), HTTP2Origin: ptr(sp.HTTP2Origin)}
		if sp.CAPool != "" {
			if p, reason := caPool(sp.CAPool); reason != "" {
				ps.add(sf+".spec.caPool", "%s", reason)
			} else {
				or.CAPool = &p
			}
		}
		if a := sp.ProxyAddress; a != "" && a != defaultProxyAddress {
			or.ProxyAddress = &a
		}
		if sp.ProxyPort != 0 {
			or.ProxyPort = ptr(int64(sp.ProxyPort))
		}
		or.ProxyType = nonEmpty(sp.ProxyType)
		if !okHost || !okPath || svc == "" {
			continue
		}
		rs.add(api.TunnelRule{Hostname: host, Path: path, Service: svc, OriginRequest: or}, sf, &ps)
	}
	r := rs.result(b, ps)
	hostnames := make([]string, 0, len(services))
	for _, s := range services {
		hostnames = append(hostnames, s.(map[string]any)["hostname"].(string))
	}
	r.Status = map[string]any{"hostnames": strings.Join(hostnames, ","), "services": services}
	return r
}

// defaultProxyAddress is cloudflared's (and the operators' CRD default).
const defaultProxyAddress = "127.0.0.1"

// bindingService is the operators' origin of a subject: the Service's first
// port, the scheme spec.protocol when it is one they know, else from the
// port (ssh 22, smb 139 and 445, https 443, rdp 3389, udp for a UDP
// port, else http). "" when the Service is missing (a problem when
// required).
func bindingService(l Lookup, ns, name, protocol, sf string, required bool, ps *problems) string {
	svc, ok := l.Service(ns, name)
	if !ok || svc == nil {
		if required {
			ps.add(sf+".name", "Service %s/%s not found", ns, name)
		}
		return ""
	}
	if len(svc.Spec.Ports) == 0 {
		if required {
			ps.add(sf+".name", "Service %s/%s has no ports", ns, name)
		}
		return ""
	}
	p := svc.Spec.Ports[0]
	if !slices.Contains(bindingProtocols, protocol) {
		protocol = portProtocol(p)
	}
	return serviceURL(protocol, ns, name, p.Port)
}

// portProtocol is the operators' default scheme of a Service port.
func portProtocol(p corev1.ServicePort) string {
	if p.Protocol == corev1.ProtocolUDP {
		return "udp"
	}
	switch p.Port {
	case 22:
		return "ssh"
	case 139, 445:
		return "smb"
	case 443:
		return "https"
	case 3389:
		return "rdp"
	}
	return "http"
}
