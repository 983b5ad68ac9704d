package main

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// `conflux-sync emulator cloudflare` serves the emulator to the real
// cloudflare-go client and stops cleanly on SIGINT.
func TestE2ECloudflareEmulatorCommand(t *testing.T) {
	needBinary(t)
	addr := testutil.Addr(testutil.FreePort(t))
	emu := startBackground(t, "emulator", "cloudflare", "--addr", addr, "--zone", "example.com", "--zone", "example.org")
	emu.waitOutput(t, 20*time.Second, "Press Ctrl-C")
	m := regexp.MustCompile(`API token: (\S+)`).FindStringSubmatch(emu.stdout.String())
	if m == nil {
		t.Fatalf("no token in the output:\n%s", emu.stdout.String())
	}

	api, err := cloudflare.NewWithAPIToken(m[1], cloudflare.BaseURL("http://"+addr+"/client/v4"),
		cloudflare.UsingRateLimit(1000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, z := range []string{"example.com", "example.org"} {
		if _, err := api.ZoneIDByName(z); err != nil {
			t.Errorf("zone %s: %v", z, err)
		}
	}
	bad, _ := cloudflare.NewWithAPIToken("wrong", cloudflare.BaseURL("http://"+addr+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0))
	var authErr *cloudflare.AuthorizationError
	if _, err := bad.ListZonesContext(ctx); !errors.As(err, &authErr) {
		t.Errorf("wrong token: got %v, want an authorization error", err)
	}

	emu.interrupt(t, 10*time.Second)
}
