package api

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The checks of one tunnel ingress rule, as cloudflared runs them on every
// configuration PUT (ingress/ingress.go). sync/tunnel validates fragments
// with them and the Terraform provider validates plans with them, so a bad
// value fails where it is written, with cloudflared's own words. The
// Check* functions refuse only what cloudflared refuses; the *Warning ones
// name what it accepts but what will likely never work.

const (
	maxHostnameLen = 253
	maxLabelLen    = 63

	// Messages shared with cloudflared, so users can search for them.
	msgBadWildcard  = `Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"`
	msgHostWithPort = "Hostname cannot contain a port"
)

// CheckRuleHostname returns why cloudflared refuses h as a rule hostname,
// or "". cloudflared checks two things only (validateHostname): no port
// (net.SplitHostPort succeeds, so "a.example.com:443" and "[::1]:80", but
// not "::1") and no "*" after the first character. Empty and "*" mean
// "any host" and are fine here; whether the rule is then a forbidden
// catch-all depends on its path. Everything else cloudflared accepts is
// judged by RuleHostnameWarning.
func CheckRuleHostname(h string) string {
	if _, _, err := net.SplitHostPort(h); err == nil {
		return msgHostWithPort
	}
	if strings.LastIndex(h, "*") > 0 {
		return msgBadWildcard
	}
	return ""
}

// RuleHostnameWarning returns why h, which cloudflared and the Cloudflare
// API accept (CheckRuleHostname passed), will likely never match a request,
// or "". cloudflared compares the rule's hostname with the request's Host
// header as a string, so a name that is not a DNS name only matches a Host
// spelled exactly like it. Non-ASCII labels are fine: cloudflared also
// matches their punycode form (xn--…).
func RuleHostnameWarning(h string) string {
	if h == "" || h == "*" {
		return ""
	}
	if h[0] == '*' && !strings.HasPrefix(h, "*.") {
		return fmt.Sprintf("%q is not a wildcard: cloudflared treats only a leading \"*.\" as one, so this matches only a Host header spelled exactly like it", h)
	}
	name := strings.TrimPrefix(h, "*.")
	// A Unicode name's length is that of its punycode form, unknown here.
	if len(h) > maxHostnameLen && !strings.ContainsFunc(h, func(r rune) bool { return r >= utf8.RuneSelf }) {
		return fmt.Sprintf("is %d characters long; a DNS name may have at most %d", len(h), maxHostnameLen)
	}
	if strings.HasSuffix(name, ".") {
		return "ends with a dot: cloudflared compares it with the request's Host header, which has none, so it never matches"
	}
	for label := range strings.SplitSeq(name, ".") {
		if reason := checkDNSLabel(label); reason != "" {
			return reason + "; cloudflared accepts the rule, but no request for a DNS name will match it"
		}
	}
	return ""
}

// checkDNSLabel applies the DNS letter-digit-hyphen rule to one label. Upper
// case is accepted: DNS names are case-insensitive and the aggregate
// lower-cases them. A label with non-ASCII letters is an internationalised
// one: cloudflared matches it and its punycode form, so only its ASCII
// characters are held to the rule, and its length is that of the punycode
// form, which is not known here.
func checkDNSLabel(label string) string {
	switch {
	case label == "":
		return "has an empty label (two dots in a row or a leading dot)"
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Sprintf("label %q must not start or end with a hyphen", label)
	}
	ascii := true
	for _, c := range label {
		switch {
		case c == utf8.RuneError:
			return fmt.Sprintf("label %q is not valid UTF-8", label)
		case c >= utf8.RuneSelf:
			ascii = false
		case !isLDH(byte(c)):
			return fmt.Sprintf("contains %q; only letters, digits and hyphens are allowed in a DNS label", c)
		}
	}
	if ascii && len(label) > maxLabelLen {
		return fmt.Sprintf("label %q is %d characters long; at most %d are allowed", label, len(label), maxLabelLen)
	}
	return ""
}

