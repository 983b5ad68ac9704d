// Package cfapitest is the test environment the Cloudflare kinds' flusher
// tests share: the Cloudflare emulator behind an httptest server, cfapi
// clients talking to it, a temporary store, a plain cloudflare-go client
// acting as a person editing by hand, and engine requests whose Checkpoint
// calls are recorded.
//
// It is a normal package so that the tests of several packages can import
// it, but only tests may import it. Package cfapi's own tests cannot: they
// are internal to cfapi, which this package imports.
package cfapitest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

const (
	// Account is the one emulated account.
	Account = "acc1"
	// Token is the API token scoped to Account.
	Token = "tok-acc1"
	// ClusterID is the cluster id every request carries.
	ClusterID = "0123456789abcdef"
)

// Option configures New.
type Option func(*Env)

// Zone adds the zone name to Account; Env.Zones maps it to its id.
func Zone(name string) Option {
	return func(e *Env) { e.Zones[name] = e.Emu.AddZone(Account, name) }
}

// SecretsOnly builds Env.Clients without static credentials: every target
// must name a Secret in Env.Secrets.
func SecretsOnly() Option {
	return func(e *Env) { e.secretsOnly = true }
}

// SecretRef is the Secret key tests put Token in (see Env.Secrets).
var SecretRef = api.SecretRef{Namespace: "infra", Name: "cloudflare", Key: "token"}

// Secrets is an in-memory cfapi.SecretReader: what the Kubernetes side
// would read from Secrets.
type Secrets struct {
	mu     sync.Mutex
	values map[api.SecretRef]string
	reads  int
}

// NewSecrets returns an empty Secrets.
func NewSecrets() *Secrets { return &Secrets{values: map[api.SecretRef]string{}} }

// Set stores value under ref.
func (s *Secrets) Set(ref api.SecretRef, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[ref] = value
}

// Delete removes ref.
func (s *Secrets) Delete(ref api.SecretRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, ref)
}

// Reads counts the SecretValue calls so far.
func (s *Secrets) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// SecretValue implements cfapi.SecretReader.
func (s *Secrets) SecretValue(_ context.Context, ref api.SecretRef) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	v, ok := s.values[ref]
	if !ok {
		return "", fmt.Errorf("%s: %w", ref, cfapi.ErrSecretNotFound)
	}
	return v, nil
}

// Env is an emulator with Account (and any zones asked for), reachable at
// URL with Token.
type Env struct {
	Emu *emu.Server
	// URL is the API base URL, ending in /client/v4.
	URL string
	// Zones maps the zone names given to New to their ids.
	Zones map[string]string
	// Clients are the flushers' clients, with no rate limit of their own.
	Clients *cfapi.Clients
	// Store is a temporary store, opened with NoSync.
	Store *store.Store
	// Human is a plain client acting as a person editing by hand: no
	// retries, a high rate limit.
	Human *cloudflare.API
	// Secrets is the Secret source of Clients; empty at first. Put Token
	// under SecretRef for targets naming it.
	Secrets *Secrets
	// Objects is the inline-secret source of Clients; empty at first.
	Objects *Objects

	secretsOnly bool
	mu          sync.Mutex
	checkpoints []map[string]string
}

// New starts an emulator without a rate limit and everything around it;
// all of it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e := &Env{
		Emu: emu.New(emu.Config{
			Tokens:    map[string]emu.TokenScope{Token: {Accounts: []string{Account}}},
			RateLimit: &emu.RateLimit{Requests: 0},
		}),
		Zones:   map[string]string{},
		Secrets: NewSecrets(),
		Objects: NewObjects(),
	}
	e.Emu.AddAccount(Account)
	for _, o := range opts {
		o(e)
	}
	srv := httptest.NewServer(e.Emu)
	t.Cleanup(srv.Close)
	e.URL = srv.URL + "/client/v4"
	var err error
	creds := cfapi.Credentials{Account: Token}
	if e.secretsOnly {
		creds = nil
	}
	e.Clients, err = cfapi.New(cfapi.Config{Credentials: creds, Secrets: e.Secrets, Objects: e.Objects, BaseURL: e.URL, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	e.Store, err = store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Store.Close() })
	e.Human, err = cloudflare.NewWithAPIToken(Token, cloudflare.BaseURL(e.URL),
		cloudflare.UsingRateLimit(1000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Context is a context for one call to the emulator, cancelled when the
// test ends and after 30 seconds at the latest.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Request builds a flush request for the desired spec (nil: no fragments)
// on top of prev, with ClusterID and a Checkpoint that records into
// Checkpoints.
func (e *Env) Request(t testing.TB, target api.TargetRef, desired any, prev *api.SyncStatus) engine.Request {
	t.Helper()
	var res kind.Result
	if desired != nil {
		b, err := json.Marshal(desired)
		if err != nil {
			t.Fatal(err)
		}
		res.Desired = b
	}
	return e.request(target, res, prev)
}

func (e *Env) request(target api.TargetRef, res kind.Result, prev *api.SyncStatus) engine.Request {
	return engine.Request{
		Target: target, Result: res, Prev: prev, ClusterID: ClusterID,
		Checkpoint: func(_ context.Context, ids map[string]string) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.checkpoints = append(e.checkpoints, maps.Clone(ids))
			return nil
		},
	}
}

// Checkpoints returns the ids of every Checkpoint call so far, oldest first.
func (e *Env) Checkpoints() []map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]map[string]string(nil), e.checkpoints...)
}

