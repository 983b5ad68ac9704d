// Package access is the cloudflare.AccessApplication kind: one Cloudflare
// Access application per target, owned by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",                       // "" = the only configured account
//	 "name": "app",                         // required
//	 "domain": "app.example.com/admin",     // required: hostname, optional path, no scheme or port
//	 "type": "self_hosted",                 // default; also "ssh", "vnc"
//	 "sessionDuration": "24h",              // default; a Go duration
//	 "policies": ["staff", "<policy id>"],  // reusable policies in precedence order: an id,
//	                                        // or a cloudflare.AccessPolicy target's name (else
//	                                        // the account's reusable policy of that name)
//	 "allowedIdps": ["<idp id>", ...],
//	 "autoRedirectToIdentity": false,
//	 "appLauncherVisible": true,            // default true
//	 "tags": ["team-a"],
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
