package translate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// CertsDir is where the cloudflare-operators' cloudflared Deployments
// mount a tunnel's originCaPool Secret; a caPool names a file in it.
const CertsDir = "/etc/cloudflared/certs/"

// CAPoolPath is the path cloudflared reads a caPool file from.
func CAPoolPath(file string) string { return CertsDir + file }

// problems collects Problems in the order they are found.
type problems []Problem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// addUnsupported adds a problem with a valid field conflux-sync does not sync.
func (p *problems) addUnsupported(field, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Reason: fmt.Sprintf(format, args...), Unsupported: true})
}

// addApplied adds a Degraded note on a field that is applied, but written
// in a way that is not recommended.
func (p *problems) addApplied(field, reason string) {
	*p = append(*p, Problem{Field: field, Reason: reason, Applied: true})
}

// generation is the fragments' generation: metadata.generation, 1 if unset.
func generation(m *metav1.ObjectMeta) int64 {
	if m.Generation <= 0 {
		return 1
	}
	return m.Generation
}

// builder accumulates an object's fragments.
type builder struct {
	gen   int64
	frags []api.SourceFragment
}

func (b *builder) add(kind, name string, spec any) {
	raw, err := json.Marshal(spec)
	if err != nil {
		// Only plain structs of strings, numbers and bools are marshalled.
		panic("translate: marshal " + kind + ": " + err.Error())
	}
	b.frags = append(b.frags, api.SourceFragment{
		Target:     api.TargetRef{Kind: kind, Name: name},
		Generation: b.gen,
		Spec:       raw,
	})
}

// result returns the Result: fragments sorted by target key, or none at all
// when there are problems.
func (b *builder) result(ps problems) Result {
	r := Result{Managed: true}
	if len(ps) > 0 {
		r.Problems = ps
		return r
	}
	slices.SortStableFunc(b.frags, func(x, y api.SourceFragment) int {
		return strings.Compare(x.Target.Key(), y.Target.Key())
	})
	r.Fragments = b.frags
	return r
}

// ---- credentials ----

// creds is where an object's API token is, and the account it is for.
type creds struct {
	ref *api.SecretRef
	// account is the account id the credentials name (a
	// CloudflareCredentials' accountId); "" when they name none.
	account string
	// defaultDomain is a CloudflareCredentials' defaultDomain.
	defaultDomain string
}

// credentials resolves the API token of an object whose Secrets live in
// namespace secretNS, the way cloudflare-operator does: cf.credentialsRef
// (a CloudflareCredentials), else cf.secret (a Secret of secretNS), else
// the CloudflareCredentials marked isDefault. With check, the Secret and
// its key must exist. Problems go on field (e.g. "spec.cloudflare").
func credentials(cf *v1alpha2.CloudflareDetails, secretNS, field string, check bool, l Lookup, o Options, ps *problems) creds {
	if cf == nil {
		cf = &v1alpha2.CloudflareDetails{}
	}
	switch {
	case cf.CredentialsRef != nil:
		c, ok := l.CloudflareCredentials(cf.CredentialsRef.Name)
		if !ok || c == nil {
			ps.add(field+".credentialsRef", "CloudflareCredentials %s not found", cf.CredentialsRef.Name)
			return creds{}
		}
		return fromCloudflareCredentials(c, field+".credentialsRef", check, l, o, ps)
	case cf.Secret != "":
		return creds{ref: secretCredentials(cf, secretNS, field, check, l, ps)}
	}
	var defaults []*v1alpha2.CloudflareCredentials
	for _, c := range l.CloudflareCredentialsList() {
		if c != nil && c.Spec.IsDefault {
			defaults = append(defaults, c)
		}
	}
	switch len(defaults) {
	case 0:
		ps.add(field+".secret", "is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true)")
		return creds{}
	case 1:
		return fromCloudflareCredentials(defaults[0], field, check, l, o, ps)
	}
	names := make([]string, len(defaults))
	for i, c := range defaults {
		names[i] = c.Name
	}
	slices.Sort(names)
	ps.add(field+".credentialsRef", "is required: %d CloudflareCredentials are marked isDefault (%s), so which one is the default is ambiguous", len(names), strings.Join(names, ", "))
	return creds{}
}

// credentialsSecret is where a CloudflareCredentials' API token is: its
// secretRef, in Options.Namespace unless it names one, under apiTokenKey,
// default CLOUDFLARE_API_TOKEN.
func credentialsSecret(c *v1alpha2.CloudflareCredentials, o Options) *api.SecretRef {
	r := c.Spec.SecretRef
	return &api.SecretRef{Namespace: cmp.Or(r.Namespace, o.Namespace), Name: r.Name, Key: cmp.Or(r.APITokenKey, v1alpha2.DefaultAPITokenKey)}
}

