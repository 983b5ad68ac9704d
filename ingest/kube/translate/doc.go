// Package translate turns Kubernetes objects (Ingress, HTTPRoute and the
// cloudflare-operators' CRDs of networking.cloudflare-operator.io and
// networking.cfargotunnel.com) into conflux-sync fragments. It is
// pure: everything besides the object comes from a Lookup over the
// informers' caches, so the same object and caches always give the same
// fragments, byte for byte.
//
// Every function returns the object's complete fragment set (sorted by
// target key, each with the object's metadata.generation, 1 if unset), or
// Problems and no fragments at all. Conflicts between objects are not
// decided here: the target kinds' aggregation does that.
//
// # What each object becomes
//
//	Tunnel, ClusterTunnel  cloudflare.Tunnel             Tunnel/<ns>/<name>, ClusterTunnel/<name> (adyanth's: Tunnel.networking.cfargotunnel.com/<ns>/<name> ...)
//	                       cloudflare.TunnelConfiguration  (same name) {"settings": {...}}, no rules
//	Ingress, HTTPRoute,    cloudflare.TunnelConfiguration  the tunnel's target {"rules": [...]}
//	TunnelBinding          cloudflare.DNSRecord          <tunnel's cloudflare.domain> one proxied CNAME per hostname
//	DNSRecord              cloudflare.DNSRecord          <zone> its record(s)
//	AccessApplication      cloudflare.AccessApplication  AccessApplication/<ns>/<name>
//	NetworkRoute           cloudflare.NetworkRoute       NetworkRoute/<name> (NetworkRoute/<ns>/<name> if namespaced)
//	AccessPolicy           cloudflare.AccessPolicy       AccessPolicy/<name>
//	VirtualNetwork         cloudflare.VirtualNetwork     VirtualNetwork/<name> (VirtualNetworkTarget)
//	AccessGroup            cloudflare.AccessGroup        AccessGroup/<name> (AccessGroupTarget)
//	GatewayList            cloudflare.GatewayList        GatewayList/<name>
//	GatewayRule            cloudflare.GatewayRule        GatewayRule/<account>[/<Secret ns>/<name>/<key>] (one rule set)
//	AccessServiceToken     cloudflare.AccessServiceToken AccessServiceToken/<ns>/<name>
//	AccessIdentityProvider cloudflare.AccessIdentityProvider AccessIdentityProvider/<name>
//	CloudflareCredentials, TunnelIngressClassConfig, TunnelGatewayClassConfig: checked, no fragments
//	PrivateService, AccessTunnel: read, not synced (one Unsupported problem)
//
// # Tunnels and the two API groups
//
// Tunnel, ClusterTunnel and TunnelBinding objects of both cloudflare-operator
// groups are read alike (their schemas are the same but for fields that
// configure the operators' cloudflared Deployments). The objects of
// adyanth's group networking.cfargotunnel.com are sources of their own:
// SourceKind qualifies their kind with the group, so a Tunnel "edge" of
// each group are two tunnels, and a TunnelBinding's tunnelRef names a
// tunnel of its own group. A newTunnel whose status already has a tunnelId
// (written by the operator that created the tunnel) takes that tunnel over;
// an existingTunnel adopts the tunnel of its id (or else its name). size,
// image, nodeSelectors, tolerations, deployPatch and protocol configure
// cloudflared's Deployment, which conflux-sync does not run: they are
// reported in Result.Degraded.
//
// A TunnelBinding becomes what the operators made of it: one rule per
// subject, hostname spec.fqdn or <service>.<tunnel's domain>, service
// spec.target or <protocol>://<service>.<namespace>.svc:<first port> (the
// protocol as written when it is http, https, tcp, udp, ssh, rdp or smb,
// else from the port: 22 ssh, 139/445 smb, 443 https, 3389 rdp, a UDP
// port udp, else http), noTLSVerify and http2Origin written into every
// rule (false included, so a rule keeps overriding a tunnel-wide
// noTlsVerify as it did), and a proxied CNAME per hostname unless
// tunnelRef.disableDNSUpdates, taken over from the operators' _managed TXT
// registry.
//
// # Credentials
//
// As cloudflare-operator resolves them: spec.cloudflare.credentialsRef (a
// CloudflareCredentials: its secretRef, default namespace
// Options.Namespace, key apiTokenKey, default CLOUDFLARE_API_TOKEN, and
// its accountId and defaultDomain), else spec.cloudflare.secret (a Secret
// in the object's namespace — for a ClusterTunnel or a cluster-scoped
// object, conflux-sync's own namespace, Options.Namespace — holding an API
// token under the key spec.cloudflare.CLOUDFLARE_API_TOKEN, default
// "CLOUDFLARE_API_TOKEN"), else the one CloudflareCredentials marked
// isDefault. Fragments carry the reference {"namespace","name","key"} as
// "credentials", never the token. Objects using rules of a tunnel
// (Ingress, HTTPRoute, TunnelBinding, and DNSRecord and NetworkRoute
// without their own spec.cloudflare) use the tunnel's reference. Global API
// keys (CLOUDFLARE_API_KEY with email, authType globalAPIKey) are
// Unsupported: conflux-sync uses API tokens only. The target kinds need
// the account id with a token: spec.cloudflare.accountId, else the
// CloudflareCredentials'; an account known only by accountName is
// Unsupported (it is not looked up). zoneId is read through the
// CloudflareDomain that has it (zones are found by name). email and
// CLOUDFLARE_TUNNEL_CREDENTIAL_FILE/SECRET are for the operators'
// cloudflared Deployments and are not used.
//
// # CA pools
//
// The operators' cloudflared Deployments mount a tunnel's originCaPool
// Secret at /etc/cloudflared/certs (CertsDir). So originCaPool makes the
// tunnel-wide caPool /etc/cloudflared/certs/tls.crt, and a caPool anywhere
// else (a TunnelBinding subject's, originRequest.caPool, the
// cloudflare.com/ca-pool annotation) names a file in that folder; an
// absolute path is used as written.
//
// # Ingress
//
// An Ingress is handled when its class (spec.ingressClassName, else the
// legacy kubernetes.io/ingress.class annotation, else the IngressClass
// annotated ingressclass.kubernetes.io/is-default-class: "true", the newest
// if several) is an IngressClass whose spec.controller is one of
// Options.IngressControllers (by default conflux-sync's, cloudflare-operator's
// and STRRL's). It is translated in that controller's dialect, the way that
// controller translated it, so that conflux-sync taking a class over writes
// nothing to Cloudflare while the Ingresses stay as they are. In every
// dialect: an Ingress with Problems contributes nothing new (its last
// fragments stay in force); two paths giving the same hostname and path are
// a Problem; what the controller ignored is ignored too, and reported in
// Result.Degraded.
//
// conflux-sync (IngressController). The class's spec.parameters select the
// tunnel, a Tunnel or ClusterTunnel of either group:
//
//	parameters: {apiGroup: networking.cloudflare-operator.io, kind: ClusterTunnel, name: edge}
//	parameters: {apiGroup: networking.cfargotunnel.com, kind: Tunnel, name: t, scope: Namespace, namespace: infra}
//
// Every rule needs a host (cloudflared routes by hostname; the catch-all is
// the Tunnel's fallbackTarget, so spec.defaultBackend is refused too).
// Paths: Exact "/a" becomes "^/a$"; Prefix "/" matches everything (no path),
// Prefix "/a" or "/a/" becomes "^/a(/|$)"; ImplementationSpecific is
// cloudflared's regular expression as written. spec.tls is ignored (TLS
// ends at Cloudflare's edge). The service is
// "<scheme>://<service>.<namespace>.svc:<port>"; the scheme is the protocol
// annotations', else https when the Service port's appProtocol or name is
// "https" or the port is 443, else http. The cloudflare.com/ annotations
// apply.
//
// cloudflare-operator (CloudflareOperatorIngressController). The class's
// spec.parameters are {apiGroup: networking.cloudflare-operator.io, kind:
// TunnelIngressClassConfig, name, namespace} (namespace defaults to
// Options.Namespace; scope is ignored); the config's tunnelRef is the tunnel
// (a Tunnel's namespace defaults to the config's). With watchNamespaces
// set, Ingresses of other namespaces are not managed.
//   - Service: "<scheme>://<service>.<namespace>.svc:<port>"; the port is
//     the backend's number (as written), its name's Service port, or the
//     Service's first port. A resource backend is answered with
//     http_status:503 (Degraded).
//   - Scheme, first that says: the Ingress's cloudflare.com/protocol, its
//     cloudflare.com/protocol-<port>, the Service's cloudflare.com/protocol
//     (as written), the port's appProtocol (h2c and kubernetes.io/h2c →
//     h2mux, ws → ws, wss → wss, grpc → http, http, https, tcp, udp, else
//     as written), the port's name (http http-web http-api web grpc
//     grpc-web → http, https https-web https-api secure → https, h2c http2
//     → h2mux, ws websocket → ws, wss websocket-secure → wss, ssh rdp smb
//     tcp udp), the config's defaultProtocol, the port number (443 https,
//     22 ssh, 3389 rdp, 139 and 445 smb, else http). cloudflare-operator
//     wrote h2mux, which cloudflared does not serve as HTTP: conflux-sync
//     writes http instead (Degraded), and http for any scheme cloudflared
//     refuses.
//   - Paths, as cloudflare-operator converts them (unanchored, not
//     escaped): "" and "/" no path; Exact p "^p$"; Prefix (also unset) and
//     ImplementationSpecific p "p.*" when p ends in "/", else "p(/.*)?$".
//   - Rules without a host are skipped, spec.defaultBackend ignored
//     (Degraded); a rule without paths and the spec.tls hosts get a DNS
//     record and no rule.
//   - originRequest: the config's defaultOriginRequest, overridden field by
//     field by the cloudflare.com/ annotations; when it has noTLSVerify,
//     http2Origin or a proxy setting, the booleans cloudflare-operator always
//     sent with it (noTLSVerify, http2Origin, disableChunkedEncoding,
//     bastionMode, noHappyEyeballs) are written false unless set.
//     cloudflare-operator dropped every other field on the way to
//     Cloudflare; conflux-sync applies them (the one deliberate difference).
//   - DNS: none with dnsManagement Manual or cloudflare.com/disable-dns;
//     proxied per dnsProxied (default true) unless cloudflare.com/dns-proxied
//     says. Records of the DNSRecord objects cloudflare-operator generated
//     for the Ingress are taken over by their status.recordId.
//
// STRRL (STRRLIngressController). The class has no parameters: the tunnel
// is Options.DefaultTunnel (--kube-default-tunnel; without it, a Problem).
// Only the cloudflare-tunnel-ingress-controller.strrl.dev/ annotations
// apply (see below).
//   - Service: "<backend-protocol>://<service>.<namespace>.svc.<cluster
//     domain>:<port>" (Options.ClusterDomain, default cluster.local); an
//     ExternalName Service's host is its externalName; a headless Service is
//     a Problem; a named port is the Service port's port, a number is used as
//     written.
//   - Paths are written as they are (a regular expression, unanchored) for
//     http and https services and dropped for other schemes; Prefix and
//     ImplementationSpecific are the same. Exact, which STRRL's controller
//     refused, becomes "^<path>$" (the path escaped).
//   - A rule without a host is a Problem (as STRRL's controller refused the
//     Ingress); a rule without http is skipped, spec.tls and
//     spec.defaultBackend are ignored (Degraded).
//   - DNS: a proxied CNAME per hostname unless disable-dns-management:
//     "true", in the tunnel's zone, else in the zone of the CloudflareDomain
//     that is its longest suffix, else a Problem. Records are taken over
//     from STRRL's _ctic_managed TXT registry.
//
// # HTTPRoute
//
// An HTTPRoute is handled when a parentRef names a Gateway (in the route's
// namespace unless it says) whose GatewayClass's spec.controllerName is one
// of Options.GatewayControllers (by default conflux-sync's and
// cloudflare-operator's), in that controller's dialect; all its managed
// parents must be of one dialect and select the same tunnel. Each parent
// must admit the route as the Gateway API defines (in every dialect,
// though cloudflare-operator ignored listeners): a listener of protocol
// HTTP or HTTPS (the one sectionName names, or any) whose allowedRoutes
// kinds include HTTPRoute and whose namespaces.from is All, or Same (the
// default) with the route in the Gateway's namespace; Selector is refused,
// Namespace labels are not read. Otherwise a Problem with RouteReason
// NotAllowedByListeners. A
// cross-namespace backendRef is a Problem in both: conflux-sync does not
// read ReferenceGrants, so it cannot tell whether the other namespace allows
// the reference, and a route must not reach into a namespace that did not
// allow it.
//
// conflux-sync (GatewayController). The class's parametersRef ({group:
// networking.cloudflare-operator.io or networking.cfargotunnel.com, kind:
// Tunnel | ClusterTunnel, name, namespace}) selects the tunnel. Hostnames
// come from spec.hostnames, else the managed listeners' hostnames. Each
// rule needs exactly one Service backendRef with a port (cloudflared has no
// weighted backends); header, query and method matches, filters, timeouts,
// retries and session persistence are refused (cloudflared matches host and
// path only). Paths: PathPrefix and Exact as for Ingress, RegularExpression
// as written. The cloudflare.com/ annotations apply.
//
// cloudflare-operator (CloudflareOperatorGatewayController). The class's
// parametersRef is {group: networking.cloudflare-operator.io, kind:
// TunnelGatewayClassConfig, name, namespace (required)}; the config's
// tunnelRef is the tunnel. One rule per hostname of spec.hostnames (none is
// a Problem) and path match: "" and "/" no path, PathPrefix v "v.*" when v
// ends in "/" else "v(/.*)?$", Exact "^v$", RegularExpression as written.
// The first Service backendRef serves (port as written, default 80; scheme
// from the port number when the Service has that port, else http); other
// backendRefs, non-Service ones, header, query and method matches, filters,
// timeouts, retries and session persistence are ignored as
// cloudflare-operator ignored them (Degraded: the rule matches every
// request to its hostnames and path). Every rule's originRequest is the
// config's defaultOriginRequest with noTLSVerify, http2Origin,
// disableChunkedEncoding, bastionMode and noHappyEyeballs spelled out, as
// cloudflare-operator sent it (it dropped caPool, conflux-sync keeps it).
// Annotations are not read. DNS per dnsManagement and dnsProxied, in the
// tunnel's zone or the CloudflareDomain the hostname is in; the records of
// the DNSRecord objects cloudflare-operator generated for the parent
// Gateways are taken over.
//
// # Annotations (Ingress and HTTPRoute)
//
// The conflux-sync and cloudflare-operator dialects read one set, the union
// of conflux-sync's and cloudflare-operator's. Any other annotation starting
// with "cloudflare.com/" is a Problem, so a typo does not go unnoticed.
// Booleans are what strconv.ParseBool accepts ("true", "false", "1", "0",
// "t", "F", ...); durations are Go durations ("30s", "1m30s"), rounded up to
// whole seconds.
//
//	annotation                              value                  effect
//	cloudflare.com/protocol                 scheme (below)         scheme of the origin service (default: from the Service port)
//	cloudflare.com/protocol-<port>          scheme (below)         the same, for backends on that Service port (protocol wins)
//	cloudflare.com/no-tls-verify            bool                   originRequest.noTLSVerify
//	cloudflare.com/http-host-header         host name              originRequest.httpHostHeader
//	cloudflare.com/origin-server-name       host name              originRequest.originServerName
//	cloudflare.com/match-sni-to-host        bool                   originRequest.matchSNItoHost
//	cloudflare.com/ca-pool                  file                   originRequest.caPool = /etc/cloudflared/certs/<file> (an absolute path as written)
//	cloudflare.com/connect-timeout          duration               originRequest.connectTimeout (seconds)
//	cloudflare.com/tls-timeout              duration               originRequest.tlsTimeout (seconds)
//	cloudflare.com/tcp-keep-alive           duration               originRequest.tcpKeepAlive (seconds)
//	cloudflare.com/keep-alive-timeout       duration               originRequest.keepAliveTimeout (seconds)
//	cloudflare.com/keep-alive-connections   integer >= 0           originRequest.keepAliveConnections
//	cloudflare.com/no-happy-eyeballs        bool                   originRequest.noHappyEyeballs
//	cloudflare.com/disable-chunked-encoding bool                   originRequest.disableChunkedEncoding
//	cloudflare.com/http2-origin             bool                   originRequest.http2Origin
//	cloudflare.com/bastion-mode             bool                   originRequest.bastionMode
//	cloudflare.com/proxy-address            address                originRequest.proxyAddress
//	cloudflare.com/proxy-port               0..65535               originRequest.proxyPort
//	cloudflare.com/proxy-type               "" or socks            originRequest.proxyType
//	cloudflare.com/disable-dns              bool                   "true": no DNS record fragment (hostnames may then be outside the tunnel's zone)
//	cloudflare.com/dns-proxied              bool                   "false": the records are not proxied (default: proxied; cloudflare-operator: the config's dnsProxied)
//
// Schemes: http, https, ws, wss (HTTP) and tcp, udp, ssh, rdp, smb, bastion
// (cloudflared proxies every other scheme as a TCP stream; udp and bastion
// because cloudflare-operator accepts them), case-insensitive. unix and
// unix+tls are refused: a Service is not a socket file. The ca-pool file is
// one of the tunnel's originCaPool Secret, which the operators' cloudflared
// Deployments mount at /etc/cloudflared/certs.
//
// The STRRL dialect reads STRRL's annotations instead, as STRRL's
// controller parses them, each for every rule of the Ingress; an invalid
// value or an unknown key of the prefix is a Problem. Booleans are exactly
// "true" or "false"; durations are Go durations of a positive whole number
// of seconds ("1500ms" is refused).
//
//	cloudflare-tunnel-ingress-controller.strrl.dev/...
//	backend-protocol          scheme, default http   the service's scheme, lower-cased (STRRL's controller used it as written)
//	proxy-ssl-verify          on | off               https only: originRequest.noTLSVerify = (off); unset: true
//	no-tls-verify             bool                   originRequest.noTLSVerify, any scheme; not with proxy-ssl-verify
//	http-host-header          string                 originRequest.httpHostHeader
//	origin-server-name        string                 https only: originRequest.originServerName
//	disable-dns-management    bool                   "true": no DNS records (the hostnames need no zone)
//	connect-timeout           duration               originRequest.connectTimeout
//	tls-timeout               duration               originRequest.tlsTimeout
//	tcp-keepalive             duration               originRequest.tcpKeepAlive
//	keepalive-timeout         duration               originRequest.keepAliveTimeout
//	keepalive-connections     integer >= 0           originRequest.keepAliveConnections
//	no-happy-eyeballs         bool                   originRequest.noHappyEyeballs
//	disable-chunked-encoding  bool                   originRequest.disableChunkedEncoding
//	http2-origin              bool                   originRequest.http2Origin; "true" needs backend-protocol https
//
// proxy-ssl-verify and origin-server-name on a service that is not https
// are ignored (Degraded), as STRRL's controller ignored them. Annotations
// of the other dialects' prefix are ignored (Degraded) in each dialect.
//
// # DNS
//
// Rules' hostnames become one cloudflare.DNSRecord fragment per zone,
// proxied CNAMEs to the tunnel: the tunnel's zone (spec.cloudflare.domain),
// or, where a dialect says, the CloudflareDomain a hostname is in. A
// hostname outside every zone is a Problem unless DNS is disabled (the
// cloudflare.com/disable-dns annotation, a TunnelBinding's
// tunnelRef.disableDNSUpdates, STRRL's disable-dns-management). A
// DNSRecord with a tunnelRef and no proxied is proxied (a CNAME to a
// tunnel only works proxied). Each record carries the evidence by which it
// takes over the record the replaced controller made.
//
// # DNSRecord
//
// A DNSRecord is cloudflare-operator's: fixed content (type A, AAAA,
// CNAME, TXT or MX; other types and spec.data are Unsupported), content
// from a source object's addresses (sourceRef), or, conflux-sync's
// extension, a CNAME to a tunnel (tunnelRef). Its zone is the
// CloudflareDomain with spec.cloudflare.zoneId, else spec.cloudflare.domain,
// else the CloudflareDomain whose domain is the longest suffix of
// spec.name; a name in none of them is in its tunnel's zone, or (a relative
// name) the default CloudflareDomain's, or the credentials' defaultDomain.
// "@" is the zone apex and a name without a dot is relative to the zone.
// The credentials are spec.cloudflare.credentialsRef, else
// spec.cloudflare.secret (which cloudflare-operator ignores on DNSRecords),
// else the zone's CloudflareDomain's credentialsRef, else the tunnel's,
// else the default CloudflareCredentials.
//
// A sourceRef names one Service (addressType LoadBalancerIP,
// LoadBalancerHostname, ExternalIP, ExternalName, ClusterIP), Ingress,
// HTTPRoute (its parent Gateways' addresses), Gateway or Node (ExternalIP,
// InternalIP, Hostname). An IPv4 address makes an A record, IPv6 AAAA,
// anything else a CNAME; spec.type keeps only the addresses it can hold.
// addressSelection First, PreferIPv4 and PreferIPv6 make one record, All
// one per address (cloudflare-operator makes only the first). With no
// address yet the record keeps what it had (Result.Keep, Waiting). A source
// that is gone removes the record (sourceDeletionPolicy Delete, the
// default; the DNSRecord itself stays, where cloudflare-operator deletes it)
// or keeps it with its last content (Orphan, status state Orphaned).
//
// status.recordId and status.managedRecordIds, as cloudflare-operator
// wrote them, are the takeover evidence of its records. cloudflare-operator
// adopted any record of the same name and type; conflux-sync needs that
// evidence, or adopt.
//
// # AccessApplication
//
// Synced: name (default the object's name), domain, type (self_hosted,
// ssh, vnc, saas, bookmark), sessionDuration, allowedIdps and identityProviderRefs,
// autoRedirectToIdentity, appLauncherVisible, tags, and reusablePolicyRefs
// in list order (precedence is ignored, as cloudflare-operator ignores it).
// A policy named by name is its AccessPolicy object's target
// (AccessPolicy/<name>): the application waits for that target's policy
// (status.dependsOn); by cloudflareName it is the account's reusable
// policy of that name; by cloudflareId, the id (a UUID). An identity
// provider by name reads the id cloudflare-operator recorded in the
// AccessIdentityProvider's status.providerId; by cloudflareName it is
// Unsupported. Also synced, as
// the kind's fields of the same names: the cookie, deny-page, logo, custom
// page, interstitial, preflight, 401 and WARP settings, corsHeaders and
// saasApp (refreshTokenOptions.lifetime becomes refreshTokenLifetime; a
// saas application's domain, which the schema requires, is not sent:
// Cloudflare assigns it; nor is the sessionDuration "24h" the schema
// defaults for saas and bookmark applications, which have none). The domain, selfHostedDomains and destinations
// become one destination list, the domain first, each once; a
// destination's vnetRef resolves as a route's virtualNetworkRef does. A
// JSON-typed field with a member the schema lacks is a problem naming it.
// Every other field set (inline policies and reusableGroupRefs, which
// cloudflare-operator ignores too; domainType and privateAddress, which
// the API replaced by destinations; gatewayRules; scimConfig, whose
// credentials cannot be referenced yet; appLauncherCustomization and
// targetContexts, of types not synced) is an Unsupported problem: the
// application is not synced at all rather than synced without what may
// keep people out. status.applicationId is the takeover evidence.
//
// # AccessPolicy
//
// Synced, every field: name (default the object's name), decision
// (default allow), include, exclude and require, sessionDuration,
// isolationRequired, purposeJustificationRequired and
// purposeJustificationPrompt, approvalRequired and approvalGroups
// (approvalsNeeded default 1), cloudflare (credentials and account).
// precedence has no effect: a reusable policy has none of its own (the API
// ignored it for cloudflare-operator too); applications order their
// reusablePolicyRefs. Rules become the API's rule objects (accessRules): a
// rule sets one rule type; ipRanges, country and github teams with several
// entries become one API rule each in include and exclude, and are refused
// in require (where they would all have to match). An identity provider in
// a rule (idpRef) resolves like an AccessApplication's
// identityProviderRefs. status.policyId, as cloudflare-operator wrote it,
// is the takeover evidence; conflux-sync writes it back with the policy it
// syncs.
//
// # NetworkRoute
//
// cloudflare-operator's NetworkRoute is cluster-scoped (its Secret is in
// Options.Namespace); conflux-sync's older CRD's was namespaced, and both
// are read. The network is an IPv4 or IPv6 CIDR. tunnelRef's kind defaults
// to ClusterTunnel; a Tunnel without tunnelRef.namespace is in the route's
// namespace, else in "default" (cloudflare-operator's). The virtual network
// is virtualNetworkId, virtualNetworkRef.cloudflareId, or the
// cloudflare.VirtualNetwork target of the VirtualNetwork
// virtualNetworkRef.name names (the route's target waits for it,
// status.dependsOn, until it is created). The credentials
// are spec.cloudflare's, else the tunnel's, else the default
// CloudflareCredentials; the account spec.cloudflare.accountId, else the
// tunnel's, else the credentials'. cloudflare-operator's comment marker
// "[managed:NetworkRoute/<name>]" is the takeover evidence.
//
// # VirtualNetwork
//
// Cluster-scoped; its Secret is in Options.Namespace. Synced: name
// (default the object's name), comment (at most the API's 100
// characters), isDefaultNetwork. status.virtualNetworkId is the takeover
// evidence; without it, like cloudflare-operator, an existing network of
// that name is adopted (conflux-sync then leaves it in place when the
// object goes). The zone fields of spec.cloudflare are not used.
//
// # AccessGroup
//
// Cluster-scoped; its Secret is in Options.Namespace. Synced: name
// (default the object's name), include, exclude, require. Each rule sets
// exactly one rule type and becomes the Access API's rule object: email,
// email_domain, email_list, everyone, ip (one rule per range), ip_list,
// geo (one rule per country), group, service_token,
// any_valid_service_token, certificate, common_name, device_posture,
// gsuite, github-organization (one rule per team), azureAD, okta, oidc,
// saml, auth_method, auth_context, login_method, external_evaluation; an
// idpRef reads the AccessIdentityProvider's status.providerId, or takes
// cloudflareId. A list of several values in a require rule is a problem
// (each require rule must match; cloudflare-operator sent the first value
// only). isDefault never reached the API: true is reported in
// Result.Degraded. status.groupId is the takeover evidence; without it an
// existing group of that name is adopted, as by VirtualNetwork.
//
// # AccessServiceToken
//
// The token's name is spec.name, else the object's; its secret goes to
// the Secret spec.secretRef.name in the object's namespace, under
// clientIdKey and clientSecretKey (cloudflare-operator's defaults
// CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET), which the kind fills
// in. status.tokenId is the takeover evidence; the Secret cloudflare-
// operator wrote then already holds the token's credentials, and the kind
// rotates nothing.
//
// # AccessIdentityProvider
//
// Cluster-scoped. spec.config goes over in the API's field names; the
// client secret comes from configSecretRef (in Options.Namespace unless
// it names a namespace). A secret written into the object
// (config.clientSecret, config.apiToken) goes over as an
// api.ObjectFieldRef to the object's field, never as the value: the
// leader reads it from the API server when it flushes. The reference
// carries the object's generation, because the value is not in the
// fragment: an edited secret must still change the fragment (a hash of
// the value would too, but would put something derived from the secret in
// the log and in every fragment listing). Each inline secret is Degraded
// with a note recommending configSecretRef (whoever may read the object
// reads it); configSecretRef wins over an inline client secret.
// scimConfig.secret is not applied (Cloudflare makes the SCIM secret) and
// config.headerAttributes is not synced. status.providerId is the
// takeover evidence.
package translate
