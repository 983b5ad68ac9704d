package accesspolicy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindAccessPolicy

// maxNameLen bounds spec.name: long enough for any name people give, short
// enough to stay a name in plans and logs.
const maxNameLen = 255

// maxPromptLen is the API's limit on purpose_justification_prompt.
const maxPromptLen = 1024

// Decisions are the values the API takes for decision.
var Decisions = []string{"allow", "deny", "non_identity", "bypass"}

// Spec is a cloudflare.AccessPolicy fragment (see api.AccessPolicySpec).
type Spec = api.AccessPolicySpec

// New returns the Access policy kind: one owner per target, Conflicts
// keyed "accessPolicy".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "accessPolicy", Check: validate, Canonical: Canonical}
}

// Canonical normalises s so equal meanings marshal to equal bytes: rules
// re-encoded with sorted keys, ids lower-cased, the session duration in
// one spelling ("1440m" and "24h0m0s" are "24h"), and the API's defaults
// ("24h", one approval) written out so stating them is no change. It does
// not validate.
func Canonical(s Spec) Spec {
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
	s.Include = cfapi.CanonicalAccessRules(s.Include)
	s.Exclude = cfapi.CanonicalAccessRules(s.Exclude)
	s.Require = cfapi.CanonicalAccessRules(s.Require)
	s.SessionDuration = canonicalDuration(s.SessionDuration)
	if len(s.ApprovalGroups) == 0 {
		s.ApprovalGroups = nil
	} else {
		gs := make([]api.AccessApprovalGroup, len(s.ApprovalGroups))
		for i, g := range s.ApprovalGroups {
			g.EmailAddresses = slices.Clone(g.EmailAddresses)
			g.EmailListUUID = strings.ToLower(g.EmailListUUID)
			gs[i] = g
		}
		s.ApprovalGroups = gs
	}
	if s.ConnectionRules != nil {
		c := *s.ConnectionRules
		if c.SSH != nil {
			ssh := *c.SSH
			ssh.Usernames = slices.Clone(ssh.Usernames)
			c.SSH = &ssh
		}
		s.ConnectionRules = &c
	}
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
}

// DefaultSessionDuration is the API's session_duration when none is given.
const DefaultSessionDuration = "24h"

