package gatewaylist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

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
//
// The list is v6's zero_trust.GatewayList with its Items filled from the
// list's own (paged) items endpoint: the API answers a list without them.
type Flusher = owned.Flusher[Spec, zero_trust.GatewayList]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the Gateway list flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(lists{}, cfg.Clients, cfg.Logger)
}

// lists is the kind as owned.Flush sees it. The ownership marker lives in
// the list's description.
type lists struct{}

var _ owned.Kind[Spec, zero_trust.GatewayList] = lists{}

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

func (lists) Ref(l zero_trust.GatewayList) owned.Ref {
	return owned.Ref{ID: l.ID, Label: l.Name, Comment: l.Description}
}

// IDs record the list's name beside its id, for people reading the
// status.
func (lists) IDs(s Spec, _ *zero_trust.GatewayList) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (lists) Creates(s Spec) string {
	return fmt.Sprintf("%s (%s, %d items)", s.Name, s.Type, len(s.Items))
}

// Moved: a list's type cannot change; another type is another list.
func (lists) Moved(l zero_trust.GatewayList, s Spec, _ map[string]string) string {
	if string(l.Type) == s.Type {
		return ""
	}
	return fmt.Sprintf("its type is %s, the spec's %s (a list's type cannot change)", l.Type, s.Type)
}

// Pick takes none when several lists share the name (the API allows it):
// which one is meant only spec.id can say.
func (lists) Pick(s Spec, found []zero_trust.GatewayList, action string) (*zero_trust.GatewayList, error) {
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
	add     []api.GatewayListItem
	remove  []string
	changed []string
}

