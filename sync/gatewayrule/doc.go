// Package gatewayrule is the cloudflare.GatewayRule kind: the Zero Trust
// Gateway rules (/accounts/{a}/gateway/rules) of one rule set. A target
// names the rule set (e.g. the account, or "team-a"); every fragment of
// the target contributes rules, and the rules of all of them are merged
// into one ordered list, like a tunnel's ingress rules.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",            // "" = the only configured account
//	 "credentials": {...},       // optional: API token from this Secret key (accountId required)
//	 "rules": [{
//	   "name": "block malware",  // required, unique in the target: how the rule is found again
//	   "description": "",
//	   "action": "block",        // one the filter takes (see Actions)
//	   "enabled": true,          // default true
//	   "filters": ["dns"],       // exactly one: dns, http, l4, egress, dns_resolver
//	   "traffic": "any(dns.domains[*] in $blocked)",
//	   "identity": "", "devicePosture": "",
//	   "precedence": 100,        // optional: explicit place (see Aggregate)
//	   "ruleSettings": {...},    // the API's rule_settings, members checked
//	   "schedule": {...}}]}      // the API's schedule, dns rules only
//
// Aggregation (Aggregate) is deterministic: fragments in registration
// order; the first names the account and credentials (another account in
// a later fragment is a conflict keyed "account", its rules left out); a
// rule name two fragments give is a conflict keyed "rule <name>" that the
// earlier fragment wins; rules with a precedence first (lowest first),
// then the others in fragment order; the precedence written keeps that
// order (a rule's own when higher than the one before, else one more).
//
// Lists: $name or ${name} in an expression names a cloudflare.GatewayList
// target (its recorded listId), else the account's one list of that name;
// $ and 32 hex digits is a list id as the API writes it. A target whose
// list is not created yet, or a name that is neither a target nor a list
// of the account, is waited for (status.dependsOn names the
// cloudflare.GatewayList target of that name): the whole rule set waits,
// so that no rule is written out of order; it is flushed again as soon as
// that target records an outcome. Several lists of the account with the
// name is a permanent error naming the rule and the list.
//
// Ownership: each rule's description starts with Tag (the cluster's
// marker and the target's name, or a fingerprint of a long one), then
// the spec's description. A flush
// lists the account's rules and considers only those with the tag or a
// recorded id: the dashboard's rules, other clusters' and other targets'
// are never changed or deleted. Each desired rule is found by its
// recorded id (a rule renamed in the dashboard is renamed back), then by
// name among the tagged ones, then (takeOver) by the id of the rule a
// previous controller made; it is created when missing, replaced (PUT)
// when any field differs (drift is repaired on every flush), and our
// rules no longer desired are deleted.
// A target that loses its last fragment deletes all of its rules, with
// the account and credentials recorded.
//
// Downstream ids recorded: accountId, credentials, and "rule:<name>" →
// the rule's id for every rule written.
package gatewayrule
