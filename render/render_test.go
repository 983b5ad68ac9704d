package render

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	secrets := map[string]string{"password": "hunter22", "user": "bob", "port": "5432", "flag": "true", "ratio": "0.5", "b64": "aGVsbG8="}
	tests := []struct {
		name, text string
		opts       Options
		want       string
	}{
		{"plain", "host: db", Options{}, "host: db"},
		{"field", "{{ .Secrets.password }}", Options{}, "hunter22"},
		{"secret func", `{{ secret "user" }}`, Options{}, "bob"},
		{"delims", `<< .Secrets.user >> {{ not a template }}`, Options{LeftDelim: "<<", RightDelim: ">>"}, "bob {{ not a template }}"},
		{"one delim ignored", `{{ .Secrets.user }}`, Options{LeftDelim: "<<"}, "bob"},
		{"default empty", `{{ "" | default "d" }}`, Options{}, "d"},
		{"default set", `{{ .Secrets.user | default "d" }}`, Options{}, "bob"},
		{"required ok", `{{ .Secrets.user | required "user is required" }}`, Options{}, "bob"},
		{"empty", `{{ empty "" }} {{ empty 0 }} {{ empty (list) }} {{ empty "x" }}`, Options{}, "true true true false"},
		{"coalesce", `{{ coalesce "" 0 "x" "y" }}`, Options{}, "x"},
		{"ternary", `{{ ternary "a" "b" true }}{{ true | ternary "c" "d" }}{{ ternary "e" "f" false }}`, Options{}, "acf"},
		{"quote", `{{ quote .Secrets.user }} {{ .Secrets.user | squote }} {{ quote "a\"b" }}`, Options{}, `"bob" 'bob' "a\"b"`},
		{"case", `{{ upper "ab" }} {{ lower "AB" }} {{ title "hello-world foo_bar x" }}`, Options{}, "AB ab Hello-World Foo_bar X"},
		{"trim", `[{{ trim "  a " }}][{{ "pre-x" | trimPrefix "pre-" }}][{{ "x.yaml" | trimSuffix ".yaml" }}]`, Options{}, "[a][x][x]"},
		{"replace", `{{ "a-b-c" | replace "-" "_" }}`, Options{}, "a_b_c"},
		{"predicates", `{{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }} {{ hasSuffix "c" "abc" }} {{ hasPrefix "c" "abc" }}`, Options{}, "true true true false"},
		{"split join", `{{ split "," "a,b,c" | join ";" }} {{ len (split "," "a,b") }}`, Options{}, "a;b;c 2"},
		{"join any", `{{ list 1 "x" true | join "," }}`, Options{}, "1,x,true"},
		{"indent", `{{ "a\nb" | indent 2 }}|{{ "a" | nindent 4 }}`, Options{}, "  a\n  b|\n    a"},
		{"toJson", `{{ dict "b" "<x>" "a" (list 1 2) | toJson }}`, Options{}, `{"a":[1,2],"b":"<x>"}`},
		{"toPrettyJson", `{{ dict "a" 1 | toPrettyJson }}`, Options{}, "{\n  \"a\": 1\n}"},
		{"toYaml", `{{ dict "b" "x" "a" (list 1 2) | toYaml }}`, Options{}, "a:\n  - 1\n  - 2\nb: x"},
		{"b64", `{{ .Secrets.user | b64enc }} {{ .Secrets.b64 | b64dec }}`, Options{}, "Ym9i hello"},
		{"sha256", `{{ sha256sum "abc" }}`, Options{}, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"int float bool", `{{ add (int .Secrets.port) 1 }} {{ float .Secrets.ratio }} {{ if bool .Secrets.flag }}on{{ end }}`, Options{}, "5433 0.5 on"},
		{"toString", `{{ toString 12 }}{{ toString "x" }}`, Options{}, "12x"},
		{"keys", `{{ keys .Secrets | join "," }}`, Options{}, "b64,flag,password,port,ratio,user"},
		{"add sub", `{{ add 1 2 3 }} {{ sub 10 3 }} {{ 3 | sub 10 }}`, Options{}, "6 7 7"},
		{"printf", `{{ printf "%5d|%-3s|%.2f" 3 "a" 1.2345 }}`, Options{}, "    3|a  |1.23"},
		{"range with", `{{ range $i, $k := list "a" "b" }}{{ $i }}={{ $k }};{{ end }}{{ with .Secrets }}{{ .user }}{{ end }}`, Options{}, "0=a;1=b;bob"},
		{"define template", `{{ define "u" }}<{{ . }}>{{ end }}{{ template "u" .Secrets.user }}`, Options{}, "<bob>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render("t.yaml", tc.text, secrets, tc.opts)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	secrets := map[string]string{"password": "hunter22"}
	tests := []struct {
		name, text   string
		line, column int
		reason       string // substring of Reason
	}{
		{"missing key", "a: 1\nb: {{ .Secrets.nope }}", 2, 15, `map has no entry for key "nope"`},
		{"missing secret", `{{ secret "nope" }}`, 1, 4, `secret "nope" is not in the referenced Secret`},
		{"parse error", "a\nb\n{{ if }}", 3, 0, "missing value for if"},
		{"unclosed", "a\n{{ .Secrets.password", 2, 0, "unclosed action"},
		{"unknown function", "{{ env \"HOME\" }}", 1, 0, `function "env" not defined`},
		{"no now", "{{ now }}", 1, 0, `function "now" not defined`},
		{"required", `{{ "" | required "db.user is required" }}`, 1, 9, "db.user is required"},
		{"dict odd", `{{ dict "a" }}`, 1, 4, "dict needs key/value pairs"},
		{"dict key", `{{ dict 1 2 }}`, 1, 4, "dict key 1 is a int, not a string"},
		{"indent width", `{{ indent 100000 "x" }}`, 1, 4, "indent width 100000 is outside 0..1024"},
		{"printf width", `{{ printf "%999999999d" 1 }}`, 1, 4, "printf: widths and precisions are limited to 1024"},
		{"printf star", `{{ printf "%*d" 999999999 1 }}`, 1, 4, "printf: * widths are not supported"},
		{"recursion", `{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}`, 1, 0, "exceeded maximum template depth"},
		{"too large", `{{ range 1100 }}{{ printf "%1000d" 1 }}{{ end }}`, 0, 0, "rendered content is larger than 1 MiB"},
		{"replace blowup", `{{ replace "" (printf "%1000d" 1) (printf "%1000d" 1) | replace "" (printf "%1000d" 1) }}`, 0, 0, "rendered content is larger than 1 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render("t.yaml", tc.text, secrets, Options{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v, want *Error", err)
			}
			if e.Line != tc.line || (tc.column != 0 && e.Column != tc.column) {
				t.Errorf("line:col = %d:%d, want %d:%d (%v)", e.Line, e.Column, tc.line, tc.column, e)
			}
			if !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", e.Reason, tc.reason)
			}
			if strings.HasPrefix(e.Reason, "template:") {
				t.Errorf("Reason keeps the template prefix: %q", e.Reason)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	if got := (&Error{Line: 3, Column: 2, Reason: "bad"}).Error(); got != "line 3: bad" {
		t.Errorf("got %q", got)
	}
	if got := (&Error{Reason: "bad"}).Error(); got != "bad" {
		t.Errorf("got %q", got)
	}
}

// TestErrorsNeverCarrySecrets plants the secret value into every function
// error path, so a regression that quotes a value is caught.
func TestErrorsNeverCarrySecrets(t *testing.T) {
	const v = "S3cr3t-value!" // not base64, not a number, not a bool
	secrets := map[string]string{"pw": v, "json": `{"a":` + v}
	texts := []string{
		`{{ int .Secrets.pw }}`,
		`{{ .Secrets.pw | int }}`,
		`{{ float .Secrets.pw }}`,
		`{{ bool .Secrets.pw }}`,
		`{{ b64dec .Secrets.pw }}`,
		`{{ .Secrets.pw | upper | b64dec }}`,
		`{{ add 1 .Secrets.pw }}`,
		`{{ sub .Secrets.pw 1 }}`,
		`{{ sub 1 .Secrets.pw }}`,
		`{{ required .Secrets.pw "" }}`,
		`{{ indent (int .Secrets.pw) "x" }}`,
		`{{ dict .Secrets.pw }}`,
		`{{ join "," .Secrets.pw | int }}`,
		`{{ keys .Secrets.pw }}`,
		`{{ join .Secrets.pw 3 }}`,
		`{{ secret .Secrets.pw }}`,
		`{{ .Secrets.pw.x }}`,
		`{{ .Secrets.pw | printf "%s%*d" }}`,
		`{{ printf .Secrets.pw | int }}`,
		`{{ ternary 1 2 .Secrets.pw }}`,
		`{{ eq .Secrets.pw 1 }}`,
		`{{ lt .Secrets.pw 1 }}`,
		`{{ template .Secrets.pw }}`, // parse error, value not yet involved
		`{{ if .Secrets.pw }}{{ .Secrets.missing }}{{ end }}`,
		`{{ .Secrets.pw | toString | call }}`,
		`{{ slice .Secrets.pw 1 100 }}`,
		`{{ .Secrets.pw }}{{ "` + v + `" | int }}`,
		`{{ "` + v + `" | nope }}`, // the value typed into the template itself
		`{{ "` + base64.StdEncoding.EncodeToString([]byte(v)) + `" | int }}`,
		`{{ .Secrets.json | b64dec }}`,
		`{{ toJson (dict "a" (float "NaN")) }}{{ .Secrets.pw | int }}`,
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(v))
	for _, text := range texts {
		_, err := Render("t.yaml", text, secrets, Options{})
		if err == nil {
			t.Errorf("%s: no error", text)
			continue
		}
		if s := err.Error(); strings.Contains(s, v) || strings.Contains(s, b64) || strings.Contains(s, "S3cr3t") {
			t.Errorf("%s: error carries the secret: %s", text, s)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		secrets map[string]string
		want    string
	}{
		{"none", "abc", nil, "abc"},
		{"simple", "pw=hunter2.", map[string]string{"a": "hunter2"}, "pw=***."},
		{"empty value ignored", "abc", map[string]string{"a": ""}, "abc"},
		{"containing masked whole", "x=abcdef", map[string]string{"a": "abc", "b": "abcdef"}, "x=***"},
		{"overlapping", "abcdef", map[string]string{"a": "abc", "b": "cdef"}, "***"},
		{"repeated", "a1a1", map[string]string{"a": "a1"}, "***"},
		{"base64", "v=" + base64.StdEncoding.EncodeToString([]byte("hunter2")), map[string]string{"a": "hunter2"}, "v=***"},
		{"short base64 not masked", "Ym9i bob", map[string]string{"a": "bob"}, "Ym9i ***"},
		{"star value", "***", map[string]string{"a": "*"}, "***"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.s, tc.secrets); got != tc.want {
				t.Errorf("Mask(%q) = %q, want %q", tc.s, got, tc.want)
			}
		})
	}
}

