package cloudflare_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// errorChain returns the error_chain codes of the first error in a raw
// envelope (cloudflare-go drops error_chain).
func errorChain(t *testing.T, env map[string]any) (code int, chain []int, msgs []string) {
	t.Helper()
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %v", env)
	}
	e0 := errs[0].(map[string]any)
	code = int(e0["code"].(float64))
	for _, c := range e0["error_chain"].([]any) {
		cm := c.(map[string]any)
		chain = append(chain, int(cm["code"].(float64)))
		msgs = append(msgs, cm["message"].(string))
	}
	return code, chain, msgs
}

// PUT replaces the app: fields the body leaves out go back to their
// defaults; only an absent policy list is kept.
func TestAccessApplicationPutReplaces(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	app, err := e.api.CreateAccessApplication(c, rc, cf.CreateAccessApplicationParams{
		Name: "app", Domain: "app.example.com", Type: cf.SelfHosted, Policies: []string{"pol1"},
		SessionDuration: "8h", AllowedIdps: []string{"idp1"}, AppLauncherVisible: ptr(true),
		Tags: []string{"t1"}, CustomDenyURL: "https://deny.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if app.SessionDuration != "8h" || len(app.AllowedIdps) != 1 || app.AppLauncherVisible == nil || !*app.AppLauncherVisible {
		t.Fatalf("create %+v", app)
	}

	up, err := e.api.UpdateAccessApplication(c, rc, cf.UpdateAccessApplicationParams{
		ID: app.ID, Name: "renamed", Domain: "app.example.com"})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	for _, got := range []cf.AccessApplication{up, must(e.api.GetAccessApplication(c, rc, app.ID))} {
		if got.Name != "renamed" || got.SessionDuration != "24h" || got.Type != cf.SelfHosted ||
			len(got.AllowedIdps) != 0 || got.AppLauncherVisible == nil || !*got.AppLauncherVisible || len(got.Tags) != 0 || got.CustomDenyURL != "" {
			t.Fatalf("PUT must reset absent fields to defaults: %+v", got)
		}
		if len(got.Policies) != 1 || got.Policies[0].ID != "pol1" || got.AUD != app.AUD || got.ID != app.ID {
			t.Fatalf("PUT must keep id, aud and (absent) policies: %+v", got)
		}
	}

	// The envelope keeps empty errors/messages arrays.
	resp, env := rawCall(t, http.MethodPut, e.srv.URL+"/client/v4/accounts/"+acct+"/access/apps/"+app.ID, testToken,
		map[string]any{"name": "raw", "domain": "app.example.com", "session_duration": "2h"})
	if resp.StatusCode != 200 {
		t.Fatalf("raw PUT status %d %v", resp.StatusCode, env)
	}
	for _, k := range []string{"errors", "messages"} {
		if arr, ok := env[k].([]any); !ok || len(arr) != 0 {
			t.Fatalf("%s = %#v, want []", k, env[k])
		}
	}
	res := env["result"].(map[string]any)
	if res["session_duration"] != "2h" || res["name"] != "raw" {
		t.Fatalf("raw PUT result %v", res)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A PATCH without comment keeps it; "comment":"" (and null) clear it.
func TestTunnelRoutePatchComment(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "t", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: tun.ID, Comment: "lan"}); err != nil {
		t.Fatal(err)
	}
	// cloudflare-go omits an empty comment: absent means keep.
	up, err := e.api.UpdateTunnelRoute(c, rc, cf.TunnelRoutesUpdateParams{Network: "10.0.0.0/8", TunnelID: tun.ID})
	if err != nil || up.Comment != "lan" {
		t.Fatalf("absent comment must be kept: %v %+v", err, up)
	}
	url := e.srv.URL + "/client/v4/accounts/" + acct + "/teamnet/routes/network/10.0.0.0%2F8"
	for _, body := range []map[string]any{
		{"network": "10.0.0.0/8", "tunnel_id": tun.ID, "comment": ""},
		{"network": "10.0.0.0/8", "tunnel_id": tun.ID, "comment": nil},
	} {
		if _, err := e.api.UpdateTunnelRoute(c, rc, cf.TunnelRoutesUpdateParams{Network: "10.0.0.0/8", TunnelID: tun.ID, Comment: "again"}); err != nil {
			t.Fatal(err)
		}
		resp, env := rawCall(t, http.MethodPatch, url, testToken, body)
		if resp.StatusCode != 200 {
			t.Fatalf("PATCH %v: %d %v", body, resp.StatusCode, env)
		}
		if got := env["result"].(map[string]any)["comment"]; got != "" {
			t.Fatalf("PATCH %v: comment %q, want cleared", body, got)
		}
		rs, err := e.api.ListTunnelRoutes(c, rc, cf.TunnelRoutesListParams{})
		if err != nil || len(rs) != 1 || rs[0].Comment != "" {
			t.Fatalf("stored comment not cleared: %v %+v", err, rs)
		}
	}
}

func TestVirtualNetworks(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "t", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	// A route created before any vnet call lands in the lazily created
	// default network, which the listing then shows under the same id.
	rt, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: tun.ID})
	if err != nil {
		t.Fatal(err)
	}
	vnets, err := e.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{})
	if err != nil || len(vnets) != 1 {
		t.Fatalf("list: %v %+v", err, vnets)
	}
	def := vnets[0]
	if def.ID != rt.VirtualNetworkID || !def.IsDefaultNetwork || def.Name != "default" || def.CreatedAt == nil || def.DeletedAt != nil {
		t.Fatalf("default vnet %+v, route vnet %s", def, rt.VirtualNetworkID)
	}

	// Raw shape: exactly the documented fields.
	_, env := rawCall(t, http.MethodGet, e.srv.URL+"/client/v4/accounts/"+acct+"/teamnet/virtual_networks", testToken, nil)
	obj := env["result"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "name", "comment", "is_default_network", "created_at", "deleted_at"} {
		if _, ok := obj[k]; !ok {
			t.Fatalf("vnet JSON lacks %q: %v", k, obj)
		}
	}

	lab, err := e.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "lab", Comment: "test lab"})
	if err != nil || lab.ID == "" || lab.Name != "lab" || lab.Comment != "test lab" || lab.IsDefaultNetwork || lab.CreatedAt == nil {
		t.Fatalf("create: %v %+v", err, lab)
	}
	_, err = e.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "lab"})
	wantAPIError(t, err, 409, 1014)

	// Routes: same CIDR may exist once per vnet; unknown vnet is refused.
	labRoute, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: tun.ID, VirtualNetworkID: lab.ID})
	if err != nil || labRoute.VirtualNetworkID != lab.ID {
		t.Fatalf("route in lab: %v %+v", err, labRoute)
	}
	_, env = rawCall(t, http.MethodGet, e.srv.URL+"/client/v4/accounts/"+acct+"/teamnet/routes?virtual_network_id="+lab.ID, testToken, nil)
	if n := env["result"].([]any)[0].(map[string]any)["virtual_network_name"]; n != "lab" {
		t.Fatalf("virtual_network_name = %v", n)
	}
	_, err = e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.2.0.0/16", TunnelID: tun.ID, VirtualNetworkID: "no-such-vnet"})
	wantAPIError(t, err, 400, 1001)
	_, err = e.api.UpdateTunnelRoute(c, rc, cf.TunnelRoutesUpdateParams{Network: "10.0.0.0/8", TunnelID: tun.ID, VirtualNetworkID: "no-such-vnet"})
	wantAPIError(t, err, 400, 1001)

	// Deleting the default, or a vnet with routes, is refused.
	err = e.api.DeleteTunnelVirtualNetwork(c, rc, def.ID)
	wantAPIError(t, err, 400, 1001)
	if !strings.Contains(err.Error(), "default virtual network") {
		t.Fatalf("unclear message: %v", err)
	}
	err = e.api.DeleteTunnelVirtualNetwork(c, rc, lab.ID)
	wantAPIError(t, err, 400, 1001)
	if !strings.Contains(err.Error(), "route") {
		t.Fatalf("unclear message: %v", err)
	}
	err = e.api.DeleteTunnelVirtualNetwork(c, rc, "no-such-vnet")
	wantAPIError(t, err, 404, 1003)

	// PATCH: rename; comment kept when absent; moving the default flag.
	up, err := e.api.UpdateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkUpdateParams{VnetID: lab.ID, Name: "lab2"})
	if err != nil || up.Name != "lab2" || up.Comment != "test lab" {
		t.Fatalf("rename: %v %+v", err, up)
	}
	resp, env := rawCall(t, http.MethodPatch, e.srv.URL+"/client/v4/accounts/"+acct+"/teamnet/virtual_networks/"+lab.ID, testToken,
		map[string]any{"comment": ""})
	if resp.StatusCode != 200 || env["result"].(map[string]any)["comment"] != "" {
		t.Fatalf("clear comment: %d %v", resp.StatusCode, env)
	}
	_, err = e.api.UpdateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkUpdateParams{VnetID: def.ID, IsDefaultNetwork: ptr(false)})
	wantAPIError(t, err, 400, 1001)
	if _, err := e.api.UpdateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkUpdateParams{VnetID: lab.ID, IsDefaultNetwork: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	defs, err := e.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{IsDefault: ptr(true)})
	if err != nil || len(defs) != 1 || defs[0].ID != lab.ID {
		t.Fatalf("one default after move: %v %+v", err, defs)
	}
	// Routes naming no vnet now use the new default.
	got, err := e.api.GetTunnelRouteForIP(c, rc, cf.TunnelRoutesForIPParams{Network: "10.1.2.3"})
	if err != nil || got.VirtualNetworkID != lab.ID {
		t.Fatalf("route for IP in new default: %v %+v", err, got)
	}

	// The old default, once emptied, can be deleted; listings hide it
	// unless is_deleted=true.
	if err := e.api.DeleteTunnelRoute(c, rc, cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8", VirtualNetworkID: def.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.api.DeleteTunnelVirtualNetwork(c, rc, def.ID); err != nil {
		t.Fatalf("delete emptied vnet: %v", err)
	}
	tests := []struct {
		name   string
		params cf.TunnelVirtualNetworksListParams
		want   []string
	}{
		{"default active only", cf.TunnelVirtualNetworksListParams{}, []string{lab.ID}},
		{"deleted", cf.TunnelVirtualNetworksListParams{IsDeleted: ptr(true)}, []string{def.ID}},
		{"by name", cf.TunnelVirtualNetworksListParams{Name: "lab2"}, []string{lab.ID}},
		{"by id", cf.TunnelVirtualNetworksListParams{ID: lab.ID}, []string{lab.ID}},
		{"not default", cf.TunnelVirtualNetworksListParams{IsDefault: ptr(false)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs, err := e.api.ListTunnelVirtualNetworks(c, rc, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range vs {
				ids = append(ids, v.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
		})
	}
	deleted, _ := e.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{IsDeleted: ptr(true)})
	if len(deleted) != 1 || deleted[0].DeletedAt == nil {
		t.Fatalf("deleted vnet lacks deleted_at: %+v", deleted)
	}
	// A deleted vnet's name is free again, and it cannot take routes.
	if _, err := e.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "default"}); err != nil {
		t.Fatalf("reuse deleted name: %v", err)
	}
	_, err = e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.3.0.0/16", TunnelID: tun.ID, VirtualNetworkID: def.ID})
	wantAPIError(t, err, 400, 1001)
	if vs := e.emu.VirtualNetworks(acct); len(vs) != 3 || !vs[0].Deleted || !vs[1].IsDefault {
		t.Fatalf("VirtualNetworks snapshot %+v", vs)
	}
}

