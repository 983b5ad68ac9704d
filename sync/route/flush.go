package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
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

// Flusher writes cloudflare.NetworkRoute targets.
type Flusher struct {
	clients *cfapi.Clients
	store   *store.Store
	log     *slog.Logger
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the network route flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Flusher{clients: cfg.Clients, store: cfg.Store, log: log}
}

// Kind returns "cloudflare.NetworkRoute".
func (*Flusher) Kind() string { return Name }

// remoteRoute is a route as the API returns it (cloudflare-go's
// TunnelRoute lacks the id).
type remoteRoute struct {
	ID               string `json:"id"`
	Network          string `json:"network"`
	TunnelID         string `json:"tunnel_id"`
	Comment          string `json:"comment"`
	VirtualNetworkID string `json:"virtual_network_id"`
}

// Flush makes the route match req.Result.Desired. A dry run decides the
// same, returns it as the plan and writes nothing; it waits for a tunnel
// its plan creates.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	if req.ClusterID == "" {
		return engine.Outcome{}, errors.New("cluster id not known yet: cannot build the ownership marker")
	}
	marker := cfapi.Marker(req.ClusterID)
	var prev map[string]string
	if req.Prev != nil {
		prev = req.Prev.DownstreamIDs
	}
	log := f.log.With("target", req.Target.String())
	if req.Result.Desired == nil {
		line, err := f.remove(ctx, log, marker, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: planOf(line)}, nil
	}
	var spec Spec
	if err := json.Unmarshal(req.Result.Desired, &spec); err != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired state: %w", err))
	}
	spec = Canonical(spec)
	tunnelID, account, creds, err := f.tunnel(spec, cfapi.Resolver(req.DryRun))
	if errors.Is(err, cfapi.ErrTunnelToBeCreated) {
		return engine.Outcome{Plan: []string{engine.PlanWaitsForTunnel(spec.Tunnel) + ": network route " + spec.Network + " goes through it"}}, nil
	}
	if err != nil {
		return engine.Outcome{}, cfapi.WaitForTunnel(spec.Tunnel, err)
	}
	a, err := f.clients.For(ctx, account, creds)
	if err != nil {
		return engine.Outcome{}, err
	}
	var plan []string
	if prev[IDRoute] != "" && prev[IDAccount] != "" && prev[IDAccount] != a.ID {
		line, err := f.remove(ctx, log, marker, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
		prev = nil
	}
	want := cfapi.Comment(marker, spec.Comment)

	rt, created, lines, err := f.find(ctx, log, a, spec, marker, prev, req.DryRun)
	if err != nil {
		return engine.Outcome{}, err
	}
	plan = append(plan, lines...)
	var changes []string
	if rt != nil {
		changes = routeChanges(rt, spec, tunnelID, want, marker)
	}
	switch {
	case rt == nil:
		plan = append(plan, fmt.Sprintf("create network route %s%s through tunnel %s", spec.Network, inVnet(spec.VirtualNetworkID), tunnelID))
		if req.DryRun {
			return engine.Outcome{Plan: plan, DownstreamIDs: cfapi.SetCredentials(map[string]string{
				IDAccount: a.ID, IDTunnel: tunnelID, IDNetwork: spec.Network, IDVnet: spec.VirtualNetworkID, IDCreated: "true",
			}, creds)}, nil
		}
		if rt, err = f.create(ctx, a, spec, tunnelID, want); err != nil {
			return engine.Outcome{}, err
		}
		created = true
		log.Info("created network route", "routeId", rt.ID, "network", spec.Network)
	case len(changes) > 0:
		plan = append(plan, fmt.Sprintf("update network route %s (id %s): %s", rt.Network, rt.ID, strings.Join(changes, ", ")))
		if req.DryRun {
			break // planned: nothing is written
		}
		if !created && !cfapi.Owned(rt.Comment, marker) && req.Checkpoint != nil {
			// Adopting stamps our marker: record first that we did not
			// make the route, so a crash now cannot later get it deleted.
			if err := req.Checkpoint(ctx, cfapi.SetCredentials(map[string]string{IDAccount: a.ID, IDRoute: rt.ID,
				IDNetwork: spec.Network, IDVnet: spec.VirtualNetworkID, IDCreated: "false"}, creds)); err != nil {
				return engine.Outcome{}, err
			}
		}
		if rt, err = f.patch(ctx, a, rt.ID, tunnelID, want); err != nil {
			return engine.Outcome{}, err
		}
		log.Info("updated network route", "routeId", rt.ID, "network", spec.Network)
	}
	return engine.Outcome{DownstreamIDs: cfapi.SetCredentials(map[string]string{
		IDAccount: a.ID, IDRoute: rt.ID, IDTunnel: tunnelID, IDNetwork: spec.Network,
		IDVnet: spec.VirtualNetworkID, IDCreated: cfapi.CreatedValue(created),
	}, creds), Plan: plan}, nil
}

