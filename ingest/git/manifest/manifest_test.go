package manifest

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/render"
)

// valid is a complete document; its lines are referenced by the tests.
const valid = `apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: db.yaml
  namespace: team-a
  labels: {app: billing}
  annotations: {note: x}
spec:
  application: billing
  environment: production
  format: yaml
  description: database settings
  schema:
    type: object
    required: [host]
    properties:
      port: {type: integer, maximum: 65535}
      host: {type: string, pattern: "^<[a-z]+>$"}
  retentionPolicy:
    strategy: OR
    rules:
      - {type: count, keep: 10}
      - {type: days, keep: 30}
  template:
    content: |
      host: db
      password: {{ .Secrets.password }}
  secretsRef:
    name: db-credentials
  release:
    stable: true
    labels: {canary: "true"}
    priority: 10
    description: first
`

func TestParseValid(t *testing.T) {
	configs, problems := ParseFile("configs/db.yaml", []byte(valid), ParseOptions{DefaultTenant: "default"})
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(configs) != 1 {
		t.Fatalf("got %d configs", len(configs))
	}
	want := ConfluxConfig{
		Path: "configs/db.yaml", Line: 1,
		Tenant: "team-a", Application: "billing", Environment: "production", Name: "db.yaml",
		Format: "yaml", Description: "database settings",
		Schema: []byte(`{"properties":{"host":{"pattern":"^<[a-z]+>$","type":"string"},"port":{"maximum":65535,"type":"integer"}},"required":["host"],"type":"object"}`),
		RetentionPolicy: &api.ConfluxRetentionPolicy{Strategy: "OR", Rules: []api.ConfluxRetentionRule{
			{Type: "count", Keep: 10}, {Type: "days", Keep: 30},
		}},
		Template:     "host: db\npassword: {{ .Secrets.password }}\n",
		TemplateLine: 26,
		SecretsRef:   "db-credentials",
		Release:      Release{Stable: true, Labels: map[string]string{"canary": "true"}, Priority: 10, Description: "first"},
	}
	got := configs[0]
	if string(got.Schema) != string(want.Schema) {
		t.Errorf("Schema =\n%s\nwant\n%s", got.Schema, want.Schema)
	}
	got.Schema, want.Schema = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got.Key() != "team-a/billing/production/db.yaml" {
		t.Errorf("Key = %q", got.Key())
	}
}

