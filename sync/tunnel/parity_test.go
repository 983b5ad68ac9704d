package tunnel

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
)

// verdict is what a validator makes of a configuration.
type verdict int

const (
	accept verdict = iota // accepted, nothing to say
	warn                  // accepted with a warning (ours only)
	refuse                // refused
)

func (v verdict) String() string {
	return [...]string{"accept", "warn", "refuse"}[v]
}

// parityRow is one behaviour of cloudflared's ingress validation
// (ingress/ingress.go validateIngress, config.go, ipaccess), read from its
// source at d1df798. The same row runs against our validator (a fragment)
// and, over HTTP with cloudflare-go, against the emulator (a PUT of the
// rules followed by a catch-all). docs/api.md's parity table lists them.
type parityRow struct {
	name string
	// rules is a JSON array of rules: the fragment's rules, and the PUT's
	// rules before its catch-all.
	rules string
	// top is a top-level originRequest: the Tunnel source's
	// settings.originRequest and the PUT's originRequest. With it the
	// fragment comes from the Tunnel source, else from an Ingress.
	top string
	// cfd is cloudflared's verdict, and so the API's and the emulator's.
	cfd verdict
	// ours is the validator's; it refuses nothing cloudflared accepts
	// unless stricter says why.
	ours verdict
	// field is what our warning or error names.
	field string
	// msg is a substring of the emulator's message when cfd is refuse.
	msg      string
	stricter string
}

const catchAllRule = `{"service":"http_status:404"}`

