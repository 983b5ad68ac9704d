package owned

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Flusher is the engine.Flusher of one single-owner kind.
type Flusher[S, O any] struct {
	kind    Kind[S, O]
	names   Names
	clients *cfapi.Clients
	log     *slog.Logger
}

// New returns the flusher of k, writing through clients; log nil
// discards.
func New[S, O any](k Kind[S, O], clients *cfapi.Clients, log *slog.Logger) *Flusher[S, O] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Flusher[S, O]{kind: k, names: k.Names(), clients: clients, log: log}
}

// Kind returns the target kind (Names.Kind).
func (f *Flusher[S, O]) Kind() string { return f.names.Kind }

// flush is one Flush call's state.
type flush[S, O any] struct {
	*Flusher[S, O]
	req    engine.Request
	log    *slog.Logger
	marker string
}

// Flush makes the object match req.Result.Desired; with no desired state
// it deletes the object if ours and releases it if adopted. A dry run
// decides the same, returns it as the plan and writes nothing.
func (f *Flusher[S, O]) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	if req.ClusterID == "" {
		return engine.Outcome{}, errors.New("cluster id not known yet: cannot build the ownership marker")
	}
	fl := &flush[S, O]{Flusher: f, req: req, log: f.log.With("target", req.Target.String()), marker: cfapi.Marker(req.ClusterID)}
	var prev map[string]string
	if req.Prev != nil {
		prev = req.Prev.DownstreamIDs
	}
	if req.Result.Desired == nil {
		line, err := fl.remove(ctx, prev)
		if err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: planOf(line)}, nil
	}
	var spec S
	if err := json.Unmarshal(req.Result.Desired, &spec); err != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired state: %w", err))
	}
	spec, at, err := f.kind.Place(ctx, req, f.kind.Canonical(spec))
	if err != nil {
		return engine.Outcome{}, err
	}
	if at.Waits != "" {
		return engine.Outcome{Plan: []string{at.Waits}}, nil
	}
	a, err := f.clients.For(ctx, at.Account, at.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	claim := f.kind.Claim(spec)
	// The recorded object is no longer the one wanted (another account,
	// or the spec names another one to adopt): let it go first.
	var plan []string
	if id := prev[f.names.IDKey]; id != "" && (prev[cfapi.IDAccount] != "" && prev[cfapi.IDAccount] != a.ID || claim.ID != "" && claim.ID != id) {
		line, err := fl.remove(ctx, prev)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
		prev = nil
	}

	obj, created, lines, err := fl.find(ctx, a, spec, claim, prev)
	if err != nil {
		return engine.Outcome{}, err
	}
	plan = append(plan, lines...)
	// ids are the downstream ids with obj's id and created still to add.
	ids := func(obj *O) map[string]string {
		out := map[string]string{cfapi.IDAccount: a.ID}
		maps.Copy(out, f.kind.IDs(spec, obj))
		return cfapi.SetCredentials(out, at.Credentials)
	}
	if obj == nil {
		plan = append(plan, "create "+f.names.Noun+" "+f.kind.Creates(spec))
		if req.DryRun {
			// No id before the create.
			out := ids(nil)
			maps.Copy(out, at.IDs)
			out[cfapi.IDCreated] = cfapi.CreatedValue(true)
			return engine.Outcome{DownstreamIDs: out, Plan: plan}, nil
		}
		if obj, err = fl.create(ctx, a, spec, ids(nil)); err != nil {
			return engine.Outcome{}, err
		}
		created = true
	} else if diffs := f.kind.Diff(*obj, spec, fl.marker); len(diffs) > 0 {
		r := f.kind.Ref(*obj)
		plan = append(plan, fmt.Sprintf("update %s %s (id %s): %s", f.names.Noun, r.Label, r.ID, strings.Join(diffs, ", ")))
		if !req.DryRun {
			if f.names.Marked && !created && !cfapi.Owned(r.Comment, fl.marker) && req.Checkpoint != nil {
				// Updating stamps our marker on an adopted object: record
				// first that we did not make it, so that a crash now cannot
				// later get it deleted.
				if err := req.Checkpoint(ctx, withID(ids(nil), f.names.IDKey, r.ID, false)); err != nil {
					return engine.Outcome{}, err
				}
			}
			updated, err := f.kind.Update(ctx, a, *obj, spec, fl.marker)
			if err != nil {
				return engine.Outcome{}, err
			}
			obj = &updated
			fl.log.Info("updated "+f.names.Noun, f.names.IDKey, r.ID, f.names.LabelKey, r.Label, "changes", diffs)
		}
	}
	out := withID(ids(obj), f.names.IDKey, f.kind.Ref(*obj).ID, created)
	maps.Copy(out, at.IDs)
	return engine.Outcome{DownstreamIDs: out, Plan: plan}, nil
}

