package dns

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const (
	acct      = "acc1"
	token     = "tok-dns"
	clusterID = "0123456789abcdef"
	batchKey  = "POST /zones/{zone}/dns_records/batch"
	listKey   = "GET /zones/{zone}/dns_records"
)

// env is an emulator with the zone example.com, the flusher under test
// talking to it over HTTP, a store, and a plain client acting as a human
// editing records by hand.
type env struct {
	t      *testing.T
	emu    *emu.Server
	zoneID string
	st     *store.Store
	f      *Flusher
	human  *cloudflare.API
	prev   *api.SyncStatus
	checks int // Checkpoint calls
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.emu = emu.New(emu.Config{
		Tokens:    map[string]emu.TokenScope{token: {Accounts: []string{acct}}},
		RateLimit: &emu.RateLimit{Requests: 0},
	})
	e.zoneID = e.emu.AddZone(acct, "example.com")
	srv := httptest.NewServer(e.emu)
	t.Cleanup(srv.Close)
	base := srv.URL + "/client/v4"
	clients, err := cfapi.New(cfapi.Config{Credentials: cfapi.Credentials{acct: token}, BaseURL: base, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	e.st, err = store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.f = NewFlusher(FlusherConfig{Clients: clients, Store: e.st})
	e.human, err = cloudflare.NewWithAPIToken(token, cloudflare.BaseURL(base),
		cloudflare.UsingRateLimit(1000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// flush aggregates one fragment per spec (nil specs: no fragments) and
// flushes, carrying the outcome to the next call as the engine would.
func (e *env) flush(specs ...string) (engine.Outcome, error) {
	e.t.Helper()
	var frags []api.Fragment
	for i, s := range specs {
		frags = append(frags, api.Fragment{Target: zoneRef, Source: api.SourceRef{Kind: "API", Name: "s" + string(rune('a'+i))},
			Spec: json.RawMessage(s), CreateIndex: uint64(i + 1)})
	}
	res, err := New().Aggregate(zoneRef, frags)
	if err != nil {
		e.t.Fatalf("Aggregate: %v", err)
	}
	out, err := e.f.Flush(e.ctx(), engine.Request{
		Target: zoneRef, Result: res, Prev: e.prev, ClusterID: clusterID,
		Checkpoint: func(context.Context, map[string]string) error { e.checks++; return nil },
	})
	if err == nil {
		e.prev = &api.SyncStatus{SyncedHash: res.Hash(), DownstreamIDs: maps.Clone(out.DownstreamIDs)}
	}
	return out, err
}

// mustFlush flushes and fails the test on error; it returns the number of
// batch calls the flush made.
func (e *env) mustFlush(specs ...string) (engine.Outcome, int) {
	e.t.Helper()
	before := e.emu.Requests()[batchKey]
	out, err := e.flush(specs...)
	if err != nil {
		e.t.Fatalf("Flush: %v", err)
	}
	return out, e.emu.Requests()[batchKey] - before
}

// writes counts the requests that were not GETs.
func (e *env) writes() int {
	n := 0
	for k, v := range e.emu.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

// records returns the zone's records keyed "name TYPE content".
func (e *env) records() map[string]emu.DNSRecordInfo {
	out := map[string]emu.DNSRecordInfo{}
	for _, r := range e.emu.DNSRecords(e.zoneID) {
		out[r.Name+" "+r.Type+" "+r.Content] = r
	}
	return out
}

// handMade creates a record without our marker, as a person would.
func (e *env) handMade(typ, name, content, comment string) cloudflare.DNSRecord {
	e.t.Helper()
	r, err := e.human.CreateDNSRecord(e.ctx(), cloudflare.ZoneIdentifier(e.zoneID), cloudflare.CreateDNSRecordParams{
		Type: typ, Name: name, Content: content, TTL: 1, Comment: comment})
	if err != nil {
		e.t.Fatalf("create hand-made record: %v", err)
	}
	return r
}

func (e *env) seedTunnel(name, id string) {
	e.t.Helper()
	err := e.st.Update(func(tx *store.Tx) error {
		_, err := tx.RecordSync(api.TargetRef{Kind: cfapi.KindTunnel, Name: name},
			api.SyncStatus{DownstreamIDs: map[string]string{cfapi.IDAccount: acct, cfapi.IDTunnel: id}})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}
