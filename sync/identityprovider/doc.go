// Package identityprovider is the cloudflare.AccessIdentityProvider kind:
// one Zero Trust Access identity provider (account level,
// /accounts/{a}/access/identity_providers: a login method such as
// one-time PIN, GitHub, Okta, an OIDC or SAML provider) per target, owned
// by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",              // "" = the only configured account
//	 "name": "GitHub",             // required
//	 "type": "github",             // required: a key of Required
//	 "config": {"client_id": "…"}, // the API's config fields (ConfigFields), snake_case, no secrets
//	 "secrets": {"client_secret": {"namespace": "infra", "name": "github-oauth", "key": "secret"}},
//	                               // secret config fields (SecretFields) from Secret keys
//	 "objectSecrets": {"client_secret": {"apiVersion": "networking.cloudflare-operator.io/v1alpha2",
//	                   "kind": "AccessIdentityProvider", "name": "github", "field": "spec.config.clientSecret", "generation": 2}},
//	                               // or from a field of a Kubernetes object holding them inline
//	 "scimConfig": {"enabled": true, "userDeprovision": true, "seatDeprovision": false,
//	                "groupMemberDeprovision": false, "identityUpdateBehavior": "reauth"},
//	 "adopt": false, "id": "", "takeOver": "",
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//
// Each type's required fields (Required) must be in config, secrets or
// objectSecrets.
// A secret written into config is refused (the spec is stored in the
// log); its error never quotes the value.
//
// Aggregation: kind.OneOwner, conflicts keyed "identityProvider".
//
// The flush is sync/owned's, with cloudflare-go's identity provider
// calls. Providers have no comment for the ownership marker: ownership
// lives in the recorded status, a new provider is checkpointed at once,
// and one with the spec's name that is not ours is a permanent clash
// unless the spec sets adopt (or id, or takeOver).
//
// Secrets. The secret values are read from their Secrets, or from the
// objects' fields, at flush time only (cfapi.Clients.SecretValue, the
// reader the API tokens use, and cfapi.Clients.ObjectFieldValue) and sent
// in the create or the PUT; they never enter the log, the status, a plan,
// a log line or an error. The API answers them redacted, so the diff
// cannot compare them with what Cloudflare holds: instead the flush
// records secretsHash, a SHA-256 over the names and values it wrote, and
// rewrites the provider when the Secrets now hold values with another
// hash (or none was recorded: an adopted provider, a status from before).
// A secret changed by hand in the dashboard is therefore not seen until
// the Secret changes; the hash is of high-entropy client secrets, so it
// does not reveal them.
//
// Not managed: the SCIM secret the API makes (scim_config.secret), auth
// contexts, and config fields cloudflare-go v0 does not carry (it has no
// field for them, so the PUT would drop them).
//
// Downstream ids recorded:
//
//	accountId    the account
//	providerId   the provider's id
//	name, type   the provider's name and type
//	secretsHash  SHA-256 of the secret values last written (when any)
//	created      "true" when created or taken over (deleted with the
//	             target); "false" when adopted (released, left in place)
//	credentials  "namespace/name/key" of the Secret used, when one was
package identityprovider
