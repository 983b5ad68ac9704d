// Package conflux is the conflux.Config target kind: it validates and
// aggregates fragments describing one Conflux config (metadata, releases,
// release policy) and flushes the aggregate to the Conflux API.
package conflux

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/render"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = api.KindConfluxConfig

// Spec is a conflux.Config fragment (see api.ConfluxConfigSpec).
type Spec = api.ConfluxConfigSpec

// Limits the Conflux API enforces, checked before proposing.
const (
	MaxContent     = 1 << 20
	maxDescription = 1024
)

// Formats a config may declare.
var Formats = []string{"json", "yaml", "toml", "properties", "text"}

var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)
	releaseRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// ConfigKey is the natural key of a Conflux config.
type ConfigKey struct {
	Tenant, Application, Environment, Name string
}

func (k ConfigKey) String() string {
	return k.Tenant + "/" + k.Application + "/" + k.Environment + "/" + k.Name
}

// ParseTargetName splits "<tenant>/<application>/<environment>/<name>"
// (the name may contain "/") and checks each part against the Conflux
// API's rules.
func ParseTargetName(name string) (ConfigKey, *api.FieldError) {
	parts := strings.SplitN(name, "/", 4)
	if len(parts) != 4 {
		return ConfigKey{}, &api.FieldError{Field: "target.name", Reason: fmt.Sprintf("%q must be <tenant>/<application>/<environment>/<name>", name)}
	}
	k := ConfigKey{Tenant: parts[0], Application: parts[1], Environment: parts[2], Name: parts[3]}
	for _, p := range []struct{ what, v string }{{"tenant", k.Tenant}, {"application", k.Application}, {"environment", k.Environment}} {
		if !segmentRE.MatchString(p.v) {
			return ConfigKey{}, &api.FieldError{Field: "target.name", Reason: fmt.Sprintf("%s %q must match %s", p.what, p.v, segmentRE)}
		}
	}
	if !nameRE.MatchString(k.Name) {
		return ConfigKey{}, &api.FieldError{Field: "target.name", Reason: fmt.Sprintf("config name %q must match %s", k.Name, nameRE)}
	}
	return k, nil
}

// Kind is the conflux.Config kind.
type Kind struct{}

var _ kind.Kind = Kind{}

// New returns the conflux.Config kind.
func New() kind.Kind { return Kind{} }

// Name returns "conflux.Config".
func (Kind) Name() string { return Name }

// Validate decodes spec strictly and checks it against the Conflux API's
// rules.
func (Kind) Validate(target api.TargetRef, _ api.SourceRef, spec json.RawMessage) error {
	if target.Kind != Name {
		return &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, Name)}
	}
	if _, fe := ParseTargetName(target.Name); fe != nil {
		return fe
	}
	var s Spec
	if err := kind.DecodeStrict(spec, &s); err != nil {
		return err
	}
	if fe := validate(&s); fe != nil {
		return fe
	}
	return nil
}

