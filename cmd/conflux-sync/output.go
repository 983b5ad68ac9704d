package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// client builds the API client from the global flags.
func (g *globalOptions) client() (*api.Client, error) {
	token := g.token
	if token == "" && g.tokenFile != "" {
		raw, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-path: %w", err)
		}
		token = strings.TrimSpace(string(raw))
	}
	httpClient := &http.Client{Timeout: 60 * time.Second}
	if g.caFile != "" {
		pem, err := os.ReadFile(g.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", g.caFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		httpClient.Transport = tr
	}
	c, err := api.NewClient(g.addr, api.WithToken(token), api.WithHTTPClient(httpClient))
	if err != nil {
		return nil, usageError{err}
	}
	switch g.consistency {
	case "", "default":
	case "stale", "consistent":
		c.Consistency = api.Consistency(g.consistency)
	default:
		return nil, usageError{fmt.Errorf("--consistency must be stale, default or consistent, not %q", g.consistency)}
	}
	return c, nil
}

// print writes v as JSON, or calls table to write rows.
func (g *globalOptions) print(w io.Writer, v any, table func(tw *tabwriter.Writer)) error {
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
