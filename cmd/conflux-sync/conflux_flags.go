package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/conflux"
)

// envConfluxToken is the environment variable the Conflux API token may
// come from instead of --conflux-token-file.
const envConfluxToken = "CONFLUX_API_TOKEN"

// confluxFlags are the server's Conflux sink settings.
type confluxFlags struct {
	url       string
	tokenFile string
	timeout   time.Duration
}

func (c *confluxFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.url, "conflux-url", "", "Conflux API base URL (without /v1); empty: conflux.Config targets are stored but not synced")
	f.StringVar(&c.tokenFile, "conflux-token-file", "", "file holding the Conflux API token ("+envConfluxToken+" works too)")
	f.DurationVar(&c.timeout, "conflux-timeout", conflux.DefaultTimeout, "bound on one Conflux API request; a timed-out publish is retried with the same idempotency key")
}

// config reads the token; it goes only into the sink's client.
func (c *confluxFlags) config(getenv func(string) string) (server.ConfluxConfig, error) {
	if c.url == "" {
		if c.tokenFile != "" {
			return server.ConfluxConfig{}, errors.New("--conflux-token-file needs --conflux-url")
		}
		return server.ConfluxConfig{}, nil
	}
	if c.timeout <= 0 {
		return server.ConfluxConfig{}, fmt.Errorf("--conflux-timeout must be positive, not %s", c.timeout)
	}
	if !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://") {
		return server.ConfluxConfig{}, fmt.Errorf("--conflux-url %q: want an http:// or https:// URL", c.url)
	}
	token := getenv(envConfluxToken)
	if c.tokenFile != "" {
		if token != "" {
			return server.ConfluxConfig{}, fmt.Errorf("the Conflux token is both in --conflux-token-file and in %s", envConfluxToken)
		}
		raw, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return server.ConfluxConfig{}, fmt.Errorf("--conflux-token-file: %w", err)
		}
		token = strings.TrimSpace(string(raw))
	}
	if token == "" {
		return server.ConfluxConfig{}, fmt.Errorf("--conflux-url needs a token: --conflux-token-file or %s", envConfluxToken)
	}
	return server.ConfluxConfig{URL: strings.TrimSuffix(c.url, "/"), Token: token, Timeout: c.timeout}, nil
}
