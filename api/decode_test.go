package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const validFragment = `{"target": {"kind": "cloudflare.TunnelConfiguration", "name": "ClusterTunnel/edge"},
 "source": {"kind": "Ingress", "namespace": "default", "name": "web"},
 "generation": 3,
 "spec": {"rules": [{"hostname": "app.example.com", "path": "^/api",
                     "service": "http://web.default.svc:80", "originRequest": {"connectTimeout": 30}}]}}`

// fragmentJSON builds a fragment document with one field replaced (or
// removed, with the value "-").
func fragmentJSON(overrides map[string]string) string {
	fields := map[string]string{
		"target":     `{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"}`,
		"source":     `{"kind":"Ingress","namespace":"default","name":"web"}`,
		"generation": `3`,
		"spec":       `{"rules":[]}`,
	}
	for k, v := range overrides {
		fields[k] = v
	}
	var parts []string
	for _, k := range []string{"target", "source", "generation", "spec", "createIndex", "modifyIndex", "extra"} {
		if v, ok := fields[k]; ok && v != "-" {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func asAPIError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *api.Error", err, err)
	}
	return e
}

func TestDecodeFragmentValid(t *testing.T) {
	f, err := DecodeFragment([]byte(validFragment), DefaultMaxFragmentSize)
	if err != nil {
		t.Fatalf("DecodeFragment: %v", err)
	}
	want := Fragment{
		Target:     TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: "ClusterTunnel/edge"},
		Source:     SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"},
		Generation: 3,
	}
	got := f
	got.Spec = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeFragment = %+v, want %+v", got, want)
	}
	var spec map[string]any
	if err := json.Unmarshal(f.Spec, &spec); err != nil || spec["rules"] == nil {
		t.Errorf("spec %s did not survive: %v", f.Spec, err)
	}

	// Indices are the cluster's to assign.
	f, err = DecodeFragment([]byte(fragmentJSON(map[string]string{"createIndex": "5", "modifyIndex": "6"})), 0)
	if err != nil || f.CreateIndex != 0 || f.ModifyIndex != 0 {
		t.Errorf("indices not cleared: %+v, %v", f, err)
	}
	// Namespace is optional; generation may be missing (zero).
	f, err = DecodeFragment([]byte(fragmentJSON(map[string]string{"source": `{"kind":"API","name":"me"}`, "generation": "-"})), 0)
	if err != nil || f.Source.Namespace != "" || f.Generation != 0 {
		t.Errorf("minimal fragment: %+v, %v", f, err)
	}
	// Trailing whitespace is not trailing data.
	if _, err := DecodeFragment([]byte(validFragment+"\n\t "), 0); err != nil {
		t.Errorf("trailing whitespace refused: %v", err)
	}
}

