// Package tunnel is the cloudflare.TunnelConfiguration kind: it validates
// fragments of a Cloudflare tunnel's ingress configuration and merges all
// fragments of one tunnel into the single body that
// PUT /accounts/{a}/cfd_tunnel/{id}/configurations replaces wholesale.
//
// Many producers (Tunnel CRs, Ingresses, HTTPRoutes, TunnelBindings, the
// API, Terraform) add rules to one tunnel. The merge is a pure function of
// the fragments: any arrival order gives byte-identical output, so the
// output hash only changes when the configuration does.
package tunnel

import (
	"encoding/json"
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = "cloudflare.TunnelConfiguration"

// Kind implements kind.Kind for tunnel configurations. It has no state.
type Kind struct{}

var _ kind.Warner = Kind{}

// New returns the tunnel configuration kind.
func New() kind.Kind { return Kind{} }

// Name returns "cloudflare.TunnelConfiguration".
func (Kind) Name() string { return Name }

// Validate checks one fragment spec: its shape (no unknown fields, integer
// seconds) and cloudflared's ingress rules. A violation is an
// *api.FieldError whose Field is a JSON path such as "spec.rules[2].hostname".
func (k Kind) Validate(target api.TargetRef, source api.SourceRef, spec json.RawMessage) error {
	_, err := k.ValidateWarn(target, source, spec)
	return err
}

// ValidateWarn is Validate that also returns the warnings of an accepted
// spec: values cloudflared takes but that are likely mistakes, such as a
// hostname that is not a DNS name or a negative keepAliveConnections.
func (Kind) ValidateWarn(target api.TargetRef, source api.SourceRef, spec json.RawMessage) ([]api.Warning, error) {
	if target.Kind != Name {
		return nil, &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, Name)}
	}
	s, err := DecodeSpec(spec)
	if err != nil {
		return nil, err
	}
	var c checks
	// Return a literal nil, not a nil *api.FieldError, which would be a
	// non-nil error interface.
	if fe := validateSpec(&s, source, &c); fe != nil {
		return nil, fe
	}
	return c.warnings, nil
}

// Aggregate merges the fragments of one tunnel into its configuration body
// (see Config) and reports the pieces two sources both claimed:
//
//   - Rules are ordered most specific first in a total order (see
//     compareRules) and end with one catch-all whose service is the Tunnel
//     source's settings.fallbackTarget, else "http_status:404".
//   - A (hostname, path) in two sources goes to the fragment with the lowest
//     CreateIndex, then the lower SourcePriority, then the smaller source
//     key; each loser is a Conflict keyed "hostname path".
//   - Tunnel-wide settings come from the strongest Tunnel/ClusterTunnel
//     fragment that has settings; other Tunnel fragments with settings are
//     Conflicts keyed "settings".
//
// No fragments give an empty Result. A fragment that does not decode or
// validate is an error naming its source.
func (Kind) Aggregate(_ api.TargetRef, fragments []api.Fragment) (kind.Result, error) {
	return aggregate(fragments)
}
