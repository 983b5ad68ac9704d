package accessgroup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

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
type Flusher = owned.Flusher[Spec, group]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Access group flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(groups{}, cfg.Clients, cfg.Logger)
}

// group is an Access group as v6 reads it by id; the other calls'
// answers (New, Update, List), the same object in other types, are read
// through it (cfapi.AsV6).
type group = zero_trust.AccessGroupGetResponse

// groups is the kind as owned.Flush sees it. Access groups have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type groups struct{}

var _ owned.Kind[Spec, group] = groups{}

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

func (groups) Ref(g group) owned.Ref {
	return owned.Ref{ID: g.ID, Label: g.Name}
}

// IDs record the group's name beside its id, for people reading the
// status.
func (groups) IDs(s Spec, _ *group) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (groups) Creates(s Spec) string { return s.Name }

// Moved is never: a group can be renamed and its rules replaced in place.
func (groups) Moved(group, Spec, map[string]string) string { return "" }

// Pick takes none when several groups share the name (the API allows it):
// which one is meant only spec.id can say.
func (groups) Pick(s Spec, found []group, action string) (*group, error) {
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
// answers [] for both). The rules are read as the API answered them, not
// through v6's AccessRule union (see cfapi.AccessRulesRaw).
func (groups) Diff(g group, s Spec, _ string) []string {
	var out []string
	if g.Name != s.Name {
		out = append(out, fmt.Sprintf("name %q -> %q", g.Name, s.Name))
	}
	for _, l := range []struct {
		field string
		have  string
		want  []json.RawMessage
	}{{"include", g.JSON.Include.Raw(), s.Include}, {"exclude", g.JSON.Exclude.Raw(), s.Exclude}, {"require", g.JSON.Require.Raw(), s.Require}} {
		if have, want := cfapi.AccessRulesHave(cfapi.AccessRulesRaw(l.have)), cfapi.AccessRulesWant(l.want); have != want {
			out = append(out, fmt.Sprintf("%s %s -> %s", l.field, have, want))
		}
	}
	return out
}

// Get reads one group; nil, nil when it does not exist.
func (groups) Get(ctx context.Context, a *cfapi.Account, id string) (*group, error) {
	g, err := cfapi.Get(ctx, "get Access group "+id, func(ctx context.Context) (*group, error) {
		return a.V6.ZeroTrust.Access.Groups.Get(ctx, id, zero_trust.AccessGroupGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || g == nil || *g == nil {
		return nil, err
	}
	return *g, nil
}

// List returns the groups named like spec (every page of them all: the
// API's name filter is not used, as v0 did not, so the match is ours).
func (groups) List(ctx context.Context, a *cfapi.Account, s Spec) ([]group, bool, error) {
	all, err := cfapi.ListAccessGroups(ctx, a)
	if err != nil {
		return nil, false, err
	}
	var out []group
	for _, l := range all {
		if l.Name == s.Name {
			g, err := cfapi.AsV6[group](l.JSON.RawJSON())
			if err != nil {
				return nil, false, err
			}
			out = append(out, g)
		}
	}
	return out, true, nil
}

func (groups) Create(ctx context.Context, a *cfapi.Account, s Spec, _ string) (group, error) {
	var g group
	err := cfapi.Call(ctx, "create Access group "+s.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.Groups.New(ctx, zero_trust.AccessGroupNewParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name),
			Include: ruleList(cfapi.AccessRulesAny(s.Include)), Exclude: ruleList(cfapi.AccessRulesAny(s.Exclude)),
			Require: ruleList(cfapi.AccessRulesAny(s.Require)),
		})
		if err != nil || res == nil {
			return err
		}
		g, err = cfapi.AsV6[group](res.JSON.RawJSON())
		return err
	})
	return g, err
}

// ruleList sends a spec's rule list (cfapi.AccessRulesAny) as given, an
// empty one as []: v6's rule parameters are its AccessRule union, and the
// spec's rules are the API's own objects, not built from it. (A variable:
// v6's param.Field type is internal and cannot be named.)
var ruleList = cf6.Raw[[]zero_trust.AccessRuleUnionParam]

// Update replaces the group's name and rules (the API's PUT).
func (groups) Update(ctx context.Context, a *cfapi.Account, old group, s Spec, _ string) (group, error) {
	var g group
	err := cfapi.Call(ctx, "update Access group "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.Groups.Update(ctx, old.ID, zero_trust.AccessGroupUpdateParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name),
			Include: ruleList(cfapi.AccessRulesAny(s.Include)), Exclude: ruleList(cfapi.AccessRulesAny(s.Exclude)),
			Require: ruleList(cfapi.AccessRulesAny(s.Require)),
		})
		if err != nil || res == nil {
			return err
		}
		g, err = cfapi.AsV6[group](res.JSON.RawJSON())
		return err
	})
	return g, err
}

// Delete removes the group; one already gone is done.
func (groups) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access group "+id, func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Access.Groups.Delete(ctx, id, zero_trust.AccessGroupDeleteParams{AccountID: cf6.F(a.ID)})
		return err
	}))
}
