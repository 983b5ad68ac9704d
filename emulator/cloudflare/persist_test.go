package cloudflare_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// openEnv serves emu.Open with a state file and a token for acct; tokens
// are not persisted, so every instance gets its own.
func openEnv(t *testing.T, path string) *env {
	t.Helper()
	s, err := emu.Open(emu.Config{
		Tokens:    map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}},
		StateFile: path,
	})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return serve(t, s)
}

// seedForRestart creates, through the real client, one of everything the
// state file must carry, including a deleted tunnel, a deleted route and an
// out-of-band configuration edit. It returns the zone id.
func seedForRestart(t *testing.T, a *env) string {
	t.Helper()
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	zoneID := a.emu.AddZone(acct, "example.com")
	keep, err := a.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "keep", Secret: secret(t), ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := a.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "gone", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.TunnelConfiguration{Ingress: []cf.UnvalidatedIngressRule{
		{Hostname: "app.example.com", Path: "^/(a|b)&c<d", Service: "http://localhost:8080"},
		{Service: "http_status:404"},
	}}
	for range 2 { // version 2
		if _, err := a.api.UpdateTunnelConfiguration(c, rc, cf.TunnelConfigurationParams{TunnelID: keep.ID, Config: cfg}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []cf.CreateDNSRecordParams{
		{Type: "CNAME", Name: "app", Content: keep.ID + ".cfargotunnel.com", Proxied: ptr(true), Comment: "managed by conflux-sync"},
		{Type: "TXT", Name: "_owner.app", Content: "heritage=conflux-sync", TTL: 300},
		{Type: "A", Name: "@", Content: "192.0.2.1"},
		{Type: "SRV", Name: "_sip._tcp", Data: map[string]any{"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com"}},
	} {
		if _, err := a.api.CreateDNSRecord(c, cf.ZoneIdentifier(zoneID), p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{
		Name: "app", Domain: "app.example.com", Type: cf.SelfHosted, Policies: []string{"pol1"}, SessionDuration: "8h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: keep.ID, Comment: "lan"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "172.16.0.0/12", TunnelID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	if err := a.api.DeleteTunnelRoute(c, rc, cf.TunnelRoutesDeleteParams{Network: "172.16.0.0/12"}); err != nil {
		t.Fatal(err)
	}
	if err := a.api.DeleteTunnel(c, rc, gone.ID); err != nil {
		t.Fatal(err)
	}
	// Literal "&" and "<" (the client sends them escaped) must survive too.
	raw := json.RawMessage(`{"ingress":[{"hostname":"app.example.com","path":"^/(a|b)&c<d","service":"http://localhost:9090"},{"service":"http_status:404"}]}`)
	if err := a.emu.SetTunnelConfig(acct, keep.ID, raw); err != nil { // version 3
		t.Fatal(err)
	}
	return zoneID
}

// Server B built from server A's state file serves the same objects to the
// real client: ids, versions, contents and deleted tunnels and routes.
func TestStateFileRestoresEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	a := openEnv(t, path)
	zoneID := seedForRestart(t, a)
	b := openEnv(t, path)

	rc := cf.AccountIdentifier(acct)
	zc := cf.ZoneIdentifier(zoneID)
	c := ctx(t)
	keepID := a.emu.Tunnels(acct)[0].ID
	goneID := a.emu.Tunnels(acct)[1].ID
	tests := []struct {
		name  string
		fetch func(api *cf.API) (any, error)
	}{
		{"zone", func(api *cf.API) (any, error) { return api.ZoneDetails(c, zoneID) }},
		{"active tunnels", func(api *cf.API) (any, error) {
			ts, _, err := api.ListTunnels(c, rc, cf.TunnelListParams{})
			return ts, err
		}},
		{"deleted tunnels", func(api *cf.API) (any, error) {
			ts, _, err := api.ListTunnels(c, rc, cf.TunnelListParams{IsDeleted: ptr(true)})
			return ts, err
		}},
		{"deleted tunnel by id", func(api *cf.API) (any, error) { return api.GetTunnel(c, rc, goneID) }},
		{"tunnel token (secret)", func(api *cf.API) (any, error) { return api.GetTunnelToken(c, rc, keepID) }},
		{"tunnel configuration", func(api *cf.API) (any, error) { return api.GetTunnelConfiguration(c, rc, keepID) }},
		{"DNS records", func(api *cf.API) (any, error) {
			rs, _, err := api.ListDNSRecords(c, zc, cf.ListDNSRecordsParams{})
			return rs, err
		}},
		{"Access apps", func(api *cf.API) (any, error) {
			as, _, err := api.ListAccessApplications(c, rc, cf.ListAccessApplicationsParams{})
			return as, err
		}},
		{"active routes", func(api *cf.API) (any, error) { return api.ListTunnelRoutes(c, rc, cf.TunnelRoutesListParams{}) }},
		{"deleted routes", func(api *cf.API) (any, error) {
			return api.ListTunnelRoutes(c, rc, cf.TunnelRoutesListParams{IsDeleted: ptr(true)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.fetch(a.api)
			if err != nil {
				t.Fatalf("server A: %v", err)
			}
			got, err := tc.fetch(b.api)
			if err != nil {
				t.Fatalf("server B: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("server B differs:\n got %+v\nwant %+v", got, want)
			}
		})
	}

	t.Run("snapshots", func(t *testing.T) {
		for name, get := range map[string]func(s *emu.Server) any{
			"Zones":      func(s *emu.Server) any { return s.Zones(acct) },
			"Tunnels":    func(s *emu.Server) any { return s.Tunnels(acct) },
			"DNSRecords": func(s *emu.Server) any { return s.DNSRecords(zoneID) },
			"AccessApps": func(s *emu.Server) any { return s.AccessApps(acct) },
			"Routes":     func(s *emu.Server) any { return s.Routes(acct) },
			"TunnelConfig": func(s *emu.Server) any {
				v, cfg, ok := s.TunnelConfig(acct, keepID)
				return fmt.Sprint(v, string(cfg), ok)
			},
		} {
			if got, want := get(b.emu), get(a.emu); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got %+v, want %+v", name, got, want)
			}
		}
		tuns := b.emu.Tunnels(acct)
		if len(tuns) != 2 || tuns[0].Deleted || !tuns[1].Deleted {
			t.Errorf("tunnels %+v, want keep active and gone deleted", tuns)
		}
		if v, cfg, _ := b.emu.TunnelConfig(acct, keepID); v != 3 || !strings.Contains(string(cfg), `"^/(a|b)&c<d"`) ||
			!strings.Contains(string(cfg), "9090") {
			t.Errorf("config version %d %s, want the out-of-band edit at version 3", v, cfg)
		}
	})

	t.Run("default virtual network survives", func(t *testing.T) {
		rt, err := b.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "192.168.0.0/16", TunnelID: keepID})
		if err != nil {
			t.Fatal(err)
		}
		if want := a.emu.Routes(acct)[0].VirtualNetworkID; rt.VirtualNetworkID != want {
			t.Fatalf("new route in vnet %s, want %s", rt.VirtualNetworkID, want)
		}
	})

	t.Run("file format", func(t *testing.T) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var hdr struct{ Version int }
		if err := json.Unmarshal(raw, &hdr); err != nil || hdr.Version != 1 {
			t.Fatalf("version %d, %v", hdr.Version, err)
		}
		if strings.Contains(string(raw), testToken) {
			t.Fatal("tokens must not be persisted")
		}
	})
}

// A corrupt, unreadable or unknown-version state file makes Open fail with
// an error naming the file.
func TestOpenRejectsBadStateFile(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "{not json", "corrupt"},
		{"truncated", `{"version":1,"accounts":[`, "corrupt"},
		{"empty", "", "corrupt"},
		{"no version", `{"accounts":[]}`, "unsupported version 0"},
		{"future version", `{"version":2}`, "unsupported version 2"},
		{"bad route network", `{"version":1,"accounts":[{"id":"a","routes":[{"id":"r","network":"nope"}]}]}`, "corrupt"},
		{"wrong field type", `{"version":1,"zones":[{"id":7}]}`, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := emu.Open(emu.Config{StateFile: path})
			if err == nil {
				t.Fatalf("Open succeeded (%v), want an error", s)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q should name %s and say %q", err, path, tc.want)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := emu.Open(emu.Config{StateFile: dir}); err == nil {
			t.Fatal("Open of a directory succeeded")
		}
	})
}

