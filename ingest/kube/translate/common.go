package translate

import (
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

// CAPoolPath is where cloudflared must mount the Secret named by a caPool
// (its tls.crt): CAPoolPath(secret).
func CAPoolPath(secret string) string {
	return "/etc/cloudflared/certs/" + secret + "/tls.crt"
}

// Group is the API group of the tunnel CRDs, as class parameters name it.
const Group = "networking.cloudflare-operator.io"

// problems collects Problems in the order they are found.
type problems []Problem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
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

// credentials returns the API token reference of cf for an object in
// namespace ns. With l non-nil the Secret and key are checked. Problems are
// reported on field (e.g. "spec.cloudflare").
func credentials(cf *v1alpha2.CloudflareDetails, ns, field string, l Lookup, ps *problems) *api.SecretRef {
	if cf == nil {
		ps.add(field+".secret", "is required: the Secret holding the Cloudflare API token")
		return nil
	}
	n := len(*ps)
	if cf.CredentialsRef != nil {
		ps.add(field+".credentialsRef", "CloudflareCredentials objects are not supported by conflux-sync: name the Secret holding the API token in %s.secret instead", field)
	}
	if cf.Secret == "" {
		if cf.CredentialsRef == nil {
			ps.add(field+".secret", "is required: the Secret holding the Cloudflare API token")
		}
		return nil
	}
	if cf.CLOUDFLARE_API_KEY != "" && cf.CLOUDFLARE_API_TOKEN == "" {
		ps.add(field+".CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens: put a token in Secret %s/%s and name its key in %s.CLOUDFLARE_API_TOKEN", ns, cf.Secret, field)
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
	if l != nil {
		keys, ok := l.SecretKeys(ns, cf.Secret)
		switch {
		case !ok:
			ps.add(field+".secret", "Secret %s/%s not found", ns, cf.Secret)
		case slices.Contains(keys, key):
		case cf.CLOUDFLARE_API_KEY != "" && slices.Contains(keys, cf.CLOUDFLARE_API_KEY):
			ps.add(field+".CLOUDFLARE_API_KEY", "global API keys are not supported, only API tokens: Secret %s/%s has the API key %s but no token under key %s", ns, cf.Secret, cf.CLOUDFLARE_API_KEY, key)
		default:
			ps.add(field+".CLOUDFLARE_API_TOKEN", "Secret %s/%s has no key %s", ns, cf.Secret, key)
		}
	}
	if len(*ps) > n {
		return nil
	}
	return ref
}

// requireAccount reports an empty accountId: the kinds need the account id
// with a Secret's token (accountName is not looked up).
func requireAccount(cf *v1alpha2.CloudflareDetails, field string, ps *problems) {
	if cf.AccountID != "" {
		return
	}
	if cf.AccountName != "" {
		ps.add(field+".accountId", "is required: conflux-sync does not look accounts up by name (accountName %q); set the account id", cf.AccountName)
		return
	}
	ps.add(field+".accountId", "is required with the API token of %s.secret", field)
}

// ---- tunnels ----

// tunnelInfo is a resolved Tunnel or ClusterTunnel.
type tunnelInfo struct {
	kind, namespace, name string
	// target is the cloudflare.Tunnel target name.
	target string
	// zone is spec.cloudflare.domain, lower-case.
	zone      string
	accountID string
	creds     *api.SecretRef
}

func (t *tunnelInfo) String() string {
	if t.kind == v1alpha2.KindClusterTunnel {
		return t.kind + " " + t.name
	}
	return t.kind + " " + t.namespace + "/" + t.name
}

// secretNamespace is where a tunnel's Secrets live.
func secretNamespace(kind, ns string, o Options) string {
	if kind == v1alpha2.KindClusterTunnel {
		return o.Namespace
	}
	return ns
}

// resolveTunnel finds the tunnel a rule source names; problems go on field.
func resolveTunnel(l Lookup, o Options, kind, ns, name, field string, ps *problems) *tunnelInfo {
	var (
		meta *metav1.ObjectMeta
		spec *v1alpha2.TunnelSpec
		desc string
	)
	switch kind {
	case v1alpha2.KindTunnel:
		desc = "Tunnel " + ns + "/" + name
		if t, ok := l.Tunnel(ns, name); ok && t != nil {
			meta, spec = &t.ObjectMeta, &t.Spec
		}
	case v1alpha2.KindClusterTunnel:
		ns = ""
		desc = "ClusterTunnel " + name
		if t, ok := l.ClusterTunnel(name); ok && t != nil {
			meta, spec = &t.ObjectMeta, &t.Spec
		}
	default:
		ps.add(field, "kind must be Tunnel or ClusterTunnel, not %q", kind)
		return nil
	}
	if name == "" {
		ps.add(field, "names no %s", kind)
		return nil
	}
	if meta == nil {
		ps.add(field, "%s not found", desc)
		return nil
	}
	if meta.DeletionTimestamp != nil {
		ps.add(field, "%s is being deleted", desc)
		return nil
	}
	var cps problems
	creds := credentials(&spec.Cloudflare, secretNamespace(kind, ns, o), "spec.cloudflare", nil, &cps)
	if len(cps) > 0 {
		ps.add(field, "%s has no usable credentials (%s)", desc, cps[0])
		return nil
	}
	return &tunnelInfo{
		kind: kind, namespace: ns, name: name,
		target:    TunnelTarget(kind, ns, name),
		zone:      strings.TrimSuffix(strings.ToLower(spec.Cloudflare.Domain), "."),
		accountID: spec.Cloudflare.AccountID,
		creds:     creds,
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
		if reason := checkSecretName(in.CAPool); reason != "" {
			ps.add(field+".caPool", "%s", reason)
		} else {
			out.CAPool = ptr(CAPoolPath(in.CAPool))
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

// ---- services ----

// resolveService finds the Service port a backend names (by number, or by
// name when number is 0) and returns its origin URL. scheme overrides the
// scheme derived from the port when not empty. nameField and portField are
// where problems go.
func resolveService(l Lookup, ns, name string, number int32, portName, scheme, nameField, portField string, ps *problems) string {
	svc, ok := l.Service(ns, name)
	if !ok || svc == nil {
		ps.add(nameField, "Service %s/%s not found", ns, name)
		return ""
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (number != 0 && p.Port == number) || (number == 0 && portName != "" && p.Name == portName) {
			sp = p
			break
		}
	}
	if sp == nil {
		switch {
		case number != 0:
			ps.add(portField, "Service %s/%s has no port %d", ns, name, number)
		case portName != "":
			ps.add(portField, "Service %s/%s has no port named %s", ns, name, portName)
		default:
			ps.add(portField, "is required: a port number or name of Service %s/%s", ns, name)
		}
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
	rules  []api.TunnelRule
	// seen maps hostname+path to the field of its first rule.
	seen map[[2]string]string
	// hosts are the distinct hostnames.
	hosts map[string]bool
}

func newRuleSet(t *tunnelInfo, dns bool) *ruleSet {
	return &ruleSet{tunnel: t, dns: dns, seen: map[[2]string]string{}, hosts: map[string]bool{}}
}

// checkHost reports a hostname outside the tunnel's zone (when DNS is on).
func (rs *ruleSet) checkHost(host, field string, ps *problems) bool {
	if !rs.dns {
		return true
	}
	z := rs.tunnel.zone
	if z == "" {
		ps.add(field, "%s has no spec.cloudflare.domain, so no DNS record can be made for %s (disable DNS updates to manage DNS elsewhere)", rs.tunnel, host)
		return false
	}
	if host != z && !strings.HasSuffix(host, "."+z) {
		ps.add(field, "hostname %s is not in zone %s of %s", host, z, rs.tunnel)
		return false
	}
	return true
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
	if rs.dns {
		recs := make([]api.DNSRecord, len(hosts))
		for i, h := range hosts {
			recs[i] = api.DNSRecord{Name: h, Type: "CNAME", Tunnel: rs.tunnel.target, Proxied: true}
		}
		b.add(api.KindDNSRecord, rs.tunnel.zone, api.DNSSpec{AccountID: rs.tunnel.accountID, Records: recs, Credentials: rs.tunnel.creds})
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
	case group != Group:
		return fmt.Sprintf("its %s is %q, not %s", groupField, group, Group)
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
