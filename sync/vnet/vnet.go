package vnet

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindVirtualNetwork

// maxNameLen bounds spec.name: long enough for any name people give, short
// enough to stay a name in plans and logs.
const maxNameLen = 255

// Spec is a cloudflare.VirtualNetwork fragment (see api.VirtualNetworkSpec).
type Spec = api.VirtualNetworkSpec

// New returns the virtual network kind: one owner per target, Conflicts
// keyed "virtualNetwork".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "virtualNetwork", Check: validate, Canonical: Canonical}
}

// Canonical normalises s so equal meanings marshal to equal bytes. It
// does not validate.
func Canonical(s Spec) Spec {
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
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
	case utf8.RuneCountInString(s.Comment) > cfapi.MaxCommentLen:
		return &api.FieldError{Field: "spec.comment", Reason: fmt.Sprintf("is longer than %d characters", cfapi.MaxCommentLen)}
	case strings.IndexFunc(s.Comment, unicode.IsControl) >= 0:
		return &api.FieldError{Field: "spec.comment", Reason: "must not contain control characters or newlines"}
	case s.ID != "" && !cfapi.IsUUID(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: fmt.Sprintf("%q is not a virtual network id (a UUID)", s.ID)}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that network) or takeOver (own the network a previous controller created), not both"}
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not a virtual network id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}
