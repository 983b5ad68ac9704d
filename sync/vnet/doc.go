// Package vnet is the cloudflare.VirtualNetwork kind: one Zero Trust
// virtual network (Cloudflare "teamnet" virtual network, which keeps
// overlapping private routes apart) per target, owned by one fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",              // "" = the only configured account
//	 "name": "staging",            // required; unique among the account's networks
//	 "comment": "staging VPCs",    // at most 100 characters
//	 "isDefaultNetwork": false,    // true: the account's default (the old one stops being it)
//	 "adopt": false,               // take over an existing network with this name
//	 "id": "",                     // adopt exactly this network (a UUID)
//	 "takeOver": "",               // own, as created, this network a previous controller made
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                               // optional: API token from this Secret key (accountId required)
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "virtualNetwork".
//
// The flush is sync/owned's (the contract every single-owner kind
// shares); this package supplies the spec, the diff and the client calls:
// cloudflare-go v6's zero_trust.NetworkVirtualNetworkService (New, Edit,
// Delete, List, Get on /accounts/{a}/teamnet/virtual_networks), the
// first kind moved to v6 (the recipe is in sync/cfapi's doc).
//
// Ownership: the network's comment carries the marker
// (cfapi.Comment(marker, spec.comment)). A network with the spec's name
// that is not ours is a permanent clash unless the spec sets adopt.
//
// isDefaultNetwork true makes the network the default, and drift that
// takes the flag away is repaired. false never removes it: the API only
// moves the flag to another network. Deleting a network the API refuses
// to delete — the account's default, or one routes are still in (a
// NetworkRoute target deleted at the same time) — is retried with
// backoff, not held as permanent: either resolves without a new fragment.
//
// Routes name a network by this kind's target name
// (NetworkRoute spec.virtualNetwork): they read the id recorded here
// (cfapi.ResolveVirtualNetwork) and wait for it while it is not created.
//
// Downstream ids recorded:
//
//	accountId         the account
//	virtualNetworkId  the network's id
//	name              the network's name
//	created           "true" when conflux-sync created or took it over (it
//	                  is deleted when the target loses its last fragment);
//	                  "false" when adopted (it is then released, left in place)
//	credentials       "namespace/name/key" of the Secret used, when one was
package vnet
