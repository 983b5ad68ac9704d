package translate

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// recordTypes are the content types a DNSRecord takes (its CRD's enum has
// no PTR or OPENPGPKEY); the structured ones are crdDataTypes.
var recordTypes = []string{"A", "AAAA", "CNAME", "TXT", "MX", "NS"}

// tagNameRE is the name of a DNS record tag (name:value).
var tagNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// DNSRecord translates a DNSRecord as cloudflare-operator does: records in
// one zone (the target), with fixed content, with content taken from a
// source object's addresses (sourceRef), or (conflux-sync's extension) a
// CNAME to a tunnel (tunnelRef).
//
// The zone is spec.cloudflare.zoneId's CloudflareDomain, else
// spec.cloudflare.domain, else the CloudflareDomain whose domain is the
// longest suffix of spec.name; else, for a name outside every
// CloudflareDomain, the tunnelRef's zone, the default CloudflareDomain (for
// a relative name) or the credentials' defaultDomain. "@" is the zone apex,
// a name without a dot is relative to the zone.
//
// A source object that is gone removes the record (sourceDeletionPolicy
// Delete) or keeps it as it is (Orphan); a source without addresses yet
// keeps what the record last had. The record ids cloudflare-operator
// recorded in the status are the evidence to take its records over.
func DNSRecord(r *v1alpha2.DNSRecord, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&r.ObjectMeta)}
	s := &r.Spec

	typ := strings.ToUpper(strings.TrimSpace(s.Type))
	if typ != "" && !slices.Contains(recordTypes, typ) && !isCRDDataType(typ) {
		ps.add("spec.type", "%s is not a record type Cloudflare serves", typ)
	}
	if s.Data != nil && *s.Data != (v1alpha2.DNSRecordData{}) && !isCRDDataType(typ) {
		ps.add("spec.data", "is for %s records; %s records take content", dataTypeNote(), cmp.Or(typ, "address"))
	}
	modes := 0
	for _, set := range []bool{s.Content != "", s.SourceRef != nil, s.TunnelRef != nil} {
		if set {
			modes++
		}
	}
	switch {
	case modes > 1:
		ps.add("spec", "give exactly one of content, sourceRef and tunnelRef")
	case modes == 0 && !isCRDDataType(typ):
		ps.add("spec.content", "is required (or sourceRef, or tunnelRef for a CNAME to a tunnel)")
	}
	switch s.SourceDeletionPolicy {
	case "", "Delete", "Orphan":
	default:
		ps.add("spec.sourceDeletionPolicy", "must be Delete or Orphan, not %q", s.SourceDeletionPolicy)
	}

	// A source that is gone decides alone: the record goes (or stays as
	// it is) whatever else is wrong with the object.
	var src *recordSource
	if s.SourceRef != nil {
		src = resolveRecordSource(s.SourceRef, r.Namespace, l, &ps)
		if src != nil && src.gone {
			return sourceGone(s, src, &ps)
		}
	}

	var t *tunnelInfo
	if s.TunnelRef != nil {
		ns := r.Namespace
		if s.TunnelRef.Namespace != "" {
			ns = s.TunnelRef.Namespace
		}
		t = resolveTunnel(l, o, ObjectRef{Group: GroupCloudflareOperator, Kind: s.TunnelRef.Kind, Namespace: ns, Name: s.TunnelRef.Name}, "spec.tunnelRef", &ps)
		if t == nil {
			return b.result(ps)
		}
	}

	name := normHost(s.Name)
	relative := name == "" || name == "@" || !strings.Contains(name, ".")
	var zps problems // the zone's
	zone, dom := explicitZone(s.Cloudflare, name, relative, l, &zps)
	var tried []string // the fallback zones that do not hold the name
	if zone == "" && len(zps) == 0 {
		zone, dom, tried = fallbackZone(name, relative, t, l, &zps)
	}
	before := len(ps)
	c := recordCredentials(s.Cloudflare, r.Namespace, dom, t, l, o, &ps)
	credsOK := len(ps) == before
	if zone == "" && len(zps) == 0 && credsOK {
		switch d := c.defaultDomain; {
		case d != "" && (relative || inZone(name, d)):
			zone = d
		case d != "":
			tried = append(tried, d)
		}
		if zone == "" {
			unknownZone(name, relative, tried, &zps)
		}
	}
	ps = append(ps, zps...)
	if zone == "" {
		return b.result(ps)
	}
	switch {
	case name == "" || name == "@":
		name = zone
	case relative:
		name += "." + zone
	}
	if !inZone(name, zone) {
		ps.add("spec.name", "%s is not in zone %s", name, zone)
	}

	acct := c.account
	if cf := s.Cloudflare; cf != nil && cf.AccountID != "" {
		acct = cf.AccountID
		if !accountRE.MatchString(acct) {
			ps.add("spec.cloudflare.accountId", "must be a Cloudflare account id (letters, digits, - and _), not %q", acct)
		}
	} else if acct == "" && t != nil {
		acct = t.accountID
	}

	base := api.DNSRecord{Name: name, TTL: int(s.TTL), Comment: s.Comment, Adopt: s.Adopt, TakeOver: recordTakeOver(&r.Status)}
	if ttl := base.TTL; ttl != 0 && ttl != 1 && (ttl < 60 || ttl > 86400) {
		ps.add("spec.ttl", "must be 1 (automatic) or between 60 and 86400 seconds")
	}
	for i, tag := range s.Tags {
		if tn, _, ok := strings.Cut(tag, ":"); !ok || !tagNameRE.MatchString(tn) {
			ps.add(fmt.Sprintf("spec.tags[%d]", i), "%q is not name:value: Cloudflare takes DNS record tags as name:value, the name of letters, digits, '_' and '-'", tag)
		}
	}
	if len(s.Tags) > 0 {
		base.Tags = slices.Compact(slices.Sorted(slices.Values(s.Tags)))
	}

	recs, status, wait := recordsOf(base, s, typ, t, src, &ps)
	if len(ps) > 0 {
		return b.result(ps)
	}
	if wait != "" {
		return Result{Managed: true, Keep: true, Waiting: wait, Tunnel: tunnelTarget(t), Hostnames: []string{name}, Status: map[string]any{"fqdn": name}}
	}
	b.add(api.KindDNSRecord, zone, api.DNSSpec{AccountID: acct, Records: recs, Credentials: c.ref})
	res := b.result(ps)
	res.Tunnel = tunnelTarget(t)
	res.Hostnames = []string{name}
	res.Status = status
	return res
}