// RecordStatus stores a status with ids for target, as the engine would
// after a flush, and returns it.
func (e *Env) RecordStatus(t testing.TB, target api.TargetRef, ids map[string]string) *api.SyncStatus {
	t.Helper()
	st := api.SyncStatus{DownstreamIDs: ids}
	if err := e.Store.Update(func(tx *store.Tx) error { _, err := tx.RecordSync(target, st); return err }); err != nil {
		t.Fatal(err)
	}
	return &st
}

// RecordPlan stores a dry run's status for target, with the ids its plan
// found (api.SyncStatus.PlannedIDs), as the engine would, and returns it.
func (e *Env) RecordPlan(t testing.TB, target api.TargetRef, planned map[string]string) *api.SyncStatus {
	t.Helper()
	st := api.SyncStatus{DryRun: true, Plan: []string{"planned by the test"}, PlannedIDs: planned}
	if err := e.Store.Update(func(tx *store.Tx) error { _, err := tx.RecordSync(target, st); return err }); err != nil {
		t.Fatal(err)
	}
	return &st
}

// SeedTunnel records tunnelID in Account as the status of the
// cloudflare.Tunnel target named targetName, which is where the other kinds
// look a tunnel's id up.
func (e *Env) SeedTunnel(t testing.TB, targetName, tunnelID string) {
	t.Helper()
	e.RecordStatus(t, api.TargetRef{Kind: cfapi.KindTunnel, Name: targetName},
		map[string]string{cfapi.IDAccount: Account, cfapi.IDTunnel: tunnelID})
}

// SeedNamedTunnel is SeedTunnel for a tunnel whose name in Cloudflare the
// cloudflare.Tunnel flusher recorded as well (cfapi.IDTunnelName).
func (e *Env) SeedNamedTunnel(t testing.TB, targetName, tunnelID, tunnelName string) {
	t.Helper()
	e.RecordStatus(t, api.TargetRef{Kind: cfapi.KindTunnel, Name: targetName},
		map[string]string{cfapi.IDAccount: Account, cfapi.IDTunnel: tunnelID, cfapi.IDTunnelName: tunnelName})
}

// SeedTunnelWithCredentials is SeedTunnel for a tunnel written with the
// token of the Secret ref, as the cloudflare.Tunnel flusher records it.
func (e *Env) SeedTunnelWithCredentials(t testing.TB, targetName, tunnelID string, ref *api.SecretRef) {
	t.Helper()
	e.RecordStatus(t, api.TargetRef{Kind: cfapi.KindTunnel, Name: targetName}, cfapi.SetCredentials(
		map[string]string{cfapi.IDAccount: Account, cfapi.IDTunnel: tunnelID}, ref))
}

