package tunnel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

func frag(kindName, name string, createIndex uint64, spec string) api.Fragment {
	return api.Fragment{
		Target:      testTarget,
		Source:      api.SourceRef{Kind: kindName, Namespace: "ns", Name: name},
		Generation:  1,
		Spec:        json.RawMessage(spec),
		CreateIndex: createIndex,
	}
}

func mustAggregate(t testing.TB, frags []api.Fragment) kind.Result {
	t.Helper()
	res, err := Kind{}.Aggregate(testTarget, frags)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	return res
}

func TestAggregateOutput(t *testing.T) {
	tests := []struct {
		name  string
		frags []api.Fragment
		want  string
	}{
		{
			name: "longer path first",
			frags: []api.Fragment{frag("Ingress", "a", 1, `{"rules":[
				{"hostname":"app.example.com","path":"/","service":"http://root"},
				{"hostname":"app.example.com","path":"/api","service":"http://api"},
				{"hostname":"app.example.com","service":"http://any"}]}`)},
			want: `{"ingress":[{"hostname":"app.example.com","path":"/api","service":"http://api"},` +
				`{"hostname":"app.example.com","path":"/","service":"http://root"},` +
				`{"hostname":"app.example.com","service":"http://any"},{"service":"http_status:404"}],"originRequest":{}}`,
		},
		{
			name: "exact before wildcard, specific wildcard first, any host last",
			frags: []api.Fragment{
				frag("Ingress", "a", 1, `{"rules":[{"hostname":"*.example.com","service":"http://w1"},{"path":"^/health","service":"http_status:200"}]}`),
				frag("HTTPRoute", "b", 2, `{"rules":[{"hostname":"*.a.example.com","service":"http://w2"},{"hostname":"z.example.com","service":"http://z"}]}`),
				frag("Ingress", "c", 3, `{"rules":[{"hostname":"b.example.com","service":"http://b"},{"hostname":"*.b.com","service":"http://w3"},{"hostname":"*","path":"^/metrics/long","service":"http_status:403"}]}`),
			},
			want: `{"ingress":[{"hostname":"b.example.com","service":"http://b"},{"hostname":"z.example.com","service":"http://z"},` +
				`{"hostname":"*.a.example.com","service":"http://w2"},{"hostname":"*.b.com","service":"http://w3"},{"hostname":"*.example.com","service":"http://w1"},` +
				`{"path":"^/metrics/long","service":"http_status:403"},{"path":"^/health","service":"http_status:200"},` +
				`{"service":"http_status:404"}],"originRequest":{}}`,
		},
		{
			name:  "hostnames lower-cased, empty rule originRequest dropped, no HTML escaping",
			frags: []api.Fragment{frag("Ingress", "a", 1, `{"rules":[{"hostname":"App.Example.COM","path":"^/a&b<c>","service":"http://a","originRequest":{}}]}`)},
			want:  `{"ingress":[{"hostname":"app.example.com","path":"^/a&b<c>","service":"http://a"},{"service":"http_status:404"}],"originRequest":{}}`,
		},
		{
			name: "fallback, warp-routing false and top-level originRequest kept",
			frags: []api.Fragment{
				frag("ClusterTunnel", "edge", 1, `{"settings":{"fallbackTarget":"http://default:80","warpRouting":false,"originRequest":{"noTLSVerify":false,"connectTimeout":0}}}`),
				frag("Ingress", "a", 2, `{"rules":[{"hostname":"a.example.com","service":"http://a"}]}`),
			},
			want: `{"ingress":[{"hostname":"a.example.com","service":"http://a"},{"service":"http://default:80"}],` +
				`"warp-routing":{"enabled":false},"originRequest":{"connectTimeout":0,"noTLSVerify":false}}`,
		},
		{
			name:  "warp-routing true",
			frags: []api.Fragment{frag("Tunnel", "t", 1, `{"settings":{"warpRouting":true}}`)},
			want:  `{"ingress":[{"service":"http_status:404"}],"warp-routing":{"enabled":true},"originRequest":{}}`,
		},
		{
			name:  "empty settings: defaults, warp-routing absent",
			frags: []api.Fragment{frag("Tunnel", "t", 1, `{"settings":{}}`)},
			want:  `{"ingress":[{"service":"http_status:404"}],"originRequest":{}}`,
		},
		{
			name:  "absent settings: same defaults",
			frags: []api.Fragment{frag("Tunnel", "t", 1, `{"rules":[{"hostname":"t.example.com","service":"http://t"}]}`)},
			want:  `{"ingress":[{"hostname":"t.example.com","service":"http://t"},{"service":"http_status:404"}],"originRequest":{}}`,
		},
		{
			name: "tunnel without settings does not block another tunnel's settings",
			frags: []api.Fragment{
				frag("Tunnel", "rules-only", 1, `{"rules":[{"hostname":"t.example.com","service":"http://t"}]}`),
				frag("Tunnel", "owner", 2, `{"settings":{"fallbackTarget":"http_status:503"}}`),
			},
			want: `{"ingress":[{"hostname":"t.example.com","service":"http://t"},{"service":"http_status:503"}],"originRequest":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustAggregate(t, tt.frags)
			if string(res.Desired) != tt.want {
				t.Fatalf("got  %s\nwant %s", res.Desired, tt.want)
			}
			if len(res.Conflicts) != 0 {
				t.Fatalf("unexpected conflicts %+v", res.Conflicts)
			}
			if err := checkCloudflared(res.Desired); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAggregateEmpty(t *testing.T) {
	res := mustAggregate(t, nil)
	if res.Desired != nil || res.Conflicts != nil || res.Hash() != "" {
		t.Fatalf("got %+v, want the zero Result", res)
	}
}

func TestAggregateBadFragmentNamesSource(t *testing.T) {
	for _, spec := range []string{
		`{"rules":[{"hostnme":"a"}]}`,
		`not json`,
		`{"rules":[{"service":"http://a"}]}`, // catch-all
		`{"rules":[{"hostname":"b.example.com","service":"http://b"}]} ]`,     // trailing data
		`{"settings":{"warpRouting":true}}`,                                   // settings from an Ingress
		`{"rules":[{"hostname":"b.example.com","service":"http://b"}],"x":1}`, // unknown field
	} {
		frags := []api.Fragment{
			frag("Ingress", "good", 1, `{"rules":[{"hostname":"a.example.com","service":"http://a"}]}`),
			frag("Ingress", "broken", 2, spec),
		}
		_, err := Kind{}.Aggregate(testTarget, frags)
		var fe *api.FieldError
		if err == nil || !strings.Contains(err.Error(), "Ingress/ns/broken") || !errors.As(err, &fe) {
			t.Fatalf("spec %s: got %v, want a wrapped FieldError naming Ingress/ns/broken", spec, err)
		}
	}
}

func TestAggregateConflicts(t *testing.T) {
	const rule = `{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://%s"}]}`
	tests := []struct {
		name       string
		frags      []api.Fragment
		winner     string // service name of the winning rule
		wantReason string
	}{
		{
			name: "oldest createIndex wins over priority",
			frags: []api.Fragment{
				frag("Tunnel", "t", 7, fmt.Sprintf(rule, "tunnel")),
				frag("Ingress", "old", 3, fmt.Sprintf(rule, "old")),
			},
			winner: "old", wantReason: "createIndex 3 before 7",
		},
		{
			name: "tie broken by priority",
			frags: []api.Fragment{
				frag("Ingress", "a", 5, fmt.Sprintf(rule, "ingress")),
				frag("TunnelBinding", "z", 5, fmt.Sprintf(rule, "binding")),
			},
			winner: "binding", wantReason: "higher priority (50 before 100)",
		},
		{
			name: "tie broken by source key",
			frags: []api.Fragment{
				frag("Ingress", "b", 5, fmt.Sprintf(rule, "b")),
				frag("HTTPRoute", "a", 5, fmt.Sprintf(rule, "httproute")),
			},
			winner: "httproute", wantReason: "sorts first by source",
		},
		{
			name: "case and star do not escape the conflict",
			frags: []api.Fragment{
				frag("Ingress", "a", 2, `{"rules":[{"hostname":"APP.example.com","path":"^/api","service":"http://upper"}]}`),
				frag("Ingress", "b", 1, fmt.Sprintf(rule, "lower")),
			},
			winner: "lower", wantReason: "createIndex 1 before 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, frags := range [][]api.Fragment{tt.frags, reversed(tt.frags)} {
				res := mustAggregate(t, frags)
				if !strings.Contains(string(res.Desired), `"service":"http://`+tt.winner+`"`) {
					t.Fatalf("winner %s missing from %s", tt.winner, res.Desired)
				}
				if len(res.Conflicts) != 1 {
					t.Fatalf("want 1 conflict, got %+v", res.Conflicts)
				}
				c := res.Conflicts[0]
				if c.Key != "app.example.com ^/api" || !strings.Contains(c.Reason, tt.wantReason) {
					t.Fatalf("conflict %+v: want key %q and reason containing %q", c, "app.example.com ^/api", tt.wantReason)
				}
				if c.Winner == c.Loser {
					t.Fatalf("winner and loser are both %v", c.Winner)
				}
			}
		})
	}
}

