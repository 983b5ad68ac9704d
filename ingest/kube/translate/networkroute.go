package translate

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// NetworkRouteTarget names the cloudflare.NetworkRoute target of a
// NetworkRoute: "NetworkRoute/<name>" for cloudflare-operator's
// cluster-scoped one, "NetworkRoute/<namespace>/<name>" for one of
// conflux-sync's older, namespaced CRD.
func NetworkRouteTarget(namespace, name string) string {
	if namespace == "" {
		return "NetworkRoute/" + name
	}
	return "NetworkRoute/" + namespace + "/" + name
}

// NetworkRoute translates a NetworkRoute as cloudflare-operator does: the
// network routed through the tunnel of tunnelRef (kind ClusterTunnel by
// default) or tunnelId, in the virtual network of virtualNetworkRef or
// virtualNetworkId (else the account's default): a VirtualNetwork named in
// virtualNetworkRef is its cloudflare.VirtualNetwork target, which the
// route waits for until it exists. The route
// cloudflare-operator made, marked "[managed:NetworkRoute/<name>]" in its
// comment, is taken over.
func NetworkRoute(r *v1alpha2.NetworkRoute, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&r.ObjectMeta)}
	s := &r.Spec
	spec := api.NetworkRouteSpec{
		Comment: s.Comment,
		Adopt:   s.Adopt,
	}
	// cloudflare-operator's CRD takes IPv4 networks only; the API and
	// conflux-sync take IPv6 ones too.
	if p, err := netip.ParsePrefix(strings.TrimSpace(s.Network)); err != nil || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		ps.add("spec.network", "%q is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8", s.Network)
	} else if p.Masked() != p {
		ps.add("spec.network", "%s has host bits set; the network is %s", s.Network, p.Masked())
	} else {
		spec.Network = p.String()
	}

	var t *tunnelInfo
	switch {
	case s.TunnelRef != nil && s.TunnelID != "":
		ps.add("spec.tunnelId", "give either tunnelRef or tunnelId, not both")
	case s.TunnelRef != nil:
		t = resolveTunnel(l, o, routeTunnelRef(s.TunnelRef, r.Namespace), "spec.tunnelRef", &ps)
		if t != nil {
			spec.Tunnel = t.target
		}
	case s.TunnelID != "":
		spec.TunnelID = strings.ToLower(s.TunnelID)
		if !uuidRE.MatchString(spec.TunnelID) {
			ps.add("spec.tunnelId", "%q is not a tunnel id (a UUID)", s.TunnelID)
		}
	default:
		ps.add("spec.tunnelRef", "one of tunnelRef and tunnelId is required")
	}

	spec.VirtualNetworkID, spec.VirtualNetwork = virtualNetwork(s, &ps)

	// The route's own credentials, else its tunnel's, else the default
	// CloudflareCredentials; the account likewise, the tunnel's before the
	// credentials' (a route lives in its tunnel's account).
	secretNS := r.Namespace
	if secretNS == "" {
		secretNS = o.Namespace // cloudflare-operator: cloudflare-operator-system
	}
	cf := s.Cloudflare
	var c creds
	switch {
	case cf != nil && (cf.CredentialsRef != nil || cf.Secret != ""):
		c = credentials(cf, secretNS, "spec.cloudflare", true, l, o, &ps)
	case t != nil:
		c = creds{ref: t.creds, account: t.accountID}
	default:
		c = credentials(cf, secretNS, "spec.cloudflare", true, l, o, &ps)
	}
	spec.Credentials = c.ref
	if t != nil && t.accountID != "" {
		c.account = t.accountID
	}
	if c.ref != nil || (cf != nil && cf.AccountID != "") {
		spec.AccountID = account(cf, c, "spec.cloudflare", &ps)
	}

	target := NetworkRouteTarget(r.Namespace, r.Name)
	if m := "[managed:" + target + "]"; utf8.RuneCountInString(m) <= api.MaxRouteTakeOverLen {
		// cloudflare-operator's marker; a longer one never fit a comment.
		spec.TakeOver = m
	}
	if len(ps) > 0 {
		return b.result(ps)
	}
	status := map[string]any{"network": spec.Network}
	if t != nil && t.status.TunnelName != "" {
		status["tunnelName"] = t.status.TunnelName
	}
	if spec.VirtualNetworkID != "" {
		status["virtualNetworkId"] = spec.VirtualNetworkID
	}
	b.add(api.KindNetworkRoute, target, spec)
	res := b.result(ps)
	res.Tunnel = tunnelTarget(t)
	res.Status = status
	return res
}

// routeTunnelRef is the tunnel a NetworkRoute's tunnelRef names: a
// ClusterTunnel unless kind says Tunnel; a Tunnel in tunnelRef.namespace,
// else the route's namespace (conflux-sync's older, namespaced
// NetworkRoutes), else "default", as cloudflare-operator looks it up.
func routeTunnelRef(ref *v1alpha2.TunnelRef, routeNS string) ObjectRef {
	out := ObjectRef{Group: GroupCloudflareOperator, Kind: ref.Kind, Name: ref.Name}
	if out.Kind == "" {
		out.Kind = v1alpha2.KindClusterTunnel
	}
	if out.Kind == v1alpha2.KindTunnel {
		switch {
		case ref.Namespace != "":
			out.Namespace = ref.Namespace
		case routeNS != "":
			out.Namespace = routeNS
		default:
			out.Namespace = "default"
		}
	}
	return out
}

// virtualNetwork returns a route's virtual network: its id
// (virtualNetworkId, virtualNetworkRef.cloudflareId), or the
// cloudflare.VirtualNetwork target the VirtualNetwork object
// virtualNetworkRef.name becomes (VirtualNetworkTarget), which the route
// waits for (status.dependsOn) until it is created. Both "" mean the
// account's default. cloudflare-operator honours virtualNetworkRef.name
// only, and fails on a cloudflareId; conflux-sync uses the id.
func virtualNetwork(s *v1alpha2.NetworkRouteSpec, ps *problems) (id, target string) {
	ref := s.VirtualNetworkRef
	if ref != nil && *ref == (v1alpha2.ObjectRef{}) {
		ref = nil
	}
	switch {
	case ref != nil && s.VirtualNetworkID != "":
		ps.add("spec.virtualNetworkId", "give either virtualNetworkRef or virtualNetworkId, not both")
		return "", ""
	case s.VirtualNetworkID != "":
		id = strings.ToLower(s.VirtualNetworkID)
		if !uuidRE.MatchString(id) {
			ps.add("spec.virtualNetworkId", "%q is not a virtual network id (a UUID)", s.VirtualNetworkID)
		}
		return id, ""
	case ref == nil:
		return "", ""
	case ref.CloudflareID != "":
		id = strings.ToLower(strings.TrimSpace(ref.CloudflareID))
		if !uuidRE.MatchString(id) {
			ps.add("spec.virtualNetworkRef.cloudflareId", "%q is not a virtual network id (a UUID)", ref.CloudflareID)
		}
		return id, ""
	case ref.Name != "":
		return "", VirtualNetworkTarget(ref.Name)
	}
	ps.addUnsupported("spec.virtualNetworkRef.cloudflareName", "finding the virtual network by its Cloudflare name is not supported yet: give its id as cloudflareId, or name the VirtualNetwork object")
	return "", ""
}