// recordsOf makes a DNSRecord's records from base (name, ttl, comment,
// tags, adopt, takeover): a CNAME to the tunnel t, one per address picked
// from src, or the fixed content. status has the resolved content of a
// source's records; wait says what a source without addresses waits for.
func recordsOf(base api.DNSRecord, s *v1alpha2.DNSRecordSpec, typ string, t *tunnelInfo, src *recordSource, ps *problems) (recs []api.DNSRecord, status map[string]any, wait string) {
	status = map[string]any{"fqdn": base.Name}
	switch {
	case t != nil:
		if typ != "" && typ != "CNAME" {
			ps.add("spec.type", "must be CNAME with a tunnelRef, not %s", s.Type)
		}
		rec := base
		rec.Type, rec.Tunnel = "CNAME", t.target
		recs = append(recs, rec)
	case src != nil && isCRDDataType(typ):
		ps.add("spec.sourceRef", "gives addresses, which make A, AAAA or CNAME records; %s records take spec.data", typ)
	case src != nil:
		var picked []address
		picked, wait = pickAddresses(src, typ, s.AddressSelection, ps)
		contents := make([]string, len(picked))
		for i, a := range picked {
			rec := base
			rec.Type, rec.Content = a.typ, a.value
			if typ != "" {
				rec.Type = typ
			}
			recs = append(recs, rec)
			contents[i] = a.value
		}
		if len(recs) > 0 {
			status["resolvedType"] = recs[0].Type
			status["resolvedContent"] = recs[0].Content
			status["resolvedAddresses"] = contents
		}
		if len(recs) > 1 && recs[0].Type == "CNAME" {
			ps.add("spec.addressSelection", "All makes one record per address, but %s has %d addresses for a CNAME: a CNAME must be the only record on its name", src.what, len(recs))
		}
	case isCRDDataType(typ):
		if rec, ok := dataRecord(base, s, typ, ps); ok {
			recs = append(recs, rec)
		}
	case s.Content != "":
		if typ == "" {
			ps.add("spec.type", "is required with content: one of %s", strings.Join(recordTypes, ", "))
		}
		if typ == "A" || typ == "AAAA" {
			ip, err := netip.ParseAddr(s.Content)
			if err != nil || ip.Zone() != "" || (typ == "A") != ip.Is4() {
				ps.add("spec.content", "%q is not an %s address", s.Content, map[string]string{"A": "IPv4", "AAAA": "IPv6"}[typ])
			}
		}
		rec := base
		rec.Type, rec.Content = typ, s.Content
		recs = append(recs, rec)
	}
	mx := false
	for i := range recs {
		rec := &recs[i]
		switch {
		case rec.Type != "A" && rec.Type != "AAAA" && rec.Type != "CNAME":
			// cloudflare-operator sends proxied only for these types.
		case s.Proxied != nil:
			rec.Proxied = *s.Proxied
		case t != nil:
			// A CNAME to <id>.cfargotunnel.com only answers when proxied.
			rec.Proxied = true
		}
		// cloudflare-operator sends priority with every type; Cloudflare
		// uses it only on MX (and SRV, URI) records.
		if rec.Type == "MX" {
			mx = true
			if s.Priority != nil {
				rec.Priority = ptr(int(*s.Priority))
			}
		}
	}
	if mx && s.Priority == nil {
		ps.add("spec.priority", "is required for MX records")
	}
	return recs, status, wait
}

