package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeFragment: DecodeFragment never panics; it refuses with an
// *Error, or returns a fragment that passes its own checks, re-encodes and
// decodes to the same fragment, and whose keys parse back.
func FuzzDecodeFragment(f *testing.F) {
	for _, s := range []string{
		validFragment,
		fragmentJSON(nil),
		fragmentJSON(map[string]string{"source": `{"kind":"API","name":"x"}`, "generation": "-"}),
		fragmentJSON(map[string]string{"spec": `{ "a" : "<&>\u2028", "b": [1, 2.50, 1e3] }`}),
		fragmentJSON(map[string]string{"target": `{"kind":"k","name":"ünïcødé/ok"}`}),
		fragmentJSON(map[string]string{"createIndex": "7"}),
		fragmentJSON(map[string]string{"extra": "1"}),
		fragmentJSON(map[string]string{"generation": `"3"`}),
		fragmentJSON(map[string]string{"generation": `-1`}),
		fragmentJSON(map[string]string{"spec": `null`}),
		fragmentJSON(map[string]string{"spec": `[]`}),
		fragmentJSON(map[string]string{"target": `{"kind":"k","name":"a\u001fb"}`}),
		`{"TARGET":{"Kind":"k","NAME":"n"},"Source":{"kind":"s","name":"n"},"spec":{}}`,
		`{"target":{"kind":"k","name":"n"},"target":{"kind":"k2","name":"n"},"source":{"kind":"s","name":"n"},"spec":{}}`,
		`{"target":{"kind":"k","name":"\ud800"},"source":{"kind":"s","name":"n"},"spec":{}}`,
		"{\"target\":{\"kind\":\"k\",\"name\":\"\xff\"},\"source\":{\"kind\":\"s\",\"name\":\"n\"},\"spec\":{}}",
		validFragment + "{}",
		``, `{`, `null`, `[]`, `"x"`,
	} {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 100)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxSize int) {
		fr, err := DecodeFragment(data, maxSize)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != CodeBadRequest && e.Code != CodeTooLarge) || e.Status != StatusFor(e.Code) {
				t.Fatalf("error %v (%T) is not a bad_request/too_large *Error", err, err)
			}
			if !reflect.DeepEqual(fr, Fragment{}) {
				t.Fatalf("fragment returned with an error: %+v", fr)
			}
			return
		}
		if maxSize > 0 && len(data) > maxSize {
			t.Fatalf("accepted %d bytes over a limit of %d", len(data), maxSize)
		}
		if fr.CreateIndex != 0 || fr.ModifyIndex != 0 {
			t.Fatalf("indices not cleared: %+v", fr)
		}
		if e := fr.checkEnvelope(""); e != nil {
			t.Fatalf("accepted fragment fails its own check: %v", e)
		}

		// Re-encode and decode again: the same fragment. The spec is
		// compared in its encoded (compact) form, which is what is stored.
		b, err := json.Marshal(fr)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", fr, err)
		}
		fr2, err := DecodeFragment(b, 0)
		if err != nil {
			t.Fatalf("re-encoded fragment %s refused: %v", b, err)
		}
		spec1, err := json.Marshal(fr.Spec)
		if err != nil {
			t.Fatalf("spec %q does not encode: %v", fr.Spec, err)
		}
		if string(fr2.Spec) != string(spec1) {
			t.Fatalf("spec changed: %s -> %s", spec1, fr2.Spec)
		}
		fr.Spec, fr2.Spec = nil, nil
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("round trip:\n%+v\n%+v", fr, fr2)
		}

		tk, err := ParseTargetKey(fr.Target.Key())
		if err != nil || tk != fr.Target {
			t.Fatalf("ParseTargetKey(%q) = %+v, %v; want %+v", fr.Target.Key(), tk, err, fr.Target)
		}
		sk, err := ParseSourceKey(fr.Source.Key())
		if err != nil || sk != fr.Source {
			t.Fatalf("ParseSourceKey(%q) = %+v, %v; want %+v", fr.Source.Key(), sk, err, fr.Source)
		}
	})
}