// canonicalDuration spells a valid duration as time.Duration.String does
// without its zero tails ("8h", "1h30m", "90s"), which is also how people
// and the dashboard write them; "" is the API's default. Anything else is
// kept for validate to refuse.
func canonicalDuration(d string) string {
	if d == "" {
		return DefaultSessionDuration
	}
	v, err := time.ParseDuration(d)
	if err != nil {
		return d
	}
	out := v.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	if fe := cfapi.CheckObjectName("spec.name", s.Name, maxNameLen); fe != nil {
		return fe
	}
	switch {
	case s.Decision == "":
		return &api.FieldError{Field: "spec.decision", Reason: "is required: one of " + strings.Join(Decisions, ", ")}
	case !slices.Contains(Decisions, s.Decision):
		return &api.FieldError{Field: "spec.decision", Reason: fmt.Sprintf("%q is not one of %s", s.Decision, strings.Join(Decisions, ", "))}
	case len(s.Include) == 0:
		return &api.FieldError{Field: "spec.include", Reason: "needs at least one rule (the API requires one)"}
	case s.ID != "" && !cfapi.IsUUID(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: fmt.Sprintf("%q is not an Access policy id (a UUID)", s.ID)}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that policy) or takeOver (own the policy a previous controller created), not both"}
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not an Access policy id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	if fe := cfapi.CheckAccessRules(cfapi.AccessRuleList{Field: "spec.include", Rules: s.Include},
		cfapi.AccessRuleList{Field: "spec.exclude", Rules: s.Exclude}, cfapi.AccessRuleList{Field: "spec.require", Rules: s.Require}); fe != nil {
		return fe
	}
	if fe := checkGroupRules(cfapi.AccessRuleList{Field: "spec.include", Rules: s.Include},
		cfapi.AccessRuleList{Field: "spec.exclude", Rules: s.Exclude}, cfapi.AccessRuleList{Field: "spec.require", Rules: s.Require}); fe != nil {
		return fe
	}
	if s.SessionDuration != "" {
		// The API takes Go's duration syntax (units ns, us, ms, s, m, h).
		if d, err := time.ParseDuration(s.SessionDuration); err != nil || d < 0 {
			return &api.FieldError{Field: "spec.sessionDuration", Reason: fmt.Sprintf("%q is not a duration such as 24h or 30m", s.SessionDuration)}
		}
	}
	if fe := validateJustification(s); fe != nil {
		return fe
	}
	if fe := validateApproval(s); fe != nil {
		return fe
	}
	if fe := validateConnectionRules(s.ConnectionRules); fe != nil {
		return fe
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

func validateJustification(s *Spec) *api.FieldError {
	p := s.PurposeJustificationPrompt
	switch {
	case p == "":
		return nil
	case !s.PurposeJustificationRequired:
		return &api.FieldError{Field: "spec.purposeJustificationPrompt", Reason: "is shown only with purposeJustificationRequired: set it too"}
	case utf8.RuneCountInString(p) > maxPromptLen:
		return &api.FieldError{Field: "spec.purposeJustificationPrompt", Reason: fmt.Sprintf("is longer than %d characters", maxPromptLen)}
	case !utf8.ValidString(p):
		return &api.FieldError{Field: "spec.purposeJustificationPrompt", Reason: "must be valid UTF-8"}
	}
	return nil
}

func validateApproval(s *Spec) *api.FieldError {
	switch {
	case s.ApprovalRequired && len(s.ApprovalGroups) == 0:
		return &api.FieldError{Field: "spec.approvalGroups", Reason: "needs at least one group with approvalRequired (someone must approve)"}
	case !s.ApprovalRequired && len(s.ApprovalGroups) > 0:
		return &api.FieldError{Field: "spec.approvalGroups", Reason: "are asked only with approvalRequired: set it too, or remove them"}
	}
	for i, g := range s.ApprovalGroups {
		field := fmt.Sprintf("spec.approvalGroups[%d]", i)
		switch {
		case len(g.EmailAddresses) == 0 && g.EmailListUUID == "":
			return &api.FieldError{Field: field, Reason: "needs emailAddresses or emailListUuid (who approves)"}
		case g.EmailListUUID != "" && !cfapi.IsUUID(g.EmailListUUID):
			return &api.FieldError{Field: field + ".emailListUuid", Reason: fmt.Sprintf("%q is not an email list id (a UUID)", g.EmailListUUID)}
		case g.ApprovalsNeeded < 1:
			return &api.FieldError{Field: field + ".approvalsNeeded", Reason: "must be at least 1"}
		}
		for j, e := range g.EmailAddresses {
			if at := strings.LastIndexByte(e, '@'); at < 1 || at == len(e)-1 || strings.ContainsFunc(e, unicode.IsSpace) {
				return &api.FieldError{Field: fmt.Sprintf("%s.emailAddresses[%d]", field, j), Reason: fmt.Sprintf("%q is not an email address", e)}
			}
		}
	}
	return nil
}

func validateConnectionRules(c *api.AccessConnectionRules) *api.FieldError {
	switch {
	case c == nil:
		return nil
	case c.SSH == nil:
		return &api.FieldError{Field: "spec.connectionRules.ssh", Reason: "is required in connectionRules (the only kind of connection rule)"}
	case len(c.SSH.Usernames) == 0 && !c.SSH.AllowEmailAlias:
		return &api.FieldError{Field: "spec.connectionRules.ssh.usernames", Reason: "needs at least one username, or allowEmailAlias"}
	}
	for i, u := range c.SSH.Usernames {
		if u == "" || strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return &api.FieldError{Field: fmt.Sprintf("spec.connectionRules.ssh.usernames[%d]", i), Reason: fmt.Sprintf("%q is not a UNIX username", u)}
		}
	}
	return nil
}
