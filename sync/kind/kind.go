// Package kind defines what a target kind is — validation of one fragment's
// spec and aggregation of all fragments of a target — and a registry of the
// kinds a cluster knows. Both operations are pure and deterministic: the
// same fragments in any order give byte-identical output.
package kind

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/conflux-sync/conflux-sync/api"
)

// Kind knows one kind of downstream object.
type Kind interface {
	// Name is the target kind, e.g. "cloudflare.TunnelConfiguration".
	Name() string
	// Validate checks one fragment before it is proposed. A rule violation
	// is returned as *api.FieldError whose Field is a JSON path inside the
	// fragment, e.g. "spec.rules[2].hostname".
	Validate(target api.TargetRef, source api.SourceRef, spec json.RawMessage) error
	// Aggregate combines every fragment of one target, given in any order,
	// into the body the downstream API takes, and reports conflicts. It must
	// not fail on fragments Validate accepted.
	Aggregate(target api.TargetRef, fragments []api.Fragment) (Result, error)
}

// Warner is a Kind whose validation also reports values it accepts
// because the downstream API does, but that are likely mistakes. The admin
// API returns them with the write (api.WriteResult.Warnings) and logs them.
type Warner interface {
	Kind
	// ValidateWarn is Validate, returning the warnings of a valid spec.
	ValidateWarn(target api.TargetRef, source api.SourceRef, spec json.RawMessage) ([]api.Warning, error)
}

// ValidateWarn validates spec with k, and collects its warnings when k is
// a Warner.
func ValidateWarn(k Kind, target api.TargetRef, source api.SourceRef, spec json.RawMessage) ([]api.Warning, error) {
	if w, ok := k.(Warner); ok {
		return w.ValidateWarn(target, source, spec)
	}
	return nil, k.Validate(target, source, spec)
}

// Result is the aggregate of a target's fragments.
type Result struct {
	// Desired is the canonical JSON of the downstream body; nil when there
	// is nothing to write.
	Desired   json.RawMessage
	Conflicts []api.Conflict
}

// Hash is the sha256 (hex) of the canonical desired output; "" for nil.
func (r Result) Hash() string { return Hash(r.Desired) }

// Hash returns the hex sha256 of b, or "" when b is empty.
func Hash(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Registry maps kind names to kinds. It is immutable after New.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry builds a registry; two kinds with one name is a programming
// error and panics.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: make(map[string]Kind, len(kinds))}
	for _, k := range kinds {
		if _, dup := r.kinds[k.Name()]; dup {
			panic(fmt.Sprintf("kind %q registered twice", k.Name()))
		}
		r.kinds[k.Name()] = k
	}
	return r
}

// Get returns the kind named name.
func (r *Registry) Get(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names lists the registered kinds, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
