package cloudflare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// durationFields are the originRequest keys cloudflare-go decodes with
// strconv.ParseInt, so only integer seconds can round-trip.
var durationFields = []string{"connectTimeout", "tlsTimeout", "tcpKeepAlive", "keepAliveTimeout"}

// ingressRule and tunnelConfigBody decode a configuration as cloudflared
// does (config.UnvalidatedIngressRule, ingress.RemoteConfigJSON): a value
// of the wrong JSON type — a negative proxyPort, a string for a bool —
// fails the whole configuration.
type ingressRule struct {
	Hostname      string         `json:"hostname"`
	Path          string         `json:"path"`
	Service       string         `json:"service"`
	OriginRequest *originRequest `json:"originRequest"`
}

type tunnelConfigBody struct {
	Ingress       []ingressRule  `json:"ingress"`
	OriginRequest *originRequest `json:"originRequest"`
}

// originRequest has cloudflared's Go types for every field it decodes
// (config.OriginRequestConfig); durations are checked by checkDurations.
type originRequest struct {
	ConnectTimeout         json.Number   `json:"connectTimeout"`
	TLSTimeout             json.Number   `json:"tlsTimeout"`
	TCPKeepAlive           json.Number   `json:"tcpKeepAlive"`
	NoHappyEyeballs        *bool         `json:"noHappyEyeballs"`
	KeepAliveConnections   *int          `json:"keepAliveConnections"`
	KeepAliveTimeout       json.Number   `json:"keepAliveTimeout"`
	HTTPHostHeader         *string       `json:"httpHostHeader"`
	OriginServerName       *string       `json:"originServerName"`
	MatchSNIToHost         *bool         `json:"matchSNItoHost"`
	CAPool                 *string       `json:"caPool"`
	NoTLSVerify            *bool         `json:"noTLSVerify"`
	DisableChunkedEncoding *bool         `json:"disableChunkedEncoding"`
	BastionMode            *bool         `json:"bastionMode"`
	ProxyAddress           *string       `json:"proxyAddress"`
	ProxyPort              *uint         `json:"proxyPort"`
	ProxyType              *string       `json:"proxyType"`
	IPRules                []ipRule      `json:"ipRules"`
	HTTP2Origin            *bool         `json:"http2Origin"`
	Access                 *accessConfig `json:"access"`
}

type ipRule struct {
	Prefix *string `json:"prefix"`
	Ports  []int   `json:"ports"`
	Allow  bool    `json:"allow"`
}

type accessConfig struct {
	Required    bool     `json:"required"`
	TeamName    string   `json:"teamName"`
	AudTag      []string `json:"audTag"`
	Environment string   `json:"environment"`
}

func (o *originRequest) durations() map[string]json.Number {
	if o == nil {
		return nil
	}
	return map[string]json.Number{
		"connectTimeout": o.ConnectTimeout, "tlsTimeout": o.TLSTimeout,
		"tcpKeepAlive": o.TCPKeepAlive, "keepAliveTimeout": o.KeepAliveTimeout,
	}
}

func badConfig(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, 1056, "Bad Configuration: Validation failed: "+msg+"\n")
}

