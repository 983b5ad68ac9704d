package tunnel

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cfg builds a configuration body from rules (JSON objects, the catch-all
// included) and optional top-level members, e.g. `"warp-routing":{...}`.
func cfg(rules []string, top ...string) json.RawMessage {
	members := append([]string{`"ingress":[` + strings.Join(rules, ",") + `]`}, top...)
	return json.RawMessage("{" + strings.Join(members, ",") + "}")
}

const (
	ruleAPI   = `{"hostname":"app.example.com","path":"^/api","service":"http://api:80"}`
	ruleWeb   = `{"hostname":"app.example.com","path":"^/web","service":"http://web:80"}`
	ruleRoot  = `{"hostname":"app.example.com","path":"/","service":"http://root:80"}`
	ruleApp   = `{"hostname":"app.example.com","service":"http://app:80"}`
	ruleOther = `{"hostname":"other.example.org","service":"http://other:80"}`
	ruleWild  = `{"hostname":"*.example.com","service":"http://wild:80"}`
	catch404  = `{"service":"http_status:404"}`
)

func TestCompareConfigs(t *testing.T) {
	tests := []struct {
		name            string
		remote, desired json.RawMessage
		equal           bool
		// diffs must each be one of the returned reasons.
		diffs []string
		// prefix, if set, must begin one of the reasons.
		prefix string
	}{
		{
			name:    "byte-identical",
			remote:  cfg([]string{ruleAPI, ruleRoot, ruleOther, catch404}, `"warp-routing":{"enabled":true}`, `"originRequest":{"connectTimeout":10}`),
			desired: cfg([]string{ruleAPI, ruleRoot, ruleOther, catch404}, `"warp-routing":{"enabled":true}`, `"originRequest":{"connectTimeout":10}`),
			equal:   true,
		},
		{
			name:    "different hosts in another order",
			remote:  cfg([]string{ruleOther, ruleAPI, ruleRoot, catch404}),
			desired: cfg([]string{ruleAPI, ruleRoot, ruleOther, catch404}),
			equal:   true,
		},
		{
			name:    "two paths of one host swapped",
			remote:  cfg([]string{ruleRoot, ruleAPI, catch404}),
			desired: cfg([]string{ruleAPI, ruleRoot, catch404}),
			diffs:   []string{`rules for app.example.com: "/" now after "^/api"`},
		},
		{
			name:    "a path rule and the host's any-path rule swapped",
			remote:  cfg([]string{ruleApp, ruleAPI, catch404}),
			desired: cfg([]string{ruleAPI, ruleApp, catch404}),
			diffs:   []string{`rules for app.example.com: (any path) now after "^/api"`},
		},
		{
			name:    "anchored literal paths that no request path can both match, swapped",
			remote:  cfg([]string{ruleWeb, ruleAPI, catch404}),
			desired: cfg([]string{ruleAPI, ruleWeb, catch404}),
			equal:   true,
		},
		{
			name:    "anchored paths where one prefix begins the other, swapped",
			remote:  cfg([]string{`{"hostname":"app.example.com","path":"^/api/v1","service":"http://v1:80"}`, ruleAPI, catch404}),
			desired: cfg([]string{ruleAPI, `{"hostname":"app.example.com","path":"^/api/v1","service":"http://v1:80"}`, catch404}),
			diffs:   []string{`rules for app.example.com: "^/api/v1" now after "^/api"`},
		},
		{
			name:    "case-insensitive paths are not proven disjoint",
			remote:  cfg([]string{`{"hostname":"app.example.com","path":"(?i)^/web","service":"http://web:80"}`, ruleAPI, catch404}),
			desired: cfg([]string{ruleAPI, `{"hostname":"app.example.com","path":"(?i)^/web","service":"http://web:80"}`, catch404}),
			diffs:   []string{`rules for app.example.com: "(?i)^/web" now after "^/api"`},
		},
		{
			name:    "exact host and a wildcard covering it swapped",
			remote:  cfg([]string{ruleWild, ruleApp, catch404}),
			desired: cfg([]string{ruleApp, ruleWild, catch404}),
			diffs:   []string{"rule *.example.com now after app.example.com"},
		},
		{
			name:    "wildcard and an exact host it does not cover swapped",
			remote:  cfg([]string{ruleWild, ruleOther, catch404}),
			desired: cfg([]string{ruleOther, ruleWild, catch404}),
			equal:   true,
		},
		{
			name:    "nested wildcards swapped",
			remote:  cfg([]string{ruleWild, `{"hostname":"*.a.example.com","service":"http://a:80"}`, catch404}),
			desired: cfg([]string{`{"hostname":"*.a.example.com","service":"http://a:80"}`, ruleWild, catch404}),
			diffs:   []string{"rule *.example.com now after *.a.example.com"},
		},
		{
			name:    "unrelated wildcards swapped",
			remote:  cfg([]string{ruleWild, `{"hostname":"*.example.org","service":"http://org:80"}`, catch404}),
			desired: cfg([]string{`{"hostname":"*.example.org","service":"http://org:80"}`, ruleWild, catch404}),
			equal:   true,
		},
		{
			name:    "a rule for any host is ordered against every host",
			remote:  cfg([]string{`{"path":"^/health","service":"http_status:200"}`, ruleOther, catch404}),
			desired: cfg([]string{ruleOther, `{"path":"^/health","service":"http_status:200"}`, catch404}),
			diffs:   []string{"rule * ^/health now after other.example.org"},
		},
		{
			name:    "hostname * means any host",
			remote:  cfg([]string{`{"hostname":"*","path":"^/health","service":"http_status:200"}`, `{"hostname":"*","service":"http_status:404"}`}),
			desired: cfg([]string{`{"path":"^/health","service":"http_status:200"}`, catch404}),
			equal:   true,
		},
		{
			name: "explicit false booleans and an empty originRequest equal absent ones",
			remote: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"noTLSVerify":false,"http2Origin":false,` +
				`"disableChunkedEncoding":false,"noHappyEyeballs":false,"matchSNItoHost":false,"bastionMode":false,"httpHostHeader":"","proxyType":""}}`,
				`{"service":"http_status:404","originRequest":{}}`}),
			desired: cfg([]string{ruleApp, catch404}),
			equal:   true,
		},
		{
			name:    "explicit false is not absent when the top level sets true",
			remote:  cfg([]string{ruleApp, catch404}, `"originRequest":{"noTLSVerify":true}`),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"noTLSVerify":false}}`, catch404}, `"originRequest":{"noTLSVerify":true}`),
			diffs:   []string{"rule app.example.com: originRequest.noTLSVerify true -> false"},
		},
		{
			name: "cloudflared's defaults spelled out equal absent ones",
			remote: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"connectTimeout":30,"tlsTimeout":10,` +
				`"tcpKeepAlive":30,"keepAliveTimeout":90,"keepAliveConnections":100,"proxyAddress":"127.0.0.1","proxyPort":0}}`, catch404},
				`"originRequest":{"connectTimeout":30}`),
			desired: cfg([]string{ruleApp, catch404}),
			equal:   true,
		},
		{
			name:    "a duration other than the default",
			remote:  cfg([]string{ruleApp, catch404}),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"connectTimeout":10}}`, catch404}),
			diffs:   []string{"rule app.example.com: originRequest.connectTimeout 30 -> 10"},
		},
		{
			name:    "empty top-level originRequest equals none",
			remote:  cfg([]string{ruleApp, catch404}, `"originRequest":{}`),
			desired: cfg([]string{ruleApp, catch404}),
			equal:   true,
		},
		{
			name: "a top-level setting every rule overrides makes no difference",
			remote: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"tlsTimeout":5}}`,
				`{"service":"http_status:404","originRequest":{"tlsTimeout":5}}`}, `"originRequest":{"tlsTimeout":20}`),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"tlsTimeout":5}}`,
				`{"service":"http_status:404","originRequest":{"tlsTimeout":5}}`}),
			equal: true,
		},
		{
			name:    "a top-level setting reaches every rule it is not overridden in",
			remote:  cfg([]string{ruleApp, catch404}, `"originRequest":{"httpHostHeader":"x"}`),
			desired: cfg([]string{ruleApp, catch404}),
			diffs:   []string{`rule app.example.com: originRequest.httpHostHeader "x" -> ""`},
		},
		{
			name:    "origin settings of an http_status rule do not matter",
			remote:  cfg([]string{`{"path":"^/health","service":"http_status:200","originRequest":{"connectTimeout":5}}`, catch404}, `"originRequest":{"noTLSVerify":true}`),
			desired: cfg([]string{`{"path":"^/health","service":"http_status:200"}`, catch404}),
			equal:   true,
		},
		{
			name:    "an Access check on an http_status rule does",
			remote:  cfg([]string{`{"service":"http_status:404","originRequest":{"access":{"required":true,"teamName":"t"}}}`}),
			desired: cfg([]string{catch404}),
			diffs:   []string{`catch-all: access check {"required":true,"teamName":"t","audTag":[]} -> none`},
		},
		{
			name:    "an empty ipRules list on a rule keeps the top-level one",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"ipRules":[]}}`, catch404}, `"originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","allow":true}]}`),
			desired: cfg([]string{ruleApp, catch404}, `"originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[],"allow":true}]}`),
			equal:   true,
		},
		{
			name:    "an Access check on the rule itself is not inherited",
			remote:  cfg([]string{ruleApp, catch404}, `"originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"]}}`),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"]}}}`, catch404}, `"originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"]}}`),
			diffs:   []string{`rule app.example.com: access check none -> {"required":true,"teamName":"t","audTag":["a"]}`},
		},
		{
			name:    "a socks-proxy rule's own ipRules are its policy",
			remote:  cfg([]string{`{"hostname":"socks.example.com","service":"socks-proxy"}`, catch404}, `"originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","allow":true}]}`),
			desired: cfg([]string{`{"hostname":"socks.example.com","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","allow":true}]}}`, catch404}, `"originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","allow":true}]}`),
			diffs:   []string{`rule socks.example.com: socks-proxy ipRules [] -> [{"prefix":"10.0.0.0/8","ports":[],"allow":true}]`},
		},
		{
			name:    "origin settings of a catch-all with an origin matter",
			remote:  cfg([]string{`{"service":"http://fallback:80"}`}, `"originRequest":{"noTLSVerify":true}`),
			desired: cfg([]string{`{"service":"http://fallback:80"}`}),
			diffs:   []string{"catch-all: originRequest.noTLSVerify true -> false"},
		},
		{
			name:    "bastionMode makes the service the bastion",
			remote:  cfg([]string{`{"hostname":"ssh.example.com","service":"bastion"}`, `{"hostname":"b.example.com","service":"http://old:80","originRequest":{"bastionMode":true}}`, catch404}),
			desired: cfg([]string{`{"hostname":"ssh.example.com","service":"","originRequest":{"bastionMode":true}}`, `{"hostname":"b.example.com","originRequest":{"bastionMode":true},"service":"bastion"}`, catch404}),
			equal:   true,
		},
		{
			name:    "bastion service with bastionMode spelled out",
			remote:  cfg([]string{`{"hostname":"ssh.example.com","service":"bastion","originRequest":{"bastionMode":true}}`, catch404}),
			desired: cfg([]string{`{"hostname":"ssh.example.com","service":"bastion"}`, catch404}),
			equal:   true,
		},
		{
			name:    "warp-routing absent equals false",
			remote:  cfg([]string{catch404}, `"warp-routing":{"enabled":false}`),
			desired: cfg([]string{catch404}),
			equal:   true,
		},
		{
			name:    "warp-routing absent is not true",
			remote:  cfg([]string{catch404}),
			desired: cfg([]string{catch404}, `"warp-routing":{"enabled":true}`),
			diffs:   []string{"warp-routing enabled false -> true"},
		},
		{
			name:    "different catch-all",
			remote:  cfg([]string{ruleApp, catch404}),
			desired: cfg([]string{ruleApp, `{"service":"http_status:503"}`}),
			diffs:   []string{"catch-all http_status:404 -> http_status:503"},
		},
		{
			name:    "status and hello-world services as cloudflared parses them",
			remote:  cfg([]string{`{"hostname":"hello.example.com","service":"hello-world"}`, `{"service":"http_status:0404"}`}),
			desired: cfg([]string{`{"hostname":"hello.example.com","service":"hello_world"}`, catch404}),
			equal:   true,
		},
		{
			name:    "service URLs compare as written",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app"}`, catch404}),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80"}`, catch404}),
			diffs:   []string{"rule app.example.com: service http://app -> http://app:80"},
		},
		{
			name:    "extra and missing rules",
			remote:  cfg([]string{ruleApp, `{"hostname":"old.example.com","service":"http://old:80"}`, catch404}),
			desired: cfg([]string{ruleApp, `{"hostname":"x.example.com","service":"http://x:80"}`, catch404}),
			diffs:   []string{"rule x.example.com added", "rule old.example.com removed"},
		},
		{
			name:    "hostnames compare case-sensitively, as cloudflared matches them",
			remote:  cfg([]string{`{"hostname":"App.example.com","service":"http://app:80"}`, catch404}),
			desired: cfg([]string{ruleApp, catch404}),
			diffs:   []string{"rule app.example.com added", "rule App.example.com removed"},
		},
		{
			name:    "a rule twice in the remote",
			remote:  cfg([]string{ruleApp, ruleApp, catch404}),
			desired: cfg([]string{ruleApp, catch404}),
			diffs:   []string{"rule app.example.com appears 2 times in remote"},
		},
		{
			name:    "unknown field on one side",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"],"jwksURL":"x"}}}`, catch404}),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"]}}}`, catch404}),
			diffs:   []string{`rule app.example.com: unknown field originRequest.access.jwksURL "x" -> (absent)`},
		},
		{
			name:    "the Access environment is part of the check",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"],"environment":"fed"}}}`, catch404}),
			desired: cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"access":{"required":true,"teamName":"t","audTag":["a"]}}}`, catch404}),
			prefix:  `rule app.example.com: originRequest.access {"required":true,"teamName":"t","audTag":["a"],"environme`,
		},
		{
			name:    "unknown fields identical on both sides",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","comment":{"b":1,"a":[2]}}`, catch404}, `"warp-routing":{"enabled":true,"maxActiveFlows":5}`),
			desired: cfg([]string{`{"comment":{"a":[2],"b":1},"hostname":"app.example.com","service":"http://app:80"}`, catch404}, `"warp-routing":{"maxActiveFlows":5,"enabled":true}`),
			equal:   true,
		},
		{
			name:    "unknown top-level field with different values",
			remote:  cfg([]string{catch404}, `"warp-routing":{"enabled":false,"maxActiveFlows":5}`),
			desired: cfg([]string{catch404}, `"warp-routing":{"enabled":false,"maxActiveFlows":6}`),
			diffs:   []string{"unknown field warp-routing.maxActiveFlows 5 -> 6"},
		},
		{
			// cloudflared (config.CustomDuration) and cloudflare-go
			// (TunnelDuration) both read durations with strconv.ParseInt:
			// a string is a configuration cloudflared cannot load.
			name:    "remote with string durations",
			remote:  cfg([]string{`{"hostname":"app.example.com","service":"http://app:80","originRequest":{"connectTimeout":"30s"}}`, catch404}),
			desired: cfg([]string{ruleApp, catch404}),
			prefix:  "remote: cannot decode configuration: ",
		},
		{
			name:    "remote without a catch-all",
			remote:  cfg([]string{ruleApp}),
			desired: cfg([]string{ruleApp, catch404}),
			diffs:   []string{"remote: the last rule is not a catch-all (it has a hostname or a path)"},
		},
		{
			name:    "remote with a catch-all before the last rule",
			remote:  cfg([]string{catch404, catch404}),
			desired: cfg([]string{catch404}),
			diffs:   []string{"remote: rule #1 matches every request but is not the last"},
		},
		{
			name:    "remote with an invalid path",
			remote:  cfg([]string{`{"hostname":"app.example.com","path":"/static/*(","service":"http://app:80"}`, catch404}),
			desired: cfg([]string{catch404}),
			prefix:  `remote: rule #1: invalid path regex "/static/*(": `,
		},
		{
			name:    "null remote",
			remote:  json.RawMessage(`null`),
			desired: cfg([]string{catch404}),
			diffs:   []string{"remote: no ingress rules"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal, diffs := CompareConfigs(tt.remote, tt.desired)
			if equal != tt.equal {
				t.Fatalf("equal = %v, want %v; diffs %q", equal, tt.equal, diffs)
			}
			if equal != (len(diffs) == 0) {
				t.Fatalf("equal = %v with diffs %q", equal, diffs)
			}
			for _, want := range tt.diffs {
				if !slices.Contains(diffs, want) {
					t.Errorf("diffs %q lack %q", diffs, want)
				}
			}
			if tt.prefix != "" && !slices.ContainsFunc(diffs, func(d string) bool { return strings.HasPrefix(d, tt.prefix) }) {
				t.Errorf("no reason in %q begins with %q", diffs, tt.prefix)
			}
			if !slices.IsSorted(diffs) {
				t.Errorf("diffs not sorted: %q", diffs)
			}
			// The comparison is symmetric in its verdict.
			if back, _ := CompareConfigs(tt.desired, tt.remote); back != equal {
				t.Errorf("swapped arguments give %v", back)
			}
		})
	}
}