func TestDecodeFragmentErrors(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen+1)
	tests := []struct {
		name      string
		data      string
		maxSize   int
		wantCode  string
		wantField string
		wantMsg   string
	}{
		{"empty body", ``, 0, CodeBadRequest, "", "empty"},
		{"malformed JSON", `{"target":`, 0, CodeBadRequest, "", "malformed JSON"},
		{"syntax error", `{"target" {}}`, 0, CodeBadRequest, "", "malformed JSON at byte"},
		{"not an object", `[1,2,3]`, 0, CodeBadRequest, "", "must be"},
		{"unknown field", fragmentJSON(map[string]string{"extra": `1`}), 0, CodeBadRequest, "extra", "unknown field"},
		{"wrong type generation", fragmentJSON(map[string]string{"generation": `"3"`}), 0, CodeBadRequest, "generation", "must be an integer"},
		{"fractional generation", fragmentJSON(map[string]string{"generation": `1.5`}), 0, CodeBadRequest, "generation", "must be a whole number"},
		{"huge generation", fragmentJSON(map[string]string{"generation": `99999999999999999999`}), 0, CodeBadRequest, "generation", "out of range"},
		{"wrong type target", fragmentJSON(map[string]string{"target": `"edge"`}), 0, CodeBadRequest, "target", "must be"},
		{"wrong type target.kind", fragmentJSON(map[string]string{"target": `{"kind":1,"name":"x"}`}), 0, CodeBadRequest, "target.kind", "must be a string"},
		{"missing target", fragmentJSON(map[string]string{"target": "-"}), 0, CodeBadRequest, "target.kind", "is required"},
		{"null target", fragmentJSON(map[string]string{"target": "null"}), 0, CodeBadRequest, "target.kind", "is required"},
		{"missing target.kind", fragmentJSON(map[string]string{"target": `{"name":"x"}`}), 0, CodeBadRequest, "target.kind", "is required"},
		{"missing target.name", fragmentJSON(map[string]string{"target": `{"kind":"k"}`}), 0, CodeBadRequest, "target.name", "is required"},
		{"missing source.kind", fragmentJSON(map[string]string{"source": `{"name":"web"}`}), 0, CodeBadRequest, "source.kind", "is required"},
		{"missing source.name", fragmentJSON(map[string]string{"source": `{"kind":"Ingress","namespace":"default"}`}), 0, CodeBadRequest, "source.name", "is required"},
		{"control character in target.name", fragmentJSON(map[string]string{"target": `{"kind":"k","name":"a\u001fb"}`}), 0, CodeBadRequest, "target.name", "control characters"},
		{"NUL in source.name", fragmentJSON(map[string]string{"source": `{"kind":"k","name":"a\u0000b"}`}), 0, CodeBadRequest, "source.name", "control characters"},
		{"newline in source.namespace", fragmentJSON(map[string]string{"source": `{"kind":"k","namespace":"a\nb","name":"x"}`}), 0, CodeBadRequest, "source.namespace", "control characters"},
		{"DEL in target.kind", fragmentJSON(map[string]string{"target": `{"kind":"k\u007f","name":"x"}`}), 0, CodeBadRequest, "target.kind", "control characters"},
		{"space in source.kind", fragmentJSON(map[string]string{"source": `{"kind":"In gress","name":"x"}`}), 0, CodeBadRequest, "source.kind", "spaces"},
		{"name too long", fragmentJSON(map[string]string{"target": `{"kind":"k","name":"` + long + `"}`}), 0, CodeBadRequest, "target.name", "longer than the limit"},
		{"negative generation", fragmentJSON(map[string]string{"generation": `-1`}), 0, CodeBadRequest, "generation", "negative"},
		{"spec missing", fragmentJSON(map[string]string{"spec": "-"}), 0, CodeBadRequest, "spec", "is required"},
		{"spec null", fragmentJSON(map[string]string{"spec": "null"}), 0, CodeBadRequest, "spec", "is required"},
		{"spec array", fragmentJSON(map[string]string{"spec": "[]"}), 0, CodeBadRequest, "spec", "JSON object"},
		{"spec string", fragmentJSON(map[string]string{"spec": `"rules"`}), 0, CodeBadRequest, "spec", "JSON object"},
		{"spec number", fragmentJSON(map[string]string{"spec": `42`}), 0, CodeBadRequest, "spec", "JSON object"},
		{"spec true", fragmentJSON(map[string]string{"spec": `true`}), 0, CodeBadRequest, "spec", "JSON object"},
		{"over max size", validFragment, 64, CodeTooLarge, "", "over the limit of 64"},
		{"trailing data", validFragment + `{}`, 0, CodeBadRequest, "", "data after the JSON value"},
		{"trailing garbage", validFragment + `x`, 0, CodeBadRequest, "", "data after the JSON value"},
		{"trailing bracket", validFragment + `]`, 0, CodeBadRequest, "", "data after the JSON value"},
		{"two documents", validFragment + "\n" + validFragment, 0, CodeBadRequest, "", "data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeFragment([]byte(tt.data), tt.maxSize)
			if err == nil {
				t.Fatalf("DecodeFragment accepted it: %+v", f)
			}
			e := asAPIError(t, err)
			if e.Code != tt.wantCode || e.Field != tt.wantField || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("error = {code %q field %q message %q}, want {code %q field %q message containing %q}",
					e.Code, e.Field, e.Message, tt.wantCode, tt.wantField, tt.wantMsg)
			}
			if e.Status != StatusFor(tt.wantCode) {
				t.Errorf("status %d, want %d", e.Status, StatusFor(tt.wantCode))
			}
			if !reflect.DeepEqual(f, Fragment{}) {
				t.Errorf("a partial fragment was returned with the error: %+v", f)
			}
		})
	}
}

