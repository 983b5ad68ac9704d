package route

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const secretJSON = `"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}`

// With no static credentials, a route writes with its own Secret or,
// naming none, with that of its tunnel target; its deletion uses the
// recorded one even after the Secret is gone.
func TestFlushWithSecretCredentials(t *testing.T) {
	tests := []struct {
		name string
		// spec builds the spec for the tunnel id.
		spec func(tunnelID string) string
		// tunnelSecret seeds the tunnel target as written with the Secret.
		tunnelSecret  bool
		secretMissing bool
		wantErr       string
		permanent     bool
	}{
		{name: "the tunnel's credentials", tunnelSecret: true,
			spec: func(string) string { return `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge"}` }},
		{name: "own credentials with a tunnel id",
			spec: func(id string) string {
				return `{"accountId":"acc1","network":"10.0.0.0/8","tunnelId":"` + id + `",` + secretJSON + `}`
			}},
		{name: "own credentials, tunnel account",
			spec: func(string) string {
				return `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge",` + secretJSON + `}`
			}},
		{name: "missing Secret", tunnelSecret: true, secretMissing: true,
			spec:    func(string) string { return `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge"}` },
			wantErr: "Secret infra/cloudflare key token"},
		{name: "no credentials at all",
			spec:    func(string) string { return `{"network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge"}` },
			wantErr: "no Cloudflare API token is configured for account acc1", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := cfapitest.New(t, cfapitest.SecretsOnly())
			fl := ce.Flow(New(), NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store}), testTarget)
			e := &env{Flow: fl}
			id := ce.HandMadeTunnel(t, "edge")
			if tt.tunnelSecret {
				ce.SeedTunnelWithCredentials(t, "ClusterTunnel/edge", id, &cfapitest.SecretRef)
			} else {
				ce.SeedTunnel(t, "ClusterTunnel/edge", id)
			}
			if !tt.secretMissing {
				ce.Secrets.Set(cfapitest.SecretRef, cfapitest.Token)
			}
			out, err := fl.Flush(t, tt.spec(id))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || engine.IsPermanent(err) != tt.permanent {
					t.Fatalf("got %v, want %q (permanent %v)", err, tt.wantErr, tt.permanent)
				}
				if len(e.live()) != 0 {
					t.Fatal("a route was written")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if live := e.live(); len(live) != 1 || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" || out.DownstreamIDs[IDAccount] != cfapitest.Account {
				t.Fatalf("ids %v, routes %+v", out.DownstreamIDs, live)
			}
			ce.Secrets.Delete(cfapitest.SecretRef)
			fl.MustFlush(t) // no fragments left
			if live := e.live(); len(live) != 0 {
				t.Fatalf("route not deleted: %+v", live)
			}
		})
	}
}