func validate(s *Spec) *api.FieldError {
	if s.Config == nil && len(s.Releases) == 0 && s.Policy == nil {
		return &api.FieldError{Field: "spec", Reason: "must set at least one of config, releases and policy"}
	}
	if s.Config != nil {
		if fe := validateConfig(s.Config); fe != nil {
			return fe
		}
	}
	seen := map[string]int{}
	for i, r := range s.Releases {
		f := "spec.releases[" + strconv.Itoa(i) + "]"
		switch {
		case !releaseRE.MatchString(r.Name):
			return &api.FieldError{Field: f + ".name", Reason: fmt.Sprintf("%q must match %s", r.Name, releaseRE)}
		case len(r.Content) > MaxContent:
			return &api.FieldError{Field: f + ".content", Reason: "is larger than 1 MiB"}
		case r.Template != nil && r.Content != "":
			return &api.FieldError{Field: f + ".content", Reason: "must be empty when template is set: the content is the rendered template"}
		case !utf8.ValidString(r.Content):
			return &api.FieldError{Field: f + ".content", Reason: "is not valid UTF-8"}
		case utf8.RuneCountInString(r.Description) > maxDescription:
			return &api.FieldError{Field: f + ".description", Reason: "is longer than 1024 characters"}
		}
		if r.Template != nil {
			if fe := validateTemplate(f+".template", r.Template); fe != nil {
				return fe
			}
		}
		if j, dup := seen[r.Name]; dup {
			return &api.FieldError{Field: f + ".name", Reason: fmt.Sprintf("%q is already the name of releases[%d]", r.Name, j)}
		}
		seen[r.Name] = i
	}
	if s.Policy != nil {
		return validatePolicy(s.Policy)
	}
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func validateTemplate(f string, t *api.ConfluxTemplate) *api.FieldError {
	switch {
	case len(t.Text) > MaxContent:
		return &api.FieldError{Field: f + ".text", Reason: "is larger than 1 MiB"}
	case !utf8.ValidString(t.Text):
		return &api.FieldError{Field: f + ".text", Reason: "is not valid UTF-8"}
	case (t.LeftDelim == "") != (t.RightDelim == ""):
		return &api.FieldError{Field: f + ".leftDelim", Reason: "leftDelim and rightDelim are set together or not at all"}
	case !api.ValidSecretName(t.Secret.Name):
		return &api.FieldError{Field: f + ".secret.name", Reason: fmt.Sprintf("%q must be a Secret name", t.Secret.Name)}
	case !sha256RE.MatchString(t.ContentSHA256):
		return &api.FieldError{Field: f + ".contentSha256", Reason: "must be the hex sha256 of the rendered content"}
	}
	if _, err := render.SecretKeys(t.Text, render.Options{LeftDelim: t.LeftDelim, RightDelim: t.RightDelim}); err != nil {
		return &api.FieldError{Field: f + ".text", Reason: err.Error()}
	}
	return nil
}

func validateConfig(c *api.ConfluxConfigSection) *api.FieldError {
	if !slices.Contains(Formats, c.Format) {
		return &api.FieldError{Field: "spec.config.format", Reason: fmt.Sprintf("is %q; must be one of %s", c.Format, strings.Join(Formats, ", "))}
	}
	if len(c.Schema) > 0 && !bytes.Equal(bytes.TrimSpace(c.Schema), []byte("null")) {
		if c.Format == "text" {
			return &api.FieldError{Field: "spec.config.schema", Reason: "is not allowed for a text config"}
		}
		var v any
		if err := json.Unmarshal(c.Schema, &v); err != nil {
			return &api.FieldError{Field: "spec.config.schema", Reason: "is not valid JSON: " + err.Error()}
		}
		switch v.(type) {
		case bool, map[string]any:
		default:
			return &api.FieldError{Field: "spec.config.schema", Reason: "must be a JSON Schema: an object or a boolean"}
		}
	}
	if rp := c.RetentionPolicy; rp != nil {
		if rp.Strategy != "AND" && rp.Strategy != "OR" {
			return &api.FieldError{Field: "spec.config.retentionPolicy.strategy", Reason: fmt.Sprintf("is %q; must be AND or OR", rp.Strategy)}
		}
		for i, r := range rp.Rules {
			f := "spec.config.retentionPolicy.rules[" + strconv.Itoa(i) + "]"
			if r.Type != "count" && r.Type != "days" {
				return &api.FieldError{Field: f + ".type", Reason: fmt.Sprintf("is %q; must be count or days", r.Type)}
			}
			if r.Keep < 1 {
				return &api.FieldError{Field: f + ".keep", Reason: "must be at least 1"}
			}
		}
	}
	if utf8.RuneCountInString(c.Description) > maxDescription {
		return &api.FieldError{Field: "spec.config.description", Reason: "is longer than 1024 characters"}
	}
	return nil
}

func validatePolicy(p *api.ConfluxPolicy) *api.FieldError {
	prios := map[int]int{}
	defaultAt := -1
	for i, r := range p.Rules {
		f := "spec.policy.rules[" + strconv.Itoa(i) + "]"
		if j, dup := prios[r.Priority]; dup {
			return &api.FieldError{Field: f + ".priority", Reason: fmt.Sprintf("%d is already the priority of rules[%d]", r.Priority, j)}
		}
		prios[r.Priority] = i
		if !releaseRE.MatchString(r.Release) {
			return &api.FieldError{Field: f + ".release", Reason: fmt.Sprintf("%q must name a release (%s)", r.Release, releaseRE)}
		}
		for k := range r.Labels {
			if k == "" {
				return &api.FieldError{Field: f + ".labels", Reason: "label names must not be empty"}
			}
		}
		if len(r.Labels) == 0 {
			if defaultAt >= 0 {
				return &api.FieldError{Field: f + ".labels", Reason: fmt.Sprintf("only one default rule (without labels) is allowed; rules[%d] is one", defaultAt)}
			}
			defaultAt = i
		}
	}
	return nil
}

// Desired is the aggregate of a conflux.Config target: Result.Desired is
// its JSON. Config and Policy are null when no fragment sets them;
// Releases are sorted by name.
type Desired struct {
	Config   *api.ConfluxConfigSection `json:"config"`
	Releases []DesiredRelease          `json:"releases"`
	Policy   *api.ConfluxPolicy        `json:"policy"`
}

// DesiredRelease is a release with the source that owns it; the source
// is part of the release's idempotency key.
type DesiredRelease struct {
	api.ConfluxRelease
	Source api.SourceRef `json:"source"`
}

type decoded struct {
	frag *api.Fragment
	spec Spec
}

// Aggregate merges the fragments: config and policy have one owner each
// (the oldest fragment setting them: lowest CreateIndex, then source key),
// and a later fragment that sets config contributes nothing at all;
// releases are merged by name, the oldest definition winning when two
// differ. Any fragment order gives byte-identical output.
func (Kind) Aggregate(target api.TargetRef, fragments []api.Fragment) (kind.Result, error) {
	if len(fragments) == 0 {
		return kind.Result{}, nil
	}
	frags := make([]decoded, len(fragments))
	for i := range fragments {
		frags[i].frag = &fragments[i]
		if err := kind.DecodeStored(fragments[i].Spec, &frags[i].spec); err != nil {
			return kind.Result{}, fmt.Errorf("fragment from %s: %w", fragments[i].Source, err)
		}
	}
	slices.SortFunc(frags, func(a, b decoded) int {
		return cmp.Or(cmp.Compare(a.frag.CreateIndex, b.frag.CreateIndex), strings.Compare(a.frag.Source.Key(), b.frag.Source.Key()))
	})

	out := Desired{Releases: []DesiredRelease{}}
	var conflicts []api.Conflict
	var configOwner, policyOwner *api.Fragment
	releases := map[string]DesiredRelease{}
	var releaseConflicts []api.Conflict
	for _, d := range frags {
		if c := d.spec.Config; c != nil {
			if configOwner == nil {
				configOwner = d.frag
				out.Config = canonicalConfig(*c)
			} else {
				// A second source claiming the config is a competing
				// owner: none of its wishes are written, so it never
				// publishes into a config it does not own.
				conflicts = append(conflicts, api.Conflict{Key: "config", Winner: configOwner.Source, Loser: d.frag.Source,
					Reason: fmt.Sprintf("config %s is owned by %s; the releases and policy of %s are not published", target.Name, configOwner.Source, d.frag.Source)})
				continue
			}
		}
		for _, r := range d.spec.Releases {
			have, ok := releases[r.Name]
			if !ok {
				releases[r.Name] = DesiredRelease{ConfluxRelease: r, Source: d.frag.Source}
				continue
			}
			if !have.ConfluxRelease.Equal(r) {
				releaseConflicts = append(releaseConflicts, api.Conflict{Key: "release " + r.Name, Winner: have.Source, Loser: d.frag.Source,
					Reason: fmt.Sprintf("release %s of %s is defined differently by %s", r.Name, target.Name, have.Source)})
			}
		}
		if p := d.spec.Policy; p != nil {
			if policyOwner == nil {
				policyOwner = d.frag
				out.Policy = canonicalPolicy(*p)
			} else {
				conflicts = append(conflicts, api.Conflict{Key: "policy", Winner: policyOwner.Source, Loser: d.frag.Source,
					Reason: fmt.Sprintf("the release policy of %s is owned by %s", target.Name, policyOwner.Source)})
			}
		}
	}
	for _, r := range releases {
		out.Releases = append(out.Releases, r)
	}
	slices.SortFunc(out.Releases, func(a, b DesiredRelease) int { return strings.Compare(a.Name, b.Name) })
	// Fragments are processed oldest first, so a stable sort by key keeps
	// the losers of one release in that order.
	slices.SortStableFunc(releaseConflicts, func(a, b api.Conflict) int { return strings.Compare(a.Key, b.Key) })
	conflicts = append(conflicts, releaseConflicts...)

	desired, err := json.Marshal(out)
	if err != nil {
		return kind.Result{}, err
	}
	return kind.Result{Desired: desired, Conflicts: conflicts}, nil
}

// canonicalConfig normalises the schema (compact, keys sorted) so equal
// schemas give equal bytes; a null schema is no schema.
func canonicalConfig(c api.ConfluxConfigSection) *api.ConfluxConfigSection {
	c.Schema = canonicalJSON(c.Schema)
	if c.RetentionPolicy != nil {
		rp := *c.RetentionPolicy
		rp.Rules = slices.Clone(rp.Rules)
		if rp.Rules == nil {
			rp.Rules = []api.ConfluxRetentionRule{}
		}
		c.RetentionPolicy = &rp
	}
	return &c
}

// canonicalJSON re-encodes b with sorted keys, no insignificant space and
// numbers as written; nil for empty or null input.
func canonicalJSON(b json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// canonicalPolicy sorts rules highest priority first (Conflux's order).
func canonicalPolicy(p api.ConfluxPolicy) *api.ConfluxPolicy {
	rules := make([]api.ConfluxPolicyRule, len(p.Rules))
	for i, r := range p.Rules {
		if len(r.Labels) == 0 {
			r.Labels = nil
		}
		rules[i] = r
	}
	slices.SortFunc(rules, func(a, b api.ConfluxPolicyRule) int { return cmp.Compare(b.Priority, a.Priority) })
	return &api.ConfluxPolicy{Rules: rules}
}
