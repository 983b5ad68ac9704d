package accesspolicy

import (
	"encoding/json"
	"net/http"
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
	specV1 = `{"name":"staff","decision":"allow","include":[{"email_domain":{"domain":"example.com"}}],"exclude":[{"email":{"email":"intern@example.com"}}]}`
	// specV2 sets every other field.
	specV2 = `{"name":"on-call","decision":"non_identity","include":[{"group":{"id":"g1"}}],"require":[{"any_valid_service_token":{}}],` +
		`"sessionDuration":"30m","isolationRequired":true,"purposeJustificationRequired":true,"purposeJustificationPrompt":"Which ticket?",` +
		`"approvalRequired":true,"approvalGroups":[{"emailAddresses":["boss@example.com"],"approvalsNeeded":1},{"emailListUuid":"` + uuid1 + `","approvalsNeeded":2}],` +
		`"connectionRules":{"ssh":{"usernames":["root","ops"],"allowEmailAlias":true}}}`
)

func newFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
}

func policiesOf(fl *cfapitest.Flow) []emu.AccessPolicyInfo {
	return fl.Emu.AccessPolicies(cfapitest.Account)
}

// field renders one field of the policy as the API answers it.
func field(t *testing.T, p emu.AccessPolicyInfo, key string) string {
	t.Helper()
	b, err := json.Marshal(p.Fields[key])
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

// handMade creates a reusable policy as a person would.
func handMade(t *testing.T, fl *cfapitest.Flow, name string) cf.AccessPolicy {
	t.Helper()
	p, err := fl.Human.CreateAccessPolicy(cfapitest.Context(t), account, cf.CreateAccessPolicyParams{Name: name, Decision: "allow", Include: anyRules(t, `[{"everyone":{}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlushCreateRepeatUpdateDelete(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, specV1)
	ids := out.DownstreamIDs
	ps := policiesOf(fl)
	if len(ps) != 1 || ids[IDPolicy] != ps[0].ID || ids[IDCreated] != "true" || ids[IDAccount] != cfapitest.Account || ids[IDName] != "staff" ||
		field(t, ps[0], "decision") != `"allow"` || field(t, ps[0], "include") != `[{"email_domain":{"domain":"example.com"}}]` ||
		field(t, ps[0], "exclude") != `[{"email":{"email":"intern@example.com"}}]` || field(t, ps[0], "require") != `[]` {
		t.Fatalf("ids %v, policies %+v", ids, ps)
	}
	if cps := fl.Checkpoints(); len(cps) != 1 || cps[0][IDPolicy] != ps[0].ID {
		t.Fatalf("a new policy is checkpointed at once (no comment to find it by): %v", cps)
	}
	w := fl.Writes()
	// The same spec, formatted differently and with the API's defaults
	// spelled out: nothing to write.
	fl.MustFlush(t, `{"exclude":[ {"email": {"email":"intern@example.com"}} ],"include":[{"email_domain":{"domain":"example.com"}}],"name":"staff",`+
		`"decision":"allow","sessionDuration":"1440m","isolationRequired":false}`)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	// Every field replaced in place: same id.
	out = fl.MustFlush(t, specV2)
	ps = policiesOf(fl)
	if len(ps) != 1 || ps[0].ID != ids[IDPolicy] || ps[0].Name != "on-call" || out.DownstreamIDs[IDName] != "on-call" ||
		field(t, ps[0], "decision") != `"non_identity"` || field(t, ps[0], "exclude") != `[]` ||
		field(t, ps[0], "require") != `[{"any_valid_service_token":{}}]` || field(t, ps[0], "session_duration") != `"30m"` ||
		field(t, ps[0], "isolation_required") != `true` || field(t, ps[0], "purpose_justification_required") != `true` ||
		field(t, ps[0], "purpose_justification_prompt") != `"Which ticket?"` || field(t, ps[0], "approval_required") != `true` ||
		field(t, ps[0], "approval_groups") != `[{"approvals_needed":1,"email_addresses":["boss@example.com"]},{"approvals_needed":2,"email_list_uuid":"`+uuid1+`"}]` ||
		field(t, ps[0], "connection_rules") != `{"ssh":{"allow_email_alias":true,"usernames":["root","ops"]}}` {
		t.Fatalf("after update: ids %v, policies %+v", out.DownstreamIDs, ps)
	}
	if n := fl.Emu.Requests()["PUT /accounts/{account}/access/policies/{id}"]; n != 1 {
		t.Fatalf("one PUT expected: %v", fl.Emu.Requests())
	}
	w = fl.Writes()
	fl.MustFlush(t, specV2)
	if fl.Writes() != w {
		t.Fatalf("a repeat of every field wrote %d times", fl.Writes()-w)
	}
	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(policiesOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, policiesOf(fl))
	}
}

func TestFlushUnownedClashIsPermanent(t *testing.T) {
	fl := newFlow(t)
	handMade(t, fl, "staff")
	w := fl.Writes()
	_, err := fl.Flush(t, specV1)
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `an Access policy named "staff" exists and is not managed by conflux-sync; set adopt`) {
		t.Fatalf("want permanent clash, got %v", err)
	}
	if fl.Writes() != w || len(policiesOf(fl)) != 1 {
		t.Fatalf("%d writes, policies %+v", fl.Writes()-w, policiesOf(fl))
	}
}

func TestFlushAdoptAndRelease(t *testing.T) {
	tests := []struct {
		name string
		spec func(id string) string
		plan string
	}{
		{"by name", func(string) string { return strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1) }, "adopt Access policy staff (id %s)"},
		{"by id", func(id string) string { return strings.Replace(specV1, `"name"`, `"id":"`+id+`","name"`, 1) }, "adopt Access policy staff (id %s, named by spec.id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := newFlow(t)
			hand := handMade(t, fl, "staff")
			if plan := fl.MustPlan(t, tt.spec(hand.ID)); len(plan) != 2 || plan[0] != strings.ReplaceAll(tt.plan, "%s", hand.ID) {
				t.Fatalf("plan %q", plan)
			}
			out := fl.MustFlush(t, tt.spec(hand.ID))
			ps := policiesOf(fl)
			if len(ps) != 1 || ps[0].ID != hand.ID || out.DownstreamIDs[IDCreated] != "false" ||
				field(t, ps[0], "include") != `[{"email_domain":{"domain":"example.com"}}]` {
				t.Fatalf("ids %v, policies %+v", out.DownstreamIDs, ps)
			}
			fl.MustFlush(t)
			if ps := policiesOf(fl); len(ps) != 1 || ps[0].ID != hand.ID {
				t.Fatalf("an adopted policy is released, not deleted: %+v", ps)
			}
		})
	}
}

func TestFlushAdoptAmbiguousName(t *testing.T) {
	fl := newFlow(t)
	handMade(t, fl, "staff")
	handMade(t, fl, "staff")
	_, err := fl.Flush(t, strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1))
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), `2 Access policies are named "staff": set id`) {
		t.Fatalf("got %v", err)
	}
}

// A policy a previous controller created (StringKe's status.policyId) is
// owned as if we had: it becomes the spec's, and is deleted with the last
// fragment.
func TestFlushTakeOver(t *testing.T) {
	fl := newFlow(t)
	prev := handMade(t, fl, "staff")
	out := fl.MustFlush(t, strings.Replace(specV1, `"name"`, `"takeOver":"`+prev.ID+`","name"`, 1))
	if ps := policiesOf(fl); len(ps) != 1 || ps[0].ID != prev.ID || field(t, ps[0], "include") != `[{"email_domain":{"domain":"example.com"}}]` || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v, policies %+v", out.DownstreamIDs, ps)
	}
	fl.MustFlush(t)
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("a taken-over policy is deleted: %+v", ps)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDPolicy]
	// Someone opens ours to everyone, for a week, without the exclusion.
	if _, err := fl.Human.UpdateAccessPolicy(cfapitest.Context(t), account, cf.UpdateAccessPolicyParams{PolicyID: id, Name: "staff", Decision: "bypass",
		Include: anyRules(t, `[{"everyone":{}}]`), SessionDuration: ptr("168h")}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update Access policy staff (id ` + id + `): decision bypass -> allow, include [{"everyone":{}}] -> [{"email_domain":{"domain":"example.com"}}], ` +
		`exclude [] -> [{"email":{"email":"intern@example.com"}}], session_duration 168h -> 24h`}
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, specV1)
	if ps := policiesOf(fl); len(ps) != 1 || field(t, ps[0], "decision") != `"allow"` || field(t, ps[0], "session_duration") != `"24h"` {
		t.Fatalf("drift not repaired: %+v", ps)
	}
}

// The API refuses to delete a policy an application still lists: the
// deletion waits (retryable, not held) and goes through once the
// application drops it.
func TestFlushDeleteWaitsForApplications(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDPolicy]
	app, err := fl.Human.CreateAccessApplication(cfapitest.Context(t), account, cf.CreateAccessApplicationParams{Name: "wiki", Domain: "wiki.example.com", Policies: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fl.Flush(t)
	if err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), "Access policy "+id+" is still used by 1 application(s) (wiki); waiting for them to drop it") {
		t.Fatalf("want a retryable wait, got %v", err)
	}
	if _, err := fl.Human.UpdateAccessApplication(cfapitest.Context(t), account, cf.UpdateAccessApplicationParams{ID: app.ID, Name: "wiki", Domain: "wiki.example.com", Policies: &[]string{}}); err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t)
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("not deleted: %+v", ps)
	}
}

