package cfapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// The include, exclude and require rule lists that Access groups and
// Access policies share: the API's own rule objects, passed to it as
// given, checked here for their shape only and kept in one canonical
// encoding so formatting never shows as a change.

// MaxAccessRules bounds each rule list; the API's own groups and policies
// stay far below it.
const MaxAccessRules = 1000

// AccessRuleKeys are the rule types the Access API knows (the one key of
// a rule object). A rule's value is passed to the API as given, which
// validates the fields inside.
var AccessRuleKeys = []string{
	"any_valid_service_token", "auth_context", "auth_method", "azureAD",
	"certificate", "common_name", "device_posture", "email", "email_domain",
	"email_list", "everyone", "external_evaluation", "geo",
	"github-organization", "group", "gsuite", "ip", "ip_list",
	"linked_app_token", "login_method", "oidc", "okta", "saml",
	"service_token",
}

// AccessRuleList is one named rule list of a spec, for CheckAccessRules.
type AccessRuleList struct {
	Field string // e.g. "spec.include"
	Rules []json.RawMessage
}

// CheckAccessRules checks each list's length and each rule's shape: an
// object with exactly one known rule key whose value is an object. The
// error names the rule (e.g. spec.exclude[1]).
func CheckAccessRules(lists ...AccessRuleList) *api.FieldError {
	for _, l := range lists {
		if len(l.Rules) > MaxAccessRules {
			return &api.FieldError{Field: l.Field, Reason: fmt.Sprintf("has more than %d rules", MaxAccessRules)}
		}
		for i, r := range l.Rules {
			if reason := checkAccessRule(r); reason != "" {
				return &api.FieldError{Field: fmt.Sprintf("%s[%d]", l.Field, i), Reason: reason}
			}
		}
	}
	return nil
}

// checkAccessRule returns why r is not a rule object, or "".
func checkAccessRule(r json.RawMessage) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
		return `must be a rule object such as {"email":{"email":"a@example.com"}}`
	}
	if len(obj) != 1 {
		return fmt.Sprintf("must have exactly one rule key, has %d", len(obj))
	}
	for k, v := range obj {
		if !slices.Contains(AccessRuleKeys, k) {
			return fmt.Sprintf("unknown rule %q (known: %s)", k, strings.Join(AccessRuleKeys, ", "))
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(v, &inner); err != nil || inner == nil {
			return fmt.Sprintf("rule %q must be an object (e.g. {})", k)
		}
	}
	return ""
}

// CanonicalAccessRules re-encodes each rule with sorted keys and no
// spaces; an empty list is nil. It does not validate.
func CanonicalAccessRules(rules []json.RawMessage) []json.RawMessage {
	if len(rules) == 0 {
		return nil
	}
	out := make([]json.RawMessage, len(rules))
	for i, r := range rules {
		out[i] = canonicalAccessRule(r)
	}
	return out
}

// canonicalAccessRule re-encodes one JSON value through any: object keys
// come out sorted. A value that does not parse is kept as it is.
func canonicalAccessRule(r json.RawMessage) json.RawMessage {
	var v any
	d := json.NewDecoder(bytes.NewReader(r))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return slices.Clone(r)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return slices.Clone(r)
	}
	return b
}

// AccessRulesHave renders the API's rules (as cloudflare-go decoded them)
// as canonical JSON, for a diff against AccessRulesWant.
func AccessRulesHave(rules []any) string {
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Sprintf("%v", rules)
		}
		parts = append(parts, string(canonicalAccessRule(b)))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// AccessRulesWant renders a spec's rules as canonical JSON; absent and
// empty lists are both [] (the API answers [] for both).
func AccessRulesWant(rules []json.RawMessage) string {
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		parts = append(parts, string(canonicalAccessRule(r)))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// AccessRulesAny hands a spec's rules to cloudflare-go, whose rule lists
// are []interface{}: a json.RawMessage is sent verbatim, and an empty
// list is sent as [] (a PUT replaces the object: absent would not clear
// it).
func AccessRulesAny(rules []json.RawMessage) []any {
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	return out
}