func tunnelTarget(t *tunnelInfo) string {
	if t == nil {
		return ""
	}
	return t.target
}

// inZone reports whether name is zone or below it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// sortedDomains returns the CloudflareDomains sorted by name, so that a
// tie between two of the same domain is decided the same way every time.
func sortedDomains(l Lookup) []CloudflareDomain {
	ds := slices.Clone(l.CloudflareDomains())
	slices.SortStableFunc(ds, func(a, b CloudflareDomain) int { return strings.Compare(a.Name, b.Name) })
	return ds
}

// explicitZone is the zone the record names or matches: the
// CloudflareDomain with spec.cloudflare.zoneId, spec.cloudflare.domain, or
// the CloudflareDomain whose domain is the longest suffix of name.
// cloudflare-operator counts only CloudflareDomains whose status has a zone
// id; conflux-sync finds zones by name and counts every one (the
// CloudflareDomains made after the switch have no zone id in their status).
func explicitZone(cf *v1alpha2.CloudflareDetails, name string, relative bool, l Lookup, ps *problems) (string, *CloudflareDomain) {
	domains := sortedDomains(l)
	if cf != nil && cf.ZoneID != "" {
		for i := range domains {
			if d := &domains[i]; d.ZoneID != "" && strings.EqualFold(d.ZoneID, cf.ZoneID) {
				return normHost(d.Domain), d
			}
		}
		if cf.Domain == "" {
			ps.add("spec.cloudflare.zoneId", "no CloudflareDomain has zone id %s: conflux-sync finds zones by name, so name the zone in spec.cloudflare.domain (or create a CloudflareDomain for it)", cf.ZoneID)
			return "", nil
		}
	}
	if cf != nil && cf.Domain != "" {
		z := normHost(cf.Domain)
		for i := range domains {
			if normHost(domains[i].Domain) == z {
				return z, &domains[i]
			}
		}
		return z, nil
	}
	if relative {
		return "", nil
	}
	var best *CloudflareDomain
	for i := range domains {
		d := &domains[i]
		if z := normHost(d.Domain); z != "" && inZone(name, z) && (best == nil || len(z) > len(normHost(best.Domain))) {
			best = d
		}
	}
	if best == nil {
		return "", nil
	}
	return normHost(best.Domain), best
}

// fallbackZone is the zone of a record that names none and is in no
// CloudflareDomain: the zone of its tunnel (when it holds the name), else,
// for a relative name, the default CloudflareDomain. tried lists the zones
// that did not hold the name.
//
// The tunnel's zone comes before the default CloudflareDomain: a tunnelRef
// is conflux-sync's extension, whose records have always been in the
// tunnel's zone. (A name that is not relative is never in the default
// CloudflareDomain here: the suffix match would have found it.)
func fallbackZone(name string, relative bool, t *tunnelInfo, l Lookup, ps *problems) (zone string, dom *CloudflareDomain, tried []string) {
	if t != nil && t.zone != "" {
		if relative || inZone(name, t.zone) {
			return t.zone, nil, nil
		}
		tried = append(tried, t.zone)
	}
	if !relative {
		return "", nil, tried
	}
	var defaults []CloudflareDomain
	for _, d := range sortedDomains(l) {
		if d.IsDefault {
			defaults = append(defaults, d)
		}
	}
	switch len(defaults) {
	case 0:
		return "", nil, tried
	case 1:
		return normHost(defaults[0].Domain), &defaults[0], nil
	}
	names := make([]string, len(defaults))
	for i, d := range defaults {
		names[i] = d.Name
	}
	ps.add("spec.cloudflare.domain", "is required: %d CloudflareDomains are marked isDefault (%s), so the default zone of %q is ambiguous", len(names), strings.Join(names, ", "), name)
	return "", nil, nil
}

