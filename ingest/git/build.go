package git

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git/manifest"
	"github.com/conflux-sync/conflux-sync/render"
)

// SecretReader reads a whole Secret for rendering. The values stay in
// memory for the render; nothing keeps them.
type SecretReader interface {
	Secret(ctx context.Context, name api.SecretName) (map[string]string, error)
}

// BuildInput is one commit of one source, ready to become fragments.
type BuildInput struct {
	// Files are the repository files under the source's path (slash paths
	// relative to it).
	Files map[string][]byte
	// DefaultTenant is the tenant of files without metadata.namespace.
	DefaultTenant string
	// SecretNamespace is where secretsRef names are looked up: the
	// ConfluxSource's namespace, or "" for the server's --secrets-dir.
	SecretNamespace string
	// Secrets reads them; nil renders every secret as "***" (a local
	// build without access to the Secrets).
	Secrets SecretReader
	// Previous is the source's current fragment set: a file that fails
	// keeps its last good release, and so does a removed file when Prune
	// is off.
	Previous []api.Fragment
	Prune    bool
}

// Built is what a commit becomes.
type Built struct {
	// Fragments is the source's complete new fragment set, sorted by
	// target.
	Fragments []api.SourceFragment
	// Inventory lists every config the fragments publish, sorted by
	// config then file.
	Inventory []api.GitInventoryEntry
	// Problems are the files (or documents) that failed; they publish
	// nothing new.
	Problems []manifest.Problem
	// Rendered maps a release name to the content as rendered for this
	// build with every secret value masked, for `gitops build` and `diff`.
	Rendered map[string]string
}

// Build parses and renders every ConfluxConfig of a commit and returns the
// source's new fragment set. One bad file fails alone: its previous
// release (if any) is carried over unchanged, so a typo never unpublishes
// a config and a half-rendered config is never published.
func Build(ctx context.Context, in BuildInput) Built {
	b := builder{in: in, targets: map[string]*targetBuild{}, rendered: map[string]string{}}
	b.indexPrevious()
	paths := slices.Sorted(maps.Keys(in.Files))
	claimed := map[string]bool{} // release names the commit's files account for
	for _, path := range paths {
		claimed[ReleaseName(path)] = true
		docs, problems := manifest.ParseFile(path, in.Files[path], manifest.ParseOptions{DefaultTenant: in.DefaultTenant})
		if len(docs) > 1 {
			problems = append(problems, manifest.Problem{Path: path, Line: docs[1].Line, Reason: "a file holds at most one ConfluxConfig (its release is named after the file)"})
			docs = nil
		}
		if len(problems) > 0 {
			b.problems = append(b.problems, problems...)
			b.carry(ReleaseName(path))
			continue
		}
		for _, doc := range docs {
			if p := b.add(ctx, doc); p != nil {
				b.problems = append(b.problems, *p)
				b.carry(ReleaseName(path))
			}
		}
	}
	if !in.Prune {
		for _, name := range slices.Sorted(maps.Keys(b.prevRelease)) {
			if !claimed[name] {
				b.carry(name)
			}
		}
	}
	return b.result()
}

// ReleaseName is the release a file publishes: its path made a valid
// release name, with a hash of the full path so two paths never share one.
func ReleaseName(path string) string {
	sum := sha256.Sum256([]byte(path))
	base := strings.Trim(nonNameChars.ReplaceAllString(strings.ReplaceAll(path, "/", "."), "-"), ".-_")
	if len(base) > 53 {
		base = base[len(base)-53:]
		base = strings.TrimLeft(base, ".-_")
	}
	if base == "" {
		base = "file"
	}
	return base + "-" + hex.EncodeToString(sum[:])[:8]
}

var nonNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

type builder struct {
	in       BuildInput
	targets  map[string]*targetBuild
	problems []manifest.Problem
	rendered map[string]string

	// From Previous: where each release was and the pieces around it.
	prevRelease map[string]string // release name → target name
	prevSpec    map[string]api.ConfluxConfigSpec
}

// targetBuild is one config's fragment under construction.
type targetBuild struct {
	config      *api.ConfluxConfigSection
	configFile  string // the file that set config, for conflict messages
	releases    []api.ConfluxRelease
	rules       []api.ConfluxPolicyRule
	files       map[string]string // release name → file ("" when carried)
	inventorySH map[string]string // release name → content sha256
}

func (b *builder) target(name string) *targetBuild {
	t := b.targets[name]
	if t == nil {
		t = &targetBuild{files: map[string]string{}, inventorySH: map[string]string{}}
		b.targets[name] = t
	}
	return t
}

func (b *builder) indexPrevious() {
	b.prevRelease = map[string]string{}
	b.prevSpec = map[string]api.ConfluxConfigSpec{}
	for _, f := range b.in.Previous {
		if f.Target.Kind != api.KindConfluxConfig {
			continue
		}
		var spec api.ConfluxConfigSpec
		if json.Unmarshal(f.Spec, &spec) != nil {
			continue
		}
		b.prevSpec[f.Target.Name] = spec
		for _, r := range spec.Releases {
			b.prevRelease[r.Name] = f.Target.Name
		}
	}
}

// carry keeps the previous definition of a release, its policy rule and,
// when nothing else sets it, its config's metadata.
func (b *builder) carry(release string) {
	target, ok := b.prevRelease[release]
	if !ok {
		return
	}
	prev := b.prevSpec[target]
	t := b.target(target)
	if slices.ContainsFunc(t.releases, func(r api.ConfluxRelease) bool { return r.Name == release }) {
		return
	}
	for _, r := range prev.Releases {
		if r.Name == release {
			t.releases = append(t.releases, r)
			t.inventorySH[release] = r.ContentSHA256()
			t.files[release] = ""
		}
	}
	if prev.Policy != nil {
		for _, rule := range prev.Policy.Rules {
			if rule.Release == release {
				t.rules = append(t.rules, rule)
			}
		}
	}
	if t.config == nil && prev.Config != nil {
		t.config = prev.Config
	}
}

