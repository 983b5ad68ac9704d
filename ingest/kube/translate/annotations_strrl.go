package translate

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// STRRLAnnotationPrefix starts the annotations the STRRL dialect reads, as
// STRRL/cloudflare-tunnel-ingress-controller names them.
const STRRLAnnotationPrefix = "cloudflare-tunnel-ingress-controller.strrl.dev/"

// STRRL's annotations (without STRRLAnnotationPrefix).
const (
	STRRLAnnotationBackendProtocol        = "backend-protocol"
	STRRLAnnotationProxySSLVerify         = "proxy-ssl-verify"
	STRRLAnnotationHTTPHostHeader         = "http-host-header"
	STRRLAnnotationOriginServerName       = "origin-server-name"
	STRRLAnnotationDisableDNSManagement   = "disable-dns-management"
	STRRLAnnotationConnectTimeout         = "connect-timeout"
	STRRLAnnotationTLSTimeout             = "tls-timeout"
	STRRLAnnotationTCPKeepAlive           = "tcp-keepalive"
	STRRLAnnotationNoHappyEyeballs        = "no-happy-eyeballs"
	STRRLAnnotationKeepAliveConnections   = "keepalive-connections"
	STRRLAnnotationKeepAliveTimeout       = "keepalive-timeout"
	STRRLAnnotationNoTLSVerify            = "no-tls-verify"
	STRRLAnnotationDisableChunkedEncoding = "disable-chunked-encoding"
	STRRLAnnotationHTTP2Origin            = "http2-origin"
)

// strrlAnnotations are the parsed STRRL annotations of an Ingress; they
// apply to every rule of it.
type strrlAnnotations struct {
	// scheme is backend-protocol, lower-cased; default "http".
	scheme string
	// proxySSLVerify is proxy-ssl-verify (on: true); nil when not set.
	proxySSLVerify *bool
	// sslVerifySet is whether proxy-ssl-verify is there at all (any value).
	sslVerifySet     bool
	httpHostHeader   *string
	originServerName *string
	disableDNS       bool
	// origin holds the settings that apply to any scheme: the durations,
	// noHappyEyeballs, keepAliveConnections, noTLSVerify,
	// disableChunkedEncoding and http2Origin.
	origin api.OriginRequest
}

// urlSchemeRE is the syntax of a URL scheme (RFC 3986), lower-cased.
var urlSchemeRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

func strrlField(name string) string { return annotationField(STRRLAnnotationPrefix + name) }

