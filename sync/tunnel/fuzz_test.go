package tunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

var fuzzSeeds = []string{
	`{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://web.default.svc:80","originRequest":{"connectTimeout":30}}]}`,
	`{"rules":[{"hostname":"*.example.com","service":"https://w:443"},{"path":"^/h","service":"http_status:200"}]}`,
	`{"rules":[{"hostname":"*","path":"*","service":"http://a"}]}`,
	`{"rules":[{"service":"http://a"}]}`,
	`{"settings":{"fallbackTarget":"http_status:503","warpRouting":false,"originRequest":{"noTLSVerify":false}}}`,
	`{"rules":[{"hostname":"a.x","service":"bastion","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[22],"allow":true}],"access":{"required":true,"teamName":"t","audTag":["a"]}}}]}`,
	`{"rules":[{"hostname":"A.X","service":"unix:/s"},{"hostname":"a.x","service":"unix+tls:/s"}]}`,
	`{"rules":[{"hostname":"a.x:80","service":"http://a"}]}`,
	`{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"connectTimeout":1.5}}]}`,
	`{"rules":[{"hostname":"a.x","service":"http://a","x":{"y":[1,2,{}]}}]}`,
	`{"rules":[{"hostname":"a.x","hostname":"b.x","service":"http://a"}]}`,
	`{"rules":[{"hostname":"ssh.x","originRequest":{"bastionMode":true}},{"hostname":"b.x"}],"settings":{"originRequest":{"bastionMode":true}}}`,
	`{"rules":[{"hostname":"s.x","service":"socks-proxy","originRequest":{"ipRules":[{"prefix":"10.0.0.0/8","ports":[1080]},{"prefix":"::/0","allow":false}]}}]}`,
	`{"rules":[{"hostname":"bücher.example","service":"hello-world"},{"hostname":"::1","service":"unix:"}]}`,
	`{"rules":[{"hostname":"a.x","service":"http://a","originRequest":{"access":{"audTag":["x"],"environment":"fed"},"proxyType":"socks5","keepAliveConnections":-1}}]}`,
	`[]`, `null`, `{}`, ``, `{"rules":[`, `"\ud800"`,
}

// FuzzValidate: Validate never panics; whatever it accepts aggregates
// deterministically into a configuration cloudflared would accept.
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, spec []byte, fromTunnel bool) {
		source := ingressSrc
		if fromTunnel {
			source = tunnelSrc
		}
		err := Kind{}.Validate(testTarget, source, spec)
		if err != nil {
			var fe *api.FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Reason == "" {
				t.Fatalf("Validate returned %T %v, want a FieldError with field and reason", err, err)
			}
			return
		}
		frags := []api.Fragment{{Target: testTarget, Source: source, Spec: spec, CreateIndex: 1}}
		first, err := Kind{}.Aggregate(testTarget, frags)
		if err != nil {
			t.Fatalf("Aggregate failed on a valid spec: %v", err)
		}
		again, err := Kind{}.Aggregate(testTarget, frags)
		if err != nil || !bytes.Equal(first.Desired, again.Desired) || !reflect.DeepEqual(first.Conflicts, again.Conflicts) {
			t.Fatalf("Aggregate is not deterministic: %s vs %s (%v)", first.Desired, again.Desired, err)
		}
		if len(first.Conflicts) != 0 {
			t.Fatalf("one fragment cannot conflict with itself: %+v", first.Conflicts)
		}
		if err := checkCloudflared(first.Desired); err != nil {
			t.Fatalf("output %s breaks cloudflared's rules: %v", first.Desired, err)
		}
		canon, err := Canonical(first.Desired)
		if err != nil || !bytes.Equal(canon, first.Desired) {
			t.Fatalf("output is not canonical: %s vs %s (%v)", canon, first.Desired, err)
		}
	})
}

