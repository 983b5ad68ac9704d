package tunnel

import (
	"reflect"
	"testing"
)

func TestFastPathDefersToTheWalker(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		fast       bool
	}{
		{"plain", `{"rules":[{"hostname":"a.example.com","path":"^/api","service":"http://a:80","originRequest":{"connectTimeout":30}}]}`, true},
		{"settings", `{"settings":{"fallbackTarget":"http_status:503","warpRouting":false,"originRequest":{}}}`, true},
		{"wrong case key", `{"rules":[{"Hostname":"a.example.com","service":"http://a:80"}]}`, false},
		{"duplicate key", `{"rules":[{"hostname":"a.example.com","hostname":"b.example.com","service":"http://a:80"}]}`, false},
		{"escaped key", `{"rules":[{"host\u006eame":"a.example.com","service":"http://a:80"}]}`, false},
		{"null", `{"rules":[{"hostname":null,"service":"http://a:80"}]}`, false},
		{"unknown key", `{"rules":[{"hostnam":"a.example.com","service":"http://a:80"}]}`, false},
		{"float for integer", `{"rules":[{"hostname":"a.example.com","service":"http://a:80","originRequest":{"connectTimeout":30.0}}]}`, false},
		{"trailing data", `{"rules":[]} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := decodeFast([]byte(tc.spec))
			if ok != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, tc.fast)
			}
		})
	}
}

// Whatever the fast path accepts, the token walker accepts too and decodes
// to the same Spec: the fast path may only skip work, never rules.
func FuzzFastPath(f *testing.F) {
	for _, s := range []string{
		`{"rules":[{"hostname":"a.example.com","path":"^/api","service":"http://a:80","originRequest":{"connectTimeout":30,"ipRules":[{"prefix":"10.0.0.0/8","ports":[80],"allow":true}],"access":{"required":true,"teamName":"t","audTag":["x"]}}}]}`,
		`{"settings":{"fallbackTarget":"http_status:503","warpRouting":false,"originRequest":{"noTLSVerify":true}}}`,
		`{"rules":[{"Hostname":"a"}]}`,
		`{"rules":[{"hostname":"a","hostname":"b"}]}`,
		`{"rules":[{"hostname":"a\"b","service":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := decodeFast(raw)
		if !ok {
			return
		}
		slow, err := decodeWalked(raw)
		if err != nil {
			t.Fatalf("fast path accepted what the walker refuses (%v): %s", err, raw)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast and walked decodes differ for %s:\n%+v\n%+v", raw, fast, slow)
		}
	})
}
