package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	cfgo "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareAccessSaaSOIDC writes an OIDC SaaS application through the
// admin API of a three-node cluster: it reaches the emulator with its
// settings, its client id is in the target's status, and the client
// secret Cloudflare generated is nowhere in what the cluster keeps (the
// target, the snapshot of its replicated state). A bad SaaS spec is a 422
// naming the field.
func TestCloudflareAccessSaaSOIDC(t *testing.T) {
	cf := newCloudflare(t, nil)
	c, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()
	target := api.TargetRef{Kind: cfapi.KindAccessApplication, Name: "default/grafana"}
	src := api.SourceRef{Kind: "API", Name: "saas-demo"}

	_, err := cl.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: 1,
		Spec: json.RawMessage(`{"name":"grafana","type":"saas","saasApp":{"authType":"oidc","grantTypes":["refresh_token"]}}`)})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Field != "spec.saasApp.grantTypes[0]" {
		t.Fatalf("got %v, want a 422 on spec.saasApp.grantTypes[0]", err)
	}

	if _, err := cl.PutFragment(ctx, api.Fragment{Target: target, Source: src, Generation: 1,
		Spec: json.RawMessage(`{"name":"grafana","type":"saas","saasApp":{"authType":"oidc","redirectUris":["https://grafana.example.com/cb"],"scopes":["openid","email"]}}`)}); err != nil {
		t.Fatal(err)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		tg, err = cl.GetTarget(ctx, target)
		return err == nil && tg.Status != nil && tg.Status.DownstreamIDs["clientId"] != ""
	}) {
		t.Fatalf("target status %+v (%v)", tg.Status, err)
	}
	app, err := cfclient(t, cf).GetAccessApplication(ctx, cfgo.AccountIdentifier(cfAccount), tg.Status.DownstreamIDs["appId"])
	if err != nil {
		t.Fatal(err)
	}
	sa := app.SaasApplication
	if sa == nil || sa.ClientID != tg.Status.DownstreamIDs["clientId"] || sa.ClientSecret == "" || strings.Join(sa.Scopes, ",") != "email,openid" {
		t.Fatalf("app %+v / %+v", app, sa)
	}

	kept, _ := json.Marshal(tg)
	var snap bytes.Buffer
	if _, err := c.client(c.leader(), adminToken).SaveSnapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(kept, []byte(sa.ClientSecret)) || bytes.Contains(snap.Bytes(), []byte(sa.ClientSecret)) {
		t.Fatal("the OIDC client secret reached the cluster's state")
	}
	if !bytes.Contains(snap.Bytes(), []byte(sa.ClientID)) {
		t.Fatal("the snapshot does not hold the recorded client id: the secret check proves nothing")
	}
}
