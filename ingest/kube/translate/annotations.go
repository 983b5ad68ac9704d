package translate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// AnnotationPrefix starts every annotation this package reads on Ingresses
// and HTTPRoutes (see the package doc for the table).
const AnnotationPrefix = "cloudflare.com/"

// Annotations (without AnnotationPrefix).
const (
	AnnotationProtocol               = "protocol"
	AnnotationNoTLSVerify            = "no-tls-verify"
	AnnotationHTTPHostHeader         = "http-host-header"
	AnnotationOriginServerName       = "origin-server-name"
	AnnotationMatchSNIToHost         = "match-sni-to-host"
	AnnotationCAPool                 = "ca-pool"
	AnnotationConnectTimeout         = "connect-timeout"
	AnnotationTLSTimeout             = "tls-timeout"
	AnnotationTCPKeepAlive           = "tcp-keep-alive"
	AnnotationKeepAliveTimeout       = "keep-alive-timeout"
	AnnotationKeepAliveConnections   = "keep-alive-connections"
	AnnotationNoHappyEyeballs        = "no-happy-eyeballs"
	AnnotationDisableChunkedEncoding = "disable-chunked-encoding"
	AnnotationHTTP2Origin            = "http2-origin"
	AnnotationDisableDNS             = "disable-dns"
)

// Protocols the protocol annotation accepts.
var annotationProtocols = []string{"http", "https", "tcp", "ssh", "rdp", "smb"}

// annotations are the parsed cloudflare.com/ annotations of an object.
type annotations struct {
	protocol   string
	origin     *api.OriginRequest
	disableDNS bool
}

func annotationField(key string) string { return `metadata.annotations["` + key + `"]` }

// parseAnnotations reads the cloudflare.com/ annotations; unknown ones and
// bad values are problems. Keys are visited in sorted order.
func parseAnnotations(m map[string]string, ps *problems) annotations {
	var a annotations
	o := &api.OriginRequest{}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasPrefix(k, AnnotationPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		v := m[key]
		field := annotationField(key)
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
		duration := func(dst **int64) {
			secs, reason := seconds(v)
			if reason != "" {
				ps.add(field, "%s", reason)
				return
			}
			*dst = &secs
		}
		str := func(dst **string) {
			if s := strings.TrimSpace(v); s != "" {
				*dst = &s
			} else {
				ps.add(field, "must not be empty")
			}
		}
		switch strings.TrimPrefix(key, AnnotationPrefix) {
		case AnnotationProtocol:
			p := strings.ToLower(strings.TrimSpace(v))
			switch {
			case slices.Contains(annotationProtocols, p):
				a.protocol = p
			case p == "udp":
				ps.add(field, "udp is not supported on public hostnames (cloudflared serves UDP to WARP clients only, through a NetworkRoute); use one of %s", strings.Join(annotationProtocols, ", "))
			default:
				ps.add(field, "must be one of %s, not %q", strings.Join(annotationProtocols, ", "), v)
			}
		case AnnotationNoTLSVerify:
			boolean(&o.NoTLSVerify)
		case AnnotationHTTPHostHeader:
			str(&o.HTTPHostHeader)
		case AnnotationOriginServerName:
			str(&o.OriginServerName)
		case AnnotationMatchSNIToHost:
			boolean(&o.MatchSNIToHost)
		case AnnotationCAPool:
			if reason := checkSecretName(v); reason != "" {
				ps.add(field, "%s (want the name of a Secret holding tls.crt)", reason)
			} else {
				o.CAPool = ptr(CAPoolPath(v))
			}
		case AnnotationConnectTimeout:
			duration(&o.ConnectTimeout)
		case AnnotationTLSTimeout:
			duration(&o.TLSTimeout)
		case AnnotationTCPKeepAlive:
			duration(&o.TCPKeepAlive)
		case AnnotationKeepAliveTimeout:
			duration(&o.KeepAliveTimeout)
		case AnnotationKeepAliveConnections:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil || n < 0 {
				ps.add(field, "must be a whole number >= 0, not %q", v)
			} else {
				o.KeepAliveConnections = &n
			}
		case AnnotationNoHappyEyeballs:
			boolean(&o.NoHappyEyeballs)
		case AnnotationDisableChunkedEncoding:
			boolean(&o.DisableChunkedEncoding)
		case AnnotationHTTP2Origin:
			boolean(&o.HTTP2Origin)
		case AnnotationDisableDNS:
			var b *bool
			boolean(&b)
			a.disableDNS = b != nil && *b
		default:
			ps.add(field, "is not an annotation conflux-sync knows (a typo?); known: %s", knownAnnotations())
		}
	}
	a.origin = orNil(o)
	return a
}

func knownAnnotations() string {
	return strings.Join([]string{
		AnnotationProtocol, AnnotationNoTLSVerify, AnnotationHTTPHostHeader, AnnotationOriginServerName,
		AnnotationMatchSNIToHost, AnnotationCAPool, AnnotationConnectTimeout, AnnotationTLSTimeout,
		AnnotationTCPKeepAlive, AnnotationKeepAliveTimeout, AnnotationKeepAliveConnections,
		AnnotationNoHappyEyeballs, AnnotationDisableChunkedEncoding, AnnotationHTTP2Origin, AnnotationDisableDNS,
	}, ", ")
}

// cloneOrigin copies o so rules do not share one pointer.
func cloneOrigin(o *api.OriginRequest) *api.OriginRequest {
	if o == nil {
		return nil
	}
	c := *o
	return &c
}
