package owned_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

var testTarget = api.TargetRef{Kind: widgetKind, Name: "API/w"}

// env flushes testTarget through the shared flush over a fresh fake.
type env struct {
	*cfapitest.Flow
	k *widgets
	f *owned.Flusher[widgetSpec, widget]
}

func newEnv(t *testing.T, marked bool, opts ...cfapitest.Option) *env {
	t.Helper()
	ce := cfapitest.New(t, opts...)
	k := newWidgets(marked)
	e := &env{k: k, f: owned.New[widgetSpec, widget](k, ce.Clients, nil)}
	e.Flow = ce.Flow(widgetOneOwner(), e.f, testTarget)
	return e
}

// both runs test once for a kind whose objects carry the marker and once
// for one whose ownership lives in the recorded status alone.
func both(t *testing.T, test func(t *testing.T, marked bool)) {
	for _, marked := range []bool{false, true} {
		name := "status only"
		if marked {
			name = "marked"
		}
		t.Run(name, func(t *testing.T) { test(t, marked) })
	}
}

func wantWrites(t *testing.T, e *env, want ...string) {
	t.Helper()
	if got := e.k.Writes(); !slices.Equal(got, want) {
		t.Fatalf("writes %q, want %q", got, want)
	}
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		out := e.MustFlush(t, `{"name":"a","size":1}`)
		want := map[string]string{cfapi.IDAccount: cfapitest.Account, idWidget: "w1", cfapi.IDCreated: "true",
			idRegion: "eu", "size": "1", "placed": "yes"}
		if !maps.Equal(out.DownstreamIDs, want) || !slices.Equal(out.Plan, []string{"create widget a in eu"}) {
			t.Fatalf("ids %v, plan %q", out.DownstreamIDs, out.Plan)
		}
		// Only an object that cannot say it is ours is checkpointed at once,
		// with the ids that find it again (not those of the outcome alone).
		wantCps := []map[string]string{{cfapi.IDAccount: cfapitest.Account, idWidget: "w1", cfapi.IDCreated: "true", idRegion: "eu"}}
		if marked {
			wantCps = nil
		}
		if cps := e.Checkpoints(); !slices.EqualFunc(cps, wantCps, maps.Equal) {
			t.Fatalf("checkpoints %v, want %v", cps, wantCps)
		}

		if out := e.MustFlush(t, `{"name":"a","size":1}`); len(out.Plan) != 0 || out.DownstreamIDs[idWidget] != "w1" {
			t.Fatalf("a repeat must be in sync: %q %v", out.Plan, out.DownstreamIDs)
		}
		out = e.MustFlush(t, `{"name":"a","size":2}`)
		if !slices.Equal(out.Plan, []string{"update widget a (id w1): size 1 -> 2"}) || out.DownstreamIDs["size"] != "2" {
			t.Fatalf("plan %q, ids %v", out.Plan, out.DownstreamIDs)
		}
		out = e.MustFlush(t)
		if len(out.DownstreamIDs) != 0 || !slices.Equal(out.Plan, []string{"delete widget " + map[bool]string{false: "w1", true: "a (id w1)"}[marked]}) {
			t.Fatalf("delete: ids %v, plan %q", out.DownstreamIDs, out.Plan)
		}
		wantWrites(t, e, "create w1", "update w1", "delete w1")
	})
}

// Drift: a change made by hand is read back and repaired, though the
// spec did not change.
func TestFlushRepairsDrift(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		e.MustFlush(t, `{"name":"a","size":1}`)
		e.k.edit("w1", func(w *widget) { w.Size = 9 })
		if out := e.MustFlush(t, `{"name":"a","size":1}`); !slices.Equal(out.Plan, []string{"update widget a (id w1): size 9 -> 1"}) {
			t.Fatalf("plan %q", out.Plan)
		}
		// Deleted by hand: made again.
		e.k.edit("w1", nil)
		if out := e.MustFlush(t, `{"name":"a","size":1}`); out.DownstreamIDs[idWidget] != "w2" {
			t.Fatalf("ids %v", out.DownstreamIDs)
		}
	})
}

