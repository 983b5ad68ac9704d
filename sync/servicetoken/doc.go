// Package servicetoken is the cloudflare.AccessServiceToken kind: one
// Zero Trust Access service token (account level,
// /accounts/{a}/access/service_tokens: a client id and secret machines
// send as CF-Access-Client-Id / CF-Access-Client-Secret) per target,
// owned by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",              // "" = the only configured account
//	 "name": "ci",                 // required
//	 "duration": "8760h",          // hours/minutes/seconds or "forever"; "" = 8760h (the API's default)
//	 "refreshBefore": "720h",      // optional: refresh once it expires within this long
//	 "secret": {"namespace": "apps", "name": "ci-token",
//	            "clientIdKey": "CF_ACCESS_CLIENT_ID", "clientSecretKey": "CF_ACCESS_CLIENT_SECRET"},
//	                               // deliver to this Kubernetes Secret (keys default as shown)
//	 "file": "/var/lib/conflux-sync/ci.json",
//	                               // and/or to this file on the leader's node
//	 "takeOver": "",               // own, as created, this token a previous controller made
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                               // optional: API token from this Secret key (accountId required)
//
// At least one of secret and file is required: the API answers the client
// secret only to the create and to a rotation.
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "accessServiceToken".
//
// The flush is sync/owned's (the contract every single-owner kind
// shares: tokens have no comment, so ownership lives in the recorded
// status and a new token is checkpointed at once), with cloudflare-go
// v6's zero_trust.AccessServiceTokenService (New, Get by id, List through
// every page, Update, Rotate, Refresh, Delete on
// /accounts/{a}/access/service_tokens), followed by:
//
//   - Delivery. The secret a create answered is kept in memory for this
//     flush only and written to every destination: the Secret through the
//     SecretWriter the server injects (ingest/kube.Secrets), the file as
//     {"client_id","client_secret"} (mode 0600, written atomically). It
//     never enters the log, the status, a plan, a log line or an error.
//   - Its guarantee. Every flush reads each destination back (the
//     Secret's client id key, the file) and checks it holds the token's
//     client id and a secret. When one does not — the leader crashed or
//     lost leadership between the create and the write, a new leader's
//     node has no file, someone deleted the Secret — the token is rotated
//     (POST .../{id}/rotate) and the new secret is written to every
//     destination, since the old one then no longer works anywhere. So
//     after a successful flush each destination holds a secret that works,
//     whatever failed before; the price is that a file lives on one node
//     at a time: after a failover the new leader rotates, and the file on
//     the old leader's node is stale.
//   - Duration and expiry. A changed duration is written (PUT) and the
//     token refreshed (POST .../{id}/refresh) so that it counts from now;
//     with refreshBefore, a token expiring within it is refreshed. A
//     refresh keeps the secret. The expiry is recorded (expiresAt).
//
// Where v6's types differ from the API: zero_trust.ServiceToken has no
// client_secret_version, so the PUT does not send it (absent keeps the
// current version; v0 sent it back unchanged), and the create's answer
// has no expires_at (the flush reads the token back by id for it). A
// token without expires_at (forever) is v6's zero time.
//
// Adopting a token by name or id is not offered: conflux-sync cannot read
// the secret of a token it did not create, so it would have to rotate it
// away from whoever uses it. takeOver owns the one a previous controller
// made; its Secret, if it holds the credentials, is kept as it is. A token
// with the spec's name that is not ours is a permanent clash. Deleting the
// target deletes the token; the delivered Secret and file are left (their
// secret no longer works).
//
// Downstream ids recorded (never the secret):
//
//	accountId    the account
//	tokenId      the token's id
//	name         the token's name
//	clientId     its client id (CF-Access-Client-Id; not a secret)
//	expiresAt    RFC 3339, or "never"
//	deliveredTo  where the secret was written: "Secret ns/name, file /path"
//	created      "true": created or taken over (deleted with the target)
//	credentials  "namespace/name/key" of the Secret used, when one was
package servicetoken
