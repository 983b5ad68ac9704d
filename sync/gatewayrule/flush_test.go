package gatewayrule

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var account = cf.AccountIdentifier(cfapitest.Account)

const (
	specA = `{"rules":[{"name":"block bad","description":"malware","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] == \"bad.example.com\")","precedence":10,"ruleSettings":{"block_page_enabled":true,"block_reason":"no"}},` +
		`{"name":"allow all","action":"allow","filters":["http"]}]}`
	specB = `{"rules":[{"name":"isolate news","action":"isolate","filters":["http"],"traffic":"http.request.host == \"news.example.com\"","precedence":5}]}`
)

func newFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store}), testTarget)
}

func rulesOf(fl *cfapitest.Flow) []emu.GatewayRuleInfo {
	return fl.Emu.GatewayRules(cfapitest.Account)
}

// byPrecedence renders the account's rules as "name@precedence", lowest
// first.
func byPrecedence(fl *cfapitest.Flow) string {
	rs := rulesOf(fl)
	slices.SortStableFunc(rs, func(a, b emu.GatewayRuleInfo) int { return int(a.Precedence) - int(b.Precedence) })
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+"@"+jsonOf(r.Precedence))
	}
	return strings.Join(out, " ")
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func find(fl *cfapitest.Flow, name string) emu.GatewayRuleInfo {
	for _, r := range rulesOf(fl) {
		if r.Name == name {
			return r
		}
	}
	return emu.GatewayRuleInfo{}
}

func TestFlushCreateRepeatDriftDelete(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, specA)
	if got := byPrecedence(fl); got != "block bad@10 allow all@11" {
		t.Fatalf("rules %s", got)
	}
	bad := find(fl, "block bad")
	tag := Tag(cfapitest.ClusterID, testTarget)
	if bad.Description != tag+" malware" || bad.Action != "block" || !bad.Enabled || !strings.Contains(bad.RuleSettings, `"block_reason":"no"`) ||
		out.DownstreamIDs["rule:block bad"] != bad.ID || out.DownstreamIDs[IDAccount] != cfapitest.Account {
		t.Fatalf("rule %+v, ids %v", bad, out.DownstreamIDs)
	}
	w := fl.Writes()
	fl.MustFlush(t, specA)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	// Someone disables ours and changes its block reason.
	r, err := fl.Human.TeamsRule(cfapitest.Context(t), cfapitest.Account, bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Enabled, r.RuleSettings.BlockReason = false, "hijacked"
	if _, err := fl.Human.TeamsUpdateRule(cfapitest.Context(t), cfapitest.Account, r.ID, r); err != nil {
		t.Fatal(err)
	}
	plan := fl.MustPlan(t, specA)
	if len(plan) != 1 || !strings.HasPrefix(plan[0], "update Gateway rule block bad (id "+bad.ID+"): enabled false -> true, rule_settings ") {
		t.Fatalf("plan %q", plan)
	}
	fl.MustFlush(t, specA)
	if r := find(fl, "block bad"); !r.Enabled || !strings.Contains(r.RuleSettings, `"block_reason":"no"`) || r.ID != bad.ID {
		t.Fatalf("drift not repaired: %+v", r)
	}
	// One rule dropped from the spec: deleted; the rest kept.
	fl.MustFlush(t, `{"rules":[{"name":"allow all","action":"allow","filters":["http"]}]}`)
	if got := byPrecedence(fl); got != "allow all@1" {
		t.Fatalf("rules %s", got)
	}
	if out := fl.MustFlush(t); len(out.DownstreamIDs) != 0 || len(rulesOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, rulesOf(fl))
	}
}

// Two producers' rules land in one order (explicit precedence first); the
// rule a second producer names again stays the first one's.
func TestFlushTwoProducersMergedInOrder(t *testing.T) {
	fl := newFlow(t)
	loser := `{"rules":[{"name":"allow all","action":"block","filters":["http"]}]}`
	res, err := New().Aggregate(testTarget, []api.Fragment{frag("sa", 1, specA), frag("sb", 2, specB), frag("sc", 3, loser)})
	if err != nil || len(res.Conflicts) != 1 || res.Conflicts[0].Key != "rule allow all" || res.Conflicts[0].Loser.Name != "sc" {
		t.Fatalf("conflicts %+v %v", res.Conflicts, err)
	}
	fl.MustFlush(t, specA, specB, loser)
	if got := byPrecedence(fl); got != "isolate news@5 block bad@10 allow all@11" {
		t.Fatalf("rules %s", got)
	}
	if r := find(fl, "allow all"); r.Action != "allow" {
		t.Fatalf("the loser's rule was written: %+v", r)
	}
}