// An object of the same name that conflux-sync did not make is never
// touched, unless the spec adopts it; adopted, it is released, not deleted.
func TestFlushNotOursUnlessAdopted(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		hand := e.k.put(widget{Name: "a", Region: "eu", Size: 5, Comment: "made by hand"})
		_, err := e.Flush(t, `{"name":"a","size":1}`)
		if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "not managed by conflux-sync; set adopt") {
			t.Fatalf("want a permanent clash, got %v", err)
		}
		wantWrites(t, e)

		out := e.MustFlush(t, `{"name":"a","size":1,"adopt":true}`)
		want := []string{"adopt widget a (id " + hand + ")", "update widget a (id " + hand + "): size 5 -> 1"}
		if marked {
			want[1] += `, comment "made by hand" -> "` + cfapi.Marker(cfapitest.ClusterID) + `"`
		}
		if !slices.Equal(out.Plan, want) || out.DownstreamIDs[cfapi.IDCreated] != "false" {
			t.Fatalf("plan %q, ids %v", out.Plan, out.DownstreamIDs)
		}
		// Stamping the marker makes the object look like ours: that it was
		// adopted is recorded before.
		if cps := e.Checkpoints(); marked && (len(cps) != 1 || cps[0][cfapi.IDCreated] != "false" || cps[0][idWidget] != hand) || !marked && len(cps) != 0 {
			t.Fatalf("checkpoints %v", cps)
		}
		out = e.MustFlush(t)
		if !slices.Equal(out.Plan, []string{"release adopted widget " + hand + " (left in place, no write)"}) {
			t.Fatalf("plan %q", out.Plan)
		}
		if _, ok := e.k.get(hand); !ok {
			t.Fatal("an adopted widget was deleted")
		}
		wantWrites(t, e, "update "+hand)
	})
}