func (s *Server) getTunnelConfig(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return tunnels.update(s, w, r, scope, func(_ *account, t *tunnel) (any, *apiError) { return configResult(t), nil })
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
	return tunnels.update(s, w, r, scope, func(_ *account, t *tunnel) (any, *apiError) {
		t.setConfig(stored)
		return configResult(t), nil
	})
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
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, badConfig(err.Error())
		}
		return nil, badBody(err)
	}
	if aerr := checkDurations(cfg.OriginRequest.durations(), "originRequest"); aerr != nil {
		return nil, aerr
	}
	for i, rule := range cfg.Ingress {
		if aerr := checkDurations(rule.OriginRequest.durations(), fmt.Sprintf("ingress[%d].originRequest", i)); aerr != nil {
			return nil, aerr
		}
	}
	if msg := validateIngress(cfg.Ingress, cfg.OriginRequest); msg != "" {
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
func checkDurations(or map[string]json.Number, where string) *apiError {
	for _, k := range durationFields {
		n := or[k]
		if n == "" {
			continue
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return newAPIError(http.StatusBadRequest, 1001, fmt.Sprintf("%s.%s must be an integer number of seconds, got %s", where, k, n))
		}
	}
	return nil
}

// validateIngress applies cloudflared's validateIngress (ingress/ingress.go)
// to the rules, with top as the top-level originRequest, and returns its
// message, or "" when the rules are valid. Per rule it checks, in
// cloudflared's order, the service, the rule's own Access check, the
// hostname and the path.
func validateIngress(rules []ingressRule, top *originRequest) string {
	if len(rules) == 0 {
		return "The config file doesn't contain any ingress rules"
	}
	for i, r := range rules {
		if msg := validateService(r, top); msg != "" {
			return msg
		}
		if a := r.OriginRequest.access(); a != nil && a.Required && a.TeamName == "" && len(a.AudTag) > 0 {
			return "access.TeamName cannot be blank when access.audTags are present"
		}
		if msg := validateHostname(r, i, len(rules)); msg != "" {
			return msg
		}
		if r.Path != "" {
			if _, err := regexp.Compile(r.Path); err != nil {
				return fmt.Sprintf("Rule #%d has an invalid regex: %v", i+1, err)
			}
		}
	}
	return ""
}

func (o *originRequest) access() *accessConfig {
	if o == nil {
		return nil
	}
	return o.Access
}

// bastionMode is the rule's effective bastionMode: its own, else the
// top-level one (cloudflared's setConfig).
func bastionMode(rule, top *originRequest) bool {
	for _, o := range []*originRequest{rule, top} {
		if o != nil && o.BastionMode != nil {
			return *o.BastionMode
		}
	}
	return false
}

// validateHostname: no port (as net.SplitHostPort finds one, so "::1" has
// none), "*" only first, and the catch-all last and only last.
func validateHostname(r ingressRule, i, n int) string {
	if _, _, err := net.SplitHostPort(r.Hostname); err == nil {
		return "Hostname cannot contain a port"
	}
	if strings.LastIndex(r.Hostname, "*") > 0 {
		return `Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"`
	}
	catchAll := (r.Hostname == "" || r.Hostname == "*") && r.Path == ""
	if i == n-1 && !catchAll {
		return "The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)"
	}
	if i < n-1 && catchAll {
		return fmt.Sprintf("Rule #%d is matching the hostname '%s', but this will match every hostname, meaning the rules which follow it will never be triggered.", i+1, r.Hostname)
	}
	return ""
}

// validateService parses a rule's service as cloudflared does: the named
// services first, then bastion (by name or by the effective bastionMode,
// which makes any other service irrelevant), then a URL with a scheme and
// a host name and no path.
func validateService(r ingressRule, top *originRequest) string {
	svc := r.Service
	switch {
	case strings.HasPrefix(svc, "unix:"), strings.HasPrefix(svc, "unix+tls:"):
		return "" // cloudflared does not look at the socket path
	case strings.HasPrefix(svc, "http_status:"):
		code, err := strconv.Atoi(strings.TrimPrefix(svc, "http_status:"))
		if err != nil {
			return "invalid HTTP status code: " + err.Error()
		}
		if code < 100 || code > 999 {
			return "invalid HTTP status code: " + strconv.Itoa(code)
		}
		return ""
	case svc == "hello_world", svc == "hello-world":
		return ""
	case svc == "socks-proxy":
		// Only this service's own ipRules are parsed strictly; anywhere
		// else cloudflared drops a bad one.
		if r.OriginRequest == nil {
			return ""
		}
		for _, ip := range r.OriginRequest.IPRules {
			if msg := checkIPRule(ip); msg != "" {
				return "unable to create ip rule for socks-proxy: " + msg
			}
		}
		return ""
	case svc == "bastion", bastionMode(r.OriginRequest, top):
		return ""
	}
	u, err := url.Parse(svc)
	if err != nil {
		return err.Error()
	}
	if u.Scheme == "" || u.Hostname() == "" {
		return svc + " is an invalid address, please make sure it has a scheme and a hostname"
	}
	if u.Path != "" {
		return svc + " is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path"
	}
	return ""
}

// checkIPRule is cloudflared's ipaccess.NewRuleByCIDR.
func checkIPRule(r ipRule) string {
	if r.Prefix == nil || *r.Prefix == "" {
		return "no prefix provided"
	}
	if _, _, err := net.ParseCIDR(*r.Prefix); err != nil {
		return "unable to parse cidr: " + *r.Prefix
	}
	for _, p := range r.Ports {
		if p < 1 || p > 65535 {
			return fmt.Sprintf("invalid port %d, needs to be between 1 and 65535", p)
		}
	}
	return ""
}
