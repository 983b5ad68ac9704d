package translate

import "github.com/conflux-sync/conflux-sync/api"

// The structs below are the JSON shapes the target kinds accept (sync/tunnel,
// sync/dns, sync/access, sync/route), written out again because ingest may
// not import sync. The tests check every fragment against the real kinds.

// Target kinds fragments are written to.
const (
	KindTunnel              = "cloudflare.Tunnel"
	KindTunnelConfiguration = "cloudflare.TunnelConfiguration"
	KindDNSRecord           = "cloudflare.DNSRecord"
	KindAccessApplication   = "cloudflare.AccessApplication"
	KindNetworkRoute        = "cloudflare.NetworkRoute"
)

// tunnelSpec is a cloudflare.Tunnel fragment.
type tunnelSpec struct {
	AccountID   string         `json:"accountId,omitempty"`
	Name        string         `json:"name"`
	Adopt       bool           `json:"adopt,omitempty"`
	ID          string         `json:"id,omitempty"`
	Credentials *api.SecretRef `json:"credentials,omitempty"`
}

// configSpec is a cloudflare.TunnelConfiguration fragment.
type configSpec struct {
	Rules    []rule    `json:"rules,omitempty"`
	Settings *settings `json:"settings,omitempty"`
}

type settings struct {
	FallbackTarget string         `json:"fallbackTarget,omitempty"`
	WarpRouting    *bool          `json:"warpRouting,omitempty"`
	OriginRequest  *originRequest `json:"originRequest,omitempty"`
}

type rule struct {
	Hostname      string         `json:"hostname,omitempty"`
	Path          string         `json:"path,omitempty"`
	Service       string         `json:"service"`
	OriginRequest *originRequest `json:"originRequest,omitempty"`
}

// originRequest: durations are whole seconds.
type originRequest struct {
	ConnectTimeout         *int64  `json:"connectTimeout,omitempty"`
	TLSTimeout             *int64  `json:"tlsTimeout,omitempty"`
	TCPKeepAlive           *int64  `json:"tcpKeepAlive,omitempty"`
	NoHappyEyeballs        *bool   `json:"noHappyEyeballs,omitempty"`
	KeepAliveConnections   *int64  `json:"keepAliveConnections,omitempty"`
	KeepAliveTimeout       *int64  `json:"keepAliveTimeout,omitempty"`
	HTTPHostHeader         *string `json:"httpHostHeader,omitempty"`
	OriginServerName       *string `json:"originServerName,omitempty"`
	MatchSNIToHost         *bool   `json:"matchSNItoHost,omitempty"`
	CAPool                 *string `json:"caPool,omitempty"`
	NoTLSVerify            *bool   `json:"noTLSVerify,omitempty"`
	DisableChunkedEncoding *bool   `json:"disableChunkedEncoding,omitempty"`
	BastionMode            *bool   `json:"bastionMode,omitempty"`
	ProxyAddress           *string `json:"proxyAddress,omitempty"`
	ProxyPort              *int64  `json:"proxyPort,omitempty"`
	ProxyType              *string `json:"proxyType,omitempty"`
	HTTP2Origin            *bool   `json:"http2Origin,omitempty"`
}

func (o *originRequest) isZero() bool { return o == nil || *o == (originRequest{}) }

// orNil returns nil for an empty originRequest (the kinds treat it as none).
func (o *originRequest) orNil() *originRequest {
	if o.isZero() {
		return nil
	}
	return o
}

// dnsSpec is a cloudflare.DNSRecord fragment; the target name is the zone.
type dnsSpec struct {
	AccountID   string         `json:"accountId,omitempty"`
	Records     []dnsRecord    `json:"records"`
	Credentials *api.SecretRef `json:"credentials,omitempty"`
}

type dnsRecord struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Content  string   `json:"content,omitempty"`
	Tunnel   string   `json:"tunnel,omitempty"`
	TTL      int      `json:"ttl,omitempty"`
	Proxied  bool     `json:"proxied"`
	Priority *int     `json:"priority,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Adopt    bool     `json:"adopt,omitempty"`
}

// accessSpec is a cloudflare.AccessApplication fragment.
type accessSpec struct {
	AccountID              string         `json:"accountId,omitempty"`
	Name                   string         `json:"name"`
	Domain                 string         `json:"domain"`
	Type                   string         `json:"type,omitempty"`
	SessionDuration        string         `json:"sessionDuration,omitempty"`
	Policies               []string       `json:"policies,omitempty"`
	AllowedIdps            []string       `json:"allowedIdps,omitempty"`
	AutoRedirectToIdentity bool           `json:"autoRedirectToIdentity,omitempty"`
	AppLauncherVisible     *bool          `json:"appLauncherVisible,omitempty"`
	Tags                   []string       `json:"tags,omitempty"`
	Adopt                  bool           `json:"adopt,omitempty"`
	ID                     string         `json:"id,omitempty"`
	Credentials            *api.SecretRef `json:"credentials,omitempty"`
}

// routeSpec is a cloudflare.NetworkRoute fragment.
type routeSpec struct {
	AccountID        string         `json:"accountId,omitempty"`
	Network          string         `json:"network"`
	Tunnel           string         `json:"tunnel,omitempty"`
	TunnelID         string         `json:"tunnelId,omitempty"`
	VirtualNetworkID string         `json:"virtualNetworkId,omitempty"`
	Comment          string         `json:"comment,omitempty"`
	Adopt            bool           `json:"adopt,omitempty"`
	Credentials      *api.SecretRef `json:"credentials,omitempty"`
}
