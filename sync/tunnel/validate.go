package tunnel

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/conflux-sync/conflux-sync/api"
)

// The rules below follow cloudflared's ingress validation (ingress/ingress.go),
// which the Cloudflare API runs on every PUT: catching a violation here names
// the producer's field instead of failing the whole tunnel's flush later.

const (
	// DefaultFallback is the catch-all service when the Tunnel source names
	// none.
	DefaultFallback = "http_status:404"

	// maxSeconds keeps seconds*time.Second inside int64: cloudflare-go and
	// cloudflared turn these values into time.Duration.
	maxSeconds = math.MaxInt64 / int64(time.Second)
	maxPort    = 65535
)

// Messages shared with cloudflared, so users can search for them.
const (
	msgAccessTeam = "access.TeamName cannot be blank when access.audTags are present"
)

// isTunnelSource reports whether a source kind owns tunnel-wide settings:
// a Tunnel or ClusterTunnel, of either cloudflare-operator group (adyanth's
// are qualified with theirs, "Tunnel.networking.cfargotunnel.com").
func isTunnelSource(kind string) bool {
	k := baseKind(kind)
	return k == "Tunnel" || k == "ClusterTunnel"
}

// baseKind is a source kind without its API group qualifier.
func baseKind(kind string) string {
	k, _, _ := strings.Cut(kind, ".")
	return k
}

// checks collects the warnings of one validation: values cloudflared (and
// so the Cloudflare API) accepts, but that are likely mistakes. Where this
// validator used to be stricter than cloudflared, the API decides: what it
// accepts is accepted here too, with a warning saying why it is doubtful.
type checks struct {
	warnings []api.Warning
}

func (c *checks) warn(field, format string, a ...any) {
	c.warnings = append(c.warnings, api.Warning{Field: field, Message: fmt.Sprintf(format, a...)})
}

// validateSpec checks the values of a decoded spec from source.
func validateSpec(s *Spec, source api.SourceRef, c *checks) *api.FieldError {
	if len(s.Rules) == 0 && s.Settings == nil {
		return &api.FieldError{Field: "spec", Reason: "must contain rules or settings (or both)"}
	}
	tunnelSource := isTunnelSource(source.Kind)
	if s.Settings != nil && !tunnelSource {
		return &api.FieldError{Field: "spec.settings", Reason: fmt.Sprintf(
			"only a Tunnel or ClusterTunnel source may set tunnel-wide settings (fallbackTarget, warpRouting, originRequest); this source is a %s", source.Kind)}
	}
	// The Tunnel fragment's own rules are checked with its top-level
	// bastionMode, as cloudflared will; another source's rules cannot
	// count on a setting that is not theirs.
	var top *OriginRequest
	if s.Settings != nil {
		top = s.Settings.OriginRequest
	}
	seen := make(map[ruleKey]int, len(s.Rules))
	for i := range s.Rules {
		path := "spec.rules[" + strconv.Itoa(i) + "]"
		if fe := validateRule(&s.Rules[i], top, path, tunnelSource, c); fe != nil {
			return fe
		}
		k := keyOf(&s.Rules[i])
		if first, dup := seen[k]; dup {
			return &api.FieldError{Field: path, Reason: fmt.Sprintf(
				"duplicates spec.rules[%d]: same hostname %q and path %q (cloudflared would only ever use the first)", first, k.host, k.path)}
		}
		seen[k] = i
	}
	if s.Settings != nil {
		return validateSettings(s.Settings, c)
	}
	return nil
}

func validateSettings(st *Settings, c *checks) *api.FieldError {
	if st.FallbackTarget != "" {
		if fe := checkService(st.FallbackTarget, "spec.settings", ".fallbackTarget", c); fe != nil {
			return fe
		}
	}
	path := "spec.settings.originRequest"
	if o := st.OriginRequest; o != nil {
		// validateIngress builds a rule's Access check and a socks-proxy's
		// IP policy from the rule's own originRequest: the top-level
		// values are inherited into every rule but used by none.
		if len(o.IPRules) > 0 {
			c.warn(path+".ipRules", "has no effect: cloudflared applies only the ipRules of a socks-proxy rule's own originRequest")
		}
		if o.Access != nil {
			c.warn(path+".access", "has no effect: cloudflared checks Access tokens only with the access of a rule's own originRequest")
		}
		if isTrue(o.BastionMode) {
			c.warn(path+".bastionMode", "makes every rule whose service is not unix:, http_status:, hello_world or socks-proxy the bastion, whatever its service says (the generated catch-all too, when fallbackTarget is a URL)")
		}
	}
	return validateOriginRequest(st.OriginRequest, path, c)
}

