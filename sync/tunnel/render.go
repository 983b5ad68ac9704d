package tunnel

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
)

// Rule order. cloudflared uses the first rule that matches, so the most
// specific rules go first, and the order must be total: an order that
// depends on arrival would reorder rules between runs, change the hash and
// cause a PUT (and a cloudflared reload) for nothing.
//
//  1. exact hostnames, then wildcards, then rules for any host (path only);
//  2. among wildcards, more labels first (*.a.example.com before *.example.com);
//  3. hostname, lexically;
//  4. longer path first ("^/api" before "^/" — paths are regexes, and a
//     longer one is the best cheap proxy for "more specific");
//  5. path, lexically.
//
// (hostname, path) is unique after conflict resolution, so no two rules
// compare equal.

const (
	groupExact = iota
	groupWildcard
	groupAnyHost
)

func hostGroup(host string) int {
	switch {
	case host == "":
		return groupAnyHost
	case strings.HasPrefix(host, "*."):
		return groupWildcard
	default:
		return groupExact
	}
}

func compareRules(a, b ruleKey) int {
	ga, gb := hostGroup(a.host), hostGroup(b.host)
	if c := cmp.Compare(ga, gb); c != 0 {
		return c
	}
	if ga == groupWildcard {
		if c := cmp.Compare(strings.Count(b.host, "."), strings.Count(a.host, ".")); c != 0 {
			return c
		}
	}
	return cmp.Or(
		strings.Compare(a.host, b.host),
		cmp.Compare(len(b.path), len(a.path)),
		strings.Compare(a.path, b.path),
	)
}

// render builds the configuration from ordered rules and the winning
// settings (nil when no Tunnel source gave any).
func render(claims []claim, settings *Settings) Config {
	cfg := Config{Ingress: make([]Rule, 0, len(claims)+1)}
	for _, c := range claims {
		cfg.Ingress = append(cfg.Ingress, Rule{
			Hostname:      c.key.host,
			Path:          c.key.path,
			Service:       c.rule.Service,
			OriginRequest: nonEmpty(c.rule.OriginRequest),
		})
	}
	fallback := DefaultFallback
	if settings != nil {
		if settings.FallbackTarget != "" {
			fallback = settings.FallbackTarget
		}
		if settings.WarpRouting != nil {
			cfg.WarpRouting = &WarpRouting{Enabled: *settings.WarpRouting}
		}
		if settings.OriginRequest != nil {
			cfg.OriginRequest = *settings.OriginRequest
		}
	}
	cfg.Ingress = append(cfg.Ingress, Rule{Service: fallback})
	return cfg
}

// nonEmpty drops an originRequest without fields: it means the same as
// none, and dropping it gives both spellings one hash.
func nonEmpty(o *OriginRequest) *OriginRequest {
	if o.IsZero() {
		return nil
	}
	return o
}

// encode renders canonical JSON: struct field order is fixed by the types,
// there are no maps, and HTML characters (&, <, > in paths or headers) stay
// as they are, as cloudflare-go's encoder would send them.
func encode(cfg Config) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode tunnel configuration: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Canonical re-encodes a configuration read back from the Cloudflare API
// (the "config" object of GET .../configurations) in the form Aggregate
// produces, so kind.Hash of both can be compared for drift detection.
// Unknown fields are ignored: the API may echo fields we never send.
func Canonical(raw []byte) (json.RawMessage, error) {
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decode tunnel configuration: %w", err)
	}
	for i := range cfg.Ingress {
		cfg.Ingress[i].OriginRequest = nonEmpty(cfg.Ingress[i].OriginRequest)
	}
	return encode(cfg)
}
