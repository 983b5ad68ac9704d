package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareAccessPolicyAndApplication writes, through the admin API
// of a three-node cluster, an Access application listing a reusable
// policy by target name before that target exists: the application
// waits (status.dependsOn), then lands with the policy the AccessPolicy
// target creates, before a policy given by id. Removing both fragments
// deletes both: the policy once the application no longer lists it.
func TestCloudflareAccessPolicyAndApplication(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()

	src := api.SourceRef{Kind: "API", Name: "policy-demo"}
	appTarget := api.TargetRef{Kind: cfapi.KindAccessApplication, Name: "wiki"}
	policyTarget := api.TargetRef{Kind: cfapi.KindAccessPolicy, Name: "staff"}
	const byID = "0f000000-0000-4000-8000-00000000000f"
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: appTarget, Source: src, Generation: 1,
		Spec: json.RawMessage(`{"name":"wiki","domain":"wiki.example.com","policies":["staff","` + byID + `"]}`)}); err != nil {
		t.Fatal(err)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, appTarget)
		return err == nil && tg.Status != nil && tg.Status.DependsOn != nil && *tg.Status.DependsOn == policyTarget
	}) {
		t.Fatalf("the application does not wait for its policy: %+v", tg.Status)
	}
	if apps := cf.emu.AccessApps(cfAccount); len(apps) != 0 {
		t.Fatalf("an application before its policy exists: %+v", apps)
	}

	if _, err := cl.PutFragment(ctx, api.Fragment{Target: policyTarget, Source: src, Generation: 1,
		Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"Allow staff","decision":"allow","include":[{"email_domain":{"domain":"example.com"}}]}`, cfAccount))}); err != nil {
		t.Fatal(err)
	}
	var policyID string
	if !waitUntil(30*time.Second, func() bool {
		ps := cf.emu.AccessPolicies(cfAccount)
		apps := cf.emu.AccessApps(cfAccount)
		if len(ps) != 1 || len(apps) != 1 {
			return false
		}
		policyID = ps[0].ID
		return slices.Equal(cf.emu.AccessAppPolicies(cfAccount, apps[0].ID), []string{policyID, byID})
	}) {
		t.Fatalf("policies %+v, applications %+v", cf.emu.AccessPolicies(cfAccount), cf.emu.AccessApps(cfAccount))
	}
	if tg, err := cl.GetTarget(ctx, policyTarget); err != nil || tg.Status == nil || tg.Status.DownstreamIDs[cfapi.IDAccessPolicy] != policyID {
		t.Fatalf("policy target status %+v, %v", tg.Status, err)
	}

	if _, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src}); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(60*time.Second, func() bool {
		return len(cf.emu.AccessApps(cfAccount)) == 0 && len(cf.emu.AccessPolicies(cfAccount)) == 0
	}) {
		t.Fatalf("after removing the fragments: policies %+v, applications %+v", cf.emu.AccessPolicies(cfAccount), cf.emu.AccessApps(cfAccount))
	}
}
