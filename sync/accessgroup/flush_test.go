package accessgroup

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var account = cf.AccountIdentifier(cfapitest.Account)

const (
	specV1 = `{"name":"staff","include":[{"email_domain":{"domain":"example.com"}}],"exclude":[{"email":{"email":"intern@example.com"}}]}`
	specV2 = `{"name":"engineering","include":[{"group":{"id":"g1"}},{"ip":{"ip":"10.0.0.0/8"}}],"require":[{"any_valid_service_token":{}}]}`
)

func newFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
}

func groupsOf(fl *cfapitest.Flow) []emu.AccessGroupInfo {
	return fl.Emu.AccessGroups(cfapitest.Account)
}

// enc renders rules as the API answered them, keys sorted.
func enc(t *testing.T, rules []any) string {
	t.Helper()
	b, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func anyRules(t *testing.T, s string) []any {
	t.Helper()
	var out []any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// handMade creates a group as a person would.
func handMade(t *testing.T, fl *cfapitest.Flow, name string) cf.AccessGroup {
	t.Helper()
	g, err := fl.Human.CreateAccessGroup(cfapitest.Context(t), account, cf.CreateAccessGroupParams{Name: name, Include: anyRules(t, `[{"everyone":{}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, specV1)
	ids := out.DownstreamIDs
	gs := groupsOf(fl)
	if len(gs) != 1 || ids[IDGroup] != gs[0].ID || ids[IDCreated] != "true" || ids[IDAccount] != cfapitest.Account || ids[IDName] != "staff" ||
		enc(t, gs[0].Include) != `[{"email_domain":{"domain":"example.com"}}]` || enc(t, gs[0].Exclude) != `[{"email":{"email":"intern@example.com"}}]` || len(gs[0].Require) != 0 {
		t.Fatalf("ids %v, groups %+v", ids, gs)
	}
	if cps := fl.Checkpoints(); len(cps) != 1 || cps[0][IDGroup] != gs[0].ID {
		t.Fatalf("a new group is checkpointed at once (no comment to find it by): %v", cps)
	}
	w := fl.Writes()
	// The same spec, formatted differently: nothing to write.
	fl.MustFlush(t, `{"exclude":[ {"email": {"email":"intern@example.com"}} ],"include":[{"email_domain":{"domain":"example.com"}}],"name":"staff"}`)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	// Renamed, rules replaced in place (the exclude list emptied): same id.
	out = fl.MustFlush(t, specV2)
	gs = groupsOf(fl)
	if len(gs) != 1 || gs[0].ID != ids[IDGroup] || gs[0].Name != "engineering" || out.DownstreamIDs[IDName] != "engineering" ||
		enc(t, gs[0].Include) != `[{"group":{"id":"g1"}},{"ip":{"ip":"10.0.0.0/8"}}]` || len(gs[0].Exclude) != 0 || enc(t, gs[0].Require) != `[{"any_valid_service_token":{}}]` {
		t.Fatalf("after update: ids %v, groups %+v", out.DownstreamIDs, gs)
	}
	if n := fl.Emu.Requests()["PUT /accounts/{account}/access/groups/{id}"]; n != 1 {
		t.Fatalf("one PUT expected: %v", fl.Emu.Requests())
	}
	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(groupsOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, groupsOf(fl))
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	fl := newFlow(t)
	handMade(t, fl, "staff")
	w := fl.Writes()
	_, err := fl.Flush(t, specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `an Access group named "staff" exists and is not managed by conflux-sync; set adopt`) {
		t.Fatalf("want permanent clash, got %v", err)
	}
	if fl.Writes() != w || len(groupsOf(fl)) != 1 {
		t.Fatalf("%d writes, groups %+v", fl.Writes()-w, groupsOf(fl))
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	tests := []struct {
		name string
		spec func(id string) string
		plan string
	}{
		{"by name", func(string) string { return strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1) }, "adopt Access group staff (id %s)"},
		{"by id", func(id string) string { return strings.Replace(specV1, `"name"`, `"id":"`+id+`","name"`, 1) }, "adopt Access group staff (id %s, named by spec.id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := newFlow(t)
			hand := handMade(t, fl, "staff")
			if plan := fl.MustPlan(t, tt.spec(hand.ID)); len(plan) != 2 || plan[0] != strings.ReplaceAll(tt.plan, "%s", hand.ID) {
				t.Fatalf("plan %q", plan)
			}
			out := fl.MustFlush(t, tt.spec(hand.ID))
			gs := groupsOf(fl)
			if len(gs) != 1 || gs[0].ID != hand.ID || out.DownstreamIDs[IDCreated] != "false" ||
				enc(t, gs[0].Include) != `[{"email_domain":{"domain":"example.com"}}]` {
				t.Fatalf("ids %v, groups %+v", out.DownstreamIDs, gs)
			}
			fl.MustFlush(t)
			if gs := groupsOf(fl); len(gs) != 1 || gs[0].ID != hand.ID {
				t.Fatalf("an adopted group is released, not deleted: %+v", gs)
			}
		})
	}
}

// Two groups share the name (the API allows it): adopt cannot say which.
func TestFlushAdoptAmbiguousName(t *testing.T) {
	fl := newFlow(t)
	handMade(t, fl, "staff")
	handMade(t, fl, "staff")
	_, err := fl.Flush(t, strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1))
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `2 Access groups are named "staff": set id`) {
		t.Fatalf("got %v", err)
	}
}

func TestFlushIDMustExist(t *testing.T) {
	fl := newFlow(t)
	_, err := fl.Flush(t, strings.Replace(specV1, `"name"`, `"id":"`+uuid1+`","name"`, 1))
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
}

// A group a previous controller created is owned as if we had: its rules
// become the spec's, and it is deleted with the last fragment.
func TestFlushTakeOver(t *testing.T) {
	fl := newFlow(t)
	prev := handMade(t, fl, "staff")
	out := fl.MustFlush(t, strings.Replace(specV1, `"name"`, `"takeOver":"`+prev.ID+`","name"`, 1))
	if gs := groupsOf(fl); len(gs) != 1 || gs[0].ID != prev.ID || enc(t, gs[0].Include) != `[{"email_domain":{"domain":"example.com"}}]` || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v, groups %+v", out.DownstreamIDs, gs)
	}
	fl.MustFlush(t)
	if gs := groupsOf(fl); len(gs) != 0 {
		t.Fatalf("a taken-over group is deleted: %+v", gs)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDGroup]
	// Someone renames ours and opens it to everyone.
	if _, err := fl.Human.UpdateAccessGroup(cfapitest.Context(t), account, cf.UpdateAccessGroupParams{ID: id, Name: "hijacked", Include: anyRules(t, `[{"everyone":{}}]`)}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update Access group hijacked (id ` + id + `): name "hijacked" -> "staff", include [{"everyone":{}}] -> [{"email_domain":{"domain":"example.com"}}], exclude [] -> [{"email":{"email":"intern@example.com"}}]`}
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, specV1)
	if gs := groupsOf(fl); len(gs) != 1 || gs[0].Name != "staff" || enc(t, gs[0].Include) != `[{"email_domain":{"domain":"example.com"}}]` || len(gs[0].Exclude) != 1 {
		t.Fatalf("drift not repaired: %+v", gs)
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDGroup]
	if err := fl.Human.DeleteAccessGroup(cfapitest.Context(t), account, id); err != nil {
		t.Fatal(err)
	}
	out := fl.MustFlush(t, specV1)
	if gs := groupsOf(fl); len(gs) != 1 || gs[0].ID == id || out.DownstreamIDs[IDGroup] != gs[0].ID {
		t.Fatalf("not recreated: %+v", gs)
	}
}

// Deleted out of band and then the fragment too: nothing left to do.
func TestFlushDeleteAlreadyGone(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDGroup]
	if err := fl.Human.DeleteAccessGroup(cfapitest.Context(t), account, id); err != nil {
		t.Fatal(err)
	}
	if out := fl.MustFlush(t); len(out.DownstreamIDs) != 0 {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	fl := newFlow(t)
	fl.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/access/groups", Status: 503, Count: 1})
	if _, err := fl.Flush(t, specV1); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	fl.MustFlush(t, specV1)
	if gs := groupsOf(fl); len(gs) != 1 {
		t.Fatalf("groups %+v", gs)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, []string{"create Access group staff"}) {
		t.Fatalf("plan %q", plan)
	}
	if gs := groupsOf(fl); len(gs) != 0 {
		t.Fatalf("the dry run created %+v", gs)
	}
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDGroup]
	want := []string{`update Access group staff (id ` + id + `): name "staff" -> "engineering", include [{"email_domain":{"domain":"example.com"}}] -> [{"group":{"id":"g1"}},{"ip":{"ip":"10.0.0.0/8"}}], exclude [{"email":{"email":"intern@example.com"}}] -> [], require [] -> [{"any_valid_service_token":{}}]`}
	if plan := fl.MustPlan(t, specV2); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	if plan := fl.MustPlan(t); !slices.Equal(plan, []string{"delete Access group " + id}) {
		t.Fatalf("plan %q", plan)
	}
	if gs := groupsOf(fl); len(gs) != 1 || gs[0].Name != "staff" {
		t.Fatalf("the dry runs changed %+v", gs)
	}
}

// With no static credentials, a group is written with the token of the
// Secret its spec names, recorded by reference; the deletion uses the
// recorded one even after the Secret is gone.
func TestFlushWithSecretCredentials(t *testing.T) {
	spec := strings.Replace(specV1, `"name"`, `"accountId":"`+cfapitest.Account+`","credentials":{"namespace":"infra","name":"cloudflare","key":"token"},"name"`, 1)
	ce := cfapitest.New(t, cfapitest.SecretsOnly())
	fl := ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
	if _, err := fl.Flush(t, spec); err == nil || !strings.Contains(err.Error(), "Secret infra/cloudflare key token") {
		t.Fatalf("without the Secret: %v", err)
	}
	ce.Secrets.Set(cfapitest.SecretRef, cfapitest.Token)
	out := fl.MustFlush(t, spec)
	if gs := groupsOf(fl); len(gs) != 1 || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("ids %v, groups %+v", out.DownstreamIDs, gs)
	}
	ce.Secrets.Delete(cfapitest.SecretRef)
	fl.MustFlush(t)
	if gs := groupsOf(fl); len(gs) != 0 {
		t.Fatalf("not deleted: %+v", gs)
	}
}
