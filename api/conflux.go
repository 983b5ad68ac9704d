package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

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
	Name string `json:"name"`
	// Content is the version's content. It is empty when Template is set.
	Content     string `json:"content"`
	Description string `json:"description,omitempty"`
	Stable      bool   `json:"stable,omitempty"`
	// Template, when set, is rendered by the leader at flush time with the
	// values of its Secret, so no secret value is ever stored in the log.
	Template *ConfluxTemplate `json:"template,omitempty"`
}

// Equal reports whether two releases define the same version.
func (r ConfluxRelease) Equal(o ConfluxRelease) bool {
	if r.Name != o.Name || r.Content != o.Content || r.Description != o.Description || r.Stable != o.Stable {
		return false
	}
	if r.Template == nil || o.Template == nil {
		return r.Template == nil && o.Template == nil
	}
	return *r.Template == *o.Template
}

// ContentSHA256 is the hex sha256 of the release's content as its
// producer saw it: of Content, or the one its Template declares. Conflux
// reports the same digest of a version.
func (r ConfluxRelease) ContentSHA256() string {
	if r.Template != nil {
		return r.Template.ContentSHA256
	}
	return SHA256Hex(r.Content)
}

// SHA256Hex is the hex sha256 of s.
func SHA256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ConfluxTemplate is a release's content as a Go text/template over the
// keys of one Secret (see package render for the function set).
type ConfluxTemplate struct {
	Text string `json:"text"`
	// LeftDelim and RightDelim replace "{{" and "}}" when both are set.
	LeftDelim  string `json:"leftDelim,omitempty"`
	RightDelim string `json:"rightDelim,omitempty"`
	// Secret is the Secret whose keys the template reads as .Secrets: a
	// Kubernetes Secret when Namespace is set, else a directory of the
	// server's --secrets-dir.
	Secret SecretName `json:"secret"`
	// ContentSHA256 is the hex sha256 of the rendering the producer
	// validated. A Secret change makes the producer send a new one, which
	// is what makes the leader publish again.
	ContentSHA256 string `json:"contentSha256"`
}

// SecretName names a whole Secret: a Kubernetes Secret when Namespace is
// set, else a directory under the server's --secrets-dir holding one file
// per key (the layout of a mounted Secret volume).
type SecretName struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (s SecretName) String() string {
	if s.Namespace == "" {
		return "secret " + s.Name
	}
	return "Secret " + s.Namespace + "/" + s.Name
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
