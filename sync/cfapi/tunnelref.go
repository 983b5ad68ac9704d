package cfapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

// ErrTunnelNotReady means a referenced cloudflare.Tunnel target has no
// recorded tunnel id yet. It is retryable: the tunnel's own flush
// rechecks the kinds that wait for it.
var ErrTunnelNotReady = errors.New("tunnel not created yet")

// Tunnel is a tunnel as recorded by its cloudflare.Tunnel target.
type Tunnel struct {
	AccountID string
	ID        string
	// Credentials is the Secret the tunnel was written with (its
	// IDCredentials); nil for the static credentials. Kinds that write for
	// the tunnel and name no Secret of their own use it.
	Credentials *api.SecretRef
}

// CNAME is the name a DNS record points at to route to the tunnel.
func (t Tunnel) CNAME() string { return t.ID + ".cfargotunnel.com" }

// ResolveTunnel returns the tunnel the cloudflare.Tunnel target named name
// last synced.
func ResolveTunnel(v *store.View, name string) (Tunnel, error) {
	st, err := v.Status(api.TargetRef{Kind: KindTunnel, Name: name})
	if err != nil {
		return Tunnel{}, err
	}
	if st == nil || st.DownstreamIDs[IDTunnel] == "" {
		return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, ErrTunnelNotReady)
	}
	creds, err := CredentialsOf(st.DownstreamIDs)
	if err != nil {
		return Tunnel{}, fmt.Errorf("%s %s: %w", KindTunnel, name, err)
	}
	return Tunnel{AccountID: st.DownstreamIDs[IDAccount], ID: st.DownstreamIDs[IDTunnel], Credentials: creds}, nil
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