// fromCloudflareCredentials is the token reference of a CloudflareCredentials.
func fromCloudflareCredentials(c *v1alpha2.CloudflareCredentials, field string, check bool, l Lookup, o Options, ps *problems) creds {
	s := &c.Spec
	if s.AuthType != "" && s.AuthType != "apiToken" {
		ps.addUnsupported(field, "CloudflareCredentials %s has authType %s: conflux-sync uses API tokens only (authType apiToken)", c.Name, s.AuthType)
		return creds{}
	}
	ref := credentialsSecret(c, o)
	if check && !checkSecretKey(l, ref, field, fmt.Sprintf("CloudflareCredentials %s: ", c.Name), ps) {
		return creds{}
	}
	return creds{ref: ref, account: s.AccountID, defaultDomain: normHost(s.DefaultDomain)}
}

// secretCredentials is the token reference of cf.secret in ns.
func secretCredentials(cf *v1alpha2.CloudflareDetails, ns, field string, check bool, l Lookup, ps *problems) *api.SecretRef {
	if cf.CLOUDFLARE_API_KEY != "" && cf.CLOUDFLARE_API_TOKEN == "" {
		ps.addUnsupported(field+".CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens: put a token in Secret %s/%s and name its key in %s.CLOUDFLARE_API_TOKEN", ns, cf.Secret, field)
		return nil
	}
	if ns == "" {
		ps.add(field+".secret", "cannot be found: conflux-sync has no namespace configured for the Secrets of cluster-scoped objects")
		return nil
	}
	key := cf.CLOUDFLARE_API_TOKEN
	if key == "" {
		key = v1alpha2.DefaultAPITokenKey
	}
	ref := &api.SecretRef{Namespace: ns, Name: cf.Secret, Key: key}
	if !check {
		return ref
	}
	keys, ok := l.SecretKeys(ns, cf.Secret)
	switch {
	case !ok:
		ps.add(field+".secret", "Secret %s/%s not found", ns, cf.Secret)
		return nil
	case slices.Contains(keys, key):
		return ref
	case slices.Contains(keys, cmp.Or(cf.CLOUDFLARE_API_KEY, v1alpha2.DefaultAPIKeyKey)):
		// The operators' CRDs default the key's name; conflux-sync's do
		// not, so the default is checked here.
		ps.addUnsupported(field+".CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens: Secret %s/%s has the API key %s but no token under key %s",
			ns, cf.Secret, cmp.Or(cf.CLOUDFLARE_API_KEY, v1alpha2.DefaultAPIKeyKey), key)
	default:
		ps.add(field+".CLOUDFLARE_API_TOKEN", "Secret %s/%s has no key %s", ns, cf.Secret, key)
	}
	return nil
}

// checkSecretKey reports whether ref's Secret and key exist.
func checkSecretKey(l Lookup, ref *api.SecretRef, field, prefix string, ps *problems) bool {
	keys, ok := l.SecretKeys(ref.Namespace, ref.Name)
	switch {
	case !ok:
		ps.add(field, "%sSecret %s/%s not found", prefix, ref.Namespace, ref.Name)
	case !slices.Contains(keys, ref.Key):
		ps.add(field, "%sSecret %s/%s has no key %s", prefix, ref.Namespace, ref.Name, ref.Key)
	default:
		return true
	}
	return false
}

// account returns the account id of an object: cf.accountId, else the
// credentials'. An account known only by name is a problem: the kinds need
// the id with a Secret's token.
func account(cf *v1alpha2.CloudflareDetails, c creds, field string, ps *problems) string {
	if cf != nil && cf.AccountID != "" {
		if !accountRE.MatchString(cf.AccountID) {
			ps.add(field+".accountId", "must be a Cloudflare account id (letters, digits, - and _), not %q", cf.AccountID)
		}
		return cf.AccountID
	}
	if c.account != "" {
		return c.account
	}
	if cf != nil && cf.AccountName != "" {
		ps.addUnsupported(field+".accountId", "is required: conflux-sync does not look accounts up by name (accountName %q); set the account id", cf.AccountName)
		return ""
	}
	ps.add(field+".accountId", "is required with the API token of %s.secret", field)
	return ""
}

// zoneOf returns the zone an object's cloudflare details name: domain, else
// the CloudflareDomain with zoneId, else the credentials' default domain.
func zoneOf(cf *v1alpha2.CloudflareDetails, c creds, l Lookup) string {
	if cf != nil && cf.Domain != "" {
		return normHost(cf.Domain)
	}
	if cf != nil && cf.ZoneID != "" {
		for _, d := range l.CloudflareDomains() {
			if d.ZoneID == cf.ZoneID {
				return d.Domain
			}
		}
	}
	return c.defaultDomain
}

