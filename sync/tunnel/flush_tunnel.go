package tunnel

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// idPendingName is checkpointed before a tunnel is created: a flush that
// finds a tunnel of that name after a crash knows it made it.
const idPendingName = "pendingName"

// TunnelFlusher ensures cloudflare.Tunnel targets exist downstream. The
// ids it records (cfapi.IDAccount, cfapi.IDTunnel, cfapi.IDCreated) are
// what the other kinds resolve a tunnel target to.
type TunnelFlusher struct {
	clients *cfapi.Clients
	// store is read for the tunnels the other cloudflare.Tunnel targets
	// hold (see holderOf); nil skips that check.
	store *store.Store
	log   *slog.Logger
}

// NewTunnelFlusher returns the flusher of cloudflare.Tunnel targets. st is
// read to keep one tunnel to one target; nil (unit tests) skips that.
func NewTunnelFlusher(clients *cfapi.Clients, st *store.Store, log *slog.Logger) *TunnelFlusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TunnelFlusher{clients: clients, store: st, log: log}
}

// Kind returns "cloudflare.Tunnel".
func (*TunnelFlusher) Kind() string { return cfapi.KindTunnel }

// dependents wait for a tunnel's id.
var dependents = []string{cfapi.KindTunnelConfiguration, cfapi.KindDNSRecord, cfapi.KindNetworkRoute}

