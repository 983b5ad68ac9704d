// Package accessgroup is the cloudflare.AccessGroup kind: one Zero Trust
// Access group (account level, /accounts/{a}/access/groups: a named set
// of include, exclude and require rules that Access policies refer to)
// per target, owned by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",              // "" = the only configured account
//	 "name": "staff",              // required
//	 "include": [{"email_domain": {"domain": "example.com"}}],
//	                               // required, at least one rule: any one matches
//	 "exclude": [{"email": {"email": "intern@example.com"}}],
//	                               // none of these may match
//	 "require": [{"any_valid_service_token": {}}],
//	                               // all of these must match as well
//	 "adopt": false,               // take over an existing group with this name
//	 "id": "",                     // adopt exactly this group (a UUID)
//	 "takeOver": "",               // own, as created, this group a previous controller made
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                               // optional: API token from this Secret key (accountId required)
//
// Rules are the API's own rule objects, passed to it as given: each is an
// object with exactly one known rule key (RuleKeys) whose value is an
// object; the fields inside are the API's to validate. Canonical sorts
// their keys, so formatting never shows as a change.
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "accessGroup".
//
// The flush is sync/owned's (the contract every single-owner kind
// shares); this package supplies the spec, the diff and the client calls:
// cloudflare-go v6's zero_trust.AccessGroupService (New, Update, Delete,
// Get, and every page of List on /accounts/{a}/access/groups). Groups have no comment for the ownership marker:
// ownership lives in the recorded status, a new group is checkpointed at
// once, and a group with the spec's name that is not recorded as ours is
// a permanent clash unless the spec sets adopt (or id, or takeOver).
// Names need not be unique in the API; adopt by name refuses to guess
// between several.
//
// Where v6's types differ from the API: v6 answers a group with a
// different type per call (the Get response is the kind's object, the
// others are read through it with cfapi.AsV6), and its rules are an
// AccessRule struct (one field per rule type it knows) that does not
// encode back to the rule as answered. The rules are sent as given
// (cloudflare.Raw) and compared as the API answered them (the field's raw
// JSON, cfapi.AccessRulesRaw), so formatting and rule types or fields v6
// does not know are neither dropped nor seen as drift.
// is_default is not part of the spec (v0 had no such field; v6 types it
// as a bool to send and a rule list in its answers).
//
// Downstream ids recorded:
//
//	accountId    the account
//	groupId      the group's id
//	name         the group's name
//	created      "true" when conflux-sync created or took it over (it is
//	             deleted when the target loses its last fragment);
//	             "false" when adopted (it is then released, left in place)
//	credentials  "namespace/name/key" of the Secret used, when one was
package accessgroup
