package gatewaylist

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var account = cf.AccountIdentifier(cfapitest.Account)

const (
	specV1 = `{"name":"blocked","description":"bad hosts","type":"DOMAIN","items":[{"value":"b.example.com"},{"value":"a.example.com","description":"phishing"}]}`
	// specV2 drops a.example.com, adds c.example.com and keeps the rest.
	specV2 = `{"name":"blocked","description":"bad hosts","type":"DOMAIN","items":[{"value":"b.example.com"},{"value":"c.example.com"}]}`
)

func newFlow(t *testing.T) *cfapitest.Flow {
	t.Helper()
	ce := cfapitest.New(t)
	return ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
}

func listsOf(fl *cfapitest.Flow) []emu.GatewayListInfo {
	return fl.Emu.GatewayLists(cfapitest.Account)
}

// values renders a list's items as "value[=description]", sorted.
func values(l emu.GatewayListInfo) string {
	var out []string
	for _, it := range l.Items {
		v := it.Value
		if it.Description != "" {
			v += "=" + it.Description
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestFlushCreateRepeatPatchDelete(t *testing.T) {
	fl := newFlow(t)
	out := fl.MustFlush(t, specV1)
	ids := out.DownstreamIDs
	ls := listsOf(fl)
	if len(ls) != 1 || ids[IDList] != ls[0].ID || ids[IDCreated] != "true" || ids[IDName] != "blocked" || ls[0].Type != "DOMAIN" ||
		!strings.HasPrefix(ls[0].Description, "conflux-sync:") || !strings.HasSuffix(ls[0].Description, " bad hosts") ||
		values(ls[0]) != "a.example.com=phishing,b.example.com" {
		t.Fatalf("ids %v, lists %+v", ids, ls)
	}
	w := fl.Writes()
	// The same items in another order: nothing to write.
	fl.MustFlush(t, `{"name":"blocked","description":"bad hosts","type":"domain","items":[{"value":"a.example.com","description":"phishing"},{"value":"b.example.com"}]}`)
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	// One item added, one removed: one PATCH, no PUT.
	fl.MustFlush(t, specV2)
	if ls = listsOf(fl); len(ls) != 1 || ls[0].ID != ids[IDList] || values(ls[0]) != "b.example.com,c.example.com" {
		t.Fatalf("after patch: %+v", ls)
	}
	req := fl.Emu.Requests()
	if req["PATCH /accounts/{account}/gateway/lists/{id}"] != 1 || req["PUT /accounts/{account}/gateway/lists/{id}"] != 0 {
		t.Fatalf("one PATCH expected: %v", req)
	}
	// A description of an item changes: the PUT with every item.
	fl.MustFlush(t, strings.Replace(specV2, `{"value":"c.example.com"}`, `{"value":"c.example.com","description":"malware"}`, 1))
	if ls = listsOf(fl); values(ls[0]) != "b.example.com,c.example.com=malware" || fl.Emu.Requests()["PUT /accounts/{account}/gateway/lists/{id}"] != 1 {
		t.Fatalf("after put: %+v %v", ls, fl.Emu.Requests())
	}
	// Emptied: the PATCH removes everything (the PUT cannot).
	fl.MustFlush(t, `{"name":"blocked","description":"bad hosts","type":"DOMAIN"}`)
	if ls = listsOf(fl); len(ls[0].Items) != 0 {
		t.Fatalf("not emptied: %+v", ls)
	}
	out = fl.MustFlush(t)
	if len(out.DownstreamIDs) != 0 || len(listsOf(fl)) != 0 {
		t.Fatalf("after delete: %v %+v", out.DownstreamIDs, listsOf(fl))
	}
}

// A list's type cannot change: ours is replaced by a new one.
func TestFlushTypeChangeReplaces(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, `{"name":"blocked","type":"IP","items":[{"value":"10.0.0.1"}]}`).DownstreamIDs[IDList]
	out := fl.MustFlush(t, specV1)
	ls := listsOf(fl)
	if len(ls) != 1 || ls[0].ID == id || ls[0].Type != "DOMAIN" || out.DownstreamIDs[IDList] != ls[0].ID {
		t.Fatalf("ids %v, lists %+v", out.DownstreamIDs, ls)
	}
}

func TestFlushUnownedClashIsPermanentAndAdopt(t *testing.T) {
	fl := newFlow(t)
	hand, err := fl.Human.CreateTeamsList(cfapitest.Context(t), account, cf.CreateTeamsListParams{Name: "blocked", Type: "DOMAIN",
		Items: []cf.TeamsListItem{{Value: "x.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	w := fl.Writes()
	if _, err := fl.Flush(t, specV1); !engine.IsPermanent(err) || !strings.Contains(err.Error(), `a Gateway list named "blocked" exists and is not managed by conflux-sync; set adopt`) {
		t.Fatalf("want permanent clash, got %v", err)
	}
	if fl.Writes() != w {
		t.Fatalf("%d writes", fl.Writes()-w)
	}
	out := fl.MustFlush(t, strings.Replace(specV1, `"name"`, `"adopt":true,"name"`, 1))
	if ls := listsOf(fl); len(ls) != 1 || ls[0].ID != hand.ID || values(ls[0]) != "a.example.com=phishing,b.example.com" || out.DownstreamIDs[IDCreated] != "false" {
		t.Fatalf("ids %v, lists %+v", out.DownstreamIDs, ls)
	}
	fl.MustFlush(t)
	if ls := listsOf(fl); len(ls) != 1 {
		t.Fatalf("an adopted list is released, not deleted: %+v", ls)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDList]
	// Someone removes an item and adds one by hand.
	if _, err := fl.Human.PatchTeamsList(cfapitest.Context(t), account, cf.PatchTeamsListParams{ID: id,
		Append: []cf.TeamsListItem{{Value: "z.example.com"}}, Remove: []string{"b.example.com"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{`update Gateway list blocked (id ` + id + `): add items b.example.com, remove items z.example.com`}
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, specV1)
	if ls := listsOf(fl); values(ls[0]) != "a.example.com=phishing,b.example.com" {
		t.Fatalf("drift not repaired: %+v", ls)
	}
}

func TestDryRunCreate(t *testing.T) {
	fl := newFlow(t)
	if plan := fl.MustPlan(t, specV1); !slices.Equal(plan, []string{"create Gateway list blocked (DOMAIN, 2 items)"}) {
		t.Fatalf("plan %q", plan)
	}
	if ls := listsOf(fl); len(ls) != 0 {
		t.Fatalf("the dry run created %+v", ls)
	}
}

// A list a rule still uses is not deleted yet: the error is retried, not
// held, and the list goes once the rule lets go of it.
func TestFlushDeleteWaitsForRules(t *testing.T) {
	fl := newFlow(t)
	id := fl.MustFlush(t, specV1).DownstreamIDs[IDList]
	rule, err := fl.Human.TeamsCreateRule(cfapitest.Context(t), cfapitest.Account, cf.TeamsRule{Name: "r", Action: cf.Block,
		Filters: []cf.TeamsFilterType{cf.DnsFilter}, Traffic: "any(dns.domains[*] in $" + strings.ReplaceAll(id, "-", "") + ")"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fl.Flush(t); err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), "still used by a Gateway rule") {
		t.Fatalf("want a retryable wait, got %v", err)
	}
	if err := fl.Human.TeamsDeleteRule(cfapitest.Context(t), cfapitest.Account, rule.ID); err != nil {
		t.Fatal(err)
	}
	fl.MustFlush(t)
	if ls := listsOf(fl); len(ls) != 0 {
		t.Fatalf("not deleted: %+v", ls)
	}
}

// A list longer than the items endpoint's default page (50) is read
// whole: a repeat flush writes nothing, and one item removed is one PATCH
// that removes only it.
func TestFlushReadsEveryPageOfItems(t *testing.T) {
	fl := newFlow(t)
	items := make([]string, 0, 120)
	for i := range 120 {
		items = append(items, fmt.Sprintf(`{"value":"h%03d.example.com"}`, i))
	}
	spec := func(its []string) string {
		return `{"name":"long","type":"DOMAIN","items":[` + strings.Join(its, ",") + `]}`
	}
	fl.MustFlush(t, spec(items))
	if ls := listsOf(fl); len(ls) != 1 || len(ls[0].Items) != 120 {
		t.Fatalf("lists %+v", ls)
	}
	w := fl.Writes()
	fl.MustFlush(t, spec(items))
	if fl.Writes() != w {
		t.Fatalf("repeat wrote %d times: %v", fl.Writes()-w, fl.Emu.Requests())
	}
	want := []string{"update Gateway list long (id " + listsOf(fl)[0].ID + "): remove items h119.example.com"}
	if plan := fl.MustPlan(t, spec(items[:119])); !slices.Equal(plan, want) {
		t.Fatalf("plan %q\nwant %q", plan, want)
	}
	fl.MustFlush(t, spec(items[:119]))
	if ls := listsOf(fl); len(ls[0].Items) != 119 || fl.Writes() != w+1 {
		t.Fatalf("%d items, %d writes", len(ls[0].Items), fl.Writes()-w)
	}
}
