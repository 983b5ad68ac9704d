package access

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const withSecret = `{"accountId":"acc1","name":"app","domain":"app.example.com",` +
	`"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}}`

// With no static credentials, an app naming a Secret is created, updated
// and (after the Secret is gone) deleted with its token.
func TestFlushWithSecretCredentials(t *testing.T) {
	ce := cfapitest.New(t, cfapitest.SecretsOnly())
	fl := ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients}), testTarget)
	ce.Secrets.Set(cfapitest.SecretRef, "not-the-token")
	_, err := fl.Flush(t, withSecret)
	if err == nil || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "Cloudflare rejected the API token from Secret infra/cloudflare key token") || strings.Contains(err.Error(), "not-the-token") {
		t.Fatalf("wrong token: %v", err)
	}

	ce.Secrets.Set(cfapitest.SecretRef, cfapitest.Token)
	out := fl.MustFlush(t, withSecret)
	id := out.DownstreamIDs[IDApp]
	if id == "" || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" || out.DownstreamIDs[IDCreated] != "true" {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	if cps := ce.Checkpoints(); len(cps) != 1 || cps[0][cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("the checkpoint after create must carry the credentials: %v", cps)
	}
	fl.MustFlush(t, strings.Replace(withSecret, `"name":"app"`, `"name":"renamed"`, 1))
	if got := ce.Emu.AccessApps(cfapitest.Account); len(got) != 1 || got[0].Name != "renamed" {
		t.Fatalf("apps %+v", got)
	}

	ce.Secrets.Delete(cfapitest.SecretRef)
	fl.MustFlush(t) // no fragments left
	if got := ce.Emu.AccessApps(cfapitest.Account); len(got) != 0 {
		t.Fatalf("app not deleted: %+v", got)
	}
}
