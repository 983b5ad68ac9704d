package translate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// describe renders parsed cloudflare.com/ annotations for comparison.
func (a annotations) describe() string {
	var parts []string
	if a.protocol != "" {
		parts = append(parts, "protocol="+a.protocol)
	}
	var ports []string
	for p, s := range a.portProtocols {
		ports = append(ports, fmt.Sprintf("protocol-%d=%s", p, s))
	}
	slices.Sort(ports)
	parts = append(parts, ports...)
	if a.origin != nil {
		b, _ := json.Marshal(a.origin)
		parts = append(parts, "origin="+string(b))
	}
	if a.disableDNS {
		parts = append(parts, "disableDNS")
	}
	if a.dnsProxied != nil {
		parts = append(parts, fmt.Sprintf("dnsProxied=%t", *a.dnsProxied))
	}
	return strings.Join(parts, " ")
}

// TestAnnotations covers every cloudflare.com/ annotation: a value it
// takes and one it refuses.
func TestAnnotations(t *testing.T) {
	cases := []struct {
		key, value string
		want       string // describe(), or "problem: <reason prefix>"
	}{
		{"protocol", "HTTPS", "protocol=https"},
		{"protocol", " ws ", "protocol=ws"},
		{"protocol", "udp", "protocol=udp"},
		{"protocol", "bastion", "protocol=bastion"},
		{"protocol", "unix", "problem: unix sockets are not supported"},
		{"protocol", "", "problem: must be one of http, https, ws, wss, tcp, udp, ssh, rdp, smb, bastion"},
		{"protocol-8443", "wss", "protocol-8443=wss"},
		{"protocol-0", "http", "problem: names no port"},
		{"protocol-http", "http", "problem: names no port"},
		{"protocol-70000", "http", "problem: names no port"},
		{"protocol-22", "telnet", `problem: must be one of`},
		{"no-tls-verify", "True", `origin={"noTLSVerify":true}`},
		{"no-tls-verify", "0", `origin={"noTLSVerify":false}`},
		{"no-tls-verify", "yes", `problem: must be a boolean ("true" or "false"), not "yes"`},
		{"http-host-header", "app.internal", `origin={"httpHostHeader":"app.internal"}`},
		{"http-host-header", " ", "problem: must not be empty"},
		{"origin-server-name", "origin.internal", `origin={"originServerName":"origin.internal"}`},
		{"origin-server-name", "", "problem: must not be empty"},
		{"match-sni-to-host", "true", `origin={"matchSNItoHost":true}`},
		{"match-sni-to-host", "on", "problem: must be a boolean"},
		{"ca-pool", "ca.crt", `origin={"caPool":"/etc/cloudflared/certs/ca.crt"}`},
		{"ca-pool", "team/ca.pem", `origin={"caPool":"/etc/cloudflared/certs/team/ca.pem"}`},
		{"ca-pool", "/etc/ssl/certs/ca.pem", `origin={"caPool":"/etc/ssl/certs/ca.pem"}`},
		{"ca-pool", "../ca.crt", `problem: "../ca.crt" must not contain ".."`},
		{"connect-timeout", "1m30s", `origin={"connectTimeout":90}`},
		{"connect-timeout", "30", `problem: "30" is not a duration`},
		{"tls-timeout", "1500ms", `origin={"tlsTimeout":2}`},
		{"tls-timeout", "-1s", `problem: "-1s" must not be negative`},
		{"tcp-keep-alive", "30s", `origin={"tcpKeepAlive":30}`},
		{"tcp-keep-alive", "x", "problem: "},
		{"keep-alive-timeout", "90s", `origin={"keepAliveTimeout":90}`},
		{"keep-alive-timeout", "1d", "problem: "},
		{"keep-alive-connections", "0", `origin={"keepAliveConnections":0}`},
		{"keep-alive-connections", "-1", `problem: must be a whole number >= 0, not "-1"`},
		{"no-happy-eyeballs", "TRUE", `origin={"noHappyEyeballs":true}`},
		{"no-happy-eyeballs", "nope", "problem: must be a boolean"},
		{"disable-chunked-encoding", "t", `origin={"disableChunkedEncoding":true}`},
		{"disable-chunked-encoding", "2", "problem: must be a boolean"},
		{"http2-origin", "1", `origin={"http2Origin":true}`},
		{"http2-origin", "enabled", "problem: must be a boolean"},
		{"bastion-mode", "true", `origin={"bastionMode":true}`},
		{"bastion-mode", "bastion", "problem: must be a boolean"},
		{"proxy-address", "127.0.0.1", `origin={"proxyAddress":"127.0.0.1"}`},
		{"proxy-address", "", "problem: must not be empty"},
		{"proxy-port", "0", `origin={"proxyPort":0}`},
		{"proxy-port", "65536", "problem: must be a port number between 0 and 65535"},
		{"proxy-type", "socks", `origin={"proxyType":"socks"}`},
		{"proxy-type", "", ""},
		{"proxy-type", "http", `problem: must be "" or "socks", not "http"`},
		{"disable-dns", "true", "disableDNS"},
		{"disable-dns", "false", ""},
		{"disable-dns", "always", "problem: must be a boolean"},
		{"dns-proxied", "false", "dnsProxied=false"},
		{"dns-proxied", "F", "dnsProxied=false"},
		{"dns-proxied", "proxied", "problem: must be a boolean"},
		{"tunnel-name", "edge", "problem: is not an annotation conflux-sync knows (a typo?); known: protocol, protocol-<port>, no-tls-verify"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			var ps problems
			a := parseAnnotations(map[string]string{AnnotationPrefix + tc.key: tc.value, "example.com/other": "x"}, &ps)
			if want, ok := strings.CutPrefix(tc.want, "problem: "); ok {
				if len(ps) != 1 || ps[0].Field != annotationField(AnnotationPrefix+tc.key) || !strings.HasPrefix(ps[0].Reason, want) {
					t.Fatalf("got %q, problems:\n%s", a.describe(), problemsString(ps))
				}
				return
			}
			if len(ps) > 0 {
				t.Fatalf("problems:\n%s", problemsString(ps))
			}
			if got := a.describe(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAnnotationProtocolFor(t *testing.T) {
	var ps problems
	a := parseAnnotations(map[string]string{"cloudflare.com/protocol-443": "https", "cloudflare.com/protocol-22": "ssh"}, &ps)
	if len(ps) > 0 || a.protocolFor(443) != "https" || a.protocolFor(22) != "ssh" || a.protocolFor(80) != "" {
		t.Fatalf("per port: %q %v", a.describe(), ps)
	}
	a = parseAnnotations(map[string]string{"cloudflare.com/protocol-443": "https", "cloudflare.com/protocol": "tcp"}, &ps)
	if a.protocolFor(443) != "tcp" || a.protocolFor(80) != "tcp" {
		t.Fatalf("cloudflare.com/protocol wins: %q", a.describe())
	}
}

func TestOverlayOrigin(t *testing.T) {
	if overlayOrigin(nil, nil) != nil {
		t.Fatal("nil, nil")
	}
	var ps problems
	b := parseAnnotations(map[string]string{"cloudflare.com/no-tls-verify": "false", "cloudflare.com/connect-timeout": "10s"}, &ps).origin
	top := parseAnnotations(map[string]string{"cloudflare.com/no-tls-verify": "true", "cloudflare.com/tls-timeout": "5s"}, &ps).origin
	got, _ := json.Marshal(overlayOrigin(b, top))
	if string(got) != `{"connectTimeout":10,"tlsTimeout":5,"noTLSVerify":true}` {
		t.Errorf("got %s", got)
	}
	if *b.NoTLSVerify || b.TLSTimeout != nil {
		t.Errorf("base changed: %+v", b)
	}
}

// describe renders parsed STRRL annotations and the originRequest they
// give for their scheme.
func (a strrlAnnotations) describe() string {
	parts := []string{"scheme=" + a.scheme}
	if o := a.originFor(); o != nil {
		b, _ := json.Marshal(o)
		parts = append(parts, "origin="+string(b))
	}
	if a.disableDNS {
		parts = append(parts, "disableDNS")
	}
	for _, d := range a.degraded() {
		parts = append(parts, "degraded:"+strings.TrimPrefix(d.Field, `metadata.annotations["`+STRRLAnnotationPrefix))
	}
	return strings.Join(parts, " ")
}

// TestSTRRLAnnotations covers every STRRL annotation as STRRL's controller
// parses it.
func TestSTRRLAnnotations(t *testing.T) {
	cases := []struct {
		name string
		ann  map[string]string
		want string // describe(), or "problem: <field suffix>: <reason prefix>"
	}{
		{"none", nil, "scheme=http"},
		{"backend-protocol verbatim, lower-cased", map[string]string{"backend-protocol": "SSH"}, "scheme=ssh"},
		{"backend-protocol any scheme", map[string]string{"backend-protocol": "grpc"}, "scheme=grpc"},
		{"backend-protocol not a scheme", map[string]string{"backend-protocol": "tcp://"}, `problem: backend-protocol: "tcp://" is not a URL scheme`},
		{"https: noTLSVerify by default", map[string]string{"backend-protocol": "https"}, `scheme=https origin={"noTLSVerify":true}`},
		{"https, proxy-ssl-verify on", map[string]string{"backend-protocol": "https", "proxy-ssl-verify": "on"}, `scheme=https origin={"noTLSVerify":false}`},
		{"https, proxy-ssl-verify off", map[string]string{"backend-protocol": "https", "proxy-ssl-verify": "off"}, `scheme=https origin={"noTLSVerify":true}`},
		{"proxy-ssl-verify bad", map[string]string{"proxy-ssl-verify": "true"}, `problem: proxy-ssl-verify: must be "on" or "off", not "true"`},
		{"proxy-ssl-verify on http: ignored", map[string]string{"proxy-ssl-verify": "on"}, "scheme=http degraded:proxy-ssl-verify\"]"},
		{"https, no-tls-verify false", map[string]string{"backend-protocol": "https", "no-tls-verify": "false"}, `scheme=https origin={"noTLSVerify":false}`},
		{"no-tls-verify on tcp", map[string]string{"backend-protocol": "tcp", "no-tls-verify": "true"}, `scheme=tcp origin={"noTLSVerify":true}`},
		{"no-tls-verify bad", map[string]string{"no-tls-verify": "TRUE"}, `problem: no-tls-verify: must be "true" or "false", not "TRUE"`},
		{"no-tls-verify and proxy-ssl-verify", map[string]string{"backend-protocol": "https", "no-tls-verify": "true", "proxy-ssl-verify": "off"}, "problem: no-tls-verify: and cloudflare-tunnel-ingress-controller.strrl.dev/proxy-ssl-verify say the same thing inverted"},
		{"http-host-header any scheme", map[string]string{"backend-protocol": "ssh", "http-host-header": "h.internal"}, `scheme=ssh origin={"httpHostHeader":"h.internal"}`},
		{"origin-server-name https", map[string]string{"backend-protocol": "https", "origin-server-name": "o.internal"}, `scheme=https origin={"originServerName":"o.internal","noTLSVerify":true}`},
		{"origin-server-name http: ignored", map[string]string{"origin-server-name": "o.internal"}, "scheme=http degraded:origin-server-name\"]"},
		{"disable-dns-management", map[string]string{"disable-dns-management": "true"}, "scheme=http disableDNS"},
		{"disable-dns-management false", map[string]string{"disable-dns-management": "false"}, "scheme=http"},
		{"disable-dns-management bad", map[string]string{"disable-dns-management": "yes"}, `problem: disable-dns-management: must be "true" or "false"`},
		{"durations", map[string]string{"connect-timeout": "30s", "tls-timeout": "10s", "tcp-keepalive": "1m", "keepalive-timeout": "1m30s"},
			`scheme=http origin={"connectTimeout":30,"tlsTimeout":10,"tcpKeepAlive":60,"keepAliveTimeout":90}`},
		{"duration not whole seconds", map[string]string{"connect-timeout": "1500ms"}, `problem: connect-timeout: "1500ms" must be a positive whole number of seconds`},
		{"duration zero", map[string]string{"tls-timeout": "0s"}, `problem: tls-timeout: "0s" must be a positive whole number of seconds`},
		{"duration negative", map[string]string{"keepalive-timeout": "-10s"}, `problem: keepalive-timeout: "-10s" must be a positive`},
		{"duration without unit", map[string]string{"tcp-keepalive": "30"}, `problem: tcp-keepalive: "30" is not a duration`},
		{"no-happy-eyeballs", map[string]string{"no-happy-eyeballs": "true"}, `scheme=http origin={"noHappyEyeballs":true}`},
		{"no-happy-eyeballs bad", map[string]string{"no-happy-eyeballs": "1"}, `problem: no-happy-eyeballs: must be "true" or "false"`},
		{"keepalive-connections 0", map[string]string{"keepalive-connections": "0"}, `scheme=http origin={"keepAliveConnections":0}`},
		{"keepalive-connections bad", map[string]string{"keepalive-connections": "many"}, `problem: keepalive-connections: must be a whole number >= 0, not "many"`},
		{"keepalive-connections negative", map[string]string{"keepalive-connections": "-1"}, `problem: keepalive-connections: must be a whole number >= 0`},
		{"disable-chunked-encoding", map[string]string{"disable-chunked-encoding": "false"}, `scheme=http origin={"disableChunkedEncoding":false}`},
		{"http2-origin https", map[string]string{"backend-protocol": "https", "http2-origin": "true"}, `scheme=https origin={"noTLSVerify":true,"http2Origin":true}`},
		{"http2-origin false on http", map[string]string{"http2-origin": "false"}, `scheme=http origin={"http2Origin":false}`},
		{"http2-origin true on http", map[string]string{"http2-origin": "true"}, `problem: http2-origin: "true" needs cloudflare-tunnel-ingress-controller.strrl.dev/backend-protocol: https`},
		{"unknown", map[string]string{"ssl-redirect": "true"}, "problem: ssl-redirect: is not an annotation STRRL's controller knows (a typo?)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{"cloudflare.com/protocol": "https"}
			for k, v := range tc.ann {
				m[STRRLAnnotationPrefix+k] = v
			}
			var ps problems
			a := parseSTRRLAnnotations(m, &ps)
			if want, ok := strings.CutPrefix(tc.want, "problem: "); ok {
				key, reason, _ := strings.Cut(want, ": ")
				if !hasProblem(ps, strrlField(key), reason+"...") {
					t.Fatalf("got %q, problems:\n%s", a.describe(), problemsString(ps))
				}
				return
			}
			if len(ps) > 0 {
				t.Fatalf("problems:\n%s", problemsString(ps))
			}
			if got := a.describe(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
