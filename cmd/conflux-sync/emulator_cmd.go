package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cfemu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func newEmulatorCmd() *cobra.Command {
	emu := &cobra.Command{Use: "emulator", Short: "Run a faithful emulator of a downstream API, for development and tests"}
	var (
		addr      string
		token     string
		account   string
		zones     []string
		rateLimit int
		state     string
	)
	cf := &cobra.Command{
		Use:   "cloudflare",
		Short: "Emulate the Cloudflare v4 API (tunnels, tunnel configurations, DNS, Access, routes, zones)",
		Long: `Serve an emulator of the Cloudflare v4 API under /client/v4 that the
unmodified cloudflare-go client works against (cloudflare.BaseURL). State lives in
memory for the life of the process unless --state FILE is given: then accounts,
zones, DNS records, tunnels (with secrets, configurations and deleted ones),
Access apps and routes are loaded from FILE if it exists and saved to it after
every change, so they survive restarts. --zone names already in the file are
reused, not duplicated. Tokens are never saved. /__emulator/faults injects
errors, /__emulator/requests counts calls per route and /__emulator/tokens
adds (POST {"token","accounts"}) and revokes (DELETE {"token"}) API tokens
at run time and counts each token's use (GET); none needs a token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				var err error
				if token, err = newToken(); err != nil {
					return err
				}
			}
			return runCloudflareEmulator(cmd.Context(), cmd.OutOrStdout(), addr, token, account, zones, rateLimit, state)
		},
	}
	f := cf.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:7790", "listen address")
	f.StringVar(&token, "api-token", "", "the API token clients must send (default: generated and printed)")
	f.StringVar(&account, "account", "0123456789abcdef0123456789abcdef", "the account id the token may use")
	f.StringSliceVar(&zones, "zone", []string{"example.com"}, "zones to create in the account (repeatable)")
	f.IntVar(&rateLimit, "rate-limit", 1200, "requests per token per 5 minutes before 429 (0 disables)")
	f.StringVar(&state, "state", "", "JSON `FILE` to load the emulated state from and save it to (default: memory only)")
	emu.AddCommand(cf)
	emu.AddCommand(newConfluxEmulatorCmd())
	return emu
}

func runCloudflareEmulator(ctx context.Context, out io.Writer, addr, token, account string, zones []string, rateLimit int, state string) error {
	if rateLimit < 0 {
		return usageError{errors.New("--rate-limit must not be negative")}
	}
	srv, err := cfemu.Open(cfemu.Config{
		Tokens:    map[string]cfemu.TokenScope{token: {Accounts: []string{account}}},
		RateLimit: &cfemu.RateLimit{Requests: rateLimit, Window: 5 * time.Minute},
		StateFile: state,
	})
	if err != nil {
		return err
	}
	zoneIDs := seedEmulator(srv, account, zones)
	// The seeding helpers only log failed writes; an unwritable --state
	// should stop the command now, not surface on the first API call.
	if err := srv.Save(); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	serve := serveEmulator(l, srv)

	fmt.Fprintf(out, "Cloudflare API emulator on http://%s/client/v4\n  API token: %s\n  Account:   %s\n", l.Addr(), token, account)
	if state != "" {
		fmt.Fprintf(out, "  State:     %s\n", state)
	}
	for i, z := range zones {
		fmt.Fprintf(out, "  Zone:      %s  %s\n", zoneIDs[i], z)
	}
	fmt.Fprintf(out, "\nTry:\n  curl -s -H 'Authorization: Bearer %s' http://%s/client/v4/zones\n\nPress Ctrl-C to stop.\n", token, l.Addr())

	return serve(ctx)
}

// serveEmulator starts serving h on l and returns the function that waits
// until ctx ends (then shuts the server down) or serving fails.
func serveEmulator(l net.Listener, h http.Handler) func(context.Context) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	return func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return hs.Shutdown(sctx)
		case err := <-served:
			return err
		}
	}
}

// seedEmulator creates the account and the zones and returns the zones' ids.
// Zones restored from a state file are reused, so restarting with the same
// flags does not add duplicates.
func seedEmulator(srv *cfemu.Server, account string, zones []string) []string {
	srv.AddAccount(account)
	existing := map[string]string{}
	for _, z := range srv.Zones(account) {
		existing[z.Name] = z.ID
	}
	ids := make([]string, len(zones))
	for i, z := range zones {
		name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z)), ".")
		if id, ok := existing[name]; ok {
			ids[i] = id
			continue
		}
		ids[i] = srv.AddZone(account, z)
		existing[name] = ids[i]
	}
	return ids
}