// unknownZone reports a record whose zone was not found.
func unknownZone(name string, relative bool, tried []string, ps *problems) {
	switch {
	case relative:
		ps.add("spec.cloudflare.domain", "is required: %q is relative to a zone, and there is no default zone (a CloudflareDomain or CloudflareCredentials defaultDomain marked isDefault)", name)
	case len(tried) > 0:
		ps.add("spec.name", "%s is in no zone conflux-sync knows: no CloudflareDomain matches it and it is not in %s; set spec.cloudflare.domain, or create a CloudflareDomain for its zone", name, strings.Join(tried, " or "))
	default:
		ps.add("spec.cloudflare.domain", "is required: no CloudflareDomain matches %s (set spec.cloudflare.domain or zoneId, or create a CloudflareDomain for its zone)", name)
	}
}

// recordCredentials resolves a DNSRecord's API token: credentialsRef, else
// spec.cloudflare.secret, else the credentialsRef of the CloudflareDomain
// of its zone, else its tunnel's, else the default CloudflareCredentials.
// cloudflare-operator ignores spec.cloudflare.secret on DNSRecords;
// conflux-sync's own DNSRecords have always used it, so it is honoured.
// The account is the credentials' (the tunnel's with the tunnel's token).
func recordCredentials(cf *v1alpha2.CloudflareDetails, ns string, dom *CloudflareDomain, t *tunnelInfo, l Lookup, o Options, ps *problems) creds {
	switch {
	case cf != nil && (cf.CredentialsRef != nil || cf.Secret != ""):
		return credentials(cf, ns, "spec.cloudflare", true, l, o, ps)
	case dom != nil && dom.CredentialsRef != "":
		c, ok := l.CloudflareCredentials(dom.CredentialsRef)
		if !ok || c == nil {
			ps.add("spec.cloudflare.credentialsRef", "is not set, and CloudflareCredentials %s, which CloudflareDomain %s (the record's zone) names, is not found", dom.CredentialsRef, dom.Name)
			return creds{}
		}
		return fromCloudflareCredentials(c, "spec.cloudflare", true, l, o, ps)
	case t != nil:
		return creds{ref: t.creds, account: t.accountID}
	}
	return credentials(cf, ns, "spec.cloudflare", true, l, o, ps)
}