// minimal builds a small valid document with extra spec lines appended;
// its template content is on line 9.
func minimal(name, extra string) string {
	return `apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: ` + name + `
spec:
  application: app
  environment: prod
  format: text
  template: {content: "x"}
` + extra
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		data     string
		opts     ParseOptions
		want     []string // Key@Line of the configs
		problems []string // Problem.Error() values
	}{
		{
			name: "multi-doc with foreign documents",
			path: "a.yaml",
			data: "# leading comment\n---\n" + minimal("one", "") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nunknown: field\n---\n- a list\n---\n" +
				"just a string\n---\n" + minimal("two", "") + "...\n",
			opts: ParseOptions{DefaultTenant: "t"},
			want: []string{"t/app/prod/one@3", "t/app/prod/two@22"},
		},
		{
			name: "empty documents",
			path: "a.yaml",
			data: "---\n---\n# only a comment\n",
		},
		{
			name:     "other apiVersion",
			path:     "a.yaml",
			data:     "kind: ConfluxConfig\napiVersion: gitops.conflux.io/v2\n",
			problems: []string{`a.yaml:2: apiVersion: is "gitops.conflux.io/v2"; this version of conflux-sync reads gitops.conflux.io/v1alpha1`},
		},
		{
			name:     "missing apiVersion",
			path:     "a.yaml",
			data:     "# c\nkind: ConfluxConfig\n",
			problems: []string{"a.yaml:2: apiVersion: is required: gitops.conflux.io/v1alpha1"},
		},
		{
			name: "other kind in our group is ignored",
			path: "a.yaml",
			data: "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxSource\nfoo: bar\n",
		},
		{
			name:     "invalid yaml keeps the other documents",
			path:     "a.yml",
			data:     minimal("one", "") + "---\na: [b\nc: d\n---\n" + minimal("two", ""),
			opts:     ParseOptions{DefaultTenant: "t"},
			want:     []string{"t/app/prod/one@1", "t/app/prod/two@14"},
			problems: []string{"a.yml:11: is not valid YAML: did not find expected ',' or ']'"},
		},
		{
			name:     "scanner error line",
			path:     "a.yaml",
			data:     "a: 1\n---\nx: 1\ny: 2\nz: b: c\n",
			problems: []string{"a.yaml:5: is not valid YAML: mapping values are not allowed in this context"},
		},
		{
			// yaml.v3 reports where it noticed: the end of the input.
			name:     "parser error at the end of input",
			path:     "a.yaml",
			data:     "[a\n",
			problems: []string{"a.yaml:2: is not valid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "invalid yaml in a non-yaml file is ignored",
			path: "README.md",
			data: "a: [b\n",
		},
		{
			name:     "duplicate key in one file",
			path:     "a.yaml",
			data:     minimal("one", "") + "---\n" + minimal("one", ""),
			opts:     ParseOptions{DefaultTenant: "t"},
			want:     []string{"t/app/prod/one@1"},
			problems: []string{"a.yaml:11: metadata.name: t/app/prod/one is also defined by the document at line 1"},
		},
		{
			name: "default tenant",
			path: "a.yaml",
			data: minimal("one", ""),
			opts: ParseOptions{DefaultTenant: "dflt"},
			want: []string{"dflt/app/prod/one@1"},
		},
		{
			name:     "no tenant at all",
			path:     "a.yaml",
			data:     minimal("one", ""),
			problems: []string{"a.yaml:3: metadata.namespace: is required: the source sets no default tenant"},
		},
		{
			name:     "bad default tenant",
			path:     "a.yaml",
			data:     minimal("one", ""),
			opts:     ParseOptions{DefaultTenant: "-bad"},
			problems: []string{`a.yaml:3: metadata.namespace: is not set and the source's default tenant "-bad" does not match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`},
		},
		{
			name: "missing everything",
			path: "a.yaml",
			data: "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxConfig\n",
			problems: []string{
				"a.yaml:1: metadata: is required",
				"a.yaml:1: spec: is required",
			},
		},
		{
			name: "missing spec fields",
			path: "a.yaml",
			data: "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxConfig\nmetadata:\n  name: x\n  namespace: t\nspec:\n  description: d\n",
			problems: []string{
				"a.yaml:6: spec.application: is required",
				"a.yaml:6: spec.environment: is required",
				"a.yaml:6: spec.format: is required",
				"a.yaml:6: spec.template: is required",
			},
		},
		{
			name: "missing name, empty content",
			path: "a.yaml",
			data: "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxConfig\nmetadata:\n  namespace: t\nspec:\n  application: a\n  environment: e\n  format: json\n  template:\n    content: \"\"\n",
			problems: []string{
				"a.yaml:3: metadata.name: is required",
				"a.yaml:10: spec.template.content: is required",
			},
		},
		{
			name: "unknown and duplicate fields",
			path: "a.yaml",
			data: minimal("one", "  extra: 1\n  format: json\nstatus: {}\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:12: status: is not a known field (known: apiVersion, kind, metadata, spec)",
				"a.yaml:10: spec.extra: is not a known field (known: application, environment, format, description, schema, retentionPolicy, template, secretsRef, release)",
				"a.yaml:11: spec.format: is set twice (also at line 8)",
			},
		},
		{
			name: "bad names and format",
			path: "a.yaml",
			data: "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxConfig\nmetadata:\n  name: /abs\n  namespace: a b\nspec:\n  application: _x\n  environment: \"\"\n  format: xml\n  template: {content: x}\n",
			problems: []string{
				`a.yaml:4: metadata.name: "/abs" must match ^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`,
				`a.yaml:5: metadata.namespace: "a b" must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`,
				`a.yaml:7: spec.application: "_x" must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`,
				"a.yaml:8: spec.environment: is required",
				`a.yaml:9: spec.format: is "xml"; must be one of json, yaml, toml, properties, text`,
			},
		},
		{
			name: "wrong types",
			path: "a.yaml",
			data: minimal("one", "  description: [a]\n  release:\n    stable: \"yes\"\n    priority: high\n    labels:\n      canary: true\n      weight: 10\n      ok: \"1\"\n      \"\": x\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:10: spec.description: must be a string, not a list",
				"a.yaml:12: spec.release.stable: must be true or false, not a string",
				"a.yaml:13: spec.release.priority: must be an integer, not a string",
				`a.yaml:15: spec.release.labels.canary: must be a string, not a boolean; quote it ("true")`,
				`a.yaml:16: spec.release.labels.weight: must be a string, not an integer; quote it ("10")`,
				"a.yaml:18: spec.release.labels: label names must not be empty",
			},
		},
		{
			name: "name must be a string",
			path: "a.yaml",
			data: minimal("1.5", ""),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				`a.yaml:4: metadata.name: must be a string, not a number; quote it ("1.5")`,
			},
		},
		{
			name:     "schema on text",
			path:     "a.yaml",
			data:     minimal("one", "  schema: {type: string}\n"),
			opts:     ParseOptions{DefaultTenant: "t"},
			problems: []string{"a.yaml:10: spec.schema: is not allowed for a text config"},
		},
		{
			name: "schema shape",
			path: "a.yaml",
			data: strings.Replace(minimal("one", "  schema: [a]\n---\n"+minimal("two", "  schema:\n    maximum: .inf\n")), "format: text", "format: json", -1),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:10: spec.schema: must be a JSON Schema written as a mapping (or true/false), not a list",
				`a.yaml:22: spec.schema.maximum: ".inf" is not a number JSON can hold`,
			},
		},
		{
			name: "boolean schema",
			path: "a.yaml",
			data: strings.Replace(minimal("one", "  schema: true\n"), "format: text", "format: json", 1),
			opts: ParseOptions{DefaultTenant: "t"},
			want: []string{"t/app/prod/one@1"},
		},
		{
			name: "retention policy",
			path: "a.yaml",
			data: minimal("one", "  retentionPolicy:\n    strategy: XOR\n    rules:\n      - type: weeks\n        keep: 0\n      - {type: count}\n      - {type: days, keep: 1, extra: 2}\n      - nope\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				`a.yaml:11: spec.retentionPolicy.strategy: is "XOR"; must be AND or OR`,
				`a.yaml:13: spec.retentionPolicy.rules[0].type: is "weeks"; must be count or days`,
				"a.yaml:14: spec.retentionPolicy.rules[0].keep: must be at least 1",
				"a.yaml:15: spec.retentionPolicy.rules[1].keep: is required",
				"a.yaml:16: spec.retentionPolicy.rules[2].extra: is not a known field (known: type, keep)",
				"a.yaml:17: spec.retentionPolicy.rules[3]: must be a mapping, not a string",
			},
		},
		{
			name: "secretsRef namespace and name",
			path: "a.yaml",
			data: minimal("one", "  secretsRef:\n    name: Bad_Name\n    namespace: other\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:12: spec.secretsRef.namespace: is not allowed: Secrets are read from the source's namespace only",
				`a.yaml:11: spec.secretsRef.name: "Bad_Name" is not a valid Kubernetes Secret name`,
			},
		},
		{
			name: "long descriptions",
			path: "a.yaml",
			data: minimal("one", "  description: "+strings.Repeat("é", 1025)+"\n  release:\n    description: "+strings.Repeat("x", 1025)+"\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:10: spec.description: is longer than 1024 characters",
				"a.yaml:12: spec.release.description: is longer than 1024 characters",
			},
		},
		{
			name: "delimiters",
			path: "a.yaml",
			data: minimal("one", "") + "---\n" +
				strings.Replace(minimal("two", ""), `template: {content: "x"}`, `template: {content: "<< x", delimiters: ["<<"]}`, 1) + "---\n" +
				strings.Replace(minimal("three", ""), `template: {content: "x"}`, `template: {content: "x", delimiters: ["<<", ""]}`, 1) + "---\n" +
				strings.Replace(minimal("four", ""), `template: {content: "x"}`, `template: {content: "x", delimiters: ["<<", 1]}`, 1),
			opts: ParseOptions{DefaultTenant: "t"},
			want: []string{"t/app/prod/one@1"},
			problems: []string{
				`a.yaml:19: spec.template.delimiters: must be a list of two strings, like ["<<", ">>"]`,
				"a.yaml:29: spec.template.delimiters[1]: must not be empty",
				`a.yaml:39: spec.template.delimiters[1]: must be a string, not an integer; quote it ("1")`,
			},
		},
		{
			name: "template syntax error, block scalar",
			path: "a.yaml",
			data: strings.Replace(minimal("one", ""), `template: {content: "x"}`, "template:\n    content: |\n      line 1\n      {{ if }}\n", 1),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:12: spec.template.content: is not a valid template: missing value for if",
			},
		},
		{
			name: "template syntax error, quoted scalar",
			path: "a.yaml",
			data: strings.Replace(minimal("one", ""), `template: {content: "x"}`, "template:\n    content: \"{{ nope }}\"\n", 1),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				`a.yaml:10: spec.template.content: is not a valid template: function "nope" not defined`,
			},
		},
		{
			name: "template syntax error with delimiters",
			path: "a.yaml",
			data: strings.Replace(minimal("one", ""), `template: {content: "x"}`, "template:\n    delimiters: [\"<<\", \">>\"]\n    content: |-\n      {{ fine }}\n      << .Secrets.x\n", 1),
			opts: ParseOptions{DefaultTenant: "t"},
			problems: []string{
				"a.yaml:13: spec.template.content: is not a valid template: unclosed action",
			},
		},
		{
			name:     "document too large",
			path:     "a.yaml",
			data:     minimal("one", "  description: x\n"+strings.Repeat("# padding\n", MaxDocument/10)),
			opts:     ParseOptions{DefaultTenant: "t"},
			problems: []string{"a.yaml:1: the document is larger than 1 MiB"},
		},
		{
			name: "large foreign document is ignored",
			path: "a.yaml",
			data: "kind: Other\n" + strings.Repeat("# padding\n", MaxDocument/10),
		},
		{
			name: "null optional sections",
			path: "a.yaml",
			data: minimal("one", "  description:\n  schema: ~\n  retentionPolicy:\n  secretsRef:\n  release:\n"),
			opts: ParseOptions{DefaultTenant: "t"},
			want: []string{"t/app/prod/one@1"},
		},
		{
			name: "anchors and aliases",
			path: "a.yaml",
			data: strings.Replace(minimal("one", "  release:\n    description: *app\n"), "application: app", "application: &app app", 1),
			opts: ParseOptions{DefaultTenant: "t"},
			want: []string{"t/app/prod/one@1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			configs, problems := ParseFile(tc.path, []byte(tc.data), tc.opts)
			var got []string
			for _, c := range configs {
				got = append(got, c.Key()+"@"+strconv.Itoa(c.Line))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("configs = %q, want %q", got, tc.want)
			}
			var gotP []string
			for _, p := range problems {
				gotP = append(gotP, p.Error())
			}
			if !reflect.DeepEqual(gotP, tc.problems) {
				t.Errorf("problems =\n  %s\nwant\n  %s", strings.Join(gotP, "\n  "), strings.Join(tc.problems, "\n  "))
			}
		})
	}
}

