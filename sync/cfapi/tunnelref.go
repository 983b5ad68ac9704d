package cfapi

import (
	"errors"
	"fmt"

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
