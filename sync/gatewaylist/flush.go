package gatewaylist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	// IDList is the list's id; a Gateway rule's $<target name> resolves
	// to it.
	IDList    = cfapi.IDGatewayList
	IDName    = "name"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
}

// Flusher writes cloudflare.GatewayList targets: the shared single-owner
// flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, remoteList]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Gateway list flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(lists{}, cfg.Clients, cfg.Logger)
}

// remoteList is a list with its items: the API answers a list without
// them, and its items from their own (paged) endpoint.
type remoteList struct {
	cloudflare.TeamsList
	items []cloudflare.TeamsListItem
}

// lists is the kind as owned.Flush sees it. The ownership marker lives in
// the list's description.
type lists struct{}

var _ owned.Kind[Spec, remoteList] = lists{}

func (lists) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Gateway list", IDKey: IDList, LabelKey: "name", Marked: true}
}

func (lists) Canonical(s Spec) Spec { return Canonical(s) }

func (lists) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, ID: s.ID, TakeOverID: s.TakeOver}
}

func (lists) Place(_ context.Context, _ engine.Request, s Spec) (Spec, owned.Place, error) {
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials}, nil
}

func (lists) Ref(l remoteList) owned.Ref {
	return owned.Ref{ID: l.ID, Label: l.Name, Comment: l.Description}
}

// IDs record the list's name beside its id, for people reading the
// status.
func (lists) IDs(s Spec, _ *remoteList) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (lists) Creates(s Spec) string {
	return fmt.Sprintf("%s (%s, %d items)", s.Name, s.Type, len(s.Items))
}

// Moved: a list's type cannot change; another type is another list.
func (lists) Moved(l remoteList, s Spec, _ map[string]string) string {
	if l.Type == s.Type {
		return ""
	}
	return fmt.Sprintf("its type is %s, the spec's %s (a list's type cannot change)", l.Type, s.Type)
}

