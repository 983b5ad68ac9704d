package vnet

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// With no static credentials, a network is written with the token of the
// Secret its spec names, recorded by reference; the deletion uses the
// recorded one even after the Secret is gone.
func TestFlushWithSecretCredentials(t *testing.T) {
	const spec = `{"accountId":"` + cfapitest.Account + `","name":"lab","credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`
	ce := cfapitest.New(t, cfapitest.SecretsOnly())
	fl := ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)

	if _, err := fl.Flush(t, spec); err == nil || !strings.Contains(err.Error(), "Secret infra/cloudflare key token") {
		t.Fatalf("without the Secret: %v", err)
	}
	if _, err := fl.Flush(t, `{"accountId":"`+cfapitest.Account+`","name":"lab"}`); !engine.IsPermanent(err) {
		t.Fatalf("without any credentials: want permanent, got %v", err)
	}

	ce.Secrets.Set(cfapitest.SecretRef, cfapitest.Token)
	out := fl.MustFlush(t, spec)
	if vs := live(fl); len(vs) != 1 || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("ids %v, networks %+v", out.DownstreamIDs, vs)
	}
	ce.Secrets.Delete(cfapitest.SecretRef)
	fl.MustFlush(t)
	if vs := live(fl); len(vs) != 0 {
		t.Fatalf("not deleted: %+v", vs)
	}
}
