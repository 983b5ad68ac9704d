package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// One tunnel belongs to one cloudflare.Tunnel target: a tunnel another
// target of this cluster holds (found by name, named by id or takeOver, or
// being created under that name) blocks this target on that one, naming
// it and its source, and nothing is written.
func TestTunnelHeldByAnotherTargetBlocks(t *testing.T) {
	owner := api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/a"}
	ownerSrc := api.SourceRef{Kind: "ClusterTunnel", Name: "a"}
	self := api.TargetRef{Kind: cfapi.KindTunnel, Name: "Tunnel/ns/b"}
	cases := []struct {
		name string
		// held returns the owner's recorded ids and this target's spec.
		held func(t *testing.T, e *cfapitest.Env) (map[string]string, TunnelSpec)
	}{
		{name: "found by name", held: func(t *testing.T, e *cfapitest.Env) (map[string]string, TunnelSpec) {
			id := e.HandMadeTunnel(t, "shared")
			return map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDTunnelName: "shared"},
				TunnelSpec{AccountID: cfapitest.Account, Name: "shared", Adopt: true}
		}},
		{name: "named by spec.id", held: func(t *testing.T, e *cfapitest.Env) (map[string]string, TunnelSpec) {
			id := e.HandMadeTunnel(t, "shared")
			return map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDTunnelName: "shared"},
				TunnelSpec{AccountID: cfapitest.Account, Name: "other", ID: id, Adopt: true}
		}},
		{name: "named by spec.takeOver", held: func(t *testing.T, e *cfapitest.Env) (map[string]string, TunnelSpec) {
			id := e.HandMadeTunnel(t, "shared")
			return map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDTunnelName: "shared"},
				TunnelSpec{AccountID: cfapitest.Account, Name: "shared", TakeOver: id}
		}},
		{name: "being created under the name", held: func(t *testing.T, e *cfapitest.Env) (map[string]string, TunnelSpec) {
			return map[string]string{cfapi.IDAccount: cfapitest.Account, idPendingName: "shared"},
				TunnelSpec{AccountID: cfapitest.Account, Name: "shared"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := cfapitest.New(t)
			ids, spec := tc.held(t, e)
			if err := e.Store.Update(func(tx *store.Tx) error {
				_, err := tx.PutFragment(api.Fragment{Target: owner, Source: ownerSrc, Generation: 1,
					Spec: json.RawMessage(`{"accountId":"` + cfapitest.Account + `","name":"shared"}`)}, 5)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			e.RecordStatus(t, owner, ids)
			e.Emu.Reset()
			f := NewTunnelFlusher(e.Clients, e.Store, nil)
			_, err := f.Flush(context.Background(), e.Request(t, self, spec, nil))
			var dep *engine.DependencyError
			if !errors.As(err, &dep) || !dep.Blocked || dep.On != owner || !engine.IsPermanent(err) {
				t.Fatalf("got %v; want blocked by %s", err, owner)
			}
			for _, want := range []string{"target " + owner.String(), "from " + ownerSrc.String()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "set adopt") {
				t.Errorf("error %q advises adopting a tunnel of this cluster", err)
			}
			if n := e.Writes(); n != 0 {
				t.Fatalf("wrote %d times", n)
			}
		})
	}
}

// Two targets that both recorded one tunnel (an older version let a
// second target adopt it) would write two configurations over each other:
// the one that did not create it gives it up, clearing its ids, and is
// blocked on the other, which keeps it.
func TestTunnelRecordedByTwoTargetsIsKeptByOne(t *testing.T) {
	e := cfapitest.New(t)
	keeper := api.TargetRef{Kind: cfapi.KindTunnel, Name: "Tunnel/ns/z"}
	yielder := api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/a"}
	id := e.HandMadeTunnel(t, "shared")
	for _, ref := range []api.TargetRef{keeper, yielder} {
		if err := e.Store.Update(func(tx *store.Tx) error {
			_, err := tx.PutFragment(api.Fragment{Target: ref, Source: api.SourceRef{Kind: "API", Name: strings.ReplaceAll(ref.Name, "/", "-")}, Generation: 1,
				Spec: json.RawMessage(`{"accountId":"` + cfapitest.Account + `","name":"shared","adopt":true}`)}, 5)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(created string) map[string]string {
		return map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDTunnel: id, cfapi.IDTunnelName: "shared", cfapi.IDCreated: created}
	}
	keeperPrev := e.RecordStatus(t, keeper, ids("true"))
	yielderPrev := e.RecordStatus(t, yielder, ids("false"))
	f := NewTunnelFlusher(e.Clients, e.Store, nil)
	spec := TunnelSpec{AccountID: cfapitest.Account, Name: "shared", Adopt: true}

	_, err := f.Flush(context.Background(), e.Request(t, yielder, spec, yielderPrev))
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || !dep.Blocked || dep.On != keeper {
		t.Fatalf("the adopter: %v; want blocked by %s", err, keeper)
	}
	cps := e.Checkpoints()
	if len(cps) != 1 || cps[0][cfapi.IDTunnel] != "" || len(cps[0]) == 0 {
		t.Fatalf("the adopter did not forget the tunnel: checkpoints %v", cps)
	}
	// What the engine records for it: the ids merged with the checkpoint.
	forgot := ids("false")
	for k, v := range cps[0] {
		forgot[k] = v
	}
	e.RecordStatus(t, yielder, forgot)
	out, err := f.Flush(context.Background(), e.Request(t, keeper, spec, keeperPrev))
	if err != nil || out.DownstreamIDs[cfapi.IDTunnel] != id {
		t.Fatalf("the creator: %v, ids %v; want it to keep tunnel %s", err, out.DownstreamIDs, id)
	}
}
