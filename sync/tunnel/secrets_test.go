package tunnel

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const wrongToken = "wrong-token-must-not-be-printed"

// The server has no static credentials: the Secret named by the spec is
// the only way in.
func TestTunnelFlusherSecretCredentials(t *testing.T) {
	ref := cfapitest.SecretRef
	tests := []struct {
		name   string
		secret string // "" leaves the Secret missing
		spec   TunnelSpec
		// wantErr is "" for success.
		wantErr   string
		permanent bool
	}{
		{name: "token from the Secret", secret: cfapitest.Token,
			spec: TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Credentials: &ref}},
		{name: "wrong token", secret: wrongToken,
			spec:    TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Credentials: &ref},
			wantErr: "Cloudflare rejected the API token from Secret infra/cloudflare key token", permanent: true},
		{name: "missing Secret",
			spec:    TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Credentials: &ref},
			wantErr: "read the Cloudflare API token from Secret infra/cloudflare key token"},
		{name: "no Secret named, no static credentials",
			spec:    TunnelSpec{AccountID: cfapitest.Account, Name: "edge"},
			wantErr: "no Cloudflare API token is configured for account acc1", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cfapitest.New(t, cfapitest.SecretsOnly())
			if tt.secret != "" {
				e.Secrets.Set(ref, tt.secret)
			}
			f := NewTunnelFlusher(e.Clients, nil, nil)
			out, err := f.Flush(cfapitest.Context(t), e.Request(t, tunnelTarget, tt.spec, nil))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				live := liveTunnels(e, "edge")
				if len(live) != 1 || out.DownstreamIDs[cfapi.IDTunnel] != live[0].ID || out.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
					t.Fatalf("ids %v, tunnels %+v", out.DownstreamIDs, live)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || engine.IsPermanent(err) != tt.permanent {
				t.Fatalf("got %v (permanent %v), want %q (permanent %v)", err, engine.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			if strings.Contains(err.Error(), wrongToken) || strings.Contains(err.Error(), cfapitest.Token) {
				t.Fatalf("the error shows a token: %v", err)
			}
			if len(liveTunnels(e, "edge")) != 0 {
				t.Fatal("a tunnel was created")
			}
		})
	}
}

// A tunnel created with a Secret's token is configured and deleted with
// it, even after the Secret is gone (its namespace torn down together with
// the fragment).
func TestTunnelSecretCredentialsLifecycle(t *testing.T) {
	e := cfapitest.New(t, cfapitest.SecretsOnly())
	ref := cfapitest.SecretRef
	e.Secrets.Set(ref, cfapitest.Token)
	ctx := context.Background()
	tf := NewTunnelFlusher(e.Clients, nil, nil)
	spec := TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Credentials: &ref}
	out, err := tf.Flush(ctx, e.Request(t, tunnelTarget, spec, nil))
	if err != nil {
		t.Fatal(err)
	}
	prev := e.RecordStatus(t, tunnelTarget, out.DownstreamIDs)
	id := out.DownstreamIDs[cfapi.IDTunnel]

	// The configuration has no credentials of its own: it uses the
	// tunnel's, the only ones there are.
	cf := NewConfigFlusher(e.Clients, e.Store, nil)
	desired := Config{Ingress: []Rule{{Hostname: "app.example.com", Service: "http://web:80"}, {Service: "http_status:404"}}}
	cout, err := cf.Flush(ctx, e.Request(t, configTarget, desired, nil))
	if err != nil || cout.DownstreamIDs[cfapi.IDCredentials] != "infra/cloudflare/token" {
		t.Fatalf("configuration: %+v %v", cout, err)
	}
	checkRemote(t, e, id, desired)

	e.Secrets.Delete(ref)
	// A new leader never read the Secret: it cannot delete yet, and says
	// which Secret it waits for.
	fresh, err := cfapi.New(cfapi.Config{Secrets: e.Secrets, BaseURL: e.URL, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewTunnelFlusher(fresh, nil, nil).Flush(ctx, e.Request(t, tunnelTarget, nil, prev))
	if err == nil || engine.IsPermanent(err) || !strings.Contains(err.Error(), ref.String()) {
		t.Fatalf("new leader, Secret gone: %v", err)
	}
	// This leader remembers the token and deletes the tunnel.
	if _, err := tf.Flush(ctx, e.Request(t, tunnelTarget, nil, prev)); err != nil {
		t.Fatalf("delete after the Secret is gone: %v", err)
	}
	if live := liveTunnels(e, "edge"); len(live) != 0 {
		t.Fatalf("tunnel not deleted: %+v", live)
	}
}

// The configuration, DNS records and routes write with the tunnel's
// credentials: a change of them must flush those again.
func TestTunnelCredentialsChangeRechecksDependents(t *testing.T) {
	e := cfapitest.New(t)
	ref := cfapitest.SecretRef
	e.Secrets.Set(ref, cfapitest.Token)
	f := NewTunnelFlusher(e.Clients, nil, nil)
	ctx := context.Background()
	out, err := f.Flush(ctx, e.Request(t, tunnelTarget, TunnelSpec{AccountID: cfapitest.Account, Name: "edge"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.DownstreamIDs[cfapi.IDCredentials]; ok {
		t.Fatalf("static credentials recorded: %v", out.DownstreamIDs)
	}
	prev := &api.SyncStatus{DownstreamIDs: out.DownstreamIDs}
	out, err = f.Flush(ctx, e.Request(t, tunnelTarget, TunnelSpec{AccountID: cfapitest.Account, Name: "edge", Credentials: &ref}, prev))
	if err != nil || len(out.Recheck) == 0 || out.DownstreamIDs[cfapi.IDTunnel] != prev.DownstreamIDs[cfapi.IDTunnel] {
		t.Fatalf("switch to a Secret: %+v %v", out, err)
	}
}