// ---- tunnels ----

// tunnelInfo is a resolved Tunnel or ClusterTunnel.
type tunnelInfo struct {
	ref ObjectRef
	// target is the cloudflare.Tunnel target name.
	target string
	// zone is the tunnel's zone (spec.cloudflare.domain), lower-case.
	zone      string
	accountID string
	creds     *api.SecretRef
	// status is the object's status (its tunnelId, for the DNS records of
	// rules that take over a previous controller's records).
	status v1alpha2.TunnelStatus
}

func (t *tunnelInfo) String() string { return t.ref.String() }

// secretNamespace is where the Secrets of a tunnel object live.
func secretNamespace(kind, ns string, o Options) string {
	if kind == v1alpha2.KindClusterTunnel {
		return o.Namespace
	}
	return ns
}

// resolveTunnel finds the tunnel a rule source names; problems go on field.
func resolveTunnel(l Lookup, o Options, ref ObjectRef, field string, ps *problems) *tunnelInfo {
	switch ref.Kind {
	case v1alpha2.KindTunnel:
	case v1alpha2.KindClusterTunnel:
		ref.Namespace = ""
	default:
		ps.add(field, "kind must be Tunnel or ClusterTunnel, not %q", ref.Kind)
		return nil
	}
	if ref.Name == "" {
		ps.add(field, "names no %s", ref.Kind)
		return nil
	}
	t, ok := l.Tunnel(ref)
	if !ok || t == nil {
		ps.add(field, "%s not found", ref)
		return nil
	}
	if t.Meta.DeletionTimestamp != nil {
		ps.add(field, "%s is being deleted", ref)
		return nil
	}
	var cps problems
	c := credentials(&t.Spec.Cloudflare, secretNamespace(ref.Kind, ref.Namespace, o), "spec.cloudflare", true, l, o, &cps)
	acct := account(&t.Spec.Cloudflare, c, "spec.cloudflare", &cps)
	if len(cps) > 0 {
		ps.add(field, "%s has no usable credentials (%s)", ref, cps[0])
		return nil
	}
	return &tunnelInfo{
		ref:       ref,
		target:    TunnelTarget(SourceKind(ref.Group, ref.Kind), ref.Namespace, ref.Name),
		zone:      zoneOf(&t.Spec.Cloudflare, c, l),
		accountID: acct,
		creds:     c.ref,
		status:    t.Status,
	}
}

// ---- origin requests ----

// seconds converts a Go duration to whole seconds, rounding up.
func seconds(s string) (int64, string) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is not a duration such as \"30s\" or \"1m30s\"", s)
	case d < 0:
		return 0, fmt.Sprintf("%q must not be negative", s)
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	if secs > maxSeconds {
		return 0, fmt.Sprintf("%q is too long", s)
	}
	return secs, ""
}

func ptr[T any](v T) *T { return &v }

