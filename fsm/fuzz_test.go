package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeCommand: Decode never panics; it either refuses with
// ErrMalformed or returns a command that encodes. One encode normalises
// (compact JSON, canonical times, empty maps dropped); from there on
// encode/decode is the identity, on the value and on the bytes.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range sampleCommands() {
		b, err := Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "\x01", "\x01\x01", "\x02\x01{}", "\x01\x07{}", "\x01\x01null", "\x01\x01{}",
		"\x01\x01{\"fragment\":{\"spec\": { \"a\" : [1, 2] }, \"generation\": 1}}",
		"\x01\x01{\"fragment\":{\"spec\":\"<&>\\u2028\"}}",
		"\x01\x01{\"FRAGMENT\":{\"Target\":{\"KIND\":\"a\"}}}",
		"\x01\x03{\"source\":{},\"fragments\":null}",
		"\x01\x03{\"source\":{},\"fragments\":[{\"spec\":null},{}]}",
		"\x01\x04{\"status\":{\"time\":\"2020-01-01T00:00:00+00:00\",\"downstreamIds\":{}}}",
		"\x01\x04{\"status\":{\"time\":\"0000-01-01T00:30:00+01:00\"}}",
		"\x01\x04{\"status\":{\"time\":\"9999-12-31T23:59:59.999999999-23:59\"}}",
		"\x01\x05{\"source\":{\"spec\":{}}}",
		"\x01\x06{\"source\":{\"kind\":\"\\ud800\"}}",
		"\x01\x01{\"fragment\":{\"generation\":1e3}}",
		"\x01\x01{\"fragment\":{\"spec\":\"\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || c1 != nil {
				t.Fatalf("Decode = %#v, %v; want nil, ErrMalformed", c1, err)
			}
			return
		}
		b1, err := Encode(c1)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", c1, err)
		}
		if b1[0] != data[0] || b1[1] != data[1] {
			t.Fatalf("header changed: %x -> %x", data[:2], b1[:2])
		}
		c2, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", b1, err)
		}
		b2, err := Encode(c2)
		if err != nil {
			t.Fatalf("Encode(c2): %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable:\n%q\n%q", b1, b2)
		}
		c3, err := Decode(b2)
		if err != nil {
			t.Fatalf("Decode(b2): %v", err)
		}
		if !reflect.DeepEqual(c2, c3) {
			t.Fatalf("decode(encode(c)) != c:\n%#v\n%#v", c2, c3)
		}
	})
}
