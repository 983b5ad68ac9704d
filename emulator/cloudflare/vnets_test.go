package cloudflare_test

import (
	"net/http"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// A create makes the new network the default under either name the API
// takes for the flag: is_default (cloudflare-go v0) and is_default_network.
func TestCreateVirtualNetworkAsDefault(t *testing.T) {
	tests := []struct {
		name string
		// create makes a network called "new" asking for the default flag.
		create func(t *testing.T, e *env) string
	}{
		{"is_default from cloudflare-go", func(t *testing.T, e *env) string {
			vn, err := e.api.CreateTunnelVirtualNetwork(ctx(t), cf.AccountIdentifier(acct), cf.TunnelVirtualNetworkCreateParams{Name: "new", IsDefault: true})
			if err != nil || !vn.IsDefaultNetwork {
				t.Fatalf("create: %v %+v", err, vn)
			}
			return vn.ID
		}},
		{"is_default_network", func(t *testing.T, e *env) string {
			resp, env := rawCall(t, http.MethodPost, e.srv.URL+"/client/v4/accounts/"+acct+"/teamnet/virtual_networks", testToken,
				map[string]any{"name": "new", "is_default_network": true})
			res, _ := env["result"].(map[string]any)
			if resp.StatusCode != http.StatusOK || res["is_default_network"] != true {
				t.Fatalf("create: %d %v", resp.StatusCode, env)
			}
			return res["id"].(string)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emu.Config{})
			id := tt.create(t, e)
			defs, err := e.api.ListTunnelVirtualNetworks(ctx(t), cf.AccountIdentifier(acct), cf.TunnelVirtualNetworksListParams{IsDefault: ptr(true)})
			if err != nil || len(defs) != 1 || defs[0].ID != id {
				t.Fatalf("defaults: %v %+v", err, defs)
			}
			old, err := e.api.ListTunnelVirtualNetworks(ctx(t), cf.AccountIdentifier(acct), cf.TunnelVirtualNetworksListParams{Name: "default"})
			if err != nil || len(old) != 1 || old[0].IsDefaultNetwork {
				t.Fatalf("the old default keeps the flag: %v %+v", err, old)
			}
		})
	}
}

// A network is read by id while it is active; an unknown or deleted one
// is not found (1003), as a route read by id is.
func TestGetVirtualNetwork(t *testing.T) {
	e := newEnv(t, emu.Config{})
	id := e.emu.AddVirtualNetwork(acct, "", "lab")
	url := e.srv.URL + "/client/v4/accounts/" + acct + "/teamnet/virtual_networks/"
	resp, env := rawCall(t, http.MethodGet, url+id, testToken, nil)
	if res, _ := env["result"].(map[string]any); resp.StatusCode != http.StatusOK || res["id"] != id || res["name"] != "lab" || res["is_default_network"] != false {
		t.Fatalf("get: %d %v", resp.StatusCode, env)
	}
	if err := e.api.DeleteTunnelVirtualNetwork(ctx(t), cf.AccountIdentifier(acct), id); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{"deleted": url + id, "unknown": url + "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"} {
		resp, env := rawCall(t, http.MethodGet, u, testToken, nil)
		errs, _ := env["errors"].([]any)
		if resp.StatusCode != http.StatusNotFound || len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(1003) {
			t.Errorf("%s: %d %v", name, resp.StatusCode, env)
		}
	}
}