// HandMadeTunnel creates a remotely managed tunnel with Human, as a person
// would, and returns its id.
func (e *Env) HandMadeTunnel(t testing.TB, name string) string {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	tn, err := e.Human.CreateTunnel(Context(t), cloudflare.AccountIdentifier(Account),
		cloudflare.TunnelCreateParams{Name: name, Secret: base64.StdEncoding.EncodeToString(secret), ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// Writes counts the requests other than GETs the emulator has served.
func (e *Env) Writes() int { return e.Emu.Writes() }

// Flusher is what a Flow needs of a kind's flusher.
type Flusher interface {
	Flush(ctx context.Context, req engine.Request) (engine.Outcome, error)
}

// Flow flushes one target again and again the way the engine does: every
// flush validates and aggregates its specs with the kind, and a successful
// one leaves its status in Prev for the next.
type Flow struct {
	*Env
	Kind    kind.Kind
	Flusher Flusher
	Target  api.TargetRef
	// Prev is the status the next flush starts from; nil for none.
	Prev *api.SyncStatus
}

// Flow starts a Flow of target through k and f.
func (e *Env) Flow(k kind.Kind, f Flusher, target api.TargetRef) *Flow {
	return &Flow{Env: e, Kind: k, Flusher: f, Target: target}
}

// Flush flushes one fragment per spec (none: no fragments), from sources
// "sa", "sb", ... created in that order.
func (fl *Flow) Flush(t testing.TB, specs ...string) (engine.Outcome, error) {
	t.Helper()
	res := fl.aggregate(t, specs...)
	out, err := fl.Flusher.Flush(Context(t), fl.request(fl.Target, res, fl.Prev))
	if err == nil {
		fl.Prev = &api.SyncStatus{SyncedHash: res.Hash(), DownstreamIDs: maps.Clone(out.DownstreamIDs)}
	}
	return out, err
}

// Plan is Flush as a dry run (see Env.DryRun); Prev stays as it was.
func (fl *Flow) Plan(t testing.TB, specs ...string) (engine.Outcome, error) {
	t.Helper()
	return fl.DryRun(t, fl.Flusher, fl.request(fl.Target, fl.aggregate(t, specs...), fl.Prev))
}

// DryRun flushes req through f as the engine does in a dry run: with
// DryRun and Drift set, a context that refuses every write, and a
// Checkpoint that fails the test. It fails the test when the flusher tried
// to write (the refusal, engine.ErrDryRun, came back) or anything but a
// GET reached the emulator.
func (e *Env) DryRun(t testing.TB, f Flusher, req engine.Request) (engine.Outcome, error) {
	t.Helper()
	req.DryRun, req.Drift = true, true
	req.Checkpoint = func(context.Context, map[string]string) error {
		t.Error("a dry run checkpointed")
		return engine.ErrDryRun
	}
	before := e.Writes()
	out, err := f.Flush(engine.WithDryRun(Context(t)), req)
	if errors.Is(err, engine.ErrDryRun) {
		t.Fatalf("the flusher tried to write in a dry run: %v", err)
	}
	if n := e.Writes() - before; n != 0 {
		t.Fatalf("the dry run wrote %d times: %v", n, e.Emu.Requests())
	}
	return out, err
}

// MustPlan is Plan failing the test on an error; it returns the plan.
func (fl *Flow) MustPlan(t testing.TB, specs ...string) []string {
	t.Helper()
	out, err := fl.Plan(t, specs...)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	return out.Plan
}

// aggregate validates and aggregates one fragment per spec, from sources
// "sa", "sb", ... created in that order.
func (fl *Flow) aggregate(t testing.TB, specs ...string) kind.Result {
	t.Helper()
	var frags []api.Fragment
	for i, s := range specs {
		f := api.Fragment{Target: fl.Target, Source: api.SourceRef{Kind: "API", Name: "s" + string(rune('a'+i))},
			Spec: json.RawMessage(s), CreateIndex: uint64(i + 1)}
		if err := fl.Kind.Validate(f.Target, f.Source, f.Spec); err != nil {
			t.Fatalf("spec does not validate: %v", err)
		}
		frags = append(frags, f)
	}
	res, err := fl.Kind.Aggregate(fl.Target, frags)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	return res
}

// MustFlush is Flush failing the test on an error.
func (fl *Flow) MustFlush(t testing.TB, specs ...string) engine.Outcome {
	t.Helper()
	out, err := fl.Flush(t, specs...)
	if err != nil {
		t.Fatalf("flush: %v", err)
	}
	return out
}

// Objects is an in-memory cfapi.ObjectFieldReader: what the Kubernetes
// side would read from objects' fields. Generation is not part of the
// key: the reader reads what the object holds now.
type Objects struct {
	mu     sync.Mutex
	values map[api.ObjectFieldRef]string
	reads  int
}

// NewObjects returns an empty Objects.
func NewObjects() *Objects { return &Objects{values: map[api.ObjectFieldRef]string{}} }

// Set stores value under ref (its Generation ignored).
func (o *Objects) Set(ref api.ObjectFieldRef, value string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ref.Generation = 0
	o.values[ref] = value
}

// Reads counts the ObjectFieldValue calls so far.
func (o *Objects) Reads() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reads
}

// ObjectFieldValue implements cfapi.ObjectFieldReader.
func (o *Objects) ObjectFieldValue(_ context.Context, ref api.ObjectFieldRef) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	ref.Generation = 0
	v, ok := o.values[ref]
	if !ok {
		return "", fmt.Errorf("%s: not found", ref)
	}
	return v, nil
}
