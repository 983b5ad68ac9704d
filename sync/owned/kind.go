package owned

import (
	"context"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Kind is what one single-owner kind adds to the shared flush: its spec
// (S), the object as the API returns it (O), how it tells them apart and
// its client calls. Every method but Place, Get, List, Create, Update and
// Delete is pure.
type Kind[S, O any] interface {
	// Names says how the kind's objects are named and recorded.
	Names() Names
	// Canonical normalises a decoded desired spec (the kind's Canonical).
	Canonical(spec S) S
	// Claim says what spec asks about objects conflux-sync did not create.
	Claim(spec S) Claim
	// Place resolves where spec's object lives and what writes it. It may
	// return spec completed with what it resolved (a tunnel's id), which
	// Create, Update and Diff then see.
	Place(ctx context.Context, req engine.Request, spec S) (S, Place, error)
	// Ref reads the id, label and comment of one object.
	Ref(obj O) Ref
	// IDs are the kind's own downstream ids for spec and obj (nil before
	// the object exists, and in checkpoints): recorded beside the shared
	// ones (see doc.go).
	IDs(spec S, obj *O) map[string]string

	// Get reads one object; nil, nil when it does not exist.
	Get(ctx context.Context, a *cfapi.Account, id string) (*O, error)
	// List returns the objects that may be spec's: those a create of spec
	// would collide with. exact is false when the API cannot filter
	// exactly, so that an unowned object in the list is not proof of a
	// clash (the create then decides).
	List(ctx context.Context, a *cfapi.Account, spec S) (found []O, exact bool, err error)
	// Create makes spec's object, with marker in its comment when
	// Names.Marked. A collision is Clash's error.
	Create(ctx context.Context, a *cfapi.Account, spec S, marker string) (O, error)
	// Update makes obj match spec (and, when Names.Marked, carry marker).
	Update(ctx context.Context, a *cfapi.Account, obj O, spec S, marker string) (O, error)
	// Delete removes the object; one already gone is no error.
	Delete(ctx context.Context, a *cfapi.Account, id string) error

	// Diff lists what Update would change in obj, remote value first
	// ("name a -> b"); none when obj matches spec.
	Diff(obj O, spec S, marker string) []string
	// Creates completes the plan line "create <noun> ..." for spec.
	Creates(spec S) string
	// Moved says why the recorded obj can no longer be spec's object (a
	// route cannot change its network): it is then deleted when ours and
	// another found or created. "" keeps it.
	Moved(obj O, spec S, prev map[string]string) string
	// Pick chooses among several objects List found that could each be
	// taken over or adopted (action says which), or says why it cannot.
	Pick(spec S, objs []O, action string) (*O, error)
	// Clash is the permanent error for an object in the way that is not
	// ours and that spec does not adopt; err is the API's answer, if any.
	Clash(spec S, err error) error
}

// Names says how plans, logs and recorded ids name a kind's objects.
type Names struct {
	// Kind is the target kind, e.g. "cloudflare.AccessApplication".
	Kind string
	// Noun names one object in plans, logs and errors: "Access application".
	Noun string
	// IDKey is the downstream id the object's id is recorded under
	// ("appId"), and the attribute naming it in log lines.
	IDKey string
	// LabelKey is the log attribute of Ref.Label ("domain").
	LabelKey string
	// Marked says the objects carry the ownership marker (cfapi.Marker)
	// in their comment. Then a listed object with the marker is ours, a
	// create needs no checkpoint, and an adopted object is checkpointed
	// as adopted before an update stamps the marker on it. Without a
	// comment, ownership lives in the recorded status alone: a create is
	// checkpointed at once.
	Marked bool
}

// Ref is what the shared flush reads of one object.
type Ref struct {
	ID string
	// Label names the object in plans: its domain, its network.
	Label string
	// Comment is where the ownership marker lives; "" for kinds that are
	// not Names.Marked.
	Comment string
}

// Claim is what a spec asks about objects conflux-sync did not create.
type Claim struct {
	// Adopt takes over, as adopted (never deleted), the one unowned object
	// List finds.
	Adopt bool
	// ID adopts exactly this object; it must exist.
	ID string
	// TakeOverID owns, as if created, the object with this id that a
	// previous controller created; gone, the flush goes on without it.
	TakeOverID string
	// TakeOverMarker owns, as if created, the listed object whose comment
	// contains this marker a previous controller wrote.
	TakeOverMarker string
}

// Place is where a spec's object lives and what writes it.
type Place struct {
	Account     string
	Credentials *api.SecretRef
	// IDs are recorded in the outcome beside the kind's IDs (the tunnel a
	// route points at); checkpoints leave them out, as they are not
	// written yet.
	IDs map[string]string
	// Waits, when not "", is the whole plan of a dry run: the object
	// depends on something the plan creates first.
	Waits string
}