// isTrue reports whether an optional bool is set to true.
func isTrue(b *bool) bool { return b != nil && *b }

// bastionMode is a rule's effective bastionMode (cloudflared's setConfig):
// its own when it sets one, else the top-level one.
func bastionMode(rule, top *OriginRequest) bool {
	if rule != nil && rule.BastionMode != nil {
		return *rule.BastionMode
	}
	return top != nil && isTrue(top.BastionMode)
}

func validateRule(r *Rule, top *OriginRequest, path string, tunnelSource bool, c *checks) *api.FieldError {
	if reason := api.CheckRuleHostname(r.Hostname); reason != "" {
		return &api.FieldError{Field: path + ".hostname", Reason: reason}
	}
	if reason := api.RuleHostnameWarning(r.Hostname); reason != "" {
		c.warn(path+".hostname", "%s", reason)
	} else if !isASCII(r.Hostname) {
		// Requests carry the punycode form; cloudflared matches a Unicode
		// rule against it only when it can convert the rule (never a
		// wildcard: idna refuses the "*").
		if _, err := idna.Lookup.ToASCII(r.Hostname); err != nil {
			c.warn(path+".hostname", "cloudflared cannot convert it to punycode (%v), and requests carry that form, so it never matches; write the name in punycode (xn--…)", err)
		}
	}
	if reason := api.CheckRulePath(r.Path); reason != "" {
		return &api.FieldError{Field: path + ".path", Reason: reason}
	}
	if isCatchAll(r.Hostname, r.Path) {
		return &api.FieldError{Field: path + ".hostname", Reason: catchAllReason(r.Hostname, tunnelSource)}
	}
	o := r.OriginRequest
	switch {
	case bastionMode(o, top) && !api.IsNamedService(r.Service):
		// validateIngress makes the rule the bastion whatever else its
		// service says: the service may be left out.
		if r.Service != "" && r.Service != api.ServiceBastion {
			c.warn(path+".service", "is ignored: bastionMode makes this rule the bastion service; write %q or leave the service out", api.ServiceBastion)
		}
	case r.Service == "":
		return &api.FieldError{Field: path + ".service", Reason: "is required (or set originRequest.bastionMode for a bastion)"}
	default:
		if fe := checkService(r.Service, path, ".service", c); fe != nil {
			return fe
		}
	}
	if o == nil {
		return nil
	}
	path += ".originRequest"
	// The field paths are built only when there is something to check:
	// validation runs for every rule of every fragment on each aggregate.
	if len(o.IPRules) > 0 {
		if fe := validateIPRules(o.IPRules, r.Service, path+".ipRules", c); fe != nil {
			return fe
		}
	}
	if o.Access != nil {
		if fe := validateAccess(o.Access, path+".access", c); fe != nil {
			return fe
		}
	}
	return validateOriginRequest(o, path, c)
}

// checkService checks a service cloudflared must parse; its field is
// path+name, built only when there is something to say.
func checkService(svc, path, name string, c *checks) *api.FieldError {
	if reason := api.CheckRuleService(svc); reason != "" {
		return &api.FieldError{Field: path + name, Reason: reason}
	}
	if reason := api.RuleServiceWarning(svc); reason != "" {
		c.warn(path+name, "%s", reason)
	}
	return nil
}

// isCatchAll is cloudflared's definition: no hostname filter (empty or "*")
// and no path filter.
func isCatchAll(hostname, path string) bool {
	return (hostname == "" || hostname == "*") && path == ""
}

// catchAllReason explains why a rule may not match everything: the
// aggregate generates the only catch-all itself, last, and cloudflared
// rejects a catch-all anywhere else.
func catchAllReason(hostname string, tunnelSource bool) string {
	what := "a rule without a hostname"
	if hostname == "*" {
		what = `a rule with hostname "*"`
	}
	what += " and without a path matches every request (a catch-all), and rules after it would never be used"
	if tunnelSource {
		return what + "; set the catch-all's service with settings.fallbackTarget instead"
	}
	return what + "; the catch-all is generated from the Tunnel's settings.fallbackTarget, so give this rule a hostname or a path"
}

