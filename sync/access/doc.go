// Package access is the cloudflare.AccessApplication kind: one Cloudflare
// Access application per target, owned by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",                       // "" = the only configured account
//	 "name": "app",                         // required
//	 "domain": "app.example.com/admin",     // required: hostname, optional path, no scheme or port
//	                                        // (saas: none, Cloudflare assigns it)
//	 "type": "self_hosted",                 // default; also "ssh", "vnc", "saas", "bookmark"
//	 "sessionDuration": "24h",              // default (self_hosted, ssh, vnc); a Go duration
//	 "policies": ["staff", "<policy id>"],  // reusable policies in precedence order: an id,
//	                                        // or a cloudflare.AccessPolicy target's name (else
//	                                        // the account's reusable policy of that name)
//	 "allowedIdps": ["<idp id>", ...],
//	 "autoRedirectToIdentity": false,
//	 "appLauncherVisible": true,            // default true
//	 "tags": ["team-a"],
//	 "logoUrl": "", "customPages": [],      // every type but bookmark has customPages
//	 // self_hosted, ssh and vnc only (the API's defaults when absent):
//	 "destinations": [{"type": "public", "uri": "app.example.com"},
//	                  {"type": "private", "cidr": "10.0.0.0/24", "portRange": "443",
//	                   "l4Protocol": "tcp", "vnetId": ""}],  // default: the domain
//	 "customDenyMessage": "", "customDenyUrl": "", "customNonIdentityDenyUrl": "",
//	 "enableBindingCookie": false, "httpOnlyCookieAttribute": true,
//	 "sameSiteCookieAttribute": "",        // "strict", "lax" or "none"
//	 "pathCookieAttribute": false, "optionsPreflightBypass": false,
//	 "serviceAuth401Redirect": false, "skipInterstitial": false,
//	 "allowAuthenticateViaWarp": null,      // null: the account's setting
//	 "corsHeaders": {"allowedMethods": ["GET"], "allowedOrigins": [], "allowedHeaders": [],
//	                 "allowAllMethods": false, "allowAllHeaders": false, "allowAllOrigins": false,
//	                 "allowCredentials": false, "maxAge": 0},
//	 // saas only: SAML or OIDC
//	 "saasApp": {"authType": "saml", "spEntityId": "", "consumerServiceUrl": "",
//	             "nameIdFormat": "email", "defaultRelayState": "", "customAttributes": [...],
//	             "nameIdTransformJsonata": "", "samlAttributeTransformJsonata": ""}
//	         or {"authType": "oidc", "redirectUris": [], "grantTypes": [], "scopes": [],
//	             "appLauncherUrl": "", "groupFilterRegex": "", "customClaims": [...],
//	             "allowPkceWithoutClientSecret": false, "accessTokenLifetime": "",
//	             "refreshTokenLifetime": "", "hybridAndImplicitOptions": {...}},
//	 "adopt": false,                        // take over an existing app with this domain
//	 "id": "",                              // adopt exactly this existing app
//	 "takeOver": "",                        // own this app a previous controller created
//	 "credentials": {"namespace": "infra",  // optional: API token from this Secret key
//	                 "name": "cloudflare",  // instead of the static credentials;
//	                 "key": "token"}}       // accountId is then required
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "application". Desired
// is the owner's spec in canonical form: defaults filled in, domain host
// lower-cased, allowedIdps and tags sorted, re-marshalled from Spec so the
// key order is fixed.
//
// Ownership: an Access application has no comment field to carry the
// ownership marker, so ownership lives in the target's recorded status.
// Downstream ids recorded:
//
//	accountId  the account the application is in
//	appId      the application id
//	aud        its audience tag (for producers validating Access JWTs)
//	clientId   an OIDC saas application's client id; its client secret is
//	           never copied out of Cloudflare's answer (not recorded,
//	           logged, planned or reported): take it from the dashboard
//	created    "true" when conflux-sync created or took it over (then it
//	           may delete it); "false" when it was adopted (then it is only
//	           released); read through cfapi.Created
//	credentials  "namespace/name/key" of the Secret used, when one was
//	           (cfapi.IDCredentials); the deletion uses it too
//
// Right after creating an application the flusher checkpoints appId and
// created=true through the log, so a crash before the outcome is recorded
// cannot orphan it. An existing application with the same domain that is
// not recorded as ours is a permanent clash unless the spec sets adopt (or
// names its id).
//
// The flush is sync/owned's (the contract every single-owner kind
// shares); this package supplies the spec, the diff and the client calls.
//
// Types: app_launcher, warp, biso and dash_sso (the account's built-in
// applications) and infrastructure are refused naming the type; the
// fields only those types have (skipAppLauncherLoginPage and the App
// Launcher's look, target criteria) are not in the spec. Also not synced:
// inline (application-scoped) policies — cloudflare-go v0.119 sends
// policies as ids only —, scim_config (its credentials are secrets the
// spec cannot reference yet), gateway_rules, and self_hosted_domains,
// which the API replaced by destinations and v0.119 does not have.
//
// A saas application is found for adoption by its name among the saas
// applications, since Cloudflare assigns its domain. A recorded
// application whose type is of another schema (self-hosted — self_hosted,
// ssh, vnc —, saas, bookmark) than the spec's is replaced, not updated.
//
// A policy named by name is resolved at every flush (Place): the id its
// cloudflare.AccessPolicy target recorded, else the account's one reusable
// policy with that name. While neither exists the application waits for
// that target (engine.WaitFor: status.dependsOn, like a route for its
// virtual network) and is flushed again when the target records its
// policy.
//
// Takeover: takeOver names the application a previous controller created
// for this producer (StringKe's status.applicationId). If it exists it is
// owned as created, without a write unless a managed field differs; if it
// does not, the flush goes on as without it.
package access
