package kind

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// OneOwner picks the fragment that owns a one-owner target (a tunnel, an
// Access application, a route): the one registered first (lowest
// CreateIndex), ties broken by source key. Every other fragment is a
// Conflict keyed key. It returns nil for no fragments. The order of
// fragments does not matter.
func OneOwner(fragments []api.Fragment, key string) (*api.Fragment, []api.Conflict) {
	if len(fragments) == 0 {
		return nil, nil
	}
	sorted := make([]*api.Fragment, len(fragments))
	for i := range fragments {
		sorted[i] = &fragments[i]
	}
	slices.SortFunc(sorted, func(a, b *api.Fragment) int {
		return cmp.Or(
			cmp.Compare(a.CreateIndex, b.CreateIndex),
			strings.Compare(a.Source.Key(), b.Source.Key()),
		)
	})
	winner := sorted[0]
	var conflicts []api.Conflict
	for _, l := range sorted[1:] {
		conflicts = append(conflicts, api.Conflict{
			Key:    key,
			Winner: winner.Source,
			Loser:  l.Source,
			Reason: fmt.Sprintf("%s already owns this target (registered at index %d, before index %d)", winner.Source, winner.CreateIndex, l.CreateIndex),
		})
	}
	return winner, conflicts
}

// DecodeStrict decodes a fragment spec into v for validation, refusing
// what api.CheckJSON refuses — unknown, repeated or wrongly cased members,
// invalid UTF-8, wrong types, trailing data — with an *api.FieldError that
// names the full path under "spec" (e.g. "spec.config.sections[1].zz").
// Stored specs are read with DecodeStored: what was accepted once keeps
// loading when the rules tighten.
func DecodeStrict(spec json.RawMessage, v any) error {
	if fe := api.CheckJSON(spec, reflect.TypeOf(v), "spec"); fe != nil {
		return fe
	}
	return DecodeStored(spec, v)
}

// DecodeStored decodes a stored fragment spec into v with the rules that
// were in force when specs were first accepted: unknown fields and
// trailing data are refused, member names match case-insensitively.
func DecodeStored(spec json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return specError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &api.FieldError{Field: "spec", Reason: "has data after the JSON object"}
	}
	return nil
}

func specError(err error) *api.FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := "spec"
		if typeErr.Field != "" {
			field += "." + typeErr.Field
		}
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("must be %s, not %s", typeErr.Type, typeErr.Value)}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &api.FieldError{Field: "spec." + strings.Trim(name, `"`), Reason: "is not a known field"}
	}
	return &api.FieldError{Field: "spec", Reason: strings.TrimPrefix(msg, "json: ")}
}

// OneOwnerKind is a Kind whose target has one owner (a tunnel, an Access
// application, a route): Validate decodes the spec strictly and runs Check;
// Aggregate returns the canonical spec of the fragment OneOwner picks, the
// others being Conflicts keyed ConflictKey.
type OneOwnerKind[S any] struct {
	KindName    string
	ConflictKey string
	// Check validates a decoded spec; nil means valid.
	Check func(*S) *api.FieldError
	// Canonical fills in defaults and normalises, so that equal intents
	// give equal bytes.
	Canonical func(S) S
}

// Name returns KindName.
func (k OneOwnerKind[S]) Name() string { return k.KindName }

// Validate decodes spec strictly and checks it.
func (k OneOwnerKind[S]) Validate(target api.TargetRef, _ api.SourceRef, spec json.RawMessage) error {
	if target.Kind != k.KindName {
		return &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, k.KindName)}
	}
	var s S
	if err := DecodeStrict(spec, &s); err != nil {
		return err
	}
	// A literal nil, not a nil *api.FieldError in an error interface.
	if fe := k.Check(&s); fe != nil {
		return fe
	}
	return nil
}

// Aggregate returns the owner's canonical spec.
func (k OneOwnerKind[S]) Aggregate(_ api.TargetRef, fragments []api.Fragment) (Result, error) {
	owner, conflicts := OneOwner(fragments, k.ConflictKey)
	if owner == nil {
		return Result{}, nil
	}
	var s S
	if err := DecodeStored(owner.Spec, &s); err != nil {
		return Result{}, fmt.Errorf("fragment from %s: %w", owner.Source, err)
	}
	desired, err := json.Marshal(k.Canonical(s))
	if err != nil {
		return Result{}, err
	}
	return Result{Desired: desired, Conflicts: conflicts}, nil
}
