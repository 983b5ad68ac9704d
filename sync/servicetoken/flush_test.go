package servicetoken

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var account = cf.AccountIdentifier(cfapitest.Account)

// secrets stands in for the Kubernetes Secrets (ingest/kube.Secrets is
// tested against a real API server): a map of Secrets' data.
type secrets struct {
	mu   sync.Mutex
	data map[string]map[string]string // "namespace/name" -> key -> value
	fail error
}

func newSecrets() *secrets { return &secrets{data: map[string]map[string]string{}} }

func (s *secrets) ServiceTokenSecretHolds(_ context.Context, ref api.ServiceTokenSecret, clientID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data[ref.Namespace+"/"+ref.Name]
	return d != nil && d[ref.ClientIDKey] == clientID && d[ref.ClientSecretKey] != "", nil
}

func (s *secrets) WriteServiceTokenSecret(_ context.Context, ref api.ServiceTokenSecret, clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.data[ref.Namespace+"/"+ref.Name] = map[string]string{ref.ClientIDKey: clientID, ref.ClientSecretKey: secret}
	return nil
}

func (s *secrets) get(ns, name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.data[ns+"/"+name])
}

func (s *secrets) remove(ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, ns+"/"+name)
}

type flow struct {
	*cfapitest.Flow
	secrets *secrets
	logs    *bytes.Buffer
	dir     string
}