// Pick takes none when several lists share the name (the API allows it):
// which one is meant only spec.id can say.
func (lists) Pick(s Spec, found []remoteList, action string) (*remoteList, error) {
	if len(found) == 1 {
		return &found[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d Gateway lists are named %q: set id to say which to %s", len(found), s.Name, action))
}

func (lists) Clash(s Spec, err error) error {
	msg := fmt.Sprintf("a Gateway list named %q exists and is not managed by conflux-sync; set adopt", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// itemChanges is what turns the remote items into the spec's: values to
// append and to remove, and values whose description changed.
type itemChanges struct {
	add     []cloudflare.TeamsListItem
	remove  []string
	changed []string
}

func diffItems(have []cloudflare.TeamsListItem, want []api.GatewayListItem) itemChanges {
	var c itemChanges
	remote := make(map[string]string, len(have))
	for _, it := range have {
		remote[it.Value] = it.Description
	}
	desired := make(map[string]bool, len(want))
	for _, it := range want {
		desired[it.Value] = true
		d, ok := remote[it.Value]
		switch {
		case !ok:
			c.add = append(c.add, cloudflare.TeamsListItem{Value: it.Value, Description: it.Description})
		case d != it.Description:
			c.changed = append(c.changed, it.Value)
		}
	}
	for _, it := range have {
		if !desired[it.Value] {
			c.remove = append(c.remove, it.Value)
		}
	}
	slices.Sort(c.remove)
	return c
}

// Diff compares the name, the description (with the marker) and the
// items as a set of values, each with its description.
func (lists) Diff(l remoteList, s Spec, marker string) []string {
	var out []string
	if l.Name != s.Name {
		out = append(out, fmt.Sprintf("name %q -> %q", l.Name, s.Name))
	}
	if desc := cfapi.Comment(marker, s.Description); l.Description != desc {
		out = append(out, fmt.Sprintf("description %q -> %q", l.Description, desc))
	}
	c := diffItems(l.items, s.Items)
	if len(c.add) > 0 {
		vals := make([]string, len(c.add))
		for i, it := range c.add {
			vals[i] = it.Value
		}
		out = append(out, "add items "+strings.Join(vals, ", "))
	}
	if len(c.remove) > 0 {
		out = append(out, "remove items "+strings.Join(c.remove, ", "))
	}
	if len(c.changed) > 0 {
		out = append(out, "describe items "+strings.Join(c.changed, ", ")+" anew")
	}
	return out
}

func teamsItems(items []api.GatewayListItem) []cloudflare.TeamsListItem {
	out := make([]cloudflare.TeamsListItem, 0, len(items))
	for _, it := range items {
		out = append(out, cloudflare.TeamsListItem{Value: it.Value, Description: it.Description})
	}
	return out
}

// items reads every item of list id (cloudflare-go pages through them).
func items(ctx context.Context, a *cfapi.Account, id string) ([]cloudflare.TeamsListItem, error) {
	var all []cloudflare.TeamsListItem
	err := cfapi.Call(ctx, "list items of Gateway list "+id, func(ctx context.Context) (err error) {
		all, _, err = a.API.ListTeamsListItems(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListTeamsListItemsParams{ListID: id})
		return err
	})
	return all, err
}

// Get reads one list and its items; nil, nil when it does not exist.
func (lists) Get(ctx context.Context, a *cfapi.Account, id string) (*remoteList, error) {
	l, err := cfapi.Get(ctx, "get Gateway list "+id, func(ctx context.Context) (cloudflare.TeamsList, error) {
		return a.API.GetTeamsList(ctx, cloudflare.AccountIdentifier(a.ID), id)
	})
	if err != nil || l == nil {
		return nil, err
	}
	its, err := items(ctx, a, id)
	if err != nil {
		return nil, cfapi.IgnoreNotFound(err)
	}
	return &remoteList{TeamsList: *l, items: its}, nil
}

// List returns the lists named like spec, each with its items.
func (lists) List(ctx context.Context, a *cfapi.Account, s Spec) ([]remoteList, bool, error) {
	var all []cloudflare.TeamsList
	err := cfapi.Call(ctx, "list Gateway lists", func(ctx context.Context) (err error) {
		all, _, err = a.API.ListTeamsLists(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.ListTeamListsParams{})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var out []remoteList
	for _, l := range all {
		if l.Name != s.Name {
			continue
		}
		its, err := items(ctx, a, l.ID)
		if err != nil {
			return nil, false, err
		}
		out = append(out, remoteList{TeamsList: l, items: its})
	}
	return out, true, nil
}

func (lists) Create(ctx context.Context, a *cfapi.Account, s Spec, marker string) (remoteList, error) {
	var l cloudflare.TeamsList
	err := cfapi.Call(ctx, "create Gateway list "+s.Name, func(ctx context.Context) (err error) {
		l, err = a.API.CreateTeamsList(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.CreateTeamsListParams{
			Name: s.Name, Type: s.Type, Description: cfapi.Comment(marker, s.Description), Items: teamsItems(s.Items),
		})
		return err
	})
	return remoteList{TeamsList: l, items: teamsItems(s.Items)}, err
}

// Update writes what differs, in as few calls as the API allows: a PUT
// for the name and description (with every item when an item's
// description changed: the PUT then replaces the items), and a PATCH that
// appends and removes items by value otherwise.
func (lists) Update(ctx context.Context, a *cfapi.Account, old remoteList, s Spec, marker string) (remoteList, error) {
	rc := cloudflare.AccountIdentifier(a.ID)
	desc := cfapi.Comment(marker, s.Description)
	c := diffItems(old.items, s.Items)
	// A changed item description is only written by a PUT with every
	// item (the PATCH appends and removes values); a changed value lies
	// in the spec, so the PUT's items are never empty (it omits an empty
	// list: clearing a list is the PATCH's job).
	replace := len(c.changed) > 0
	cur := old.TeamsList
	if old.Name != s.Name || old.Description != desc || replace {
		p := cloudflare.UpdateTeamsListParams{ID: old.ID, Name: s.Name, Type: s.Type, Description: desc}
		if replace {
			p.Items = teamsItems(s.Items)
		}
		err := cfapi.Call(ctx, "update Gateway list "+old.ID, func(ctx context.Context) (err error) {
			cur, err = a.API.UpdateTeamsList(ctx, rc, p)
			return err
		})
		if err != nil {
			return remoteList{}, err
		}
	}
	if !replace && (len(c.add) > 0 || len(c.remove) > 0) {
		err := cfapi.Call(ctx, "patch items of Gateway list "+old.ID, func(ctx context.Context) (err error) {
			cur, err = a.API.PatchTeamsList(ctx, rc, cloudflare.PatchTeamsListParams{ID: old.ID, Append: c.add, Remove: c.remove})
			return err
		})
		if err != nil {
			return remoteList{}, err
		}
	}
	return remoteList{TeamsList: cur, items: teamsItems(s.Items)}, nil
}

// codeInUse is the API's refusal to delete a list a rule still uses.
const codeInUse = 2002

// Delete removes the list; one already gone is done. A list a rule still
// refers to is refused by the API: retried (not held as permanent), as
// the rule's own target removes the reference.
func (lists) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	err := cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Gateway list "+id, func(ctx context.Context) error {
		return a.API.DeleteTeamsList(ctx, cloudflare.AccountIdentifier(a.ID), id)
	}))
	if cfapi.HasCode(err, codeInUse) {
		// %v, not %w: the API's 400 is permanent, this wait is not.
		return fmt.Errorf("Gateway list %s is still used by a Gateway rule; waiting for the rule to let go of it (%v)", id, err)
	}
	return err
}
