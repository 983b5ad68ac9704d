package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareAccessGroup writes an Access group through the admin API
// of a three-node cluster, sees it in the emulator with its rules and its
// id in the target's status, and sees it deleted with its fragment.
func TestCloudflareAccessGroup(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()

	frag := api.Fragment{Target: api.TargetRef{Kind: cfapi.KindAccessGroup, Name: "staff"}, Source: api.SourceRef{Kind: "API", Name: "group-demo"}, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"staff","include":[{"email_domain":{"domain":"example.com"}}],"exclude":[{"email":{"email":"intern@example.com"}}]}`, cfAccount))}
	if _, err := cl.PutFragment(ctx, frag); err != nil {
		t.Fatal(err)
	}
	var g emu.AccessGroupInfo
	if !waitUntil(30*time.Second, func() bool {
		gs := cf.emu.AccessGroups(cfAccount)
		if len(gs) == 1 {
			g = gs[0]
		}
		return len(gs) == 1
	}) {
		t.Fatalf("groups %+v", cf.emu.AccessGroups(cfAccount))
	}
	if b, _ := json.Marshal(g.Include); g.Name != "staff" || string(b) != `[{"email_domain":{"domain":"example.com"}}]` || len(g.Exclude) != 1 {
		t.Fatalf("group %+v", g)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, frag.Target)
		return err == nil && tg.Status != nil && tg.Status.DownstreamIDs["groupId"] == g.ID
	}) {
		t.Fatalf("target status %+v", tg.Status)
	}

	if _, err := cl.DeleteFragment(ctx, frag.Target, frag.Source); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool { return len(cf.emu.AccessGroups(cfAccount)) == 0 }) {
		t.Fatalf("after removing the fragment: groups %+v", cf.emu.AccessGroups(cfAccount))
	}
}
