package accessgroup

import (
	"fmt"
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

// RuleKeys are the rule types the Access API knows (the one key of a rule
// object); groups and policies share them (cfapi.AccessRuleKeys).
var RuleKeys = cfapi.AccessRuleKeys

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
	s.Include = cfapi.CanonicalAccessRules(s.Include)
	s.Exclude = cfapi.CanonicalAccessRules(s.Exclude)
	s.Require = cfapi.CanonicalAccessRules(s.Require)
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
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
	if fe := cfapi.CheckAccessRules(cfapi.AccessRuleList{Field: "spec.include", Rules: s.Include},
		cfapi.AccessRuleList{Field: "spec.exclude", Rules: s.Exclude}, cfapi.AccessRuleList{Field: "spec.require", Rules: s.Require}); fe != nil {
		return fe
	}
	return cfapi.ValidateCredentials(s.Credentials)
}
