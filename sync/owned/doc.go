// Package owned is the flush every single-owner Cloudflare kind shares: a
// target is one downstream object, owned by one fragment, and a kind is
// only its spec, its diff and its client calls (Kind) over this one
// engine.Flusher. It keeps the sync contract in one place, so a new kind
// cannot forget a part of it:
//
//   - Ownership (DESIGN.md rule 6). An object is ours to change when
//     conflux-sync created it or the spec claims it (Claim): adopt (the
//     one unowned object in the way; "created" false, never deleted),
//     spec.id (exactly that one), takeOver (what a previous controller
//     created: by id or by the marker it left; owned as created).
//     Anything else in the way is the kind's Clash, a permanent error.
//   - Proof of ownership. A kind whose objects have a comment
//     (Names.Marked) stamps cfapi.Marker in it, so a listed object with the
//     marker is ours even when its status was lost; before an update
//     stamps the marker on an adopted object, the adoption is
//     checkpointed. A kind without one checkpoints a new object at once
//     (Request.Checkpoint) and deletes it again if that fails.
//   - Idempotence (rule 5). The recorded object is read back first, then
//     a takeover or spec.id, then List: a flush repeated after a crash or
//     a failover finds what the last one made instead of creating twice.
//   - Drift. Every flush reads the object back and updates it when
//     Kind.Diff finds a difference, whatever the recorded hash says.
//   - Deletion. No desired state deletes the recorded object when
//     cfapi.Created says it is ours, with the account and credentials it
//     was recorded with, and releases (leaves) an adopted one. An object
//     that cannot become the spec's (Kind.Moved) is deleted the same way
//     and another found or made; so is one in another account.
//   - Errors keep their class: cfapi.Call's for the API's answers,
//     engine.Permanent for what only a new fragment can fix (held until
//     the fragment changes).
//   - Dry run: the same path decides, writes are skipped and said as the
//     plan (the kind's calls refuse writes through the context as well).
//   - Secrets: Kind.Place names the credentials; they are resolved
//     through cfapi.Clients at flush time only, and recorded by reference
//     (cfapi.IDCredentials).
//
// Downstream ids recorded: cfapi.IDAccount, Names.IDKey (the object's id),
// cfapi.IDCreated, cfapi.IDCredentials when a Secret was used, the kind's
// Kind.IDs and the Place's IDs.
//
// A new kind, e.g. cloudflare.AccessGroup in sync/accessgroup:
//
//  1. its Spec in api, validation and Canonical, and kind.OneOwnerKind for
//     aggregation (the fragment registered first owns the target);
//  2. a Kind: Names; Claim from the spec's adopt/id/takeOver fields; Place
//     (the spec's account and credentials, or what another target
//     resolves to); Ref, Get, List, Create, Update, Delete with
//     cfapi.Call; Diff listing every managed field that differs, with the
//     API's defaults for absent values; Creates, Moved, Pick and Clash for
//     the plan lines and errors;
//  3. NewFlusher returning New(kind, clients, logger), registered in
//     server/sync.go;
//  4. tests against the emulator through cfapitest.Flow: the shared
//     contract is tested here, over a fake kind, so a kind's tests cover
//     its fields, its diff and its API's answers.
//
// sync/access (no comment: ownership in the status) and sync/route (the
// marker in the route's comment) are the two shapes to copy from.
package owned
