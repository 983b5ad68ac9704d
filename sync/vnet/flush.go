package vnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	IDVnet    = cfapi.IDVirtualNetwork
	IDName    = "name"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	Logger  *slog.Logger
}

// Flusher writes cloudflare.VirtualNetwork targets: the shared
// single-owner flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, zero_trust.VirtualNetwork]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the virtual network flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(vnets{}, cfg.Clients, cfg.Logger)
}

// vnets is the kind as owned.Flush sees it: virtual networks carry the
// ownership marker in their comment.
type vnets struct{}

var _ owned.Kind[Spec, zero_trust.VirtualNetwork] = vnets{}

func (vnets) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "virtual network", IDKey: IDVnet, LabelKey: "name", Marked: true}
}

func (vnets) Canonical(s Spec) Spec { return Canonical(s) }

func (vnets) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, ID: s.ID, TakeOverID: s.TakeOver}
}

func (vnets) Place(_ context.Context, _ engine.Request, s Spec) (Spec, owned.Place, error) {
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials}, nil
}

func (vnets) Ref(vn zero_trust.VirtualNetwork) owned.Ref {
	return owned.Ref{ID: vn.ID, Label: vn.Name, Comment: vn.Comment}
}

// IDs record the network's name beside its id, for people reading the
// status (routes find the network by target name and id).
func (vnets) IDs(s Spec, _ *zero_trust.VirtualNetwork) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (vnets) Creates(s Spec) string {
	if s.IsDefaultNetwork {
		return s.Name + " (the account's default)"
	}
	return s.Name
}

// Moved is never: a network can be renamed and re-commented in place.
func (vnets) Moved(zero_trust.VirtualNetwork, Spec, map[string]string) string { return "" }

// Pick is never needed: active names are unique, so List finds at most
// one network; should the API ever list two, neither is taken.
func (vnets) Pick(s Spec, found []zero_trust.VirtualNetwork, action string) (*zero_trust.VirtualNetwork, error) {
	return nil, engine.Permanent(fmt.Errorf("%d virtual networks are named %q: set id to say which to %s", len(found), s.Name, action))
}

