package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// echoKind accepts any object spec; the aggregate is the fragments' specs
// in a JSON array (nil without fragments).
type echoKind struct{}

func (echoKind) Name() string { return "test.Echo" }
func (echoKind) Validate(api.TargetRef, api.SourceRef, json.RawMessage) error {
	return nil
}
func (echoKind) Aggregate(_ api.TargetRef, frags []api.Fragment) (kind.Result, error) {
	if len(frags) == 0 {
		return kind.Result{}, nil
	}
	specs := make([]json.RawMessage, len(frags))
	for i, f := range frags {
		specs[i] = f.Spec
	}
	b, err := json.Marshal(specs)
	return kind.Result{Desired: b}, err
}

// leaderOnly is a Cluster that leads and refuses every proposal: the
// tests below must fail before anything is proposed.
type leaderOnly struct{ t *testing.T }

func (c leaderOnly) Apply(context.Context, []byte) (any, uint64, error) {
	c.t.Error("a write was proposed")
	return nil, 0, errors.New("no proposals in this test")
}
func (leaderOnly) IsLeader() bool                               { return true }
func (leaderOnly) Leader() (api.Member, bool)                   { return api.Member{ID: "n1"}, true }
func (leaderOnly) VerifyLeader(context.Context) error           { return nil }
func (leaderOnly) VerifyLeaderLease(context.Context) error      { return nil }
func (leaderOnly) WaitLeaderEstablished(context.Context) error  { return nil }
func (leaderOnly) WaitForApplied(context.Context, uint64) error { return nil }
func (leaderOnly) Status() api.ClusterStatus                    { return api.ClusterStatus{} }
func (leaderOnly) Indexes() (uint64, uint64, bool)              { return 0, 0, true }
func (leaderOnly) RemovePeer(context.Context, string) error     { return nil }
func (leaderOnly) Restore(context.Context, *raft.SnapshotMeta, io.Reader) error {
	return nil
}

const testWriteToken = "write-token-0123456789abcdef"

