package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	type inner struct {
		Hostname string            `json:"hostname"`
		Port     uint16            `json:"port,omitempty"`
		Labels   map[string]string `json:"labels,omitempty"`
		Extra    json.RawMessage   `json:"extra,omitempty"`
	}
	type base struct {
		ID string `json:"id"`
	}
	type doc struct {
		base
		Rules []inner `json:"rules"`
		Ratio float64 `json:"ratio,omitempty"`
		Any   any     `json:"any,omitempty"`
	}
	typ := reflect.TypeFor[doc]()
	for _, tc := range []struct{ name, in, field, msg string }{
		{"valid", `{"id":"a","rules":[{"hostname":"h","port":80,"labels":{"a":"b"},"extra":{"x":[1,{"y":null}]}}],"ratio":0.5,"any":[1,"x"]}`, "", ""},
		{"null everywhere", `{"id":null,"rules":null,"ratio":null}`, "", ""},
		{"embedded field by its own name", `{"base":{}}`, "base", "unknown field"},
		{"wrong case", `{"ID":"a"}`, "ID", `did you mean "id"`},
		{"nested unknown", `{"rules":[{},{"hostname":"h","zz":1}]}`, "rules[1].zz", "unknown field"},
		{"duplicate", `{"id":"a","id":"b"}`, "id", "given twice"},
		{"duplicate map key", `{"rules":[{"labels":{"a":"1","a":"2"}}]}`, "rules[0].labels.a", "given twice"},
		{"duplicate inside raw", `{"rules":[{"extra":{"k":{"q":1,"q":2}}}]}`, "rules[0].extra.k.q", "given twice"},
		{"duplicate inside any", `{"any":{"k":1,"k":2}}`, "any.k", "given twice"},
		{"odd key quoted in path", `{"rules":[{"labels":{"a b":"1","a b":"2"}}]}`, `rules[0].labels["a b"]`, "given twice"},
		{"invalid UTF-8 in a key", "{\"rules\":[{\"labels\":{\"a\xff\":\"1\"}}]}", "rules[0].labels", "not valid UTF-8"},
		{"invalid UTF-8 in raw", "{\"rules\":[{\"extra\":[\"\xc3\"]}]}", "rules[0].extra[0]", "not valid UTF-8"},
		{"escaped U+FFFD", `{"id":"\ufffd"}`, "id", "not valid UTF-8"},
		{"uint out of range", `{"rules":[{"port":70000}]}`, "rules[0].port", "from 0 to 65535"},
		{"negative uint", `{"rules":[{"port":-1}]}`, "rules[0].port", "from 0 to 65535"},
		{"float for an integer", `{"rules":[{"port":1e2}]}`, "rules[0].port", "whole number"},
		{"string for a number", `{"ratio":"1"}`, "ratio", "must be a number"},
		{"object for an array", `{"rules":{}}`, "rules", "must be an array"},
		{"syntax", `{"id":"a",}`, "", "malformed JSON at byte"},
		{"truncated", `{"id":"a"`, "", "unexpected end of input"},
		{"trailing", `{} {}`, "", "data after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := CheckJSON([]byte(tc.in), typ, "")
			if tc.msg == "" {
				if fe != nil {
					t.Fatalf("refused: %v", fe)
				}
				return
			}
			if fe == nil || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.msg) {
				t.Fatalf("got %v, want %s: ...%s...", fe, tc.field, tc.msg)
			}
		})
	}
}

func TestNameCharacterSet(t *testing.T) {
	for _, tc := range []struct{ name, v, msg string }{
		{"ascii", "ClusterTunnel/edge", ""},
		{"git path", "app-configs:production/db.yaml", ""},
		{"nfc accents and scripts", "café/Ünïcode/日本語/हिन्दी", ""},
		{"bidi override", "a\u202eb", "bidi"},
		{"bidi isolate", "a\u2066b", "bidi"},
		{"left-to-right mark", "a\u200eb", "bidi"},
		{"zero-width joiner", "a\u200db", "zero-width"},
		{"byte order mark", "\ufeffa", "zero-width"},
		{"soft hyphen", "a\u00adb", "format characters"},
		{"replacement character", "a\ufffdb", "U+FFFD"},
		{"private use", "a\ue000b", "private-use"},
		{"noncharacter", "a\ufdd0b", "noncharacters"},
		{"unassigned", "a\U000E0080b", "unassigned"},
		{"ideographic space", "a\u3000b", "spaces"},
		{"line separator", "a\u2028b", "spaces"},
		{"leading combining mark", "\u0301a", "combining mark"},
		{"decomposed", "e\u0301", "NFC"},
		{"angstrom sign", "\u212b", "NFC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := checkName("target.name", tc.v, true, MaxNameLen)
			if tc.msg == "" {
				if fe != nil {
					t.Fatalf("refused: %v", fe)
				}
				return
			}
			if fe == nil || fe.Field != "target.name" || !strings.Contains(fe.Reason, tc.msg) {
				t.Fatalf("got %v, want target.name: ...%s...", fe, tc.msg)
			}
		})
	}
}

func TestCompactKeepsCompactSpecs(t *testing.T) {
	for _, in := range []string{
		`{"a":"x y","b":[1,2],"c":"q\"  \\ "}`,
		`{ "a": 1 }`,
		"{\"a\":\n1}",
		`{"a":"\\","b" :2}`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if got := compact(json.RawMessage(in)); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("compact(%s) = %s, want %s", in, got, want.Bytes())
		}
		if isCompact([]byte(in)) != (in == want.String()) {
			t.Errorf("isCompact(%s) = %v", in, isCompact([]byte(in)))
		}
	}
}
