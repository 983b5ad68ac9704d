package tunnel

import (
	"fmt"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// holder is another cloudflare.Tunnel target of this cluster that holds a
// tunnel.
type holder struct {
	target api.TargetRef
	// owner is the source of the fragment that owns that target; zero when
	// it has no fragment left (its tunnel is being released).
	owner api.SourceRef
	// created is whether that target created (or took over) the tunnel.
	created bool
}

// holderOf returns the cloudflare.Tunnel target other than self that
// recorded the tunnel id in account as its own, or (id "") that holds or
// is creating a tunnel named name; ok is false when none does. One tunnel
// belongs to one target: two would write their configurations over each
// other's, so a rule one of them lost could still reach cloudflared
// through the other.
func (f *TunnelFlusher) holderOf(self api.TargetRef, account, id, name string) (h holder, ok bool, err error) {
	if f.store == nil {
		return holder{}, false, nil
	}
	err = f.store.View(func(v *store.View) error {
		var refs []api.TargetRef
		if err := v.Targets(cfapi.KindTunnel, func(r store.TargetRecord) bool {
			if r.Target != self {
				refs = append(refs, r.Target)
			}
			return true
		}); err != nil {
			return err
		}
		for _, ref := range refs {
			st, err := v.Status(ref)
			if err != nil {
				return err
			}
			if st == nil || st.DownstreamIDs[cfapi.IDAccount] != account && st.DownstreamIDs[cfapi.IDAccount] != "" {
				continue
			}
			ids := st.DownstreamIDs
			holds := id != "" && ids[cfapi.IDTunnel] == id ||
				name != "" && (ids[cfapi.IDTunnel] == "" && ids[idPendingName] == name || ids[cfapi.IDTunnelName] == name)
			if !holds {
				continue
			}
			h, ok = holder{target: ref, created: cfapi.Created(ids, false)}, true
			frags, err := v.TargetFragments(ref)
			if err != nil {
				return err
			}
			if owner, _ := kind.OneOwner(frags, "tunnel"); owner != nil {
				h.owner = owner.Source
			}
			return nil
		}
		return nil
	})
	return h, ok, err
}

// yields reports whether self, which recorded the same tunnel as h (a
// state only an older version could leave), must give it up: the target
// that created the tunnel keeps it, else the one whose key sorts first.
// Both targets decide alike, so exactly one keeps it.
func (h holder) yields(self api.TargetRef, selfCreated bool) bool {
	if h.created != selfCreated {
		return h.created
	}
	return h.target.Key() < self.Key()
}

// blocked is the error of a flush whose tunnel another target of this
// cluster holds: it names that target, and the engine retries this one as
// soon as that one records an outcome (e.g. it released the tunnel).
func (h holder) blocked(what string) error {
	by := "target " + h.target.String()
	if h.owner != (api.SourceRef{}) {
		by += " (from " + h.owner.String() + ")"
	} else {
		by += " (which has no fragment left and is releasing it)"
	}
	return engine.Permanent(engine.BlockedBy(h.target, fmt.Errorf("%s is already managed by this conflux-sync cluster for %s: one tunnel belongs to one target; give this one another tunnel name or remove that one (this target is retried as soon as that one changes)", what, by)))
}
