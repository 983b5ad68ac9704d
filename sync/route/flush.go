package route

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records.
const (
	IDAccount = cfapi.IDAccount
	IDRoute   = "routeId"
	IDTunnel  = cfapi.IDTunnel
	IDNetwork = "network"
	IDVnet    = "virtualNetworkId"
	IDCreated = cfapi.IDCreated
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	// Store resolves spec.tunnel through the cloudflare.Tunnel target's
	// recorded status.
	Store  *store.Store
	Logger *slog.Logger
}

// Flusher writes cloudflare.NetworkRoute targets: the shared single-owner
// flush over this kind's spec, diff and client calls.
type Flusher = owned.Flusher[Spec, zero_trust.Route]

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the network route flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return owned.New(routes{store: cfg.Store, clients: cfg.Clients}, cfg.Clients, cfg.Logger)
}

// routes is the kind as owned.Flush sees it: routes carry the ownership
// marker in their comment.
type routes struct {
	store *store.Store
	// clients look spec.virtualNetwork up in the account when no target
	// of this cluster has that name.
	clients *cfapi.Clients
}

var _ owned.Kind[Spec, zero_trust.Route] = routes{}

func (routes) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "network route", IDKey: IDRoute, LabelKey: "network", Marked: true}
}

func (routes) Canonical(s Spec) Spec { return Canonical(s) }

func (routes) Claim(s Spec) owned.Claim {
	return owned.Claim{Adopt: s.Adopt, TakeOverMarker: s.TakeOver}
}

// Place resolves spec.tunnel and spec.virtualNetwork: the returned spec
// carries the tunnel id and the virtual network id, and the account and
// credentials default to the tunnel target's. A dry run waits for a
// tunnel or a virtual network its plan creates.
func (k routes) Place(ctx context.Context, req engine.Request, s Spec) (Spec, owned.Place, error) {
	tunnelID, account, creds, err := k.tunnel(s, cfapi.Resolver(req.DryRun))
	if errors.Is(err, cfapi.ErrTunnelToBeCreated) {
		return s, owned.Place{Waits: engine.PlanWaitsForTunnel(s.Tunnel) + ": network route " + s.Network + " goes through it"}, nil
	}
	if err != nil {
		return s, owned.Place{}, cfapi.WaitForTunnel(s.Tunnel, err)
	}
	s.TunnelID = tunnelID
	if s.VirtualNetwork != "" {
		id, waits, err := k.virtualNetwork(ctx, req.DryRun, s, account, creds)
		if err != nil || waits != "" {
			return s, owned.Place{Waits: waits}, err
		}
		s.VirtualNetworkID = id
	}
	return s, owned.Place{Account: account, Credentials: creds, IDs: map[string]string{IDTunnel: tunnelID}}, nil
}

// virtualNetwork resolves spec.virtualNetwork to a network id: the one
// the cloudflare.VirtualNetwork target of that name recorded, else the
// account's active network with that name. Neither there yet, the route
// waits for the target (engine.WaitFor): recorded, it is flushed again
// at once; a network made by hand is found by the next drift pass. waits
// is a dry run's plan when its plan creates the network.
func (k routes) virtualNetwork(ctx context.Context, dryRun bool, s Spec, account string, creds *api.SecretRef) (id, waits string, err error) {
	name := s.VirtualNetwork
	if k.store == nil {
		return "", "", engine.Permanent(errors.New("route flusher has no store to resolve spec.virtualNetwork"))
	}
	var vn cfapi.VirtualNetwork
	var ok bool
	err = k.store.View(func(v *store.View) (err error) {
		vn, ok, err = cfapi.ResolveVirtualNetwork(v, name, dryRun)
		return err
	})
	switch {
	case errors.Is(err, cfapi.ErrVirtualNetworkToBeCreated):
		return "", "waits for virtual network " + name + " (to be created): network route " + s.Network + " goes in it", nil
	case errors.Is(err, cfapi.ErrVirtualNetworkNotReady):
		return "", "", cfapi.WaitForVirtualNetwork(name, "not created yet")
	case err != nil:
		return "", "", err
	case ok && account != "" && vn.AccountID != "" && vn.AccountID != account:
		return "", "", engine.Permanent(fmt.Errorf("virtual network %s is in account %s, not in the route's account %s", name, vn.AccountID, account))
	case ok:
		return vn.ID, "", nil
	}
	if k.clients == nil {
		return "", "", engine.Permanent(errors.New("route flusher has no clients to look spec.virtualNetwork up"))
	}
	a, err := k.clients.For(ctx, account, creds)
	if err != nil {
		return "", "", err
	}
	if id, err = cfapi.FindVirtualNetwork(ctx, a, name); err != nil || id != "" {
		return id, "", err
	}
	return "", "", cfapi.WaitForVirtualNetwork(name, "no such target in this cluster, nor a network by that name in account "+a.ID)
}