// FuzzDecodeSpec: DecodeSpec never panics, fails only with a FieldError,
// and what it accepts the standard strict decoder reads the same way and
// survives a marshal round trip unchanged.
func FuzzDecodeSpec(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		spec, err := DecodeSpec(raw)
		if err != nil {
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeSpec returned %T %v, want *api.FieldError", err, err)
			}
			return
		}
		var std Spec
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("stdlib rejects what DecodeSpec accepted: %v", err)
		}
		if !reflect.DeepEqual(spec, std) {
			t.Fatalf("DecodeSpec %+v != stdlib %+v", spec, std)
		}
		out, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeSpec(out)
		if err != nil {
			t.Fatalf("re-encoded spec %s does not decode: %v", out, err)
		}
		if !reflect.DeepEqual(normalizeSpec(spec), normalizeSpec(back)) {
			t.Fatalf("round trip changed the spec: %s", out)
		}
	})
}

// normalizeSpec maps the spellings omitempty cannot preserve (an empty
// array, an empty string for non-pointer fields) to one form.
func normalizeSpec(s Spec) Spec {
	if len(s.Rules) == 0 {
		s.Rules = nil
	}
	for i := range s.Rules {
		s.Rules[i].OriginRequest = normalizeOR(s.Rules[i].OriginRequest)
	}
	if s.Settings != nil {
		st := *s.Settings
		st.OriginRequest = normalizeOR(st.OriginRequest)
		s.Settings = &st
	}
	return s
}

func normalizeOR(o *OriginRequest) *OriginRequest {
	if o == nil {
		return nil
	}
	c := *o
	if len(c.IPRules) == 0 {
		c.IPRules = nil
	}
	for i := range c.IPRules {
		if len(c.IPRules[i].Ports) == 0 {
			c.IPRules[i].Ports = nil
		}
	}
	if c.Access != nil {
		a := *c.Access
		if len(a.AudTag) == 0 {
			a.AudTag = nil
		}
		c.Access = &a
	}
	return &c
}

// FuzzRule builds specs from fuzzed hostname, path and service strings,
// which reaches the hostname, regex and service checks far more often
// than raw bytes do. Two sources claim the same rule: whatever Validate
// accepts must aggregate into valid output with exactly one conflict.
func FuzzRule(f *testing.F) {
	f.Add("app.example.com", "^/api", "http://web:80")
	f.Add("*.Example.com", "", "https://w")
	f.Add("*", "/x", "http_status:200")
	f.Add("", "*", "unix:/s")
	f.Add("a.b:80", "(", "http://a/b")
	f.Add("xn--bcher-kva.example", "[a-z]+", "tcp://[::1]:22")
	f.Add("bücher.example", "", "socks-proxy")
	f.Add("::1", "", "hello-world")
	f.Add("*example.com", "", "http://:80")
	f.Fuzz(func(t *testing.T, hostname, path, service string) {
		spec, err := json.Marshal(Spec{Rules: []Rule{
			{Hostname: hostname, Path: path, Service: service},
			{Hostname: "fixed.example.com", Service: "http://fixed"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := (Kind{}).Validate(testTarget, ingressSrc, spec); err != nil {
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate returned %T %v", err, err)
			}
			return
		}
		frags := []api.Fragment{
			{Source: ingressSrc, Spec: spec, CreateIndex: 2},
			{Source: api.SourceRef{Kind: "HTTPRoute", Namespace: "x", Name: "r"}, Spec: spec, CreateIndex: 1},
		}
		res, err := Kind{}.Aggregate(testTarget, frags)
		if err != nil {
			t.Fatalf("Aggregate failed on valid specs: %v", err)
		}
		if err := checkCloudflared(res.Desired); err != nil {
			t.Fatalf("output %s breaks cloudflared's rules: %v", res.Desired, err)
		}
		if len(res.Conflicts) != 2 || res.Conflicts[0].Winner != frags[1].Source {
			t.Fatalf("want both rules of the newer source to lose, got %+v", res.Conflicts)
		}
	})
}
