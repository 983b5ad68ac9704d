package accessgroup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindAccessGroup

// maxNameLen bounds spec.name: long enough for any name people give, short
// enough to stay a name in plans and logs.
const maxNameLen = 255

// maxRules bounds each rule list; the API's own groups stay far below it.
const maxRules = 1000

// RuleKeys are the rule types the Access API knows (the one key of a rule
// object). A rule is checked for its shape only: its value is passed to
// the API as given, which validates the fields inside.
var RuleKeys = []string{
	"any_valid_service_token", "auth_context", "auth_method", "azureAD",
	"certificate", "common_name", "device_posture", "email", "email_domain",
	"email_list", "everyone", "external_evaluation", "geo",
	"github-organization", "group", "gsuite", "ip", "ip_list",
	"linked_app_token", "login_method", "oidc", "okta", "saml",
	"service_token",
}

// Spec is a cloudflare.AccessGroup fragment (see api.AccessGroupSpec).
type Spec = api.AccessGroupSpec

// New returns the Access group kind: one owner per target, Conflicts
// keyed "accessGroup".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "accessGroup", Check: validate, Canonical: Canonical}
}

// Canonical normalises s so equal meanings marshal to equal bytes: each
// rule is re-encoded with sorted keys and no spaces, so the hash and the
// diff do not see formatting. It does not validate.
func Canonical(s Spec) Spec {
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
	s.Include = canonicalRules(s.Include)
	s.Exclude = canonicalRules(s.Exclude)
	s.Require = canonicalRules(s.Require)
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
}

func canonicalRules(rules []json.RawMessage) []json.RawMessage {
	if len(rules) == 0 {
		return nil
	}
	out := make([]json.RawMessage, len(rules))
	for i, r := range rules {
		out[i] = canonicalRule(r)
	}
	return out
}

// canonicalRule re-encodes one JSON value through any: object keys come
// out sorted. A value that does not parse is kept as it is.
func canonicalRule(r json.RawMessage) json.RawMessage {
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

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	if fe := cfapi.CheckObjectName("spec.name", s.Name, maxNameLen); fe != nil {
		return fe
	}
	switch {
	case len(s.Include) == 0:
		return &api.FieldError{Field: "spec.include", Reason: "needs at least one rule (the API requires one)"}
	case s.ID != "" && !cfapi.IsUUID(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: fmt.Sprintf("%q is not an Access group id (a UUID)", s.ID)}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that group) or takeOver (own the group a previous controller created), not both"}
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not an Access group id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	for _, l := range []struct {
		field string
		rules []json.RawMessage
	}{{"spec.include", s.Include}, {"spec.exclude", s.Exclude}, {"spec.require", s.Require}} {
		if len(l.rules) > maxRules {
			return &api.FieldError{Field: l.field, Reason: fmt.Sprintf("has more than %d rules", maxRules)}
		}
		for i, r := range l.rules {
			if reason := checkRule(r); reason != "" {
				return &api.FieldError{Field: fmt.Sprintf("%s[%d]", l.field, i), Reason: reason}
			}
		}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

// checkRule returns why r is not a rule object, or "".
func checkRule(r json.RawMessage) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
		return `must be a rule object such as {"email":{"email":"a@example.com"}}`
	}
	if len(obj) != 1 {
		return fmt.Sprintf("must have exactly one rule key, has %d", len(obj))
	}
	for k, v := range obj {
		if !slices.Contains(RuleKeys, k) {
			return fmt.Sprintf("unknown rule %q (known: %s)", k, strings.Join(RuleKeys, ", "))
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(v, &inner); err != nil || inner == nil {
			return fmt.Sprintf("rule %q must be an object (e.g. {})", k)
		}
	}
	return ""
}