func newFlow(t *testing.T) *flow {
	t.Helper()
	ce := cfapitest.New(t)
	logs := &bytes.Buffer{}
	sec := newSecrets()
	f := NewFlusher(FlusherConfig{Clients: ce.Clients, Secrets: sec, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return &flow{Flow: ce.Flow(New(), f, testTarget), secrets: sec, logs: logs, dir: t.TempDir()}
}

func (fl *flow) fileSpec(extra string) string {
	return `{"name":"ci","file":"` + filepath.Join(fl.dir, "ci.json") + `"` + extra + `}`
}

const secretSpec = `{"name":"ci","secret":{"namespace":"apps","name":"ci-token"}}`

func tokensOf(fl *flow) []emu.ServiceTokenInfo { return fl.Emu.ServiceTokens(cfapitest.Account) }

// fileOf reads the delivered file.
func fileOf(t *testing.T, path string) fileCredentials {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c fileCredentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// noSecret fails the test when the token's secret shows in the outcome,
// the checkpoints or the logs.
func noSecret(t *testing.T, fl *flow, out engine.Outcome) {
	t.Helper()
	for _, tok := range tokensOf(fl) {
		b, _ := json.Marshal(out)
		cps, _ := json.Marshal(fl.Checkpoints())
		for what, s := range map[string]string{"outcome": string(b), "checkpoints": string(cps), "logs": fl.logs.String()} {
			if strings.Contains(s, tok.Secret) {
				t.Fatalf("the secret is in the %s: %s", what, s)
			}
		}
	}
}

func TestFlushCreateDeliversRepeatDelete(t *testing.T) {
	fl := newFlow(t)
	spec := fl.fileSpec("")
	out := fl.MustFlush(t, spec)
	ts := tokensOf(fl)
	ids := out.DownstreamIDs
	if len(ts) != 1 || ids[IDToken] != ts[0].ID || ids[IDClientID] != ts[0].ClientID || ids[IDCreated] != "true" || ids[IDName] != "ci" ||
		ids[IDExpiresAt] != ts[0].ExpiresAt.Format(time.RFC3339) || ids[IDDelivered] != "file "+filepath.Join(fl.dir, "ci.json") || ts[0].Duration != "8760h" {
		t.Fatalf("ids %v, tokens %+v", ids, ts)
	}
	if c := fileOf(t, filepath.Join(fl.dir, "ci.json")); c.ClientID != ts[0].ClientID || c.ClientSecret != ts[0].Secret {
		t.Fatalf("file holds %+v, token %+v", c, ts[0])
	}
	if st, err := os.Stat(filepath.Join(fl.dir, "ci.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", st.Mode(), err)
	}
	if cps := fl.Checkpoints(); len(cps) != 1 || cps[0][IDToken] != ts[0].ID {
		t.Fatalf("a new token is checkpointed at once: %v", cps)
	}
	noSecret(t, fl, out)
	w := fl.Writes()
	fl.MustFlush(t, spec)
	if fl.Writes() != w || tokensOf(fl)[0].Version != 1 {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(tokensOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, tokensOf(fl))
	}
}

func TestFlushDeliversToSecretWithTheOperatorsKeys(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, secretSpec)
	ts := tokensOf(fl)
	got := fl.secrets.get("apps", "ci-token")
	if len(ts) != 1 || got["CF_ACCESS_CLIENT_ID"] != ts[0].ClientID || got["CF_ACCESS_CLIENT_SECRET"] != ts[0].Secret || out.DownstreamIDs[IDDelivered] != "Secret apps/ci-token" {
		t.Fatalf("Secret %v, tokens %+v, ids %v", got, ts, out.DownstreamIDs)
	}
	noSecret(t, fl, out)
}

// The leader created the token and crashed before the delivery: the next
// flush finds the recorded token, the destination without its secret,
// rotates and delivers the new secret. No second token is made.
func TestFlushCrashBetweenCreateAndDeliveryRotates(t *testing.T) {
	fl := newFlow(t)
	// A regular file where the directory should be: the write fails.
	blocker := filepath.Join(fl.dir, "sub")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "ci.json")
	spec := `{"name":"ci","file":"` + path + `"}`
	_, err := fl.Flush(t, spec)
	if err == nil || !strings.Contains(err.Error(), "deliver the service token's secret") {
		t.Fatalf("want a delivery error, got %v", err)
	}
	ts := tokensOf(fl)
	if len(ts) != 1 || strings.Contains(err.Error(), ts[0].Secret) {
		t.Fatalf("tokens %+v, error %v", ts, err)
	}
	cps := fl.Checkpoints()
	// What the engine recorded: the checkpoint.
	fl.Prev = &api.SyncStatus{DownstreamIDs: cps[len(cps)-1]}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("rotate Access service token ci (id %s): its secret is not in file %s", ts[0].ID, path)}
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q, want %q", plan, want)
	}
	out := fl.MustFlush(t, spec)
	ts2 := tokensOf(fl)
	if len(ts2) != 1 || ts2[0].ID != ts[0].ID || ts2[0].Version != 2 || ts2[0].Secret == ts[0].Secret || !slices.Equal(out.Plan, want) {
		t.Fatalf("tokens %+v, plan %q", ts2, out.Plan)
	}
	if c := fileOf(t, path); c.ClientSecret != ts2[0].Secret || c.ClientID != ts2[0].ClientID {
		t.Fatalf("file holds %+v", c)
	}
	if n := fl.Emu.Requests()["POST /accounts/{account}/access/service_tokens/{id}/rotate"]; n != 1 {
		t.Fatalf("rotations: %v", fl.Emu.Requests())
	}
	noSecret(t, fl, out)
}

// A new leader's node has no file (or someone deleted the Secret): the
// token is rotated and the new secret written to every destination, since
// the old one is then void everywhere.
func TestFlushLostDestinationRotatesAndRedeliversEverywhere(t *testing.T) {
	fl := newFlow(t)
	path := filepath.Join(fl.dir, "ci.json")
	spec := `{"name":"ci","file":"` + path + `","secret":{"namespace":"apps","name":"ci-token","clientIdKey":"id","clientSecretKey":"secret"}}`
	fl.MustFlush(t, spec)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t, spec)
	ts := tokensOf(fl)
	if got := fl.secrets.get("apps", "ci-token"); len(ts) != 1 || ts[0].Version != 2 || got["secret"] != ts[0].Secret || fileOf(t, path).ClientSecret != ts[0].Secret {
		t.Fatalf("tokens %+v, Secret %v", ts, got)
	}
	fl.secrets.remove("apps", "ci-token")
	fl.MustFlush(t, spec)
	if ts := tokensOf(fl); ts[0].Version != 3 || fl.secrets.get("apps", "ci-token")["secret"] != ts[0].Secret || fileOf(t, path).ClientSecret != ts[0].Secret {
		t.Fatalf("tokens %+v", ts)
	}
}

