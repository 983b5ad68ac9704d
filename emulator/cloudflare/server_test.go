package cloudflare_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// rawCall performs a request with an optional bearer token and decodes the
// envelope, so tests can check headers and shapes the client hides.
func rawCall(t *testing.T, method, url, tok string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: status %d body is not JSON: %v", method, url, resp.StatusCode, err)
	}
	return resp, env
}

func TestZones(t *testing.T) {
	e := newEnv(t, emu.Config{})
	for i := range 120 {
		e.emu.AddZone(acct, fmt.Sprintf("z%03d.test", i))
	}
	e.emu.AddZone("other-acct", "hidden.test")

	id, err := e.api.ZoneIDByName("Example.com")
	if err != nil || id != e.zone {
		t.Fatalf("ZoneIDByName = %q, %v; want %q", id, err, e.zone)
	}
	if _, err := e.api.ZoneIDByName("missing.test"); err == nil {
		t.Fatal("missing zone should fail")
	}
	if _, err := e.api.ZoneIDByName("hidden.test"); err == nil {
		t.Fatal("out-of-scope zone should be invisible")
	}
	// ListZonesContext fetches pages 2..N in parallel and insists on exactly
	// 50 per full page.
	res, err := e.api.ListZonesContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Result) != 121 || res.Total != 121 {
		t.Fatalf("ListZonesContext got %d (total %d), want 121", len(res.Result), res.Total)
	}
	zs, err := e.api.ListZones(ctx(t), "z007.test", "z008.test")
	if err != nil || len(zs) != 2 {
		t.Fatalf("ListZones: %v %d", err, len(zs))
	}
	z, err := e.api.ZoneDetails(ctx(t), e.zone)
	if err != nil || z.Name != "example.com" || z.Account.ID != acct || z.CreatedOn.IsZero() {
		t.Fatalf("ZoneDetails: %v %+v", err, z)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, emu.Config{Tokens: map[string]emu.TokenScope{
		testToken: {Accounts: []string{acct}},
		"narrow":  {Accounts: []string{"elsewhere"}},
	}})
	c := ctx(t)
	tests := []struct {
		name   string
		tok    string
		call   func(api *cf.API) error
		status int
		target any
	}{
		{"bad token", "nope", func(api *cf.API) error {
			_, _, err := api.ListTunnels(c, cf.AccountIdentifier(acct), cf.TunnelListParams{})
			return err
		}, 401, new(*cf.AuthorizationError)},
		{"tunnel out of scope", "narrow", func(api *cf.API) error {
			_, _, err := api.ListTunnels(c, cf.AccountIdentifier(acct), cf.TunnelListParams{})
			return err
		}, 403, new(*cf.AuthenticationError)},
		{"zone out of scope", "narrow", func(api *cf.API) error {
			_, _, err := api.ListDNSRecords(c, cf.ZoneIdentifier(e.zone), cf.ListDNSRecordsParams{})
			return err
		}, 403, new(*cf.AuthenticationError)},
		{"in scope", testToken, func(api *cf.API) error {
			_, _, err := api.ListDNSRecords(c, cf.ZoneIdentifier(e.zone), cf.ListDNSRecordsParams{})
			return err
		}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(e.client(t, tc.tok))
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantAPIError(t, err, tc.status, 10000)
			if !errors.As(err, tc.target) {
				t.Fatalf("error %T does not match %T", err, tc.target)
			}
		})
	}
	resp, env := rawCall(t, "GET", e.srv.URL+"/client/v4/zones", "", nil)
	if resp.StatusCode != 401 || env["success"] != false {
		t.Fatalf("missing token: %d %v", resp.StatusCode, env)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, emu.Config{RateLimit: &emu.RateLimit{Requests: 3, Window: time.Minute}, Clock: clock})
	url := e.srv.URL + "/client/v4/zones"
	for i := range 3 {
		if resp, _ := rawCall(t, "GET", url, testToken, nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	resp, env := rawCall(t, "GET", url, testToken, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "40" {
		t.Fatalf("want 429 Retry-After 40, got %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if errs := env["errors"].([]any); errs[0].(map[string]any)["code"].(float64) != 971 {
		t.Fatalf("429 body: %v", env)
	}
	// The client retries 429 and then reports a plain error.
	if _, err := e.api.ZoneIDByName("example.com"); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("client error = %v", err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := e.api.ZoneIDByName("example.com"); err != nil {
		t.Fatalf("new window should allow requests: %v", err)
	}
}

func TestFaultsAndIntrospection(t *testing.T) {
	e := newEnv(t, emu.Config{})
	c := ctx(t)
	rc := cf.ZoneIdentifier(e.zone)

	// Via HTTP, no token needed: two 503s on DNS list, then normal service.
	resp, _ := rawCall(t, "POST", e.srv.URL+"/__emulator/faults", "",
		map[string]any{"method": "GET", "path": "/zones/" + e.zone + "/dns_records", "status": 503, "count": 2, "delay": "1ms", "retry_after": 7})
	if resp.StatusCode != 200 {
		t.Fatalf("add fault: %d", resp.StatusCode)
	}
	for range 2 {
		if _, _, err := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{}); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("want injected 503, got %v", err)
		}
	}
	if _, _, err := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{}); err != nil {
		t.Fatalf("fault should be exhausted: %v", err)
	}

	// Via Go: an unlimited 409 on tunnel creation until cleared.
	e.emu.AddFault(emu.Fault{Method: "POST", PathPrefix: "/accounts/" + acct + "/cfd_tunnel", Status: 409})
	_, err := e.api.CreateTunnel(c, cf.AccountIdentifier(acct), cf.TunnelCreateParams{Name: "x", Secret: secret(t)})
	wantAPIError(t, err, 409, 0)
	if resp, _ := rawCall(t, "DELETE", e.srv.URL+"/__emulator/faults", "", nil); resp.StatusCode != 200 {
		t.Fatal("clear faults")
	}
	if _, err := e.api.CreateTunnel(c, cf.AccountIdentifier(acct), cf.TunnelCreateParams{Name: "x", Secret: secret(t)}); err != nil {
		t.Fatalf("after clear: %v", err)
	}

	_, env := rawCall(t, "GET", e.srv.URL+"/__emulator/requests", "", nil)
	counts := env["result"].(map[string]any)
	if counts["GET /zones/{zone}/dns_records"].(float64) != 3 || counts["POST /accounts/{account}/cfd_tunnel"].(float64) != 2 {
		t.Fatalf("counts: %v", counts)
	}
	e.emu.Reset()
	if len(e.emu.Requests()) != 0 {
		t.Fatal("Reset should clear counts")
	}
}

func TestEnvelopeAndUnknownRoutes(t *testing.T) {
	e := newEnv(t, emu.Config{})
	tests := []struct {
		name, method, path string
		status             int
		codes              []float64
	}{
		{"unknown route", "GET", "/client/v4/nothing/here", 404, []float64{7003, 7000}},
		{"wrong method", "PUT", "/client/v4/zones/" + e.zone + "/dns_records", 404, []float64{7003, 7000}},
		{"malformed zone id", "GET", "/client/v4/zones/not-an-id/dns_records", 400, []float64{7003, 7000}},
		{"unknown zone id", "GET", "/client/v4/zones/0123456789abcdef0123456789abcdef/dns_records", 404, []float64{7003, 7000}},
		{"success", "GET", "/client/v4/zones", 200, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, env := rawCall(t, tc.method, e.srv.URL+tc.path, testToken, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			errs, ok1 := env["errors"].([]any)
			_, ok2 := env["messages"].([]any)
			if !ok1 || !ok2 {
				t.Fatalf("errors/messages must be arrays: %v", env)
			}
			if len(errs) != len(tc.codes) {
				t.Fatalf("errors = %v", errs)
			}
			for i, c := range tc.codes {
				if errs[i].(map[string]any)["code"].(float64) != c {
					t.Fatalf("errors = %v", errs)
				}
			}
			if tc.status == 200 {
				if _, ok := env["result_info"].(map[string]any); !ok {
					t.Fatalf("list lacks result_info: %v", env)
				}
			}
		})
	}
}

func TestFaultVariants(t *testing.T) {
	e := newEnv(t, emu.Config{})
	url := e.srv.URL + "/client/v4/zones"
	tests := []struct {
		name       string
		fault      emu.Fault
		wantStatus int
		wantRetry  string
		minDelay   time.Duration
	}{
		{"probability 1 always fires", emu.Fault{PathPrefix: "/zones", Status: 500, Probability: 1}, 500, "", 0},
		{"429 with Retry-After", emu.Fault{Method: "GET", PathPrefix: "/zones", Status: 429, Count: 1, RetryAfter: 9}, 429, "9", 0},
		{"delay only then normal service", emu.Fault{PathPrefix: "/zones", Delay: 30 * time.Millisecond, Count: 1}, 200, "", 30 * time.Millisecond},
		{"other method does not match", emu.Fault{Method: "POST", PathPrefix: "/zones", Status: 500}, 200, "", 0},
		{"other prefix does not match", emu.Fault{PathPrefix: "/accounts", Status: 500}, 200, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.emu.ClearFaults()
			e.emu.AddFault(tc.fault)
			start := time.Now()
			resp, env := rawCall(t, "GET", url, testToken, nil)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Retry-After") != tc.wantRetry {
				t.Fatalf("got %d Retry-After %q: %v", resp.StatusCode, resp.Header.Get("Retry-After"), env)
			}
			if time.Since(start) < tc.minDelay {
				t.Fatalf("delay not applied")
			}
		})
	}
}

