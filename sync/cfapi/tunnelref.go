package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// ErrTunnelNotReady means a referenced cloudflare.Tunnel target has no
// recorded tunnel id yet. It is retryable: the tunnel's own flush
// rechecks the kinds that wait for it.
var ErrTunnelNotReady = errors.New("tunnel not created yet")

// ErrTunnelToBeCreated means, in a dry run, that the referenced
// cloudflare.Tunnel target's plan creates its tunnel: what depends on the
// tunnel's id cannot be planned further (see engine.PlanWaitsForTunnel).
var ErrTunnelToBeCreated = errors.New("tunnel to be created")

// WaitForTunnel turns ErrTunnelNotReady from resolving the cloudflare.Tunnel
// target name into engine.WaitFor that target: the flush waits, without a
// failure, and is retried as soon as the tunnel's outcome is recorded.
// Any other error is returned as it is.
func WaitForTunnel(name string, err error) error {
	if !errors.Is(err, ErrTunnelNotReady) {
		return err
	}
	return engine.WaitFor(api.TargetRef{Kind: KindTunnel, Name: name}, tunnelWait{name, err})
}

// tunnelWait says what waits in the words of api.WaitingPart.For, and
// still is ErrTunnelNotReady.
type tunnelWait struct {
	name string
	err  error
}

func (w tunnelWait) Error() string { return "tunnel " + w.name + " (not created yet)" }
func (w tunnelWait) Unwrap() error { return w.err }

// Tunnel is a tunnel as recorded by its cloudflare.Tunnel target.
type Tunnel struct {
	AccountID string
	ID        string
	// Name is the tunnel's name in Cloudflare: as recorded
	// (IDTunnelName), else, for a status recorded before that key existed,
	// the name the target's owning fragment asks for; "" when neither is
	// known.
	Name string
	// Credentials is the Secret the tunnel was written with (its
	// IDCredentials); nil for the static credentials. Kinds that write for
	// the tunnel and name no Secret of their own use it.
	Credentials *api.SecretRef
}

// CNAME is the name a DNS record points at to route to the tunnel.
func (t Tunnel) CNAME() string { return t.ID + ".cfargotunnel.com" }

// ResolveTunnel returns the tunnel the cloudflare.Tunnel target named name
// last synced. A dry run's plan is not a sync: its ids are never used here.
func ResolveTunnel(v *store.View, name string) (Tunnel, error) {
	st, err := v.Status(api.TargetRef{Kind: KindTunnel, Name: name})
	if err != nil {
		return Tunnel{}, err
	}
	var ids map[string]string
	if st != nil {
		ids = st.DownstreamIDs
	}
	return tunnelOf(v, name, ids)
}

// ResolvePlannedTunnel is ResolveTunnel for a dry run: when the target's
// last record is a plan without error, the tunnel is the one that plan
// found (an existing tunnel it would adopt or take over), and
// ErrTunnelToBeCreated when the plan creates one. Otherwise it is the
// tunnel last synced.
func ResolvePlannedTunnel(v *store.View, name string) (Tunnel, error) {
	st, err := v.Status(api.TargetRef{Kind: KindTunnel, Name: name})
	if err != nil {
		return Tunnel{}, err
	}
	if st == nil || !st.DryRun || st.Error != "" {
		return ResolveTunnel(v, name)
	}
	if st.PlannedIDs[IDTunnel] == "" && st.PlannedIDs[IDCreated] == "true" {
		return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, ErrTunnelToBeCreated)
	}
	return tunnelOf(v, name, st.PlannedIDs)
}

// Resolver is ResolveTunnel, or ResolvePlannedTunnel for a dry run.
func Resolver(dryRun bool) func(v *store.View, name string) (Tunnel, error) {
	if dryRun {
		return ResolvePlannedTunnel
	}
	return ResolveTunnel
}

// tunnelOf reads the tunnel out of the ids recorded for the target name.
func tunnelOf(v *store.View, name string, ids map[string]string) (Tunnel, error) {
	if ids[IDTunnel] == "" {
		return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, ErrTunnelNotReady)
	}
	creds, err := CredentialsOf(ids)
	if err != nil {
		return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, err)
	}
	tunnelName := ids[IDTunnelName]
	if tunnelName == "" {
		if tunnelName, err = desiredTunnelName(v, name); err != nil {
			return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, err)
		}
	}
	return Tunnel{AccountID: ids[IDAccount], ID: ids[IDTunnel], Name: tunnelName, Credentials: creds}, nil
}

// desiredTunnelName is the spec name of the fragment that owns the
// cloudflare.Tunnel target named name (the kind's one-owner rule); "" when
// it has none.
func desiredTunnelName(v *store.View, name string) (string, error) {
	frags, err := v.TargetFragments(api.TargetRef{Kind: KindTunnel, Name: name})
	if err != nil {
		return "", err
	}
	owner, _ := kind.OneOwner(frags, "tunnel")
	if owner == nil {
		return "", nil
	}
	var spec api.TunnelSpec
	if err := json.Unmarshal(owner.Spec, &spec); err != nil {
		// Validated before it was stored; an undecodable spec names nothing.
		return "", nil
	}
	return spec.Name, nil
}

// TunnelToken returns the connector token of the tunnel the
// cloudflare.Tunnel target named name last synced (what `cloudflared tunnel
// run --token` takes), read with the credentials that target recorded. The
// token is a secret: callers must not log it or put it in the log.
func (c *Clients) TunnelToken(ctx context.Context, st *store.Store, name string) (tunnelID, token string, err error) {
	var t Tunnel
	if err := st.View(func(v *store.View) (err error) {
		t, err = ResolveTunnel(v, name)
		return err
	}); err != nil {
		return "", "", err
	}
	acct, err := c.For(ctx, t.AccountID, t.Credentials)
	if err != nil {
		return "", "", err
	}
	err = Call(ctx, "read the connector token of tunnel "+t.ID, func(ctx context.Context) error {
		token, err = acct.API.GetTunnelToken(ctx, cloudflare.AccountIdentifier(acct.ID), t.ID)
		return err
	})
	return t.ID, token, err
}
