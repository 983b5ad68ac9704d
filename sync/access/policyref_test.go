package access

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

// newRefEnv is newEnv with a store, where policy targets are looked up.
func newRefEnv(t *testing.T) *env {
	t.Helper()
	ce := cfapitest.New(t)
	e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store})}
	e.Flow = ce.Flow(New(), e.f, testTarget)
	return e
}

func policyTarget(name string) api.TargetRef {
	return api.TargetRef{Kind: cfapi.KindAccessPolicy, Name: name}
}

// policyFragment stores a fragment for the cloudflare.AccessPolicy
// target name, as the admin API would: the target exists in this
// cluster.
func (e *env) policyFragment(t *testing.T, name string) {
	t.Helper()
	if err := e.Store.Update(func(tx *store.Tx) error {
		_, err := tx.PutFragment(api.Fragment{Target: policyTarget(name), Source: api.SourceRef{Kind: "API", Name: name}, Generation: 1,
			Spec: json.RawMessage(`{"name":"` + name + `","decision":"allow","include":[{"everyone":{}}]}`)}, 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// reusable makes a reusable policy in the account, as a person or the
// policy's own target would.
func (e *env) reusable(t *testing.T, name string) string {
	t.Helper()
	p, err := e.Human.CreateAccessPolicy(cfapitest.Context(t), cf.AccountIdentifier(cfapitest.Account), cf.CreateAccessPolicyParams{
		Name: name, Decision: "allow", Include: []any{map[string]any{"everyone": map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// appPolicies returns the policy ids of the one application, in
// precedence order.
func (e *env) appPolicies(t *testing.T) []string {
	t.Helper()
	apps := e.Emu.AccessApps(cfapitest.Account)
	if len(apps) != 1 {
		t.Fatalf("%d applications", len(apps))
	}
	return e.Emu.AccessAppPolicies(cfapitest.Account, apps[0].ID)
}

// wantsPolicy asserts err waits, without a failure, for policy target
// name.
func wantsPolicy(t *testing.T, err error, name, why string) {
	t.Helper()
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || dep.Blocked || dep.On != policyTarget(name) || engine.IsPermanent(err) ||
		!errors.Is(err, cfapi.ErrAccessPolicyNotReady) || !strings.Contains(err.Error(), why) {
		t.Fatalf("got %v; want a wait for %s (%s)", err, policyTarget(name), why)
	}
}

const fixedPolicy = "0f000000-0000-4000-8000-00000000000f"

// An application naming AccessPolicy targets waits while one has no
// policy yet, then lists the recorded ids in the order given, among ids.
func TestFlushPolicyTargets(t *testing.T) {
	e := newRefEnv(t)
	e.policyFragment(t, "staff")
	e.policyFragment(t, "contractors")
	spec := `{"name":"wiki","domain":"wiki.example.com","policies":["contractors","` + fixedPolicy + `","staff"]}`
	_, err := e.Flush(t, spec)
	wantsPolicy(t, err, "contractors", "Access policy contractors (not created yet)")
	if apps := e.Emu.AccessApps(cfapitest.Account); len(apps) != 0 {
		t.Fatalf("an application before its policies: %+v", apps)
	}

	contractors := e.reusable(t, "contractors")
	e.RecordStatus(t, policyTarget("contractors"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessPolicy: contractors, cfapi.IDCreated: "true"})
	_, err = e.Flush(t, spec)
	wantsPolicy(t, err, "staff", "Access policy staff (not created yet)")

	staff := e.reusable(t, "staff")
	e.RecordStatus(t, policyTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessPolicy: staff, cfapi.IDCreated: "true"})
	out := e.MustFlush(t, spec)
	if got, want := e.appPolicies(t), []string{contractors, fixedPolicy, staff}; !slices.Equal(got, want) {
		t.Fatalf("policies %v, want %v", got, want)
	}
	if got, want := out.DownstreamIDs[IDPolicies], contractors+","+fixedPolicy+","+staff; got != want {
		t.Fatalf("recorded %s %q, want %q", IDPolicies, got, want)
	}
	w := e.Writes()
	e.MustFlush(t, spec)
	if e.Writes() != w {
		t.Fatal("a repeat wrote")
	}

	// The policy re-created under a new id: the application follows.
	staff2 := e.reusable(t, "staff")
	e.RecordStatus(t, policyTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessPolicy: staff2, cfapi.IDCreated: "true"})
	e.MustFlush(t, spec)
	if got, want := e.appPolicies(t), []string{contractors, fixedPolicy, staff2}; !slices.Equal(got, want) {
		t.Fatalf("policies %v, want %v", got, want)
	}

	// Recorded in another account, the policy cannot be the application's.
	e.RecordStatus(t, policyTarget("staff"), map[string]string{cfapi.IDAccount: "other", cfapi.IDAccessPolicy: staff2})
	if _, err := e.Flush(t, strings.Replace(spec, `"name"`, `"accountId":"`+cfapitest.Account+`","name"`, 1)); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "is in account other") {
		t.Fatalf("got %v", err)
	}
}

// Without such a target, the name is a reusable policy of the account.
func TestFlushPolicyOfTheAccount(t *testing.T) {
	e := newRefEnv(t)
	spec := `{"name":"wiki","domain":"wiki.example.com","policies":["Allow staff"]}`
	_, err := e.Flush(t, spec)
	wantsPolicy(t, err, "Allow staff", "no such target in this cluster, nor a reusable policy by that name in account "+cfapitest.Account)

	id := e.reusable(t, "Allow staff")
	e.MustFlush(t, spec)
	if got := e.appPolicies(t); !slices.Equal(got, []string{id}) {
		t.Fatalf("policies %v", got)
	}
	// Two of that name: only an id can say which.
	e.reusable(t, "Allow staff")
	if _, err := e.Flush(t, spec); !engine.IsPermanent(err) || !strings.Contains(err.Error(), `2 Access policies in account `+cfapitest.Account+` are named "Allow staff"`) {
		t.Fatalf("got %v", err)
	}
}

func TestDryRunWaitsForPolicy(t *testing.T) {
	e := newRefEnv(t)
	e.policyFragment(t, "staff")
	e.RecordPlan(t, policyTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDCreated: "true"})
	spec := `{"name":"wiki","domain":"wiki.example.com","policies":["staff"]}`
	if plan := e.MustPlan(t, spec); !slices.Equal(plan, []string{"waits for Access policy staff (to be created): Access application wiki.example.com lists it"}) {
		t.Fatalf("plan %q", plan)
	}
	// A plan that adopts an existing policy: the application's plan goes on.
	id := e.reusable(t, "staff")
	e.RecordPlan(t, policyTarget("staff"), map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDAccessPolicy: id, cfapi.IDCreated: "false"})
	if plan := e.MustPlan(t, spec); !slices.Equal(plan, []string{"create Access application wiki for wiki.example.com"}) {
		t.Fatalf("plan %q", plan)
	}
}

func TestValidatePolicies(t *testing.T) {
	src := api.SourceRef{Kind: "API", Name: "wiki"}
	tests := []struct {
		name, policies, field, reason string
	}{
		{"ids and names", `["staff","Allow contractors","` + fixedPolicy + `"]`, "", ""},
		{"surrounding spaces", `["staff "]`, "spec.policies[0]", "start or end with spaces"},
		{"control character", `["st\naff"]`, "spec.policies[0]", "control characters"},
		{"too long", `["` + strings.Repeat("p", 256) + `"]`, "spec.policies[0]", "longer than 255"},
		{"a name twice", `["staff","staff"]`, "spec.policies[1]", "duplicates spec.policies[0]"},
		{"an id twice", `["` + fixedPolicy + `","` + strings.ToUpper(fixedPolicy) + `"]`, "spec.policies[1]", "duplicates spec.policies[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := `{"name":"wiki","domain":"wiki.example.com","policies":` + tt.policies + `}`
			kindtest.CheckValidation(t, New().Validate(testTarget, src, json.RawMessage(spec)), tt.field, tt.reason)
		})
	}
}
