package cfapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// TestCallClassifiesV0AndV6Alike: the same answer of the emulator gives
// the same Call error through either client: the class (permanent or
// retryable), the status, the Retry-After, the API's code and the
// message, so a kind keeps its behaviour and its messages when it moves
// to v6.
func TestCallClassifiesV0AndV6Alike(t *testing.T) {
	const (
		scopedElsewhere = "acc2" // the token is not scoped to it: 403
		unknownToken    = "acc3" // its token is unknown to the API: 401
	)
	e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
	e.AddAccount(testAccount)
	e.AddAccount(scopedElsewhere)
	e.AddAccount(unknownToken)
	e.AddVirtualNetwork(testAccount, "", "taken")
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := New(Config{
		Credentials: Credentials{testAccount: testToken, scopedElsewhere: testToken, unknownToken: "not-a-token-the-api-knows"},
		BaseURL:     srv.URL + "/client/v4", RateLimit: 1000, Burst: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	account := func(id string) *Account {
		a, err := c.Account(id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// The account's default network, which the API refuses to delete.
	defaultVnet := func() string {
		if _, err := account(testAccount).API.ListTunnelVirtualNetworks(context.Background(), cloudflare.AccountIdentifier(testAccount), cloudflare.TunnelVirtualNetworksListParams{}); err != nil {
			t.Fatal(err)
		}
		for _, v := range e.VirtualNetworks(testAccount) {
			if v.IsDefault {
				return v.ID
			}
		}
		t.Fatal("no default network")
		return ""
	}()
	const missing = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"

	type call struct {
		v0 func(ctx context.Context, a *Account) error
		v6 func(ctx context.Context, a *Account) error
	}
	list := call{
		v0: func(ctx context.Context, a *Account) error {
			_, err := a.API.ListTunnelVirtualNetworks(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelVirtualNetworksListParams{})
			return err
		},
		v6: func(ctx context.Context, a *Account) error {
			_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.List(ctx, zero_trust.NetworkVirtualNetworkListParams{AccountID: cf6.F(a.ID)})
			return err
		},
	}
	tests := []struct {
		name       string
		account    string
		fault      *emu.Fault
		call       call
		status     int
		permanent  bool
		retryAfter time.Duration
		code       int
		message    string
	}{
		{name: "401 unknown token", account: unknownToken, call: list, status: 401, permanent: true, code: 10000,
			message: "op: Authentication error (10000)"},
		{name: "403 account out of the token's scope", account: scopedElsewhere, call: list, status: 403, permanent: true, code: 10000,
			message: "op: Authentication error (10000)"},
		{name: "404", account: testAccount, status: 404, permanent: true, code: 1003,
			call: call{
				v0: func(ctx context.Context, a *Account) error {
					_, err := a.API.GetTunnel(ctx, cloudflare.AccountIdentifier(a.ID), missing)
					return err
				},
				v6: func(ctx context.Context, a *Account) error {
					_, err := a.V6.ZeroTrust.Tunnels.Cloudflared.Get(ctx, missing, zero_trust.TunnelCloudflaredGetParams{AccountID: cf6.F(a.ID)})
					return err
				},
			},
			message: "op: Tunnel not found (1003)"},
		{name: "409 name taken", account: testAccount, status: 409, permanent: true, code: 1014,
			call: call{
				v0: func(ctx context.Context, a *Account) error {
					_, err := a.API.CreateTunnelVirtualNetwork(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelVirtualNetworkCreateParams{Name: "taken"})
					return err
				},
				v6: func(ctx context.Context, a *Account) error {
					_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.New(ctx, zero_trust.NetworkVirtualNetworkNewParams{AccountID: cf6.F(a.ID), Name: cf6.F("taken")})
					return err
				},
			},
			message: `op: A virtual network named "taken" already exists (1014)`},
		{name: "400 with a code", account: testAccount, status: 400, permanent: true, code: 1001,
			call: call{
				v0: func(ctx context.Context, a *Account) error {
					return a.API.DeleteTunnelVirtualNetwork(ctx, cloudflare.AccountIdentifier(a.ID), defaultVnet)
				},
				v6: func(ctx context.Context, a *Account) error {
					_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.Delete(ctx, defaultVnet, zero_trust.NetworkVirtualNetworkDeleteParams{AccountID: cf6.F(a.ID)})
					return err
				},
			},
			message: "op: Cannot delete the default virtual network; mark another virtual network as the default first (1001)"},
		{name: "429 with Retry-After", account: testAccount, fault: &emu.Fault{Status: 429, Count: 1, RetryAfter: 3}, call: list,
			status: 429, retryAfter: 3 * time.Second,
			message: "op: exceeded available rate limit retries"},
		{name: "502", account: testAccount, fault: &emu.Fault{Status: 502, Count: 1}, call: list, status: 502,
			message: "op: received bad gateway response (HTTP 502), please try again later"},
		{name: "503 on a write", account: testAccount, fault: &emu.Fault{Status: 503, Count: 1}, status: 503,
			call: call{
				v0: func(ctx context.Context, a *Account) error {
					_, err := a.API.CreateTunnelVirtualNetwork(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelVirtualNetworkCreateParams{Name: "new"})
					return err
				},
				v6: func(ctx context.Context, a *Account) error {
					_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.New(ctx, zero_trust.NetworkVirtualNetworkNewParams{AccountID: cf6.F(a.ID), Name: cf6.F("new")})
					return err
				},
			},
			message: "op: received service unavailable response (HTTP 503), please try again later"},
	}
	for _, tt := range tests {
		for _, client := range []string{"v0", "v6"} {
			t.Run(tt.name+"/"+client, func(t *testing.T) {
				fn := tt.call.v0
				if client == "v6" {
					fn = tt.call.v6
				}
				before := e.Requests()
				if tt.fault != nil {
					e.AddFault(*tt.fault)
				}
				a := account(tt.account)
				err := Call(context.Background(), "op", func(ctx context.Context) error { return fn(ctx, a) })
				var ce *Error
				if !errors.As(err, &ce) || ce.Status != tt.status || StatusOf(err) != tt.status {
					t.Fatalf("got %v (%T)", err, err)
				}
				if engine.IsPermanent(err) != tt.permanent {
					t.Fatalf("permanent = %v, want %v", engine.IsPermanent(err), tt.permanent)
				}
				if ce.RetryAfter() != tt.retryAfter {
					t.Fatalf("RetryAfter = %v, want %v", ce.RetryAfter(), tt.retryAfter)
				}
				if err.Error() != tt.message {
					t.Fatalf("message %q\nwant    %q", err.Error(), tt.message)
				}
				if r, ok := ReasonOf(err); tt.code != 0 && (!ok || r.Code != tt.code || !HasCode(err, tt.code)) {
					t.Fatalf("reason %+v %v, HasCode %v; want code %d", r, ok, HasCode(err, tt.code), tt.code)
				}
				// The engine retries, not the client: one request went out.
				if n := sumRequests(e.Requests()) - sumRequests(before); n != 1 {
					t.Fatalf("%d requests went out", n)
				}
			})
		}
	}
}

func sumRequests(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// The v6 client sends what the v0 one sends: the account's token (the
// current one after a rotation, also through an Account fetched before
// it), conflux-sync's User-Agent, and nothing from the environment.
func TestV6ClientHeaders(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_KEY", "key-from-the-environment")
	t.Setenv("CLOUDFLARE_EMAIL", "someone@example.com")
	t.Setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:1/nowhere")
	var mu sync.Mutex
	var seen []http.Header
	e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
	e.AddAccount(testAccount)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Credentials: Credentials{testAccount: testToken}, BaseURL: srv.URL + "/client/v4", RateLimit: 1000, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Account(testAccount)
	list := func() error {
		return Call(context.Background(), "list virtual networks", func(ctx context.Context) error {
			_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.List(ctx, zero_trust.NetworkVirtualNetworkListParams{AccountID: cf6.F(a.ID)})
			return err
		})
	}
	if err := list(); err != nil {
		t.Fatal(err)
	}
	const rotated = "rotated-token-0123456789abcdef"
	e.AddToken(rotated, emu.TokenScope{Accounts: []string{testAccount}})
	if err := c.SetCredentials(Credentials{testAccount: rotated}); err != nil {
		t.Fatal(err)
	}
	e.RevokeToken(testToken)
	if err := list(); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("%d requests reached the emulator", len(seen))
	}
	for i, want := range []string{testToken, rotated} {
		h := seen[i]
		if h.Get("Authorization") != "Bearer "+want || h.Get("User-Agent") != "conflux-sync" || h.Get("X-Auth-Key") != "" || h.Get("X-Auth-Email") != "" {
			t.Errorf("request %d: Authorization is the right token: %v, User-Agent %q, X-Auth-Key %q, X-Auth-Email %q",
				i, h.Get("Authorization") == "Bearer "+want, h.Get("User-Agent"), h.Get("X-Auth-Key"), h.Get("X-Auth-Email"))
		}
	}
}

// A v6 write is refused in a dry run like a v0 one (the transport is
// shared); reads go through.
func TestV6DryRunRefusesWrites(t *testing.T) {
	_, c := newEmulator(t)
	a, _ := c.Account(testAccount)
	ctx := engine.WithDryRun(context.Background())
	if err := Call(ctx, "list virtual networks", func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.List(ctx, zero_trust.NetworkVirtualNetworkListParams{AccountID: cf6.F(a.ID)})
		return err
	}); err != nil {
		t.Fatalf("a read in a dry run: %v", err)
	}
	err := Call(ctx, "create virtual network lab", func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Networks.VirtualNetworks.New(ctx, zero_trust.NetworkVirtualNetworkNewParams{AccountID: cf6.F(a.ID), Name: cf6.F("lab")})
		return err
	})
	if !errors.Is(err, engine.ErrDryRun) || !engine.IsPermanent(err) || !strings.Contains(err.Error(), "create virtual network lab") {
		t.Fatalf("a write in a dry run: %v", err)
	}
}

// A token from a Secret that Cloudflare rejects is named the same way
// through either client, with the same class and message.
func TestV6RejectedSecretTokenLikeV0(t *testing.T) {
	_, fs, c := newSecretEnv(t, Config{})
	fs.set(secretRef, "not-a-known-token")
	a, err := c.For(context.Background(), testAccount, &secretRef)
	if err != nil {
		t.Fatal(err)
	}
	v0 := listTunnels(context.Background(), a)
	v6 := Call(context.Background(), "list tunnels", func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Tunnels.Cloudflared.List(ctx, zero_trust.TunnelCloudflaredListParams{AccountID: cf6.F(a.ID)})
		return err
	})
	const want = "Cloudflare rejected the API token from Secret infra/cloudflare key token: list tunnels: Authentication error (10000)"
	for name, err := range map[string]error{"v0": v0, "v6": v6} {
		if err == nil || err.Error() != want || StatusOf(err) != 401 || !engine.IsPermanent(err) || !HasCode(err, 10000) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
