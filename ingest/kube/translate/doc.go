// Package translate turns Kubernetes objects (Ingress, HTTPRoute and the
// networking.cloudflare-operator.io CRDs) into conflux-sync fragments. It is
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
//	Tunnel, ClusterTunnel  cloudflare.Tunnel             Tunnel/<ns>/<name>, ClusterTunnel/<name>
//	                       cloudflare.TunnelConfiguration  (same name) {"settings": {...}}, no rules
//	Ingress, HTTPRoute,    cloudflare.TunnelConfiguration  the tunnel's target {"rules": [...]}
//	TunnelBinding          cloudflare.DNSRecord          <tunnel's cloudflare.domain> one proxied CNAME per hostname
//	DNSRecord              cloudflare.DNSRecord          <zone> one record
//	AccessApplication      cloudflare.AccessApplication  AccessApplication/<ns>/<name>
//	NetworkRoute           cloudflare.NetworkRoute       NetworkRoute/<ns>/<name>
//
// # Credentials
//
// spec.cloudflare.secret names a Secret in the object's namespace (for a
// ClusterTunnel: conflux-sync's own namespace, Options.Namespace) holding an
// API token under the key spec.cloudflare.CLOUDFLARE_API_TOKEN (default
// "CLOUDFLARE_API_TOKEN"). Fragments carry the reference
// {"namespace","name","key"} as "credentials", never the token. Objects
// using rules of a tunnel (Ingress, HTTPRoute, TunnelBinding, and DNSRecord
// and NetworkRoute without their own spec.cloudflare) use the tunnel's
// reference; the Secret's existence is checked on the Tunnel, not again on
// every object using it (so those need not be re-translated when the Secret
// changes). Not supported, each reported as a Problem: a
// CloudflareCredentials object (spec.cloudflare.credentialsRef) and a global
// API key (CLOUDFLARE_API_KEY with email). The target kinds need the
// account id with a Secret's token, so spec.cloudflare.accountId is required
// on Tunnels, ClusterTunnels, AccessApplications and NetworkRoutes by
// tunnelId (accountName is not looked up; DNSRecords and routes through a
// tunnel fall back to the tunnel's). Ignored: zoneId (zones are found by
// domain), email, CLOUDFLARE_TUNNEL_CREDENTIAL_FILE/SECRET, protocol and
// deployPatch (conflux-sync does not run cloudflared).
//
// # CA pools
//
// originCaPool, originRequest.caPool, a TunnelBinding subject's caPool and
// the cloudflare.com/ca-pool annotation name a Secret; the rule's caPool
// becomes "/etc/cloudflared/certs/<secret>/tls.crt". cloudflared must mount
// that Secret there (conflux-sync does not deploy cloudflared).
//
// # Ingress
//
// An Ingress is handled when its class (spec.ingressClassName, else the
// legacy kubernetes.io/ingress.class annotation, else the IngressClass
// annotated ingressclass.kubernetes.io/is-default-class: "true", the newest
// if several) is an IngressClass whose spec.controller is IngressController.
// The class's spec.parameters select the tunnel:
//
//	parameters: {apiGroup: networking.cloudflare-operator.io, kind: ClusterTunnel, name: edge}
//	parameters: {apiGroup: networking.cloudflare-operator.io, kind: Tunnel, name: t, scope: Namespace, namespace: infra}
//
// Every rule needs a host (cloudflared routes by hostname; the catch-all is
// the Tunnel's fallbackTarget, so spec.defaultBackend is refused too).
// Paths: Exact "/a" becomes "^/a$"; Prefix "/" matches everything (no path),
// Prefix "/a" or "/a/" becomes "^/a(/|$)"; ImplementationSpecific is
// cloudflared's regular expression as written. spec.tls is ignored (TLS
// ends at Cloudflare's edge). The service is
// "<scheme>://<service>.<namespace>.svc:<port>"; the scheme is https when
// the Service port's appProtocol or name is "https" or the port is 443,
// else http, unless the cloudflare.com/protocol annotation says otherwise.
//
// # HTTPRoute
//
// An HTTPRoute is handled when a parentRef names a Gateway whose
// GatewayClass has spec.controllerName GatewayController; the class's
// parametersRef ({group: networking.cloudflare-operator.io, kind: Tunnel |
// ClusterTunnel, name, namespace}) selects the tunnel. All its managed
// parents must select the same tunnel. Hostnames come from spec.hostnames,
// else the managed listeners' hostnames. Each rule needs exactly one Service
// backendRef with a port (cloudflared has no weighted backends); header,
// query and method matches, filters, timeouts, retries and session
// persistence are refused (cloudflared matches host and path only). Paths:
// PathPrefix and Exact as for Ingress, RegularExpression as written.
// Cross-namespace backendRefs are refused (ReferenceGrants are not read).
//
// # Annotations (Ingress and HTTPRoute)
//
// Any other annotation starting with "cloudflare.com/" is a Problem, so a
// typo does not go unnoticed. Booleans are "true" or "false"; durations are
// Go durations ("30s", "1m30s"), rounded up to whole seconds.
//
//	annotation                              value                        effect
//	cloudflare.com/protocol                 http https tcp ssh rdp smb   scheme of the origin service (default: from the Service port)
//	cloudflare.com/no-tls-verify            bool                         originRequest.noTLSVerify
//	cloudflare.com/http-host-header         host name                    originRequest.httpHostHeader
//	cloudflare.com/origin-server-name       host name                    originRequest.originServerName
//	cloudflare.com/match-sni-to-host        bool                         originRequest.matchSNItoHost
//	cloudflare.com/ca-pool                  Secret name                  originRequest.caPool = /etc/cloudflared/certs/<secret>/tls.crt
//	cloudflare.com/connect-timeout          duration                     originRequest.connectTimeout (seconds)
//	cloudflare.com/tls-timeout              duration                     originRequest.tlsTimeout (seconds)
//	cloudflare.com/tcp-keep-alive           duration                     originRequest.tcpKeepAlive (seconds)
//	cloudflare.com/keep-alive-timeout       duration                     originRequest.keepAliveTimeout (seconds)
//	cloudflare.com/keep-alive-connections   integer >= 0                 originRequest.keepAliveConnections
//	cloudflare.com/no-happy-eyeballs        bool                         originRequest.noHappyEyeballs
//	cloudflare.com/disable-chunked-encoding bool                         originRequest.disableChunkedEncoding
//	cloudflare.com/http2-origin             bool                         originRequest.http2Origin
//	cloudflare.com/disable-dns              bool                         "true": no DNS record fragment (hostnames may then be outside the tunnel's zone)
//
// udp is not accepted as a protocol (cloudflared serves UDP only to WARP
// clients, through NetworkRoutes), nor unix sockets (a Service is not one).
//
// # DNS
//
// Rules' hostnames become one cloudflare.DNSRecord fragment for the zone
// spec.cloudflare.domain of the tunnel: proxied CNAMEs to the tunnel. A
// hostname outside that zone is a Problem unless DNS is disabled (the
// cloudflare.com/disable-dns annotation, a TunnelBinding's
// tunnelRef.disableDNSUpdates). A DNSRecord with a tunnelRef and no
// proxied is proxied (a CNAME to a tunnel only works proxied).
package translate
