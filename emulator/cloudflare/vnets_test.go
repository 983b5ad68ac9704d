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
