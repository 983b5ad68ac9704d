package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
)

func newConfluxEmulatorCmd() *cobra.Command {
	var addr, token, data string
	cmd := &cobra.Command{
		Use:   "conflux",
		Short: "Run the reference Conflux server (configs, immutable versions, release policies)",
		Long: `Serve the reference Conflux management API under /v1 (specified in
docs/conflux-api.md and docs/conflux-openapi.yaml). State lives in memory for the
life of the process unless --data FILE is given: then configs, versions, release
policies and idempotency records are kept in that bbolt file, written through on
every change, and loaded again on the next start. Tokens are never saved.
/__emulator/faults injects errors, /__emulator/requests counts calls per
route and /__emulator/tokens adds (POST {"token"}) and revokes (DELETE
{"token"}) API tokens at run time and counts each token's use (GET); none
needs a token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				var err error
				if token, err = newToken(); err != nil {
					return err
				}
			}
			return runConfluxEmulator(cmd.Context(), cmd.OutOrStdout(), addr, token, data)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:7791", "listen address")
	f.StringVar(&token, "api-token", "", "the API token clients must send (default: generated and printed)")
	f.StringVar(&data, "data", "", "bbolt `FILE` to keep the state in (default: memory only)")
	return cmd
}

func runConfluxEmulator(ctx context.Context, out io.Writer, addr, token, data string) error {
	srv, err := cxemu.Open(cxemu.Config{Tokens: []string{token}, DataFile: data})
	if err != nil {
		return err
	}
	defer srv.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	serve := serveEmulator(l, srv)

	fmt.Fprintf(out, "Conflux API on http://%s/v1\n  API token: %s\n", l.Addr(), token)
	if data != "" {
		fmt.Fprintf(out, "  Data:      %s\n", data)
	}
	fmt.Fprintf(out, "\nTry:\n  curl -s -H 'Authorization: Bearer %s' http://%s/v1/configs\n\nPress Ctrl-C to stop.\n", token, l.Addr())

	return serve(ctx)
}
