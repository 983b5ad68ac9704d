package cfapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// In a dry run every write is refused before it leaves, loudly and for
// good, while reads go through: whether the flush's context says so (the
// engine's gate) or the clients were built for a dry run (Config.DryRun).
func TestDryRunRefusesWrites(t *testing.T) {
	tests := []struct {
		name   string
		dryRun bool // Config.DryRun
		ctx    func() context.Context
	}{
		{name: "the engine's write gate", ctx: func() context.Context { return engine.WithDryRun(context.Background()) }},
		{name: "clients built for a dry run", dryRun: true, ctx: context.Background},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
			e.AddAccount(testAccount)
			srv := httptest.NewServer(e)
			t.Cleanup(srv.Close)
			c, err := New(Config{Credentials: Credentials{testAccount: testToken}, BaseURL: srv.URL + "/client/v4", RateLimit: 1000, Burst: 100, DryRun: tt.dryRun})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := c.Account(testAccount)
			ctx := tt.ctx()
			rc := cloudflare.AccountIdentifier(a.ID)
			if err := Call(ctx, "list tunnels", func(ctx context.Context) error {
				_, _, err := a.API.ListTunnels(ctx, rc, cloudflare.TunnelListParams{})
				return err
			}); err != nil {
				t.Fatalf("a read in a dry run: %v", err)
			}
			secret := make([]byte, 32)
			_, _ = rand.Read(secret)
			err = Call(ctx, "create tunnel edge", func(ctx context.Context) error {
				_, err := a.API.CreateTunnel(ctx, rc, cloudflare.TunnelCreateParams{Name: "edge", Secret: base64.StdEncoding.EncodeToString(secret), ConfigSrc: "cloudflare"})
				return err
			})
			if !errors.Is(err, engine.ErrDryRun) || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "create tunnel edge") {
				t.Fatalf("a write in a dry run: %v", err)
			}
			for k, n := range e.Requests() {
				if !strings.HasPrefix(k, "GET ") && n > 0 {
					t.Fatalf("%d %s reached the API", n, k)
				}
			}
			if len(e.Tunnels(testAccount)) != 0 {
				t.Fatalf("tunnels: %+v", e.Tunnels(testAccount))
			}
		})
	}
}