// convertOriginRequest converts a CRD originRequest; problems go on field.
func convertOriginRequest(in *v1alpha2.OriginRequest, field string, ps *problems) *api.OriginRequest {
	if in == nil {
		return nil
	}
	out := &api.OriginRequest{}
	for _, d := range []struct {
		name, v string
		dst     **int64
	}{
		{"connectTimeout", in.ConnectTimeout, &out.ConnectTimeout},
		{"tlsTimeout", in.TLSTimeout, &out.TLSTimeout},
		{"tcpKeepAlive", in.TCPKeepAlive, &out.TCPKeepAlive},
		{"keepAliveTimeout", in.KeepAliveTimeout, &out.KeepAliveTimeout},
	} {
		if d.v == "" {
			continue
		}
		secs, reason := seconds(d.v)
		if reason != "" {
			ps.add(field+"."+d.name, "%s", reason)
			continue
		}
		*d.dst = &secs
	}
	if v := in.KeepAliveConnections; v != nil {
		if *v < 0 {
			ps.add(field+".keepAliveConnections", "must not be negative")
		} else {
			out.KeepAliveConnections = ptr(int64(*v))
		}
	}
	if v := in.ProxyPort; v != nil {
		if *v < 0 || *v > 65535 {
			ps.add(field+".proxyPort", "must be a port between 0 and 65535")
		} else {
			out.ProxyPort = ptr(int64(*v))
		}
	}
	switch in.ProxyType {
	case "":
	case "socks":
		out.ProxyType = ptr(in.ProxyType)
	default:
		ps.add(field+".proxyType", `must be "" or "socks", not %q`, in.ProxyType)
	}
	out.NoHappyEyeballs = cloneBool(in.NoHappyEyeballs)
	out.NoTLSVerify = cloneBool(in.NoTLSVerify)
	out.MatchSNIToHost = cloneBool(in.MatchSNIToHost)
	out.DisableChunkedEncoding = cloneBool(in.DisableChunkedEncoding)
	out.HTTP2Origin = cloneBool(in.HTTP2Origin)
	out.BastionMode = cloneBool(in.BastionMode)
	if in.CAPool != "" {
		if p, reason := caPool(in.CAPool); reason != "" {
			ps.add(field+".caPool", "%s", reason)
		} else {
			out.CAPool = &p
		}
	}
	out.OriginServerName = nonEmpty(in.OriginServerName)
	out.HTTPHostHeader = nonEmpty(in.HTTPHostHeader)
	out.ProxyAddress = nonEmpty(in.ProxyAddress)
	return orNil(out)
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	return ptr(*b)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

var secretNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func checkSecretName(s string) string {
	if len(s) > 253 || !secretNameRE.MatchString(s) {
		return fmt.Sprintf("%q is not a Secret name", s)
	}
	return ""
}

// caPool returns the path cloudflared reads a caPool from: a file of the
// tunnel's originCaPool Secret (mounted at CertsDir by the operators'
// cloudflared Deployments), or an absolute path as written.
func caPool(v string) (string, string) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", "must not be empty"
	case slices.Contains(strings.Split(v, "/"), ".."):
		return "", fmt.Sprintf("%q must not contain \"..\"", v)
	case strings.HasPrefix(v, "/"):
		return v, ""
	}
	return CAPoolPath(v), ""
}

// ---- services ----

// resolveService finds the Service port a backend names (by number, or by
// name when number is 0) and returns its origin URL. scheme overrides the
// scheme derived from the port when not empty. nameField and portField are
// where problems go.
func resolveService(l Lookup, ns, name string, number int32, portName, scheme, nameField, portField string, ps *problems) string {
	_, sp := lookupServicePort(l, ns, name, number, portName, nameField, portField, ps)
	if sp == nil {
		return ""
	}
	if scheme == "" {
		scheme = portScheme(sp)
	}
	return serviceURL(scheme, ns, name, sp.Port)
}

// portScheme is https for a port whose appProtocol or name is https, or
// which is 443; else http.
func portScheme(sp *corev1.ServicePort) string {
	if (sp.AppProtocol != nil && strings.EqualFold(*sp.AppProtocol, "https")) || strings.EqualFold(sp.Name, "https") || sp.Port == 443 {
		return "https"
	}
	return "http"
}

func serviceURL(scheme, ns, name string, port int32) string {
	return scheme + "://" + name + "." + ns + ".svc:" + strconv.Itoa(int(port))
}

// ---- paths ----

// exactPath matches p only.
func exactPath(p string) string { return "^" + regexp.QuoteMeta(p) + "$" }

// prefixPath matches p and everything below it, element-wise ("/a" matches
// "/a" and "/a/b", not "/ab"); "/" matches everything (no path).
func prefixPath(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return ""
	}
	return "^" + regexp.QuoteMeta(p) + "(/|$)"
}

// checkRegex returns why p is not a regular expression cloudflared accepts.
func checkRegex(p string) string {
	if _, err := syntax.Parse(p, syntax.Perl); err != nil {
		return "is not a regular expression cloudflared accepts: " + err.Error()
	}
	return ""
}

// ---- rules ----

// ruleSet collects the rules of one object for one tunnel.
type ruleSet struct {
	tunnel *tunnelInfo
	dns    bool
	// proxied is false when the object asks for unproxied CNAMEs.
	unproxied bool
	// takeOver, when set, returns the evidence that a hostname's record
	// was made by the controller conflux-sync stands in for.
	takeOver func(host string) *api.DNSTakeOver
	// zones, when set, finds the zone of a hostname outside the tunnel's
	// (the STRRL dialect writes records in every zone of the account).
	zones func(host string) string
	rules []api.TunnelRule
	// seen maps hostname+path to the field of its first rule.
	seen map[[2]string]string
	// hosts are the distinct hostnames; dnsOnly are hostnames that get a
	// record but no rule (cloudflare-operator's Ingress TLS hosts).
	hosts   map[string]bool
	dnsOnly map[string]bool
}

func newRuleSet(t *tunnelInfo, dns bool) *ruleSet {
	return &ruleSet{tunnel: t, dns: dns, seen: map[[2]string]string{}, hosts: map[string]bool{}, dnsOnly: map[string]bool{}}
}

