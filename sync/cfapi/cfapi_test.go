package cfapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const (
	testAccount = "acc1"
	testToken   = "secret-token-value-do-not-print"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              Credentials
	}{
		{name: "two accounts", in: "# prod\nacc1:tok1\n\n acc2 : tok2 \n", want: Credentials{"acc1": "tok1", "acc2": "tok2"}},
		{name: "no colon", in: "acc1 tok1\n", wantErr: "line 1: want ACCOUNT_ID:TOKEN"},
		{name: "empty token", in: "acc1:\n", wantErr: "line 1: want ACCOUNT_ID:TOKEN"},
		{name: "bad account", in: "a b:tok\n", wantErr: `line 1: account id "a b" is not valid`},
		{name: "duplicate", in: "acc1:t1\nacc1:t2\n", wantErr: "line 2: account acc1 is listed twice"},
		{name: "empty file", in: "# nothing\n", wantErr: "holds no ACCOUNT_ID:TOKEN line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials("creds", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "tok") {
					t.Fatalf("the error shows a token: %v", err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %v, %v", got, err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("account %s: got %q", k, got[k])
				}
			}
		})
	}
}

func TestCredentialsNeverPrintTokens(t *testing.T) {
	c := Credentials{"acc1": testToken}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, testToken) || !strings.Contains(s, "acc1") {
			t.Fatalf("%q", s)
		}
	}
	path := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(path, []byte("acc1:"+testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadCredentials(path); err != nil || got["acc1"] != testToken {
		t.Fatalf("load: %v %v", got, err)
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c, err := CredentialsFromEnv(env(nil)); c != nil || err != nil {
		t.Fatalf("unset: %v %v", c, err)
	}
	if _, err := CredentialsFromEnv(env(map[string]string{EnvAPIToken: "t"})); err == nil {
		t.Fatal("a token without an account must be an error")
	}
	c, err := CredentialsFromEnv(env(map[string]string{EnvAPIToken: "t", EnvAccountID: "a"}))
	if err != nil || c["a"] != "t" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestComment(t *testing.T) {
	m := Marker("0123456789abcdef")
	if got := Comment(m, ""); got != m {
		t.Fatalf("%q", got)
	}
	long := Comment(m, strings.Repeat("é", 200))
	if n := len([]rune(long)); n != MaxCommentLen || !Owned(long, m) {
		t.Fatalf("%d runes, owned %v", n, Owned(long, m))
	}
	if Owned("conflux-sync:ffffffffffffffff", m) || Owned("anything", "") {
		t.Fatal("another cluster's marker (or none) is not ours")
	}
}

// newEmulator serves the emulator and returns clients for testAccount.
func newEmulator(t *testing.T) (*emu.Server, *Clients) {
	t.Helper()
	e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
	e.AddAccount(testAccount)
	e.AddZone(testAccount, "example.com")
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := New(Config{Credentials: Credentials{testAccount: testToken}, BaseURL: srv.URL + "/client/v4", RateLimit: 1000, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

func TestCallClassifiesErrors(t *testing.T) {
	e, c := newEmulator(t)
	a, err := c.Account("")
	if err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context) error {
		_, _, err := a.API.ListTunnels(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelListParams{})
		return err
	}
	tests := []struct {
		name       string
		fault      emu.Fault
		status     int
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "429 with Retry-After", fault: emu.Fault{Status: 429, Count: 1, RetryAfter: 3}, status: 429, retryAfter: 3 * time.Second},
		{name: "502", fault: emu.Fault{Status: 502, Count: 1}, status: 502},
		{name: "403", fault: emu.Fault{Status: 403, Count: 1}, status: 403, permanent: true},
		{name: "400", fault: emu.Fault{Status: 400, Count: 1}, status: 400, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.AddFault(tt.fault)
			err := Call(context.Background(), "list tunnels", list)
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
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
	if err := Call(context.Background(), "list tunnels", list); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

func TestNotFoundIsPermanentAndInspectable(t *testing.T) {
	_, c := newEmulator(t)
	a, _ := c.Account(testAccount)
	err := Call(context.Background(), "get tunnel", func(ctx context.Context) error {
		_, err := a.API.GetTunnel(ctx, cloudflare.AccountIdentifier(a.ID), "f174e90a-fafe-4643-bbbc-4a0ed4fc8415")
		return err
	})
	if StatusOf(err) != http.StatusNotFound || !engine.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
	var nf *cloudflare.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("the client's error type is lost: %T", err)
	}
}

func TestAccountSelection(t *testing.T) {
	_, c := newEmulator(t)
	if a, err := c.Account(""); err != nil || a.ID != testAccount {
		t.Fatalf("the only account: %v %v", a, err)
	}
	_, err := c.Account("other")
	if !engine.IsPermanent(err) || !strings.Contains(err.Error(), "no Cloudflare API token is configured for account other") {
		t.Fatalf("unknown account: %v", err)
	}
	two, err := New(Config{Credentials: Credentials{"a": "t1", "b": "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := two.Account(""); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "set accountId") {
		t.Fatalf("ambiguous: %v", err)
	}
}

func TestZoneIDIsCached(t *testing.T) {
	e, c := newEmulator(t)
	a, _ := c.Account(testAccount)
	ctx := context.Background()
	id, err := c.ZoneID(ctx, a, "example.com")
	if err != nil || id == "" {
		t.Fatalf("%q %v", id, err)
	}
	before := e.Requests()["GET /zones"]
	if again, err := c.ZoneID(ctx, a, "example.com"); err != nil || again != id || e.Requests()["GET /zones"] != before {
		t.Fatalf("second lookup: %q %v, %d requests", again, err, e.Requests()["GET /zones"]-before)
	}
	if _, err := c.ZoneID(ctx, a, "missing.example"); !engine.IsPermanent(err) || !strings.Contains(err.Error(), "zone missing.example is not in") {
		t.Fatalf("missing zone: %v", err)
	}
}

func TestTokenBucketPacesRequests(t *testing.T) {
	e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
	e.AddAccount(testAccount)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := New(Config{Credentials: Credentials{testAccount: testToken}, BaseURL: srv.URL + "/client/v4", RateLimit: 1, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Account(testAccount)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	calls := 0
	for ctx.Err() == nil {
		if Call(ctx, "list", func(ctx context.Context) error {
			_, _, err := a.API.ListTunnels(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelListParams{})
			return err
		}) == nil {
			calls++
		}
	}
	// A burst of 2, then one a second: a 200ms window admits exactly 2.
	if calls != 2 {
		t.Fatalf("%d calls went out; the bucket admits 2", calls)
	}
}

// TestSetCredentialsRotatesAtOnce: after SetCredentials every request
// carries the new token, also one made through an Account fetched before
// the rotation (a flush under way), so the old token can be revoked at
// Cloudflare right away; an account no longer listed has no client, and a
// set with an empty token changes nothing.
func TestSetCredentialsRotatesAtOnce(t *testing.T) {
	e, c := newEmulator(t)
	const newToken = "rotated-token-0123456789abcdef"
	list := func(a *Account) error {
		return Call(context.Background(), "list tunnels", func(ctx context.Context) error {
			_, _, err := a.API.ListTunnels(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelListParams{})
			return err
		})
	}
	before, err := c.Account(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	e.AddToken(newToken, emu.TokenScope{Accounts: []string{testAccount}})
	if err := c.SetCredentials(Credentials{testAccount: newToken}); err != nil {
		t.Fatal(err)
	}
	e.RevokeToken(testToken)
	after, err := c.Account(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*Account{"fetched before": before, "fetched after": after} {
		if err := list(a); err != nil {
			t.Errorf("%s the rotation: %v", name, err)
		}
	}
	for _, u := range e.TokenUses() {
		if u.Rejected > 0 {
			t.Errorf("the revoked token was sent %d times after the rotation", u.Rejected)
		}
	}
	if err := c.SetCredentials(Credentials{testAccount: newToken, "other": " "}); err == nil || strings.Contains(err.Error(), newToken) {
		t.Fatalf("an empty token: %v", err)
	}
	if err := list(after); err != nil {
		t.Fatalf("a refused set changed the credentials: %v", err)
	}
	if err := c.SetCredentials(Credentials{"other": newToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Account(testAccount); !engine.IsPermanent(err) {
		t.Fatalf("an account no longer listed: %v", err)
	}
}
