// Package cfapi is what the Cloudflare kinds share: one cloudflare-go client
// per account with the client's own retries and rate limiting switched off
// (the sync engine owns both), the per-account token bucket every request
// waits on, the classification of downstream errors into retryable (with
// Retry-After) and permanent ones, API tokens loaded from a file or the
// environment or (per target) from Kubernetes Secrets the fragments name,
// the ownership marker, the one rule for "created or adopted" (Created),
// and the lookup of a tunnel's id and name through the recorded status of
// its cloudflare.Tunnel target.
//
// # Two clients: cloudflare-go v0 and v6
//
// Every Account carries two clients of the same token: API, cloudflare-go
// v0.119 (hand-written, some endpoints missing or fields dropped), and V6,
// cloudflare-go v6 (generated from Cloudflare's OpenAPI schema). Both send
// through one *http.Client whose transport does what the kinds rely on:
// the account's token bucket, the leadership check and the dry-run
// refusal before every write, the current token of a rotated static
// account (SetCredentials), the request counter, and the status,
// Retry-After and error_chain Call reads. Both have their own retries off
// (the engine retries) and send User-Agent conflux-sync; the v6 one is
// built from its service constructors, not cloudflare.NewClient, so
// nothing is read from CLOUDFLARE_* environment variables.
//
// cloudflare.VirtualNetwork (sync/vnet, and FindVirtualNetwork here) uses
// v6. Every other kind still uses v0: Tunnel and TunnelConfiguration
// (sync/tunnel, tunnelref.go), DNSRecord (sync/dns, ZoneID), the Access
// kinds (sync/access, sync/accessgroup, sync/accesspolicy,
// sync/servicetoken, sync/identityprovider, policyref.go) and
// GatewayRule (sync/gatewayrule, apart from its lookup of the account's
// Gateway lists by name, the list kind's call).
//
// cloudflare.NetworkRoute (sync/route) and cloudflare.GatewayList
// (sync/gatewaylist) use v6 too. Two things in v6 needed care there (see
// their docs): ListAutoPaging sends the pages after the first with
// context.Background(), out of reach of cancellation and of Call's view
// of the status and Retry-After, so those kinds ask for each page
// themselves; and the Gateway list items call expects a list of lists
// and reads one page, so its pages are asked for with page and per_page
// request options and each raw result is decoded into v6's GatewayItem.
//
// Moving a kind to v6, the way sync/vnet moved:
//
//  1. Its object type becomes v6's (e.g. zero_trust.VirtualNetwork for
//     cloudflare.TunnelVirtualNetwork) in owned.Kind[S, O] and in Ref,
//     IDs, Diff, Pick and Moved. v6 answers absent or null values as Go
//     zero values: a time that may be null (deleted_at) is tested with
//     IsZero, not against nil; where "absent" and "zero" differ, the
//     field's JSON metadata (obj.JSON.Field.IsNull(), IsMissing()) tells.
//  2. Its calls become the service's: a.V6.ZeroTrust.… (or a service
//     built from a.V6.Options, e.g. dns.NewRecordService(a.V6.Options...)).
//     Every parameter is a param.Field set with cloudflare.F (v6's root
//     package): only fields set are sent, so a PATCH sends what the kind
//     sets and nothing else, and false or "" are sent when set with F.
//     The account is a parameter (AccountID: cloudflare.F(a.ID)), not a
//     ResourceContainer. Calls return pointers: copy the result out
//     inside the Call closure when it is not nil.
//  3. Use the single reads v6 has (Get by id) where v0 listed with a
//     filter, through cfapi.Get (a 404 is nil, nil). Lists return one page
//     (List) or every page (cfapi.EveryPage over List, not ListAutoPaging,
//     which reads the pages after the first without the flush's context).
//  4. Errors need nothing new: Call, Get, IgnoreNotFound, StatusOf,
//     HasCode and ReasonOf take v6's *cloudflare.Error as they take v0's,
//     with the same classes (4xx but 429 permanent; 429, 5xx and no answer
//     retryable with the API's Retry-After), the same message for the same
//     answer ("what: message (code)"; v0's fixed texts for a 429 and a
//     5xx), and a rejected Secret token named the same way.
//  5. Dry run and leadership need nothing either: the shared transport
//     refuses a v6 write in a dry run and checks leadership before it.
//  6. The kind's tests stay as they are: they drive the flush through
//     cfapitest.Flow and edit by hand with the v0 Human client, which is
//     another client of the same API. The emulator must serve every
//     endpoint the kind now calls (v6 has reads v0 lacked; add them to the
//     emulator with a call in its schema suite).
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
