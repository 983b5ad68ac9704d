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
		var err error
		if token, err = c.readTokenFile(); err != nil {
			return server.ConfluxConfig{}, err
		}
	}
	if token == "" {
		return server.ConfluxConfig{}, fmt.Errorf("--conflux-url needs a token: --conflux-token-file or %s", envConfluxToken)
	}
	return server.ConfluxConfig{URL: strings.TrimSuffix(c.url, "/"), Token: token, Timeout: c.timeout}, nil
}

// readTokenFile reads --conflux-token-file: at start, and again when the
// server reloads it. The file holds the token alone (white space around it
// is dropped); anything else is refused naming the line, never the token.
func (c *confluxFlags) readTokenFile() (string, error) {
	raw, err := os.ReadFile(c.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--conflux-token-file: %w", err)
	}
	token := ""
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case token != "":
			return "", fmt.Errorf("--conflux-token-file %s line %d: the file holds more than one line; it must hold the token alone", c.tokenFile, n+1)
		case strings.ContainsAny(line, " \t"):
			return "", fmt.Errorf("--conflux-token-file %s line %d: a token holds no white space", c.tokenFile, n+1)
		default:
			token = line
		}
	}
	if token == "" {
		return "", fmt.Errorf("--conflux-token-file %s is empty", c.tokenFile)
	}
	return token, nil
}
