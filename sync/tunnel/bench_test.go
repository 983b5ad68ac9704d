package tunnel

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

// benchFragments spreads total rules across sources fragments. Every source
// also repeats a few shared (hostname, path) pairs, so conflicts are
// resolved too.
func benchFragments(total, sources int) []api.Fragment {
	perSource := total / sources
	frags := make([]api.Fragment, 0, sources+1)
	frags = append(frags, frag("ClusterTunnel", "edge", 1, `{"settings":{"fallbackTarget":"http_status:503","warpRouting":true}}`))
	for s := range sources {
		rules := make([]string, 0, perSource)
		for r := range perSource {
			host := fmt.Sprintf("app%d.team%d.example.com", r, s)
			if r < 3 {
				host = fmt.Sprintf("shared%d.example.com", r) // contested
			} else if r%10 == 0 {
				host = fmt.Sprintf("*.team%d.example.com", s+r)
			}
			rules = append(rules, fmt.Sprintf(
				`{"hostname":%q,"path":"^/api/v%d","service":"http://svc%d.ns%d.svc:8080","originRequest":{"connectTimeout":30,"noTLSVerify":false}}`,
				host, r%4, r, s))
		}
		frags = append(frags, frag("Ingress", fmt.Sprintf("ing%03d", s), uint64(s+2), `{"rules":[`+strings.Join(rules, ",")+`]}`))
	}
	return frags
}

// BenchmarkAggregate aggregates one tunnel's fragments at 100 to 100k
// rules per tunnel, so that docs/benchmarks.md can show how the cost grows
// with the size of a tunnel (hack/benchreport plots it). From 1k rules up
// the rules come from 100 sources, as in the measurements recorded before
// the sizes were sub-benchmarks; 100 rules come from 10 sources of 10, so
// that not every rule is one of the contested ones.
func BenchmarkAggregate(b *testing.B) {
	for _, total := range []int{100, 1000, 10000, 100000} {
		sources := min(100, total/10)
		b.Run(fmt.Sprintf("rules=%d", total), func(b *testing.B) {
			frags := benchFragments(total, sources)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := (Kind{}).Aggregate(testTarget, frags); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompareConfigs compares a remote configuration with the desired
// one by meaning (CompareConfigs), as every configuration flush does
// before deciding to PUT: the remote one lists the same rules in another
// order that routes alike, with cloudflared's defaults spelled out, as a
// replaced operator wrote them.
func BenchmarkCompareConfigs(b *testing.B) {
	for _, total := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", total), func(b *testing.B) {
			desired, remote := make([]string, 0, total+1), make([]string, 0, total+1)
			for r := range total {
				host, svc := fmt.Sprintf("app%d.example.com", r), fmt.Sprintf("http://svc%d.ns.svc:8080", r)
				desired = append(desired, fmt.Sprintf(`{"hostname":%q,"path":"^/api","service":%q}`, host, svc))
				remote = append(remote, fmt.Sprintf(`{"hostname":%q,"path":"^/api","service":%q,"originRequest":{"connectTimeout":30,"noTLSVerify":false}}`, host, svc))
			}
			slices.Reverse(remote) // no two rules match one request: any order routes alike
			catchAll := `{"service":"http_status:404"}`
			d := []byte(`{"ingress":[` + strings.Join(append(desired, catchAll), ",") + `]}`)
			r := []byte(`{"ingress":[` + strings.Join(append(remote, catchAll), ",") + `],"originRequest":{}}`)
			b.ReportAllocs()
			for b.Loop() {
				if equal, diffs := CompareConfigs(r, d); !equal {
					b.Fatal(diffs)
				}
			}
		})
	}
}
