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
// The flush is sync/owned's, with cloudflare-go v6's
// zero_trust.IdentityProviderService (New, Get by id, List through every
// page, Update, Delete on /accounts/{a}/access/identity_providers).
// Providers have no comment for the ownership marker: ownership lives in
// the recorded status, a new provider is checkpointed at once, and one
// with the spec's name that is not ours is a permanent clash unless the
// spec sets adopt (or id, or takeOver).
//
// Where v6's types differ from the API:
//
//   - Its IdentityProvider is a union of one type per provider type with
//     no discriminator: its decoder takes the first variant that fits,
//     AzureAD, for every provider, so IdentityProvider.Config lacks the
//     fields AzureAD has not (okta_account, auth_url, issuer_url …). The
//     kind decodes the config from the raw JSON v6 keeps of the field
//     (IdentityProvider.JSON.Config), whatever the type; name, type, id
//     and SCIM settings are the same in every variant and read as v6
//     decoded them. A listed provider (IdentityProviderListResponse, the
//     same union again) is decoded as an IdentityProvider from its JSON.
//   - Its per-type params lack fields the API takes and the kind manages
//     (claims on GitHub, Facebook, LinkedIn and Yandex; idp_public_cert on
//     SAML, where v6 has only idp_public_certs). The create and the PUT
//     send the union's generic member, IdentityProviderParam, whose config
//     is the spec's fields as given (those at their default, false, "" or
//     [], left out as v0 did).
//   - Its SCIM settings lack group_member_deprovision: it is sent with
//     option.WithJSONSet and read from the fields v6 keeps beside those
//     it knows (SCIMConfig.JSON.ExtraFields).
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
// contexts, and config fields outside ConfigFields (header_attributes,
// prompt, idp_public_certs …: ConfigFields is the set cloudflare-go v0
// carried, kept as it was when the kind moved to v6).
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