func TestCompareConfigsLimitsDiffs(t *testing.T) {
	var remote, desired []string
	for i := range 30 {
		remote = append(remote, fmt.Sprintf(`{"hostname":"h%02d.example.com","service":"http://a:80"}`, i))
		desired = append(desired, fmt.Sprintf(`{"hostname":"h%02d.example.com","service":"http://b:80"}`, i))
	}
	equal, diffs := CompareConfigs(cfg(append(remote, catch404)), cfg(append(desired, catch404)))
	if equal || len(diffs) != maxDiffs {
		t.Fatalf("equal %v, %d diffs: %q", equal, len(diffs), diffs)
	}
	if diffs[0] != "rule h00.example.com: service http://a:80 -> http://b:80" || diffs[maxDiffs-1] != "and 11 more differences" {
		t.Fatalf("diffs %q", diffs)
	}
	_, again := CompareConfigs(cfg(append(remote, catch404)), cfg(append(desired, catch404)))
	if !slices.Equal(diffs, again) {
		t.Fatal("diffs are not deterministic")
	}
}

// TestCompareConfigsRoutesAlike checks the verdict against cloudflared's
// matching: whenever two orders of one rule set compare equal, every
// sample request goes to the same service in both. It also checks that
// the comparison is not simply "unequal" for every reorder.
func TestCompareConfigsRoutesAlike(t *testing.T) {
	rules := []Rule{
		{Hostname: "app.example.com", Path: "^/api/v1", Service: "http://v1:80"},
		{Hostname: "app.example.com", Path: "^/api", Service: "http://api:80"},
		{Hostname: "app.example.com", Path: "^/web", Service: "http://web:80"},
		{Hostname: "app.example.com", Path: "/", Service: "http://root:80"},
		{Hostname: "app.example.com", Service: "http://app:80"},
		{Hostname: "b.example.com", Service: "http://b:80"},
		{Hostname: "*.a.example.com", Service: "http://wa:80"},
		{Hostname: "*.example.com", Service: "http://we:80"},
		{Hostname: "*.example.org", Path: "^/x", Service: "http://org:80"},
		{Hostname: "other.example.org", Service: "http://other:80"},
		{Path: "^/health", Service: "http_status:200"},
	}
	hosts := []string{"app.example.com", "b.example.com", "c.a.example.com", "d.example.com", "x.y.example.com",
		"other.example.org", "z.example.org", "example.net"}
	paths := []string{"", "/", "/api", "/api/v1/x", "/apis", "/web/a", "/x", "/health", "/a/api", "/static/a.css"}

	res := map[string]*regexp.Regexp{}
	for _, r := range rules {
		res[r.Path] = regexp.MustCompile(r.Path)
	}
	// route is cloudflared's FindMatchingRule and matchHost.
	route := func(rs []Rule, host, path string) string {
		for _, r := range rs {
			hostOK := r.Hostname == "" || r.Hostname == host ||
				(strings.HasPrefix(r.Hostname, "*.") && strings.HasSuffix(host, r.Hostname[1:]))
			if hostOK && res[r.Path].MatchString(path) {
				return r.Service
			}
		}
		return "catch-all"
	}
	encodeRules := func(rs []Rule) json.RawMessage {
		b, err := encode(Config{Ingress: append(slices.Clone(rs), Rule{Service: "http_status:404"})})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	base := encodeRules(rules)
	rng := rand.New(rand.NewPCG(1, 2))
	var equal, unequal int
	want := map[[2]string]string{}
	for _, h := range hosts {
		for _, p := range paths {
			want[[2]string{h, p}] = route(rules, h, p)
		}
	}
	for range 500 {
		perm := slices.Clone(rules)
		// Mostly small changes: a few adjacent swaps.
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(perm) - 1)
			perm[i], perm[i+1] = perm[i+1], perm[i]
		}
		same, diffs := CompareConfigs(encodeRules(perm), base)
		routesAlike := true
		for _, h := range hosts {
			for _, p := range paths {
				if route(perm, h, p) != want[[2]string{h, p}] {
					routesAlike = false
				}
			}
		}
		if same && !routesAlike {
			t.Fatalf("order %v compares equal but routes differently", perm)
		}
		if same {
			equal++
		} else {
			unequal++
			if len(diffs) == 0 {
				t.Fatal("unequal without a reason")
			}
		}
	}
	t.Logf("%d equal and %d unequal reorders", equal, unequal)
	if equal == 0 || unequal == 0 {
		t.Fatalf("%d equal and %d unequal reorders: the test proves nothing", equal, unequal)
	}
}

