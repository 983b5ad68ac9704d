package cloudflare_test

import (
	"errors"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func TestTunnelRoutes(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.AccountIdentifier(acct)
	c := ctx(t)
	t1, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "r1", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := e.api.CreateTunnel(c, rc, cf.TunnelCreateParams{Name: "r2", Secret: secret(t)})
	if err != nil {
		t.Fatal(err)
	}

	rt, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: t1.ID, Comment: "c"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if rt.Network != "10.0.0.0/8" || rt.TunnelName != "r1" || rt.CreatedAt == nil || rt.VirtualNetworkID == "" {
		t.Fatalf("route %+v", rt)
	}
	if _, err := e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.1.0.0/16", TunnelID: t2.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.0.0.0/8", TunnelID: t2.ID})
	wantAPIError(t, err, 409, 0)
	_, err = e.api.CreateTunnelRoute(c, rc, cf.TunnelRoutesCreateParams{Network: "10.9.0.0/16", TunnelID: "missing"})
	wantAPIError(t, err, 400, 0)

	got, err := e.api.GetTunnelRouteForIP(c, rc, cf.TunnelRoutesForIPParams{Network: "10.1.2.3"})
	if err != nil || got.Network != "10.1.0.0/16" {
		t.Fatalf("most specific route: %v %+v", err, got)
	}

	up, err := e.api.UpdateTunnelRoute(c, rc, cf.TunnelRoutesUpdateParams{Network: "10.1.0.0/16", TunnelID: t1.ID, Comment: "moved"})
	if err != nil || up.TunnelID != t1.ID || up.Comment != "moved" {
		t.Fatalf("update: %v %+v", err, up)
	}

	tests := []struct {
		name   string
		params cf.TunnelRoutesListParams
		want   int
	}{
		{"all active", cf.TunnelRoutesListParams{}, 2},
		{"by tunnel", cf.TunnelRoutesListParams{TunnelID: t1.ID}, 2},
		{"by comment", cf.TunnelRoutesListParams{Comment: "moved"}, 1},
		{"subset of 10.0.0.0/8", cf.TunnelRoutesListParams{NetworkSubset: "10.0.0.0/8"}, 2},
		{"superset of 10.1.5.0/24", cf.TunnelRoutesListParams{NetworkSuperset: "10.1.5.0/24"}, 2},
		{"superset of 10.0.0.0/8", cf.TunnelRoutesListParams{NetworkSuperset: "10.0.0.0/8"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := e.api.ListTunnelRoutes(c, rc, tc.params)
			if err != nil || len(rs) != tc.want {
				t.Fatalf("got %d routes (%v), want %d", len(rs), err, tc.want)
			}
		})
	}

	if err := e.api.DeleteTunnelRoute(c, rc, cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8"}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	err = e.api.DeleteTunnelRoute(c, rc, cf.TunnelRoutesDeleteParams{Network: "10.0.0.0/8"})
	var nf *cf.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("second delete: want NotFoundError, got %T %v", err, err)
	}
	rs, err := e.api.ListTunnelRoutes(c, rc, cf.TunnelRoutesListParams{IsDeleted: ptr(true)})
	if err != nil || len(rs) != 1 || rs[0].DeletedAt == nil {
		t.Fatalf("deleted listing: %v %+v", err, rs)
	}
	if n := e.emu.Requests()["POST /accounts/{account}/teamnet/routes/network/{cidr}"]; n != 4 {
		t.Fatalf("route-create count = %d, want 4", n)
	}
}