func (routes) Ref(rt zero_trust.Route) owned.Ref {
	return owned.Ref{ID: rt.ID, Label: rt.Network, Comment: rt.Comment}
}

// IDs are where the route is: find compares them with the spec's.
func (routes) IDs(s Spec, _ *zero_trust.Route) map[string]string {
	return map[string]string{IDNetwork: s.Network, IDVnet: s.VirtualNetworkID}
}

func (routes) Creates(s Spec) string {
	return s.Network + inVnet(s.VirtualNetworkID) + " through tunnel " + s.TunnelID
}

// Moved: a route cannot change its network or virtual network.
func (routes) Moved(rt zero_trust.Route, s Spec, prev map[string]string) string {
	if rt.Network == s.Network && prev[IDVnet] == s.VirtualNetworkID &&
		(s.VirtualNetworkID == "" || rt.VirtualNetworkID == s.VirtualNetworkID) {
		return ""
	}
	return "the network moved"
}

// Pick cannot tell several routes for one network, in different virtual
// networks, apart without virtualNetworkId.
func (routes) Pick(s Spec, found []zero_trust.Route, action string) (*zero_trust.Route, error) {
	if action == "take over" {
		return nil, engine.Permanent(fmt.Errorf("%d routes for %s in different virtual networks carry %q: set virtualNetworkId to say which to take over",
			len(found), s.Network, s.TakeOver))
	}
	return nil, engine.Permanent(fmt.Errorf("%d routes for %s exist in different virtual networks: set virtualNetworkId to say which to %s", len(found), s.Network, action))
}

func (routes) Diff(rt zero_trust.Route, s Spec, marker string) []string {
	return routeChanges(&rt, s, s.TunnelID, cfapi.Comment(marker, s.Comment), marker)
}

// inVnet names a virtual network in a plan line; "" for the default one.
func inVnet(id string) string {
	if id == "" {
		return ""
	}
	return " in virtual network " + id
}

// routeChanges lists what a patch of rt changes, remote value first; none
// when rt is right. A route taken over keeps the previous controller's
// comment until something else changes (see keepsComment).
func routeChanges(rt *zero_trust.Route, spec Spec, tunnelID, comment, marker string) []string {
	var out []string
	if rt.TunnelID != tunnelID {
		out = append(out, fmt.Sprintf("tunnel %s -> %s", rt.TunnelID, tunnelID))
	}
	if rt.Comment != comment && (len(out) > 0 || !keepsComment(rt, spec, marker)) {
		out = append(out, fmt.Sprintf("comment %q -> %q", rt.Comment, comment))
	}
	return out
}

// keepsComment reports whether a route taken over keeps the previous
// controller's comment: it carries spec.takeOver and not yet our marker.
// Our comment is written with the next change of something we manage.
func keepsComment(rt *zero_trust.Route, spec Spec, marker string) bool {
	return spec.TakeOver != "" && strings.Contains(rt.Comment, spec.TakeOver) && !cfapi.Owned(rt.Comment, marker)
}

// tunnel returns the tunnel id, the account to write to and the
// credentials to write with: spec.credentials, else those of the tunnel
// target spec.tunnel names (found through resolve).
func (k routes) tunnel(spec Spec, resolve func(*store.View, string) (cfapi.Tunnel, error)) (id, account string, creds *api.SecretRef, err error) {
	if spec.Tunnel == "" {
		return spec.TunnelID, spec.AccountID, spec.Credentials, nil
	}
	if k.store == nil {
		return "", "", nil, engine.Permanent(errors.New("route flusher has no store to resolve spec.tunnel"))
	}
	var t cfapi.Tunnel
	if err := k.store.View(func(v *store.View) error {
		var err error
		t, err = resolve(v, spec.Tunnel)
		return err
	}); err != nil {
		// ErrTunnelNotReady is waited for (see cfapi.WaitForTunnel).
		return "", "", nil, err
	}
	account = spec.AccountID
	switch {
	case account == "":
		account = t.AccountID
	case t.AccountID != "" && t.AccountID != account:
		return "", "", nil, engine.Permanent(fmt.Errorf("tunnel %s is in account %s, not spec.accountId %s", spec.Tunnel, t.AccountID, account))
	}
	creds = spec.Credentials
	if creds == nil {
		creds = t.Credentials
	}
	return t.ID, account, creds, nil
}

