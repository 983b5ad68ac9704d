package cfapi

import (
	"context"
	"errors"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// IDVirtualNetwork is the downstream id key of a virtual network's id: the
// cloudflare.VirtualNetwork target records its network under it, and a
// network route the network it is in.
const IDVirtualNetwork = "virtualNetworkId"

// ErrVirtualNetworkNotReady means a cloudflare.VirtualNetwork target of
// this cluster has no recorded network id yet. Like ErrTunnelNotReady it
// is waited for (WaitForVirtualNetwork), not a failure.
var ErrVirtualNetworkNotReady = errors.New("virtual network not created yet")

// ErrVirtualNetworkToBeCreated means, in a dry run, that the plan of the
// referenced cloudflare.VirtualNetwork target creates its network.
var ErrVirtualNetworkToBeCreated = errors.New("virtual network to be created")

// VirtualNetwork is a virtual network as its cloudflare.VirtualNetwork
// target recorded it.
type VirtualNetwork struct {
	AccountID string
	ID        string
}

// ResolveVirtualNetwork returns the network the cloudflare.VirtualNetwork
// target named name last synced (in a dry run: the one its plan found).
// ok is false when this cluster has no such target (no fragments, nothing
// recorded): the name may then be a network of the account. A target
// whose network is not made yet is ErrVirtualNetworkNotReady, or
// ErrVirtualNetworkToBeCreated when a dry run's plan creates it.
func ResolveVirtualNetwork(v *store.View, name string, dryRun bool) (vn VirtualNetwork, ok bool, err error) {
	ref := api.TargetRef{Kind: KindVirtualNetwork, Name: name}
	account, id, state, err := resolveRecorded(v, ref, IDVirtualNetwork, dryRun)
	if err != nil {
		return VirtualNetwork{}, false, err
	}
	return VirtualNetwork{AccountID: account, ID: id}, state != recordedNone,
		recordedError(ref, state, ErrVirtualNetworkToBeCreated, ErrVirtualNetworkNotReady)
}

// WaitForVirtualNetwork is the engine.WaitFor of a flush that needs the
// virtual network the cloudflare.VirtualNetwork target name makes; why
// says what is missing, in the words of api.WaitingPart.For.
func WaitForVirtualNetwork(name, why string) error {
	return engine.WaitFor(api.TargetRef{Kind: KindVirtualNetwork, Name: name}, vnetWait{name, why})
}

// vnetWait says what waits, and is ErrVirtualNetworkNotReady.
type vnetWait struct{ name, why string }

func (w vnetWait) Error() string { return "virtual network " + w.name + " (" + w.why + ")" }
func (w vnetWait) Unwrap() error { return ErrVirtualNetworkNotReady }

// FindVirtualNetwork returns the id of the account's active virtual
// network called name; "" when there is none.
func FindVirtualNetwork(ctx context.Context, a *Account, name string) (string, error) {
	var found []zero_trust.VirtualNetwork
	err := Call(ctx, "list virtual networks named "+name, func(ctx context.Context) error {
		page, err := a.V6.ZeroTrust.Networks.VirtualNetworks.List(ctx, zero_trust.NetworkVirtualNetworkListParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(name), IsDeleted: cf6.F(false),
		})
		if page != nil {
			found = page.Result
		}
		return err
	})
	if err != nil {
		return "", err
	}
	for _, vn := range found {
		// The filter is the API's; names are unique among active networks.
		if vn.Name == name && vn.DeletedAt.IsZero() {
			return vn.ID, nil
		}
	}
	return "", nil
}
