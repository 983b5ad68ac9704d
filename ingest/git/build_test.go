package git_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git"
)

func doc(name, template, extra string) string {
	return fmt.Sprintf(`apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: %s
spec:
  application: shop
  environment: prod
  format: yaml
  template:
    content: %q
%s`, name, template, extra)
}

type mapSecrets map[string]map[string]string

func (m mapSecrets) Secret(_ context.Context, name api.SecretName) (map[string]string, error) {
	if v, ok := m[name.Namespace+"/"+name.Name]; ok {
		return v, nil
	}
	return nil, errors.New(name.String() + " not found")
}

// spec decodes the fragment of target from a build.
func specOf(t *testing.T, b git.Built, target string) (api.ConfluxConfigSpec, bool) {
	t.Helper()
	for _, f := range b.Fragments {
		if f.Target.Name == target {
			var s api.ConfluxConfigSpec
			if err := json.Unmarshal(f.Spec, &s); err != nil {
				t.Fatal(err)
			}
			return s, true
		}
	}
	return api.ConfluxConfigSpec{}, false
}

// previous turns a build into the stored fragments of the next one.
func previous(b git.Built) []api.Fragment {
	src := api.SourceRef{Kind: api.SourceKindConfluxSource, Namespace: "team", Name: "repo"}
	var out []api.Fragment
	for _, f := range b.Fragments {
		out = append(out, api.Fragment{Target: f.Target, Source: src, Spec: f.Spec})
	}
	return out
}