// recordTakeOver is the evidence cloudflare-operator left in a DNSRecord's
// status: the ids of the records it made (conflux-sync records the id it
// syncs there too, which proves nothing new). cloudflare-operator adopted
// any record of the same name and type; conflux-sync takes over only the
// records it has the id of, and needs adopt for any other.
func recordTakeOver(st *v1alpha2.DNSRecordStatus) *api.DNSTakeOver {
	var ids []string
	for _, id := range append([]string{st.RecordID}, st.ManagedRecordIDs...) {
		if id = strings.TrimSpace(id); id != "" && accountRE.MatchString(id) {
			ids = append(ids, id)
		}
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > api.MaxDNSTakeOverIDs {
		ids = ids[:api.MaxDNSTakeOverIDs]
	}
	return &api.DNSTakeOver{RecordIDs: ids}
}

// ---- sourceRef ----

// recordSource is what a DNSRecord's sourceRef names.
type recordSource struct {
	// what names the source object, e.g. "Service default/web".
	what string
	// gone: the source object does not exist.
	gone bool
	// addresses are its addresses, in order, without repeats.
	addresses []string
	// none says why there are no addresses (when there are none).
	none string
}

// resolveRecordSource reads the addresses of the object a sourceRef names,
// as cloudflare-operator does; problems go on spec.sourceRef. nil when
// the sourceRef is invalid.
func resolveRecordSource(ref *v1alpha2.DNSRecordSourceRef, ns string, l Lookup, ps *problems) *recordSource {
	n := 0
	for _, set := range []bool{ref.Service != nil, ref.Ingress != nil, ref.HTTPRoute != nil, ref.Gateway != nil, ref.Node != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		ps.add("spec.sourceRef", "exactly one of service, ingress, httpRoute, gateway and node must be set, not %d", n)
		return nil
	}
	in := func(refNS string) string {
		if refNS != "" {
			return refNS
		}
		return ns
	}
	src := &recordSource{}
	var addrs []string
	switch {
	case ref.Service != nil:
		r := ref.Service
		n := in(r.Namespace)
		src.what = "Service " + n + "/" + r.Name
		svc, ok := l.Service(n, r.Name)
		if !ok || svc == nil {
			src.gone = true
			return src
		}
		addrs, src.none = serviceAddresses(svc, r.AddressType, src.what, ps)
	case ref.Ingress != nil:
		r := ref.Ingress
		n := in(r.Namespace)
		src.what = "Ingress " + n + "/" + r.Name
		ing, ok := l.Ingress(n, r.Name)
		if !ok || ing == nil {
			src.gone = true
			return src
		}
		for _, e := range ing.Status.LoadBalancer.Ingress {
			addrs = append(addrs, e.IP, e.Hostname)
		}
		src.none = "has no load balancer address yet"
	case ref.Gateway != nil:
		r := ref.Gateway
		n := in(r.Namespace)
		src.what = "Gateway " + n + "/" + r.Name
		gw, ok := l.Gateway(n, r.Name)
		if !ok || gw == nil {
			src.gone = true
			return src
		}
		addrs = gatewayAddresses(gw)
		src.none = "has no address yet"
	case ref.HTTPRoute != nil:
		r := ref.HTTPRoute
		n := in(r.Namespace)
		src.what = "HTTPRoute " + n + "/" + r.Name
		route, ok := l.HTTPRoute(n, r.Name)
		if !ok || route == nil {
			src.gone = true
			return src
		}
		for _, p := range route.Spec.ParentRefs {
			if (p.Group != nil && *p.Group != "" && *p.Group != gatewayv1.GroupName) || (p.Kind != nil && *p.Kind != "Gateway") {
				continue
			}
			gwNS := n
			if p.Namespace != nil && *p.Namespace != "" {
				gwNS = string(*p.Namespace)
			}
			// A parent Gateway that is missing adds no address, as
			// with cloudflare-operator.
			if gw, ok := l.Gateway(gwNS, string(p.Name)); ok && gw != nil {
				addrs = append(addrs, gatewayAddresses(gw)...)
			}
		}
		src.none = "has no parent Gateway with an address yet"
	case ref.Node != nil:
		r := ref.Node
		src.what = "Node " + r.Name
		node, ok := l.Node(r.Name)
		if !ok || node == nil {
			src.gone = true
			return src
		}
		var want corev1.NodeAddressType
		switch r.AddressType {
		case "", "ExternalIP":
			want = corev1.NodeExternalIP
		case "InternalIP":
			want = corev1.NodeInternalIP
		case "Hostname":
			want = corev1.NodeHostName
		default:
			ps.add("spec.sourceRef.node.addressType", "must be ExternalIP, InternalIP or Hostname, not %q", r.AddressType)
		}
		for _, a := range node.Status.Addresses {
			if a.Type == want {
				addrs = append(addrs, a.Address)
			}
		}
		src.none = fmt.Sprintf("has no %s address yet", want)
	}
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(src.addresses, a) {
			src.addresses = append(src.addresses, a)
		}
	}
	return src
}

// serviceAddresses returns a Service's addresses of addressType, and why
// there are none. A Service that can never have such an address is a
// problem.
func serviceAddresses(svc *corev1.Service, addressType, what string, ps *problems) ([]string, string) {
	const field = "spec.sourceRef.service.addressType"
	var out []string
	switch addressType {
	case "", "LoadBalancerIP":
		for _, e := range svc.Status.LoadBalancer.Ingress {
			out = append(out, e.IP)
		}
		return out, "has no load balancer IP yet"
	case "LoadBalancerHostname":
		for _, e := range svc.Status.LoadBalancer.Ingress {
			out = append(out, e.Hostname)
		}
		return out, "has no load balancer hostname yet"
	case "ExternalIP":
		return svc.Spec.ExternalIPs, "has no spec.externalIPs"
	case "ExternalName":
		if t := svc.Spec.Type; t != corev1.ServiceTypeExternalName {
			if t == "" {
				t = corev1.ServiceTypeClusterIP
			}
			ps.add(field, "is ExternalName, but %s is of type %s", what, t)
			return nil, ""
		}
		return []string{svc.Spec.ExternalName}, "has no spec.externalName"
	case "ClusterIP":
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			ps.add(field, "is ClusterIP, but %s is headless (clusterIP None)", what)
			return nil, ""
		}
		return []string{svc.Spec.ClusterIP}, "has no cluster IP yet"
	}
	ps.add(field, "must be LoadBalancerIP, LoadBalancerHostname, ExternalIP, ExternalName or ClusterIP, not %q", addressType)
	return nil, ""
}

