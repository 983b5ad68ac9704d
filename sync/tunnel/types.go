package tunnel

import "github.com/conflux-sync/conflux-sync/api"

// The fragment spec types live in package api (shared with the producers);
// these names keep the package's code short.
type (
	Spec          = api.TunnelConfigSpec
	Settings      = api.TunnelSettings
	Rule          = api.TunnelRule
	OriginRequest = api.OriginRequest
	IPRule        = api.OriginIPRule
	Access        = api.OriginAccess
)

// Config is the rendered tunnel configuration: exactly the "config" body
// the Cloudflare API takes, and a target's Desired.
type Config struct {
	// Ingress ends with exactly one catch-all rule (no hostname, no path).
	Ingress []Rule `json:"ingress"`
	// WarpRouting is omitted unless the Tunnel source set warpRouting.
	WarpRouting *WarpRouting `json:"warp-routing,omitempty"`
	// OriginRequest is never omitted: cloudflare-go always sends it (it is
	// not a pointer there), so the API echoes "originRequest":{} back.
	OriginRequest OriginRequest `json:"originRequest"`
}

// WarpRouting is the "warp-routing" object of a tunnel configuration.
type WarpRouting struct {
	Enabled bool `json:"enabled"`
}