// parseSTRRLAnnotations reads the cloudflare-tunnel-ingress-controller.strrl.dev/
// annotations the way STRRL's controller parses them; an invalid value or
// an unknown key is a problem (STRRL's controller failed the whole Ingress
// on an invalid value).
func parseSTRRLAnnotations(m map[string]string, ps *problems) strrlAnnotations {
	a := strrlAnnotations{scheme: "http"}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, STRRLAnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	o := &a.origin
	for _, key := range keys {
		v := m[key]
		field := annotationField(key)
		// STRRL's booleans are exactly "true" or "false".
		boolean := func(dst **bool) {
			switch v {
			case "true":
				*dst = ptr(true)
			case "false":
				*dst = ptr(false)
			default:
				ps.add(field, `must be "true" or "false", not %q`, v)
			}
		}
		// STRRL's durations are Go durations of a positive whole number of
		// seconds ("1500ms" is refused, not rounded).
		duration := func(dst **int64) {
			d, err := time.ParseDuration(v)
			switch {
			case err != nil:
				ps.add(field, `%q is not a duration such as "30s" or "1m30s"`, v)
			case d <= 0 || d%time.Second != 0:
				ps.add(field, "%q must be a positive whole number of seconds", v)
			case int64(d/time.Second) > maxSeconds:
				ps.add(field, "%q is too long", v)
			default:
				*dst = ptr(int64(d / time.Second))
			}
		}
		switch strings.TrimPrefix(key, STRRLAnnotationPrefix) {
		case STRRLAnnotationBackendProtocol:
			// STRRL's controller used the value verbatim; conflux-sync
			// lower-cases it (cloudflared does too, when it parses the URL).
			s := strings.ToLower(strings.TrimSpace(v))
			if !urlSchemeRE.MatchString(s) {
				ps.add(field, "%q is not a URL scheme such as http, https, tcp or ssh", v)
				continue
			}
			a.scheme = s
		case STRRLAnnotationProxySSLVerify:
			a.sslVerifySet = true
			switch v {
			case "on":
				a.proxySSLVerify = ptr(true)
			case "off":
				a.proxySSLVerify = ptr(false)
			default:
				ps.add(field, `must be "on" or "off", not %q`, v)
			}
		case STRRLAnnotationHTTPHostHeader:
			// An empty value is the same as none in cloudflared.
			a.httpHostHeader = nonEmpty(v)
		case STRRLAnnotationOriginServerName:
			a.originServerName = nonEmpty(v)
		case STRRLAnnotationDisableDNSManagement:
			var b *bool
			boolean(&b)
			a.disableDNS = b != nil && *b
		case STRRLAnnotationConnectTimeout:
			duration(&o.ConnectTimeout)
		case STRRLAnnotationTLSTimeout:
			duration(&o.TLSTimeout)
		case STRRLAnnotationTCPKeepAlive:
			duration(&o.TCPKeepAlive)
		case STRRLAnnotationKeepAliveTimeout:
			duration(&o.KeepAliveTimeout)
		case STRRLAnnotationNoHappyEyeballs:
			boolean(&o.NoHappyEyeballs)
		case STRRLAnnotationKeepAliveConnections:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1<<31-1 {
				ps.add(field, "must be a whole number >= 0, not %q", v)
			} else {
				o.KeepAliveConnections = ptr(int64(n))
			}
		case STRRLAnnotationNoTLSVerify:
			boolean(&o.NoTLSVerify)
		case STRRLAnnotationDisableChunkedEncoding:
			boolean(&o.DisableChunkedEncoding)
		case STRRLAnnotationHTTP2Origin:
			boolean(&o.HTTP2Origin)
		default:
			ps.add(field, "is not an annotation STRRL's controller knows (a typo?); known: %s", knownSTRRLAnnotations())
		}
	}
	if o.NoTLSVerify != nil && a.sslVerifySet {
		ps.add(strrlField(STRRLAnnotationNoTLSVerify), "and %s%s say the same thing inverted: set one of them", STRRLAnnotationPrefix, STRRLAnnotationProxySSLVerify)
	}
	if o.HTTP2Origin != nil && *o.HTTP2Origin && a.scheme != "https" {
		ps.add(strrlField(STRRLAnnotationHTTP2Origin), `"true" needs %s%s: https (HTTP/2 to the origin only works over TLS)`, STRRLAnnotationPrefix, STRRLAnnotationBackendProtocol)
	}
	return a
}

func knownSTRRLAnnotations() string {
	return strings.Join([]string{
		STRRLAnnotationBackendProtocol, STRRLAnnotationProxySSLVerify, STRRLAnnotationHTTPHostHeader,
		STRRLAnnotationOriginServerName, STRRLAnnotationDisableDNSManagement, STRRLAnnotationConnectTimeout,
		STRRLAnnotationTLSTimeout, STRRLAnnotationTCPKeepAlive, STRRLAnnotationNoHappyEyeballs,
		STRRLAnnotationKeepAliveConnections, STRRLAnnotationKeepAliveTimeout, STRRLAnnotationNoTLSVerify,
		STRRLAnnotationDisableChunkedEncoding, STRRLAnnotationHTTP2Origin,
	}, ", ")
}

// originFor is a rule's originRequest for a service of the annotations'
// scheme, as STRRL's controller builds it: httpHostHeader for any scheme;
// for https, originServerName and noTLSVerify (true unless
// proxy-ssl-verify: on); no-tls-verify overrides that for any scheme; then
// the other settings. nil when nothing is set.
func (a *strrlAnnotations) originFor() *api.OriginRequest {
	o := cloneOrigin(&a.origin)
	o.HTTPHostHeader = cloneString(a.httpHostHeader)
	if a.scheme == "https" {
		o.OriginServerName = cloneString(a.originServerName)
		if a.origin.NoTLSVerify == nil {
			o.NoTLSVerify = ptr(a.proxySSLVerify == nil || !*a.proxySSLVerify)
		}
	}
	return orNil(o)
}

// degraded lists the annotations that do not apply to the scheme, which
// STRRL's controller dropped silently.
func (a *strrlAnnotations) degraded() []Problem {
	if a.scheme == "https" {
		return nil
	}
	var out []Problem
	if a.originServerName != nil {
		out = append(out, Problem{Field: strrlField(STRRLAnnotationOriginServerName), Reason: "applies to https backends only (backend-protocol is " + a.scheme + "): ignored, as STRRL's controller ignored it"})
	}
	if a.proxySSLVerify != nil {
		out = append(out, Problem{Field: strrlField(STRRLAnnotationProxySSLVerify), Reason: "applies to https backends only (backend-protocol is " + a.scheme + "): ignored, as STRRL's controller ignored it"})
	}
	return out
}

func cloneString(s *string) *string {
	if s == nil {
		return nil
	}
	return ptr(*s)
}