// planOf is the plan of one action; "" is none.
func planOf(line string) []string {
	if line == "" {
		return nil
	}
	return []string{line}
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
func routeChanges(rt *remoteRoute, spec Spec, tunnelID, comment, marker string) []string {
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
func keepsComment(rt *remoteRoute, spec Spec, marker string) bool {
	return takenOver(rt, spec) && !cfapi.Owned(rt.Comment, marker)
}

// takenOver reports whether the route carries the previous controller's
// marker that spec.takeOver names.
func takenOver(rt *remoteRoute, spec Spec) bool {
	return spec.TakeOver != "" && strings.Contains(rt.Comment, spec.TakeOver)
}

// tunnel returns the tunnel id, the account to write to and the
// credentials to write with: spec.credentials, else those of the tunnel
// target spec.tunnel names (found through resolve).
func (f *Flusher) tunnel(spec Spec, resolve func(*store.View, string) (cfapi.Tunnel, error)) (id, account string, creds *api.SecretRef, err error) {
	if spec.Tunnel == "" {
		return spec.TunnelID, spec.AccountID, spec.Credentials, nil
	}
	if f.store == nil {
		return "", "", nil, engine.Permanent(errors.New("route flusher has no store to resolve spec.tunnel"))
	}
	var t cfapi.Tunnel
	if err := f.store.View(func(v *store.View) error {
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

// find returns the route to manage and whether we created it; nil when
// one must be created. plan says what finding it did: delete the route of
// a moved network, take over or adopt one. A dry run deletes nothing.
func (f *Flusher) find(ctx context.Context, log *slog.Logger, a *cfapi.Account, spec Spec, marker string, prev map[string]string, dryRun bool) (rt *remoteRoute, created bool, plan []string, err error) {
	if id := prev[IDRoute]; id != "" {
		rt, err := f.get(ctx, a, id)
		if err != nil {
			return nil, false, nil, err
		}
		switch {
		case rt == nil:
			// Deleted out of band: look again as if new.
		case rt.Network == spec.Network && prev[IDVnet] == spec.VirtualNetworkID &&
			(spec.VirtualNetworkID == "" || rt.VirtualNetworkID == spec.VirtualNetworkID):
			return rt, cfapi.Created(prev, cfapi.Owned(rt.Comment, marker)) || takenOver(rt, spec), nil, nil
		default:
			// The network or virtual network changed: a route cannot move,
			// so the old one goes (or is released, if adopted).
			if cfapi.Created(prev, cfapi.Owned(rt.Comment, marker)) {
				plan = append(plan, fmt.Sprintf("delete network route %s (id %s): the network moved", rt.Network, rt.ID))
				if !dryRun {
					if err := f.delete(ctx, a, rt.ID); err != nil {
						return nil, false, nil, err
					}
					log.Info("deleted network route for a moved network", "routeId", rt.ID, "network", rt.Network)
				}
			}
		}
	}
	routes, err := f.list(ctx, a, spec)
	if err != nil {
		return nil, false, nil, err
	}
	ours, taken, unowned := classify(routes, spec, marker)
	if ours != nil {
		return ours, true, plan, nil
	}
	if rt, err := takeOne(taken, spec); rt != nil || err != nil {
		if rt != nil {
			if !dryRun {
				log.Info("took over network route", "routeId", rt.ID, "network", rt.Network)
			}
			plan = append(plan, fmt.Sprintf("take over network route %s (id %s: its comment carries %s)", rt.Network, rt.ID, spec.TakeOver))
		}
		return rt, rt != nil, plan, err
	}
	switch {
	case len(unowned) == 0:
		return nil, false, plan, nil
	case !spec.Adopt && spec.VirtualNetworkID == "":
		// Routes in other virtual networks also match; only the create
		// can tell whether the default one is taken.
		return nil, false, plan, nil
	case !spec.Adopt:
		return nil, false, nil, clash(spec, nil)
	case len(unowned) > 1:
		return nil, false, nil, engine.Permanent(fmt.Errorf("%d routes for %s exist in different virtual networks: set virtualNetworkId to say which to adopt", len(unowned), spec.Network))
	}
	return &unowned[0], false, append(plan, fmt.Sprintf("adopt network route %s (id %s)", unowned[0].Network, unowned[0].ID)), nil
}

// classify sorts the routes listed for spec's network: the first with
// our marker, those the previous controller's marker (spec.takeOver)
// proves, and the rest.
func classify(routes []remoteRoute, spec Spec, marker string) (ours *remoteRoute, taken, unowned []remoteRoute) {
	for i := range routes {
		switch rt := &routes[i]; {
		case cfapi.Owned(rt.Comment, marker):
			return rt, nil, nil
		case takenOver(rt, spec):
			taken = append(taken, *rt)
		default:
			unowned = append(unowned, *rt)
		}
	}
	return nil, taken, unowned
}

// takeOne returns the one route to take over; nil for none. Several (in
// different virtual networks) cannot be told apart without
// virtualNetworkId.
func takeOne(taken []remoteRoute, spec Spec) (*remoteRoute, error) {
	switch len(taken) {
	case 0:
		return nil, nil
	case 1:
		return &taken[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d routes for %s in different virtual networks carry %q: set virtualNetworkId to say which to take over",
		len(taken), spec.Network, spec.TakeOver))
}

func clash(spec Spec, err error) error {
	msg := fmt.Sprintf("a network route for %s exists and is not managed by conflux-sync; set adopt", spec.Network)
	if spec.VirtualNetworkID != "" {
		msg = fmt.Sprintf("a network route for %s in virtual network %s exists and is not managed by conflux-sync; set adopt", spec.Network, spec.VirtualNetworkID)
	}
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

func routesPath(account string) string {
	return "/accounts/" + url.PathEscape(account) + "/teamnet/routes"
}

// get reads one live route; nil, nil when it does not exist.
func (f *Flusher) get(ctx context.Context, a *cfapi.Account, id string) (*remoteRoute, error) {
	var rt remoteRoute
	err := f.raw(ctx, a, "get network route "+id, http.MethodGet, routesPath(a.ID)+"/"+url.PathEscape(id), nil, &rt)
	if cfapi.StatusOf(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rt, nil
}

// list returns the live routes for exactly spec's network (and virtual
// network, when given), every page.
func (f *Flusher) list(ctx context.Context, a *cfapi.Account, spec Spec) ([]remoteRoute, error) {
	q := url.Values{}
	q.Set("is_deleted", "false")
	q.Set("network_subset", spec.Network)
	q.Set("network_superset", spec.Network)
	if spec.VirtualNetworkID != "" {
		q.Set("virtual_network_id", spec.VirtualNetworkID)
	}
	q.Set("per_page", "1000")
	var out []remoteRoute
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var routes []remoteRoute
		var pages int
		err := cfapi.Call(ctx, "list network routes for "+spec.Network, func(ctx context.Context) error {
			resp, err := a.API.Raw(ctx, http.MethodGet, routesPath(a.ID)+"?"+q.Encode(), nil, nil)
			if err != nil {
				return err
			}
			if resp.ResultInfo != nil {
				pages = resp.ResultInfo.TotalPages
			}
			return json.Unmarshal(resp.Result, &routes)
		})
		if err != nil {
			return nil, err
		}
		for _, rt := range routes {
			// The filters are the API's; check the exact match here too.
			if rt.Network == spec.Network {
				out = append(out, rt)
			}
		}
		if page >= pages || len(routes) == 0 {
			return out, nil
		}
	}
}

type createBody struct {
	Network          string `json:"network"`
	TunnelID         string `json:"tunnel_id"`
	Comment          string `json:"comment"`
	VirtualNetworkID string `json:"virtual_network_id,omitempty"`
}

func (f *Flusher) create(ctx context.Context, a *cfapi.Account, spec Spec, tunnelID, comment string) (*remoteRoute, error) {
	body := createBody{Network: spec.Network, TunnelID: tunnelID, Comment: comment, VirtualNetworkID: spec.VirtualNetworkID}
	var rt remoteRoute
	err := f.raw(ctx, a, "create network route "+spec.Network, http.MethodPost, routesPath(a.ID), body, &rt)
	if cfapi.StatusOf(err) == http.StatusConflict {
		return nil, clash(spec, err)
	}
	if err != nil {
		return nil, err
	}
	return &rt, nil
}

type patchBody struct {
	TunnelID string `json:"tunnel_id"`
	Comment  string `json:"comment"`
}

func (f *Flusher) patch(ctx context.Context, a *cfapi.Account, id, tunnelID, comment string) (*remoteRoute, error) {
	var rt remoteRoute
	err := f.raw(ctx, a, "update network route "+id, http.MethodPatch, routesPath(a.ID)+"/"+url.PathEscape(id),
		patchBody{TunnelID: tunnelID, Comment: comment}, &rt)
	if err != nil {
		return nil, err
	}
	return &rt, nil
}

func (f *Flusher) delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(f.raw(ctx, a, "delete network route "+id, http.MethodDelete, routesPath(a.ID)+"/"+url.PathEscape(id), nil, nil))
}

// raw sends one request through cfapi.Call and decodes the result into out
// (when non-nil).
func (f *Flusher) raw(ctx context.Context, a *cfapi.Account, what, method, path string, body, out any) error {
	return cfapi.Call(ctx, what, func(ctx context.Context) error {
		resp, err := a.API.Raw(ctx, method, path, body, nil)
		if err != nil || out == nil {
			return err
		}
		return json.Unmarshal(resp.Result, out)
	})
}

// remove deletes the recorded route when it is ours, with the credentials
// it was recorded with; adopted routes are released, left in place. It
// says what it did ("" for nothing); a dry run only says it.
func (f *Flusher) remove(ctx context.Context, log *slog.Logger, marker string, prev map[string]string, dryRun bool) (string, error) {
	id := prev[IDRoute]
	if id == "" {
		return "", nil
	}
	released := fmt.Sprintf("release adopted network route %s (left in place, no write)", id)
	if prev[IDCreated] == "false" {
		if !dryRun {
			log.Info("released adopted network route", "routeId", id)
		}
		return released, nil
	}
	creds, err := cfapi.CredentialsOf(prev)
	if err != nil {
		return "", err
	}
	a, err := f.clients.For(ctx, prev[IDAccount], creds)
	if err != nil {
		return "", err
	}
	rt, err := f.get(ctx, a, id)
	if err != nil || rt == nil {
		return "", err
	}
	if !cfapi.Created(prev, cfapi.Owned(rt.Comment, marker)) {
		return released, nil
	}
	plan := fmt.Sprintf("delete network route %s (id %s)", rt.Network, id)
	if dryRun {
		return plan, nil
	}
	if err := f.delete(ctx, a, id); err != nil {
		return "", err
	}
	log.Info("deleted network route", "routeId", id, "network", rt.Network)
	return plan, nil
}
