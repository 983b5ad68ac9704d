package dns

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

var (
	zoneRef = api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}
	srcA    = api.SourceRef{Kind: "DNSRecord", Namespace: "default", Name: "a"}
)

func TestValidateAccepts(t *testing.T) {
	for name, spec := range map[string]string{
		"example from the doc": `{"records":[
			{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},
			{"name":"api.example.com","type":"A","content":"203.0.113.7","ttl":300,"comment":"team api","tags":["team:api"]},
			{"name":"legacy.example.com","type":"CNAME","content":"old.example.net","adopt":true}]}`,
		"apex and wildcard":       `{"records":[{"name":"example.com","type":"A","content":"192.0.2.1"},{"name":"*.example.com","type":"AAAA","content":"2001:db8::1"}]}`,
		"multi-value A":           `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"},{"name":"a.example.com","type":"A","content":"192.0.2.2"}]}`,
		"mx with priority":        `{"accountId":"acc1","records":[{"name":"example.com","type":"MX","content":"mx.example.net.","priority":10}]}`,
		"txt with underscore":     `{"records":[{"name":"_dmarc.example.com","type":"TXT","content":"v=DMARC1; p=none"}]}`,
		"upper-case name":         `{"records":[{"name":"App.Example.COM","type":"cname","content":"x.example.net"}]}`,
		"empty records":           `{"records":[]}`,
		"ttl 1 and 86400":         `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","ttl":1},{"name":"b.example.com","type":"A","content":"192.0.2.1","ttl":86400}]}`,
		"proxied with ttl forced": `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","ttl":300,"proxied":true}]}`,
		"credentials":             `{"accountId":"acc1","credentials":{"namespace":"infra","name":"cloudflare","key":"token"},"records":[]}`,
		"credentials, no account": `{"credentials":{"namespace":"infra","name":"cloudflare","key":"token"},"records":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := New().Validate(zoneRef, srcA, json.RawMessage(spec)); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, zone, spec, field, reason string
	}{
		{"zone upper-case", "Example.com", `{"records":[]}`, "target.name", "lower-case"},
		{"zone trailing dot", "example.com.", `{"records":[]}`, "target.name", "dot"},
		{"zone single label", "com", `{"records":[]}`, "target.name", "not a zone name"},
		{"unknown field", "", `{"records":[],"zone":"x"}`, "spec.zone", "unknown field"},
		{"bad account", "", `{"accountId":"a b","records":[]}`, "spec.accountId", "account id"},
		{"credentials without name", "", `{"credentials":{"namespace":"infra","key":"token"},"records":[]}`, "spec.credentials.name", "required"},
		{"credentials with slash", "", `{"credentials":{"namespace":"infra","name":"n","key":"a/b"},"records":[]}`, "spec.credentials.key", "'/'"},
		{"apex as @", "", `{"records":[{"name":"@","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", `"@"`},
		{"relative name", "", `{"records":[{"name":"www","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "relative"},
		{"outside zone", "", `{"records":[{"name":"www.example.net","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "not inside"},
		{"suffix trick", "", `{"records":[{"name":"badexample.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "not inside"},
		{"long label", "", `{"records":[{"name":"` + long + `.example.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "63"},
		{"long name", "", `{"records":[{"name":"` + strings.Repeat("abcdefgh.", 29) + `example.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "255"},
		{"bad char", "", `{"records":[{"name":"a!.example.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "may only hold"},
		{"inner wildcard", "", `{"records":[{"name":"a.*.example.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[0].name", "wildcard"},
		{"srv with content", "", `{"records":[{"name":"a.example.com","type":"SRV","content":"x"}]}`, "spec.records[0].content", "give data"},
		{"unknown type", "", `{"records":[{"name":"a.example.com","type":"SPF","content":"x"}]}`, "spec.records[0].type", "not a record type Cloudflare serves"},
		{"no content", "", `{"records":[{"name":"a.example.com","type":"A"}]}`, "spec.records[0].content", "required"},
		{"both", "", `{"records":[{"name":"a.example.com","type":"CNAME","content":"x.example.net","tunnel":"t"}]}`, "spec.records[0].tunnel", "not both"},
		{"tunnel on A", "", `{"records":[{"name":"a.example.com","type":"A","tunnel":"t"}]}`, "spec.records[0].tunnel", "only allowed on CNAME"},
		{"A with v6", "", `{"records":[{"name":"a.example.com","type":"A","content":"2001:db8::1"}]}`, "spec.records[0].content", "IPv4"},
		{"AAAA with v4", "", `{"records":[{"name":"a.example.com","type":"AAAA","content":"192.0.2.1"}]}`, "spec.records[0].content", "IPv6"},
		{"A garbage", "", `{"records":[{"name":"a.example.com","type":"A","content":"1.2.3"}]}`, "spec.records[0].content", "IPv4"},
		{"cname to garbage", "", `{"records":[{"name":"a.example.com","type":"CNAME","content":"a b"}]}`, "spec.records[0].content", "host name"},
		{"mx no priority", "", `{"records":[{"name":"example.com","type":"MX","content":"mx.example.net"}]}`, "spec.records[0].priority", "required"},
		{"priority on A", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","priority":1}]}`, "spec.records[0].priority", "only allowed"},
		{"priority range", "", `{"records":[{"name":"example.com","type":"MX","content":"mx.example.net","priority":70000}]}`, "spec.records[0].priority", "range"},
		{"ttl 30", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","ttl":30}]}`, "spec.records[0].ttl", "60..86400"},
		{"ttl float", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","ttl":1.5}]}`, "spec.records[0].ttl", "must be a whole number"},
		{"proxied txt", "", `{"records":[{"name":"a.example.com","type":"TXT","content":"x","proxied":true}]}`, "spec.records[0].proxied", "only A, AAAA and CNAME"},
		{"long comment", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","comment":"` + strings.Repeat("c", 71) + `"}]}`, "spec.records[0].comment", "at most 70"},
		{"comment newline", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","comment":"a\nb"}]}`, "spec.records[0].comment", "line breaks"},
		{"tag no colon", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","tags":["team"]}]}`, "spec.records[0].tags[0]", "name:value"},
		{"tag bad name", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","tags":["te am:x"]}]}`, "spec.records[0].tags[0]", "name:value"},
		{"tag dup", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","tags":["t:x","T:x"]}]}`, "spec.records[0].tags[1]", "repeats"},
		{"duplicate record", "", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"},{"name":"A.example.com","type":"A","content":"192.0.2.1"}]}`, "spec.records[1]", "repeats spec.records[0]"},
		{"cname not alone", "", `{"records":[{"name":"a.example.com","type":"TXT","content":"x"},{"name":"a.example.com","type":"CNAME","content":"x.example.net"}]}`, "spec.records[1].name", "only record"},
		{"two cnames", "", `{"records":[{"name":"a.example.com","type":"CNAME","content":"x.example.net"},{"name":"a.example.com","type":"CNAME","content":"y.example.net"}]}`, "spec.records[1].name", "only record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := zoneRef
			if tc.zone != "" {
				ref.Name = tc.zone
			}
			err := New().Validate(ref, srcA, json.RawMessage(tc.spec))
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *api.FieldError, got %T %v", err, err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
				t.Fatalf("got %s: %s; want field %s with %q", fe.Field, fe.Reason, tc.field, tc.reason)
			}
		})
	}
}

func TestValidateWrongKind(t *testing.T) {
	err := New().Validate(api.TargetRef{Kind: "cloudflare.Tunnel", Name: "example.com"}, srcA, json.RawMessage(`{"records":[]}`))
	var fe *api.FieldError
	if !errors.As(err, &fe) || fe.Field != "target.kind" {
		t.Fatalf("got %v", err)
	}
}

func TestMaxCommentLenFitsMarker(t *testing.T) {
	marker := cfapi.Marker("0123456789abcdef")
	c := cfapi.Comment(marker, strings.Repeat("x", MaxCommentLen))
	if len(c) != cfapi.MaxCommentLen || !strings.HasSuffix(c, "x") {
		t.Fatalf("comment of %d: %q", len(c), c)
	}
}