// spec.id adopts exactly that object, which must exist; naming another
// lets the recorded one go first.
func TestFlushAdoptByID(t *testing.T) {
	e := newEnv(t, false)
	_, err := e.Flush(t, `{"name":"a","id":"w9"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "widget w9 (spec.id) does not exist in account "+cfapitest.Account) {
		t.Fatalf("got %v", err)
	}
	e.MustFlush(t, `{"name":"a"}`) // w1, created
	other := e.k.put(widget{Name: "b", Region: "eu"})
	out := e.MustFlush(t, `{"name":"a","id":"`+other+`"}`)
	want := []string{"delete widget w1", "adopt widget b (id " + other + ", named by spec.id)"}
	if !slices.Equal(out.Plan, want) || out.DownstreamIDs[idWidget] != other || out.DownstreamIDs[cfapi.IDCreated] != "false" {
		t.Fatalf("plan %q, ids %v", out.Plan, out.DownstreamIDs)
	}
	wantWrites(t, e, "create w1", "delete w1")
}

// A crash after the create, before the outcome is recorded: the next
// flush knows the object from its marker, or from the checkpoint, and
// does not make a second one.
func TestFlushAfterCrashDoesNotCreateTwice(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		e.MustFlush(t, `{"name":"a","size":1}`)
		// Marked, even the checkpoint may be lost: the marker proves it.
		e.Prev = nil
		if !marked {
			e.Prev = &api.SyncStatus{DownstreamIDs: maps.Clone(e.Checkpoints()[0])}
		}
		out := e.MustFlush(t, `{"name":"a","size":1}`)
		if out.DownstreamIDs[idWidget] != "w1" || out.DownstreamIDs[cfapi.IDCreated] != "true" || len(out.Plan) != 0 {
			t.Fatalf("ids %v, plan %q", out.DownstreamIDs, out.Plan)
		}
		wantWrites(t, e, "create w1")
	})
}

// A failed checkpoint undoes the create: unrecorded, the object would
// look hand-made next time and clash forever.
func TestFlushCheckpointFailureUndoesCreate(t *testing.T) {
	e := newEnv(t, false)
	req := e.Request(t, testTarget, widgetSpec{Name: "a"}, nil)
	req.Checkpoint = func(context.Context, map[string]string) error { return errors.New("no leader") }
	_, err := e.f.Flush(cfapitest.Context(t), req)
	if err == nil || !strings.Contains(err.Error(), "record new widget w1 (deleted it again): no leader") {
		t.Fatalf("got %v", err)
	}
	wantWrites(t, e, "create w1", "delete w1")
}

// What a previous controller created is owned as created: by id, or by
// the marker it left in the comment. Equal, it is not written.
func TestFlushTakeOver(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		prevMarker := "[managed:Widget/a]"
		id := e.k.put(widget{Name: "a", Region: "eu", Size: 1, Comment: prevMarker})
		takeOver, why := id, "spec.takeOver names it"
		if marked {
			takeOver, why = prevMarker, "its comment carries "+prevMarker
		}
		spec := `{"name":"a","size":1,"takeOver":"` + takeOver + `"}`
		want := []string{"take over widget a (id " + id + ": " + why + ")"}
		if marked {
			// The marker is written with the next change.
			want = append(want, "update widget a (id "+id+`): comment "`+prevMarker+`" -> "`+cfapi.Marker(cfapitest.ClusterID)+`"`)
		}
		if plan := e.MustPlan(t, spec); !slices.Equal(plan, want) {
			t.Fatalf("plan %q, want %q", plan, want)
		}
		if out := e.MustFlush(t, spec); out.DownstreamIDs[idWidget] != id || out.DownstreamIDs[cfapi.IDCreated] != "true" {
			t.Fatalf("ids %v", out.DownstreamIDs)
		}
		// A status recorded without created (an older version) still owns
		// what the spec takes over.
		delete(e.Prev.DownstreamIDs, cfapi.IDCreated)
		if out := e.MustFlush(t, spec); out.DownstreamIDs[cfapi.IDCreated] != "true" {
			t.Fatalf("ids %v", out.DownstreamIDs)
		}
		if out := e.MustFlush(t); !slices.Equal(out.Plan, []string{"delete widget " + map[bool]string{false: id, true: "a (id " + id + ")"}[marked]}) {
			t.Fatalf("plan %q", out.Plan)
		}
	})
}

// A recorded object that cannot become the spec's (Kind.Moved) is deleted
// when ours and a new one made; adopted, it is left where it is.
func TestFlushMoved(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		e.MustFlush(t, `{"name":"a"}`)
		out := e.MustFlush(t, `{"name":"a","region":"us"}`)
		want := []string{"delete widget a (id w1): the region moved", "create widget a in us"}
		if !slices.Equal(out.Plan, want) || out.DownstreamIDs[idWidget] != "w2" {
			t.Fatalf("plan %q, ids %v", out.Plan, out.DownstreamIDs)
		}
		wantWrites(t, e, "create w1", "delete w1", "create w2")
	})
}

// A dry run reads, decides through the same path and writes nothing.
func TestFlushDryRun(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		out, err := e.Plan(t, `{"name":"a","size":1}`)
		want := map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDCreated: "true", idRegion: "eu", "placed": "yes"}
		if err != nil || !slices.Equal(out.Plan, []string{"create widget a in eu"}) || !maps.Equal(out.DownstreamIDs, want) {
			t.Fatalf("plan %q, ids %v, %v", out.Plan, out.DownstreamIDs, err)
		}
		e.MustFlush(t, `{"name":"a","size":1}`)
		if plan := e.MustPlan(t, `{"name":"a","size":1}`); len(plan) != 0 {
			t.Fatalf("in sync, planned %q", plan)
		}
		if plan := e.MustPlan(t, `{"name":"a","size":2}`); !slices.Equal(plan, []string{"update widget a (id w1): size 1 -> 2"}) {
			t.Fatalf("plan %q", plan)
		}
		if plan := e.MustPlan(t, `{"name":"a","region":"us"}`); len(plan) != 2 || !strings.HasSuffix(plan[0], ": the region moved") {
			t.Fatalf("plan %q", plan)
		}
		if plan := e.MustPlan(t); len(plan) != 1 || !strings.HasPrefix(plan[0], "delete widget ") {
			t.Fatalf("plan %q", plan)
		}
		if plan := e.MustPlan(t, `{"name":"a","wait":true}`); !slices.Equal(plan, []string{"waits for something the plan creates"}) {
			t.Fatalf("plan %q", plan)
		}
		wantWrites(t, e, "create w1")
	})
}

// Errors keep their class: a failed read is retried and nothing is made;
// a clash at create (someone was faster) is permanent, held until the
// fragment changes; an undecodable desired state is permanent.
func TestFlushErrors(t *testing.T) {
	e := newEnv(t, true)
	e.k.mu.Lock()
	e.k.getErr = &cfapi.Error{Status: 503}
	e.k.mu.Unlock()
	if _, err := e.Flush(t, `{"name":"a"}`); err == nil || engine.IsPermanent(err) {
		t.Fatalf("a failed read: %v", err)
	}
	e.k.mu.Lock()
	e.k.getErr = nil
	e.k.mu.Unlock()
	wantWrites(t, e)

	req := e.Request(t, testTarget, "not an object", nil)
	if _, err := e.f.Flush(cfapitest.Context(t), req); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "decode desired state") {
		t.Fatalf("undecodable: %v", err)
	}
	if _, err := e.f.Flush(cfapitest.Context(t), engine.Request{Target: testTarget}); err == nil || engine.IsPermanent(err) {
		t.Fatalf("no cluster id: want retryable, got %v", err)
	}
}

// Secrets are resolved only when flushing; the credentials are recorded
// so that the deletion, with no spec left, uses the same ones.
func TestFlushCredentialsFromSecret(t *testing.T) {
	e := newEnv(t, false, cfapitest.SecretsOnly())
	ref := api.SecretRef{Namespace: "infra", Name: "cloudflare", Key: "token"}
	e.Secrets.Set(ref, cfapitest.Token)
	spec := `{"name":"a","accountId":"` + cfapitest.Account + `","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`
	out := e.MustFlush(t, spec)
	if out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" || e.Checkpoints()[0][cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("ids %v, checkpoints %v", out.DownstreamIDs, e.Checkpoints())
	}
	reads := e.Secrets.Reads()
	if reads == 0 {
		t.Fatal("the Secret was not read")
	}
	out = e.MustFlush(t)
	if !slices.Equal(out.Plan, []string{"delete widget w1"}) || e.Secrets.Reads() == reads {
		t.Fatalf("plan %q; the deletion must resolve the recorded credentials (reads %d -> %d)", out.Plan, reads, e.Secrets.Reads())
	}
	wantWrites(t, e, "create w1", "delete w1")
}