// TestTemplateLineMapping renders each template and checks that FileLine
// points at the file line holding the failing action.
func TestTemplateLineMapping(t *testing.T) {
	tests := []struct {
		name     string
		template string // replaces the minimal template line (line 9)
		opts     render.Options
		line     int // TemplateLine
		errLine  int // file line of the render error
	}{
		{"literal block", "template:\n    content: |\n      a\n      b: {{ .Secrets.missing }}\n", render.Options{}, 11, 12},
		{"literal block with keep indicator", "template:\n    content: |+\n\n      b: {{ .Secrets.missing }}\n", render.Options{}, 11, 12},
		{"folded block", "template:\n    content: >-\n      {{ .Secrets.missing }}\n", render.Options{}, 11, 11},
		{"double quoted", "template: {content: \"{{ .Secrets.missing }}\"}", render.Options{}, 9, 9},
		{"plain on its own line", "template:\n    content:\n      '{{ .Secrets.missing }}'\n", render.Options{}, 11, 11},
		{"delimiters", "template:\n    delimiters: [\"[[\", \"]]\"]\n    content: |\n      {{ ignored }}\n      [[ .Secrets.missing ]]\n", render.Options{LeftDelim: "[[", RightDelim: "]]"}, 12, 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(minimal("one", ""), `template: {content: "x"}`, tc.template, 1)
			configs, problems := ParseFile("a.yaml", []byte(data), ParseOptions{DefaultTenant: "t"})
			if len(problems) > 0 || len(configs) != 1 {
				t.Fatalf("configs %v, problems %v", configs, problems)
			}
			c := configs[0]
			if c.TemplateLine != tc.line {
				t.Errorf("TemplateLine = %d, want %d", c.TemplateLine, tc.line)
			}
			if c.Delims != tc.opts {
				t.Errorf("Delims = %+v, want %+v", c.Delims, tc.opts)
			}
			_, err := render.Render(c.Name, c.Template, map[string]string{}, c.Delims)
			var re *render.Error
			if !errors.As(err, &re) {
				t.Fatalf("render error = %v", err)
			}
			if got := c.FileLine(re); got != tc.errLine {
				t.Errorf("FileLine = %d, want %d (%v)", got, tc.errLine, re)
			}
		})
	}
	if got := (ConfluxConfig{TemplateLine: 7}).FileLine(&render.Error{}); got != 7 {
		t.Errorf("FileLine without a line = %d, want 7", got)
	}
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Path: "a.yaml", Line: 3, Field: "spec", Reason: "bad"}, "a.yaml:3: spec: bad"},
		{Problem{Path: "a.yaml", Reason: "bad"}, "a.yaml: bad"},
		{Problem{Line: 3, Reason: "bad"}, "3: bad"},
		{Problem{Field: "spec", Reason: "bad"}, "spec: bad"},
		{Problem{Reason: "bad"}, "bad"},
	}
	for _, tc := range tests {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.p, got, tc.want)
		}
	}
}