// A missing file means an empty emulator; reads do not create it, the first
// change does, and no temporary files are left behind.
func TestOpenMissingStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	e := openEnv(t, path)
	c := ctx(t)
	rc := cf.AccountIdentifier(acct)
	if ts, _, err := e.api.ListTunnels(c, rc, cf.TunnelListParams{}); err != nil || len(ts) != 0 {
		t.Fatalf("fresh emulator: %v %v", ts, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a GET created the state file: %v", err)
	}
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "first", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "state.json" {
		t.Fatalf("dir holds %v (%v), want only state.json", entries, err)
	}
	if fi, _ := entries[0].Info(); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (the file holds tunnel secrets)", fi.Mode().Perm())
	}
	if got := openEnv(t, path).emu.Tunnels(acct); len(got) != 1 || got[0].ID != tun.ID {
		t.Fatalf("reopened tunnels %+v, want %s", got, tun.ID)
	}
}

// New is the in-memory constructor even when given a state file.
func TestNewIgnoresStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := emu.New(emu.Config{StateFile: path})
	s.AddZone(acct, "example.com")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("New wrote %s: %v", path, err)
	}
}

// When the file cannot be written, the call fails with 500 instead of
// acknowledging a change that would not survive a restart.
func TestStateFileWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e := openEnv(t, filepath.Join(dir, "state.json"))
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	// cloudflare-go hides 5xx bodies, so check the envelope directly.
	resp, body := rawCall(t, "POST", e.srv.URL+"/client/v4/accounts/"+acct+"/cfd_tunnel", testToken,
		map[string]string{"name": "x", "tunnel_secret": secret(t)})
	errs, _ := body["errors"].([]any)
	if resp.StatusCode != 500 || len(errs) != 1 || errs[0].(map[string]any)["code"] != 10002.0 {
		t.Fatalf("status %d body %v, want 500 with code 10002", resp.StatusCode, body)
	}
	if err := e.emu.Save(); err == nil {
		t.Fatal("Save into a removed directory succeeded")
	}
}