// An application that drops the policy between the API's refusal and
// the list of applications (here: the refusal is the only one) leaves
// none listing it: the delete is tried again at once, not held as the
// permanent refusal it was.
func TestFlushDeleteAfterApplicationsDroppedIt(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDPolicy]
	fl.Emu.AddFault(emu.Fault{Method: http.MethodDelete, PathPrefix: "/accounts/" + cfapitest.Account + "/access/policies/" + id, Status: http.StatusBadRequest, Count: 1})
	fl.MustFlush(t)
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("not deleted: %+v", ps)
	}
	if n := fl.Emu.Requests()["DELETE /accounts/{account}/access/policies/{id}"]; n != 2 {
		t.Fatalf("%d deletes, want the refused one and one more: %v", n, fl.Emu.Requests())
	}
}

func TestFlushRecreatesWhenDeletedOutOfBand(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDPolicy]
	if err := fl.Human.DeleteAccessPolicy(cfapitest.Context(t), account, cf.DeleteAccessPolicyParams{PolicyID: id}); err != nil {
		t.Fatal(err)
	}
	out := fl.MustFlush(t, specV1)
	if ps := policiesOf(fl); len(ps) != 1 || ps[0].ID == id || out.DownstreamIDs[IDPolicy] != ps[0].ID {
		t.Fatalf("not recreated: %+v", ps)
	}
	// Gone again, and the fragment too: nothing left to do.
	if err := fl.Human.DeleteAccessPolicy(cfapitest.Context(t), account, cf.DeleteAccessPolicyParams{PolicyID: out.DownstreamIDs[IDPolicy]}); err != nil {
		t.Fatal(err)
	}
	if out := fl.MustFlush(t); len(out.DownstreamIDs) != 0 {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
}

