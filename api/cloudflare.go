package api

import "encoding/json"

// The fragment specs of the Cloudflare target kinds: what producers send
// (the admin API, the Kubernetes ingest, Terraform) and what the kinds in
// sync/tunnel, sync/dns, sync/access, sync/accessgroup, sync/route,
// sync/vnet, sync/gatewaylist and sync/gatewayrule validate,
// aggregate and flush. They live here, with the other wire types, so every
// producer writes the one shape the kinds read.

// The Cloudflare target kinds.
const (
	KindTunnel              = "cloudflare.Tunnel"
	KindTunnelConfiguration = "cloudflare.TunnelConfiguration"
	KindDNSRecord           = "cloudflare.DNSRecord"
	KindAccessApplication   = "cloudflare.AccessApplication"
	KindNetworkRoute        = "cloudflare.NetworkRoute"
	KindVirtualNetwork      = "cloudflare.VirtualNetwork"
	KindAccessGroup         = "cloudflare.AccessGroup"
	KindAccessServiceToken  = "cloudflare.AccessServiceToken"
	KindGatewayList         = "cloudflare.GatewayList"
	KindGatewayRule         = "cloudflare.GatewayRule"
)

// The tunnel configuration types are both the fragment spec (what producers send)
// and the rendered output (the body of PUT .../cfd_tunnel/{id}/configurations).
// Optional scalars are pointers so that false, 0 and "" are values a
// producer can set, distinct from "not given"; omitempty keeps "not given"
// out of the output. Field order is the canonical output order: change it
// and every target's hash changes (one spurious PUT per tunnel).

// TunnelConfigSpec is one fragment's contribution to a tunnel configuration.
type TunnelConfigSpec struct {
	// Rules are ingress rules. Their order inside the fragment does not
	// matter: the aggregate imposes its own total order.
	Rules []TunnelRule `json:"rules,omitempty"`
	// Settings are tunnel-wide; only a Tunnel or ClusterTunnel source may
	// set them.
	Settings *TunnelSettings `json:"settings,omitempty"`
}

// TunnelSettings are the tunnel-wide parts of a configuration.
type TunnelSettings struct {
	// FallbackTarget is the service of the generated catch-all rule; empty
	// means "http_status:404".
	FallbackTarget string `json:"fallbackTarget,omitempty"`
	// WarpRouting, when given, is rendered as "warp-routing":{"enabled":…};
	// false is rendered too, so warp routing can be turned off.
	WarpRouting *bool `json:"warpRouting,omitempty"`
	// OriginRequest is the top-level originRequest: defaults for every rule.
	OriginRequest *OriginRequest `json:"originRequest,omitempty"`
}

