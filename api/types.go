// Package api holds the wire types shared by the admin HTTP API, its Go
// client, the CLI, the Terraform provider and the producers, and the client
// itself. It imports only the standard library.
package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TargetRef names one downstream object.
type TargetRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Key is the canonical storage key of the target: "kind\x1fname".
func (t TargetRef) Key() string { return t.Kind + keySep + t.Name }

func (t TargetRef) String() string { return t.Kind + " " + t.Name }

// SourceRef names the producer of a fragment.
type SourceRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Key is the canonical storage key of the source: "kind\x1fnamespace\x1fname".
func (s SourceRef) Key() string { return s.Kind + keySep + s.Namespace + keySep + s.Name }

func (s SourceRef) String() string {
	if s.Namespace == "" {
		return s.Kind + "/" + s.Name
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}

// keySep separates the parts of a storage key. It is a control character, so
// it can never appear in a validated name (see ValidateRef).
const keySep = "\x1f"

// ParseTargetKey reverses TargetRef.Key.
func ParseTargetKey(key string) (TargetRef, error) {
	kind, name, ok := strings.Cut(key, keySep)
	if !ok {
		return TargetRef{}, fmt.Errorf("malformed target key %q", key)
	}
	return TargetRef{Kind: kind, Name: name}, nil
}

// ParseSourceKey reverses SourceRef.Key.
func ParseSourceKey(key string) (SourceRef, error) {
	parts := strings.Split(key, keySep)
	if len(parts) != 3 {
		return SourceRef{}, fmt.Errorf("malformed source key %q", key)
	}
	return SourceRef{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, nil
}

// Fragment is one producer's contribution to one target.
type Fragment struct {
	Target     TargetRef       `json:"target"`
	Source     SourceRef       `json:"source"`
	Generation int64           `json:"generation"`
	Spec       json.RawMessage `json:"spec"`

	// CreateIndex is the raft index at which this (target, source) pair was
	// first registered. It survives updates and ReplaceSourceFragments, and
	// decides conflicts: the lowest CreateIndex wins.
	CreateIndex uint64 `json:"createIndex,omitempty"`
	// ModifyIndex is the raft index of the last change to this fragment.
	ModifyIndex uint64 `json:"modifyIndex,omitempty"`
}

// SourceFragment is one fragment inside a ReplaceSourceFragments request;
// the source is given once for the whole set.
type SourceFragment struct {
	Target     TargetRef       `json:"target"`
	Generation int64           `json:"generation"`
	Spec       json.RawMessage `json:"spec"`
}

// ReplaceSourceRequest replaces every fragment of Source with Fragments in
// one atomic step: fragments of the source not listed are deleted.
type ReplaceSourceRequest struct {
	Source    SourceRef        `json:"source"`
	Fragments []SourceFragment `json:"fragments"`
}

// Conflict reports a piece of a target that two sources both claim.
type Conflict struct {
	// Key names the contested piece, e.g. "app.example.com ^/api".
	Key    string    `json:"key"`
	Winner SourceRef `json:"winner"`
	Loser  SourceRef `json:"loser"`
	Reason string    `json:"reason"`
}

// SyncStatus is what the leader last did for a target.
type SyncStatus struct {
	// Revision is the target revision the attempt flushed.
	Revision uint64 `json:"revision"`
	// SyncedHash is the hash of the desired output last written (or found
	// equal) downstream; empty until a flush succeeds.
	SyncedHash string `json:"syncedHash,omitempty"`
	// AttemptedHash is the hash the last attempt tried to write.
	AttemptedHash string `json:"attemptedHash,omitempty"`
	// DownstreamIDs are identifiers the downstream API assigned.
	DownstreamIDs map[string]string `json:"downstreamIds,omitempty"`
	Error         string            `json:"error,omitempty"`
	// Permanent is true when Error is one retrying cannot fix (a 4xx other
	// than 429): the leader waits for the target to change before trying
	// again.
	Permanent bool `json:"permanent,omitempty"`
	// Attempts counts consecutive failed attempts; zero after a success.
	Attempts int       `json:"attempts"`
	Time     time.Time `json:"time"`
	// DryRun is true when the attempt was a dry run (`conflux-sync server
	// --dry-run`): it read downstream and wrote nothing. Plan says what a
	// real sync would do; SyncedHash and DownstreamIDs are still those of
	// the last real sync, if any.
	DryRun bool `json:"dryRun,omitempty"`
	// Plan lists, one line per action, what a real sync would write,
	// adopt or take over (and by what evidence), e.g. "create tunnel
	// edge", "take over DNS record app.example.com CNAME …"; ["in sync (no
	// write)"] when nothing. Only with DryRun; with Error it is what was
	// planned before the error.
	Plan []string `json:"plan,omitempty"`
	// PlannedIDs are the downstream ids a dry run found (e.g. the id of a
	// tunnel it would take over), which the plans of the targets that
	// depend on this one read. Only with DryRun; real syncs never use them.
	PlannedIDs map[string]string `json:"plannedIds,omitempty"`
	// Waiting lists the parts of the desired output a successful flush
	// left unwritten because each depends on something that is not there
	// yet (a DNS record whose tunnel is not created): everything else was
	// written, what the waiting parts replace was left as it was, and the
	// target is flushed again when what they wait for is ready.
	Waiting []WaitingPart `json:"waiting,omitempty"`
	// Refused lists the parts of the desired output a successful flush did
	// not write because downstream refused them (Cloudflare answered a 4xx
	// for that one change) or they clash with an object conflux-sync does
	// not own: everything else was written. They stay refused until the
	// target changes (or the drift pass finds the obstacle gone).
	Refused []RefusedPart `json:"refused,omitempty"`
	// DependsOn names the target of this cluster the last attempt waits
	// for. Without Error the target waits normally (e.g. for a tunnel
	// another target creates; Waiting says what waits); with Error that
	// target blocks this one (e.g. it owns the tunnel this one names).
	// Either way the leader flushes this target again as soon as an
	// outcome of that one is recorded.
	DependsOn *TargetRef `json:"dependsOn,omitempty"`
}

// Reasons of a RefusedPart.
const (
	// RefusedConflict: the part clashes with an object conflux-sync does
	// not own (a DNS record made by hand, or by another controller).
	RefusedConflict = "Conflict"
	// RefusedByDownstream: the downstream API refused the change itself
	// (Code and Message are the API's).
	RefusedByDownstream = "Refused"
)

// RefusedPart is one part of a target's output that was not written (see
// SyncStatus.Refused).
type RefusedPart struct {
	// Key names the part as WaitingPart.Key does: a DNS record is
	// "<name> <TYPE>".
	Key string `json:"key"`
	// Reason is RefusedConflict or RefusedByDownstream.
	Reason string `json:"reason"`
	// Code is the downstream API's error code (Cloudflare's, e.g. 9003);
	// 0 for a conflict found before writing.
	Code int `json:"code,omitempty"`
	// Message says why, in the API's words for a refusal.
	Message string `json:"message"`
}

// WaitingPart is one part of a target's output that waits (see
// SyncStatus.Waiting).
type WaitingPart struct {
	// Key names the part as the kind's conflicts do: a DNS record is
	// "<name> <TYPE>" (DNSRecord.Key); "" is the whole target (it waits
	// for SyncStatus.DependsOn).
	Key string `json:"key"`
	// For says what it waits for, e.g. "tunnel Tunnel/infra/edge (not
	// created yet)".
	For string `json:"for"`
}

// PlanInSync is the one line of the plan (SyncStatus.Plan) of a target
// that a real sync would not write.
const PlanInSync = "in sync (no write)"

// TargetSummary is one row of the target list.
type TargetSummary struct {
	Target    TargetRef   `json:"target"`
	Revision  uint64      `json:"revision"`
	Fragments int         `json:"fragments"`
	Hash      string      `json:"hash,omitempty"`
	Conflicts int         `json:"conflicts"`
	Status    *SyncStatus `json:"status,omitempty"`
}

// Target is one target with everything known about it.
type Target struct {
	Target   TargetRef `json:"target"`
	Revision uint64    `json:"revision"`
	// Desired is the aggregate of the fragments: exactly the body the
	// downstream API takes. Null when the target has no fragments left.
	Desired   json.RawMessage `json:"desired"`
	Hash      string          `json:"hash,omitempty"`
	Conflicts []Conflict      `json:"conflicts"`
	Status    *SyncStatus     `json:"status,omitempty"`
	Fragments []Fragment      `json:"fragments"`
}

// Source is a registered producer (e.g. a Git repository to poll). Spec is
// owned by the producer kind that reads it.
type Source struct {
	Source SourceRef       `json:"source"`
	Spec   json.RawMessage `json:"spec,omitempty"`
	// Status is what the producer last reported (for a GitSource, a
	// GitSourceStatus). Only the leader's producer writes it, through the
	// log; PutSource keeps it.
	Status      json.RawMessage `json:"status,omitempty"`
	CreateIndex uint64          `json:"createIndex,omitempty"`
	ModifyIndex uint64          `json:"modifyIndex,omitempty"`
}

// WriteResult answers every write.
type WriteResult struct {
	// Index is the raft index at which the write was applied.
	Index uint64 `json:"index"`
	// Stale is true when a PutFragment was ignored because the stored
	// fragment has a higher generation.
	Stale bool `json:"stale,omitempty"`
	// StoredGeneration is the generation kept when Stale is true.
	StoredGeneration int64 `json:"storedGeneration,omitempty"`
	// Changed counts the fragments created, updated or deleted.
	Changed int `json:"changed"`
	// Warnings name values the write stored because the downstream API
	// accepts them, but that are likely mistakes (e.g. a tunnel rule's
	// hostname that is not a DNS name). Nothing was refused for them.
	Warnings []Warning `json:"warnings,omitempty"`
	// Sync is set when the write was made with ?wait (api.Wait) and every
	// target it touched settled: one entry per target, ordered by target.
	Sync []TargetSync `json:"sync,omitempty"`
}

// Warning is one accepted but doubtful value of a write.
type Warning struct {
	// Field is the JSON path of the value, e.g. "spec.rules[2].hostname"
	// (in a ReplaceSourceFragments write, "fragments[1].spec…").
	Field   string `json:"field"`
	Message string `json:"message"`
}

// TargetSync is where one target touched by a write stands after the
// write waited for the sync (?wait).
type TargetSync struct {
	Target TargetRef `json:"target"`
	// Settled is true when the leader is done with the target's current
	// revision: it is in sync (no error, syncedHash equals the current
	// hash), or its last attempt at this write's revision or a newer one
	// failed (Status.Error says why).
	Settled bool `json:"settled"`
	// Status is the target's recorded sync status; nil if it has none.
	Status *SyncStatus `json:"status,omitempty"`
}

// MaxWait is the longest ?wait a write accepts.
const MaxWait = 5 * time.Minute

// SecretRef points at one key of a Kubernetes Secret. Fragments carry
// SecretRefs, never secret values: the leader resolves them when it flushes.
type SecretRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

func (r SecretRef) String() string { return "Secret " + r.Namespace + "/" + r.Name + " key " + r.Key }

// Validate checks the reference; field prefixes the reported field.
func (r SecretRef) Validate(field string) *FieldError {
	for _, p := range []struct{ name, v string }{{".namespace", r.Namespace}, {".name", r.Name}, {".key", r.Key}} {
		if err := checkName(field+p.name, p.v, true, 253); err != nil {
			return err
		}
	}
	return nil
}

// ObjectFieldRef points at a string field of a Kubernetes object that
// holds a secret written into the object itself (an upstream manifest's
// inline spec.config.clientSecret). Like a SecretRef it stands in the log
// for the value: the leader reads the field from the API server when it
// flushes. Generation is the object's metadata.generation when the
// reference was made: the value is not in the fragment, so the
// generation is what changes the fragment, and has the target flushed
// again, when the value is edited (a hash of the value would do that too,
// but would put something derived from the secret in every fragment
// listing).
type ObjectFieldRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is "" for a cluster-scoped object.
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Field is the dotted path of the field, under spec
	// (spec.config.clientSecret).
	Field      string `json:"field"`
	Generation int64  `json:"generation,omitempty"`
}

func (r ObjectFieldRef) String() string {
	obj := r.Name
	if r.Namespace != "" {
		obj = r.Namespace + "/" + r.Name
	}
	return r.Kind + " " + obj + " (" + r.APIVersion + ") field " + r.Field
}

// Validate checks the reference; field prefixes the reported field. The
// path must lie under spec: what the object's author wrote, never its
// status or metadata.
func (r ObjectFieldRef) Validate(field string) *FieldError {
	gv := strings.Split(r.APIVersion, "/")
	if r.APIVersion == "" || len(gv) > 2 || slices.Contains(gv, "") {
		return &FieldError{Field: field + ".apiVersion", Reason: "must be group/version, or version for the core group"}
	}
	for _, p := range []struct {
		name, v  string
		required bool
	}{{".kind", r.Kind, true}, {".namespace", r.Namespace, false}, {".name", r.Name, true}} {
		if err := checkName(field+p.name, p.v, p.required, 253); err != nil {
			return err
		}
	}
	if r.Generation < 0 {
		return &FieldError{Field: field + ".generation", Reason: "must not be negative"}
	}
	parts := strings.Split(r.Field, ".")
	if len(parts) < 2 || parts[0] != "spec" || slices.Contains(parts, "") {
		return &FieldError{Field: field + ".field", Reason: "must be a dotted path under spec (spec.config.clientSecret)"}
	}
	return nil
}
