package cfapi

import (
	"errors"
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// IDGatewayList is the downstream id key of a Gateway list's id: the
// cloudflare.GatewayList target records its list under it, and a Gateway
// rule's $<target name> resolves to it.
const IDGatewayList = "listId"

// ErrGatewayListNotReady means a cloudflare.GatewayList target of this
// cluster has no recorded list id yet: waited for (WaitForGatewayList),
// not a failure.
var ErrGatewayListNotReady = errors.New("Gateway list not created yet")

// ErrGatewayListToBeCreated means, in a dry run, that the plan of the
// referenced cloudflare.GatewayList target creates its list.
var ErrGatewayListToBeCreated = errors.New("Gateway list to be created")

// GatewayList is a Gateway list as its cloudflare.GatewayList target
// recorded it.
type GatewayList struct {
	AccountID string
	ID        string
}

// ResolveGatewayList returns the list the cloudflare.GatewayList target
// named name last synced (in a dry run: the one its plan found). ok is
// false when this cluster has no such target (no fragments, nothing
// recorded): the name may then be a list of the account. A target whose
// list is not made yet is ErrGatewayListNotReady, or
// ErrGatewayListToBeCreated when a dry run's plan creates it.
func ResolveGatewayList(v *store.View, name string, dryRun bool) (l GatewayList, ok bool, err error) {
	ref := api.TargetRef{Kind: KindGatewayList, Name: name}
	st, err := v.Status(ref)
	if err != nil {
		return GatewayList{}, false, err
	}
	var ids map[string]string
	switch {
	case st == nil:
	case dryRun && st.DryRun && st.Error == "":
		if st.PlannedIDs[IDGatewayList] == "" && st.PlannedIDs[IDCreated] == "true" {
			return GatewayList{}, true, fmt.Errorf("%s %s: %w", KindGatewayList, name, ErrGatewayListToBeCreated)
		}
		ids = st.PlannedIDs
	default:
		ids = st.DownstreamIDs
	}
	frags, err := v.TargetFragments(ref)
	if err != nil {
		return GatewayList{}, false, err
	}
	if ids[IDGatewayList] != "" && len(frags) > 0 {
		return GatewayList{AccountID: ids[IDAccount], ID: ids[IDGatewayList]}, true, nil
	}
	if len(frags) == 0 {
		return GatewayList{}, false, nil
	}
	return GatewayList{}, true, fmt.Errorf("%s %s: %w", KindGatewayList, name, ErrGatewayListNotReady)
}

// WaitForGatewayList is the engine.WaitFor of a flush that needs the list
// the cloudflare.GatewayList target name makes; why says what waits.
func WaitForGatewayList(name, why string) error {
	return engine.WaitFor(api.TargetRef{Kind: KindGatewayList, Name: name}, listWait{name, why})
}

// listWait says what waits, and is ErrGatewayListNotReady.
type listWait struct{ name, why string }

func (w listWait) Error() string { return "Gateway list " + w.name + " (" + w.why + ")" }
func (w listWait) Unwrap() error { return ErrGatewayListNotReady }
