package tunnel

// The types in this file are both the fragment spec (what producers send)
// and the rendered output (the body of PUT .../cfd_tunnel/{id}/configurations).
// Optional scalars are pointers so that false, 0 and "" are values a
// producer can set, distinct from "not given"; omitempty keeps "not given"
// out of the output. Field order is the canonical output order: change it
// and every target's hash changes (one spurious PUT per tunnel).

// Spec is one fragment's contribution to a tunnel configuration.
type Spec struct {
	// Rules are ingress rules. Their order inside the fragment does not
	// matter: the aggregate imposes its own total order.
	Rules []Rule `json:"rules,omitempty"`
	// Settings are tunnel-wide; only a Tunnel or ClusterTunnel source may
	// set them.
	Settings *Settings `json:"settings,omitempty"`
}

// Settings are the tunnel-wide parts of a configuration.
type Settings struct {
	// FallbackTarget is the service of the generated catch-all rule; empty
	// means "http_status:404".
	FallbackTarget string `json:"fallbackTarget,omitempty"`
	// WarpRouting, when given, is rendered as "warp-routing":{"enabled":…};
	// false is rendered too, so warp routing can be turned off.
	WarpRouting *bool `json:"warpRouting,omitempty"`
	// OriginRequest is the top-level originRequest: defaults for every rule.
	OriginRequest *OriginRequest `json:"originRequest,omitempty"`
}

// Rule is one ingress rule, in the spec and in the output alike.
type Rule struct {
	// Hostname is an exact name or "*.suffix"; empty matches every host.
	Hostname string `json:"hostname,omitempty"`
	// Path is a Go RE2 regular expression matched against the request path;
	// empty matches every path.
	Path    string `json:"path,omitempty"`
	Service string `json:"service"`
	// OriginRequest overrides the top-level defaults for this rule.
	OriginRequest *OriginRequest `json:"originRequest,omitempty"`
}

// OriginRequest carries every originRequest field the Cloudflare API
// accepts. Durations are whole seconds: cloudflare-go parses them with
// strconv.ParseInt, so 1.5 or "30s" would break reading the config back.
type OriginRequest struct {
	ConnectTimeout         *int64   `json:"connectTimeout,omitempty"`
	TLSTimeout             *int64   `json:"tlsTimeout,omitempty"`
	TCPKeepAlive           *int64   `json:"tcpKeepAlive,omitempty"`
	NoHappyEyeballs        *bool    `json:"noHappyEyeballs,omitempty"`
	KeepAliveConnections   *int64   `json:"keepAliveConnections,omitempty"`
	KeepAliveTimeout       *int64   `json:"keepAliveTimeout,omitempty"`
	HTTPHostHeader         *string  `json:"httpHostHeader,omitempty"`
	OriginServerName       *string  `json:"originServerName,omitempty"`
	MatchSNIToHost         *bool    `json:"matchSNItoHost,omitempty"`
	CAPool                 *string  `json:"caPool,omitempty"`
	NoTLSVerify            *bool    `json:"noTLSVerify,omitempty"`
	DisableChunkedEncoding *bool    `json:"disableChunkedEncoding,omitempty"`
	BastionMode            *bool    `json:"bastionMode,omitempty"`
	ProxyAddress           *string  `json:"proxyAddress,omitempty"`
	ProxyPort              *int64   `json:"proxyPort,omitempty"`
	ProxyType              *string  `json:"proxyType,omitempty"`
	IPRules                []IPRule `json:"ipRules,omitempty"`
	HTTP2Origin            *bool    `json:"http2Origin,omitempty"`
	Access                 *Access  `json:"access,omitempty"`
}

// IsZero reports whether no field is set. An empty per-rule originRequest
// means the same as none, so the output drops it.
func (o *OriginRequest) IsZero() bool {
	if o == nil {
		return true
	}
	return o.ConnectTimeout == nil && o.TLSTimeout == nil && o.TCPKeepAlive == nil &&
		o.NoHappyEyeballs == nil && o.KeepAliveConnections == nil && o.KeepAliveTimeout == nil &&
		o.HTTPHostHeader == nil && o.OriginServerName == nil && o.MatchSNIToHost == nil &&
		o.CAPool == nil && o.NoTLSVerify == nil && o.DisableChunkedEncoding == nil &&
		o.BastionMode == nil && o.ProxyAddress == nil && o.ProxyPort == nil &&
		o.ProxyType == nil && len(o.IPRules) == 0 && o.HTTP2Origin == nil && o.Access == nil
}

// IPRule allows or denies a prefix (and optionally ports) for bastion and
// SOCKS proxy services.
type IPRule struct {
	Prefix *string `json:"prefix,omitempty"`
	Ports  []int64 `json:"ports,omitempty"`
	Allow  *bool   `json:"allow,omitempty"`
}

// Access makes cloudflared verify a Cloudflare Access JWT.
type Access struct {
	Required *bool    `json:"required,omitempty"`
	TeamName *string  `json:"teamName,omitempty"`
	AudTag   []string `json:"audTag,omitempty"`
}

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