// A rule made in the dashboard, even with one of our names, is never
// changed or deleted.
func TestFlushLeavesDashboardRulesAlone(t *testing.T) {
	fl := newFlow(t)
	hand, err := fl.Human.TeamsCreateRule(cfapitest.Context(t), cfapitest.Account, cf.TeamsRule{Name: "allow all", Description: "by hand",
		Action: cf.Block, Filters: []cf.TeamsFilterType{cf.HttpFilter}, Precedence: 1, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t, specA)
	fl.MustFlush(t)
	rs := rulesOf(fl)
	if len(rs) != 1 || rs[0].ID != hand.ID || rs[0].Action != "block" || rs[0].Description != "by hand" {
		t.Fatalf("rules %+v", rs)
	}
}

// A long target name is tagged by its fingerprint.
func TestTag(t *testing.T) {
	if got := Tag("c1", testTarget); got != "conflux-sync:c1 [main]" {
		t.Fatalf("tag %q", got)
	}
	long := api.TargetRef{Kind: Name, Name: "GatewayRule/0123456789abcdef0123456789abcdef/infra/cf/token"}
	if got := Tag("c1", long); !regexp.MustCompile(`^conflux-sync:c1 \[#[0-9a-f]{12}\]$`).MatchString(got) {
		t.Fatalf("tag %q", got)
	}
}

// Another target's rules in the same account are not ours: its flushes
// leave ours alone, and ours leave its alone.
func TestFlushOwnsOnlyItsTargetsRules(t *testing.T) {
	fl := newFlow(t)
	fl.MustFlush(t, specB)
	otherTarget := api.TargetRef{Kind: Name, Name: "other"}
	ofl := fl.Env.Flow(New(), NewFlusher(FlusherConfig{Clients: fl.Clients, Store: fl.Store}), otherTarget)
	ofl.MustFlush(t, specA)
	fl.MustFlush(t, specB)
	if got := byPrecedence(fl); got != "isolate news@5 block bad@10 allow all@11" {
		t.Fatalf("rules %s", got)
	}
	ofl.MustFlush(t)
	if got := byPrecedence(fl); got != "isolate news@5" {
		t.Fatalf("rules %s", got)
	}
}

// A rule names a list by its cloudflare.GatewayList target: it waits
// while the list is not made, then refers to the list's id.
func TestFlushListReference(t *testing.T) {
	fl := newFlow(t)
	spec := `{"rules":[{"name":"block listed","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $blocked)"}]}`
	listTarget := api.TargetRef{Kind: cfapi.KindGatewayList, Name: "blocked"}
	if err := fl.Store.Update(func(tx *store.Tx) error {
		_, err := tx.PutFragment(api.Fragment{Target: listTarget, Source: api.SourceRef{Kind: "API", Name: "blocked"}, Generation: 1,
			Spec: json.RawMessage(`{"name":"blocked","type":"DOMAIN"}`)}, 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err := fl.Flush(t, spec)
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || dep.Blocked || dep.On != listTarget || engine.IsPermanent(err) || !strings.Contains(err.Error(), "rule block listed refers to it") {
		t.Fatalf("want a wait for %s, got %v", listTarget, err)
	}
	if len(rulesOf(fl)) != 0 {
		t.Fatalf("wrote while waiting: %+v", rulesOf(fl))
	}
	l, err := fl.Human.CreateTeamsList(cfapitest.Context(t), account, cf.CreateTeamsListParams{Name: "blocked", Type: "DOMAIN"})
	if err != nil {
		t.Fatal(err)
	}
	fl.RecordStatus(t, listTarget, map[string]string{cfapi.IDAccount: cfapitest.Account, cfapi.IDGatewayList: l.ID})
	fl.MustFlush(t, spec)
	if r := find(fl, "block listed"); r.Traffic != "any(dns.domains[*] in $"+strings.ReplaceAll(l.ID, "-", "")+")" {
		t.Fatalf("rule %+v", r)
	}
}

// Without a target of that name, the account's list of that name is
// used; with neither, the flush waits for a target of that name.
func TestFlushListByAccountName(t *testing.T) {
	fl := newFlow(t)
	spec := `{"rules":[{"name":"r","action":"allow","filters":["http"],"identity":"any(identity.email[*] in ${vip users})"}]}`
	_, err := fl.Flush(t, spec)
	var dep *engine.DependencyError
	if !errors.As(err, &dep) || dep.On != (api.TargetRef{Kind: cfapi.KindGatewayList, Name: "vip users"}) || engine.IsPermanent(err) ||
		!strings.Contains(err.Error(), "neither a cloudflare.GatewayList target nor a list of account "+cfapitest.Account+" yet; rule r refers to it") {
		t.Fatalf("got %v", err)
	}
	l, err := fl.Human.CreateTeamsList(cfapitest.Context(t), account, cf.CreateTeamsListParams{Name: "vip users", Type: "EMAIL"})
	if err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t, spec)
	if r := find(fl, "r"); r.Identity != "any(identity.email[*] in $"+strings.ReplaceAll(l.ID, "-", "")+")" {
		t.Fatalf("rule %+v", r)
	}
}

// A dry run whose list target's plan creates the list says so as its
// plan, and writes nothing.
func TestDryRunWaitsForPlannedList(t *testing.T) {
	fl := newFlow(t)
	listTarget := api.TargetRef{Kind: cfapi.KindGatewayList, Name: "blocked"}
	fl.RecordPlan(t, listTarget, map[string]string{cfapi.IDCreated: "true"})
	spec := `{"rules":[{"name":"b","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $blocked)"}]}`
	if plan := fl.MustPlan(t, spec); !slices.Equal(plan, []string{"waits for Gateway list blocked (to be created): rule b refers to it"}) {
		t.Fatalf("plan %q", plan)
	}
}

// The API's refusal of a rule is permanent and names it.
func TestFlushAPIRefusalIsPermanent(t *testing.T) {
	fl := newFlow(t)
	spec := `{"rules":[{"name":"r","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $0123456789abcdef0123456789abcdef)"}]}`
	if _, err := fl.Flush(t, spec); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "unknown list") {
		t.Fatalf("got %v", err)
	}
}

func TestDryRun(t *testing.T) {
	fl := newFlow(t)
	want := []string{"create Gateway rule block bad (dns block, precedence 10)", "create Gateway rule allow all (http allow, precedence 11)"}
	if plan := fl.MustPlan(t, specA); !slices.Equal(plan, want) {
		t.Fatalf("plan %q", plan)
	}
	if len(rulesOf(fl)) != 0 {
		t.Fatalf("the dry run wrote %+v", rulesOf(fl))
	}
	fl.MustFlush(t, specA)
	id := find(fl, "block bad").ID
	if plan := fl.MustPlan(t, specB); !slices.Contains(plan, "delete Gateway rule block bad (id "+id+")") || len(plan) != 3 {
		t.Fatalf("plan %q", plan)
	}
}

// A rule the previous controller made (takeOver) becomes ours, updated
// in place; a rule renamed in the dashboard is still ours by its recorded
// id, and renamed back.
func TestFlushTakeOverAndRename(t *testing.T) {
	fl := newFlow(t)
	prev, err := fl.Human.TeamsCreateRule(cfapitest.Context(t), cfapitest.Account, cf.TeamsRule{Name: "old name", Action: cf.Allow,
		Filters: []cf.TeamsFilterType{cf.DnsFilter}, Precedence: 3, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := `{"rules":[{"name":"block bad","action":"block","filters":["dns"],"takeOver":"` + strings.ToUpper(prev.ID) + `"}]}`
	out := fl.MustFlush(t, spec)
	rs := rulesOf(fl)
	if len(rs) != 1 || rs[0].ID != prev.ID || rs[0].Name != "block bad" || rs[0].Action != "block" || out.DownstreamIDs["rule:block bad"] != prev.ID {
		t.Fatalf("rules %+v, ids %v", rs, out.DownstreamIDs)
	}
	r, err := fl.Human.TeamsRule(cfapitest.Context(t), cfapitest.Account, prev.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Name, r.Description = "renamed by hand", "by hand"
	if _, err := fl.Human.TeamsUpdateRule(cfapitest.Context(t), cfapitest.Account, r.ID, r); err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t, spec)
	if rs := rulesOf(fl); len(rs) != 1 || rs[0].ID != prev.ID || rs[0].Name != "block bad" || !strings.HasPrefix(rs[0].Description, "conflux-sync:") {
		t.Fatalf("rules %+v", rs)
	}
}

// A rule set moved to another account (with that account's token from a
// Secret) is written there and deleted from the old one.
func TestFlushMovesAccounts(t *testing.T) {
	fl := newFlow(t)
	fl.Emu.AddAccount("acc2")
	fl.Emu.AddToken("token-acc2", emu.TokenScope{Accounts: []string{"acc2"}})
	fl.Secrets.Set(cfapitest.SecretRef, "token-acc2")
	fl.MustFlush(t, specB)
	moved := `{"accountId":"acc2","credentials":{"namespace":"infra","name":"cloudflare","key":"token"},` + strings.TrimPrefix(specB, "{")
	out := fl.MustFlush(t, moved)
	if rs := rulesOf(fl); len(rs) != 0 {
		t.Fatalf("left in the old account: %+v", rs)
	}
	if rs := fl.Emu.GatewayRules("acc2"); len(rs) != 1 || rs[0].Name != "isolate news" || out.DownstreamIDs[IDAccount] != "acc2" || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("rules %+v, ids %v", rs, out.DownstreamIDs)
	}
	fl.MustFlush(t)
	if rs := fl.Emu.GatewayRules("acc2"); len(rs) != 0 {
		t.Fatalf("not deleted with the recorded credentials: %+v", rs)
	}
}