func TestDecodeFragmentSizeLimitBoundary(t *testing.T) {
	data := []byte(validFragment)
	if _, err := DecodeFragment(data, len(data)); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	_, err := DecodeFragment(data, len(data)-1)
	if e := asAPIError(t, err); e.Code != CodeTooLarge || e.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("one over the limit: %+v", e)
	}
}

func replaceJSON(frags ...string) string {
	return `{"source":{"kind":"GitSource","namespace":"team-a","name":"app-configs"},"fragments":[` + strings.Join(frags, ",") + `]}`
}

func sf(kind, name, spec string) string {
	return fmt.Sprintf(`{"target":{"kind":%q,"name":%q},"generation":1,"spec":%s}`, kind, name, spec)
}

func TestDecodeReplaceSource(t *testing.T) {
	good := replaceJSON(sf("conflux.Config", "a", `{"x":1}`), sf("conflux.Config", "b", `{}`))
	req, err := DecodeReplaceSource([]byte(good), 0, 0)
	if err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if req.Source != (SourceRef{Kind: "GitSource", Namespace: "team-a", Name: "app-configs"}) || len(req.Fragments) != 2 || req.Fragments[1].Target.Name != "b" {
		t.Errorf("decoded %+v", req)
	}
	// An empty set is valid: it deletes everything of the source.
	if req, err := DecodeReplaceSource([]byte(replaceJSON()), 0, 0); err != nil || len(req.Fragments) != 0 {
		t.Errorf("empty set: %+v, %v", req, err)
	}
	// The same target name under two kinds is two targets.
	if _, err := DecodeReplaceSource([]byte(replaceJSON(sf("k1", "a", `{}`), sf("k2", "a", `{}`))), 0, 0); err != nil {
		t.Errorf("same name, other kind: %v", err)
	}

	tests := []struct {
		name                     string
		data                     string
		maxSize, maxFragments    int
		wantCode, wantField, msg string
	}{
		{"malformed", `{"source":`, 0, 0, CodeBadRequest, "", "malformed JSON"},
		{"unknown field", `{"source":{"kind":"k","name":"n"},"fragments":[],"force":true}`, 0, 0, CodeBadRequest, "force", "unknown field"},
		{"missing source", `{"fragments":[]}`, 0, 0, CodeBadRequest, "source.kind", "is required"},
		{"bad source name", `{"source":{"kind":"k","name":"a b"},"fragments":[]}`, 0, 0, CodeBadRequest, "source.name", "spaces"},
		{"duplicate target", replaceJSON(sf("k", "a", `{}`), sf("k", "b", `{}`), sf("k", "a", `{"y":2}`)), 0, 0, CodeBadRequest, "fragments[2].target", "listed twice (also fragments[0])"},
		{"missing target.kind", replaceJSON(sf("k", "a", `{}`), `{"target":{"name":"b"},"spec":{}}`), 0, 0, CodeBadRequest, "fragments[1].target.kind", "is required"},
		{"control char in target.name", replaceJSON(`{"target":{"kind":"k","name":"a\u0007"},"spec":{}}`), 0, 0, CodeBadRequest, "fragments[0].target.name", "control characters"},
		{"negative generation", replaceJSON(sf("k", "a", `{}`), `{"target":{"kind":"k","name":"b"},"generation":-4,"spec":{}}`), 0, 0, CodeBadRequest, "fragments[1].generation", "negative"},
		{"spec null", replaceJSON(sf("k", "a", `null`)), 0, 0, CodeBadRequest, "fragments[0].spec", "is required"},
		{"spec array", replaceJSON(sf("k", "a", `{}`), sf("k", "b", `[1]`)), 0, 0, CodeBadRequest, "fragments[1].spec", "JSON object"},
		{"spec too large", replaceJSON(sf("k", "a", `{}`), sf("k", "b", `{"x":"`+strings.Repeat("y", 100)+`"}`)), 50, 0, CodeTooLarge, "fragments[1].spec", "over the limit of 50"},
		{"too many fragments", replaceJSON(sf("k", "a", `{}`), sf("k", "b", `{}`), sf("k", "c", `{}`)), 0, 2, CodeTooLarge, "fragments", "over the limit of 2"},
		{"wrong type generation", replaceJSON(`{"target":{"kind":"k","name":"b"},"generation":"1","spec":{}}`), 0, 0, CodeBadRequest, "fragments[0].generation", "must be an integer"},
		{"unknown field in a fragment", replaceJSON(`{"target":{"kind":"k","name":"b"},"source":{},"spec":{}}`), 0, 0, CodeBadRequest, "fragments[0].source", "unknown field"},
		{"trailing data", good + `[]`, 0, 0, CodeBadRequest, "", "data after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeReplaceSource([]byte(tt.data), tt.maxSize, tt.maxFragments)
			if err == nil {
				t.Fatal("accepted")
			}
			e := asAPIError(t, err)
			if e.Code != tt.wantCode || e.Field != tt.wantField || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error = {code %q field %q message %q}, want {code %q field %q message containing %q}",
					e.Code, e.Field, e.Message, tt.wantCode, tt.wantField, tt.msg)
			}
		})
	}
}

