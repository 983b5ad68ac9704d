package translate

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// AnnotationPrefix starts every annotation the conflux-sync and
// cloudflare-operator dialects read on Ingresses and HTTPRoutes (see the
// package doc for the table).
const AnnotationPrefix = "cloudflare.com/"

// Annotations (without AnnotationPrefix): the union of conflux-sync's own
// and those StringKe/cloudflare-operator reads.
const (
	AnnotationProtocol = "protocol"
	// AnnotationProtocolPort + "<port>" (e.g. "protocol-9443") is the
	// scheme of the backends on that Service port; AnnotationProtocol wins.
	AnnotationProtocolPort           = "protocol-"
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
	AnnotationBastionMode            = "bastion-mode"
	AnnotationProxyAddress           = "proxy-address"
	AnnotationProxyPort              = "proxy-port"
	AnnotationProxyType              = "proxy-type"
	AnnotationDisableDNS             = "disable-dns"
	AnnotationDNSProxied             = "dns-proxied"
)

// annotationProtocols are the schemes the protocol annotations accept:
// cloudflared's HTTP schemes (http, https, ws, wss) and the stream schemes
// it proxies as TCP (every other scheme; udp and bastion because
// cloudflare-operator accepts them). unix and unix+tls name socket files,
// which a Service is not.
var annotationProtocols = []string{"http", "https", "ws", "wss", "tcp", "udp", "ssh", "rdp", "smb", "bastion"}

// annotations are the parsed cloudflare.com/ annotations of an object.
type annotations struct {
	// protocol is cloudflare.com/protocol; portProtocols are the
	// cloudflare.com/protocol-<port> ones, by port.
	protocol      string
	portProtocols map[int32]string
	origin        *api.OriginRequest
	disableDNS    bool
	// dnsProxied is cloudflare.com/dns-proxied; nil when not set.
	dnsProxied *bool
}

// protocolFor returns the scheme the annotations ask for on a Service
// port: cloudflare.com/protocol, else cloudflare.com/protocol-<port>;
// "" when neither says.
func (a annotations) protocolFor(port int32) string {
	if a.protocol != "" {
		return a.protocol
	}
	return a.portProtocols[port]
}

func annotationField(key string) string { return `metadata.annotations["` + key + `"]` }

// parseProtocol checks a protocol annotation's value.
func parseProtocol(v string) (string, string) {
	p := strings.ToLower(strings.TrimSpace(v))
	switch {
	case slices.Contains(annotationProtocols, p):
		return p, ""
	case p == "unix" || p == "unix+tls":
		return "", "unix sockets are not supported: the backend is a Service, which cloudflared reaches over the network, not through a socket file"
	}
	return "", "must be one of " + strings.Join(annotationProtocols, ", ") + ", not " + strconv.Quote(v)
}

// parseAnnotations reads the cloudflare.com/ annotations, one parser for
// the conflux-sync and cloudflare-operator dialects; unknown ones and bad
// values are problems. Keys are visited in sorted order.
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
			b, err := strconv.ParseBool(v)
			if err != nil {
				ps.add(field, `must be a boolean ("true" or "false"), not %q`, v)
				return
			}
			*dst = &b
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
		name := strings.TrimPrefix(key, AnnotationPrefix)
		if port, ok := strings.CutPrefix(name, AnnotationProtocolPort); ok {
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil || n == 0 {
				ps.add(field, "names no port: want %s%s<port number>, e.g. %s%s8443", AnnotationPrefix, AnnotationProtocolPort, AnnotationPrefix, AnnotationProtocolPort)
				continue
			}
			p, reason := parseProtocol(v)
			if reason != "" {
				ps.add(field, "%s", reason)
				continue
			}
			if a.portProtocols == nil {
				a.portProtocols = map[int32]string{}
			}
			a.portProtocols[int32(n)] = p
			continue
		}
		switch name {
		case AnnotationProtocol:
			p, reason := parseProtocol(v)
			if reason != "" {
				ps.add(field, "%s", reason)
			}
			a.protocol = p
		case AnnotationNoTLSVerify:
			boolean(&o.NoTLSVerify)
		case AnnotationHTTPHostHeader:
			str(&o.HTTPHostHeader)
		case AnnotationOriginServerName:
			str(&o.OriginServerName)
		case AnnotationMatchSNIToHost:
			boolean(&o.MatchSNIToHost)
		case AnnotationCAPool:
			if p, reason := caPool(v); reason != "" {
				ps.add(field, "%s (want a file of the tunnel's originCaPool Secret, mounted at %s)", reason, CertsDir)
			} else {
				o.CAPool = &p
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
		case AnnotationBastionMode:
			boolean(&o.BastionMode)
		case AnnotationProxyAddress:
			str(&o.ProxyAddress)
		case AnnotationProxyPort:
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
			if err != nil {
				ps.add(field, "must be a port number between 0 and 65535 (0: cloudflared picks one), not %q", v)
			} else {
				o.ProxyPort = ptr(int64(n))
			}
		case AnnotationProxyType:
			switch v {
			case "":
				// cloudflared's default (an HTTP proxy), as if not set.
			case "socks":
				o.ProxyType = ptr(v)
			default:
				ps.add(field, `must be "" or "socks", not %q`, v)
			}
		case AnnotationDisableDNS:
			var b *bool
			boolean(&b)
			a.disableDNS = b != nil && *b
		case AnnotationDNSProxied:
			boolean(&a.dnsProxied)
		default:
			ps.add(field, "is not an annotation conflux-sync knows (a typo?); known: %s", knownAnnotations())
		}
	}
	a.origin = orNil(o)
	return a
}

func knownAnnotations() string {
	return strings.Join([]string{
		AnnotationProtocol, AnnotationProtocolPort + "<port>", AnnotationNoTLSVerify, AnnotationHTTPHostHeader,
		AnnotationOriginServerName, AnnotationMatchSNIToHost, AnnotationCAPool, AnnotationConnectTimeout,
		AnnotationTLSTimeout, AnnotationTCPKeepAlive, AnnotationKeepAliveTimeout, AnnotationKeepAliveConnections,
		AnnotationNoHappyEyeballs, AnnotationDisableChunkedEncoding, AnnotationHTTP2Origin, AnnotationBastionMode,
		AnnotationProxyAddress, AnnotationProxyPort, AnnotationProxyType, AnnotationDisableDNS, AnnotationDNSProxied,
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

// overlayOrigin returns base with every field top sets replaced by top's
// (a new value; neither argument is changed); nil when both are empty.
func overlayOrigin(base, top *api.OriginRequest) *api.OriginRequest {
	out := &api.OriginRequest{}
	if base != nil {
		*out = *base
	}
	if top != nil {
		dst, src := reflect.ValueOf(out).Elem(), reflect.ValueOf(top).Elem()
		for i := range src.NumField() {
			if f := src.Field(i); !f.IsZero() {
				dst.Field(i).Set(f)
			}
		}
	}
	return orNil(out)
}

// foreignAnnotations reports, as Degraded, the annotations of another
// dialect's prefix on an object: they are not read in this one.
func foreignAnnotations(m map[string]string, prefix, why string) []Problem {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]Problem, 0, len(keys))
	for _, k := range keys {
		out = append(out, Problem{Field: annotationField(k), Reason: why})
	}
	return out
}