// withID adds the object's id and whether it is ours to delete to ids.
func withID(ids map[string]string, key, id string, created bool) map[string]string {
	ids[key] = id
	ids[cfapi.IDCreated] = cfapi.CreatedValue(created)
	return ids
}

// planOf is the plan of one action; "" is none.
func planOf(line string) []string {
	if line == "" {
		return nil
	}
	return []string{line}
}

// find returns the object to manage and whether we created (or took
// over) it; nil when one must be created. plan says what finding it did:
// delete a recorded object that moved, take over or adopt one. A dry run
// deletes nothing.
func (fl *flush[S, O]) find(ctx context.Context, a *cfapi.Account, spec S, claim Claim, prev map[string]string) (obj *O, created bool, plan []string, err error) {
	k, n := fl.kind, fl.names
	// gone is a recorded object this flush deletes; a dry run still
	// lists it.
	var gone string
	if id := prev[n.IDKey]; id != "" {
		obj, err := k.Get(ctx, a, id)
		if err != nil {
			return nil, false, nil, err
		}
		if obj != nil {
			r := k.Ref(*obj)
			mine := cfapi.Created(prev, fl.marked(r))
			why := k.Moved(*obj, spec, prev)
			if why == "" {
				return obj, mine || claim.takes(r), nil, nil
			}
			// It cannot become spec's object: the old one goes (or is
			// released, if adopted) and the search goes on.
			if mine {
				gone = r.ID
				plan = append(plan, fmt.Sprintf("delete %s %s (id %s): %s", n.Noun, r.Label, r.ID, why))
				if !fl.req.DryRun {
					if err := k.Delete(ctx, a, r.ID); err != nil {
						return nil, false, nil, err
					}
					fl.log.Info("deleted "+n.Noun+": "+why, n.IDKey, r.ID, n.LabelKey, r.Label)
				}
			}
		}
		// Gone (deleted out of band): look again as if new.
	}
	if claim.TakeOverID != "" {
		obj, err := k.Get(ctx, a, claim.TakeOverID)
		if err != nil {
			return nil, false, nil, err
		}
		if obj != nil {
			return obj, true, append(plan, fl.tookOver(k.Ref(*obj), "spec.takeOver names it")), nil
		}
	}
	if claim.ID != "" {
		obj, err := k.Get(ctx, a, claim.ID)
		if err != nil {
			return nil, false, nil, err
		}
		if obj == nil {
			return nil, false, nil, engine.Permanent(fmt.Errorf("%s %s (spec.id) does not exist in account %s", n.Noun, claim.ID, a.ID))
		}
		r := k.Ref(*obj)
		return obj, false, append(plan, fmt.Sprintf("adopt %s %s (id %s, named by spec.id)", n.Noun, r.Label, r.ID)), nil
	}
	found, exact, err := k.List(ctx, a, spec)
	if err != nil {
		return nil, false, nil, err
	}
	var taken, unowned []O
	for _, o := range found {
		switch r := k.Ref(o); {
		case r.ID == gone:
		case fl.marked(r):
			return &o, true, plan, nil
		case claim.TakeOverMarker != "" && strings.Contains(r.Comment, claim.TakeOverMarker):
			taken = append(taken, o)
		default:
			unowned = append(unowned, o)
		}
	}
	if len(taken) > 0 {
		obj, err := fl.pick(spec, taken, "take over")
		if err != nil {
			return nil, false, nil, err
		}
		return obj, true, append(plan, fl.tookOver(k.Ref(*obj), "its comment carries "+claim.TakeOverMarker)), nil
	}
	switch {
	case len(unowned) == 0, !claim.Adopt && !exact:
		// Nothing in the way, or only the create can tell.
		return nil, false, plan, nil
	case !claim.Adopt:
		return nil, false, nil, k.Clash(spec, nil)
	}
	obj, err = fl.pick(spec, unowned, "adopt")
	if err != nil {
		return nil, false, nil, err
	}
	r := k.Ref(*obj)
	return obj, false, append(plan, fmt.Sprintf("adopt %s %s (id %s)", n.Noun, r.Label, r.ID)), nil
}

