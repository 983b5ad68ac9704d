package cfapi

import (
	"encoding/json"
	"fmt"
)

// Helpers for the Access kinds on cloudflare-go v6 (groups, policies).

// AsV6 decodes one of v6's answers (its JSON.RawJSON()) as another of
// v6's types of the same object. v6 answers an Access group or policy
// with a different type per call (New, Update, List and Get responses,
// field for field the same object); a kind keeps one of them, the Get
// response, and reads the others through it.
func AsV6[T any](raw string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, fmt.Errorf("decode the API's answer: %w", err)
	}
	return v, nil
}

// AccessRulesRaw decodes a rule list as the API answered it (the raw
// JSON v6 keeps of the field, e.g. g.JSON.Include.Raw()), for
// AccessRulesHave. v6 decodes a rule into its AccessRule struct, one
// field per rule type it knows, which does not encode back to the rule
// the API answered (every other rule type comes out as null); the
// spec's rules are passed on as given and are compared with what the API
// answered. Absent and null are no rules.
func AccessRulesRaw(raw string) []any {
	var out []any
	if raw == "" || json.Unmarshal([]byte(raw), &out) != nil {
		return nil
	}
	return out
}
