package translate

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// DNSRecord translates a DNSRecord: one record in the zone
// spec.cloudflare.domain, else the zone of its tunnelRef's tunnel.
func DNSRecord(r *v1alpha2.DNSRecord, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&r.ObjectMeta)}
	s := &r.Spec

	var t *tunnelInfo
	if s.TunnelRef != nil {
		ns := r.Namespace
		if s.TunnelRef.Namespace != "" {
			ns = s.TunnelRef.Namespace
		}
		t = resolveTunnel(l, o, s.TunnelRef.Kind, ns, s.TunnelRef.Name, "spec.tunnelRef", &ps)
		if t == nil {
			return b.result(ps)
		}
	}

	var (
		zone    string
		account string
		creds   *api.SecretRef
	)
	if cf := s.Cloudflare; cf != nil && (cf.Secret != "" || cf.CredentialsRef != nil || t == nil) {
		creds = credentials(cf, r.Namespace, "spec.cloudflare", l, &ps)
	} else if t != nil {
		creds = t.creds
	}
	if s.Cloudflare != nil {
		zone = normHost(s.Cloudflare.Domain)
		account = s.Cloudflare.AccountID
	}
	if t != nil {
		if zone == "" {
			zone = t.zone
		}
		if account == "" {
			account = t.accountID
		}
	}
	if s.Cloudflare == nil && t == nil {
		ps.add("spec.cloudflare", "is required when the record has no tunnelRef: its domain is the record's zone")
	}
	if zone == "" {
		if t != nil {
			ps.add("spec.cloudflare.domain", "is required: %s has no spec.cloudflare.domain either", t)
		} else if s.Cloudflare != nil {
			ps.add("spec.cloudflare.domain", "is required: the record's zone")
		}
		return b.result(ps)
	}

	rec := api.DNSRecord{Type: strings.ToUpper(s.Type), TTL: int(s.TTL), Comment: s.Comment, Adopt: s.Adopt}
	name := normHost(s.Name)
	switch {
	case name == "" || name == "@":
		rec.Name = zone
	case !strings.Contains(name, "."):
		rec.Name = name + "." + zone
	default:
		rec.Name = name
	}
	if rec.Name != zone && !strings.HasSuffix(rec.Name, "."+zone) {
		ps.add("spec.name", "%s is not in zone %s", rec.Name, zone)
	}
	switch {
	case t != nil && s.Content != "":
		ps.add("spec.content", "give either content or tunnelRef, not both")
	case t != nil:
		if rec.Type != "CNAME" {
			ps.add("spec.type", "must be CNAME with a tunnelRef, not %s", s.Type)
		}
		rec.Tunnel = t.target
	case s.Content == "":
		ps.add("spec.content", "is required (or tunnelRef, for a CNAME)")
	default:
		rec.Content = s.Content
		switch rec.Type {
		case "A", "AAAA":
			ip, err := netip.ParseAddr(s.Content)
			if err != nil || ip.Zone() != "" || (rec.Type == "A") != ip.Is4() {
				ps.add("spec.content", "%q is not an %s address", s.Content, map[string]string{"A": "IPv4", "AAAA": "IPv6"}[rec.Type])
			}
		}
	}
	switch {
	case s.Proxied != nil:
		rec.Proxied = *s.Proxied
	case t != nil:
		// A CNAME to <id>.cfargotunnel.com only answers when proxied.
		rec.Proxied = true
	}
	if s.Priority != nil {
		rec.Priority = ptr(int(*s.Priority))
	}
	if len(s.Tags) > 0 {
		rec.Tags = sortedUnique(slices.Clone(s.Tags))
	}
	if rec.TTL != 0 && rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400) {
		ps.add("spec.ttl", "must be 1 (automatic) or between 60 and 86400 seconds")
	}
	b.add(api.KindDNSRecord, zone, api.DNSSpec{AccountID: account, Records: []api.DNSRecord{rec}, Credentials: creds})
	res := b.result(ps)
	if t != nil {
		res.Tunnel = t.target
	}
	if len(res.Problems) == 0 {
		res.Hostnames = []string{rec.Name}
	}
	return res
}