func gatewayAddresses(gw *gatewayv1.Gateway) []string {
	out := make([]string, 0, len(gw.Status.Addresses))
	for _, a := range gw.Status.Addresses {
		out = append(out, a.Value)
	}
	return out
}

// address is a source address and the record type that holds it.
type address struct{ value, typ string }

// classify returns the record type of a source address (IPv4 A, IPv6
// AAAA, anything else a CNAME to that hostname) and its content.
func classify(a string) (address, bool) {
	if ip, err := netip.ParseAddr(a); err == nil {
		if ip.Zone() != "" {
			return address{}, false // a link-local address: nothing DNS can point at
		}
		ip = ip.Unmap()
		if ip.Is4() {
			return address{ip.String(), "A"}, true
		}
		return address{ip.String(), "AAAA"}, true
	}
	return address{normHost(a), "CNAME"}, true
}

// pickAddresses selects the addresses a record is made for by
// addressSelection: First (default), PreferIPv4 and PreferIPv6 one, All
// every one. With no address yet, wait says what is awaited.
//
// cloudflare-operator reports every address under All but creates a
// record for the first only; conflux-sync makes one record per address, as
// the field says. With spec.type, only the addresses that type holds
// count (A: IPv4, AAAA: IPv6, CNAME and MX: hostnames, TXT: any), where
// cloudflare-operator would send the first address under that type and
// fail.
func pickAddresses(src *recordSource, typ, selection string, ps *problems) (picked []address, wait string) {
	switch selection {
	case "", "First", "All", "PreferIPv4", "PreferIPv6":
	default:
		ps.add("spec.addressSelection", "must be First, All, PreferIPv4 or PreferIPv6, not %q", selection)
		return nil, ""
	}
	if len(src.addresses) == 0 {
		if src.none == "" {
			return nil, "" // a problem was reported
		}
		return nil, fmt.Sprintf("%s %s: the record keeps what it last had", src.what, src.none)
	}
	var all []address
	for _, a := range src.addresses {
		ad, ok := classify(a)
		if !ok {
			continue
		}
		switch typ {
		case "", "TXT":
		case "A", "AAAA":
			if ad.typ != typ {
				continue
			}
		case "CNAME", "MX":
			if ad.typ != "CNAME" {
				continue
			}
		default:
			continue // not synced: reported on spec.type
		}
		all = append(all, ad)
	}
	if len(all) == 0 {
		if typ != "" && slices.Contains(recordTypes, typ) {
			ps.add("spec.type", "is %s, but none of the addresses of %s fits %s %s record: %s", typ, src.what, article(typ), typ, strings.Join(src.addresses, ", "))
		} else if typ == "" {
			ps.add("spec.sourceRef", "none of the addresses of %s fits a DNS record: %s", src.what, strings.Join(src.addresses, ", "))
		}
		return nil, ""
	}
	prefer := map[string]string{"PreferIPv4": "A", "PreferIPv6": "AAAA"}[selection]
	switch {
	case selection == "All":
		return all, ""
	case prefer != "":
		for _, a := range all {
			if a.typ == prefer {
				return []address{a}, ""
			}
		}
	}
	return all[:1], ""
}

// article is the indefinite article of a record type's name.
func article(typ string) string {
	if typ == "A" || typ == "AAAA" || typ == "MX" {
		return "an"
	}
	return "a"
}

// sourceGone is the Result of a record whose source object is gone.
// cloudflare-operator deletes the DNSRecord object itself under Delete;
// conflux-sync removes the record from Cloudflare and leaves the object,
// which brings the record back when its source returns.
func sourceGone(s *v1alpha2.DNSRecordSpec, src *recordSource, ps *problems) Result {
	switch s.SourceDeletionPolicy {
	case "", "Delete":
		return Result{Managed: true, Waiting: fmt.Sprintf("source %s is gone: the record was removed (sourceDeletionPolicy Delete)", src.what)}
	case "Orphan":
		return Result{Managed: true, Keep: true,
			Waiting: fmt.Sprintf("source %s is gone: the record stays in Cloudflare with its last content (sourceDeletionPolicy Orphan)", src.what),
			Status:  map[string]any{"state": "Orphaned"}}
	}
	return Result{Managed: true, Problems: *ps}
}