// TunnelRule is one ingress rule, in the spec and in the output alike.
type TunnelRule struct {
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
	ConnectTimeout         *int64         `json:"connectTimeout,omitempty"`
	TLSTimeout             *int64         `json:"tlsTimeout,omitempty"`
	TCPKeepAlive           *int64         `json:"tcpKeepAlive,omitempty"`
	NoHappyEyeballs        *bool          `json:"noHappyEyeballs,omitempty"`
	KeepAliveConnections   *int64         `json:"keepAliveConnections,omitempty"`
	KeepAliveTimeout       *int64         `json:"keepAliveTimeout,omitempty"`
	HTTPHostHeader         *string        `json:"httpHostHeader,omitempty"`
	OriginServerName       *string        `json:"originServerName,omitempty"`
	MatchSNIToHost         *bool          `json:"matchSNItoHost,omitempty"`
	CAPool                 *string        `json:"caPool,omitempty"`
	NoTLSVerify            *bool          `json:"noTLSVerify,omitempty"`
	DisableChunkedEncoding *bool          `json:"disableChunkedEncoding,omitempty"`
	BastionMode            *bool          `json:"bastionMode,omitempty"`
	ProxyAddress           *string        `json:"proxyAddress,omitempty"`
	ProxyPort              *int64         `json:"proxyPort,omitempty"`
	ProxyType              *string        `json:"proxyType,omitempty"`
	IPRules                []OriginIPRule `json:"ipRules,omitempty"`
	HTTP2Origin            *bool          `json:"http2Origin,omitempty"`
	Access                 *OriginAccess  `json:"access,omitempty"`
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

// OriginIPRule allows or denies a prefix (and optionally ports) for bastion and
// SOCKS proxy services.
type OriginIPRule struct {
	Prefix *string `json:"prefix,omitempty"`
	Ports  []int64 `json:"ports,omitempty"`
	Allow  *bool   `json:"allow,omitempty"`
}

// OriginAccess makes cloudflared verify a Cloudflare Access JWT.
type OriginAccess struct {
	Required *bool    `json:"required,omitempty"`
	TeamName *string  `json:"teamName,omitempty"`
	AudTag   []string `json:"audTag,omitempty"`
	// Environment "fed" makes cloudflared fetch the Access keys from the
	// FedRAMP endpoint (<team>.fed.cloudflareaccess.com); anything else
	// means the commercial one.
	Environment *string `json:"environment,omitempty"`
}

// TunnelSpec is a fragment of a cloudflare.Tunnel target: the tunnel to
// ensure exists. The target's name is how configurations, DNS records and
// routes refer to the tunnel (e.g. "ClusterTunnel/edge"); Name is the
// tunnel's name in Cloudflare.
//
//	{"accountId": "0123...", "name": "edge"}
//	{"accountId": "0123...", "name": "edge", "adopt": true}
//	{"accountId": "0123...", "name": "edge", "id": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}
//	{"accountId": "0123...", "name": "edge", "takeOver": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}
//	{"accountId": "0123...", "name": "edge", "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
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
	// TakeOver is the id of a tunnel that the controller conflux-sync
	// replaces created for this producer (e.g. a newTunnel's
	// status.tunnelId). If it exists, it is used without a write and owned
	// as if conflux-sync had created it: deleted with the last fragment, as
	// that controller would have. If it does not, the tunnel is found or
	// created by Name as usual. Not together with ID.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required. The tunnel's configuration, and the DNS records and routes
	// pointing at it that name no Secret of their own, use it too.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// DNSSpec is a cloudflare.DNSRecord fragment: its records in one zone (the
// target's name).
type DNSSpec struct {
	// AccountID is the Cloudflare account of the zone; empty means the only
	// configured account.
	AccountID string      `json:"accountId,omitempty"`
	Records   []DNSRecord `json:"records"`
	// Credentials names the Kubernetes Secret key holding the API token
	// for the zone instead of the server's static credentials. The zone is
	// written with one token: that of the first fragment (lowest
	// CreateIndex) that names one; other fragments may name other Secrets,
	// which are then not used.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// DNSRecord is one DNS record, in a spec and in the target's desired state alike. In Desired every
// default is filled in (TTL 1, proxied false), names are lower-case, types
// upper-case, tags sorted, so equal intents give equal bytes.
type DNSRecord struct {
	// Name is the FQDN, inside the target zone.
	Name string `json:"name"`
	// Type is A, AAAA, CNAME, MX, NS, PTR, TXT or OPENPGPKEY (content
	// types), or CAA, CERT, DNSKEY, DS, HTTPS, LOC, NAPTR, SMIMEA, SSHFP,
	// SRV, SVCB, TLSA or URI (data types).
	Type string `json:"type"`
	// Content is the record value of a content type. Exactly one of
	// Content and Tunnel there; never on a data type, whose content
	// Cloudflare builds from Data.
	Content string `json:"content,omitempty"`
	// Data is the record value of a data type: its fields as the
	// Cloudflare API names them (e.g. SRV {"priority", "weight", "port",
	// "target"}; see docs/api.md for every type). In Desired every field
	// of the type is present, numbers are JSON numbers, host names
	// lower-case without the trailing dot and hex digits lower-case.
	Data map[string]any `json:"data,omitempty"`
	// Tunnel names a cloudflare.Tunnel target (CNAME only): the content
	// becomes "<tunnel id>.cfargotunnel.com" when flushed.
	Tunnel string `json:"tunnel,omitempty"`
	// TTL is 1 (automatic) or 60..86400; 0 means 1.
	TTL     int  `json:"ttl,omitempty"`
	Proxied bool `json:"proxied"`
	// Priority is required for MX and URI and refused otherwise (SRV,
	// HTTPS and SVCB carry theirs in Data).
	Priority *int     `json:"priority,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Adopt takes over an existing record conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// TakeOver is the evidence that an existing record on this name and
	// type was made for this record by the controller conflux-sync
	// replaces. A record it proves is taken over as it stands (no write,
	// not even of the ownership marker) and owned from then on.
	TakeOver *DNSTakeOver `json:"takeOver,omitempty"`
}

// Key names the record as conflicts and waiting parts do: "<name> <TYPE>".
func (r DNSRecord) Key() string { return r.Name + " " + r.Type }

// DNS registries of the controllers conflux-sync takes records over from:
// the TXT records they keep next to the records they made.
const (
	// DNSRegistryCfargotunnel is adyanth/cloudflare-operator's (also
	// StringKe's TunnelBinding): TXT "_managed.<name>" with JSON
	// {"DnsId": <record id>, "TunnelName": ..., "TunnelId": <tunnel id>}.
	DNSRegistryCfargotunnel = "cfargotunnel"
	// DNSRegistrySTRRL is STRRL/cloudflare-tunnel-ingress-controller's: TXT
	// "_ctic_managed.<name>" with content exactly
	// {"controller":"strrl.dev/cloudflare-tunnel-ingress-controller","tunnel":"<tunnel name>"}.
	DNSRegistrySTRRL = "strrl"
)

// Limits of takeover evidence: the kinds validate them, and producers
// that derive evidence from another controller's records trim to them.
const (
	// MaxDNSTakeOverIDs bounds DNSTakeOver.RecordIDs.
	MaxDNSTakeOverIDs = 20
	// MaxRouteTakeOverLen bounds NetworkRouteSpec.TakeOver in characters:
	// a marker at the start of a route comment, which holds no more.
	MaxRouteTakeOverLen = 100
)

// DNSTakeOver is a DNS record's takeover evidence. Either kind proves a
// record that is not conflux-sync's; an empty DNSTakeOver proves nothing
// and is dropped from the canonical form.
type DNSTakeOver struct {
	// RecordIDs are the ids the previous controller recorded for this
	// record (e.g. a StringKe DNSRecord's status.recordId). Sorted and
	// de-duplicated in the canonical form.
	RecordIDs []string `json:"recordIds,omitempty"`
	// Registry names the previous controller's TXT registry
	// (DNSRegistryCfargotunnel or DNSRegistrySTRRL); the record must be a
	// tunnel CNAME, whose tunnel the registry entry must name.
	Registry string `json:"registry,omitempty"`
}

// AccessApplicationSpec is a cloudflare.AccessApplication fragment (and,
// canonicalised, the target's desired state); see docs/api.md.
type AccessApplicationSpec struct {
	AccountID              string   `json:"accountId,omitempty"`
	Name                   string   `json:"name"`
	Domain                 string   `json:"domain"`
	Type                   string   `json:"type,omitempty"`
	SessionDuration        string   `json:"sessionDuration,omitempty"`
	Policies               []string `json:"policies,omitempty"`
	AllowedIdps            []string `json:"allowedIdps,omitempty"`
	AutoRedirectToIdentity bool     `json:"autoRedirectToIdentity,omitempty"`
	// AppLauncherVisible is a pointer so that "absent" can default to true.
	AppLauncherVisible *bool    `json:"appLauncherVisible,omitempty"`
	Tags               []string `json:"tags,omitempty"`

	// The application's other settings, as the API's application object
	// names them (in camelCase). Absent means the API's default. Which
	// types take which field: see docs/api.md.
	AccessApplicationSettings

	Adopt bool   `json:"adopt,omitempty"`
	ID    string `json:"id,omitempty"`
	// TakeOver is the id of an application that the controller
	// conflux-sync replaces created (e.g. StringKe's
	// status.applicationId). If it exists, it is owned as if conflux-sync
	// had created it (updated only where the managed fields differ, deleted
	// with the last fragment); if not, the normal path applies. Not
	// together with ID.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// AccessApplicationSettings are the fields of an Access application
// beyond the basics: destinations, cookies, deny pages, CORS and the SaaS
// (SAML or OIDC) configuration. Booleans whose API default is false are
// plain bools; the pointers are those whose absence means something else
// (httpOnlyCookieAttribute defaults to true; allowAuthenticateViaWarp
// absent follows the account's setting).
type AccessApplicationSettings struct {
	// Destinations are the public hostnames (and paths) and private
	// addresses the application protects; absent means the domain alone.
	Destinations             []AccessDestination `json:"destinations,omitempty"`
	CustomDenyMessage        string              `json:"customDenyMessage,omitempty"`
	CustomDenyURL            string              `json:"customDenyUrl,omitempty"`
	CustomNonIdentityDenyURL string              `json:"customNonIdentityDenyUrl,omitempty"`
	// CustomPages are ids of Access custom pages (sorted in the canonical
	// form).
	CustomPages              []string           `json:"customPages,omitempty"`
	EnableBindingCookie      bool               `json:"enableBindingCookie,omitempty"`
	HTTPOnlyCookieAttribute  *bool              `json:"httpOnlyCookieAttribute,omitempty"`
	SameSiteCookieAttribute  string             `json:"sameSiteCookieAttribute,omitempty"`
	PathCookieAttribute      bool               `json:"pathCookieAttribute,omitempty"`
	LogoURL                  string             `json:"logoUrl,omitempty"`
	OptionsPreflightBypass   bool               `json:"optionsPreflightBypass,omitempty"`
	ServiceAuth401Redirect   bool               `json:"serviceAuth401Redirect,omitempty"`
	SkipInterstitial         bool               `json:"skipInterstitial,omitempty"`
	AllowAuthenticateViaWarp *bool              `json:"allowAuthenticateViaWarp,omitempty"`
	CORSHeaders              *AccessCORSHeaders `json:"corsHeaders,omitempty"`
	// SaaSApp configures a "saas" application (and only one).
	SaaSApp *AccessSaaSApp `json:"saasApp,omitempty"`
}

// AccessDestination is one destination of an Access application: a public
// hostname with an optional path (URI), or a private hostname or CIDR
// reached through a tunnel (optionally with ports, protocol and virtual
// network).
type AccessDestination struct {
	Type       string `json:"type"` // "public" or "private"
	URI        string `json:"uri,omitempty"`
	Hostname   string `json:"hostname,omitempty"`
	CIDR       string `json:"cidr,omitempty"`
	PortRange  string `json:"portRange,omitempty"`
	L4Protocol string `json:"l4Protocol,omitempty"`
	VnetID     string `json:"vnetId,omitempty"`
}

// AccessCORSHeaders are the CORS settings Access answers preflight
// requests with.
type AccessCORSHeaders struct {
	AllowedMethods   []string `json:"allowedMethods,omitempty"`
	AllowedOrigins   []string `json:"allowedOrigins,omitempty"`
	AllowedHeaders   []string `json:"allowedHeaders,omitempty"`
	AllowAllMethods  bool     `json:"allowAllMethods,omitempty"`
	AllowAllHeaders  bool     `json:"allowAllHeaders,omitempty"`
	AllowAllOrigins  bool     `json:"allowAllOrigins,omitempty"`
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	MaxAge           int      `json:"maxAge,omitempty"`
}

// AccessSaaSApp is the SaaS configuration of a "saas" application:
// authType "saml" with the SAML fields, or "oidc" with the OIDC fields.
// What Cloudflare generates (the OIDC client id and secret, the SAML
// entity id, SSO endpoint and public key) is not part of the spec; the
// OIDC client secret is never copied out of Cloudflare's answer, so it
// reaches no log, status, plan or error.
type AccessSaaSApp struct {
	AuthType string `json:"authType"`

	// SAML
	SPEntityID                    string                `json:"spEntityId,omitempty"`
	ConsumerServiceURL            string                `json:"consumerServiceUrl,omitempty"`
	NameIDFormat                  string                `json:"nameIdFormat,omitempty"`
	DefaultRelayState             string                `json:"defaultRelayState,omitempty"`
	CustomAttributes              []AccessSAMLAttribute `json:"customAttributes,omitempty"`
	NameIDTransformJsonata        string                `json:"nameIdTransformJsonata,omitempty"`
	SAMLAttributeTransformJsonata string                `json:"samlAttributeTransformJsonata,omitempty"`

	// OIDC
	RedirectURIs                 []string                 `json:"redirectUris,omitempty"`
	GrantTypes                   []string                 `json:"grantTypes,omitempty"`
	Scopes                       []string                 `json:"scopes,omitempty"`
	AppLauncherURL               string                   `json:"appLauncherUrl,omitempty"`
	GroupFilterRegex             string                   `json:"groupFilterRegex,omitempty"`
	CustomClaims                 []AccessOIDCClaim        `json:"customClaims,omitempty"`
	AllowPKCEWithoutClientSecret bool                     `json:"allowPkceWithoutClientSecret,omitempty"`
	AccessTokenLifetime          string                   `json:"accessTokenLifetime,omitempty"`
	RefreshTokenLifetime         string                   `json:"refreshTokenLifetime,omitempty"`
	HybridAndImplicitOptions     *AccessOIDCHybridOptions `json:"hybridAndImplicitOptions,omitempty"`
}

// AccessSAMLAttribute is one attribute of a SAML assertion.
type AccessSAMLAttribute struct {
	Name         string                `json:"name"`
	NameFormat   string                `json:"nameFormat,omitempty"`
	FriendlyName string                `json:"friendlyName,omitempty"`
	Required     bool                  `json:"required,omitempty"`
	Source       AccessAttributeSource `json:"source"`
}

// AccessOIDCClaim is one custom claim of an OIDC token.
type AccessOIDCClaim struct {
	Name     string                `json:"name"`
	Required bool                  `json:"required,omitempty"`
	Scope    string                `json:"scope,omitempty"`
	Source   AccessAttributeSource `json:"source"`
}

// AccessAttributeSource names the identity provider attribute a SAML
// attribute or OIDC claim is taken from, optionally per provider id.
type AccessAttributeSource struct {
	Name      string            `json:"name"`
	NameByIdP map[string]string `json:"nameByIdp,omitempty"`
}

// AccessOIDCHybridOptions are the OIDC hybrid and implicit flow options.
type AccessOIDCHybridOptions struct {
	ReturnIDTokenFromAuthorizationEndpoint     bool `json:"returnIdTokenFromAuthorizationEndpoint,omitempty"`
	ReturnAccessTokenFromAuthorizationEndpoint bool `json:"returnAccessTokenFromAuthorizationEndpoint,omitempty"`
}

// NetworkRouteSpec is a cloudflare.NetworkRoute fragment (and,
// canonicalised, the target's desired state); see docs/api.md.
type NetworkRouteSpec struct {
	AccountID string `json:"accountId,omitempty"`
	Network   string `json:"network"`
	Tunnel    string `json:"tunnel,omitempty"`
	TunnelID  string `json:"tunnelId,omitempty"`
	// VirtualNetwork names the route's virtual network: a
	// cloudflare.VirtualNetwork target of this cluster, else an existing
	// virtual network of the account with that name; resolved to its id
	// at flush time. Not together with VirtualNetworkID.
	VirtualNetwork   string `json:"virtualNetwork,omitempty"`
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`
	Comment          string `json:"comment,omitempty"`
	Adopt            bool   `json:"adopt,omitempty"`
	// TakeOver is the ownership marker the controller conflux-sync
	// replaces wrote in the comments of its routes, e.g.
	// "[managed:NetworkRoute/edge-route]". A route for this network (and
	// virtual network) whose comment contains it is owned as if
	// conflux-sync had created it, and keeps its comment until the tunnel
	// it points at changes.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials. Without it, a route
	// naming a tunnel target uses that tunnel's credentials. The account
	// must be known: AccountID, or the tunnel's.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// VirtualNetworkSpec is a cloudflare.VirtualNetwork fragment (and,
// canonicalised, the target's desired state); see docs/api.md.
type VirtualNetworkSpec struct {
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	Comment   string `json:"comment,omitempty"`
	// IsDefaultNetwork makes the network the account's default (the one
	// routes naming no virtual network use); the previous default stops
	// being it. false does not take the flag away: the API cannot, only
	// marking another network the default does.
	IsDefaultNetwork bool `json:"isDefaultNetwork,omitempty"`
	// Adopt takes over, as adopted (never deleted), an existing network
	// with this name that conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts exactly this network (it must exist). Not together with
	// TakeOver.
	ID string `json:"id,omitempty"`
	// TakeOver is the id of a network that the controller conflux-sync
	// replaces created (e.g. a status.virtualNetworkId): if it exists, it
	// is owned as if conflux-sync had created it.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// AccessGroupSpec is a cloudflare.AccessGroup fragment (and, canonicalised,
// the target's desired state); see docs/api.md.
//
// Rules are kept as the API's own rule objects (e.g. {"email":{"email":
// "a@example.com"}}, {"everyone":{}}) rather than a Go type per rule: the
// API has two dozen rule types and adds more, and a rule is passed to it
// verbatim. Validation checks each rule's shape only: an object with
// exactly one known rule key whose value is an object.
type AccessGroupSpec struct {
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	// Include: a user matching any of these rules is in the group (at
	// least one is required, as the API requires).
	Include []json.RawMessage `json:"include"`
	// Exclude: a user matching any of these is not in the group.
	Exclude []json.RawMessage `json:"exclude,omitempty"`
	// Require: a user must match all of these as well.
	Require []json.RawMessage `json:"require,omitempty"`
	// Adopt takes over, as adopted (never deleted), an existing group
	// with this name that conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts exactly this group (it must exist). Not together with
	// TakeOver.
	ID string `json:"id,omitempty"`
	// TakeOver is the id of a group that the controller conflux-sync
	// replaces created: if it exists, it is owned as if conflux-sync had
	// created it.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// GatewayListSpec is a cloudflare.GatewayList fragment (and, canonicalised,
// the target's desired state): one Zero Trust Gateway list of an account;
// see docs/api.md.
type GatewayListSpec struct {
	AccountID   string `json:"accountId,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type is SERIAL, URL, DOMAIN, EMAIL or IP; a list's type cannot
	// change (another type replaces the list).
	Type  string            `json:"type"`
	Items []GatewayListItem `json:"items,omitempty"`
	// Adopt takes over, as adopted (never deleted), an existing list with
	// this name that conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts exactly this list (it must exist). Not together with
	// TakeOver.
	ID string `json:"id,omitempty"`
	// TakeOver is the id of a list that the controller conflux-sync
	// replaces created: if it exists, it is owned as if conflux-sync had
	// created it.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// KindAccessPolicy is the cloudflare.AccessPolicy target kind: one
// account-level reusable Access policy.
const KindAccessPolicy = "cloudflare.AccessPolicy"

// AccessPolicySpec is a cloudflare.AccessPolicy fragment (and,
// canonicalised, the target's desired state); see docs/api.md. A reusable
// policy lives in the account (/accounts/{a}/access/policies) and
// applications list it by id, or by this target's name (an
// AccessApplication's policies).
//
// Rules are the API's own rule objects, as in AccessGroupSpec, checked
// for their shape the same way.
type AccessPolicySpec struct {
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	// Decision is allow, deny, non_identity or bypass.
	Decision string `json:"decision"`
	// Include: the policy applies to a user matching any of these (at
	// least one is required, as the API requires).
	Include []json.RawMessage `json:"include"`
	// Exclude: it does not apply to a user matching any of these.
	Exclude []json.RawMessage `json:"exclude,omitempty"`
	// Require: a user must match all of these as well.
	Require []json.RawMessage `json:"require,omitempty"`
	// SessionDuration overrides the application's session for users let
	// in by this policy (a Go duration such as "24h" or "30m"); "" is the
	// API's default, 24h.
	SessionDuration string `json:"sessionDuration,omitempty"`
	// IsolationRequired sends users through Browser Isolation.
	IsolationRequired bool `json:"isolationRequired,omitempty"`
	// PurposeJustificationRequired asks users why they need access;
	// PurposeJustificationPrompt is the question (only with it).
	PurposeJustificationRequired bool   `json:"purposeJustificationRequired,omitempty"`
	PurposeJustificationPrompt   string `json:"purposeJustificationPrompt,omitempty"`
	// ApprovalRequired makes access wait for approvers from
	// ApprovalGroups (at least one group is then required).
	ApprovalRequired bool                  `json:"approvalRequired,omitempty"`
	ApprovalGroups   []AccessApprovalGroup `json:"approvalGroups,omitempty"`
	// ConnectionRules limit what users may do on an infrastructure
	// application's targets (the SSH usernames they may log in as).
	ConnectionRules *AccessConnectionRules `json:"connectionRules,omitempty"`
	// Adopt takes over, as adopted (never deleted), an existing reusable
	// policy with this name that conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts exactly this policy (it must exist). Not together with
	// TakeOver.
	ID string `json:"id,omitempty"`
	// TakeOver is the id of a policy that the controller conflux-sync
	// replaces created (e.g. StringKe's status.policyId): if it exists, it
	// is owned as if conflux-sync had created it.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// GatewayListItem is one entry of a Gateway list; values are unique in a
// list.
type GatewayListItem struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// GatewayRuleSpec is a cloudflare.GatewayRule fragment: one producer's
// Gateway rules for the account (or the rule set) the target names. The
// rules of every fragment of a target are merged into one ordered list;
// see docs/api.md for the order and for conflicts.
type GatewayRuleSpec struct {
	AccountID string `json:"accountId,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef    `json:"credentials,omitempty"`
	Rules       []GatewayRule `json:"rules"`
}

// GatewayRule is one Zero Trust Gateway rule.
type GatewayRule struct {
	// Name is unique among the rules of a target: it is how the rule is
	// found again downstream.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Action is what the rule does (allow, block, safesearch, …); which
	// actions a filter takes is checked.
	Action string `json:"action"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Filters is the one traffic type the rule applies to: dns, http, l4,
	// egress or dns_resolver.
	Filters []string `json:"filters"`
	// Traffic, Identity and DevicePosture are wirefilter expressions. A
	// list is named $<GatewayList target name> (or ${<name>} for a name
	// with characters other than letters, digits, '_', '-' and '.'), or
	// by its id ($ and the id's 32 hex digits).
	Traffic       string `json:"traffic,omitempty"`
	Identity      string `json:"identity,omitempty"`
	DevicePosture string `json:"devicePosture,omitempty"`
	// Precedence, when set, places the rule among the explicitly placed
	// ones (lowest first); rules without it follow, in fragment order.
	Precedence *uint64 `json:"precedence,omitempty"`
	// RuleSettings is the API's rule_settings object, passed through
	// (its members are checked against the client's known fields).
	RuleSettings json.RawMessage `json:"ruleSettings,omitempty"`
	// Schedule is the API's schedule object (DNS rules only).
	Schedule json.RawMessage `json:"schedule,omitempty"`
	// TakeOver is the id of a rule the controller conflux-sync replaces
	// created: while no rule of the target has this name, that rule
	// becomes this one (updated and marked), instead of a new one.
	TakeOver string `json:"takeOver,omitempty"`
}

// AccessApprovalGroup is one group of approvers of an Access policy:
// email addresses, or an email list by id, and how many of them must
// approve.
type AccessApprovalGroup struct {
	EmailAddresses  []string `json:"emailAddresses,omitempty"`
	EmailListUUID   string   `json:"emailListUuid,omitempty"`
	ApprovalsNeeded int      `json:"approvalsNeeded"`
}

// AccessConnectionRules are an Access policy's rules for connections to
// infrastructure targets.
type AccessConnectionRules struct {
	SSH *AccessSSHRules `json:"ssh,omitempty"`
}

// AccessSSHRules: the UNIX usernames a user may log in as, and whether
// the user's email alias (the part before @) is one more.
type AccessSSHRules struct {
	Usernames       []string `json:"usernames"`
	AllowEmailAlias bool     `json:"allowEmailAlias,omitempty"`
}

// AccessServiceTokenSpec is a cloudflare.AccessServiceToken fragment (and
// the target's desired state); see docs/api.md.
//
// A service token's client secret is answered only when the token is
// created or rotated: the spec says where the flush delivers it (a
// Kubernetes Secret, a file on the leader's node, or both); it never
// enters the log. A delivery that was lost (a crash between the create and
// the write, a new leader without the file, a Secret deleted by hand) is
// repaired by rotating the token and delivering the new secret.
type AccessServiceTokenSpec struct {
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	// Duration is how long the token is valid from its creation or last
	// refresh: hours ("8760h", the API's default when empty) or "forever".
	Duration string `json:"duration,omitempty"`
	// RefreshBefore, when set (e.g. "720h"), refreshes the token (extends
	// its expiry by Duration, same secret) once it expires within that
	// long. Empty never refreshes.
	RefreshBefore string `json:"refreshBefore,omitempty"`
	// Secret is the Kubernetes Secret the client id and secret are written
	// to.
	Secret *ServiceTokenSecret `json:"secret,omitempty"`
	// File is an absolute path on the leader's node the credentials are
	// written to (mode 0600, JSON {"client_id","client_secret"}).
	File string `json:"file,omitempty"`
	// TakeOver is the id of a token that the controller conflux-sync
	// replaces created: if it exists, it is owned as if conflux-sync had
	// created it.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// ServiceTokenSecret is the Kubernetes Secret a service token's
// credentials are delivered to; empty keys are CF_ACCESS_CLIENT_ID and
// CF_ACCESS_CLIENT_SECRET (what cloudflare-operator's users read).
type ServiceTokenSecret struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ClientIDKey     string `json:"clientIdKey,omitempty"`
	ClientSecretKey string `json:"clientSecretKey,omitempty"`
}

// KindAccessIdentityProvider is the Access identity provider kind.
const KindAccessIdentityProvider = "cloudflare.AccessIdentityProvider"

// AccessIdentityProviderSpec is a cloudflare.AccessIdentityProvider
// fragment (and the target's desired state); see docs/api.md.
//
// Config is the API's own config object (its snake_case field names, e.g.
// client_id, auth_url, claims) without the secret fields: those
// (client_secret, api_token) come from Kubernetes Secret keys named in
// Secrets and are read when the leader flushes, never stored in the log.
type AccessIdentityProviderSpec struct {
	AccountID string `json:"accountId,omitempty"`
	Name      string `json:"name"`
	// Type is the API's type: onetimepin, azureAD, saml, centrify,
	// facebook, github, google-apps, google, linkedin, oidc, okta,
	// onelogin, pingone, yandex.
	Type   string                     `json:"type"`
	Config map[string]json.RawMessage `json:"config,omitempty"`
	// Secrets maps a secret config field (client_secret, api_token) to
	// the Secret key holding its value.
	Secrets map[string]SecretRef `json:"secrets,omitempty"`
	// ObjectSecrets maps a secret config field to the field of a
	// Kubernetes object holding its value inline (an upstream manifest's
	// spec.config.clientSecret); read when the leader flushes, like
	// Secrets. A field is in Secrets or here, not both.
	ObjectSecrets map[string]ObjectFieldRef   `json:"objectSecrets,omitempty"`
	ScimConfig    *AccessIdentityProviderScim `json:"scimConfig,omitempty"`
	// Adopt takes over, as adopted (never deleted), an existing provider
	// with this name that conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
	// ID adopts exactly this provider (it must exist). Not together with
	// TakeOver.
	ID string `json:"id,omitempty"`
	// TakeOver is the id of a provider that the controller conflux-sync
	// replaces created: if it exists, it is owned as created.
	TakeOver string `json:"takeOver,omitempty"`
	// Credentials names the Kubernetes Secret key holding the API token to
	// use instead of the server's static credentials; AccountID is then
	// required.
	Credentials *SecretRef `json:"credentials,omitempty"`
}

// AccessIdentityProviderScim is an identity provider's SCIM provisioning
// settings (the API's scim_config, without the secret the API makes).
type AccessIdentityProviderScim struct {
	Enabled                bool   `json:"enabled,omitempty"`
	UserDeprovision        bool   `json:"userDeprovision,omitempty"`
	SeatDeprovision        bool   `json:"seatDeprovision,omitempty"`
	GroupMemberDeprovision bool   `json:"groupMemberDeprovision,omitempty"`
	IdentityUpdateBehavior string `json:"identityUpdateBehavior,omitempty"`
}
