// Package gatewaylist is the cloudflare.GatewayList kind: one Zero Trust
// Gateway list (account level, /accounts/{a}/gateway/lists: a typed set
// of values that Gateway rule expressions refer to) per target, owned by
// one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",              // "" = the only configured account
//	 "name": "blocked-domains",    // required
//	 "description": "",            // at most 100 characters
//	 "type": "DOMAIN",             // required: SERIAL, URL, DOMAIN, EMAIL or IP; cannot change
//	 "items": [{"value": "bad.example", "description": "phishing"}],
//	                               // a set: values unique, checked for the type
//	 "adopt": false,               // take over an existing list with this name
//	 "id": "",                     // adopt exactly this list (a UUID)
//	 "takeOver": "",               // own, as created, this list a previous controller made
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                               // optional: API token from this Secret key (accountId required)
//
// Aggregation: kind.OneOwner; desired is the owner's spec with the type
// upper case and the items sorted by value.
//
// The flush is sync/owned's. The list's description carries the marker
// (cfapi.Comment(marker, spec.description)). Items are compared as a set
// of values: values added and removed are one PATCH (append, remove); a
// changed item description needs the PUT with every item (the PATCH
// cannot change one). A list whose type differs from the spec's is
// replaced (deleted when ours, another created).
//
// Downstream ids recorded: accountId, listId (what a Gateway rule's
// $<target name> resolves to), name, created, credentials (see
// sync/owned).
package gatewaylist
