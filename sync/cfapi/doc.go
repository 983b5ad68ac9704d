// Package cfapi is what the Cloudflare kinds share: one cloudflare-go client
// per account with the client's own retries and rate limiting switched off
// (the sync engine owns both), the per-account token bucket every request
// waits on, the classification of downstream errors into retryable (with
// Retry-After) and permanent ones, API tokens loaded from a file or the
// environment or (per target) from Kubernetes Secrets the fragments name,
// the ownership marker, the one rule for "created or adopted" (Created),
// and the lookup of a tunnel's id and name through the recorded status of
// its cloudflare.Tunnel target.
package cfapi

import "github.com/conflux-sync/conflux-sync/api"

// Target kinds of the Cloudflare sink (named in package api, with their
// specs). Kinds refer to each other: a tunnel configuration, a DNS CNAME
// and a network route all name a cloudflare.Tunnel target.
const (
	KindTunnel              = api.KindTunnel
	KindTunnelConfiguration = api.KindTunnelConfiguration
	KindDNSRecord           = api.KindDNSRecord
	KindAccessApplication   = api.KindAccessApplication
	KindNetworkRoute        = api.KindNetworkRoute
	KindVirtualNetwork      = api.KindVirtualNetwork
	KindAccessGroup         = api.KindAccessGroup
	KindGatewayList         = api.KindGatewayList
	KindGatewayRule         = api.KindGatewayRule
	KindAccessServiceToken  = api.KindAccessServiceToken
)

// KindAccessIdentityProvider is the Access identity provider kind.
const KindAccessIdentityProvider = api.KindAccessIdentityProvider

// Keys of the downstream ids recorded in a cloudflare.Tunnel target's
// status (see also IDCredentials).
const (
	IDAccount = "accountId"
	IDTunnel  = "tunnelId"
	// IDCreated is "true" when conflux-sync created the tunnel (and so may
	// delete it); adopted tunnels are never deleted. The Access
	// application and network route kinds record it with the same meaning;
	// read it through Created.
	IDCreated = "created"
	// IDTunnelName is the tunnel's name in Cloudflare, which can differ
	// from the spec's when the tunnel was adopted by id.
	IDTunnelName = "tunnelName"
)

// KindAccessPolicy is the reusable Access policy kind; an Access
// application names such a target in its policies.
const KindAccessPolicy = api.KindAccessPolicy
