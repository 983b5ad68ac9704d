package tunnel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

var (
	testTarget = api.TargetRef{Kind: Name, Name: "ClusterTunnel/edge"}
	ingressSrc = api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}
	tunnelSrc  = api.SourceRef{Kind: "ClusterTunnel", Name: "edge"}
)

func TestValidate(t *testing.T) {
	manyRules := make([]string, MaxRules+1)
	for i := range manyRules {
		manyRules[i] = fmt.Sprintf(`{"hostname":"h%d.example.com","service":"http://a"}`, i)
	}
	tooMany := `{"rules":[` + strings.Join(manyRules, ",") + `]}`
	maxOK := `{"rules":[` + strings.Join(manyRules[:MaxRules], ",") + `]}`

	tests := []struct {
		name   string
		source api.SourceRef
		spec   string
		field  string // "" means valid
		reason string // substring of the reason
	}{
		// Valid specs.
		{"simple rule", ingressSrc, `{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://web.default.svc:80","originRequest":{"connectTimeout":30}}]}`, "", ""},
		{"wildcard", ingressSrc, `{"rules":[{"hostname":"*.example.com","service":"https://web:443"}]}`, "", ""},
		{"upper case hostname", ingressSrc, `{"rules":[{"hostname":"App.Example.COM","service":"http://a"}]}`, "", ""},
		{"any host with path", ingressSrc, `{"rules":[{"path":"^/healthz$","service":"http_status:200"}]}`, "", ""},
		{"star host with path", ingressSrc, `{"rules":[{"hostname":"*","path":"^/x","service":"http_status:200"}]}`, "", ""},
		{"special services", ingressSrc, `{"rules":[{"hostname":"a.x","service":"hello_world"},{"hostname":"b.x","service":"bastion"},{"hostname":"c.x","service":"socks-proxy"},{"hostname":"c2.x","service":"hello-world"},{"hostname":"d.x","service":"unix:/run/a.sock"},{"hostname":"e.x","service":"unix+tls:/run/b.sock"},{"hostname":"f.x","service":"http_status:503"},{"hostname":"g.x","service":"ssh://localhost:22"},{"hostname":"h.x","service":"tcp://10.0.0.1:5432"}]}`, "", ""},
		{"tunnel settings", tunnelSrc, `{"settings":{"fallbackTarget":"http_status:503","warpRouting":false,"originRequest":{}}}`, "", ""},
		{"tunnel empty settings", tunnelSrc, `{"settings":{}}`, "", ""},
		{"all originRequest fields", ingressSrc, `{"rules":[{"hostname":"a.example.com","service":"http://a","originRequest":` + allOriginRequest + `}]}`, "", ""},
		{"zero values", ingressSrc, `{"rules":[{"hostname":"a.example.com","service":"http://a","originRequest":{"connectTimeout":0,"noTLSVerify":false,"httpHostHeader":"","proxyPort":0}}]}`, "", ""},
		{"same host different paths", ingressSrc, `{"rules":[{"hostname":"a.x","path":"/","service":"http://a"},{"hostname":"a.x","path":"/api","service":"http://b"},{"hostname":"a.x","service":"http://c"}]}`, "", ""},
		{"max rules", ingressSrc, maxOK, "", ""},
		{"null fields", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":null}],"settings":null}`, "", ""},

		// Shape.
		{"not an object", ingressSrc, `[]`, "spec", "must be an object"},
		{"empty", ingressSrc, ``, "spec", "unexpected end"},
		{"bad json", ingressSrc, `{"rules":[}`, "spec.rules", "invalid JSON"},
		{"trailing data", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a"}]} {}`, "spec", "unexpected data"},
		{"nothing", ingressSrc, `{}`, "spec", "rules or settings"},
		{"empty rules", ingressSrc, `{"rules":[]}`, "spec", "rules or settings"},
		{"unknown top field", ingressSrc, `{"rule":[]}`, "spec.rule", "unknown field"},
		{"unknown rule field", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a"},{"host":"b.x","service":"http://a"}]}`, "spec.rules[1].host", "unknown field"},
		{"unknown originRequest field", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"noTlsVerify":true}}]}`, "spec.rules[0].originRequest.noTlsVerify", `did you mean "noTLSVerify"`},
		{"unknown access field", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"access":{"team":"x"}}}]}`, "spec.rules[0].originRequest.access.team", "unknown field"},
		{"unknown odd field", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","a b":1}]}`, `spec.rules[0]["a b"]`, "unknown field"},
		{"wrong case field", ingressSrc, `{"Rules":[{"hostname":"a.x","service":"http://a"}]}`, "spec.Rules", `did you mean "rules"`},
		{"duplicate field", ingressSrc, `{"rules":[{"hostname":"a.x","hostname":"b.x","service":"http://a"}]}`, "spec.rules[0].hostname", "duplicate field"},
		{"wrong type", ingressSrc, `{"rules":[{"hostname":1,"service":"http://a"}]}`, "spec.rules[0].hostname", "must be a string"},
		{"rules not array", ingressSrc, `{"rules":{}}`, "spec.rules", "must be an array"},
		{"bool as string", tunnelSrc, `{"settings":{"warpRouting":"true"}}`, "spec.settings.warpRouting", "true or false"},
		{"too many rules", ingressSrc, tooMany, "spec.rules", "at most 1000 rules"},

		// Durations and numbers.
		{"fractional seconds", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"connectTimeout":1.5}}]}`, "spec.rules[0].originRequest.connectTimeout", "whole number"},
		{"30.0 seconds", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"tlsTimeout":30.0}}]}`, "spec.rules[0].originRequest.tlsTimeout", "whole number"},
		{"exponent seconds", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"tcpKeepAlive":1e3}}]}`, "spec.rules[0].originRequest.tcpKeepAlive", "whole number"},
		{"string seconds", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"keepAliveTimeout":"30s"}}]}`, "spec.rules[0].originRequest.keepAliveTimeout", "must be an integer"},
		{"out of int64", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"connectTimeout":99999999999999999999}}]}`, "spec.rules[0].originRequest.connectTimeout", "out of range"},
		{"negative proxyPort", tunnelSrc, `{"settings":{"originRequest":{"proxyPort":-1}}}`, "spec.settings.originRequest.proxyPort", "must not be negative"},
		{"ipRule without prefix", ingressSrc, `{"rules":[{"hostname":"a.x","service":"socks-proxy","originRequest":{"ipRules":[{"ports":[22]}]}}]}`, "spec.rules[0].originRequest.ipRules[0].prefix", "is required"},
		{"ipRule bad prefix", ingressSrc, `{"rules":[{"hostname":"a.x","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.1"}]}}]}`, "spec.rules[0].originRequest.ipRules[0].prefix", "CIDR"},
		{"ipRule bad port", ingressSrc, `{"rules":[{"hostname":"a.x","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[22,0]}]}}]}`, "spec.rules[0].originRequest.ipRules[0].ports[1]", "invalid port 0"},

		// Hostnames.
		{"port in hostname", ingressSrc, `{"rules":[{"hostname":"a.example.com:443","service":"http://a"}]}`, "spec.rules[0].hostname", "Hostname cannot contain a port"},
		{"wildcard in middle", ingressSrc, `{"rules":[{"hostname":"a.*.example.com","service":"http://a"}]}`, "spec.rules[0].hostname", "at most one wildcard"},
		{"two wildcards", ingressSrc, `{"rules":[{"hostname":"*.*.example.com","service":"http://a"}]}`, "spec.rules[0].hostname", "at most one wildcard"},

		// Catch-all.
		{"catch-all empty host", ingressSrc, `{"rules":[{"service":"http://a"}]}`, "spec.rules[0].hostname", "settings.fallbackTarget"},
		{"catch-all star host", ingressSrc, `{"rules":[{"hostname":"*","service":"http://a"}]}`, "spec.rules[0].hostname", `hostname "*"`},
		{"catch-all from tunnel", tunnelSrc, `{"rules":[{"service":"http://a"}]}`, "spec.rules[0].hostname", "set the catch-all's service with settings.fallbackTarget"},

		// Paths.
		{"bare star path", ingressSrc, `{"rules":[{"hostname":"a.x","path":"*","service":"http://a"}]}`, "spec.rules[0].path", `use ".*"`},
		{"glob path", ingressSrc, `{"rules":[{"hostname":"a.x","path":"/static/**","service":"http://a"}]}`, "spec.rules[0].path", "invalid regex"},
		{"bad regex", ingressSrc, `{"rules":[{"hostname":"a.x","path":"^/(api","service":"http://a"}]}`, "spec.rules[0].path", "missing closing )"},

		// Services.
		{"no service", ingressSrc, `{"rules":[{"hostname":"a.x"}]}`, "spec.rules[0].service", "is required"},
		{"status too low", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http_status:99"}]}`, "spec.rules[0].service", "invalid HTTP status code: 99"},
		{"status too high", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http_status:1000"}]}`, "spec.rules[0].service", "invalid HTTP status code: 1000"},
		{"status not number", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http_status:ok"}]}`, "spec.rules[0].service", "invalid HTTP status code"},
		{"no scheme", ingressSrc, `{"rules":[{"hostname":"a.x","service":"localhost:8080"}]}`, "spec.rules[0].service", "please make sure it has a scheme and a hostname"},
		{"no host", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://"}]}`, "spec.rules[0].service", "scheme and a hostname"},
		{"url with path", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://web/api"}]}`, "spec.rules[0].service", "don't support proxying to a different path"},
		{"url with slash", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://web/"}]}`, "spec.rules[0].service", "different path"},
		{"url parse error", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://127.0.0.1:2333 "}]}`, "spec.rules[0].service", "invalid port"},
		{"bad fallback", tunnelSrc, `{"settings":{"fallbackTarget":"nowhere"}}`, "spec.settings.fallbackTarget", "scheme and a hostname"},

		// Access.
		{"audTag without team", ingressSrc, `{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"access":{"required":true,"audTag":["x"]}}}]}`, "spec.rules[0].originRequest.access.teamName", "TeamName cannot be blank"},

		// Duplicates and settings ownership.
		{"duplicate rule", ingressSrc, `{"rules":[{"hostname":"a.x","path":"/p","service":"http://a"},{"hostname":"b.x","service":"http://a"},{"hostname":"A.X","path":"/p","service":"http://b"}]}`, "spec.rules[2]", "duplicates spec.rules[0]"},
		{"duplicate any host", ingressSrc, `{"rules":[{"path":"/p","service":"http://a"},{"hostname":"*","path":"/p","service":"http://b"}]}`, "spec.rules[1]", "duplicates spec.rules[0]"},
		{"settings from ingress", ingressSrc, `{"settings":{"warpRouting":true}}`, "spec.settings", "only a Tunnel or ClusterTunnel"},
		{"settings from binding", api.SourceRef{Kind: "TunnelBinding", Name: "b"}, `{"rules":[{"hostname":"a.x","service":"http://a"}],"settings":{}}`, "spec.settings", "only a Tunnel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Kind{}.Validate(testTarget, tt.source, json.RawMessage(tt.spec))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: unexpected error %v", err)
				}
				return
			}
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate: want *api.FieldError on %s, got %v", tt.field, err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("Validate: got %s: %s\nwant field %s, reason containing %q", fe.Field, fe.Reason, tt.field, tt.reason)
			}
		})
	}
}

func TestValidateWrongTarget(t *testing.T) {
	err := Kind{}.Validate(api.TargetRef{Kind: "cloudflare.DNSRecord", Name: "x"}, ingressSrc, json.RawMessage(`{}`))
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field != "target.kind" {
		t.Fatalf("got %v, want a FieldError on target.kind", err)
	}
}

// allOriginRequest sets every originRequest field the API accepts.
const allOriginRequest = `{"connectTimeout":30,"tlsTimeout":10,"tcpKeepAlive":30,"noHappyEyeballs":false,` +
	`"keepAliveConnections":100,"keepAliveTimeout":90,"httpHostHeader":"internal.example","originServerName":"origin.example",` +
	`"matchSNItoHost":true,"caPool":"/etc/ca.pem","noTLSVerify":true,"disableChunkedEncoding":false,"bastionMode":false,` +
	`"proxyAddress":"127.0.0.1","proxyPort":0,"proxyType":"socks","ipRules":[{"prefix":"10.0.0.0/8","ports":[80,443],"allow":true}],` +
	`"http2Origin":true,"access":{"required":true,"teamName":"team","audTag":["aud1","aud2"]}}`

// TestOriginRequestRoundTrip checks every field is carried, in order, with
// false, 0 and "" kept as values.
func TestOriginRequestRoundTrip(t *testing.T) {
	spec := `{"rules":[{"hostname":"a.example.com","service":"http://a","originRequest":` + allOriginRequest + `}]}`
	res, err := Kind{}.Aggregate(testTarget, []api.Fragment{{Source: ingressSrc, Spec: json.RawMessage(spec), CreateIndex: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ingress":[{"hostname":"a.example.com","service":"http://a","originRequest":` + allOriginRequest +
		`},{"service":"http_status:404"}],"originRequest":{}}`
	if string(res.Desired) != want {
		t.Fatalf("got  %s\nwant %s", res.Desired, want)
	}
}

func TestDecodeSpecMatchesStdlib(t *testing.T) {
	// What DecodeSpec accepts, the standard strict decoder decodes the same.
	raw := `{"rules":[{"hostname":"a.example.com","service":"http://a","originRequest":` + allOriginRequest + `}],"settings":{"warpRouting":false}}`
	s, err := DecodeSpec([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != raw {
		t.Fatalf("round trip changed the spec:\n got %s\nwant %s", out, raw)
	}
}