func newWaitServer(t *testing.T) (*Server, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{
		NodeID:  "n1",
		Cluster: leaderOnly{t},
		Store:   st,
		Kinds:   kind.NewRegistry(echoKind{}),
		Tokens:  NewTokens(map[Role][]string{RoleWrite: {testWriteToken}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func TestWaitParameterValidation(t *testing.T) {
	s, _ := newWaitServer(t)
	const frag = `{"target":{"kind":"test.Echo","name":"a"},"source":{"kind":"API","name":"x"},"generation":1,"spec":{}}`
	const replace = `{"source":{"kind":"API","name":"x"},"fragments":[]}`
	const refs = "target.kind=test.Echo&target.name=a&source.kind=API&source.name=x"
	for _, wait := range []string{"", "abc", "10", "0s", "-1s", "5m1s", "1h", "0.5"} {
		for _, req := range []struct{ method, path, body string }{
			{http.MethodPut, "/v1/fragments?wait=", frag},
			{http.MethodDelete, "/v1/fragments?" + refs + "&wait=", ""},
			{http.MethodPut, "/v1/source-fragments?wait=", replace},
		} {
			t.Run(req.method+" "+strings.Split(req.path, "?")[0]+" wait="+wait, func(t *testing.T) {
				r := httptest.NewRequest(req.method, req.path+wait, strings.NewReader(req.body))
				r.Header.Set("Authorization", "Bearer "+testWriteToken)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				var body api.ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("decode %q: %v", w.Body.String(), err)
				}
				if w.Code != http.StatusBadRequest || body.Error.Code != api.CodeBadRequest || body.Error.Field != "wait" {
					t.Fatalf("got %d %+v, want 400 bad_request on field wait", w.Code, body.Error)
				}
			})
		}
	}
}

func TestParseWaitAccepts(t *testing.T) {
	for raw, want := range map[string]time.Duration{
		"":                  0, // no parameter at all
		"?wait=1ns":         time.Nanosecond,
		"?wait=30s":         30 * time.Second,
		"?wait=5m":          5 * time.Minute,
		"?wait=1m30s&x=y":   90 * time.Second,
		"?wait=300000ms":    5 * time.Minute,
		"?other=1&wait=2s":  2 * time.Second,
		"?wait=1.5s&wait=x": 1500 * time.Millisecond,
	} {
		r := httptest.NewRequest(http.MethodPut, "/v1/fragments"+raw, nil)
		got, err := parseWait(r)
		if err != nil || got != want {
			t.Errorf("%q: got %v %v, want %v", raw, got, err, want)
		}
	}
}

func TestSettled(t *testing.T) {
	ok := &api.SyncStatus{Revision: 5, SyncedHash: "h1"}
	failed := &api.SyncStatus{Revision: 10, SyncedHash: "h1", Error: "HTTP 400", Permanent: true}
	retrying := &api.SyncStatus{Revision: 10, SyncedHash: "h1", Error: "HTTP 503", Attempts: 2}
	for _, tc := range []struct {
		name            string
		st              *api.SyncStatus
		hash            string
		revision, index uint64
		want            bool
	}{
		{"no status", nil, "h1", 10, 10, false},
		{"in sync", ok, "h1", 10, 10, true},
		{"behind", ok, "h2", 10, 10, false},
		{"removed and flushed", &api.SyncStatus{Revision: 10}, "", 10, 10, true},
		{"removal not flushed", ok, "", 10, 10, false},
		{"error at the write", failed, "h2", 10, 10, true},
		{"error before the write", failed, "h2", 12, 12, false},
		{"error after the write", failed, "h2", 10, 9, true},
		{"error, write did not change the target", failed, "h2", 10, 15, true},
		{"old error, write did not change the target", failed, "h2", 11, 15, false},
		{"retrying: the leader is not done", retrying, "h2", 10, 10, false},
		{"planned (dry run)", &api.SyncStatus{Revision: 10, SyncedHash: "h1", AttemptedHash: "h2", DryRun: true}, "h2", 10, 10, true},
		{"planned an older hash", &api.SyncStatus{Revision: 9, AttemptedHash: "h1", DryRun: true}, "h2", 10, 10, false},
	} {
		if got := settled(tc.st, tc.hash, tc.revision, tc.index); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWaitSync(t *testing.T) {
	s, st := newWaitServer(t)
	a := api.TargetRef{Kind: "test.Echo", Name: "a"}
	b := api.TargetRef{Kind: "test.Echo", Name: "b"}
	src := api.SourceRef{Kind: "API", Name: "x"}
	update := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := st.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx *store.Tx) error {
		for _, ref := range []api.TargetRef{a, b} {
			if _, err := tx.PutFragment(api.Fragment{Target: ref, Source: src, Generation: 1, Spec: json.RawMessage(`{}`)}, 7); err != nil {
				return err
			}
		}
		return nil
	})
	hash := kind.Hash([]byte(`[{}]`))

	// Nothing recorded: the wait runs out.
	start := time.Now()
	_, err := s.waitSync(context.Background(), 100*time.Millisecond, 7, []api.TargetRef{b, a, b})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusGatewayTimeout || ae.Code != api.CodeWaitTimeout ||
		!strings.Contains(ae.Message, a.String()) || !strings.Contains(ae.Message, b.String()) {
		t.Fatalf("got %v, want a 504 wait_timeout naming both targets", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("gave up after %v", took)
	}

	// a syncs, b fails at the write's revision while the wait runs.
	go func() {
		time.Sleep(50 * time.Millisecond)
		st.Update(func(tx *store.Tx) error {
			if _, err := tx.RecordSync(a, api.SyncStatus{Revision: 7, SyncedHash: hash, AttemptedHash: hash}); err != nil {
				return err
			}
			_, err := tx.RecordSync(b, api.SyncStatus{Revision: 7, AttemptedHash: hash, Error: "rejected", Permanent: true, Attempts: 1})
			return err
		})
	}()
	out, err := s.waitSync(context.Background(), 5*time.Second, 7, []api.TargetRef{b, a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Target != a || out[1].Target != b {
		t.Fatalf("want a then b once each: %+v", out)
	}
	if !out[0].Settled || out[0].Status == nil || out[0].Status.SyncedHash != hash || out[0].Status.Error != "" {
		t.Fatalf("a: %+v", out[0])
	}
	if !out[1].Settled || out[1].Status == nil || out[1].Status.Error != "rejected" {
		t.Fatalf("b: %+v", out[1])
	}

	// A cancelled request stops waiting at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	update(func(tx *store.Tx) error {
		_, err := tx.PutFragment(api.Fragment{Target: a, Source: src, Generation: 2, Spec: json.RawMessage(`{"v":2}`)}, 9)
		return err
	})
	if _, err := s.waitSync(ctx, time.Minute, 9, []api.TargetRef{a}); !api.IsCode(err, api.CodeUnavailable) {
		t.Fatalf("after cancel: %v", err)
	}
}