// Virtual networks survive a restart through the state file, and a version 1
// file written before they were saved still loads with the same default id.
func TestStateFileVirtualNetworks(t *testing.T) {
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	t.Run("round trip", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		a := openEnv(t, path)
		a.emu.AddAccount(acct)
		lab, err := a.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "lab", Comment: "c"})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := a.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "gone"})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.api.DeleteTunnelVirtualNetwork(c, rc, gone.ID); err != nil {
			t.Fatal(err)
		}
		b := openEnv(t, path)
		for _, deleted := range []bool{false, true} {
			want, err := a.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{IsDeleted: ptr(deleted)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{IsDeleted: ptr(deleted)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(got) == 0 {
				t.Fatalf("deleted=%v: got %+v, want %+v", deleted, got, want)
			}
			for i := range got {
				if got[i].ID != want[i].ID || got[i].Name != want[i].Name || got[i].Comment != want[i].Comment ||
					got[i].IsDefaultNetwork != want[i].IsDefaultNetwork || !got[i].CreatedAt.Equal(*want[i].CreatedAt) ||
					(got[i].DeletedAt == nil) != (want[i].DeletedAt == nil) {
					t.Fatalf("deleted=%v #%d: got %+v, want %+v", deleted, i, got[i], want[i])
				}
			}
		}
		if vs := b.emu.VirtualNetworks(acct); len(vs) != 3 || vs[1].ID != lab.ID || !vs[0].IsDefault {
			t.Fatalf("restored %+v", vs)
		}
	})

	t.Run("default created by a read survives", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		a := openEnv(t, path)
		a.emu.AddAccount(acct)
		want, err := a.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{})
		if err != nil || len(want) != 1 {
			t.Fatalf("list: %v %+v", err, want)
		}
		got, err := openEnv(t, path).api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{})
		if err != nil || len(got) != 1 || got[0].ID != want[0].ID {
			t.Fatalf("after restart %+v (%v), want %+v", got, err, want)
		}
	})

	t.Run("version 1 file without virtual networks", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		const defID = "0b5a6c2e-0000-4000-8000-000000000001"
		const otherID = "0b5a6c2e-0000-4000-8000-000000000002"
		old := `{"version":1,"accounts":[{"id":"` + acct + `","default_virtual_network_id":"` + defID + `",
 "tunnels":[{"id":"11111111-2222-4333-8444-555555555555","name":"t","secret":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=","config_src":"local","created_at":"2025-01-01T00:00:00Z","config_version":0}],
 "access_apps":[],
 "routes":[
  {"id":"r1","network":"10.0.0.0/8","tunnel_id":"11111111-2222-4333-8444-555555555555","virtual_network_id":"` + defID + `","created_at":"2025-01-02T00:00:00Z"},
  {"id":"r2","network":"10.0.0.0/8","tunnel_id":"11111111-2222-4333-8444-555555555555","virtual_network_id":"` + otherID + `","created_at":"2025-01-03T00:00:00Z"}]}],
 "zones":[]}`
		if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		b := openEnv(t, path)
		vs, err := b.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{})
		if err != nil || len(vs) != 2 {
			t.Fatalf("list: %v %+v", err, vs)
		}
		if vs[0].ID != defID || !vs[0].IsDefaultNetwork || vs[0].Name != "default" || vs[1].ID != otherID || vs[1].IsDefaultNetwork {
			t.Fatalf("legacy vnets %+v", vs)
		}
		// Routes stay addressable in the default network by CIDR alone.
		got, err := b.api.GetTunnelRouteForIP(c, rc, cf.TunnelRoutesForIPParams{Network: "10.1.1.1"})
		if err != nil || got.VirtualNetworkID != defID {
			t.Fatalf("route in default vnet: %v %+v", err, got)
		}
		err = b.api.DeleteTunnelVirtualNetwork(c, rc, otherID)
		wantAPIError(t, err, 400, 1001) // still has r2
		if _, err := b.api.CreateTunnelVirtualNetwork(c, rc, cf.TunnelVirtualNetworkCreateParams{Name: "new"}); err != nil {
			t.Fatal(err) // rewrites the file
		}
		raw, _ := os.ReadFile(path)
		if !strings.Contains(string(raw), `"default_virtual_network_id": "`+defID+`"`) ||
			!strings.Contains(string(raw), `"virtual_networks"`) || !strings.Contains(string(raw), `"version": 1`) {
			t.Fatalf("rewritten file lost default_virtual_network_id:\n%s", raw)
		}
	})
}