// Rules of two sources that differ only in how they spell "any path"
// route the same requests: the loser is a conflict and is not written, so
// the verdict and the written configuration agree. One source's own rules
// are left as they are.
func TestAggregateAnyPathSpellingsConflict(t *testing.T) {
	for _, path := range []string{"/", "^/", ".*", "^/.*", "^/.*$"} {
		t.Run(path, func(t *testing.T) {
			frags := []api.Fragment{
				frag("Ingress", "old", 1, `{"rules":[{"hostname":"app.example.com","service":"http://old"}]}`),
				frag("Ingress", "new", 2, fmt.Sprintf(`{"rules":[{"hostname":"App.example.com","path":%q,"service":"http://new"}]}`, path)),
			}
			for _, fs := range [][]api.Fragment{frags, reversed(frags)} {
				res := mustAggregate(t, fs)
				if strings.Contains(string(res.Desired), "http://new") || !strings.Contains(string(res.Desired), "http://old") {
					t.Fatalf("desired %s: want only the older rule", res.Desired)
				}
				if len(res.Conflicts) != 1 || res.Conflicts[0].Key != "app.example.com" || res.Conflicts[0].Loser.Name != "new" {
					t.Fatalf("conflicts %+v", res.Conflicts)
				}
			}
		})
	}
	// A real path is not "any path".
	res := mustAggregate(t, []api.Fragment{
		frag("Ingress", "old", 1, `{"rules":[{"hostname":"app.example.com","service":"http://old"}]}`),
		frag("Ingress", "new", 2, `{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://new"}]}`),
	})
	if len(res.Conflicts) != 0 || !strings.Contains(string(res.Desired), "http://new") {
		t.Fatalf("conflicts %+v, desired %s", res.Conflicts, res.Desired)
	}
	// One source's own spellings are its business (both are written).
	res = mustAggregate(t, []api.Fragment{
		frag("Ingress", "one", 1, `{"rules":[{"hostname":"app.example.com","service":"http://a"},{"hostname":"app.example.com","path":"^/","service":"http://b"}]}`),
	})
	if len(res.Conflicts) != 0 || !strings.Contains(string(res.Desired), "http://a") || !strings.Contains(string(res.Desired), "http://b") {
		t.Fatalf("conflicts %+v, desired %s", res.Conflicts, res.Desired)
	}
}