func TestSecretKeys(t *testing.T) {
	tests := []struct {
		name, text string
		opts       Options
		want       []string
	}{
		{"none", "plain", Options{}, []string{}},
		{"field", "{{ .Secrets.b }}{{ .Secrets.a }}{{ .Secrets.a }}", Options{}, []string{"a", "b"}},
		{"secret literal", `{{ secret "x" }}{{ secret (printf "dyn") }}`, Options{}, []string{"x"}},
		{"pipelines", `{{ .Secrets.a | b64enc | quote }}{{ default "d" .Secrets.b }}{{ (.Secrets.c) }}`, Options{}, []string{"a", "b", "c"}},
		{"nested", `{{ if .Secrets.a }}{{ range list 1 }}{{ with .Secrets.b }}{{ secret "c" }}{{ end }}{{ else }}{{ $.Secrets.d }}{{ end }}{{ end }}`, Options{}, []string{"a", "b", "c", "d"}},
		{"with Secrets", `{{ with .Secrets }}{{ .user }}{{ .pass | upper }}{{ end }}{{ .other }}`, Options{}, []string{"pass", "user"}},
		{"index", `{{ index .Secrets "db-pass" }}{{ with .Secrets }}{{ index . "k2" }}{{ end }}`, Options{}, []string{"db-pass", "k2"}},
		{"define", `{{ define "x" }}{{ .Secrets.inner }}{{ end }}{{ template "x" . }}`, Options{}, []string{"inner"}},
		{"delims", `<< .Secrets.a >> {{ .Secrets.b }}`, Options{LeftDelim: "<<", RightDelim: ">>"}, []string{"a"}},
		{"variables", `{{ $s := .Secrets.a }}{{ $s }}`, Options{}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SecretKeys(tc.text, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretKeysParseError(t *testing.T) {
	_, err := SecretKeys("a\nb\n{{ .Secrets.a | nope }}", Options{})
	var e *Error
	if !errors.As(err, &e) || e.Line != 3 || !strings.Contains(e.Reason, `function "nope" not defined`) {
		t.Fatalf("err = %#v", err)
	}
}

// TestRenderIsolated makes sure one Render's step budget and secrets do
// not leak into another, since the function map is built per call.
func TestRenderIsolated(t *testing.T) {
	for range 3 {
		if _, err := render("t", "{{ range 900 }}{{ end }}", nil, Options{}, 1000); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStepBudget(t *testing.T) {
	tests := []struct{ name, text string }{
		{"silent range", "x\n{{ range 100000000000 }}{{ end }}"},
		{"nested ranges", "x\n{{ range 100 }}{{ range 100 }}{{ end }}{{ end }}"},
		{"exponential recursion", "x\n" + `{{ define "a" }}{{ if gt . 0 }}{{ template "a" (sub . 1) }}{{ template "a" (sub . 1) }}{{ end }}{{ end }}{{ template "a" 40 }}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render("t", tc.text, nil, Options{}, 1000)
			var e *Error
			if !errors.As(err, &e) || e.Line != 2 || !strings.Contains(e.Reason, "too many loop iterations") {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}
