package route

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindNetworkRoute

// maxComment leaves room for the marker inside cfapi.MaxCommentLen.
const maxComment = cfapi.MaxCommentLen

// Spec is a cloudflare.NetworkRoute fragment (see api.NetworkRouteSpec).
type Spec = api.NetworkRouteSpec

// New returns the network route kind: one owner per target, Conflicts keyed
// "route".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "route", Check: validate, Canonical: Canonical}
}

// Canonical normalises s so equal meanings marshal to equal bytes. It
// does not validate.
func Canonical(s Spec) Spec {
	if p, err := netip.ParsePrefix(s.Network); err == nil {
		s.Network = p.String()
	}
	s.TunnelID = strings.ToLower(s.TunnelID)
	s.VirtualNetworkID = strings.ToLower(s.VirtualNetworkID)
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
	if s.Network == "" {
		return &api.FieldError{Field: "spec.network", Reason: "is required (a CIDR such as 10.0.0.0/8)"}
	}
	p, err := netip.ParsePrefix(s.Network)
	if err != nil {
		return &api.FieldError{Field: "spec.network", Reason: fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", s.Network)}
	}
	if p.Addr().Is4In6() {
		return &api.FieldError{Field: "spec.network", Reason: "must be an IPv4 or IPv6 CIDR, not an IPv4-mapped IPv6 one"}
	}
	if m := p.Masked(); m != p {
		return &api.FieldError{Field: "spec.network", Reason: fmt.Sprintf("%s has host bits set; the network is %s", s.Network, m)}
	}
	switch {
	case s.Tunnel == "" && s.TunnelID == "":
		return &api.FieldError{Field: "spec.tunnel", Reason: "one of tunnel (a cloudflare.Tunnel target name) or tunnelId is required"}
	case s.Tunnel != "" && s.TunnelID != "":
		return &api.FieldError{Field: "spec.tunnelId", Reason: "give either tunnel or tunnelId, not both"}
	case s.Tunnel != "" && (len(s.Tunnel) > 253 || strings.IndexFunc(s.Tunnel, unicode.IsControl) >= 0 || strings.TrimSpace(s.Tunnel) != s.Tunnel):
		return &api.FieldError{Field: "spec.tunnel", Reason: "must be a cloudflare.Tunnel target name such as ClusterTunnel/edge"}
	case s.TunnelID != "" && !cfapi.IsUUID(s.TunnelID):
		return &api.FieldError{Field: "spec.tunnelId", Reason: fmt.Sprintf("%q is not a tunnel id (a UUID)", s.TunnelID)}
	case s.VirtualNetwork != "" && s.VirtualNetworkID != "":
		return &api.FieldError{Field: "spec.virtualNetworkId", Reason: "give either virtualNetwork (a name) or virtualNetworkId, not both"}
	case s.VirtualNetwork != "" && (len(s.VirtualNetwork) > 255 || strings.IndexFunc(s.VirtualNetwork, unicode.IsControl) >= 0 ||
		strings.TrimSpace(s.VirtualNetwork) != s.VirtualNetwork || !utf8.ValidString(s.VirtualNetwork)):
		return &api.FieldError{Field: "spec.virtualNetwork", Reason: "must be a cloudflare.VirtualNetwork target name or a virtual network's name, without control characters or surrounding spaces, at most 255 bytes"}
	case s.VirtualNetworkID != "" && !cfapi.IsUUID(s.VirtualNetworkID):
		return &api.FieldError{Field: "spec.virtualNetworkId", Reason: fmt.Sprintf("%q is not a virtual network id (a UUID)", s.VirtualNetworkID)}
	case utf8.RuneCountInString(s.Comment) > maxComment:
		return &api.FieldError{Field: "spec.comment", Reason: fmt.Sprintf("is longer than %d characters", maxComment)}
	case strings.IndexFunc(s.Comment, unicode.IsControl) >= 0:
		return &api.FieldError{Field: "spec.comment", Reason: "must not contain control characters or newlines"}
	case s.TakeOver != "" && (strings.TrimSpace(s.TakeOver) != s.TakeOver || strings.TrimSpace(s.TakeOver) == ""):
		return &api.FieldError{Field: "spec.takeOver", Reason: "must be the previous controller's marker, e.g. \"[managed:NetworkRoute/edge-route]\", without surrounding spaces"}
	case utf8.RuneCountInString(s.TakeOver) > api.MaxRouteTakeOverLen:
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("is longer than %d characters (a route comment holds no more)", api.MaxRouteTakeOverLen)}
	case strings.IndexFunc(s.TakeOver, unicode.IsControl) >= 0 || !utf8.ValidString(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: "must be valid UTF-8 without control characters or newlines"}
	case s.Credentials != nil && s.AccountID == "" && s.Tunnel == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials and spec.tunnelId"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}