func TestAggregateSettingsConflict(t *testing.T) {
	frags := []api.Fragment{
		frag("ClusterTunnel", "new", 9, `{"settings":{"warpRouting":true,"fallbackTarget":"http_status:503"}}`),
		frag("Tunnel", "old", 4, `{"settings":{"warpRouting":false}}`),
		frag("Ingress", "web", 1, `{"rules":[{"hostname":"a.example.com","service":"http://a"}]}`),
	}
	res := mustAggregate(t, frags)
	want := `{"ingress":[{"hostname":"a.example.com","service":"http://a"},{"service":"http_status:404"}],"warp-routing":{"enabled":false},"originRequest":{}}`
	if string(res.Desired) != want {
		t.Fatalf("got  %s\nwant %s", res.Desired, want)
	}
	wantConflicts := []api.Conflict{{
		Key:    "settings",
		Winner: frags[1].Source,
		Loser:  frags[0].Source,
		Reason: "tunnel-wide settings come from one Tunnel source only: Tunnel/ns/old registered first (createIndex 4 before 9)",
	}}
	if !reflect.DeepEqual(res.Conflicts, wantConflicts) {
		t.Fatalf("got %+v\nwant %+v", res.Conflicts, wantConflicts)
	}
}

func TestAggregateConflictsSorted(t *testing.T) {
	frags := []api.Fragment{
		frag("Ingress", "a", 1, `{"rules":[{"hostname":"b.x","service":"http://a"},{"hostname":"a.x","service":"http://a"}]}`),
		frag("Ingress", "c", 3, `{"rules":[{"hostname":"a.x","service":"http://c"},{"hostname":"b.x","service":"http://c"}]}`),
		frag("Ingress", "b", 2, `{"rules":[{"hostname":"b.x","service":"http://b"},{"hostname":"a.x","service":"http://b"}]}`),
	}
	res := mustAggregate(t, frags)
	var got []string
	for _, c := range res.Conflicts {
		got = append(got, c.Key+" "+c.Loser.Name+"<"+c.Winner.Name)
	}
	want := []string{"a.x b<a", "a.x c<a", "b.x b<a", "b.x c<a"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCanonicalMatchesAggregate(t *testing.T) {
	res := mustAggregate(t, []api.Fragment{
		frag("Tunnel", "t", 1, `{"settings":{"warpRouting":true,"originRequest":{"connectTimeout":10}}}`),
		frag("Ingress", "a", 2, `{"rules":[{"hostname":"a.example.com","service":"https://a:8443","originRequest":{"noTLSVerify":true}}]}`),
	})
	// The API's echo: other key order, an empty per-rule originRequest and
	// fields we never send.
	echo := `{"originRequest":{"connectTimeout":10},"warp-routing":{"enabled":true},"ingress":[` +
		`{"service":"https://a:8443","hostname":"a.example.com","originRequest":{"noTLSVerify":true}},` +
		`{"service":"http_status:404","originRequest":{}}],"extra":1}`
	got, err := Canonical([]byte(echo))
	if err != nil {
		t.Fatal(err)
	}
	if kind.Hash(got) != res.Hash() {
		t.Fatalf("canonical echo differs:\n got %s\nwant %s", got, res.Desired)
	}
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestAggregateOrderIndependent is the property test: 50 sources × 20
// rules drawn from a small space of hostnames and paths (so they collide
// often), aggregated in many shuffled orders, give byte-identical output
// and identical conflicts.
func TestAggregateOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	frags := randomFragments(rng, 50, 20)
	want := mustAggregate(t, frags)
	if len(want.Conflicts) == 0 {
		t.Fatal("the generator should produce conflicts")
	}
	if err := checkCloudflared(want.Desired); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		shuffled := slices.Clone(frags)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got := mustAggregate(t, shuffled)
		if string(got.Desired) != string(want.Desired) {
			t.Fatalf("shuffle %d: desired differs", i)
		}
		if !reflect.DeepEqual(got.Conflicts, want.Conflicts) {
			t.Fatalf("shuffle %d: conflicts differ", i)
		}
	}
}

// randomFragments builds n sources with perSource rules each. Hosts, paths
// and create indexes are drawn from small sets so that rules collide and
// create indexes tie, exercising every tie-break.
func randomFragments(rng *rand.Rand, n, perSource int) []api.Fragment {
	hosts := []string{"a.example.com", "B.example.com", "*.example.com", "*.x.example.com", "c.example.org", "", "*"}
	paths := []string{"", "/", "/api", "^/api/v1", "/static", "^/a$"}
	kinds := []string{"Ingress", "HTTPRoute", "TunnelBinding", "API", "Tunnel"}
	frags := make([]api.Fragment, 0, n)
	for s := range n {
		k := kinds[rng.IntN(len(kinds))]
		seen := map[ruleKey]bool{}
		var rules []string
		for len(rules) < perSource {
			h, p := hosts[rng.IntN(len(hosts))], paths[rng.IntN(len(paths))]
			if h == "" || h == "*" {
				if p == "" {
					continue // a catch-all is not a valid rule
				}
			}
			if h != "" && h != "*" && rng.IntN(3) == 0 {
				h = fmt.Sprintf("h%d.%s", rng.IntN(40), strings.TrimPrefix(h, "*."))
			}
			key := keyOf(&Rule{Hostname: h, Path: p})
			if seen[key] {
				continue
			}
			seen[key] = true
			rules = append(rules, fmt.Sprintf(`{"hostname":%q,"path":%q,"service":"http://svc%d-%d:80"}`, h, p, s, len(rules)))
		}
		spec := `{"rules":[` + strings.Join(rules, ",") + `]`
		if k == "Tunnel" {
			spec += fmt.Sprintf(`,"settings":{"fallbackTarget":"http_status:%d","warpRouting":%t}`, 400+s, s%2 == 0)
		}
		spec += "}"
		frags = append(frags, frag(k, fmt.Sprintf("src%02d", s), uint64(rng.IntN(10)), spec))
	}
	return frags
}

// checkCloudflared applies cloudflared's ingress checks to an aggregate: the
// last rule is the only catch-all, no hostname has a port or a misplaced
// wildcard, every path compiles, every service is valid, and no (hostname,
// path) appears twice.
func checkCloudflared(desired []byte) error {
	var cfg Config
	dec := json.NewDecoder(strings.NewReader(string(desired)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("output does not decode as Config: %w", err)
	}
	if len(cfg.Ingress) == 0 {
		return errors.New("The config file doesn't contain any ingress rules")
	}
	seen := map[ruleKey]bool{}
	for i, r := range cfg.Ingress {
		last := i == len(cfg.Ingress)-1
		switch catchAll := isCatchAll(r.Hostname, r.Path); {
		case last && !catchAll:
			return errors.New("The last ingress rule must match all URLs")
		case !last && catchAll:
			return fmt.Errorf("Rule #%d is matching the hostname '%s', but this will match every hostname", i+1, r.Hostname)
		}
		if reason := api.CheckRuleHostname(r.Hostname); reason != "" {
			return fmt.Errorf("rule #%d: %s", i+1, reason)
		}
		if r.Hostname != strings.ToLower(r.Hostname) || r.Hostname == "*" {
			return fmt.Errorf("rule #%d: hostname %q is not normalised", i+1, r.Hostname)
		}
		if reason := api.CheckRulePath(r.Path); reason != "" {
			return fmt.Errorf("rule #%d: %s", i+1, reason)
		}
		// In bastion mode cloudflared does not parse a service other
		// than the named ones.
		inBastion := bastionMode(r.OriginRequest, &cfg.OriginRequest) && !api.IsNamedService(r.Service)
		if reason := api.CheckRuleService(r.Service); reason != "" && !inBastion {
			return fmt.Errorf("rule #%d: %s", i+1, reason)
		}
		k := keyOf(&r)
		if seen[k] {
			return fmt.Errorf("rule #%d: duplicate %v", i+1, k)
		}
		seen[k] = true
		if i > 0 && !last && compareRules(keyOf(&cfg.Ingress[i-1]), k) >= 0 {
			return fmt.Errorf("rule #%d is out of order", i+1)
		}
	}
	return nil
}

// cloudflared matches a Unicode rule hostname against its punycode form
// too, the form requests carry: the two spellings from two sources route
// the same requests, so the later one loses as a conflict.
func TestUnicodeAndPunycodeConflict(t *testing.T) {
	first := api.SourceRef{Kind: "Ingress", Namespace: "a", Name: "unicode"}
	second := api.SourceRef{Kind: "Ingress", Namespace: "b", Name: "punycode"}
	res, err := Kind{}.Aggregate(testTarget, []api.Fragment{
		{Source: second, Spec: json.RawMessage(`{"rules":[{"hostname":"xn--bcher-kva.example","service":"http://two"}]}`), CreateIndex: 2},
		{Source: first, Spec: json.RawMessage(`{"rules":[{"hostname":"Bücher.example","service":"http://one"}]}`), CreateIndex: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Winner != first || res.Conflicts[0].Loser != second || res.Conflicts[0].Key != "xn--bcher-kva.example" {
		t.Fatalf("conflicts %+v, want the punycode rule to lose to the Unicode one", res.Conflicts)
	}
	want := `{"ingress":[{"hostname":"bücher.example","service":"http://one"},{"service":"http_status:404"}],"originRequest":{}}`
	if string(res.Desired) != want {
		t.Fatalf("got  %s\nwant %s", res.Desired, want)
	}
}
