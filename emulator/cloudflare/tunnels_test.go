package cloudflare_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func TestTunnelLifecycle(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	sec := secret(t)

	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "blog", Secret: sec, ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if tun.ID == "" || tun.Name != "blog" || tun.CreatedAt == nil || tun.DeletedAt != nil || !tun.RemoteConfig {
		t.Fatalf("unexpected tunnel %+v", tun)
	}

	_, err = e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "blog", Secret: sec})
	wantAPIError(t, err, 409, 1013)
	var re *cf.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("409 should map to RequestError, got %T", err)
	}
	_, err = e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "short", Secret: base64.StdEncoding.EncodeToString([]byte("short"))})
	wantAPIError(t, err, 400, 0)

	got, err := e.api.GetTunnel(c, rc, tun.ID)
	if err != nil || got.ID != tun.ID {
		t.Fatalf("get: %v %+v", err, got)
	}

	tok, err := e.api.GetTunnelToken(c, rc, tun.ID)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token not base64: %v", err)
	}
	var tk struct{ A, T, S string }
	if err := json.Unmarshal(raw, &tk); err != nil || tk.A != acct || tk.T != tun.ID || tk.S != sec {
		t.Fatalf("token payload %s: %v", raw, err)
	}

	if err := e.api.DeleteTunnel(c, rc, tun.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	got, err = e.api.GetTunnel(c, rc, tun.ID)
	if err != nil || got.DeletedAt == nil {
		t.Fatalf("deleted tunnel should be readable with deleted_at: %v %+v", err, got)
	}
	// The name is free again once the tunnel is deleted.
	if _, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "blog", Secret: sec}); err != nil {
		t.Fatalf("recreate: %v", err)
	}

	_, err = e.api.GetTunnel(c, rc, "00000000-0000-4000-8000-000000000000")
	var nf *cf.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError, got %T %v", err, err)
	}
}

func TestListTunnels(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	sec := secret(t)
	var ids []string
	for i := range 130 {
		tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: fmt.Sprintf("t%03d", i), Secret: sec})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		ids = append(ids, tun.ID)
	}
	for _, id := range ids[:5] {
		if err := e.api.DeleteTunnel(c, rc, id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		params cf.TunnelListParams
		want   int
	}{
		{"default active only, auto-paginated", cf.TunnelListParams{}, 125},
		{"is_deleted=false", cf.TunnelListParams{IsDeleted: ptr(false)}, 125},
		{"is_deleted=true", cf.TunnelListParams{IsDeleted: ptr(true)}, 5},
		{"name exact", cf.TunnelListParams{Name: "t100"}, 1},
		{"name of deleted tunnel", cf.TunnelListParams{Name: "t000"}, 0},
		{"uuid", cf.TunnelListParams{UUID: ids[50]}, 1},
		{"include_prefix", cf.TunnelListParams{IncludePrefix: "t12"}, 10},
		{"exclude_prefix", cf.TunnelListParams{ExcludePrefix: "t1"}, 100 - 5},
		{"explicit page 2 of 50", cf.TunnelListParams{ResultInfo: cf.ResultInfo{Page: 2, PerPage: 50}}, 50},
		{"explicit page 3 of 50", cf.TunnelListParams{ResultInfo: cf.ResultInfo{Page: 3, PerPage: 50}}, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := e.api.ListTunnels(c, rc, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d tunnels, want %d", len(got), tc.want)
			}
		})
	}
}

