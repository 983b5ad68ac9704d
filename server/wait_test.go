package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// waitTunnel is a cloudflare.Tunnel fragment for a tunnel named name.
func waitTunnel(name string, gen int64) api.Fragment {
	return api.Fragment{
		Target:     api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/" + name},
		Source:     api.SourceRef{Kind: "ClusterTunnel", Name: name},
		Generation: gen,
		Spec:       json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":%q}`, cfAccount, name)),
	}
}

// settledOne checks that res waited for exactly target and that it settled.
func settledOne(t *testing.T, res api.WriteResult, target api.TargetRef) *api.SyncStatus {
	t.Helper()
	if len(res.Sync) != 1 || res.Sync[0].Target != target || !res.Sync[0].Settled || res.Sync[0].Status == nil {
		t.Fatalf("want %s settled with a status, got %+v", target, res.Sync)
	}
	return res.Sync[0].Status
}

// TestWaitForSync: a write with ?wait answers once the leader has flushed
// its target, through the leader or a follower, and also when the flush
// failed; ReplaceSourceFragments waits for the removals it causes.
func TestWaitForSync(t *testing.T) {
	cf := newCloudflare(t, nil)
	c := newTestClusterWith(t, 3, withCloudflare(cf, nil))
	ctx := context.Background()

	check := func(t *testing.T, cl *api.Client, name string) {
		f := waitTunnel(name, 1)
		start := time.Now()
		res, err := cl.PutFragment(ctx, f, api.Wait(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("settled in %v", time.Since(start))
		st := settledOne(t, res, f.Target)
		id := cf.tunnelID(name)
		if id == "" || st.Error != "" || st.DownstreamIDs[cfapi.IDTunnel] != id || st.SyncedHash == "" {
			t.Fatalf("emulator tunnel %q, status %+v", id, st)
		}
		// The answer is what every node records.
		tg, err := cl.GetTarget(ctx, f.Target)
		if err != nil || tg.Hash != st.SyncedHash {
			t.Fatalf("target hash %s, answer synced %s (%v)", tg.Hash, st.SyncedHash, err)
		}
	}
	t.Run("leader", func(t *testing.T) { check(t, c.client(c.leader(), writeToken), "wait-leader") })
	t.Run("follower", func(t *testing.T) { check(t, c.client(c.follower(), writeToken), "wait-follower") })

	t.Run("replace removes", func(t *testing.T) {
		cl := c.client(c.follower(), writeToken)
		f := waitTunnel("wait-replace", 1)
		src := api.SourceRef{Kind: "API", Name: "wait-replace"}
		res, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src, Fragments: []api.SourceFragment{
			{Target: f.Target, Generation: 1, Spec: f.Spec},
		}}, api.Wait(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if st := settledOne(t, res, f.Target); cf.tunnelID("wait-replace") == "" || st.SyncedHash == "" {
			t.Fatalf("tunnel not created: status %+v", st)
		}
		// The source's only fragment goes: the write waits for the
		// tunnel's removal.
		res, err = cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src}, api.Wait(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		st := settledOne(t, res, f.Target)
		if st.SyncedHash != "" || st.Error != "" || st.Revision < res.Index {
			t.Fatalf("status after removal: %+v (write index %d)", st, res.Index)
		}
		if id := cf.tunnelID("wait-replace"); id != "" {
			t.Fatalf("tunnel %s still there after the removal settled", id)
		}
	})

	// Last: the fault stays for the rest of the cluster's life.
	t.Run("downstream error", func(t *testing.T) {
		cf.emu.AddFault(emu.Fault{Method: http.MethodPost, PathPrefix: "/accounts/" + cfAccount + "/cfd_tunnel", Status: http.StatusBadRequest})
		cl := c.client(c.follower(), writeToken)
		f := waitTunnel("wait-rejected", 1)
		res, err := cl.PutFragment(ctx, f, api.Wait(20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		st := settledOne(t, res, f.Target)
		if st.Error == "" || st.Revision < res.Index || st.SyncedHash != "" {
			t.Fatalf("want the rejection in the status at revision >= %d: %+v", res.Index, st)
		}
		if id := cf.tunnelID("wait-rejected"); id != "" {
			t.Fatalf("tunnel %s was created despite the fault", id)
		}
	})
}

// TestWaitTimesOut: without Cloudflare credentials nothing flushes, so a
// write with ?wait answers 504 wait_timeout once the wait runs out; the
// write itself is applied.
func TestWaitTimesOut(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	cl := c.client(c.follower(), writeToken)
	f := waitTunnel("wait-nowhere", 1)
	// Longer than the follower's 5s leader wait: forwarding must not cut
	// the wait short.
	const wait = 6 * time.Second
	start := time.Now()
	_, err := cl.PutFragment(ctx, f, api.Wait(wait))
	took := time.Since(start)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusGatewayTimeout || ae.Code != api.CodeWaitTimeout ||
		!strings.Contains(ae.Message, f.Target.String()) {
		t.Fatalf("got %v, want 504 wait_timeout naming %s", err, f.Target)
	}
	if took < wait || took > wait+15*time.Second {
		t.Fatalf("answered after %v for a %v wait", took, wait)
	}
	frags, err := cl.ListFragments(ctx, f.Target, f.Source)
	if err != nil || len(frags) != 1 {
		t.Fatalf("the write was not applied: %+v %v", frags, err)
	}

	// DELETE and ReplaceSourceFragments time out the same way.
	if _, err := cl.DeleteFragment(ctx, f.Target, f.Source, api.Wait(200*time.Millisecond)); !api.IsCode(err, api.CodeWaitTimeout) {
		t.Fatalf("delete: %v", err)
	}
	src := api.SourceRef{Kind: "API", Name: "wait-nowhere"}
	if _, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src, Fragments: []api.SourceFragment{
		{Target: f.Target, Generation: 1, Spec: f.Spec},
	}}, api.Wait(200*time.Millisecond)); !api.IsCode(err, api.CodeWaitTimeout) {
		t.Fatalf("replace: %v", err)
	}

	// A bad wait is refused before anything is written, also on a
	// follower.
	_, err = cl.PutFragment(ctx, waitTunnel("wait-bad", 1), api.Wait(6*time.Minute))
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != "wait" {
		t.Fatalf("wait of 6m: %v", err)
	}
	if frags, err := cl.ListFragments(ctx, waitTunnel("wait-bad", 1).Target, api.SourceRef{}); err != nil || len(frags) != 0 {
		t.Fatalf("a write with a bad wait was applied: %+v %v", frags, err)
	}
}
