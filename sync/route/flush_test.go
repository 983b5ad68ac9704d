package route

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const (
	acct    = "acc1"
	token   = "tok-acc1"
	cluster = "c1"
)

var marker = cfapi.Marker(cluster)

type env struct {
	t    *testing.T
	emu  *emu.Server
	api  *cf.API // an out-of-band client
	st   *store.Store
	f    *Flusher
	prev *api.SyncStatus

	mu          sync.Mutex
	checkpoints []map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, emu: emu.New(emu.Config{
		Tokens:    map[string]emu.TokenScope{token: {Accounts: []string{acct}}},
		RateLimit: &emu.RateLimit{Requests: 0},
	})}
	e.emu.AddAccount(acct)
	srv := httptest.NewServer(e.emu)
	t.Cleanup(srv.Close)
	clients, err := cfapi.New(cfapi.Config{Credentials: cfapi.Credentials{acct: token}, BaseURL: srv.URL + "/client/v4", RateLimit: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e.st, err = store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.f = NewFlusher(FlusherConfig{Clients: clients, Store: e.st})
	e.api, err = cf.NewWithAPIToken(token, cf.BaseURL(srv.URL+"/client/v4"), cf.UsingRateLimit(1000), cf.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// tunnel creates a tunnel downstream and, when target is not "", records
// it as that cloudflare.Tunnel target's status.
func (e *env) tunnel(target string) string {
	e.t.Helper()
	sec := make([]byte, 32)
	_, _ = rand.Read(sec)
	tun, err := e.api.CreateTunnel(ctx(e.t), cf.AccountIdentifier(acct), cf.TunnelCreateParams{Name: "t" + target, Secret: base64.StdEncoding.EncodeToString(sec)})
	if err != nil {
		e.t.Fatal(err)
	}
	if target != "" {
		err = e.st.Update(func(tx *store.Tx) error {
			_, err := tx.RecordSync(api.TargetRef{Kind: cfapi.KindTunnel, Name: target},
				api.SyncStatus{DownstreamIDs: map[string]string{cfapi.IDAccount: acct, cfapi.IDTunnel: tun.ID}})
			return err
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return tun.ID
}

func (e *env) flush(spec string) (engine.Outcome, error) {
	e.t.Helper()
	var frags []api.Fragment
	if spec != "" {
		frags = []api.Fragment{{Target: testTarget, Source: api.SourceRef{Kind: "API", Name: "p"}, CreateIndex: 1, Spec: json.RawMessage(spec)}}
		if err := New().Validate(testTarget, frags[0].Source, frags[0].Spec); err != nil {
			e.t.Fatalf("spec does not validate: %v", err)
		}
	}
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		e.t.Fatal(err)
	}
	req := engine.Request{Target: testTarget, Result: res, Prev: e.prev, ClusterID: cluster,
		Checkpoint: func(_ context.Context, ids map[string]string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.checkpoints = append(e.checkpoints, maps.Clone(ids))
			return nil
		}}
	out, err := e.f.Flush(ctx(e.t), req)
	if err == nil {
		e.prev = &api.SyncStatus{SyncedHash: res.Hash(), DownstreamIDs: out.DownstreamIDs}
	}
	return out, err
}

func (e *env) mustFlush(spec string) engine.Outcome {
	e.t.Helper()
	out, err := e.flush(spec)
	if err != nil {
		e.t.Fatalf("flush: %v", err)
	}
	return out
}

func (e *env) writes() int {
	n := 0
	for k, v := range e.emu.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

// live returns the live routes.
func (e *env) live() []emu.RouteInfo {
	var out []emu.RouteInfo
	for _, r := range e.emu.Routes(acct) {
		if !r.Deleted {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) handMade(network, tunnelID string) {
	e.t.Helper()
	_, err := e.api.CreateTunnelRoute(ctx(e.t), cf.AccountIdentifier(acct), cf.TunnelRoutesCreateParams{Network: network, TunnelID: tunnelID, Comment: "by hand"})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel("ClusterTunnel/edge")
	out := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge","comment":"office"}`)
	ids := out.DownstreamIDs
	live := e.live()
	if len(live) != 1 || ids[IDRoute] != live[0].ID || ids[IDTunnel] != tid || ids[IDCreated] != "true" || ids[IDNetwork] != "10.0.0.0/8" ||
		live[0].TunnelID != tid || live[0].Comment != marker+" office" {
		t.Fatalf("ids %v routes %+v", ids, live)
	}
	if e.emu.Requests()["POST /accounts/{account}/teamnet/routes"] != 1 {
		t.Fatalf("must create through the route-id endpoint: %v", e.emu.Requests())
	}

	w := e.writes()
	e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge","comment":"office"}`)
	if e.writes() != w {
		t.Fatalf("repeat wrote %d times", e.writes()-w)
	}

	// Update in place: other tunnel, other comment.
	tid2 := e.tunnel("")
	out = e.mustFlush(`{"network":"10.0.0.0/8","tunnelId":"` + tid2 + `","comment":"moved"}`)
	live = e.live()
	if len(live) != 1 || live[0].ID != ids[IDRoute] || live[0].TunnelID != tid2 || live[0].Comment != marker+" moved" || out.DownstreamIDs[IDTunnel] != tid2 {
		t.Fatalf("after update %+v", live)
	}

	// Another network: the old route goes, a new one comes.
	out = e.mustFlush(`{"network":"10.1.0.0/16","tunnelId":"` + tid2 + `"}`)
	live = e.live()
	if len(live) != 1 || live[0].Network != "10.1.0.0/16" || live[0].ID != out.DownstreamIDs[IDRoute] || live[0].Comment != marker {
		t.Fatalf("after move %+v", live)
	}

	out = e.mustFlush("")
	if len(out.DownstreamIDs) != 0 || len(e.live()) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, e.live())
	}
	if e.emu.Requests()["DELETE /accounts/{account}/teamnet/routes/{route}"] != 2 {
		t.Fatalf("must delete by route id: %v", e.emu.Requests())
	}
}

func TestFlushDeleteLeavesOthersAlone(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel("edge")
	e.handMade("192.168.0.0/16", tid)
	e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	e.mustFlush("")
	if live := e.live(); len(live) != 1 || live[0].Network != "192.168.0.0/16" {
		t.Fatalf("routes %+v", live)
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel("edge")
	e.handMade("10.0.0.0/8", tid)
	w := e.writes()
	_, err := e.flush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "10.0.0.0/8 exists and is not managed by conflux-sync; set adopt") {
		t.Fatalf("want permanent clash, got %v", err)
	}
	// The only write was the create the API refused.
	if e.writes() != w+1 || e.live()[0].Comment != "by hand" {
		t.Fatalf("unowned route touched: %+v", e.live())
	}
	// With an explicit virtual network the clash is known before writing.
	vnet := e.live()[0].VirtualNetworkID
	w = e.writes()
	_, err = e.flush(`{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"` + vnet + `"}`)
	if !engine.IsPermanent(err) || e.writes() != w {
		t.Fatalf("want permanent clash without writes, got %v", err)
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	e := newEnv(t)
	hand := e.tunnel("")
	tid := e.tunnel("edge")
	e.handMade("10.0.0.0/8", hand)
	out := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge","comment":"mine now","adopt":true}`)
	live := e.live()
	if len(live) != 1 || live[0].TunnelID != tid || live[0].Comment != marker+" mine now" || out.DownstreamIDs[IDCreated] != "false" {
		t.Fatalf("ids %v routes %+v", out.DownstreamIDs, live)
	}
	if len(e.checkpoints) != 1 || e.checkpoints[0][IDCreated] != "false" {
		t.Fatalf("adoption must be checkpointed before the marker is stamped: %v", e.checkpoints)
	}
	e.mustFlush("")
	if len(e.live()) != 1 {
		t.Fatal("an adopted route is released, not deleted")
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	e := newEnv(t)
	tid := e.tunnel("edge")
	other := e.tunnel("")
	e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	_, err := e.api.UpdateTunnelRoute(ctx(t), cf.AccountIdentifier(acct), cf.TunnelRoutesUpdateParams{Network: "10.0.0.0/8", TunnelID: other, Comment: "hijacked"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if live := e.live(); len(live) != 1 || live[0].TunnelID != tid || live[0].Comment != marker {
		t.Fatalf("drift not repaired: %+v", live)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	e := newEnv(t)
	e.tunnel("edge")
	id := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`).DownstreamIDs[IDRoute]
	if err := e.api.DeleteTunnelRoute(ctx(t), cf.AccountIdentifier(acct), cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	out := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if live := e.live(); len(live) != 1 || live[0].ID == id || out.DownstreamIDs[IDRoute] != live[0].ID {
		t.Fatalf("not recreated: %+v", live)
	}
}

// Lost outcome (crash after create): the marker finds our route again.
func TestFlushWithoutPrevFindsOurRoute(t *testing.T) {
	e := newEnv(t)
	e.tunnel("edge")
	id := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`).DownstreamIDs[IDRoute]
	e.prev = nil
	w := e.writes()
	out := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if out.DownstreamIDs[IDRoute] != id || out.DownstreamIDs[IDCreated] != "true" || e.writes() != w {
		t.Fatalf("ids %v, %d writes", out.DownstreamIDs, e.writes()-w)
	}
}

func TestFlushTunnelNotReady(t *testing.T) {
	e := newEnv(t)
	_, err := e.flush(`{"network":"10.0.0.0/8","tunnel":"edge"}`)
	if !errors.Is(err, cfapi.ErrTunnelNotReady) || engine.IsPermanent(err) {
		t.Fatalf("want retryable not-ready, got %v", err)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t)
	e.tunnel("edge")
	spec := `{"network":"10.0.0.0/8","tunnel":"edge"}`
	e.emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + acct + "/teamnet/routes", Status: 503, Count: 1})
	if _, err := e.flush(spec); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	e.emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/accounts/" + acct + "/teamnet/routes", Status: 429, Count: 1, RetryAfter: 3})
	_, err := e.flush(spec)
	var ce *cfapi.Error
	if err == nil || engine.IsPermanent(err) || !errors.As(err, &ce) || ce.RetryAfter() != 3*time.Second {
		t.Fatalf("429: want retryable with Retry-After, got %v", err)
	}
	e.mustFlush(spec)
	if len(e.live()) != 1 {
		t.Fatalf("routes %+v", e.live())
	}
}

func TestFlushVirtualNetworkChangeMovesRoute(t *testing.T) {
	e := newEnv(t)
	e.tunnel("edge")
	const v1, v2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	first := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"` + v1 + `"}`).DownstreamIDs[IDRoute]
	out := e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"` + v2 + `"}`)
	live := e.live()
	if len(live) != 1 || live[0].VirtualNetworkID != v2 || live[0].ID == first || out.DownstreamIDs[IDVnet] != v2 {
		t.Fatalf("routes %+v ids %v", live, out.DownstreamIDs)
	}
	w := e.writes()
	e.mustFlush(`{"network":"10.0.0.0/8","tunnel":"edge","virtualNetworkId":"` + v2 + `"}`)
	if e.writes() != w {
		t.Fatal("repeat in a named virtual network must not write")
	}
}
