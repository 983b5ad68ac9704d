// Package dns is the cloudflare.DNSRecord kind: DNS records in one
// Cloudflare zone, contributed by many producers and written in batches.
//
// # Target
//
// A target is one zone: its name is the zone name, lower-case without a
// trailing dot, e.g. "example.com". One target per zone lets every change of
// a zone go out through POST /zones/{zone}/dns_records/batch, at most
// MaxBatch operations a call.
//
// # Spec
//
// A fragment spec (Spec) lists records of that zone:
//
//	{"accountId": "",  // optional; empty = the only configured account
//	 "records": [
//	   {"name": "app.example.com", "type": "CNAME", "tunnel": "ClusterTunnel/edge", "proxied": true},
//	   {"name": "api.example.com", "type": "A", "content": "203.0.113.7", "ttl": 300,
//	    "comment": "team api", "tags": ["team:api"]},
//	   {"name": "mail.example.com", "type": "MX", "content": "mx1.example.net", "priority": 10},
//	   {"name": "_sip._tcp.example.com", "type": "SRV",
//	    "data": {"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com"}},
//	   {"name": "example.com", "type": "CAA", "data": {"flags": 0, "tag": "issue", "value": "letsencrypt.org"}},
//	   {"name": "legacy.example.com", "type": "CNAME", "content": "old.example.net", "adopt": true},
//	   {"name": "web.example.com", "type": "CNAME", "tunnel": "ClusterTunnel/edge", "proxied": true,
//	    "takeOver": {"registry": "cfargotunnel"}}
//	 ]}
//
// name is a fully qualified name inside the zone ("@" and relative names
// are refused). type is every type Cloudflare serves: A, AAAA, CNAME, MX,
// NS, PTR, TXT and OPENPGPKEY take content (MX and URI need priority);
// CAA, CERT, DNSKEY, DS, HTTPS, LOC, NAPTR, SMIMEA, SSHFP, SRV, SVCB, TLSA
// and URI take data, an object with the type's fields as the Cloudflare API
// names them (dataTypes lists them with their ranges; docs/api.md has the
// table), from which Cloudflare builds the content. For a content type
// exactly one of content and tunnel is given; tunnel (CNAME only) names a
// cloudflare.Tunnel target and becomes "<tunnel id>.cfargotunnel.com" at
// flush time. Only A, AAAA and CNAME may be proxied. ttl is 1 (automatic,
// the default) or 60..86400 (the API's 30 for Enterprise zones is refused:
// the kind does not know a zone's plan); proxied records always get ttl 1,
// as the API does. adopt takes over an existing record that conflux-sync
// did not create.
//
// The data of a data type is compared with what the API returns field by
// field (numbers by value, host names without case or trailing dot, hex
// without case), never through the content the API builds, so a record is
// written only when a field differs. Records of one name and type are told
// apart by their data's zone-file form ("10 5 5060 sip.example.com"), which
// also names them in plans and downstream ids.
//
// credentials (optional, {"namespace", "name", "key"}) names a Kubernetes
// Secret key holding the API token for the zone, instead of the server's
// static credentials; the account must then be named (by a fragment's
// accountId, or by the tunnel of a tunnel CNAME).
//
// # Aggregation
//
// Records are keyed by (name, type). One fragment owns a key: the one
// registered first (lowest CreateIndex, then source key); the records of
// every other fragment on that key are dropped and reported as a Conflict
// keyed "name TYPE", unless they are exactly the records already held
// (agreement, as when several Ingresses route paths of one host). A CNAME must be alone on its name, so a CNAME key also
// clashes with any other type on that name across fragments, the older
// fragment winning. All fragments must name the same account (or none): the
// records of a fragment naming a different account are a Conflict keyed
// "accountId". A zone is written with one token: Desired carries the
// credentials of the first fragment (lowest CreateIndex, then source key)
// that names a Secret; fragments naming other Secrets are not a conflict,
// their Secrets are just not used. Without any, a zone with tunnel CNAMEs
// uses the credentials recorded for the first such record's tunnel (in
// Desired order) that has some, provided it is in the zone's account.
// Desired is the canonical JSON of Desired: records sorted by
// (name, type, content, tunnel) with defaults filled in, so equal intents
// hash equally.
//
// # Ownership
//
// Every record conflux-sync writes carries the cluster's marker
// (cfapi.Marker) at the front of its comment. A record is ours when its
// comment has the marker or its id is recorded in the target's status.
// Records that are not ours are never changed or deleted: a desired record
// that would collide with one is reported (the flush fails permanently,
// after writing everything else) unless the record sets adopt, which patches
// the existing record and stamps the marker on it. Ours that no fragment
// wants any more are deleted.
//
// # Takeover
//
// A record's takeOver ({"recordIds": [...], "registry": "cfargotunnel" |
// "strrl"}) is the evidence that an existing record of its name and type
// was made for it by the controller conflux-sync replaces: its id is among
// recordIds, or the registry TXT record of that controller claims it
// ("_managed.<name>" with {"DnsId": <its id>, "TunnelId": <the tunnel's
// id>}; "_ctic_managed.<name>" with exactly STRRL's entry for the tunnel's
// Cloudflare name). A proven record is ours as it stands: recorded by id,
// and not patched for its comment alone (a record that lacks our marker is
// compared without the comment while its desired record carries
// takeOver); any other difference is patched, writing our comment. When a
// record of ours is deleted, the registry TXT records claiming it go in
// the same batch; otherwise registry records are never touched.
//
// # Downstream ids
//
// Outcome.DownstreamIDs holds "accountId", "zoneId", "credentials" (the
// Secret used, see cfapi.IDCredentials, when one was), and for every record
// we own after the flush "<name> <type> <content>" → record id. Removing
// the zone's last fragment deletes our records with the recorded account
// and credentials.
package dns
