package tunnel

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

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

// validateSpec checks the values of a decoded spec from source.
func validateSpec(s *Spec, source api.SourceRef) *api.FieldError {
	if len(s.Rules) == 0 && s.Settings == nil {
		return &api.FieldError{Field: "spec", Reason: "must contain rules or settings (or both)"}
	}
	tunnelSource := isTunnelSource(source.Kind)
	if s.Settings != nil && !tunnelSource {
		return &api.FieldError{Field: "spec.settings", Reason: fmt.Sprintf(
			"only a Tunnel or ClusterTunnel source may set tunnel-wide settings (fallbackTarget, warpRouting, originRequest); this source is a %s", source.Kind)}
	}
	seen := make(map[ruleKey]int, len(s.Rules))
	for i := range s.Rules {
		path := "spec.rules[" + strconv.Itoa(i) + "]"
		if fe := validateRule(&s.Rules[i], path, tunnelSource); fe != nil {
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
		return validateSettings(s.Settings)
	}
	return nil
}

func validateSettings(st *Settings) *api.FieldError {
	if st.FallbackTarget != "" {
		if reason := api.CheckRuleService(st.FallbackTarget); reason != "" {
			return &api.FieldError{Field: "spec.settings.fallbackTarget", Reason: reason}
		}
	}
	return validateOriginRequest(st.OriginRequest, "spec.settings.originRequest")
}

func validateRule(r *Rule, path string, tunnelSource bool) *api.FieldError {
	if reason := api.CheckRuleHostname(r.Hostname); reason != "" {
		return &api.FieldError{Field: path + ".hostname", Reason: reason}
	}
	if reason := api.CheckRulePath(r.Path); reason != "" {
		return &api.FieldError{Field: path + ".path", Reason: reason}
	}
	if isCatchAll(r.Hostname, r.Path) {
		return &api.FieldError{Field: path + ".hostname", Reason: catchAllReason(r.Hostname, tunnelSource)}
	}
	if r.Service == "" {
		return &api.FieldError{Field: path + ".service", Reason: "is required"}
	}
	if reason := api.CheckRuleService(r.Service); reason != "" {
		return &api.FieldError{Field: path + ".service", Reason: reason}
	}
	return validateOriginRequest(r.OriginRequest, path+".originRequest")
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

// validateOriginRequest checks the values of o (nil is fine).
func validateOriginRequest(o *OriginRequest, path string) *api.FieldError {
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
		if d.v != nil && (*d.v < 0 || *d.v > maxSeconds) {
			return &api.FieldError{Field: path + "." + d.name, Reason: fmt.Sprintf(
				"must be a whole number of seconds between 0 and %d, got %d", maxSeconds, *d.v)}
		}
	}
	if v := o.KeepAliveConnections; v != nil && *v < 0 {
		return &api.FieldError{Field: path + ".keepAliveConnections", Reason: fmt.Sprintf("must not be negative, got %d", *v)}
	}
	if v := o.ProxyPort; v != nil && (*v < 0 || *v > maxPort) {
		return &api.FieldError{Field: path + ".proxyPort", Reason: fmt.Sprintf("must be a port between 0 and %d (0: pick one), got %d", maxPort, *v)}
	}
	if v := o.ProxyType; v != nil && *v != "" && *v != "socks" {
		return &api.FieldError{Field: path + ".proxyType", Reason: fmt.Sprintf(`must be "" (plain proxy) or "socks", got %q`, *v)}
	}
	for i := range o.IPRules {
		if fe := validateIPRule(&o.IPRules[i], path+".ipRules["+strconv.Itoa(i)+"]"); fe != nil {
			return fe
		}
	}
	return validateAccess(o.Access, path+".access")
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

func validateAccess(a *Access, path string) *api.FieldError {
	if a == nil {
		return nil
	}
	if len(a.AudTag) > 0 && (a.TeamName == nil || *a.TeamName == "") {
		return &api.FieldError{Field: path + ".teamName", Reason: msgAccessTeam}
	}
	for i, tag := range a.AudTag {
		if tag == "" {
			return &api.FieldError{Field: path + ".audTag[" + strconv.Itoa(i) + "]", Reason: "must not be empty"}
		}
	}
	return nil
}