// Concurrent changes are serialised: every acknowledged record is on disk.
func TestStateFileConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	e := openEnv(t, path)
	zoneID := e.emu.AddZone(acct, "example.com")
	c := ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := e.api.CreateDNSRecord(c, cf.ZoneIdentifier(zoneID), cf.CreateDNSRecordParams{
				Type: "A", Name: fmt.Sprintf("h%d", i), Content: "192.0.2.1"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := openEnv(t, path).emu.DNSRecords(zoneID); len(got) != 20 {
		t.Fatalf("reopened zone has %d records, want 20", len(got))
	}
}

// SetTunnelConfig edits like the dashboard: validated, version bumped, seen
// by clients; TunnelConfig reads it back.
func TestSetTunnelConfig(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "drift", Secret: secret(t), ConfigSrc: "cloudflare"})
	if err != nil {
		t.Fatal(err)
	}
	if v, cfg, ok := e.emu.TunnelConfig(acct, tun.ID); !ok || v != 0 || cfg != nil {
		t.Fatalf("before any write: %d %s %v", v, cfg, ok)
	}
	valid := json.RawMessage(`{"ingress": [{"hostname":"a.example.com","service":"http://a:1"}, {"service":"http_status:404"}]}`)
	if err := e.emu.SetTunnelConfig(acct, tun.ID, valid); err != nil {
		t.Fatal(err)
	}
	res, err := e.api.GetTunnelConfiguration(c, rc, tun.ID)
	if err != nil || res.Version != 1 || len(res.Config.Ingress) != 2 || res.Config.Ingress[0].Hostname != "a.example.com" {
		t.Fatalf("client sees %+v, %v", res, err)
	}
	if v, cfg, _ := e.emu.TunnelConfig(acct, tun.ID); v != 1 || strings.Contains(string(cfg), " ") {
		t.Fatalf("TunnelConfig = %d %s, want version 1, compacted", v, cfg)
	}

	tests := []struct {
		name, account, tunnel string
		config                json.RawMessage
	}{
		{"unknown tunnel", acct, "00000000-0000-4000-8000-000000000000", valid},
		{"unknown account", "nobody", tun.ID, valid},
		{"no catch-all rule", acct, tun.ID, json.RawMessage(`{"ingress":[{"hostname":"a.example.com","service":"http://a:1"}]}`)},
		{"null", acct, tun.ID, json.RawMessage(`null`)},
		{"not JSON", acct, tun.ID, json.RawMessage(`{`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.emu.SetTunnelConfig(tc.account, tc.tunnel, tc.config); err == nil {
				t.Fatal("SetTunnelConfig succeeded")
			}
			if v, _, _ := e.emu.TunnelConfig(acct, tun.ID); v != 1 {
				t.Fatalf("rejected edit changed the version to %d", v)
			}
		})
	}
	if _, _, ok := e.emu.TunnelConfig(acct, "missing"); ok {
		t.Fatal("TunnelConfig of an unknown tunnel reported ok")
	}
}
