// Package cloudflare is an in-memory HTTP double of the Cloudflare v4 API,
// faithful enough for the unmodified cloudflare-go v0.119.0 client pointed at
// it with cloudflare.BaseURL(srvURL + "/client/v4"). Its answers are held to
// Cloudflare's OpenAPI schema by TestSchemaFidelityV6, which decodes every
// route's answer with cloudflare-go v6's generated types and names each
// field deliberately left out. It imports only the standard library. New keeps all state in memory; Open with
// Config.StateFile also loads it from and saves it to a JSON file.
//
// Covered endpoints (relative to /client/v4):
//
//	GET    /zones, /zones/{zone}
//	GET    /zones/{zone}/dns_records[/{id}], POST, PATCH, PUT, DELETE, POST .../batch
//	GET    /accounts/{a}/cfd_tunnel[/{id}], POST, DELETE, GET .../{id}/token
//	GET    /accounts/{a}/cfd_tunnel/{id}/configurations, PUT
//	GET    /accounts/{a}/access/apps[/{id}], POST, PUT (full replace), DELETE
//	GET    /accounts/{a}/access/groups[/{id}], POST, PUT (full replace), DELETE
//	GET    /accounts/{a}/access/policies[/{id}], POST, PUT (full replace), DELETE (reusable policies)
//	GET    /accounts/{a}/access/service_tokens[/{id}], POST, PUT, DELETE, POST .../{id}/refresh, .../{id}/rotate
//	GET    /accounts/{a}/access/identity_providers[/{id}], POST, PUT (full replace), DELETE
//	       /accounts/{a}/teamnet/routes (list, by id, by CIDR with %2F, by IP)
//	GET    /accounts/{a}/teamnet/virtual_networks[/{id}], POST, PATCH .../{id}, DELETE .../{id}
//	GET    /accounts/{a}/gateway/lists[/{id}], POST, PUT, PATCH (append/remove), DELETE, GET .../{id}/items
//	GET    /accounts/{a}/gateway/rules[/{id}], POST, PUT (full replace), DELETE
//
// Gateway lists are answered without their items (count says how many);
// the items come from .../items in pages (50 by default, 1000 at most). A
// list's type is SERIAL, URL, DOMAIN, EMAIL or IP and cannot change; item
// values are checked for the type and unique in a list. A PUT replaces the
// name and description, and the items only when the body has them; a
// PATCH removes, then appends (a value still present is refused). A list
// that a rule's expression refers to ($ and the list id without dashes)
// cannot be deleted (400/2002). Gateway rules have exactly one filter (dns, http,
// l4, egress, dns_resolver) and an action that filter takes (dns: allow,
// block, override, safesearch, ytrestricted; http: allow, block, on, off,
// scan, noscan, isolate, noisolate; l4: allow, block, audit_ssh,
// l4_override; egress: egress; dns_resolver: resolve), a schedule only on
// dns rules, and expressions naming only lists the account has;
// rule_settings and schedule round-trip as sent; a PUT bumps version; the
// listing is by precedence, in one page. Every Gateway refusal is
// 400/2001 with a message naming the field, an unknown id 404/2007 (codes
// chosen here; the real API's were not confirmed).
//
// Every account has one default virtual network ("default"), created on
// first use and saved at once; routes that name no virtual network use it.
// Virtual networks, like tunnels and routes, are soft-deleted and listings
// default to active ones (is_deleted omitted = false). A create takes the
// default flag as is_default (what cloudflare-go v0 sends) or
// is_default_network, and moves it from the old default. PATCHes of routes and
// virtual networks keep absent fields and apply present ones, so
// "comment":"" clears a comment. An Access app PUT replaces the app: absent
// fields return to their defaults, except an absent policies list, which
// keeps the current policies as cloudflare-go documents. Access apps
// answer with the API's defaults per schema (self_hosted, ssh and vnc:
// session_duration "24h", destinations [the domain], the cookie and
// bypass flags false, http_only_cookie_attribute true; every type:
// app_launcher_visible true) and refuse with 400/12130 an unknown type, a
// self-hosted app without a domain or public destination (whose first
// becomes the domain), a self-hosted setting on a saas or bookmark app,
// saas_app missing on saas or present elsewhere, an auth_type other than
// saml or oidc, options_preflight_bypass with cors_headers and an
// unknown same_site_cookie_attribute. A saas app's domain and its
// saas_app's generated fields (OIDC client_id and client_secret; SAML
// idp_entity_id, sso_endpoint, public_key, and name_id_format "email"
// when absent) are the server's, kept over a PUT that keeps auth_type. Access groups
// keep their rules as sent; a create or PUT without a name, without an
// include rule, or with a rule that is not an object with one known rule
// key (whose value is an object) is refused with 400/12130 (the code the
// emulator uses for every Access refusal; the real API's codes for these
// were not confirmed), an unknown id is 404/12130. Reusable Access policies keep
// their fields as sent and answer the API's defaults for absent ones
// (session_duration "24h", false flags, empty lists), "reusable":true and
// app_count (the applications listing the policy); a body without a
// name, with a decision other than allow, deny, non_identity or bypass,
// without an include rule, with a badly shaped rule, a session_duration
// that is not a Go duration, or approval_required without
// approval_groups is refused with 400/12130; deleting a policy an
// application still lists is refused with 400/12130 (the real API
// refuses it too; its exact code and message were not confirmed). DNS records get the real same-name
// rules (81053/81054/81056/81058) and proxied A/AAAA records to private,
// loopback, link-local, CGNAT or 1.1.1.1-style targets are refused with
// 1004/9003 (and report "proxiable":false), in the batch endpoint too.
//
// Structured DNS records (CAA, CERT, DNSKEY, DS, HTTPS, LOC, NAPTR, SMIMEA,
// SRV, SSHFP, SVCB, TLSA, URI) take a data object with the API's field
// names (recordData): each missing field is one 400/9101 error "<field> is
// a required data field." as the API answers; a value of the wrong type or
// out of range is 400/9102 (the emulator's code: the API's was not
// confirmed). The content is built from the data in zone-file order (SRV
// "priority weight port target", CAA `flags tag "value"`, LOC with its
// decimals and metres), data is echoed with every field, and SRV also
// returns the deprecated top-level priority. A PATCH with data replaces the
// whole data object; one without keeps it. The type filter and pagination
// of the list cover them like every record.
//
// Access service tokens answer client_secret to the create and the
// rotate only (reads, lists, updates and refreshes never carry it); a
// rotate voids the old secret at once and bumps client_secret_version. A
// duration is a Go-style duration ("8760h", the default when absent) or
// "forever" (no expires_at); anything else, or a missing name, is
// 400/12130. The list filters by name and pages (default and maximum
// per_page 1000, chosen here). A PUT sets name and duration without
// moving the expiry; a refresh restarts the duration from now.
// SetServiceTokenExpiry moves an expiry from Go, as time passing would.
// Access identity providers take a type the API lists and the config
// fields each type requires (from the API's per-type schemas); an unknown
// type or config field, a missing required field, a bad
// scim_config.identity_update_behavior or a second onetimepin provider is
// 400/12130. client_secret and api_token are answered as "**********"
// (the mask is chosen here), and a PUT sending the mask back keeps the
// stored secret; IdentityProviders shows them in clear from Go.
//
// Every account-level kind (Access, Gateway, tunnels, routes, virtual
// networks) is one collection (collection.go) and answers alike where the
// API does: an account the token does not cover is 403/10000, an unknown
// id the kind's 404, and a paged list reads page and per_page leniently
// (a missing or bad value is the default, per_page is clamped to the
// kind's maximum, a page past the end is an empty list with the true
// total_pages), filtering before it pages. Gateway lists and rules are
// answered in one page whatever page and per_page say.
//
// Test-only endpoints under /__emulator/ need no token: POST/DELETE
// /__emulator/faults and GET /__emulator/requests; Server.AddFault,
// ClearFaults, Requests and Reset do the same from Go. /__emulator/tokens
// rotates API tokens at run time, as the dashboard does: POST
// {"token", "accounts"} adds one, DELETE {"token"} revokes one at once, GET
// lists each token's requests, writes and refusals by fingerprint (never
// the token); Server.AddToken, RevokeToken and TokenUses from Go.
//
// Persistence (Open): the file holds accounts, zones, DNS records, tunnels
// (secrets and deleted ones included), tunnel configurations and versions,
// Access apps, groups, reusable policies, service tokens and identity
// providers (with their secrets, as Cloudflare keeps them), routes and
// virtual networks (deleted ones included), Gateway lists (with items) and
// rules, as
// {"version":1,...}. Files written before virtual networks were saved load
// fine: their default_virtual_network_id becomes the default network and
// other vnet ids named by routes become networks "vnet-<id prefix>".
// Tokens, faults, rate-limit windows and request counts are not saved.
// Every successful non-GET API call, seeding helper (AddZone, AddAccount,
// AddVirtualNetwork), SetTunnelConfig and Reset rewrites the file
// atomically (temporary file, fsync, rename) under the server lock, before
// the response is sent; if that write fails the call answers 500/10002 and
// the change stays in memory only. A corrupt file or unknown version makes
// Open fail; a missing one starts empty and is created on the first write.
// Save writes it on demand, for callers that must see the seeding helpers'
// write errors (those are only logged).
//
// Inspection and out-of-band edits from Go, bypassing tokens, faults and
// counts: Zones, DNSRecords, Tunnels (deleted included), TunnelConfig,
// AccessApps, Routes, VirtualNetworks (deleted included), GatewayLists and
// GatewayRules return copies;
// SetTunnelConfig replaces a configuration as a dashboard edit would,
// bumping its version, so drift can be simulated.
//
// Error codes whose real value is not documented and were chosen here:
// tunnel duplicate name 409/1013 (taken from third-party fakes), unknown
// tunnel or route 404/1003, bad request bodies and secrets 400/1001,
// duplicate route 409/1014, oversize DNS batch 400/1004, non-integer tunnel
// durations 400/1001, route naming an unknown (or deleted) virtual network
// 400/1001 (like an unknown tunnel), unknown virtual network in the path
// 404/1003, duplicate virtual network name 409/1014, deleting the default
// virtual network or one that still has routes 400/1001, un-defaulting the
// default network 400/1001, injected faults code 10001 (971 for 429), state file
// write failures 500/10002.
package cloudflare