// Without a Kubernetes API, a spec naming a Secret is refused before
// anything is created.
func TestFlushSecretWithoutKubernetes(t *testing.T) {
	ce := cfapitest.New(t)
	fl := ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
	_, err := fl.Flush(t, secretSpec)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "spec.secret: this server has no Kubernetes API") || fl.Writes() != 0 {
		t.Fatalf("got %v after %d writes", err, fl.Writes())
	}
}

// A new duration is set and counted from now (a refresh).
func TestFlushDurationChangeRefreshes(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, fl.fileSpec(`,"duration":"24h"`)).DownstreamIDs[IDToken]
	before := tokensOf(fl)[0].ExpiresAt
	out := fl.MustFlush(t, fl.fileSpec(`,"duration":"48h"`))
	ts := tokensOf(fl)
	if ts[0].Duration != "48h" || ts[0].ExpiresAt.Sub(before) < 23*time.Hour || ts[0].Version != 1 ||
		out.DownstreamIDs[IDExpiresAt] != ts[0].ExpiresAt.Format(time.RFC3339) {
		t.Fatalf("tokens %+v, ids %v", ts, out.DownstreamIDs)
	}
	want := []string{"update Access service token ci (id " + id + "): duration 24h -> 48h", "refresh Access service token ci (id " + id + "): its duration changed to 48h"}
	if !slices.Equal(out.Plan, want) {
		t.Fatalf("plan %q, want %q", out.Plan, want)
	}
	// Forever: updated, nothing to refresh, no expiry.
	out = fl.MustFlush(t, fl.fileSpec(`,"duration":"forever"`))
	if ts := tokensOf(fl); ts[0].Duration != "forever" || len(out.Plan) != 1 {
		t.Fatalf("tokens %+v, plan %q", ts, out.Plan)
	}
}