// marked reports whether the object carries our marker.
func (fl *flush[S, O]) marked(r Ref) bool {
	return fl.names.Marked && cfapi.Owned(r.Comment, fl.marker)
}

// takes reports whether the object is the one c takes over.
func (c Claim) takes(r Ref) bool {
	return c.TakeOverID != "" && r.ID == c.TakeOverID ||
		c.TakeOverMarker != "" && strings.Contains(r.Comment, c.TakeOverMarker)
}

// pick is the one object of objs, else the kind's choice.
func (fl *flush[S, O]) pick(spec S, objs []O, action string) (*O, error) {
	if len(objs) == 1 {
		return &objs[0], nil
	}
	return fl.kind.Pick(spec, objs, action)
}

// tookOver logs a take-over (outside a dry run) and returns its plan line.
func (fl *flush[S, O]) tookOver(r Ref, why string) string {
	if !fl.req.DryRun {
		fl.log.Info("took over "+fl.names.Noun, fl.names.IDKey, r.ID, fl.names.LabelKey, r.Label)
	}
	return fmt.Sprintf("take over %s %s (id %s: %s)", fl.names.Noun, r.Label, r.ID, why)
}

// create makes spec's object. An object without a comment to carry the
// marker is checkpointed as ours at once; ids are the ids to record
// without its id.
func (fl *flush[S, O]) create(ctx context.Context, a *cfapi.Account, spec S, ids map[string]string) (*O, error) {
	k, n := fl.kind, fl.names
	obj, err := k.Create(ctx, a, spec, fl.marker)
	if err != nil {
		return nil, err
	}
	id := k.Ref(obj).ID
	fl.log.Info("created "+n.Noun, n.IDKey, id, n.LabelKey, k.Ref(obj).Label)
	if n.Marked || fl.req.Checkpoint == nil {
		return &obj, nil
	}
	// Nothing downstream marks the object as ours: record it before
	// anything else can fail.
	if cerr := fl.req.Checkpoint(ctx, withID(ids, n.IDKey, id, true)); cerr != nil {
		// Unrecorded, the object would look hand-made next time and clash
		// forever: undo the create while we still know it is ours.
		if derr := k.Delete(ctx, a, id); derr != nil {
			return nil, fmt.Errorf("record new %s %s: %w (and deleting it again failed: %v)", n.Noun, id, cerr, derr)
		}
		return nil, fmt.Errorf("record new %s %s (deleted it again): %w", n.Noun, id, cerr)
	}
	return &obj, nil
}

// remove deletes the recorded object when it is ours, with the
// credentials it was recorded with; an adopted one is released, left in
// place. It says what it did ("" for nothing); a dry run only says it.
func (fl *flush[S, O]) remove(ctx context.Context, prev map[string]string) (string, error) {
	k, n := fl.kind, fl.names
	id := prev[n.IDKey]
	if id == "" {
		return "", nil
	}
	release := func() (string, error) {
		if !fl.req.DryRun {
			fl.log.Info("released adopted "+n.Noun, n.IDKey, id)
		}
		return fmt.Sprintf("release adopted %s %s (left in place, no write)", n.Noun, id), nil
	}
	// Without a marker to read back, only the record says it is ours.
	if prev[cfapi.IDCreated] == "false" || !n.Marked && !cfapi.Created(prev, false) {
		return release()
	}
	creds, err := cfapi.CredentialsOf(prev)
	if err != nil {
		return "", err
	}
	a, err := fl.clients.For(ctx, prev[cfapi.IDAccount], creds)
	if err != nil {
		return "", err
	}
	plan, label := "delete "+n.Noun+" "+id, ""
	if n.Marked {
		obj, err := k.Get(ctx, a, id)
		if err != nil || obj == nil {
			return "", err
		}
		r := k.Ref(*obj)
		if !cfapi.Created(prev, fl.marked(r)) {
			return release()
		}
		plan, label = fmt.Sprintf("delete %s %s (id %s)", n.Noun, r.Label, id), r.Label
	}
	if fl.req.DryRun {
		return plan, nil
	}
	if err := k.Delete(ctx, a, id); err != nil {
		return "", err
	}
	fl.log.Info("deleted "+n.Noun, n.IDKey, id, n.LabelKey, label)
	return plan, nil
}
