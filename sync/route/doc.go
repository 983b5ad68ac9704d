// Package route is the cloudflare.NetworkRoute kind: one private-network
// route (Cloudflare "teamnet" route) to a tunnel per target, owned by one
// fragment.
//
// Spec (the JSON a producer sends; see Spec):
//
//	{"accountId": "",                   // "" = the tunnel's account, else the only configured one
//	 "network": "10.0.0.0/8",           // required, canonical CIDR (no host bits set)
//	 "tunnel": "ClusterTunnel/edge",    // a cloudflare.Tunnel target name ...
//	 "tunnelId": "<uuid>",              // ... or a tunnel id: exactly one of the two
//	 "virtualNetwork": "lab",           // a cloudflare.VirtualNetwork target name, else the
//	                                    // account's network of that name ...
//	 "virtualNetworkId": "",            // ... or its id; neither = the account's default
//	 "comment": "office LAN",
//	 "adopt": false,                    // take over an existing route for this network
//	 "takeOver": "[managed:NetworkRoute/edge-route]",
//	                                    // own the route whose comment holds this marker
//	 "credentials": {"namespace": "infra", "name": "cloudflare", "key": "token"}}
//	                                    // optional: API token from this Secret key; default
//	                                    // the tunnel target's credentials, else the static ones
//
// Aggregation: kind.OneOwner — the fragment registered first owns the
// target; every other fragment is a Conflict keyed "route". Desired is the
// owner's spec in canonical form (network and ids normalised), re-marshalled
// from Spec so the key order is fixed.
//
// The flush is sync/owned's (the contract every single-owner kind
// shares); this package supplies the spec, the diff and the client calls.
//
// spec.virtualNetwork is resolved at every flush (Place): the id the
// cloudflare.VirtualNetwork target of that name recorded, else the
// account's active network with that name. While neither exists the
// flush waits for that target (engine.WaitFor, like a tunnel not created
// yet) and is flushed again when the target records an outcome.
//
// Routes are written through the route-id endpoints
// (/accounts/{a}/teamnet/routes[/{id}]), not the retired CIDR-path ones,
// with cloudflare-go v6's zero_trust.NetworkRouteService: New, Get (the
// read by id), Edit (PATCH of tunnel_id and comment only), Delete, and
// List filtered by CIDR (network_subset and network_superset both the
// spec's network, is_deleted false, and the virtual network when one is
// known). The list's pages are asked for one by one with the flush's
// context, not through v6's ListAutoPaging, which sends every later page
// with context.Background() (it neither stops when leadership is lost
// nor lets cfapi.Call see that page's status and Retry-After) and always
// asks for one more, empty page. A listed route (v6's Teamnet) is kept as
// v6's Route, the type of the single read. The virtual network lookup
// by name is cfapi.FindVirtualNetwork (v6 as well); the tunnel is found
// through the recorded status of its cloudflare.Tunnel target, without a
// call.
//
// Ownership: the route's comment carries the marker
// (cfapi.Comment(marker, spec.comment)). An existing route for the same
// network that is not ours is a permanent clash unless the spec sets adopt;
// adopting stamps the marker. A route whose comment contains spec.takeOver
// (the marker a previous controller wrote) is owned as created, without a
// write: its comment stays until its tunnel changes, when ours is written.
// Downstream ids recorded:
//
//	accountId         the account
//	routeId           the route id
//	tunnelId          the tunnel it points at
//	network           the route's network
//	virtualNetworkId  the virtual network the spec asked for ("" = default)
//	created           "true" when conflux-sync created or took it over (it
//	                  is deleted when the target loses its last fragment);
//	                  "false" when adopted (it is then released, left in
//	                  place); without the key, the marker decides (cfapi.Created)
//	credentials       "namespace/name/key" of the Secret used, when one was
//	                  (cfapi.IDCredentials); the deletion uses it too
package route