func diffItems(have []zero_trust.GatewayItem, want []api.GatewayListItem) itemChanges {
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
			c.add = append(c.add, it)
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
func (lists) Diff(l zero_trust.GatewayList, s Spec, marker string) []string {
	var out []string
	if l.Name != s.Name {
		out = append(out, fmt.Sprintf("name %q -> %q", l.Name, s.Name))
	}
	if desc := cfapi.Comment(marker, s.Description); l.Description != desc {
		out = append(out, fmt.Sprintf("description %q -> %q", l.Description, desc))
	}
	c := diffItems(l.Items, s.Items)
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

// gatewayItems are the spec's items as the list now holds them.
func gatewayItems(items []api.GatewayListItem) []zero_trust.GatewayItem {
	out := make([]zero_trust.GatewayItem, 0, len(items))
	for _, it := range items {
		out = append(out, zero_trust.GatewayItem{Value: it.Value, Description: it.Description})
	}
	return out
}

// itemParams builds the items of a request body from the spec's, by the
// item type v6 has for each call (create, PUT and PATCH append each have
// their own).
func itemParams[P any](items []api.GatewayListItem, item func(api.GatewayListItem) P) []P {
	out := make([]P, 0, len(items))
	for _, it := range items {
		out = append(out, item(it))
	}
	return out
}

// described is an item's description as a body field (field is cf6.F):
// left out when the item has none, as the API answers such an item
// without one.
func described[F any](it api.GatewayListItem, field func(string) F) (f F) {
	if it.Description != "" {
		f = field(it.Description)
	}
	return f
}

// itemsPerPage is the page size asked of .../items: the API's largest.
const itemsPerPage = 1000

// items reads every item of list id, page by page.
//
// v6 cannot read them by itself (see doc.go): its items call expects the
// result to be a list of lists of items, while the API answers a flat
// list (every item is then dropped), and it reads one page only (the
// endpoint pages by 50 unless asked). So each page is asked for with page
// and per_page through v6's request options, and its result, which v6
// keeps as it came, is decoded into v6's own item type; result_info says
// when the last page is read.
func items(ctx context.Context, a *cfapi.Account, id string) ([]zero_trust.GatewayItem, error) {
	var all []zero_trust.GatewayItem
	err := cfapi.Call(ctx, "list items of Gateway list "+id, func(ctx context.Context) error {
		all = nil
		for page := 1; ; page++ {
			res, err := a.V6.ZeroTrust.Gateway.Lists.Items.List(ctx, id, zero_trust.GatewayListItemListParams{AccountID: cf6.F(a.ID)},
				option.WithQuery("page", strconv.Itoa(page)), option.WithQuery("per_page", strconv.Itoa(itemsPerPage)))
			if err != nil {
				return err
			}
			var got []zero_trust.GatewayItem
			if raw := res.JSON.Result.Raw(); raw != "" && raw != "null" {
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					return fmt.Errorf("reading page %d of the items: %w", page, err)
				}
			}
			all = append(all, got...)
			var info struct {
				TotalPages int `json:"total_pages"`
			}
			if f, ok := res.JSON.ExtraFields["result_info"]; ok {
				if err := json.Unmarshal([]byte(f.Raw()), &info); err != nil {
					return fmt.Errorf("reading the result_info of page %d of the items: %w", page, err)
				}
			}
			if len(got) == 0 || page >= info.TotalPages {
				return nil
			}
		}
	})
	return all, err
}

// Get reads one list and its items; nil, nil when it does not exist.
func (lists) Get(ctx context.Context, a *cfapi.Account, id string) (*zero_trust.GatewayList, error) {
	l, err := cfapi.Get(ctx, "get Gateway list "+id, func(ctx context.Context) (*zero_trust.GatewayList, error) {
		return a.V6.ZeroTrust.Gateway.Lists.Get(ctx, id, zero_trust.GatewayListGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || l == nil || *l == nil {
		return nil, err
	}
	its, err := items(ctx, a, id)
	if err != nil {
		return nil, cfapi.IgnoreNotFound(err)
	}
	out := **l
	out.Items = its
	return &out, nil
}

// List returns the lists named like spec, each with its items (the API
// answers every list in one page).
func (lists) List(ctx context.Context, a *cfapi.Account, s Spec) ([]zero_trust.GatewayList, bool, error) {
	var all []zero_trust.GatewayList
	err := cfapi.Call(ctx, "list Gateway lists", func(ctx context.Context) error {
		page, err := a.V6.ZeroTrust.Gateway.Lists.List(ctx, zero_trust.GatewayListListParams{AccountID: cf6.F(a.ID)})
		if page != nil {
			all = page.Result
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var out []zero_trust.GatewayList
	for _, l := range all {
		if l.Name != s.Name {
			continue
		}
		its, err := items(ctx, a, l.ID)
		if err != nil {
			return nil, false, err
		}
		l.Items = its
		out = append(out, l)
	}
	return out, true, nil
}

func (lists) Create(ctx context.Context, a *cfapi.Account, s Spec, marker string) (zero_trust.GatewayList, error) {
	var l zero_trust.GatewayList
	err := cfapi.Call(ctx, "create Gateway list "+s.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Gateway.Lists.New(ctx, zero_trust.GatewayListNewParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Type: cf6.F(zero_trust.GatewayListNewParamsType(s.Type)),
			Description: cf6.F(cfapi.Comment(marker, s.Description)),
			Items: cf6.F(itemParams(s.Items, func(it api.GatewayListItem) zero_trust.GatewayListNewParamsItem {
				return zero_trust.GatewayListNewParamsItem{Value: cf6.F(it.Value), Description: described(it, cf6.F[string])}
			})),
		})
		if res != nil {
			l = zero_trust.GatewayList{ID: res.ID, Name: res.Name, Description: res.Description, Type: zero_trust.GatewayListType(res.Type),
				CreatedAt: res.CreatedAt, UpdatedAt: res.UpdatedAt}
		}
		return err
	})
	l.Items = gatewayItems(s.Items)
	return l, err
}

// Update writes what differs, in as few calls as the API allows: a PUT
// for the name and description (with every item when an item's
// description changed: the PUT then replaces the items), and a PATCH that
// appends and removes items by value otherwise. The PUT carries no type
// (v6's has none; the API keeps the list's, which Moved has checked).
func (lists) Update(ctx context.Context, a *cfapi.Account, old zero_trust.GatewayList, s Spec, marker string) (zero_trust.GatewayList, error) {
	svc := a.V6.ZeroTrust.Gateway.Lists
	desc := cfapi.Comment(marker, s.Description)
	c := diffItems(old.Items, s.Items)
	// A changed item description is only written by a PUT with every
	// item (the PATCH appends and removes values); a changed value lies
	// in the spec, so the PUT's items are never empty (clearing a list
	// is the PATCH's job).
	replace := len(c.changed) > 0
	cur := old
	if old.Name != s.Name || old.Description != desc || replace {
		p := zero_trust.GatewayListUpdateParams{AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Description: cf6.F(desc)}
		if replace {
			p.Items = cf6.F(itemParams(s.Items, func(it api.GatewayListItem) zero_trust.GatewayListUpdateParamsItem {
				return zero_trust.GatewayListUpdateParamsItem{Value: cf6.F(it.Value), Description: described(it, cf6.F[string])}
			}))
		}
		err := cfapi.Call(ctx, "update Gateway list "+old.ID, func(ctx context.Context) error {
			res, err := svc.Update(ctx, old.ID, p)
			if res != nil {
				cur = *res
			}
			return err
		})
		if err != nil {
			return zero_trust.GatewayList{}, err
		}
	}
	if !replace && (len(c.add) > 0 || len(c.remove) > 0) {
		p := zero_trust.GatewayListEditParams{AccountID: cf6.F(a.ID)}
		if len(c.add) > 0 {
			p.Append = cf6.F(itemParams(c.add, func(it api.GatewayListItem) zero_trust.GatewayListEditParamsAppend {
				return zero_trust.GatewayListEditParamsAppend{Value: cf6.F(it.Value), Description: described(it, cf6.F[string])}
			}))
		}
		if len(c.remove) > 0 {
			p.Remove = cf6.F(c.remove)
		}
		err := cfapi.Call(ctx, "patch items of Gateway list "+old.ID, func(ctx context.Context) error {
			res, err := svc.Edit(ctx, old.ID, p)
			if res != nil {
				cur = *res
			}
			return err
		})
		if err != nil {
			return zero_trust.GatewayList{}, err
		}
	}
	cur.Items = gatewayItems(s.Items)
	return cur, nil
}

// codeInUse is the API's refusal to delete a list a rule still uses.
const codeInUse = 2002

// Delete removes the list; one already gone is done. A list a rule still
// refers to is refused by the API: retried (not held as permanent), as
// the rule's own target removes the reference.
func (lists) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	err := cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Gateway list "+id, func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Gateway.Lists.Delete(ctx, id, zero_trust.GatewayListDeleteParams{AccountID: cf6.F(a.ID)})
		return err
	}))
	if cfapi.HasCode(err, codeInUse) {
		// %v, not %w: the API's 400 is permanent, this wait is not.
		return fmt.Errorf("Gateway list %s is still used by a Gateway rule; waiting for the rule to let go of it (%v)", id, err)
	}
	return err
}