func (vnets) Clash(s Spec, err error) error {
	msg := fmt.Sprintf("a virtual network named %q exists and is not managed by conflux-sync; set adopt", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// Diff compares the managed fields. isDefaultNetwork false is no change:
// the API cannot take the flag away, only give it to another network.
func (vnets) Diff(vn zero_trust.VirtualNetwork, s Spec, marker string) []string {
	var out []string
	if vn.Name != s.Name {
		out = append(out, fmt.Sprintf("name %q -> %q", vn.Name, s.Name))
	}
	if c := cfapi.Comment(marker, s.Comment); vn.Comment != c {
		out = append(out, fmt.Sprintf("comment %q -> %q", vn.Comment, c))
	}
	if s.IsDefaultNetwork && !vn.IsDefaultNetwork {
		out = append(out, "is_default_network false -> true")
	}
	return out
}

// list returns the active networks params selects (the API answers them
// in one page).
func list(ctx context.Context, a *cfapi.Account, what string, params zero_trust.NetworkVirtualNetworkListParams) ([]zero_trust.VirtualNetwork, error) {
	params.AccountID = cf6.F(a.ID)
	params.IsDeleted = cf6.F(false)
	var out []zero_trust.VirtualNetwork
	err := cfapi.Call(ctx, what, func(ctx context.Context) error {
		page, err := a.V6.ZeroTrust.Networks.VirtualNetworks.List(ctx, params)
		if page != nil {
			out = page.Result
		}
		return err
	})
	return out, err
}

// Get reads one network; nil, nil when it does not exist or was deleted.
func (vnets) Get(ctx context.Context, a *cfapi.Account, id string) (*zero_trust.VirtualNetwork, error) {
	vn, err := cfapi.Get(ctx, "get virtual network "+id, func(ctx context.Context) (*zero_trust.VirtualNetwork, error) {
		return a.V6.ZeroTrust.Networks.VirtualNetworks.Get(ctx, id, zero_trust.NetworkVirtualNetworkGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || vn == nil || *vn == nil || !(*vn).DeletedAt.IsZero() {
		return nil, err
	}
	return *vn, nil
}

// List returns the active network named like spec: the one a create would
// collide with (names are unique per account), so the list is exact.
func (vnets) List(ctx context.Context, a *cfapi.Account, s Spec) ([]zero_trust.VirtualNetwork, bool, error) {
	found, err := list(ctx, a, "list virtual networks named "+s.Name, zero_trust.NetworkVirtualNetworkListParams{Name: cf6.F(s.Name)})
	if err != nil {
		return nil, false, err
	}
	var out []zero_trust.VirtualNetwork
	for _, vn := range found {
		// The filter is the API's; check it here too.
		if vn.Name == s.Name && vn.DeletedAt.IsZero() {
			out = append(out, vn)
		}
	}
	return out, true, nil
}

func (k vnets) Create(ctx context.Context, a *cfapi.Account, s Spec, marker string) (zero_trust.VirtualNetwork, error) {
	var vn zero_trust.VirtualNetwork
	err := cfapi.Call(ctx, "create virtual network "+s.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Networks.VirtualNetworks.New(ctx, zero_trust.NetworkVirtualNetworkNewParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Comment: cf6.F(cfapi.Comment(marker, s.Comment)),
			IsDefaultNetwork: cf6.F(s.IsDefaultNetwork),
		})
		if res != nil {
			vn = *res
		}
		return err
	})
	if cfapi.StatusOf(err) == http.StatusConflict {
		return vn, k.Clash(s, err)
	}
	return vn, err
}

// Update writes the name and our comment (it carries the marker) and,
// when asked, makes the network the default; is_default_network is sent
// only then, as false would be refused on the default network.
func (k vnets) Update(ctx context.Context, a *cfapi.Account, old zero_trust.VirtualNetwork, s Spec, marker string) (zero_trust.VirtualNetwork, error) {
	params := zero_trust.NetworkVirtualNetworkEditParams{
		AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Comment: cf6.F(cfapi.Comment(marker, s.Comment)),
	}
	if s.IsDefaultNetwork && !old.IsDefaultNetwork {
		params.IsDefaultNetwork = cf6.F(true)
	}
	var vn zero_trust.VirtualNetwork
	err := cfapi.Call(ctx, "update virtual network "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Networks.VirtualNetworks.Edit(ctx, old.ID, params)
		if res != nil {
			vn = *res
		}
		return err
	})
	if cfapi.StatusOf(err) == http.StatusConflict {
		return vn, k.Clash(s, err)
	}
	return vn, err
}

// Delete removes the network. The API refuses to delete the account's
// default network or one that routes are still in; both are states that
// change without a new fragment (the routes' own targets are deleted
// too, someone marks another default), so they are retried, not held.
func (k vnets) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	del := func() error {
		return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete virtual network "+id, func(ctx context.Context) error {
			_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.Delete(ctx, id, zero_trust.NetworkVirtualNetworkDeleteParams{AccountID: cf6.F(a.ID)})
			return err
		}))
	}
	err := del()
	if cfapi.StatusOf(err) != http.StatusBadRequest {
		return err
	}
	vn, gerr := k.Get(ctx, a, id)
	switch {
	case gerr != nil:
		return gerr
	case vn == nil:
		return nil
	case vn.IsDefaultNetwork:
		// %v, not %w: the API's 400 is permanent, this wait is not.
		return fmt.Errorf("virtual network %s (%s) is the account's default, which cannot be deleted: mark another network the default (%v)", vn.Name, id, err)
	}
	n, rerr := routesIn(ctx, a, id)
	switch {
	case rerr != nil:
		return rerr
	case n == 0:
		// The routes went between the refusal and the count: their own
		// targets are deleted in the same sync. Delete again now; a
		// refusal this time is the API's own (permanent) answer.
		return del()
	}
	return fmt.Errorf("virtual network %s (%s) still has %d route(s); waiting for them to be deleted (%v)", vn.Name, id, n, err)
}

// routesIn counts the active routes in virtual network id.
func routesIn(ctx context.Context, a *cfapi.Account, id string) (int, error) {
	routes, err := cfapi.EveryPage(ctx, "list the routes in virtual network "+id, 1000,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.Teamnet], error) {
			return a.V6.ZeroTrust.Networks.Routes.List(ctx, zero_trust.NetworkRouteListParams{
				AccountID: cf6.F(a.ID), VirtualNetworkID: cf6.F(id), IsDeleted: cf6.F(false),
				Page: cf6.F(float64(page)), PerPage: cf6.F(float64(perPage)),
			})
		})
	n := len(routes)
	return n, err
}