// 81056 for A/AAAA/CNAME beside NS records, 1004/9003 for proxied records
// to non-proxiable IPs, and the same rules inside the batch endpoint.
func TestDNSDelegationAndProxiableTargets(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	if _, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "NS", Name: "sub", Content: "ns1.other.net"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []cf.CreateDNSRecordParams{
		{Type: "A", Name: "sub", Content: "192.0.2.1"},
		{Type: "AAAA", Name: "sub.example.com", Content: "2001:db8::1"},
		{Type: "CNAME", Name: "sub", Content: "x.example.net"},
	} {
		_, err := e.api.CreateDNSRecord(c, rc, p)
		wantAPIError(t, err, 400, 81056)
		if !strings.Contains(err.Error(), "NS records with that host already exist.") {
			t.Fatalf("message: %v", err)
		}
	}
	if _, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "TXT", Name: "sub", Content: "ok"}); err != nil {
		t.Fatalf("TXT beside NS must be allowed: %v", err)
	}

	url := e.srv.URL + "/client/v4/zones/" + e.zone + "/dns_records"
	for _, ip := range []string{"10.1.2.3", "192.168.1.1", "172.16.0.1", "127.0.0.1", "fd00::1", "1.1.1.1", "100.64.0.1"} {
		typ := "A"
		if strings.Contains(ip, ":") {
			typ = "AAAA"
		}
		_, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: typ, Name: "p", Content: ip, Proxied: ptr(true)})
		wantAPIError(t, err, 400, 1004)
		resp, env := rawCall(t, http.MethodPost, url, testToken, map[string]any{"type": typ, "name": "p", "content": ip, "proxied": true})
		code, chain, msgs := errorChain(t, env)
		if resp.StatusCode != 400 || code != 1004 || len(chain) != 1 || chain[0] != 9003 ||
			msgs[0] != "Target "+ip+" is not allowed for a proxied record." {
			t.Fatalf("%s: %d %v", ip, resp.StatusCode, env)
		}
	}
	// Unproxied private targets are fine but report proxiable:false.
	priv, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "A", Name: "lan", Content: "10.0.0.1"})
	if err != nil || priv.Proxiable {
		t.Fatalf("private A: %v proxiable=%v", err, priv.Proxiable)
	}
	_, err = e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: priv.ID, Proxied: ptr(true)})
	wantAPIError(t, err, 400, 1004)
	pub, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "A", Name: "www", Content: "203.0.113.7", Proxied: ptr(true)})
	if err != nil || !pub.Proxiable || pub.Proxied == nil || !*pub.Proxied {
		t.Fatalf("public proxied A: %v %+v", err, pub)
	}

	// Batch: either rule fails the whole batch and nothing changes.
	path := "/zones/" + e.zone + "/dns_records/batch"
	before, _, _ := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{})
	for name, body := range map[string]map[string]any{
		"81056": {"deletes": []map[string]any{{"id": pub.ID}},
			"posts": []map[string]any{{"type": "A", "name": "sub", "content": "192.0.2.9"}}},
		"9003": {"deletes": []map[string]any{{"id": pub.ID}},
			"posts": []map[string]any{{"type": "A", "name": "q", "content": "192.168.0.9", "proxied": true}}},
		"9003 patch": {"patches": []map[string]any{{"id": priv.ID, "proxied": true}}},
	} {
		_, err := e.api.Raw(c, http.MethodPost, path, body, nil)
		want := 1004
		if name == "81056" {
			want = 81056
		}
		wantAPIError(t, err, 400, want)
		after, _, _ := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{})
		if len(after) != len(before) {
			t.Fatalf("%s: failed batch changed state: %d -> %d records", name, len(before), len(after))
		}
	}
	// Deleting the NS in the same batch frees the name (deletes run first).
	nss, _, _ := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{Type: "NS"})
	if _, err := e.api.Raw(c, http.MethodPost, path, map[string]any{
		"deletes": []map[string]any{{"id": nss[0].ID}},
		"posts":   []map[string]any{{"type": "A", "name": "sub", "content": "192.0.2.9"}},
	}, nil); err != nil {
		t.Fatalf("batch replacing delegation: %v", err)
	}
}

// AddVirtualNetwork lets tests use fixed vnet ids in routes.
func TestAddVirtualNetwork(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	const id = "11111111-1111-4111-8111-111111111111"
	if got := e.emu.AddVirtualNetwork(acct, id, ""); got != id {
		t.Fatalf("id %s", got)
	}
	tun, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "t", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: tun.ID, VirtualNetworkID: id})
	if err != nil || rt.VirtualNetworkID != id {
		t.Fatalf("route in seeded vnet: %v %+v", err, rt)
	}
	vs, err := e.api.ListTunnelVirtualNetworks(c, rc, cf.TunnelVirtualNetworksListParams{})
	if err != nil || len(vs) != 2 || !vs[1].IsDefaultNetwork || vs[0].ID != id || vs[0].Name != "vnet-11111111" {
		t.Fatalf("list %v %+v", err, vs)
	}
}
