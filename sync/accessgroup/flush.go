package accessgroup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	IDGroup   = "groupId"
	IDName    = "name"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
}

// Flusher writes cloudflare.AccessGroup targets: the shared single-owner
// flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, cloudflare.AccessGroup]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access group flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(groups{}, cfg.Clients, cfg.Logger)
}

// groups is the kind as owned.Flush sees it. Access groups have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type groups struct{}

var _ owned.Kind[Spec, cloudflare.AccessGroup] = groups{}

func (groups) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Access group", IDKey: IDGroup, LabelKey: "name"}
}

func (groups) Canonical(s Spec) Spec { return Canonical(s) }

func (groups) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, ID: s.ID, TakeOverID: s.TakeOver}
}

func (groups) Place(_ context.Context, _ engine.Request, s Spec) (Spec, owned.Place, error) {
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials}, nil
}

func (groups) Ref(g cloudflare.AccessGroup) owned.Ref {
	return owned.Ref{ID: g.ID, Label: g.Name}
}

// IDs record the group's name beside its id, for people reading the
// status.
func (groups) IDs(s Spec, _ *cloudflare.AccessGroup) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (groups) Creates(s Spec) string { return s.Name }

// Moved is never: a group can be renamed and its rules replaced in place.
func (groups) Moved(cloudflare.AccessGroup, Spec, map[string]string) string { return "" }

// Pick takes none when several groups share the name (the API allows it):
// which one is meant only spec.id can say.
func (groups) Pick(s Spec, found []cloudflare.AccessGroup, action string) (*cloudflare.AccessGroup, error) {
	if len(found) == 1 {
		return &found[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d Access groups are named %q: set id to say which to %s", len(found), s.Name, action))
}

func (groups) Clash(s Spec, err error) error {
	msg := fmt.Sprintf("an Access group named %q exists and is not managed by conflux-sync; set adopt", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// Diff compares the name and the three rule lists, rule by rule in their
// canonical encoding (absent and empty lists are the same: the API
// answers [] for both).
func (groups) Diff(g cloudflare.AccessGroup, s Spec, _ string) []string {
	var out []string
	if g.Name != s.Name {
		out = append(out, fmt.Sprintf("name %q -> %q", g.Name, s.Name))
	}
	for _, l := range []struct {
		field string
		have  []any
		want  []json.RawMessage
	}{{"include", g.Include, s.Include}, {"exclude", g.Exclude, s.Exclude}, {"require", g.Require, s.Require}} {
		if have, want := cfapi.AccessRulesHave(l.have), cfapi.AccessRulesWant(l.want); have != want {
			out = append(out, fmt.Sprintf("%s %s -> %s", l.field, have, want))
		}
	}
	return out
}

// Get reads one group; nil, nil when it does not exist.
func (groups) Get(ctx context.Context, a *cfapi.Account, id string) (*cloudflare.AccessGroup, error) {
	return cfapi.Get(ctx, "get Access group "+id, func(ctx context.Context) (cloudflare.AccessGroup, error) {
		return a.API.GetAccessGroup(ctx, cloudflare.AccountIdentifier(a.ID), id)
	})
}

// List returns the groups named like spec (cloudflare-go pages through
// them all).
func (groups) List(ctx context.Context, a *cfapi.Account, s Spec) ([]cloudflare.AccessGroup, bool, error) {
	var all []cloudflare.AccessGroup
	err := cfapi.Call(ctx, "list Access groups", func(ctx context.Context) error {
		var err error
		all, _, err = a.API.ListAccessGroups(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListAccessGroupsParams{})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var out []cloudflare.AccessGroup
	for _, g := range all {
		if g.Name == s.Name {
			out = append(out, g)
		}
	}
	return out, true, nil
}

func (groups) Create(ctx context.Context, a *cfapi.Account, s Spec, _ string) (cloudflare.AccessGroup, error) {
	var g cloudflare.AccessGroup
	err := cfapi.Call(ctx, "create Access group "+s.Name, func(ctx context.Context) (err error) {
		g, err = a.API.CreateAccessGroup(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateAccessGroupParams{
			Name: s.Name, Include: cfapi.AccessRulesAny(s.Include), Exclude: cfapi.AccessRulesAny(s.Exclude), Require: cfapi.AccessRulesAny(s.Require),
		})
		return err
	})
	return g, err
}

// Update replaces the group's name and rules (the API's PUT).
func (groups) Update(ctx context.Context, a *cfapi.Account, old cloudflare.AccessGroup, s Spec, _ string) (cloudflare.AccessGroup, error) {
	var g cloudflare.AccessGroup
	err := cfapi.Call(ctx, "update Access group "+old.ID, func(ctx context.Context) (err error) {
		g, err = a.API.UpdateAccessGroup(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.UpdateAccessGroupParams{
			ID: old.ID, Name: s.Name, Include: cfapi.AccessRulesAny(s.Include), Exclude: cfapi.AccessRulesAny(s.Exclude), Require: cfapi.AccessRulesAny(s.Require),
		})
		return err
	})
	return g, err
}

// Delete removes the group; one already gone is done.
func (groups) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access group "+id, func(ctx context.Context) error {
		return a.API.DeleteAccessGroup(ctx, cloudflare.AccountIdentifier(a.ID), id)
	}))
}