func isLDH(c byte) bool {
	return c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// CheckRulePath returns why p is not a usable path regex, or "".
func CheckRulePath(p string) string {
	if p == "" {
		return ""
	}
	// syntax.Parse is where regexp.Compile (cloudflared's check) finds every
	// error it reports; skipping the compilation to a program halves the cost.
	if _, err := syntax.Parse(p, syntax.Perl); err != nil {
		reason := "invalid regex: " + err.Error()
		var se *syntax.Error
		if errors.As(err, &se) && se.Code == syntax.ErrMissingRepeatArgument {
			// The usual cause is a glob such as "*" or "/static/*".
			reason += `; path is a regular expression, not a glob: use ".*" to match anything`
		}
		return reason
	}
	return ""
}

// anyPathSpellings are the path regexps that match every request path (a
// request path always starts with "/"), as no path does.
var anyPathSpellings = map[string]bool{
	"/": true, "^/": true, ".*": true, "^.*": true, "/.*": true, "^/.*": true,
	".*$": true, "^.*$": true, "^/.*$": true,
}

// MatchPath is the path as rules of two sources are compared for a
// conflict: "" for every spelling of "any path" ("/", "^/", ".*", …),
// else p. Two sources whose rules for one hostname differ only in that
// spelling route the same requests, so cloudflared would only ever use
// the first: that is a conflict like an exact duplicate.
func MatchPath(p string) string {
	if anyPathSpellings[p] {
		return ""
	}
	return p
}

// The services cloudflared knows by name (ingress.go validateIngress).
const (
	ServiceHelloWorld      = "hello_world"
	ServiceHelloWorldAlias = "hello-world"
	ServiceBastion         = "bastion"
	ServiceSocksProxy      = "socks-proxy"
)

// CheckRuleService returns why cloudflared refuses s as a rule's service,
// or "". A rule whose effective bastionMode is true has its service
// replaced by the bastion unless it is a unix:, http_status:, hello_world
// or socks-proxy service, so its caller skips the URL check (see
// IsNamedService). Whether "" is allowed is the caller's decision too.
func CheckRuleService(s string) string {
	switch s {
	case ServiceHelloWorld, ServiceHelloWorldAlias, ServiceBastion, ServiceSocksProxy:
		return ""
	case "":
		return "is required"
	}
	if rest, ok := strings.CutPrefix(s, "http_status:"); ok {
		code, err := strconv.Atoi(rest)
		if err != nil {
			return fmt.Sprintf("invalid HTTP status code: %q is not a number", rest)
		}
		if code < 100 || code > 999 {
			return fmt.Sprintf("invalid HTTP status code: %d", code)
		}
		return ""
	}
	if strings.HasPrefix(s, "unix:") || strings.HasPrefix(s, "unix+tls:") {
		return "" // cloudflared does not look at the path
	}
	return checkServiceURL(s)
}

// IsNamedService reports whether cloudflared picks s's service before
// looking at bastionMode: a unix socket, a status code, hello_world or the
// SOCKS proxy. Any other service of a rule in bastion mode is ignored.
func IsNamedService(s string) bool {
	switch s {
	case ServiceHelloWorld, ServiceHelloWorldAlias, ServiceSocksProxy:
		return true
	}
	return strings.HasPrefix(s, "unix:") || strings.HasPrefix(s, "unix+tls:") || strings.HasPrefix(s, "http_status:")
}

// RuleServiceWarning returns why s, which cloudflared accepts, will fail
// every request, or "".
func RuleServiceWarning(s string) string {
	for _, prefix := range []string{"unix:", "unix+tls:"} {
		if s == prefix {
			return prefix + " has no socket path: cloudflared accepts it, but every request fails to connect; write " + prefix + "/run/app.sock"
		}
	}
	return ""
}

// checkServiceURL applies cloudflared's rules (and messages) for URL
// services: scheme and host required, no path.
func checkServiceURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return err.Error()
	}
	if u.Scheme == "" || u.Hostname() == "" {
		return s + " is an invalid address, please make sure it has a scheme and a hostname"
	}
	if u.Path != "" {
		return s + " is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path"
	}
	return ""
}