var parityRows = []parityRow{
	// Services.
	{name: "URL with scheme and host", rules: `[{"hostname":"a.example.com","service":"http://web.default.svc:8080"}]`, cfd: accept, ours: accept},
	{name: "TCP schemes over WebSocket", rules: `[{"hostname":"a.example.com","service":"ssh://10.0.0.1:22"},{"hostname":"b.example.com","service":"rdp://win:3389"},{"hostname":"c.example.com","service":"tcp://db:5432"}]`, cfd: accept, ours: accept},
	{name: "IPv6 origin", rules: `[{"hostname":"a.example.com","service":"http://[::1]:80"}]`, cfd: accept, ours: accept},
	{name: "URL without scheme", rules: `[{"hostname":"a.example.com","service":"localhost:8080"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "please make sure it has a scheme and a hostname"},
	{name: "URL with a port but no host", rules: `[{"hostname":"a.example.com","service":"http://:80"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "http://:80 is an invalid address"},
	{name: "URL with a path", rules: `[{"hostname":"a.example.com","service":"http://web/api"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "don't support proxying to a different path"},
	{name: "URL with a slash", rules: `[{"hostname":"a.example.com","service":"http://web/"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "don't support proxying to a different path"},
	{name: "URL that does not parse", rules: `[{"hostname":"a.example.com","service":"http://web:port"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "invalid port"},
	{name: "unix socket", rules: `[{"hostname":"a.example.com","service":"unix:/run/app.sock"},{"hostname":"b.example.com","service":"unix+tls:/run/app.sock"}]`, cfd: accept, ours: accept},
	{name: "unix socket without a path", rules: `[{"hostname":"a.example.com","service":"unix:"}]`, cfd: accept, ours: warn, field: "spec.rules[0].service"},
	{name: "status code", rules: `[{"hostname":"a.example.com","service":"http_status:503"}]`, cfd: accept, ours: accept},
	{name: "status code below 100", rules: `[{"hostname":"a.example.com","service":"http_status:99"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "invalid HTTP status code: 99"},
	{name: "status code above 999", rules: `[{"hostname":"a.example.com","service":"http_status:1000"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "invalid HTTP status code: 1000"},
	{name: "status code not a number", rules: `[{"hostname":"a.example.com","service":"http_status:ok"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "invalid HTTP status code"},
	{name: "hello_world", rules: `[{"hostname":"a.example.com","service":"hello_world"}]`, cfd: accept, ours: accept},
	{name: "hello-world alias", rules: `[{"hostname":"a.example.com","service":"hello-world"}]`, cfd: accept, ours: accept},
	{name: "bastion", rules: `[{"hostname":"a.example.com","service":"bastion"}]`, cfd: accept, ours: accept},
	{name: "socks-proxy", rules: `[{"hostname":"a.example.com","service":"socks-proxy"}]`, cfd: accept, ours: accept},
	{name: "socks5 is not a service", rules: `[{"hostname":"a.example.com","service":"socks5"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "socks5 is an invalid address"},
	{name: "no service", rules: `[{"hostname":"a.example.com"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "please make sure it has a scheme and a hostname"},
	{name: "bastionMode without a service", rules: `[{"hostname":"a.example.com","originRequest":{"bastionMode":true}}]`, cfd: accept, ours: accept},
	{name: "bastionMode ignores a URL service", rules: `[{"hostname":"a.example.com","service":"http://web/path","originRequest":{"bastionMode":true}}]`, cfd: accept, ours: warn, field: "spec.rules[0].service"},
	{name: "bastionMode does not excuse a bad status", rules: `[{"hostname":"a.example.com","service":"http_status:x","originRequest":{"bastionMode":true}}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "invalid HTTP status code"},
	{name: "top-level bastionMode without a service", rules: `[{"hostname":"a.example.com"}]`, top: `{"bastionMode":true}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.bastionMode"},
	{name: "a rule's bastionMode false overrides the top level", rules: `[{"hostname":"a.example.com","originRequest":{"bastionMode":false}}]`, top: `{"bastionMode":true}`, cfd: refuse, ours: refuse, field: "spec.rules[0].service", msg: "please make sure it has a scheme and a hostname"},

	// Access.
	{name: "required Access check", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true,"teamName":"team","audTag":["aud"]}}}]`, cfd: accept, ours: accept},
	{name: "required with audTag but no teamName", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true,"audTag":["aud"]}}}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].originRequest.access.teamName", msg: "access.TeamName cannot be blank when access.audTags are present"},
	{name: "not required with audTag but no teamName", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"audTag":["aud"]}}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.access.required"},
	{name: "required without teamName or audTag", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true}}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.access.teamName"},
	{name: "empty audTag", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true,"teamName":"team","audTag":[""]}}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.access.audTag[0]"},
	{name: "FedRAMP environment", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true,"teamName":"team","audTag":["aud"],"environment":"fed"}}}]`, cfd: accept, ours: accept},
	{name: "unknown environment", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"access":{"required":true,"teamName":"team","audTag":["aud"],"environment":"gov"}}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.access.environment"},
	{name: "top-level access is never checked", top: `{"access":{"required":true,"audTag":["aud"]}}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.access"},

	// Hostnames.
	{name: "exact hostname", rules: `[{"hostname":"app.example.com","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "upper case hostname", rules: `[{"hostname":"App.Example.COM","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "wildcard subdomain", rules: `[{"hostname":"*.example.com","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "hostname with a port", rules: `[{"hostname":"a.example.com:443","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "Hostname cannot contain a port"},
	{name: "bracketed IPv6 with a port", rules: `[{"hostname":"[::1]:80","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "Hostname cannot contain a port"},
	{name: "bare IPv6 has no port", rules: `[{"hostname":"::1","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "wildcard in the middle", rules: `[{"hostname":"a.*.example.com","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "at most one wildcard"},
	{name: "two wildcards", rules: `[{"hostname":"*.*.example.com","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "at most one wildcard"},
	{name: "leading star without a dot", rules: `[{"hostname":"*example.com","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "Unicode hostname", rules: `[{"hostname":"bücher.example","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "Unicode wildcard", rules: `[{"hostname":"*.bücher.example","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "punycode hostname", rules: `[{"hostname":"xn--bcher-kva.example","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "underscore in a label", rules: `[{"hostname":"a_b.example.com","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "empty label", rules: `[{"hostname":"a..example.com","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "trailing dot", rules: `[{"hostname":"a.example.com.","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},
	{name: "label longer than 63", rules: `[{"hostname":"` + strings.Repeat("a", 64) + `.example.com","service":"http://web"}]`, cfd: accept, ours: warn, field: "spec.rules[0].hostname"},

	// Catch-all and paths.
	{name: "any host with a path", rules: `[{"hostname":"*","path":"^/healthz$","service":"http_status:200"},{"path":"^/metrics$","service":"http_status:200"}]`, cfd: accept, ours: accept},
	{name: "catch-all before the last rule", rules: `[{"service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "Rule #1 is matching the hostname ''"},
	{name: "star catch-all before the last rule", rules: `[{"hostname":"*","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].hostname", msg: "Rule #1 is matching the hostname '*'"},
	{name: "path regex", rules: `[{"hostname":"a.example.com","path":"^/api(/|$)","service":"http://web"}]`, cfd: accept, ours: accept},
	{name: "glob as path", rules: `[{"hostname":"a.example.com","path":"*","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].path", msg: "Rule #1 has an invalid regex"},
	{name: "unbalanced path regex", rules: `[{"hostname":"a.example.com","path":"^/(api","service":"http://web"}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].path", msg: "missing closing )"},
	{name: "the same hostname and path twice", rules: `[{"hostname":"a.example.com","service":"http://one"},{"hostname":"a.example.com","service":"http://two"}]`, cfd: accept, ours: refuse, field: "spec.rules[1]",
		stricter: "the aggregate orders a fragment's rules itself, so which one cloudflared would use is not the producer's order"},

	// originRequest values.
	{name: "proxyType socks", top: `{"proxyType":"socks"}`, cfd: accept, ours: accept},
	{name: "proxyType socks5", top: `{"proxyType":"socks5"}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.proxyType"},
	{name: "negative proxyPort", top: `{"proxyPort":-1}`, cfd: refuse, ours: refuse, field: "spec.settings.originRequest.proxyPort", msg: "cannot unmarshal number -1"},
	{name: "proxyPort above 65535", top: `{"proxyPort":70000}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.proxyPort"},
	{name: "negative keepAliveConnections", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"keepAliveConnections":-2}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.keepAliveConnections"},
	{name: "negative timeout", rules: `[{"hostname":"a.example.com","service":"http://web","originRequest":{"connectTimeout":-1}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.connectTimeout"},
	{name: "timeout that overflows a Duration", top: `{"tlsTimeout":9223372036854775807}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.tlsTimeout"},
	{name: "fractional timeout", top: `{"tcpKeepAlive":1.5}`, cfd: refuse, ours: refuse, field: "spec.settings.originRequest.tcpKeepAlive", msg: "must be an integer number of seconds"},
	{name: "bool given as a string", top: `{"noTLSVerify":"true"}`, cfd: refuse, ours: refuse, field: "spec.settings.originRequest.noTLSVerify", msg: "cannot unmarshal string"},

	// IP rules.
	{name: "socks-proxy ipRules", rules: `[{"hostname":"a.example.com","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[80,443],"allow":true},{"prefix":"::/0"}]}}]`, cfd: accept, ours: accept},
	{name: "socks-proxy ipRule without prefix", rules: `[{"hostname":"a.example.com","service":"socks-proxy","originRequest":{"ipRules":[{"ports":[22]}]}}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].originRequest.ipRules[0].prefix", msg: "unable to create ip rule for socks-proxy: no prefix provided"},
	{name: "socks-proxy ipRule not a CIDR", rules: `[{"hostname":"a.example.com","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.1"}]}}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].originRequest.ipRules[0].prefix", msg: "unable to parse cidr: 10.0.0.1"},
	{name: "socks-proxy ipRule port 0", rules: `[{"hostname":"a.example.com","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[22,0]}]}}]`, cfd: refuse, ours: refuse, field: "spec.rules[0].originRequest.ipRules[0].ports[1]", msg: "invalid port 0"},
	{name: "bad ipRules on another service are dropped", rules: `[{"hostname":"a.example.com","service":"bastion","originRequest":{"ipRules":[{"prefix":"10.0.0.1","ports":[0]}]}}]`, cfd: accept, ours: warn, field: "spec.rules[0].originRequest.ipRules"},
	{name: "top-level ipRules are dropped", top: `{"ipRules":[{"ports":[22]}]}`, cfd: accept, ours: warn, field: "spec.settings.originRequest.ipRules"},
}

// fragmentOf is the row as a fragment spec and its source.
func (r parityRow) fragmentOf() (api.SourceRef, json.RawMessage) {
	if r.top == "" {
		return ingressSrc, json.RawMessage(`{"rules":` + r.rules + `}`)
	}
	spec := `{"settings":{"originRequest":` + r.top + `}`
	if r.rules != "" {
		spec += `,"rules":` + r.rules
	}
	return tunnelSrc, json.RawMessage(spec + `}`)
}

// configOf is the row as the body of a configuration PUT.
func (r parityRow) configOf() json.RawMessage {
	ingress := `[` + catchAllRule + `]`
	if r.rules != "" {
		ingress = strings.TrimSuffix(r.rules, "]") + `,` + catchAllRule + `]`
	}
	top := r.top
	if top == "" {
		top = `{}`
	}
	return json.RawMessage(`{"config":{"ingress":` + ingress + `,"originRequest":` + top + `}}`)
}

func TestParityTableIsConsistent(t *testing.T) {
	names := map[string]bool{}
	for _, r := range parityRows {
		switch {
		case names[r.name]:
			t.Errorf("%s: two rows of this name", r.name)
		case r.cfd == warn:
			t.Errorf("%s: cloudflared accepts or refuses; it has no warnings", r.name)
		case r.cfd == refuse && r.ours != refuse:
			t.Errorf("%s: we must not accept what cloudflared refuses: the flush would fail", r.name)
		case r.cfd == accept && r.ours == refuse && r.stricter == "":
			t.Errorf("%s: we refuse what cloudflared accepts; say why in stricter, or accept it with a warning", r.name)
		case r.cfd == refuse && r.msg == "":
			t.Errorf("%s: name the emulator's message", r.name)
		case r.ours != accept && r.field == "":
			t.Errorf("%s: name the field of our warning or error", r.name)
		}
		names[r.name] = true
	}
}

func TestParityValidator(t *testing.T) {
	for _, r := range parityRows {
		t.Run(r.name, func(t *testing.T) {
			src, spec := r.fragmentOf()
			warnings, err := Kind{}.ValidateWarn(testTarget, src, spec)
			got := accept
			switch {
			case err != nil:
				got = refuse
			case len(warnings) > 0:
				got = warn
			}
			if got != r.ours {
				t.Fatalf("%s: got %v (warnings %v, error %v), want %v", spec, got, warnings, err, r.ours)
			}
			switch got {
			case refuse:
				var fe *api.FieldError
				if !errors.As(err, &fe) || fe.Field != r.field {
					t.Fatalf("error %v, want one on %s", err, r.field)
				}
			case warn:
				for _, w := range warnings {
					if w.Field == r.field && w.Message != "" {
						return
					}
				}
				t.Fatalf("warnings %v, want one on %s", warnings, r.field)
			}
		})
	}
}

func TestParityEmulator(t *testing.T) {
	e := cfapitest.New(t)
	id := e.Emu.AddTunnel(cfapitest.Account, "", "parity", "cloudflare")
	path := "/accounts/" + cfapitest.Account + "/cfd_tunnel/" + id + "/configurations"
	ctx := cfapitest.Context(t)
	for _, r := range parityRows {
		t.Run(r.name, func(t *testing.T) {
			body := r.configOf()
			_, err := e.Human.Raw(ctx, http.MethodPut, path, body, nil)
			switch {
			case r.cfd == accept && err != nil:
				t.Fatalf("%s: the emulator refused: %v", body, err)
			case r.cfd == refuse && err == nil:
				t.Fatalf("%s: the emulator accepted, want an error containing %q", body, r.msg)
			case r.cfd == refuse && !strings.Contains(err.Error(), r.msg):
				t.Fatalf("%s: error %q lacks %q", body, err, r.msg)
			}
		})
	}
}

// What the validator accepts, warnings or not, aggregates into a
// configuration the emulator takes: the flush of an accepted fragment
// cannot fail on validation.
func TestParityAggregateIsAccepted(t *testing.T) {
	e := cfapitest.New(t)
	id := e.Emu.AddTunnel(cfapitest.Account, "", "parity", "cloudflare")
	path := "/accounts/" + cfapitest.Account + "/cfd_tunnel/" + id + "/configurations"
	ctx := cfapitest.Context(t)
	for _, r := range parityRows {
		if r.ours == refuse {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			src, spec := r.fragmentOf()
			res, err := Kind{}.Aggregate(testTarget, []api.Fragment{{Source: src, Spec: spec, CreateIndex: 1}})
			if err != nil {
				t.Fatal(err)
			}
			body := struct {
				Config json.RawMessage `json:"config"`
			}{res.Desired}
			if _, err := e.Human.Raw(ctx, http.MethodPut, path, body, nil); err != nil {
				t.Fatalf("%s: the emulator refused the aggregate: %v", res.Desired, err)
			}
		})
	}
}