func (routes) Clash(spec Spec, err error) error {
	msg := fmt.Sprintf("a network route for %s exists and is not managed by conflux-sync; set adopt", spec.Network)
	if spec.VirtualNetworkID != "" {
		msg = fmt.Sprintf("a network route for %s in virtual network %s exists and is not managed by conflux-sync; set adopt", spec.Network, spec.VirtualNetworkID)
	}
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// Get reads one live route; nil, nil when it does not exist or was
// deleted.
func (routes) Get(ctx context.Context, a *cfapi.Account, id string) (*zero_trust.Route, error) {
	rt, err := cfapi.Get(ctx, "get network route "+id, func(ctx context.Context) (*zero_trust.Route, error) {
		return a.V6.ZeroTrust.Networks.Routes.Get(ctx, id, zero_trust.NetworkRouteGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || rt == nil || *rt == nil || !(*rt).DeletedAt.IsZero() {
		return nil, err
	}
	return *rt, nil
}

// routesPerPage is the page size List asks for: the API's largest.
const routesPerPage = 1000

// List returns the live routes for exactly spec's network (and virtual
// network, when given), every page. Without a virtual network they are
// those of every virtual network: the list is not exact, only the create
// can tell whether the default one is taken.
//
// The pages are read with cfapi.EveryPage (not v6's ListAutoPaging, see
// there).
func (routes) List(ctx context.Context, a *cfapi.Account, spec Spec) ([]zero_trust.Route, bool, error) {
	params := zero_trust.NetworkRouteListParams{
		AccountID: cf6.F(a.ID), IsDeleted: cf6.F(false),
		NetworkSubset: cf6.F(spec.Network), NetworkSuperset: cf6.F(spec.Network),
	}
	if spec.VirtualNetworkID != "" {
		params.VirtualNetworkID = cf6.F(spec.VirtualNetworkID)
	}
	listed, err := cfapi.EveryPage(ctx, "list network routes for "+spec.Network, routesPerPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.Teamnet], error) {
			params.Page, params.PerPage = cf6.F(float64(page)), cf6.F(float64(perPage))
			return a.V6.ZeroTrust.Networks.Routes.List(ctx, params)
		})
	if err != nil {
		return nil, false, err
	}
	var out []zero_trust.Route
	for _, rt := range listed {
		// The filters are the API's; check the exact match here too.
		if rt.Network == spec.Network && rt.DeletedAt.IsZero() {
			out = append(out, routeOf(rt))
		}
	}
	return out, spec.VirtualNetworkID != "", nil
}

// routeOf is a listed route as the single read answers it (v6 has a type
// for each; the list's adds the tunnel's and network's names).
func routeOf(t zero_trust.Teamnet) zero_trust.Route {
	return zero_trust.Route{ID: t.ID, Comment: t.Comment, CreatedAt: t.CreatedAt, DeletedAt: t.DeletedAt,
		Network: t.Network, TunnelID: t.TunnelID, VirtualNetworkID: t.VirtualNetworkID}
}

// Create makes the route; without a virtual network it goes in the
// account's default one (virtual_network_id is then left out).
func (k routes) Create(ctx context.Context, a *cfapi.Account, spec Spec, marker string) (zero_trust.Route, error) {
	params := zero_trust.NetworkRouteNewParams{
		AccountID: cf6.F(a.ID), Network: cf6.F(spec.Network), TunnelID: cf6.F(spec.TunnelID),
		Comment: cf6.F(cfapi.Comment(marker, spec.Comment)),
	}
	if spec.VirtualNetworkID != "" {
		params.VirtualNetworkID = cf6.F(spec.VirtualNetworkID)
	}
	var rt zero_trust.Route
	err := cfapi.Call(ctx, "create network route "+spec.Network, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Networks.Routes.New(ctx, params)
		if res != nil {
			rt = *res
		}
		return err
	})
	if cfapi.StatusOf(err) == http.StatusConflict {
		return rt, k.Clash(spec, err)
	}
	return rt, err
}

// Update points the route at the spec's tunnel and writes our comment;
// nothing else is sent (a route cannot move, see Moved).
func (routes) Update(ctx context.Context, a *cfapi.Account, old zero_trust.Route, spec Spec, marker string) (zero_trust.Route, error) {
	var rt zero_trust.Route
	err := cfapi.Call(ctx, "update network route "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Networks.Routes.Edit(ctx, old.ID, zero_trust.NetworkRouteEditParams{
			AccountID: cf6.F(a.ID), TunnelID: cf6.F(spec.TunnelID), Comment: cf6.F(cfapi.Comment(marker, spec.Comment)),
		})
		if res != nil {
			rt = *res
		}
		return err
	})
	return rt, err
}

func (routes) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete network route "+id, func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Networks.Routes.Delete(ctx, id, zero_trust.NetworkRouteDeleteParams{AccountID: cf6.F(a.ID)})
		return err
	}))
}
