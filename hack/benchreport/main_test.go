package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkAggregate/rules=100-2         	    1352	   1038008 ns/op	  223956 B/op	    2519 allocs/op
BenchmarkCloudflareConvergence-2   	      20	       506.6 p50-ms	       510.6 p99-ms
BenchmarkCloudflareCallsPer1000Changes/sustained-5s-2 	20	         0 ns/op	        10.10 calls/1000changes
--- SKIP: BenchmarkX
PASS
`)
	lines := parseBench(out)
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %+v", len(lines), lines)
	}
	if l := lines[0]; l.Name != "BenchmarkAggregate/rules=100" || l.N != 1352 || l.Metrics["allocs/op"] != 2519 {
		t.Errorf("line 0: %+v", l)
	}
	if l, ok := lookup(lines, "BenchmarkCloudflareConvergence"); !ok || l.Metrics["p99-ms"] != 510.6 {
		t.Errorf("convergence: %+v %v", l, ok)
	}
	if l, ok := lookup(lines, "BenchmarkCloudflareCallsPer1000Changes/sustained-5s"); !ok || l.Metrics["calls/1000changes"] != 10.1 {
		t.Errorf("sustained: %+v %v", l, ok)
	}
}

func TestSpliceSection(t *testing.T) {
	doc := "# Benchmarks\n\nIntro.\n\n## FSM\n\nold\n"
	sec := beginMarker + "\nnew\n" + endMarker + "\n"
	got, err := spliceSection(doc, sec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "# Benchmarks\n\nIntro.\n\n"+sec) || !strings.HasSuffix(got, "## FSM\n\nold\n") {
		t.Errorf("first insertion:\n%s", got)
	}
	// A second run replaces the section and keeps the rest as it is.
	sec2 := beginMarker + "\nnewer\n" + endMarker + "\n"
	again, err := spliceSection(got, sec2)
	if err != nil {
		t.Fatal(err)
	}
	if again != strings.Replace(got, sec, sec2, 1) {
		t.Errorf("replacement:\n%s", again)
	}
	if _, err := spliceSection("x "+beginMarker, sec); err == nil {
		t.Error("a lone marker is not an error")
	}
}

func TestScaleResultAcceptsBenchmarkOutput(t *testing.T) {
	raw := `[{"fragments":100000,"load_seconds":10,"rss_bytes":[1,2,3]},{"fragments":10000,"load_seconds":1}]`
	var s scaleResult
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 2 || s.Points[0].Fragments != 10000 || s.Sizes[1] != 100000 {
		t.Errorf("%+v", s)
	}
	if k := exponent(10000, 1, 100000, 10); math.Abs(k-1) > 1e-9 {
		t.Errorf("exponent of linear growth = %v", k)
	}
}