func TestTunnelConfiguration(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "cfg", Secret: secret(t), ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.api.GetTunnelConfiguration(c, rc, tun.ID)
	if err != nil || res.Version != 0 {
		t.Fatalf("initial config: %v %+v", err, res)
	}

	good := cf.TunnelConfiguration{
		Ingress: []cf.UnvalidatedIngressRule{
			{Hostname: "app.example.com", Path: "^/api", Service: "http://localhost:8080",
				OriginRequest: &cf.OriginRequestConfig{ConnectTimeout: &cf.TunnelDuration{Duration: 30 * time.Second}, NoTLSVerify: ptr(true)}},
			{Hostname: "*.example.com", Service: "https://localhost:8443"},
			{Service: "http_status:404"},
		},
		WarpRouting: &cf.WarpRoutingConfig{Enabled: true},
	}
	for v := 1; v <= 2; v++ {
		res, err = e.api.UpdateTunnelConfiguration(c, rc, cf.TunnelConfigurationParams{TunnelID: tun.ID, Config: good})
		if err != nil {
			t.Fatalf("put %d: %v", v, err)
		}
		if res.Version != v {
			t.Fatalf("version = %d, want %d", res.Version, v)
		}
	}
	res, err = e.api.GetTunnelConfiguration(c, rc, tun.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || res.TunnelID != tun.ID || len(res.Config.Ingress) != 3 ||
		res.Config.WarpRouting == nil || !res.Config.WarpRouting.Enabled ||
		res.Config.Ingress[0].OriginRequest == nil || res.Config.Ingress[0].OriginRequest.ConnectTimeout.Duration != 30*time.Second {
		t.Fatalf("config not echoed: %+v", res)
	}

	catchAll := cf.UnvalidatedIngressRule{Service: "http_status:404"}
	bad := []struct {
		name  string
		rules []cf.UnvalidatedIngressRule
		msg   string
	}{
		{"no rules", nil, "doesn't contain any ingress rules"},
		{"last not catch-all", []cf.UnvalidatedIngressRule{{Hostname: "a.example.com", Service: "http://x:1"}}, "The last ingress rule must match all URLs"},
		{"catch-all not last", []cf.UnvalidatedIngressRule{{Hostname: "*", Service: "http://x:1"}, catchAll}, "Rule #1 is matching the hostname '*'"},
		{"wildcard in middle", []cf.UnvalidatedIngressRule{{Hostname: "a.*.example.com", Service: "http://x:1"}, catchAll}, "at most one wildcard"},
		{"port in hostname", []cf.UnvalidatedIngressRule{{Hostname: "a.example.com:8080", Service: "http://x:1"}, catchAll}, "Hostname cannot contain a port"},
		{"bad regex", []cf.UnvalidatedIngressRule{{Hostname: "a.example.com", Path: "*", Service: "http://x:1"}, catchAll}, "Rule #1 has an invalid regex"},
		{"service without scheme", []cf.UnvalidatedIngressRule{{Service: "localhost"}}, "please make sure it has a scheme and a hostname"},
		{"service with path", []cf.UnvalidatedIngressRule{{Service: "http://localhost:80/app"}}, "don't support proxying to a different path"},
		{"bad http_status", []cf.UnvalidatedIngressRule{{Service: "http_status:42"}}, "invalid HTTP status code: 42"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.api.UpdateTunnelConfiguration(c, rc, cf.TunnelConfigurationParams{TunnelID: tun.ID,
				Config: cf.TunnelConfiguration{Ingress: tc.rules}})
			wantAPIError(t, err, 400, 1056)
			var ce *cf.Error
			errors.As(err, &ce)
			if !strings.HasPrefix(ce.ErrorMessages[0], "Bad Configuration: Validation failed: ") || !strings.Contains(ce.ErrorMessages[0], tc.msg) {
				t.Fatalf("message %q lacks %q", ce.ErrorMessages[0], tc.msg)
			}
		})
	}

	t.Run("sub-second duration rejected", func(t *testing.T) {
		cfg := cf.TunnelConfiguration{Ingress: []cf.UnvalidatedIngressRule{{Service: "http://x:1",
			OriginRequest: &cf.OriginRequestConfig{TLSTimeout: &cf.TunnelDuration{Duration: 1500 * time.Millisecond}}}}}
		_, err := e.api.UpdateTunnelConfiguration(c, rc, cf.TunnelConfigurationParams{TunnelID: tun.ID, Config: cfg})
		wantAPIError(t, err, 400, 0)
	})
	res, _ = e.api.GetTunnelConfiguration(c, rc, tun.ID)
	if res.Version != 2 {
		t.Fatalf("failed PUTs must not bump version, got %d", res.Version)
	}
}