// validateOriginRequest checks the values of o (nil is fine) that
// cloudflared reads the same at the top level and in a rule. It refuses
// only what cloudflared cannot decode; values it takes but cannot use are
// warnings.
func validateOriginRequest(o *OriginRequest, path string, c *checks) *api.FieldError {
	if o == nil {
		return nil
	}
	seconds := []struct {
		name string
		v    *int64
	}{
		{"connectTimeout", o.ConnectTimeout},
		{"tlsTimeout", o.TLSTimeout},
		{"tcpKeepAlive", o.TCPKeepAlive},
		{"keepAliveTimeout", o.KeepAliveTimeout},
	}
	for _, d := range seconds {
		// cloudflared multiplies the seconds into a time.Duration without
		// a range check: a negative value is a timeout that has already
		// passed, a huge one wraps around.
		if d.v != nil && (*d.v < 0 || *d.v > maxSeconds) {
			c.warn(path+"."+d.name, "%d is not a usable number of seconds (cloudflared takes 0 to %d): it accepts the value, but its timeout is meaningless", *d.v, maxSeconds)
		}
	}
	if v := o.KeepAliveConnections; v != nil && *v < 0 {
		c.warn(path+".keepAliveConnections", "is negative (%d): cloudflared accepts it, and Go's HTTP transport then keeps no idle connections", *v)
	}
	if v := o.ProxyPort; v != nil {
		// cloudflared decodes proxyPort into an unsigned integer.
		if *v < 0 {
			return &api.FieldError{Field: path + ".proxyPort", Reason: fmt.Sprintf("must not be negative (cloudflared reads it as an unsigned integer), got %d", *v)}
		}
		if *v > maxPort {
			c.warn(path+".proxyPort", "%d is not a port (0 to %d, 0: pick one): cloudflared accepts it, but cannot listen on it", *v, maxPort)
		}
	}
	if v := o.ProxyType; v != nil && *v != "" && *v != proxyTypeSocks {
		c.warn(path+".proxyType", "cloudflared starts a SOCKS proxy only for %q; any other value, such as %q, means a plain TCP proxy", proxyTypeSocks, *v)
	}
	return nil
}

// proxyTypeSocks is the one proxyType cloudflared acts on.
const proxyTypeSocks = "socks"

// validateIPRules checks a rule's own ipRules. cloudflared refuses a bad
// one only on a socks-proxy service, the one service that uses them; on
// any other it drops them.
func validateIPRules(rules []IPRule, service, path string, c *checks) *api.FieldError {
	if len(rules) == 0 {
		return nil
	}
	if service != api.ServiceSocksProxy {
		c.warn(path, "has no effect: cloudflared applies ipRules only to a %s service", api.ServiceSocksProxy)
		return nil
	}
	for i := range rules {
		if fe := validateIPRule(&rules[i], path+"["+strconv.Itoa(i)+"]"); fe != nil {
			return fe
		}
	}
	return nil
}

func validateIPRule(r *IPRule, path string) *api.FieldError {
	if r.Prefix == nil || *r.Prefix == "" {
		return &api.FieldError{Field: path + ".prefix", Reason: "is required (a CIDR such as 10.0.0.0/8)"}
	}
	if _, _, err := net.ParseCIDR(*r.Prefix); err != nil {
		return &api.FieldError{Field: path + ".prefix", Reason: fmt.Sprintf("%q is not a CIDR prefix such as 10.0.0.0/8", *r.Prefix)}
	}
	for i, p := range r.Ports {
		if p < 1 || p > maxPort {
			return &api.FieldError{Field: path + ".ports[" + strconv.Itoa(i) + "]", Reason: fmt.Sprintf("invalid port %d, needs to be between 1 and %d", p, maxPort)}
		}
	}
	return nil
}

// validateAccess checks a rule's own access, as validateIngress does: only
// a required check must be complete.
func validateAccess(a *Access, path string, c *checks) *api.FieldError {
	if a == nil {
		return nil
	}
	team := a.TeamName != nil && *a.TeamName != ""
	if a.Required == nil || !*a.Required {
		if team || len(a.AudTag) > 0 || a.Environment != nil {
			c.warn(path+".required", "is not true, so cloudflared checks no Access token: teamName, audTag and environment have no effect")
		}
		return nil
	}
	if len(a.AudTag) > 0 && !team {
		return &api.FieldError{Field: path + ".teamName", Reason: msgAccessTeam}
	}
	if !team {
		c.warn(path+".teamName", "is empty: cloudflared accepts a required Access check without a team, but cannot fetch the team's keys, so every request is refused")
	}
	for i, tag := range a.AudTag {
		if tag == "" {
			c.warn(path+".audTag["+strconv.Itoa(i)+"]", "is empty: no Access token carries an empty audience tag")
		}
	}
	if e := a.Environment; e != nil && *e != "" && *e != accessFed {
		c.warn(path+".environment", "cloudflared knows only %q (FedRAMP); any other value, such as %q, means the commercial Access endpoint", accessFed, *e)
	}
	return nil
}

// accessFed is the access.environment that selects FedRAMP's Access keys.
const accessFed = "fed"
