package conflux

import (
	"encoding/json"
	"strings"
	"testing"
)

// canon renders a parsed document as canonical JSON for comparison.
func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseYAML(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", `null`},
		{"comment only", "# nothing\n", `null`},
		{"scalar", "hello world", `"hello world"`},
		{"core schema", "a: 1\nb: -2.5\nc: true\nd: ~\ne: null\nf: 0x1F\ng: 0o17\nh: +.5\ni: 1e3\nj: '007'\nk: 007\nl: yes\n",
			`{"a":1,"b":-2.5,"c":true,"d":null,"e":null,"f":31,"g":15,"h":0.5,"i":1e3,"j":"007","k":7,"l":"yes"}`},
		{"nested", "server:\n  port: 8080\n  tls:\n    enabled: false\nname: web\n",
			`{"name":"web","server":{"port":8080,"tls":{"enabled":false}}}`},
		{"sequences", "hosts:\n  - a\n  - b\nsame:\n- x\n- y\nafter: 1\n",
			`{"after":1,"hosts":["a","b"],"same":["x","y"]}`},
		{"seq of maps", "- name: a\n  port: 1\n- name: b\n  tags:\n    - t\n",
			`[{"name":"a","port":1},{"name":"b","tags":["t"]}]`},
		{"nested seqs", "- - a\n  - b\n- - c\n", `[["a","b"],["c"]]`},
		{"empty item and value", "- \n- x\nk:\n", ``}, // invalid: mapping after sequence at same level
		{"quoted", `a: "x: \"y\" # not comment\t\u00e9"` + "\nb: 'it''s'\n\"c d\": 1\n",
			`{"a":"x: \"y\" # not comment\té","b":"it's","c d":1}`},
		{"comments", "# head\na: 1 # one\n\n  # indented comment\nb: x#y\n", `{"a":1,"b":"x#y"}`},
		{"url value", "url: http://example.com:8080/x\n", `{"url":"http://example.com:8080/x"}`},
		{"flow", "a: [1, two, {k: v, n: null}]\nb: {}\nc: []\n", `{"a":[1,"two",{"k":"v","n":null}],"b":{},"c":[]}`},
		{"literal", "s: |\n  line 1\n    indented\n  line 3\n\nt: 1\n", `{"s":"line 1\n  indented\nline 3\n","t":1}`},
		{"literal strip keep", "a: |-\n  x\n\nb: |+\n  y\n\n\nc: 1\n", `{"a":"x","b":"y\n\n\n","c":1}`},
		{"folded", "f: >\n  one\n  two\n\n  three\n", `{"f":"one two\nthree\n"}`},
		{"block in seq", "- |\n  text\n- x\n", `["text\n","x"]`},
		{"document markers", "---\na: 1\n...\n", `{"a":1}`},
		{"crlf", "a: 1\r\nb: 2\r\n", `{"a":1,"b":2}`},
		{"numeric key", "1: one\ntrue: t\n", `{"1":"one","true":"t"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseYAML(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("want an error, got %s", canon(t, v))
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got := canon(t, v); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"bad indent", "a:\n  b: 1\n   c: 2\n", "line 3"},
		{"dedent into nothing", "a:\n    b: 1\n  c: 2\n", "line 3"},
		{"duplicate", "a: 1\na: 2\n", "duplicate"},
		{"anchor", "a: &x 1\n", "anchors"},
		{"alias", "a: *x\n", "anchors"},
		{"tag", "a: !!str 1\n", "tags"},
		{"tab indent", "a:\n\tb: 1\n", "tabs"},
		{"multi doc", "a: 1\n---\nb: 2\n", "several documents"},
		{"multi-line plain", "a: one\n  two\n", "multi-line"},
		{"unterminated quote", "a: \"x\n", "unterminated"},
		{"unterminated flow", "a: [1, 2\n", "one line"},
		{"inf", "a: .inf\n", "JSON"},
		{"nested mapping value", "a: b: c\n", "mapping"},
		{"complex key", "? a\n: b\n", ""},
		{"directive", "%YAML 1.2\n---\na: 1\n", "directives"},
		{"seq in map", "a: 1\n- b\n", "sequence item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseYAML(tc.in)
			if err == nil {
				t.Fatalf("want an error, got %s", canon(t, v))
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestParseTOML(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"scalars", "a = 1\nb = -0.5e2\nc = true\nd = \"s\\t\\u00e9\"\ne = 'lit\\n'\nf = 0xff\ng = 1_000\nh = 0b11\ni = +3\n",
			`{"a":1,"b":-0.5e2,"c":true,"d":"s\té","e":"lit\\n","f":255,"g":1000,"h":3,"i":3}`},
		{"tables", "top = 1\n[server]\nport = 80\n[server.tls]\non = false\n[db]\nurl = \"x\"\n",
			`{"db":{"url":"x"},"server":{"port":80,"tls":{"on":false}},"top":1}`},
		{"dotted keys", "a.b.c = 1\na.b.d = 2\n\"quoted key\".x = 3\n", `{"a":{"b":{"c":1,"d":2}},"quoted key":{"x":3}}`},
		{"arrays", "a = [1, 2, 3]\nb = [\n  \"x\", # c\n  \"y\",\n]\nc = [[1], [\"m\"]]\n", `{"a":[1,2,3],"b":["x","y"],"c":[[1],["m"]]}`},
		{"inline table", "p = { x = 1, y.z = \"w\" }\n", `{"p":{"x":1,"y":{"z":"w"}}}`},
		{"array of tables", "[[srv]]\nname = \"a\"\n[[srv]]\nname = \"b\"\n[srv.opts]\nk = 1\n",
			`{"srv":[{"name":"a"},{"name":"b","opts":{"k":1}}]}`},
		{"multi-line strings", "a = \"\"\"\nline1\nline2 \\\n   cont\"\"\"\nb = '''\nraw \\n'''\n",
			`{"a":"line1\nline2 cont","b":"raw \\n"}`},
		{"datetimes", "d = 1979-05-27T07:32:00Z\ne = 1979-05-27\nf = 07:32:00\n", `{"d":"1979-05-27T07:32:00Z","e":"1979-05-27","f":"07:32:00"}`},
		{"implicit then explicit", "[a.b]\nx = 1\n[a]\ny = 2\n", `{"a":{"b":{"x":1},"y":2}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseTOML(tc.in)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got := canon(t, v); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	for _, in := range []string{
		"a = 1\na = 2\n",
		"[t]\n[t]\n",
		"a = \n",
		"a = \"unterminated\n",
		"a = 1 b = 2\n",
		"p = { x = 1 }\n[p]\n",
		"a = inf\n",
		"a = 01\n",
		"a.b = 1\n[a.b]\n",
		"a = [1, 2\n",
		"= 1\n",
		"a = \"bad \\q escape\"\n",
		"x = 1\n[x]\n",
	} {
		if v, err := parseTOML(in); err == nil {
			t.Errorf("%q: want an error, got %s", in, canon(t, v))
		}
	}
}

func TestParseProperties(t *testing.T) {
	in := "# comment\n! bang comment\na=1\nb = two words\nc: colon\nd space\nlong = one \\\n    two\nesc = tab\\there\\u00e9\\\\\nkey\\ with\\ space = v\nempty=\n"
	v, err := parseProperties(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"1","b":"two words","c":"colon","d":"space","empty":"","esc":"tab\there\u00e9\\","key with space":"v","long":"one two"}`
	if got := canon(t, v); got != strings.ReplaceAll(want, `\u00e9`, "é") {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"a=1\na=2\n", "=v\n", "a=\\u12\n", "a=\\uZZZZ\n"} {
		if _, err := parseProperties(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