func TestBuild(t *testing.T) {
	secrets := mapSecrets{"team/db": {"password": "hunter2-secret"}}
	ctx := context.Background()
	base := map[string][]byte{
		"a.yaml":      []byte(doc("a.yaml", "x: 1\n", "  release:\n    stable: true\n")),
		"sub/db.yaml": []byte(doc("db.yaml", "pw: {{ .Secrets.password }}\n", "  secretsRef:\n    name: db\n")),
		"other.yml":   []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"),
	}
	first := git.Build(ctx, git.BuildInput{Files: base, DefaultTenant: "team", SecretNamespace: "team", Secrets: secrets, Prune: true})
	if len(first.Problems) != 0 || len(first.Fragments) != 2 || len(first.Inventory) != 2 {
		t.Fatalf("first build: %+v", first)
	}
	a, _ := specOf(t, first, "team/shop/prod/a.yaml")
	if a.Config == nil || a.Config.Format != "yaml" || len(a.Releases) != 1 || a.Releases[0].Content != "x: 1\n" || !a.Releases[0].Stable ||
		a.Policy == nil || len(a.Policy.Rules) != 1 || a.Policy.Rules[0].Release != git.ReleaseName("a.yaml") {
		t.Errorf("plain config: %+v", a)
	}
	db, _ := specOf(t, first, "team/shop/prod/db.yaml")
	tmpl := db.Releases[0].Template
	if db.Releases[0].Content != "" || tmpl == nil || tmpl.Secret != (api.SecretName{Namespace: "team", Name: "db"}) ||
		tmpl.ContentSHA256 != api.SHA256Hex("pw: hunter2-secret\n") {
		t.Errorf("templated config: %+v", db.Releases[0])
	}
	raw, _ := json.Marshal(first)
	if strings.Contains(string(raw), "hunter2") {
		t.Errorf("the build holds the secret value: %s", raw)
	}

	tests := []struct {
		name      string
		files     map[string]string // changes to base ("" deletes)
		prune     bool
		problems  []string          // substrings, in order
		releases  map[string]string // target → content (or template text) of its one release; "" = no fragment
		inventory int
	}{
		{name: "unchanged", prune: true,
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "bad file keeps its last release", prune: true,
			files:    map[string]string{"a.yaml": doc("a.yaml", "x: {{ .Secrets.nope }}\n", "")},
			problems: []string{`a.yaml:10: spec.template.content: `},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "unparsable file keeps its last release", prune: true,
			files:    map[string]string{"a.yaml": "apiVersion: gitops.conflux.io/v1alpha1\nkind: ConfluxConfig\nmetadata: [\n"},
			problems: []string{`a.yaml:`},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "missing secret fails its file", prune: true,
			files:    map[string]string{"sub/db.yaml": doc("db.yaml", "pw: {{ .Secrets.password }}\n", "  secretsRef:\n    name: gone\n")},
			problems: []string{`sub/db.yaml:1: spec.secretsRef.name: Secret team/gone not found`},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "removed file is pruned", prune: true,
			files:    map[string]string{"a.yaml": ""},
			releases: map[string]string{"team/shop/prod/a.yaml": "", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 1},
		{name: "removed file is kept without prune", prune: false,
			files:    map[string]string{"a.yaml": ""},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "second default release of one config", prune: true,
			files:    map[string]string{"b.yaml": doc("a.yaml", "x: 2\n", "")},
			problems: []string{`b.yaml:1: spec.release.labels: config team/shop/prod/a.yaml already has a default release`},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 2},
		{name: "canary file joins the config", prune: true,
			files:    map[string]string{"b.yaml": doc("a.yaml", "x: 2\n", "  release:\n    priority: 10\n    labels:\n      canary: \"true\"\n")},
			releases: map[string]string{"team/shop/prod/db.yaml": "pw: {{ .Secrets.password }}\n"}, inventory: 3},
		{name: "metadata disagreement", prune: true,
			files:    map[string]string{"b.yaml": strings.Replace(doc("a.yaml", "x: 2\n", "  release:\n    priority: 10\n    labels:\n      canary: \"true\"\n"), "format: yaml", "format: json", 1)},
			problems: []string{`b.yaml:1: spec: defines config team/shop/prod/a.yaml differently from a.yaml`},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n"}, inventory: 2},
		{name: "two configs in one file", prune: true,
			files:    map[string]string{"a.yaml": doc("a.yaml", "x: 1\n", "") + "---\n" + doc("z.yaml", "z: 1\n", "")},
			problems: []string{`a file holds at most one ConfluxConfig`},
			releases: map[string]string{"team/shop/prod/a.yaml": "x: 1\n", "team/shop/prod/z.yaml": ""}, inventory: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tt.files {
				if v == "" {
					delete(files, k)
				} else {
					files[k] = []byte(v)
				}
			}
			b := git.Build(ctx, git.BuildInput{Files: files, DefaultTenant: "team", SecretNamespace: "team", Secrets: secrets, Previous: previous(first), Prune: tt.prune})
			if len(b.Problems) != len(tt.problems) {
				t.Fatalf("problems %v, want %d", b.Problems, len(tt.problems))
			}
			for i, want := range tt.problems {
				if got := b.Problems[i].Error(); !strings.Contains(got, want) {
					t.Errorf("problem %d: %q, want %q", i, got, want)
				}
			}
			for target, want := range tt.releases {
				s, ok := specOf(t, b, target)
				switch {
				case want == "" && ok:
					t.Errorf("%s: fragment still there: %+v", target, s)
				case want == "":
				case !ok || len(s.Releases) != 1:
					t.Errorf("%s: releases %+v, want one", target, s.Releases)
				case s.Releases[0].Content != want && (s.Releases[0].Template == nil || s.Releases[0].Template.Text != want):
					t.Errorf("%s: release %+v, want %q", target, s.Releases[0], want)
				}
			}
			if len(b.Inventory) != tt.inventory {
				t.Errorf("inventory %+v, want %d entries", b.Inventory, tt.inventory)
			}
			if raw, _ := json.Marshal(b); strings.Contains(string(raw), "hunter2") {
				t.Errorf("the build holds the secret value")
			}
		})
	}
}

func TestBuildWithoutSecretsMasks(t *testing.T) {
	files := map[string][]byte{"db.yaml": []byte(doc("db.yaml", "pw: {{ .Secrets.password }}\n", "  secretsRef:\n    name: db\n"))}
	b := git.Build(context.Background(), git.BuildInput{Files: files, DefaultTenant: "team", Prune: true})
	if len(b.Problems) != 0 || b.Rendered[git.ReleaseName("db.yaml")] != "pw: ***\n" {
		t.Fatalf("local build: %+v", b)
	}
}

func TestReleaseName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	seen := map[string]string{}
	for _, p := range []string{"a.yaml", "a/b.yaml", "a.b.yaml", "-x.yaml", "日本/設定.yaml", strings.Repeat("very-long-folder/", 10) + "config.yaml", ".hidden.yml"} {
		n := git.ReleaseName(p)
		if !valid.MatchString(n) {
			t.Errorf("git.ReleaseName(%q) = %q: not a valid release name", p, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%q and %q share the release name %q", p, other, n)
		}
		seen[n] = p
	}
}

// TestExampleRepository renders deploy/examples/gitops/repository, so the
// documented example stays valid.
func TestExampleRepository(t *testing.T) {
	files, err := git.ReadDir("../../deploy/examples/gitops/repository", "conflux")
	if err != nil {
		t.Fatal(err)
	}
	b := git.Build(context.Background(), git.BuildInput{Files: files, DefaultTenant: "team-a", SecretNamespace: "team-a",
		Secrets: mapSecrets{"team-a/billing-db": {"password": "pw"}}, Prune: true})
	if len(b.Problems) != 0 || len(b.Fragments) != 1 {
		t.Fatalf("example: problems %v, %d fragments", b.Problems, len(b.Fragments))
	}
	s, _ := specOf(t, b, "team-a/billing/production/database.yaml")
	if len(s.Releases) != 2 || s.Policy == nil || len(s.Policy.Rules) != 2 || s.Policy.Rules[0].Labels["canary"] != "true" {
		t.Errorf("example config: %+v", s)
	}
}

// BenchmarkBuild renders a commit of 100 ConfluxConfig files, half of them
// with a Secret: the CPU a poll of a moved head costs besides Git.
func BenchmarkBuild(b *testing.B) {
	files := map[string][]byte{}
	for i := range 100 {
		extra, tmpl := "", "pool: {{ add 10 "+fmt.Sprint(i)+" }}\nname: {{ \"svc\" | upper }}\n"
		if i%2 == 0 {
			extra, tmpl = "  secretsRef:\n    name: db\n", tmpl+"password: {{ .Secrets.password | quote }}\n"
		}
		files[fmt.Sprintf("team/config-%03d.yaml", i)] = []byte(doc(fmt.Sprintf("config-%03d.yaml", i), tmpl, extra))
	}
	in := git.BuildInput{Files: files, DefaultTenant: "team", SecretNamespace: "team", Secrets: mapSecrets{"team/db": {"password": "pw"}}, Prune: true}
	b.ReportAllocs()
	for b.Loop() {
		if out := git.Build(context.Background(), in); len(out.Problems) != 0 || len(out.Fragments) != 100 {
			b.Fatalf("build: %v", out.Problems)
		}
	}
}
