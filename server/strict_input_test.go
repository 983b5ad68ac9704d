package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

// The admin API took duplicate keys (the last one won), field names in any
// letter case, invalid UTF-8 (turned into U+FFFD, so two different names
// became one target), names with bidi and zero-width characters that look
// like other names in a listing, and reported a nested unknown field as
// "zz" instead of "target.zz". Every such request is now a 400 naming the
// full path, on the leader and through a follower, and changes nothing.
func TestNonCanonicalInputIsRefused(t *testing.T) {
	c := newTestCluster(t, 3)
	// One write first, so that the state compared below is past the
	// cluster's first entries (its id).
	if r := rawRequest(t, "PUT", c.nodes[c.leader()].URL()+"/v1/fragments", writeToken, validFragment); r.status != 200 {
		t.Fatalf("first write: %d %s", r.status, r.body)
	}
	before := c.converge(c.lastIndex())

	const (
		target = `"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"}`
		source = `"source":{"kind":"Ingress","namespace":"default","name":"web"}`
		spec   = `"spec":{"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80"}]}`
	)
	frag := func(parts ...string) string { return "{" + strings.Join(parts, ",") + `,"generation":1}` }
	withTarget := func(name string) string {
		return frag(`"target":{"kind":"cloudflare.TunnelConfiguration","name":"`+name+`"}`, source, spec)
	}
	withSourceName := func(name string) string {
		return frag(target, `"source":{"kind":"Ingress","namespace":"default","name":"`+name+`"}`, spec)
	}
	for _, tc := range []struct {
		name, path, body, field, msg string
		// status is 400 unless set: a spec's shape that only its kind
		// knows is the kind's verdict, 422.
		status int
	}{
		{"duplicate key", "/v1/fragments", frag(target, source, spec, `"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/other"}`), "target", "given twice", 0},
		{"duplicate key inside spec", "/v1/fragments", frag(target, source, `"spec":{"rules":[{"hostname":"a.example.com","service":"http://a:80","service":"http://b:80"}]}`), "spec.rules[0].service", "given twice", 0},
		{"wrong case at the top", "/v1/fragments", frag(`"Target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"}`, source, spec), "Target", `did you mean "target"`, 0},
		{"wrong case nested", "/v1/fragments", frag(`"target":{"Kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"}`, source, spec), "target.Kind", "unknown field", 0},
		{"unknown nested field", "/v1/fragments", frag(`"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge","zz":1}`, source, spec), "target.zz", "unknown field", 0},
		{"invalid UTF-8 byte", "/v1/fragments", withTarget("ClusterTunnel/ed\xffge"), "target.name", "not valid UTF-8", 0},
		{"lone surrogate escape", "/v1/fragments", withSourceName(`web\ud800`), "source.name", "not valid UTF-8", 0},
		{"U+FFFD in a spec", "/v1/fragments", frag(target, source, `"spec":{"rules":[{"hostname":"app.example.com","service":"http://web\ufffd:80"}]}`), "spec.rules[0].service", "not valid UTF-8", 0},
		{"bidi override in a name", "/v1/fragments", withTarget("ClusterTunnel/\u202egde"), "target.name", "bidi", 0},
		{"zero-width space in a name", "/v1/fragments", withSourceName("w\u200beb"), "source.name", "zero-width", 0},
		{"decomposed accent", "/v1/fragments", withSourceName("cafe\u0301"), "source.name", "NFC", 0},
		{"no-break space", "/v1/fragments", withSourceName("web\u00a0x"), "source.name", "spaces", 0},
		{"unknown field in a fragment of a set", "/v1/source-fragments", `{"source":{"kind":"API","name":"a"},"fragments":[
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"t"},"generation":1,"spec":{"rules":[{"hostname":"a.example.com","service":"http://a:80"}]}},
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"u","zz":true},"generation":1,"spec":{}}]}`, "fragments[1].target.zz", "unknown field", 0},
		{"wrong case in a set's spec", "/v1/source-fragments", `{"source":{"kind":"API","name":"a"},"fragments":[
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"t"},"generation":1,"spec":{"rules":[{"hostname":"a.example.com","Service":"http://a:80"}]}}]}`, "fragments[0].spec.rules[0].Service", "did you mean", 422},
		{"duplicate source of a set", "/v1/source-fragments", `{"source":{"kind":"API","name":"a"},"source":{"kind":"API","name":"b"},"fragments":[]}`, "source", "given twice", 0},
		{"source spec in the wrong case", "/v1/sources", `{"source":{"kind":"GitSource","name":"repo"},"spec":{"url":"https://git.example.com/r.git","URL":"https://git.example.com/s.git"}}`, "spec.URL", "did you mean", 0},
		{"duplicate member of a source spec", "/v1/sources", `{"source":{"kind":"GitSource","name":"repo"},"spec":{"url":"https://git.example.com/r.git","url":"https://git.example.com/s.git"}}`, "spec.url", "given twice", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, node := range []int{c.leader(), c.follower()} {
				r := rawRequest(t, "PUT", c.nodes[node].URL()+tc.path, writeToken, tc.body)
				var eb api.ErrorBody
				if err := json.Unmarshal(r.body, &eb); err != nil {
					t.Fatalf("node %d: status %d, body is not the JSON error shape: %s", node, r.status, r.body)
				}
				status, code := 400, api.CodeBadRequest
				if tc.status == 422 {
					status, code = 422, api.CodeInvalidSpec
				}
				if r.status != status || eb.Error.Code != code || eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.msg) {
					t.Fatalf("node %d: got %d %+v, want %d %s field=%q message containing %q", node, r.status, eb.Error, status, code, tc.field, tc.msg)
				}
			}
		})
	}
	if after := c.converge(c.lastIndex()); after != before {
		t.Fatalf("refused requests changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// A canonical name with non-ASCII letters is still a name.
	r := rawRequest(t, "PUT", c.nodes[c.leader()].URL()+"/v1/fragments", writeToken, withSourceName("café-ünïcode"))
	if r.status != 200 {
		t.Fatalf("an NFC name was refused: %d %s", r.status, r.body)
	}
}
