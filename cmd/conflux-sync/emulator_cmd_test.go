package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// `conflux-sync emulator cloudflare` serves the emulator to the real
// cloudflare-go client and stops cleanly on SIGINT.
func TestE2ECloudflareEmulatorCommand(t *testing.T) {
	needBinary(t)
	addr := testutil.Addr(testutil.FreePort(t))
	emu := startBackground(t, "emulator", "cloudflare", "--addr", addr, "--zone", "example.com", "--zone", "example.org")
	emu.waitOutput(t, 20*time.Second, "Press Ctrl-C")
	m := regexp.MustCompile(`API token: (\S+)`).FindStringSubmatch(emu.stdout.String())
	if m == nil {
		t.Fatalf("no token in the output:\n%s", emu.stdout.String())
	}

	api, err := cloudflare.NewWithAPIToken(m[1], cloudflare.BaseURL("http://"+addr+"/client/v4"),
		cloudflare.UsingRateLimit(1000), cloudflare.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, z := range []string{"example.com", "example.org"} {
		if _, err := api.ZoneIDByName(z); err != nil {
			t.Errorf("zone %s: %v", z, err)
		}
	}
	bad, _ := cloudflare.NewWithAPIToken("wrong", cloudflare.BaseURL("http://"+addr+"/client/v4"), cloudflare.UsingRetryPolicy(0, 0, 0))
	var authErr *cloudflare.AuthorizationError
	if _, err := bad.ListZonesContext(ctx); !errors.As(err, &authErr) {
		t.Errorf("wrong token: got %v, want an authorization error", err)
	}

	emu.interrupt(t, 10*time.Second)
}

// `conflux-sync emulator conflux` serves the reference Conflux API: a config
// is created, a version published with the policy pointing at it, and
// resolved; a wrong token is refused; SIGINT stops it cleanly.
func TestE2EConfluxEmulatorCommand(t *testing.T) {
	needBinary(t)
	addr := testutil.Addr(testutil.FreePort(t))
	emu := startBackground(t, "emulator", "conflux", "--addr", addr, "--data", filepath.Join(t.TempDir(), "conflux.db"))
	emu.waitOutput(t, 20*time.Second, "Press Ctrl-C")
	m := regexp.MustCompile(`API token: (\S+)`).FindStringSubmatch(emu.stdout.String())
	if m == nil {
		t.Fatalf("no token in the output:\n%s", emu.stdout.String())
	}
	call := func(method, path, token, body string, header ...string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, cfg := call(http.MethodPost, "/v1/configs", m[1], `{"tenant":"acme","application":"shop","environment":"prod","name":"db.json","format":"json"}`)
	if code != http.StatusCreated {
		t.Fatalf("create config: HTTP %d %v", code, cfg)
	}
	code, ver := call(http.MethodPost, "/v1/configs/"+cfg["id"].(string)+"/versions", m[1],
		`{"content":"{\"port\":5432}","is_stable":true,"policy":{"rules":[{"priority":0,"version_id":"$new","labels":{}}]}}`,
		"Idempotency-Key", "first")
	if code != http.StatusCreated {
		t.Fatalf("publish: HTTP %d %v", code, ver)
	}
	code, got := call(http.MethodGet, "/v1/resolve?tenant=acme&application=shop&environment=prod&name=db.json", m[1], "")
	if code != http.StatusOK || got["content"] != `{"port":5432}` {
		t.Errorf("resolve: HTTP %d %v", code, got)
	}
	if code, _ := call(http.MethodGet, "/v1/configs", "wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d, want 401", code)
	}
	emu.interrupt(t, 10*time.Second)
}
