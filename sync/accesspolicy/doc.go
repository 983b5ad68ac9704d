// Package accesspolicy is the cloudflare.AccessPolicy kind: one reusable
// Zero Trust Access policy (account level, /accounts/{a}/access/policies:
// a decision and the include, exclude and require rules it applies to,
// which Access applications list by id) per target, owned by one
// fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",                   // "" = the only configured account
//	 "name": "staff",                   // required
//	 "decision": "allow",               // required: allow, deny, non_identity, bypass
//	 "include": [{"email_domain": {"domain": "example.com"}}],
//	                                    // required, at least one rule: any one matches
//	 "exclude": [...], "require": [...],// none may match / all must match as well
//	 "sessionDuration": "24h",          // default 24h; a Go duration
//	 "isolationRequired": false,
//	 "purposeJustificationRequired": false, "purposeJustificationPrompt": "",
//	 "approvalRequired": false,         // then approvalGroups are required:
//	 "approvalGroups": [{"emailAddresses": ["boss@example.com"], "emailListUuid": "",
//	                     "approvalsNeeded": 1}],
//	 "connectionRules": {"ssh": {"usernames": ["root"], "allowEmailAlias": false}},
//	 "adopt": false,                    // take over an existing policy with this name
//	 "id": "",                          // adopt exactly this policy (a UUID)
//	 "takeOver": "",                    // own, as created, this policy a previous controller made
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                                    // optional: API token from this Secret key (accountId required)
//
// Rules are the API's own rule objects, checked like an Access group's
// (cfapi.CheckAccessRules) and passed to the API as given. Canonical
// sorts their keys and spells the session duration one way ("1440m" is
// "24h"), writing out the API's default (24h), so neither formatting nor stating a
// default shows as a change.
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "accessPolicy".
//
// The flush is sync/owned's (the contract every single-owner kind
// shares); this package supplies the spec, the diff and the client calls:
// cloudflare-go v6's zero_trust.AccessPolicyService (New, Update, Delete,
// Get, and every page of List on /accounts/{a}/access/policies, with no
// application id, which is what makes a policy reusable). Policies have no comment for
// the ownership marker: ownership lives in the recorded status, a new
// policy is checkpointed at once, and a policy with the spec's name that
// is not recorded as ours is a permanent clash unless the spec sets adopt
// (or id, or takeOver). Names need not be unique in the API; adopt by
// name refuses to guess between several.
//
// Where v6's types differ from the API: v6 answers a policy with a
// different type per call (the Get response is the kind's object, the
// others are read through it with cfapi.AsV6); its rules are an
// AccessRule struct that does not encode back to the rule as answered
// (rules are sent as given with cloudflare.Raw and compared as answered,
// like the group kind's); and its connection_rules know only rdp, not
// ssh, so connection_rules.ssh is sent with cloudflare.Raw and read from
// the answer's extra fields (ConnectionRules.JSON.ExtraFields["ssh"]).
// The applications that still list a policy are found through v6's
// application list, whose policies are typed per application type (an
// interface{}): their ids are read from the field as answered.
//
// The API refuses to delete a policy that applications still list. That
// is retried, not held: the applications' own targets drop it (or are
// deleted) without a new fragment for the policy.
//
// A group rule may name its group by name ({"group": {"name": "staff"}})
// instead of id: the cloudflare.AccessGroup target of that name (its
// recorded groupId; the policy waits for the target, status.dependsOn,
// until it has one), else the account's one group so named. It is
// resolved at every flush and sent as {"group": {"id": "…"}}.
//
// An Access application refers to a policy by this target's name
// (sync/access resolves it to the recorded policyId and waits for it,
// cfapi.ResolveAccessPolicy).
//
// Downstream ids recorded:
//
//	accountId    the account
//	policyId     the policy's id
//	name         the policy's name
//	created      "true" when conflux-sync created or took it over (it is
//	             deleted when the target loses its last fragment);
//	             "false" when adopted (it is then released, left in place)
//	credentials  "namespace/name/key" of the Secret used, when one was
package accesspolicy