// Every field the api types model must be compared: a field added to
// OriginRequest, IPRule or Access needs its place in originFields,
// ipRulesValue or accessValue, or the comparison would ignore it.
func TestCompareConfigsKnowsEveryField(t *testing.T) {
	var compared []string
	for _, f := range originFields {
		compared = append(compared, f.name)
	}
	if !slices.Equal(originKnown, compared) {
		t.Errorf("OriginRequest has %q, originFields compares %q", originKnown, compared)
	}
	if want := []string{"prefix", "ports", "allow"}; !slices.Equal(ipRuleKnown, want) {
		t.Errorf("IPRule has %q, ipRulesValue compares %q", ipRuleKnown, want)
	}
	if want := []string{"required", "teamName", "audTag", "environment"}; !slices.Equal(accessKnown, want) {
		t.Errorf("Access has %q, accessValue compares %q", accessKnown, want)
	}
	if want := []string{"ingress", "warp-routing", "originRequest"}; !slices.Equal(configKnown, want) {
		t.Errorf("Config has %q, CompareConfigs compares %q", configKnown, want)
	}
	if want := []string{"hostname", "path", "service", "originRequest"}; !slices.Equal(ruleKnown, want) {
		t.Errorf("Rule has %q, CompareConfigs compares %q", ruleKnown, want)
	}
}
