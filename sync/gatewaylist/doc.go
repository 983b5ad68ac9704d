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
// The flush is sync/owned's, over cloudflare-go v6's
// zero_trust.GatewayListService (New, Get, List, Update (PUT), Edit
// (PATCH), Delete on /accounts/{a}/gateway/lists) and its Items service
// (GET .../{id}/items). Where v6 differs from the API: its items call
// decodes the result as a list of lists of items, while the API answers a
// flat list (v6 drops every item), and it reads only the first page (the
// endpoint pages, by 50 unless asked). The items are therefore asked for
// page by page (page and per_page as v6 request options) and each page's
// result, which v6 keeps as it came, is decoded into v6's GatewayItem;
// result_info's total_pages ends the loop. v6's PUT has no type field:
// the API keeps the list's type (a changed type is a new list, below).
//
// The list's description carries the marker
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
