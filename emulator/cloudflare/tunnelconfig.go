package cloudflare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// durationFields are the originRequest keys cloudflare-go decodes with
// strconv.ParseInt, so only integer seconds can round-trip.
var durationFields = []string{"connectTimeout", "tlsTimeout", "tcpKeepAlive", "keepAliveTimeout"}

type ingressRule struct {
	Hostname      string         `json:"hostname"`
	Path          string         `json:"path"`
	Service       string         `json:"service"`
	OriginRequest map[string]any `json:"originRequest"`
}

type tunnelConfigBody struct {
	Ingress       []ingressRule  `json:"ingress"`
	OriginRequest map[string]any `json:"originRequest"`
}

func badConfig(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, 1056, "Bad Configuration: Validation failed: "+msg+"\n")
}

func (s *Server) getTunnelConfig(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.tunnelFor(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, configResult(t), nil)
	return nil
}

func configResult(t *tunnel) map[string]any {
	// Before the first PUT the config is JSON null with version 0, which
	// cloudflare-go decodes as an empty configuration.
	var cfg any
	if t.config != nil {
		cfg = t.config
	}
	return map[string]any{
		"account_id": t.account, "tunnel_id": t.id, "version": t.configVersion,
		"source": t.configSrc, "created_at": t.created, "config": cfg,
	}
}

// putTunnelConfig validates and stores the whole configuration, echoing
// unknown keys such as warp-routing back unchanged.
func (s *Server) putTunnelConfig(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var body struct {
		Config json.RawMessage `json:"config"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return aerr
	}
	stored, aerr := checkTunnelConfig(body.Config)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, aerr := s.tunnelFor(r, scope)
	if aerr != nil {
		return aerr
	}
	t.setConfig(stored)
	writeResult(w, http.StatusOK, configResult(t), nil)
	return nil
}

// setConfig replaces the configuration; every write bumps the version,
// identical or not. A locally managed tunnel (config_src "local") becomes
// remotely managed with its first remote configuration, as the API's
// migration to remote management does.
func (t *tunnel) setConfig(stored json.RawMessage) {
	t.configVersion++
	t.config = stored
	t.configSrc = "cloudflare"
}

// checkTunnelConfig validates a configuration object as the API does and
// returns it compacted for storage.
func checkTunnelConfig(raw json.RawMessage) (json.RawMessage, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badConfig("The config file doesn't contain any ingress rules")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var cfg tunnelConfigBody
	if err := dec.Decode(&cfg); err != nil {
		return nil, badBody(err)
	}
	if aerr := checkDurations(cfg.OriginRequest, "originRequest"); aerr != nil {
		return nil, aerr
	}
	for i, rule := range cfg.Ingress {
		if aerr := checkDurations(rule.OriginRequest, fmt.Sprintf("ingress[%d].originRequest", i)); aerr != nil {
			return nil, aerr
		}
	}
	if msg := validateIngress(cfg.Ingress); msg != "" {
		return nil, badConfig(msg)
	}
	// Re-encode compactly; json.Number keeps integers as written.
	var stored bytes.Buffer
	if err := json.Compact(&stored, raw); err != nil {
		return nil, badBody(err)
	}
	return stored.Bytes(), nil
}

// checkDurations rejects non-integer duration values: the client cannot
// parse them back, so the emulator refuses them up front.
func checkDurations(or map[string]any, where string) *apiError {
	for _, k := range durationFields {
		v, ok := or[k]
		if !ok || v == nil {
			continue
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return newAPIError(http.StatusBadRequest, 1001, fmt.Sprintf("%s.%s must be an integer number of seconds", where, k))
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return newAPIError(http.StatusBadRequest, 1001, fmt.Sprintf("%s.%s must be an integer number of seconds, got %s", where, k, n))
		}
	}
	return nil
}

// validateIngress applies cloudflared's ingress rules and returns its
// message, or "" when the rules are valid.
func validateIngress(rules []ingressRule) string {
	if len(rules) == 0 {
		return "The config file doesn't contain any ingress rules"
	}
	last := len(rules) - 1
	for i, r := range rules {
		n := i + 1
		if strings.Contains(r.Hostname, ":") {
			return "Hostname cannot contain a port"
		}
		if strings.LastIndex(r.Hostname, "*") > 0 {
			return `Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"`
		}
		catchAll := (r.Hostname == "" || r.Hostname == "*") && r.Path == ""
		if i == last && !catchAll {
			return "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)"
		}
		if i < last && catchAll {
			return fmt.Sprintf("Rule #%d is matching the hostname '%s', but this will match every hostname, meaning the rules which follow it will never be triggered.", n, r.Hostname)
		}
		if msg := validateService(r.Service); msg != "" {
			return msg
		}
		if r.Path != "" {
			if _, err := regexp.Compile(r.Path); err != nil {
				return fmt.Sprintf("Rule #%d has an invalid regex: %v", n, err)
			}
		}
		if acc, ok := r.OriginRequest["access"].(map[string]any); ok {
			tags, _ := acc["audTag"].([]any)
			team, _ := acc["teamName"].(string)
			if len(tags) > 0 && team == "" {
				return "access.TeamName cannot be blank when access.audTags are present"
			}
		}
	}
	return ""
}

func validateService(svc string) string {
	switch {
	case svc == "":
		return "Ingress rule is missing a service"
	case svc == "hello_world", svc == "bastion", svc == "socks5":
		return ""
	case strings.HasPrefix(svc, "unix:"), strings.HasPrefix(svc, "unix+tls:"):
		return ""
	case strings.HasPrefix(svc, "http_status:"):
		code, err := strconv.Atoi(strings.TrimPrefix(svc, "http_status:"))
		if err != nil {
			return "invalid HTTP status code: " + strings.TrimPrefix(svc, "http_status:")
		}
		if code < 100 || code > 999 {
			return "invalid HTTP status code: " + strconv.Itoa(code)
		}
		return ""
	}
	u, err := url.Parse(svc)
	if err != nil {
		return err.Error()
	}
	if u.Scheme == "" || u.Host == "" {
		return svc + " is an invalid address, please make sure it has a scheme and a hostname"
	}
	if u.Path != "" {
		return svc + " is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path"
	}
	return ""
}
