package tunnel

import (
	"regexp"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// TunnelSpec is a cloudflare.Tunnel fragment (see api.TunnelSpec).
type TunnelSpec = api.TunnelSpec

// NewTunnel returns the cloudflare.Tunnel kind: one owner per target,
// Conflicts keyed "tunnel".
func NewTunnel() kind.Kind {
	return kind.OneOwnerKind[TunnelSpec]{KindName: cfapi.KindTunnel, ConflictKey: "tunnel", Check: checkTunnel, Canonical: canonicalTunnel}
}

var (
	tunnelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	accountRE    = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
)

func checkTunnel(s *TunnelSpec) *api.FieldError {
	switch {
	case s.AccountID != "" && !accountRE.MatchString(s.AccountID):
		return &api.FieldError{Field: "spec.accountId", Reason: "must be a Cloudflare account id (letters, digits, - and _)"}
	case s.Name == "":
		return &api.FieldError{Field: "spec.name", Reason: "is required"}
	case !tunnelNameRE.MatchString(s.Name):
		return &api.FieldError{Field: "spec.name", Reason: "must be 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit"}
	case s.ID != "" && !uuidRE.MatchString(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: "must be a tunnel id (a lower-case UUID)"}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that tunnel) or takeOver (own the tunnel a previous controller created), not both"}
	case s.TakeOver != "" && !uuidRE.MatchString(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: "must be a tunnel id (a lower-case UUID)"}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

// canonicalTunnel: an id implies adopt.
func canonicalTunnel(s TunnelSpec) TunnelSpec {
	if s.ID != "" {
		s.Adopt = true
	}
	return s
}