// add renders one document into its config's fragment; a problem leaves
// the fragment untouched.
func (b *builder) add(ctx context.Context, doc manifest.ConfluxConfig) *manifest.Problem {
	problem := func(line int, field, format string, args ...any) *manifest.Problem {
		return &manifest.Problem{Path: doc.Path, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	name := ReleaseName(doc.Path)
	section := &api.ConfluxConfigSection{Format: doc.Format, Schema: doc.Schema, RetentionPolicy: doc.RetentionPolicy, Description: doc.Description}
	t := b.target(doc.Key())
	if t.config != nil && t.configFile != "" && !sameSection(t.config, section) {
		return problem(doc.Line, "spec", "defines config %s differently from %s (format, schema, retentionPolicy and description must agree)", doc.Key(), t.configFile)
	}
	for _, r := range t.rules {
		switch {
		case len(r.Labels) == 0 && len(doc.Release.Labels) == 0:
			return problem(doc.Line, "spec.release.labels", "config %s already has a default release (without labels) from %s", doc.Key(), b.fileOf(t, r.Release))
		case r.Priority == doc.Release.Priority:
			return problem(doc.Line, "spec.release.priority", "%d is already the priority of %s in config %s", r.Priority, b.fileOf(t, r.Release), doc.Key())
		}
	}

	var values map[string]string
	secret := api.SecretName{Namespace: b.in.SecretNamespace, Name: doc.SecretsRef}
	if doc.SecretsRef != "" {
		var err error
		if values, err = b.secrets(ctx, secret, doc); err != nil {
			return problem(doc.Line, "spec.secretsRef.name", "%s", render.Mask(err.Error(), values))
		}
	}
	content, err := render.Render(doc.Path, doc.Template, values, doc.Delims)
	if err != nil {
		if re, ok := err.(*render.Error); ok {
			return problem(doc.FileLine(re), "spec.template.content", "%s", render.Mask(re.Reason, values))
		}
		return problem(doc.TemplateLine, "spec.template.content", "%s", render.Mask(err.Error(), values))
	}
	if len(content) > 1<<20 {
		return problem(doc.TemplateLine, "spec.template.content", "the rendered content is larger than 1 MiB")
	}
	sha := api.SHA256Hex(content)
	release := api.ConfluxRelease{Name: name, Description: doc.Release.Description, Stable: doc.Release.Stable}
	if doc.SecretsRef == "" {
		release.Content = content
	} else {
		release.Template = &api.ConfluxTemplate{
			Text: doc.Template, LeftDelim: doc.Delims.LeftDelim, RightDelim: doc.Delims.RightDelim,
			Secret: secret, ContentSHA256: sha,
		}
	}
	if t.config == nil || t.configFile == "" {
		t.config, t.configFile = section, doc.Path
	}
	t.releases = append(t.releases, release)
	t.rules = append(t.rules, api.ConfluxPolicyRule{Priority: doc.Release.Priority, Release: name, Labels: doc.Release.Labels})
	t.files[name] = doc.Path
	t.inventorySH[name] = sha
	b.rendered[name] = render.Mask(content, values)
	return nil
}

// secrets reads the referenced Secret, or makes one of "***" for every key
// the template uses when there is no reader (a local build).
func (b *builder) secrets(ctx context.Context, name api.SecretName, doc manifest.ConfluxConfig) (map[string]string, error) {
	if b.in.Secrets != nil {
		return b.in.Secrets.Secret(ctx, name)
	}
	keys, err := render.SecretKeys(doc.Template, doc.Delims)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(keys))
	for _, k := range keys {
		values[k] = MaskedValue
	}
	return values, nil
}

// MaskedValue stands for a secret value wherever it cannot be shown.
const MaskedValue = "***"

func (b *builder) fileOf(t *targetBuild, release string) string {
	if f := t.files[release]; f != "" {
		return f
	}
	return "release " + release + " (kept from an earlier commit)"
}

func (b *builder) result() Built {
	out := Built{Problems: b.problems, Rendered: b.rendered}
	for _, name := range slices.Sorted(maps.Keys(b.targets)) {
		t := b.targets[name]
		if len(t.releases) == 0 {
			continue
		}
		slices.SortFunc(t.releases, func(a, b api.ConfluxRelease) int { return strings.Compare(a.Name, b.Name) })
		spec := api.ConfluxConfigSpec{Config: t.config, Releases: t.releases}
		if len(t.rules) > 0 {
			rules := slices.Clone(t.rules)
			slices.SortFunc(rules, func(a, b api.ConfluxPolicyRule) int { return cmp.Compare(b.Priority, a.Priority) })
			spec.Policy = &api.ConfluxPolicy{Rules: rules}
		}
		raw, err := json.Marshal(spec)
		if err != nil {
			panic(err) // plain structs always marshal
		}
		out.Fragments = append(out.Fragments, api.SourceFragment{Target: api.TargetRef{Kind: api.KindConfluxConfig, Name: name}, Spec: raw})
		for _, r := range t.releases {
			out.Inventory = append(out.Inventory, api.GitInventoryEntry{Config: name, File: t.files[r.Name], Release: r.Name, ContentSHA256: t.inventorySH[r.Name]})
		}
	}
	slices.SortStableFunc(out.Problems, func(a, b manifest.Problem) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line))
	})
	return out
}

func sameSection(a, b *api.ConfluxConfigSection) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
