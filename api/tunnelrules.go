package api

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp/syntax"
	"strconv"
	"strings"
)

// The checks of one tunnel ingress rule, as cloudflared runs them on every
// configuration PUT (ingress/ingress.go). sync/tunnel validates fragments
// with them and the Terraform provider validates plans with them, so a bad
// value fails where it is written, with cloudflared's own words.

const (
	maxHostnameLen = 253
	maxLabelLen    = 63

	// Messages shared with cloudflared, so users can search for them.
	msgBadWildcard  = `Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"`
	msgHostWithPort = "Hostname cannot contain a port"
)

// CheckRuleHostname returns why h is not an acceptable rule hostname, or "".
// Empty and "*" mean "any host" and are fine here; whether the rule is then
// a forbidden catch-all depends on its path.
func CheckRuleHostname(h string) string {
	if h == "" || h == "*" {
		return ""
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return msgHostWithPort
	}
	if strings.LastIndex(h, "*") > 0 || (h[0] == '*' && !strings.HasPrefix(h, "*.")) {
		return msgBadWildcard
	}
	name := strings.TrimPrefix(h, "*.")
	if len(h) > maxHostnameLen {
		return fmt.Sprintf("is %d characters long; a DNS name may have at most %d", len(h), maxHostnameLen)
	}
	if strings.HasSuffix(name, ".") {
		return "must not end with a dot: cloudflared compares it with the request's Host header, which has none"
	}
	for label := range strings.SplitSeq(name, ".") {
		if reason := checkDNSLabel(label); reason != "" {
			return reason
		}
	}
	return ""
}

// checkDNSLabel applies the DNS letter-digit-hyphen rule to one label. Upper
// case is accepted: DNS names are case-insensitive and the aggregate
// lower-cases them.
func checkDNSLabel(label string) string {
	switch {
	case label == "":
		return "has an empty label (two dots in a row or a leading dot)"
	case len(label) > maxLabelLen:
		return fmt.Sprintf("label %q is %d characters long; at most %d are allowed", label, len(label), maxLabelLen)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Sprintf("label %q must not start or end with a hyphen", label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c >= 0x80 {
			return "must be ASCII: write internationalised names in punycode (xn--…)"
		}
		if !isLDH(c) {
			return fmt.Sprintf("contains %q; only letters, digits and hyphens are allowed in a DNS label", c)
		}
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

// CheckRuleService returns why s is not a service cloudflared accepts, or "".
func CheckRuleService(s string) string {
	switch s {
	case "hello_world", "hello-world", "bastion", "socks5":
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
	for _, prefix := range []string{"unix:", "unix+tls:"} {
		if path, ok := strings.CutPrefix(s, prefix); ok {
			if path == "" {
				return prefix + " needs the path of a socket, e.g. " + prefix + "/run/app.sock"
			}
			return ""
		}
	}
	return checkServiceURL(s)
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