func TestFlushServerErrorsAreRetryable(t *testing.T) {
	fl := newFlow(t)
	fl.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + cfapitest.Account + "/access/policies", Status: 503, Count: 1})
	if _, err := fl.Flush(t, specV1); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503: want retryable, got %v", err)
	}
	fl.MustFlush(t, specV1)
	if ps := policiesOf(fl); len(ps) != 1 {
		t.Fatalf("policies %+v", ps)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, []string{"create Access policy staff (allow)"}) {
		t.Fatalf("plan %q", plan)
	}
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("the dry run created %+v", ps)
	}
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDPolicy]
	want := []string{`update Access policy staff (id ` + id + `): name "staff" -> "on-call", decision allow -> non_identity, ` +
		`include [{"email_domain":{"domain":"example.com"}}] -> [{"group":{"id":"g1"}}], exclude [{"email":{"email":"intern@example.com"}}] -> [], ` +
		`require [] -> [{"any_valid_service_token":{}}], session_duration 24h -> 30m, isolation_required false -> true, ` +
		`purpose_justification_required false -> true, approval_required false -> true, purpose_justification_prompt "" -> "Which ticket?", ` +
		`approval_groups [] -> [1 of boss@example.com; 2 of list ` + uuid1 + `], connection_rules none -> ssh as [root,ops] (email alias true)`}
	if plan := fl.MustPlan(t, specV2); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	if plan := fl.MustPlan(t); !slices.Equal(plan, []string{"delete Access policy " + id}) {
		t.Fatalf("plan %q", plan)
	}
	if ps := policiesOf(fl); len(ps) != 1 || ps[0].Name != "staff" {
		t.Fatalf("the dry runs changed %+v", ps)
	}
}

// With no static credentials, a policy is written with the token of the
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
	if ps := policiesOf(fl); len(ps) != 1 || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("ids %v, policies %+v", out.DownstreamIDs, ps)
	}
	ce.Secrets.Delete(cfapitest.SecretRef)
	fl.MustFlush(t)
	if ps := policiesOf(fl); len(ps) != 0 {
		t.Fatalf("not deleted: %+v", ps)
	}
}

func ptr[T any](v T) *T { return &v }
