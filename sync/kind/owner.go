package kind

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DecodeStrict decodes a fragment spec into v, rejecting unknown fields,
// wrong types and trailing data with an *api.FieldError under "spec".
func DecodeStrict(spec json.RawMessage, v any) error {
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