// Several objects that could each be claimed: the kind's Pick decides,
// here with a permanent error, and nothing is written.
func TestFlushSeveralCandidates(t *testing.T) {
	both(t, func(t *testing.T, marked bool) {
		e := newEnv(t, marked)
		e.k.put(widget{Name: "a", Region: "eu", Comment: "[old]"})
		e.k.put(widget{Name: "a", Region: "us", Comment: "[old]"})
		spec, action := `{"name":"a","adopt":true}`, "adopt"
		if marked {
			spec, action = `{"name":"a","takeOver":"[old]"}`, "take over"
		}
		_, err := e.Flush(t, spec)
		if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "cannot tell which to "+action) {
			t.Fatalf("got %v", err)
		}
		wantWrites(t, e)
	})
}

// When List cannot filter exactly, an unowned object in it is no proof of
// a clash: the create decides, and its refusal is the permanent clash.
func TestFlushInexactListLetsCreateDecide(t *testing.T) {
	e := newEnv(t, true)
	e.k.inexact = true
	e.k.put(widget{Name: "a", Region: "eu"})
	_, err := e.Flush(t, `{"name":"a"}`)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "set adopt: 409") {
		t.Fatalf("got %v", err)
	}
}

// A target moved to another account lets the object in the old one go
// (with the old account's credentials) before making the new one.
func TestFlushAccountChange(t *testing.T) {
	e := newEnv(t, false, cfapitest.SecretsOnly())
	ref := api.SecretRef{Namespace: "infra", Name: "cloudflare", Key: "token"}
	e.Secrets.Set(ref, cfapitest.Token)
	spec := func(account string) string {
		return `{"name":"a","accountId":"` + account + `","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`
	}
	e.MustFlush(t, spec(cfapitest.Account))
	out := e.MustFlush(t, spec("acc2"))
	if !slices.Equal(out.Plan, []string{"delete widget w1", "create widget a in eu"}) || out.DownstreamIDs[cfapi.IDAccount] != "acc2" {
		t.Fatalf("plan %q, ids %v", out.Plan, out.DownstreamIDs)
	}
	wantWrites(t, e, "create w1", "delete w1", "create w2")
}

var _ kind.Kind = widgetOneOwner()
