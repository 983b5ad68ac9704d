package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareGatewayListAndRules writes, through the admin API of a
// three-node cluster, Gateway rules from two producers into one rule set,
// one of them naming a Gateway list target that does not exist yet: the
// rules wait for it, then land in one order with the list's id in the
// expression; the rule both producers name stays the first one's, and the
// second is told. Everything goes again with the fragments.
func TestCloudflareGatewayListAndRules(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()

	rules := api.TargetRef{Kind: cfapi.KindGatewayRule, Name: "main"}
	list := api.TargetRef{Kind: cfapi.KindGatewayList, Name: "blocked"}
	srcA := api.SourceRef{Kind: "API", Name: "security"}
	srcB := api.SourceRef{Kind: "API", Name: "team-b"}
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: rules, Source: srcA, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"rules":[{"name":"block listed","action":"block","filters":["dns"],"traffic":"any(dns.domains[*] in $blocked)","precedence":10},`+
			`{"name":"allow rest","action":"allow","filters":["dns"]}]}`, cfAccount))}); err != nil {
		t.Fatal(err)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, rules)
		return err == nil && tg.Status != nil && tg.Status.DependsOn != nil && *tg.Status.DependsOn == list
	}) {
		t.Fatalf("the rules do not wait for the list: %+v", tg.Status)
	}
	if rs := cf.emu.GatewayRules(cfAccount); len(rs) != 0 {
		t.Fatalf("rules written before their list exists: %+v", rs)
	}

	if _, err := cl.PutFragment(ctx, api.Fragment{Target: rules, Source: srcB, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"rules":[{"name":"allow rest","action":"block","filters":["dns"]},{"name":"safe search","action":"safesearch","filters":["dns"],"precedence":5}]}`, cfAccount))}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: list, Source: srcA, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"blocked","type":"DOMAIN","items":[{"value":"bad.example.com"}]}`, cfAccount))}); err != nil {
		t.Fatal(err)
	}
	var got string
	if !waitUntil(30*time.Second, func() bool {
		ls := cf.emu.GatewayLists(cfAccount)
		var parts []string
		for _, r := range cf.emu.GatewayRules(cfAccount) {
			parts = append(parts, fmt.Sprintf("%s@%d:%s:%s", r.Name, r.Precedence, r.Action, r.Traffic))
		}
		got = strings.Join(parts, " | ")
		return len(ls) == 1 && len(parts) == 3 && strings.Contains(got, "block listed@10:block:any(dns.domains[*] in $"+strings.ReplaceAll(ls[0].ID, "-", "")+")") &&
			strings.Contains(got, "safe search@5:safesearch") && strings.Contains(got, "allow rest@11:allow")
	}) {
		t.Fatalf("lists %+v, rules %s", cf.emu.GatewayLists(cfAccount), got)
	}
	tg, err := cl.GetTarget(ctx, rules)
	if err != nil || len(tg.Conflicts) != 1 || tg.Conflicts[0].Key != "rule allow rest" || tg.Conflicts[0].Loser != srcB {
		t.Fatalf("conflicts %+v, %v", tg.Conflicts, err)
	}

	for _, src := range []api.SourceRef{srcA, srcB} {
		if _, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	if !waitUntil(60*time.Second, func() bool {
		return len(cf.emu.GatewayRules(cfAccount)) == 0 && len(cf.emu.GatewayLists(cfAccount)) == 0
	}) {
		t.Fatalf("left: rules %+v, lists %+v", cf.emu.GatewayRules(cfAccount), cf.emu.GatewayLists(cfAccount))
	}
}