// AccessApplication translates an AccessApplication to the target
// "AccessApplication/<namespace>/<name>".
func AccessApplication(a *v1alpha2.AccessApplication, l Lookup, _ Options) Result {
	var ps problems
	b := &builder{gen: generation(&a.ObjectMeta)}
	s := &a.Spec
	spec := api.AccessApplicationSpec{
		AccountID:              s.Cloudflare.AccountID,
		Name:                   s.Name,
		Domain:                 s.Domain,
		Type:                   s.Type,
		SessionDuration:        s.SessionDuration,
		Policies:               slices.Clone(s.Policies),
		AutoRedirectToIdentity: s.AutoRedirectToIdentity,
		AppLauncherVisible:     cloneBool(s.AppLauncherVisible),
		Adopt:                  s.Adopt || s.ID != "",
		ID:                     strings.ToLower(s.ID),
	}
	if len(s.AllowedIdps) > 0 {
		spec.AllowedIdps = sortedUnique(slices.Clone(s.AllowedIdps))
	}
	if len(s.Tags) > 0 {
		spec.Tags = sortedUnique(slices.Clone(s.Tags))
	}
	for i, p := range spec.Policies {
		if j := slices.Index(spec.Policies[:i], p); j >= 0 {
			ps.add("spec.policies", "lists %s twice", p)
			break
		}
	}
	if spec.AutoRedirectToIdentity && len(spec.AllowedIdps) != 1 {
		ps.add("spec.autoRedirectToIdentity", "needs exactly one entry in spec.allowedIdps")
	}
	spec.Credentials = credentials(&s.Cloudflare, a.Namespace, "spec.cloudflare", l, &ps)
	requireAccount(&s.Cloudflare, "spec.cloudflare", &ps)
	b.add(api.KindAccessApplication, "AccessApplication/"+a.Namespace+"/"+a.Name, spec)
	res := b.result(ps)
	if len(res.Problems) == 0 {
		host, _, _ := strings.Cut(s.Domain, "/")
		res.Hostnames = []string{strings.ToLower(host)}
	}
	return res
}

// NetworkRoute translates a NetworkRoute to the target
// "NetworkRoute/<namespace>/<name>".
func NetworkRoute(r *v1alpha2.NetworkRoute, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&r.ObjectMeta)}
	s := &r.Spec
	spec := api.NetworkRouteSpec{
		Network:          s.Network,
		VirtualNetworkID: strings.ToLower(s.VirtualNetworkID),
		Comment:          s.Comment,
		Adopt:            s.Adopt,
	}
	if p, err := netip.ParsePrefix(s.Network); err != nil {
		ps.add("spec.network", "%q is not a CIDR such as 10.0.0.0/8", s.Network)
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
		ns := r.Namespace
		if s.TunnelRef.Namespace != "" {
			ns = s.TunnelRef.Namespace
		}
		t = resolveTunnel(l, o, s.TunnelRef.Kind, ns, s.TunnelRef.Name, "spec.tunnelRef", &ps)
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
	if s.VirtualNetworkID != "" && !uuidRE.MatchString(spec.VirtualNetworkID) {
		ps.add("spec.virtualNetworkId", "%q is not a virtual network id (a UUID)", s.VirtualNetworkID)
	}
	switch {
	case s.Cloudflare != nil:
		spec.AccountID = s.Cloudflare.AccountID
		spec.Credentials = credentials(s.Cloudflare, r.Namespace, "spec.cloudflare", l, &ps)
	case t != nil:
		spec.Credentials = t.creds
	case s.TunnelID != "":
		ps.add("spec.cloudflare", "is required with tunnelId: the account and the Secret holding the API token")
	}
	if spec.AccountID == "" && t != nil {
		spec.AccountID = t.accountID
	}
	if spec.AccountID == "" && s.TunnelID != "" && s.Cloudflare != nil {
		requireAccount(s.Cloudflare, "spec.cloudflare", &ps)
	}
	b.add(api.KindNetworkRoute, "NetworkRoute/"+r.Namespace+"/"+r.Name, spec)
	res := b.result(ps)
	if t != nil {
		res.Tunnel = t.target
	}
	return res
}