// zoneOf returns the zone of host's record: the tunnel's when host is in
// it, else the one zones finds.
func (rs *ruleSet) zoneOf(host string) string {
	z := rs.tunnel.zone
	if z != "" && (host == z || strings.HasSuffix(host, "."+z)) {
		return z
	}
	if rs.zones != nil {
		return rs.zones(host)
	}
	return ""
}

// checkHost reports a hostname outside the tunnel's zone (when DNS is on).
func (rs *ruleSet) checkHost(host, field string, ps *problems) bool {
	if !rs.dns {
		return true
	}
	if rs.zoneOf(host) != "" {
		return true
	}
	z := rs.tunnel.zone
	if z == "" {
		ps.add(field, "%s has no spec.cloudflare.domain, so no DNS record can be made for %s (disable DNS updates to manage DNS elsewhere)", rs.tunnel, host)
		return false
	}
	ps.add(field, "hostname %s is not in zone %s of %s", host, z, rs.tunnel)
	return false
}

// add adds a rule (hostname lower-cased by the caller); ruleField names the
// rule for duplicate reports.
func (rs *ruleSet) add(r api.TunnelRule, ruleField string, ps *problems) {
	k := [2]string{r.Hostname, r.Path}
	if first, dup := rs.seen[k]; dup {
		ps.add(ruleField, "same hostname %s and path %q as %s (cloudflared would only ever use the first)", r.Hostname, r.Path, first)
		return
	}
	rs.seen[k] = ruleField
	rs.hosts[r.Hostname] = true
	rs.rules = append(rs.rules, r)
}

// emit adds the rule set's fragments to b and returns the hostnames.
func (rs *ruleSet) emit(b *builder) []string {
	hosts := make([]string, 0, len(rs.hosts))
	for h := range rs.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if len(rs.rules) == 0 {
		return hosts
	}
	rules := slices.Clone(rs.rules)
	slices.SortFunc(rules, func(x, y api.TunnelRule) int {
		if c := strings.Compare(x.Hostname, y.Hostname); c != 0 {
			return c
		}
		return strings.Compare(x.Path, y.Path)
	})
	b.add(api.KindTunnelConfiguration, rs.tunnel.target, api.TunnelConfigSpec{Rules: rules})
	if !rs.dns {
		return hosts
	}
	named := slices.Clone(hosts)
	for h := range rs.dnsOnly {
		if !rs.hosts[h] {
			named = append(named, h)
		}
	}
	slices.Sort(named)
	byZone := map[string][]api.DNSRecord{}
	var zones []string
	for _, h := range named {
		z := rs.zoneOf(h)
		if z == "" {
			continue // a dnsOnly host outside every zone
		}
		if _, ok := byZone[z]; !ok {
			zones = append(zones, z)
		}
		rec := api.DNSRecord{Name: h, Type: "CNAME", Tunnel: rs.tunnel.target, Proxied: !rs.unproxied}
		if rs.takeOver != nil {
			rec.TakeOver = rs.takeOver(h)
		}
		byZone[z] = append(byZone[z], rec)
	}
	for _, z := range zones {
		b.add(api.KindDNSRecord, z, api.DNSSpec{AccountID: rs.tunnel.accountID, Records: byZone[z], Credentials: rs.tunnel.creds})
	}
	return hosts
}

// result is the Result of a rule source: its fragments (or problems), its
// tunnel, and the hostnames it serves.
func (rs *ruleSet) result(b *builder, ps problems) Result {
	hosts := rs.emit(b)
	r := b.result(ps)
	r.Tunnel = rs.tunnel.target
	if len(r.Problems) == 0 {
		r.Hostnames = hosts
	}
	return r
}

// classParamsProblem says what is wrong with the reference from an
// IngressClass or GatewayClass to its tunnel ("" when nothing); groupField
// is how the class's API spells the group field.
func classParamsProblem(groupField, group, kind, name string) string {
	switch {
	case group != GroupCloudflareOperator && group != GroupCfargotunnel:
		return fmt.Sprintf("its %s is %q, not %s or %s", groupField, group, GroupCloudflareOperator, GroupCfargotunnel)
	case kind != v1alpha2.KindTunnel && kind != v1alpha2.KindClusterTunnel:
		return fmt.Sprintf("its kind is %q", kind)
	case name == "":
		return "its name is empty"
	}
	return ""
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// normHost lower-cases a hostname and drops a trailing dot.
func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".") }

// maxSeconds keeps seconds*time.Second inside int64.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// deref reads an optional CRD boolean, absent meaning false.
func deref(b *bool) bool { return b != nil && *b }