// With refreshBefore, a token expiring within it is refreshed; the secret
// stays.
func TestFlushRefreshBeforeExpiry(t *testing.T) {
	fl := newFlow(t)
	spec := fl.fileSpec(`,"duration":"240h","refreshBefore":"48h"`)
	id := fl.MustFlush(t, spec).DownstreamIDs[IDToken]
	w := fl.Writes()
	fl.MustFlush(t, spec)
	if fl.Writes() != w {
		t.Fatalf("a token far from expiry was written: %v", fl.Emu.Requests())
	}
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := fl.Emu.SetServiceTokenExpiry(cfapitest.Account, id, soon); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("refresh Access service token ci (id %s): it expires at %s, within refreshBefore 48h", id, soon.Format(time.RFC3339))}
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, want) {
		t.Fatalf("plan %q, want %q", plan, want)
	}
	secret := tokensOf(fl)[0].Secret
	out := fl.MustFlush(t, spec)
	ts := tokensOf(fl)
	if ts[0].ExpiresAt.Sub(soon) < 200*time.Hour || ts[0].Secret != secret || out.DownstreamIDs[IDExpiresAt] != ts[0].ExpiresAt.Format(time.RFC3339) {
		t.Fatalf("tokens %+v, ids %v", ts, out.DownstreamIDs)
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	fl := newFlow(t)
	if _, err := fl.Human.CreateAccessServiceToken(cfapitest.Context(t), account, cf.CreateAccessServiceTokenParams{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	_, err := fl.Flush(t, fl.fileSpec(""))
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `an Access service token named "ci" exists and is not managed by conflux-sync`) {
		t.Fatalf("want a permanent clash, got %v", err)
	}
}

// The token cloudflare-operator made is owned as created; its Secret
// already holds its credentials, so nothing is rotated.
func TestFlushTakeOverKeepsDeliveredSecret(t *testing.T) {
	fl := newFlow(t)
	prev, err := fl.Human.CreateAccessServiceToken(cfapitest.Context(t), account, cf.CreateAccessServiceTokenParams{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	fl.secrets.data["apps/ci-token"] = map[string]string{DefaultClientIDKey: prev.ClientID, DefaultClientSecretKey: prev.ClientSecret}
	out := fl.MustFlush(t, strings.Replace(secretSpec, `"name":"ci"`, `"name":"ci","takeOver":"`+prev.ID+`"`, 1))
	if ts := tokensOf(fl); len(ts) != 1 || ts[0].Version != 1 || out.DownstreamIDs[IDCreated] != "true" || out.DownstreamIDs[IDToken] != prev.ID {
		t.Fatalf("tokens %+v, ids %v", ts, out.DownstreamIDs)
	}
	fl.MustFlush(t)
	if ts := tokensOf(fl); len(ts) != 0 {
		t.Fatalf("a taken-over token is deleted: %+v", ts)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	path := filepath.Join(fl.dir, "ci.json")
	if plan := fl.MustPlan(t, fl.fileSpec("")); !slices.Equal(plan, []string{"create Access service token ci (duration 8760h)", "deliver the client secret to file " + path}) {
		t.Fatalf("plan %q", plan)
	}
	if len(tokensOf(fl)) != 0 {
		t.Fatal("the dry run created a token")
	}
	id := fl.MustFlush(t, fl.fileSpec("")).DownstreamIDs[IDToken]
	if plan := fl.MustPlan(t); !slices.Equal(plan, []string{"delete Access service token " + id}) {
		t.Fatalf("plan %q", plan)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	fl := newFlow(t)
	fl.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/access/service_tokens", Status: 503, Count: 1})
	if _, err := fl.Flush(t, fl.fileSpec("")); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	fl.MustFlush(t, fl.fileSpec(""))
	if ts := tokensOf(fl); len(ts) != 1 {
		t.Fatalf("tokens %+v", ts)
	}
}

// A token created forever has no expires_at, which v6 answers as the
// zero time: it is recorded as never expiring (not as year 1), and a
// repeat writes nothing.
func TestFlushForeverNeverExpires(t *testing.T) {
	fl := newFlow(t)
	spec := fl.fileSpec(`,"duration":"forever"`)
	out := fl.MustFlush(t, spec)
	if ts := tokensOf(fl); len(ts) != 1 || !ts[0].ExpiresAt.IsZero() || out.DownstreamIDs[IDExpiresAt] != Never {
		t.Fatalf("tokens %+v, ids %v", ts, out.DownstreamIDs)
	}
	w := fl.Writes()
	if out := fl.MustFlush(t, spec); fl.Writes() != w || out.DownstreamIDs[IDExpiresAt] != Never || len(out.Plan) != 0 {
		t.Fatalf("repeat wrote %d times, ids %v, plan %q", fl.Writes()-w, out.DownstreamIDs, out.Plan)
	}
}

// Finding the tokens with the spec's name reads the list once when they
// fit in a page (v6's auto-pager reads one more, empty, page after a page
// with tokens).
func TestFlushListsOnePage(t *testing.T) {
	fl := newFlow(t)
	if _, err := fl.Human.CreateAccessServiceToken(cfapitest.Context(t), account, cf.CreateAccessServiceTokenParams{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fl.Flush(t, fl.fileSpec("")); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "is not managed by conflux-sync") {
		t.Fatalf("want the clash, got %v", err)
	}
	if reqs := fl.Emu.Requests(); reqs["GET /accounts/{account}/access/service_tokens"] != 1 {
		t.Fatalf("listed %d times: %v", reqs["GET /accounts/{account}/access/service_tokens"], reqs)
	}
}