func TestKeysRoundTrip(t *testing.T) {
	targets := []TargetRef{
		{Kind: "cloudflare.TunnelConfiguration", Name: "ClusterTunnel/edge"},
		{Kind: "k", Name: "a:b/c"},
	}
	for _, tr := range targets {
		got, err := ParseTargetKey(tr.Key())
		if err != nil || got != tr {
			t.Errorf("ParseTargetKey(%q) = %+v, %v", tr.Key(), got, err)
		}
	}
	sources := []SourceRef{
		{Kind: "Ingress", Namespace: "default", Name: "web"},
		{Kind: "API", Name: "caller"},
		{Kind: "GitSource", Namespace: "team-a", Name: "app-configs:production/db.yaml"},
	}
	for _, s := range sources {
		got, err := ParseSourceKey(s.Key())
		if err != nil || got != s {
			t.Errorf("ParseSourceKey(%q) = %+v, %v", s.Key(), got, err)
		}
	}
	for _, bad := range []string{"", "no-separator"} {
		if _, err := ParseTargetKey(bad); err == nil {
			t.Errorf("ParseTargetKey(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "a\x1fb", "a\x1fb\x1fc\x1fd"} {
		if _, err := ParseSourceKey(bad); err == nil {
			t.Errorf("ParseSourceKey(%q) accepted", bad)
		}
	}
	if s := (SourceRef{Kind: "API", Name: "x"}).String(); s != "API/x" {
		t.Errorf("String = %q", s)
	}
	if s := (SourceRef{Kind: "Ingress", Namespace: "d", Name: "x"}).String(); s != "Ingress/d/x" {
		t.Errorf("String = %q", s)
	}
}

func TestErrorAndStatus(t *testing.T) {
	for code, status := range map[string]int{
		CodeBadRequest: 400, CodeUnauthenticated: 401, CodeForbidden: 403, CodeNotFound: 404,
		CodeMethodNotAllowed: 405, CodeConflict: 409, CodeTooLarge: 413, CodeInvalidSpec: 422,
		CodeNoLeader: 503, CodeUnavailable: 503, CodeInternal: 500, "whatever": 500,
		CodeWaitTimeout: 504, CodeInsufficientStorage: 507,
	} {
		if got := StatusFor(code); got != status {
			t.Errorf("StatusFor(%q) = %d, want %d", code, got, status)
		}
	}
	e := Errorf(CodeBadRequest, "spec.rules[2].hostname", "must be %s", "lowercase")
	if e.Error() != "spec.rules[2].hostname: must be lowercase (bad_request)" || e.Status != 400 {
		t.Errorf("Error() = %q, status %d", e.Error(), e.Status)
	}
	if e := Errorf(CodeInternal, "", "boom"); e.Error() != "boom (internal)" {
		t.Errorf("Error() = %q", e.Error())
	}
	b, _ := json.Marshal(ErrorBody{Error: *e})
	if string(b) != `{"error":{"code":"bad_request","message":"must be lowercase","field":"spec.rules[2].hostname"}}` {
		t.Errorf("ErrorBody JSON = %s", b)
	}
	if got := itoa(1234567890); got != "1234567890" || itoa(0) != "0" {
		t.Errorf("itoa = %q", got)
	}
}
