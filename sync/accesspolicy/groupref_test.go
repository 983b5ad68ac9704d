package accesspolicy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

// newRefFlow is newFlow with a store, where group targets are looked up.
func newRefFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store}), testTarget)
}

func groupTarget(name string) api.TargetRef {
	return api.TargetRef{Kind: cfapi.KindAccessGroup, Name: name}
}

// groupFragment stores a fragment for the cloudflare.AccessGroup target
// name: the target exists in this cluster.
func groupFragment(t *testing.T, fl *cfapitest.Flow, name string) {
	t.Helper()
	if err := fl.Store.Update(func(tx *store.Tx) error {
		_, err := tx.PutFragment(api.Fragment{Target: groupTarget(name), Source: api.SourceRef{Kind: "API", Name: name}, Generation: 1,
			Spec: json.RawMessage(`{"name":"` + name + `","include":[{"everyone":{}}]}`)}, 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func handGroup(t *testing.T, fl *cfapitest.Flow, name string) string {
	t.Helper()
	g, err := fl.Human.CreateAccessGroup(cfapitest.Context(t), account, cf.CreateAccessGroupParams{Name: name, Include: anyRules(t, `[{"everyone":{}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func wantsGroup(t *testing.T, err error, name, why string) {
	t.Helper()
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || dep.Blocked || dep.On != groupTarget(name) || engine.IsPermanent(err) ||
		!errors.Is(err, cfapi.ErrAccessGroupNotReady) || !strings.Contains(err.Error(), why) {
		t.Fatalf("got %v; want a wait for %s (%s)", err, groupTarget(name), why)
	}
}

const groupSpec = `{"name":"staff","decision":"allow","include":[{"group":{"name":"staff"}},{"email":{"email":"a@example.com"}}],"exclude":[{"group":{"name":"interns"}}]}`

// A policy's group rules naming AccessGroup targets wait for them, then
// name the groups the targets recorded, by id.
func TestFlushGroupTargets(t *testing.T) {
	fl := newRefFlow(t)
	groupFragment(t, fl, "staff")
	_, err := fl.Flush(t, groupSpec)
	wantsGroup(t, err, "staff", "Access group staff (not created yet)")
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("a policy before its group: %+v", ps)
	}
	staff := handGroup(t, fl, "staff")
	fl.RecordStatus(t, groupTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessGroup: staff, cfapi.IDCreated: "true"})
	// interns has no target: a group of the account by that name, once there is one.
	_, err = fl.Flush(t, groupSpec)
	wantsGroup(t, err, "interns", "no such target in this cluster, nor a group by that name in account "+cfapitest.Account)
	interns := handGroup(t, fl, "interns")
	fl.MustFlush(t, groupSpec)
	ps := policiesOf(fl)
	if len(ps) != 1 || field(t, ps[0], "include") != `[{"group":{"id":"`+staff+`"}},{"email":{"email":"a@example.com"}}]` ||
		field(t, ps[0], "exclude") != `[{"group":{"id":"`+interns+`"}}]` {
		t.Fatalf("policies %+v", ps)
	}
	w := fl.Writes()
	fl.MustFlush(t, groupSpec)
	if fl.Writes() != w {
		t.Fatal("a repeat wrote")
	}
	// The group re-created under a new id: the policy follows.
	staff2 := handGroup(t, fl, "staff2")
	fl.RecordStatus(t, groupTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessGroup: staff2, cfapi.IDCreated: "true"})
	if plan := fl.MustPlan(t, groupSpec); len(plan) != 1 || !strings.Contains(plan[0], `include [{"group":{"id":"`+staff+`"}}`) || !strings.Contains(plan[0], `-> [{"group":{"id":"`+staff2+`"}}`) {
		t.Fatalf("plan %q", plan)
	}
	// Recorded in another account, the group cannot be the policy's.
	fl.RecordStatus(t, groupTarget("staff"), map[string]string{cfapi.IDAccount: "other", cfapi.IDAccessGroup: staff2})
	if _, err := fl.Flush(t, strings.Replace(groupSpec, `"name":"staff","decision"`, `"accountId":"`+cfapitest.Account+`","name":"staff","decision"`, 1)); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "is in account other") {
		t.Fatalf("got %v", err)
	}
}

func TestDryRunWaitsForGroup(t *testing.T) {
	fl := newRefFlow(t)
	groupFragment(t, fl, "staff")
	fl.RecordPlan(t, groupTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDCreated: "true"})
	spec := `{"name":"staff","decision":"allow","include":[{"group":{"name":"staff"}}]}`
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, []string{"waits for Access group staff (to be created): Access policy staff names it"}) {
		t.Fatalf("plan %q", plan)
	}
}

func TestValidateGroupRules(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "staff"}
	tests := []struct {
		name, rule, field, reason string
	}{
		{"by name", `{"group":{"name":"AccessGroup/staff"}}`, "", ""},
		{"by id", `{"group":{"id":"` + uuid1 + `"}}`, "", ""},
		{"both", `{"group":{"id":"` + uuid1 + `","name":"staff"}}`, "spec.include[0].group", "not both"},
		{"empty name", `{"group":{"name":""}}`, "spec.include[0].group.name", "required"},
		{"spaces", `{"group":{"name":" staff"}}`, "spec.include[0].group.name", "spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := `{"name":"p","decision":"allow","include":[` + tt.rule + `]}`
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(spec)), tt.field, tt.reason)
		})
	}
}