// Flush creates, adopts, takes over or (when the last fragment is gone and
// we created or took it over) deletes the tunnel. A dry run plans the
// same and writes nothing; the ids of a tunnel it would create lack
// IDTunnel, which tells dependents' plans to wait (cfapi.ErrTunnelToBeCreated).
func (f *TunnelFlusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	var prev map[string]string
	if req.Prev != nil {
		prev = req.Prev.DownstreamIDs
	}
	if req.Result.Desired == nil {
		line, err := f.release(ctx, prev, req.DryRun)
		return engine.Outcome{Recheck: dependents, Plan: planOf(line)}, err
	}
	var spec TunnelSpec
	if err := json.Unmarshal(req.Result.Desired, &spec); err != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired tunnel: %w", err))
	}
	acct, err := f.clients.For(ctx, spec.AccountID, spec.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	if err := f.shared(ctx, req, acct.ID, prev); err != nil {
		return engine.Outcome{}, err
	}
	t, created, line, err := f.ensure(ctx, acct, spec, prev, req)
	if err != nil {
		return engine.Outcome{}, err
	}
	ids := cfapi.SetCredentials(map[string]string{cfapi.IDAccount: acct.ID, cfapi.IDTunnel: t.ID, cfapi.IDTunnelName: t.Name,
		cfapi.IDCreated: cfapi.CreatedValue(created)}, spec.Credentials)
	if t.ID == "" {
		delete(ids, cfapi.IDTunnel) // planned, not created
	}
	out := engine.Outcome{DownstreamIDs: ids, Plan: planOf(line)}
	// Dependents write with the tunnel's id, account and credentials. In
	// a dry run they plan with what this plan found, which prev (the last
	// real sync) does not show.
	if req.DryRun || prev[cfapi.IDTunnel] != t.ID || prev[cfapi.IDAccount] != acct.ID || prev[cfapi.IDCredentials] != ids[cfapi.IDCredentials] {
		out.Recheck = dependents
	}
	// A renamed or re-pointed target leaves the tunnel it had; delete it
	// if it was ours.
	if old := prev[cfapi.IDTunnel]; old != "" && old != t.ID {
		line, err := f.release(ctx, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		out.Plan = append(out.Plan, planOf(line)...)
	}
	return out, nil
}

// planOf is the plan of one action; "" is none.
func planOf(line string) []string {
	if line == "" {
		return nil
	}
	return []string{line}
}

// ensure finds the tunnel the spec asks for, creating it when needed, and
// says what it did ("" when the recorded tunnel is still right). A dry run
// returns, instead of creating one, a tunnel with the name and no id.
func (f *TunnelFlusher) ensure(ctx context.Context, acct *cfapi.Account, spec TunnelSpec, prev map[string]string, req engine.Request) (t cloudflare.Tunnel, created bool, plan string, err error) {
	rc := cloudflare.AccountIdentifier(acct.ID)
	if spec.ID != "" {
		t, err := f.get(ctx, acct, spec.ID)
		if err == nil && t == nil {
			err = engine.Permanent(fmt.Errorf("tunnel %s does not exist in account %s", spec.ID, acct.ID))
		}
		if err != nil {
			return cloudflare.Tunnel{}, false, "", err
		}
		if prev[cfapi.IDTunnel] == spec.ID {
			return *t, cfapi.Created(prev, false), "", nil
		}
		if err := f.notHeld(req, acct.ID, t.ID, "", fmt.Sprintf("tunnel %s (id %s, named by spec.id)", t.Name, t.ID)); err != nil {
			return cloudflare.Tunnel{}, false, "", err
		}
		return *t, false, fmt.Sprintf("adopt tunnel %s (id %s, named by spec.id)", t.Name, t.ID), nil
	}
	// The tunnel we recorded, if it still exists under the wanted name (or
	// is the one to take over, whatever its name).
	if id := prev[cfapi.IDTunnel]; id != "" && prev[cfapi.IDAccount] == acct.ID {
		t, err := f.get(ctx, acct, id)
		if err != nil {
			return cloudflare.Tunnel{}, false, "", err
		}
		if t != nil && (t.Name == spec.Name || t.ID == spec.TakeOver) {
			return *t, cfapi.Created(prev, false) || t.ID == spec.TakeOver, "", nil
		}
	}
	// Taken over, the tunnel is owned as created.
	if t, ok, err := f.takeOver(ctx, acct, spec.TakeOver); err != nil || ok {
		if !ok {
			return cloudflare.Tunnel{}, false, "", err
		}
		if err := f.notHeld(req, acct.ID, t.ID, "", fmt.Sprintf("tunnel %s (id %s, named by spec.takeOver)", t.Name, t.ID)); err != nil {
			return cloudflare.Tunnel{}, false, "", err
		}
		if !req.DryRun {
			f.log.Info("took over tunnel", "account", acct.ID, "tunnel", t.ID, "name", t.Name)
		}
		return t, true, fmt.Sprintf("take over tunnel %s (id %s: spec.takeOver names it)", t.Name, t.ID), nil
	}
	var found []cloudflare.Tunnel
	err = cfapi.Call(ctx, "list tunnels named "+spec.Name, func(ctx context.Context) error {
		var err error
		found, _, err = acct.API.ListTunnels(ctx, rc, cloudflare.TunnelListParams{Name: spec.Name, IsDeleted: cloudflare.BoolPtr(false)})
		return err
	})
	if err != nil {
		return cloudflare.Tunnel{}, false, "", err
	}
	if len(found) > 0 {
		t := found[0]
		if prev[cfapi.IDTunnel] != t.ID {
			if err := f.notHeld(req, acct.ID, t.ID, "", fmt.Sprintf("a tunnel named %s in account %s (id %s)", spec.Name, acct.ID, t.ID)); err != nil {
				return cloudflare.Tunnel{}, false, "", err
			}
		}
		switch {
		case prev[idPendingName] == spec.Name:
			// Created by an earlier attempt that crashed before recording.
			return t, true, fmt.Sprintf("claim tunnel %s (id %s), created by an earlier attempt that stopped before recording it", t.Name, t.ID), nil
		case prev[cfapi.IDTunnel] == t.ID:
			return t, cfapi.Created(prev, false), "", nil
		case spec.Adopt:
			if !req.DryRun {
				f.log.Info("adopting existing tunnel", "account", acct.ID, "tunnel", t.ID, "name", t.Name)
			}
			return t, false, fmt.Sprintf("adopt tunnel %s (id %s)", t.Name, t.ID), nil
		}
		return cloudflare.Tunnel{}, false, "", engine.Permanent(fmt.Errorf("a tunnel named %s already exists in account %s (id %s) and was not created by conflux-sync: set adopt to take it over", spec.Name, acct.ID, t.ID))
	}
	// Another target may be creating a tunnel of this name right now.
	if err := f.notHeld(req, acct.ID, "", spec.Name, fmt.Sprintf("a tunnel named %s in account %s (being created)", spec.Name, acct.ID)); err != nil {
		return cloudflare.Tunnel{}, false, "", err
	}
	plan = "create tunnel " + spec.Name
	if req.DryRun {
		return cloudflare.Tunnel{Name: spec.Name}, true, plan, nil
	}
	if err := req.Checkpoint(ctx, map[string]string{idPendingName: spec.Name}); err != nil {
		return cloudflare.Tunnel{}, false, "", err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	err = cfapi.Call(ctx, "create tunnel "+spec.Name, func(ctx context.Context) error {
		var err error
		t, err = acct.API.CreateTunnel(ctx, rc, cloudflare.TunnelCreateParams{
			Name:      spec.Name,
			Secret:    base64.StdEncoding.EncodeToString(secret),
			ConfigSrc: "cloudflare",
		})
		return err
	})
	if cfapi.HasCode(err, 1013) {
		// The name was taken meanwhile: by another target of this cluster
		// creating it at the same moment, this one waits for it.
		if herr := f.notHeld(req, acct.ID, "", spec.Name, fmt.Sprintf("a tunnel named %s in account %s (created meanwhile)", spec.Name, acct.ID)); herr != nil {
			return cloudflare.Tunnel{}, false, "", herr
		}
	}
	if err != nil {
		return cloudflare.Tunnel{}, false, "", err
	}
	f.log.Info("created tunnel", "account", acct.ID, "tunnel", t.ID, "name", t.Name)
	return t, true, plan, nil
}

// shared settles a tunnel that this target and another one both
// recorded (left by a version that let a second target adopt a tunnel of
// this cluster): two configurations would overwrite each other. The
// target that yields (see holder.yields) forgets the tunnel — its ids are
// cleared through a checkpoint, so neither its configuration nor its
// release touches the tunnel again — and is blocked on the other.
func (f *TunnelFlusher) shared(ctx context.Context, req engine.Request, account string, prev map[string]string) error {
	id := prev[cfapi.IDTunnel]
	if id == "" {
		return nil
	}
	h, ok, err := f.holderOf(req.Target, account, id, "")
	if err != nil {
		return fmt.Errorf("read the tunnels of the other targets: %w", err)
	}
	if !ok || !h.yields(req.Target, cfapi.Created(prev, false)) {
		return nil
	}
	if !req.DryRun {
		forget := map[string]string{cfapi.IDTunnel: "", cfapi.IDCreated: "", cfapi.IDTunnelName: "", idPendingName: ""}
		if err := req.Checkpoint(ctx, forget); err != nil {
			return err
		}
		f.log.Warn("tunnel recorded by two targets; this one gives it up", "target", req.Target.String(), "tunnel", id, "keeper", h.target.String())
	}
	return h.blocked(fmt.Sprintf("tunnel %s (recorded by both targets; this one gave it up)", id))
}

// notHeld returns the blocked error (see holder.blocked) when another
// target of this cluster holds the tunnel id, or creates one named name.
func (f *TunnelFlusher) notHeld(req engine.Request, account, id, name, what string) error {
	h, ok, err := f.holderOf(req.Target, account, id, name)
	if err != nil {
		return fmt.Errorf("read the tunnels of the other targets: %w", err)
	}
	if ok {
		return h.blocked(what)
	}
	return nil
}

// takeOver finds the tunnel with id that a previous controller created
// for this producer; ok is false when id is "" or the tunnel is gone (then
// the tunnel is found or created by name). Taking it over writes nothing.
func (f *TunnelFlusher) takeOver(ctx context.Context, acct *cfapi.Account, id string) (t cloudflare.Tunnel, ok bool, err error) {
	if id == "" {
		return cloudflare.Tunnel{}, false, nil
	}
	found, err := f.get(ctx, acct, id)
	if err != nil || found == nil {
		return cloudflare.Tunnel{}, false, err
	}
	return *found, true, nil
}

// get returns the tunnel, or nil when it does not exist or was deleted.
func (f *TunnelFlusher) get(ctx context.Context, acct *cfapi.Account, id string) (*cloudflare.Tunnel, error) {
	t, err := cfapi.Get(ctx, "get tunnel "+id, func(ctx context.Context) (cloudflare.Tunnel, error) {
		return acct.API.GetTunnel(ctx, cloudflare.AccountIdentifier(acct.ID), id)
	})
	if err != nil || t == nil || t.DeletedAt != nil {
		return nil, err
	}
	return t, nil
}

// release deletes the recorded tunnel if conflux-sync created it; an
// adopted tunnel is left alone. It uses the credentials the tunnel was
// recorded with, and says what it did ("" for nothing); a dry run only
// says it.
func (f *TunnelFlusher) release(ctx context.Context, prev map[string]string, dryRun bool) (string, error) {
	id := prev[cfapi.IDTunnel]
	if id == "" {
		return "", nil
	}
	if !cfapi.Created(prev, false) {
		return fmt.Sprintf("release adopted tunnel %s (left in place, no write)", id), nil
	}
	creds, err := cfapi.CredentialsOf(prev)
	if err != nil {
		return "", err
	}
	acct, err := f.clients.For(ctx, prev[cfapi.IDAccount], creds)
	if err != nil {
		return "", err
	}
	plan := "delete tunnel " + id
	if dryRun {
		return plan, nil
	}
	err = cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete tunnel "+id, func(ctx context.Context) error {
		return acct.API.DeleteTunnel(ctx, cloudflare.AccountIdentifier(acct.ID), id)
	}))
	switch {
	case err == nil:
		f.log.Info("deleted tunnel", "account", acct.ID, "tunnel", id)
		return plan, nil
	case cfapi.HasCode(err, 1022):
		// Connectors are still running; they go away when their
		// Deployment does, so this is worth retrying.
		var cfErr *cfapi.Error
		if errors.As(err, &cfErr) {
			return "", cfErr
		}
	}
	return "", err
}
