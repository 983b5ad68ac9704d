package translate

import (
	"reflect"
	"regexp"
	"testing"
)

func TestSeconds(t *testing.T) {
	for in, want := range map[string]int64{"30s": 30, "1m30s": 90, "1500ms": 2, "1ns": 1, "0s": 0, "2h": 7200, "1.5s": 2} {
		got, reason := seconds(in)
		if reason != "" || got != want {
			t.Errorf("seconds(%q) = %d, %q; want %d", in, got, reason, want)
		}
	}
	for _, in := range []string{"", "30", "-1s", "1d", "abc"} {
		if _, reason := seconds(in); reason == "" {
			t.Errorf("seconds(%q) accepted", in)
		}
	}
}

func TestPaths(t *testing.T) {
	cases := []struct {
		re          string
		match, miss []string
	}{
		{prefixPath("/api"), []string{"/api", "/api/", "/api/v1"}, []string{"/apix", "/", "/v1/api"}},
		{prefixPath("/api/"), []string{"/api", "/api/v1"}, []string{"/apix"}},
		{prefixPath("/a.b"), []string{"/a.b/c"}, []string{"/axb"}},
		{exactPath("/login"), []string{"/login"}, []string{"/login/", "/loginx", "/x/login"}},
		{exactPath("/a+b"), []string{"/a+b"}, []string{"/aab"}},
	}
	for _, tc := range cases {
		re := regexp.MustCompile(tc.re)
		for _, p := range tc.match {
			if !re.MatchString(p) {
				t.Errorf("%s does not match %s", tc.re, p)
			}
		}
		for _, p := range tc.miss {
			if re.MatchString(p) {
				t.Errorf("%s matches %s", tc.re, p)
			}
		}
	}
	if p := prefixPath("/"); p != "" {
		t.Errorf(`prefixPath("/") = %q, want ""`, p)
	}
}

// TestProblemOrder: problems come out in the same order however the
// annotation map iterates.
func TestProblemOrder(t *testing.T) {
	var first []Problem
	for i := range 20 {
		ing := webIngress()
		for _, k := range []string{"zzz", "aaa", "mmm", "no-tls-verify", "connect-timeout"} {
			ing.Annotations["cloudflare.com/"+k] = "bad"
		}
		r := Ingress(ing, newFake(), opts)
		if len(r.Problems) != 5 {
			t.Fatalf("got %d problems:\n%s", len(r.Problems), problemsString(r.Problems))
		}
		if i == 0 {
			first = r.Problems
			continue
		}
		if !reflect.DeepEqual(first, r.Problems) {
			t.Fatalf("order differs:\n%s\n%s", problemsString(first), problemsString(r.Problems))
		}
	}
	if first[0].Field != `metadata.annotations["cloudflare.com/aaa"]` {
		t.Errorf("first problem %s, want the annotations sorted", first[0])
	}
}

// TestDefaultIngressClass: the newest default class wins, then the first by name.
func TestDefaultIngressClass(t *testing.T) {
	f := newFake()
	def := map[string]string{DefaultIngressClassAnnotation: "true"}
	f.classes["cf"].Annotations = def
	f.classes["nginx"].Annotations = def
	ing := webIngress()
	ing.Spec.IngressClassName = nil
	if c := IngressClassFor(ing, f); c == nil || c.Name != "cf" {
		t.Fatalf("got %v, want cf (same age, first by name)", c)
	}
	f.classes["nginx"].CreationTimestamp.Time = f.classes["cf"].CreationTimestamp.Add(1e9)
	if r := Ingress(ing, f, opts); r.Managed {
		t.Errorf("the newest default class is nginx's, but the Ingress was managed")
	}
}
