package main

import (
	"fmt"
	"maps"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// cloudflareFlags are the server's Cloudflare sink settings.
type cloudflareFlags struct {
	credentialsFile string
	apiURL          string
	perFiveMinutes  int
	timeout         time.Duration
}

func (c *cloudflareFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.credentialsFile, "cloudflare-credentials", "", "file of ACCOUNT_ID:TOKEN lines, one Cloudflare API token per account (CLOUDFLARE_API_TOKEN with CLOUDFLARE_ACCOUNT_ID adds one more)")
	f.StringVar(&c.apiURL, "cloudflare-api-url", cfapi.DefaultBaseURL, "Cloudflare API root (the emulator's /client/v4 in development)")
	f.IntVar(&c.perFiveMinutes, "cloudflare-rate-limit", 1000, "requests per 5 minutes per account (Cloudflare blocks a token for 5 minutes above 1200)")
	f.DurationVar(&c.timeout, "cloudflare-timeout", 30*time.Second, "bound on one Cloudflare API request; a timed-out write is retried like a 5xx")
}

// config loads the credentials; tokens go only into the clients.
func (c *cloudflareFlags) config(getenv func(string) string) (cfapi.Config, error) {
	creds, err := c.credentials(getenv)
	if err != nil {
		return cfapi.Config{}, err
	}
	if c.perFiveMinutes < 1 {
		return cfapi.Config{}, fmt.Errorf("--cloudflare-rate-limit must be at least 1, not %d", c.perFiveMinutes)
	}
	if c.timeout <= 0 {
		return cfapi.Config{}, fmt.Errorf("--cloudflare-timeout must be positive, not %s", c.timeout)
	}
	return cfapi.Config{
		Timeout:     c.timeout,
		Credentials: creds,
		BaseURL:     c.apiURL,
		RateLimit:   rate.Limit(float64(c.perFiveMinutes) / (5 * time.Minute).Seconds()),
	}, nil
}

// credentials reads the --cloudflare-credentials file and the environment's
// token: at start, and again when the server reloads the file.
func (c *cloudflareFlags) credentials(getenv func(string) string) (cfapi.Credentials, error) {
	creds := cfapi.Credentials{}
	if c.credentialsFile != "" {
		fromFile, err := cfapi.LoadCredentials(c.credentialsFile)
		if err != nil {
			return nil, fmt.Errorf("--cloudflare-credentials: %w", err)
		}
		maps.Copy(creds, fromFile)
	}
	fromEnv, err := cfapi.CredentialsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	for account, token := range fromEnv {
		if _, dup := creds[account]; dup {
			return nil, fmt.Errorf("account %s has a token both in --cloudflare-credentials and in %s", account, cfapi.EnvAPIToken)
		}
		creds[account] = token
	}
	return creds, nil
}
