package tunnel

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// TunnelSpec is a fragment of a cloudflare.Tunnel target: the tunnel to
// ensure exists. The target's name is how configurations, DNS records and
// routes refer to the tunnel (e.g. "ClusterTunnel/edge"); Name is the
// tunnel's name in Cloudflare.
//
//	{"accountId": "0123...", "name": "edge"}
//	{"accountId": "0123...", "name": "edge", "adopt": true}
//	{"accountId": "0123...", "name": "edge", "id": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}
type TunnelSpec struct {
	// AccountID is the Cloudflare account; empty means the only account
	// conflux-sync has credentials for.
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	// Adopt takes over an existing tunnel of this name that conflux-sync
	// did not create. Adopted tunnels are never deleted.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts the existing tunnel with this id (Adopt is implied).
	ID string `json:"id,omitempty"`
}

// TunnelKind implements kind.Kind for cloudflare.Tunnel: one owner.
type TunnelKind struct{}

var _ kind.Kind = TunnelKind{}

// NewTunnel returns the cloudflare.Tunnel kind.
func NewTunnel() kind.Kind { return TunnelKind{} }

// Name returns "cloudflare.Tunnel".
func (TunnelKind) Name() string { return cfapi.KindTunnel }

var (
	tunnelNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	uuidRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	accountRE    = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
)

// Validate checks a TunnelSpec.
func (TunnelKind) Validate(target api.TargetRef, _ api.SourceRef, raw json.RawMessage) error {
	if target.Kind != cfapi.KindTunnel {
		return &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, cfapi.KindTunnel)}
	}
	var s TunnelSpec
	if err := kind.DecodeStrict(raw, &s); err != nil {
		return err
	}
	switch {
	case s.AccountID != "" && !accountRE.MatchString(s.AccountID):
		return &api.FieldError{Field: "spec.accountId", Reason: "must be a Cloudflare account id (letters, digits, - and _)"}
	case s.Name == "":
		return &api.FieldError{Field: "spec.name", Reason: "is required"}
	case !tunnelNameRE.MatchString(s.Name):
		return &api.FieldError{Field: "spec.name", Reason: "must be 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit"}
	case s.ID != "" && !uuidRE.MatchString(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: "must be a tunnel id (a lower-case UUID)"}
	}
	return nil
}

// Aggregate picks the owner: the fragment registered first. Desired is its
// spec re-encoded (field order fixed), so equal intents hash equally.
func (TunnelKind) Aggregate(_ api.TargetRef, fragments []api.Fragment) (kind.Result, error) {
	owner, conflicts := kind.OneOwner(fragments, "tunnel")
	if owner == nil {
		return kind.Result{}, nil
	}
	var s TunnelSpec
	if err := json.Unmarshal(owner.Spec, &s); err != nil {
		return kind.Result{}, fmt.Errorf("fragment of %s: %w", owner.Source, err)
	}
	if s.ID != "" {
		s.Adopt = true
	}
	desired, err := json.Marshal(s)
	if err != nil {
		return kind.Result{}, err
	}
	return kind.Result{Desired: desired, Conflicts: conflicts}, nil
}
