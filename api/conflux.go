package api

import "encoding/json"

// The fragment spec of the conflux.Config target kind: what producers (Git
// sources, Terraform, the admin API) send and what sync/conflux validates,
// aggregates and flushes. A target is one Conflux config, named
// "<tenant>/<application>/<environment>/<name>" (the config name may itself
// contain "/").

// KindConfluxConfig is the Conflux config target kind.
const KindConfluxConfig = "conflux.Config"

// ConfluxConfigSpec is one fragment's contribution to a Conflux config.
// Every section is optional, but a fragment must set at least one. The
// config and policy sections have one owner each (the oldest fragment that
// sets them); releases are merged by name across fragments.
type ConfluxConfigSpec struct {
	Config   *ConfluxConfigSection `json:"config,omitempty"`
	Releases []ConfluxRelease      `json:"releases,omitempty"`
	Policy   *ConfluxPolicy        `json:"policy,omitempty"`
}

// ConfluxConfigSection is the config's metadata. Format is immutable
// downstream; the others are kept in sync.
type ConfluxConfigSection struct {
	// Format is json, yaml, toml, properties or text.
	Format string `json:"format"`
	// Schema is a JSON Schema (the Conflux subset) every published
	// version's content must satisfy; absent means none.
	Schema json.RawMessage `json:"schema,omitempty"`
	// RetentionPolicy decides which versions Conflux prunes; absent means
	// keep every version.
	RetentionPolicy *ConfluxRetentionPolicy `json:"retentionPolicy,omitempty"`
	Description     string                  `json:"description,omitempty"`
}

// ConfluxRetentionPolicy is a Conflux retention policy.
type ConfluxRetentionPolicy struct {
	// Strategy is AND (remove a version only when every rule would) or OR
	// (when any rule would).
	Strategy string                 `json:"strategy"`
	Rules    []ConfluxRetentionRule `json:"rules"`
}

// ConfluxRetentionRule keeps the newest Keep versions ("count") or the
// versions younger than Keep days ("days").
type ConfluxRetentionRule struct {
	Type string `json:"type"`
	Keep int    `json:"keep"`
}

// ConfluxRelease is one named piece of content, published as an immutable
// Conflux version. Name is local to conflux-sync: policy rules refer to
// releases by name and the flusher maps names to version ids.
type ConfluxRelease struct {
	Name        string `json:"name"`
	Content     string `json:"content"`
	Description string `json:"description,omitempty"`
	Stable      bool   `json:"stable,omitempty"`
}

// ConfluxPolicy is the release policy: the highest-priority rule whose
// labels all match a client decides which release it receives.
type ConfluxPolicy struct {
	Rules []ConfluxPolicyRule `json:"rules"`
}

// ConfluxPolicyRule points clients carrying Labels at Release. A rule
// without labels is the default.
type ConfluxPolicyRule struct {
	Priority int               `json:"priority"`
	Release  string            `json:"release"`
	Labels   map[string]string `json:"labels,omitempty"`
}