func TestTunnelConfigRawDurations(t *testing.T) {
	e := newEnv(t, emu.Config{})
	tun, err := e.api.CreateTunnel(ctx(t), cf.AccountIdentifier(acct), cf.TunnelCreateParams{Name: "d", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	url := e.srv.URL + "/client/v4/accounts/" + acct + "/cfd_tunnel/" + tun.ID + "/configurations"
	for _, v := range []any{"30s", 1.5, json.Number("30.0")} {
		body := map[string]any{"config": map[string]any{
			"originRequest": map[string]any{"connectTimeout": v},
			"ingress":       []any{map[string]any{"service": "http_status:404"}},
		}}
		if resp, env := rawCall(t, "PUT", url, testToken, body); resp.StatusCode != 400 {
			t.Fatalf("connectTimeout %v: status %d %v", v, resp.StatusCode, env)
		}
	}
	body := map[string]any{"config": map[string]any{
		"originRequest": map[string]any{"connectTimeout": 30},
		"ingress":       []any{map[string]any{"service": "http_status:404"}},
	}}
	resp, env := rawCall(t, "PUT", url, testToken, body)
	if resp.StatusCode != 200 {
		t.Fatalf("integer duration rejected: %v", env)
	}
	got := env["result"].(map[string]any)["config"].(map[string]any)["originRequest"].(map[string]any)["connectTimeout"]
	if got != float64(30) {
		t.Fatalf("connectTimeout echoed as %v", got)
	}
}
