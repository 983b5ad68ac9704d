package dns

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const secretJSON = `"credentials":{"namespace":"infra","name":"cloudflare","key":"token"}`

// With no static credentials, a zone writes with the Secret its
// fragments name or, naming none, with that of a tunnel its CNAMEs point
// at; deleting its records uses the recorded one even after the Secret is
// gone.
func TestFlushWithSecretCredentials(t *testing.T) {
	const tid = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	tests := []struct {
		name         string
		specs        []string
		tunnelSecret bool // the tunnel target was written with the Secret
		want         string
		wantErr      string
		permanent    bool
	}{
		{name: "the zone's Secret",
			specs: []string{`{"accountId":"acc1",` + secretJSON + `,"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`},
			want:  "a.example.com A 192.0.2.1"},
		{name: "Secret and account from two fragments",
			specs: []string{`{"accountId":"acc1","records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`,
				`{` + secretJSON + `,"records":[{"name":"b.example.com","type":"A","content":"192.0.2.2"}]}`},
			want: "b.example.com A 192.0.2.2"},
		{name: "the tunnel's Secret", tunnelSecret: true,
			specs: []string{`{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge"}]}`},
			want:  "app.example.com CNAME " + tid + ".cfargotunnel.com"},
		{name: "Secret without an account",
			specs:   []string{`{` + secretJSON + `,"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`},
			wantErr: "accountId is required with credentials from a Secret", permanent: true},
		{name: "no credentials",
			specs:   []string{`{"accountId":"acc1","records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`},
			wantErr: "no Cloudflare API token is configured for account acc1", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := cfapitest.New(t, cfapitest.Zone("example.com"), cfapitest.SecretsOnly())
			e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store}), zoneID: ce.Zones["example.com"]}
			e.Flow = ce.Flow(New(), e.f, zoneRef)
			ce.Secrets.Set(cfapitest.SecretRef, cfapitest.Token)
			if tt.tunnelSecret {
				ce.SeedTunnelWithCredentials(t, "ClusterTunnel/edge", tid, &cfapitest.SecretRef)
			}
			out, err := e.Flush(t, tt.specs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || engine.IsPermanent(err) != tt.permanent {
					t.Fatalf("got %v, want %q (permanent %v)", err, tt.wantErr, tt.permanent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := e.records()[tt.want]; !ok || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" || out.DownstreamIDs[IDAccount] != cfapitest.Account {
				t.Fatalf("records %v, ids %v", e.records(), out.DownstreamIDs)
			}
			ce.Secrets.Delete(cfapitest.SecretRef)
			e.MustFlush(t) // no fragments left
			if got := e.records(); len(got) != 0 {
				t.Fatalf("records left: %v", got)
			}
		})
	}
}
