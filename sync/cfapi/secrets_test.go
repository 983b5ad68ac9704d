package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// fakeSecrets is an in-memory SecretReader.
type fakeSecrets struct {
	mu sync.Mutex
	m  map[api.SecretRef]string
}

func (f *fakeSecrets) set(ref api.SecretRef, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[ref] = v
}

func (f *fakeSecrets) delete(ref api.SecretRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, ref)
}

func (f *fakeSecrets) SecretValue(_ context.Context, ref api.SecretRef) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[ref]
	if !ok {
		return "", fmt.Errorf("%s: %w", ref, ErrSecretNotFound)
	}
	return v, nil
}

var secretRef = api.SecretRef{Namespace: "infra", Name: "cloudflare", Key: "token"}

// newSecretEnv serves the emulator (testToken scoped to testAccount) and
// returns clients without static credentials reading from the fake.
func newSecretEnv(t *testing.T, cfg Config) (*emu.Server, *fakeSecrets, *Clients) {
	t.Helper()
	e := emu.New(emu.Config{Tokens: map[string]emu.TokenScope{testToken: {Accounts: []string{testAccount}}}})
	e.AddAccount(testAccount)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	fs := &fakeSecrets{m: map[api.SecretRef]string{}}
	cfg.Secrets, cfg.BaseURL = fs, srv.URL+"/client/v4"
	if cfg.RateLimit == 0 {
		cfg.RateLimit = rate.Inf
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, fs, c
}

func listTunnels(ctx context.Context, a *Account) error {
	return Call(ctx, "list tunnels", func(ctx context.Context) error {
		_, _, err := a.API.ListTunnels(ctx, cloudflare.AccountIdentifier(a.ID), cloudflare.TunnelListParams{})
		return err
	})
}

func TestForReadsTokensFromSecrets(t *testing.T) {
	ctx := context.Background()
	other := api.SecretRef{Namespace: "infra", Name: "other", Key: "token"}
	tests := []struct {
		name    string
		setup   func(fs *fakeSecrets)
		account string
		ref     *api.SecretRef
		noRead  bool // New without a SecretReader
		// wantErr is "" for a client that lists tunnels successfully.
		wantErr     string
		permanent   bool
		atCall      bool // the error comes from the API call, not from For
		wantInError string
	}{
		{name: "token from a Secret", setup: func(fs *fakeSecrets) { fs.set(secretRef, testToken+"\n") }, account: testAccount, ref: &secretRef},
		{name: "no account", setup: func(fs *fakeSecrets) { fs.set(secretRef, testToken) }, ref: &secretRef,
			wantErr: "accountId is required with credentials from a Secret", permanent: true, wantInError: secretRef.String()},
		{name: "missing Secret is retryable", account: testAccount, ref: &secretRef,
			wantErr: "does not exist", wantInError: secretRef.String()},
		{name: "empty value is retryable", setup: func(fs *fakeSecrets) { fs.set(secretRef, " \n") }, account: testAccount, ref: &secretRef,
			wantErr: "the value is empty", wantInError: secretRef.String()},
		{name: "wrong token", setup: func(fs *fakeSecrets) { fs.set(other, "wrong-"+testToken) }, account: testAccount, ref: &other,
			wantErr: "Cloudflare rejected the API token from Secret infra/other key token", permanent: true, atCall: true},
		{name: "no SecretReader", noRead: true, account: testAccount, ref: &secretRef,
			wantErr: "cannot read Kubernetes Secrets", permanent: true, wantInError: secretRef.String()},
		{name: "nil ref and no static credentials", account: testAccount,
			wantErr: "no Cloudflare API token is configured for account acc1", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fs, c := newSecretEnv(t, Config{})
			if tt.noRead {
				c.cfg.Secrets = nil
			}
			if tt.setup != nil {
				tt.setup(fs)
			}
			a, err := c.For(ctx, tt.account, tt.ref)
			if tt.atCall {
				if err != nil {
					t.Fatalf("For: %v", err)
				}
				err = listTunnels(ctx, a)
			} else if err == nil && tt.wantErr == "" {
				err = listTunnels(ctx, a)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.ID != tt.account || a.Credentials == nil || *a.Credentials != *tt.ref {
					t.Fatalf("account %+v", a)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantInError) {
				t.Fatalf("got %v, want an error containing %q and %q", err, tt.wantErr, tt.wantInError)
			}
			if engine.IsPermanent(err) != tt.permanent {
				t.Fatalf("permanent = %v, want %v: %v", engine.IsPermanent(err), tt.permanent, err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), testToken) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func TestForRejectedTokenKeepsClassification(t *testing.T) {
	_, fs, c := newSecretEnv(t, Config{})
	fs.set(secretRef, "not-a-known-token")
	a, err := c.For(context.Background(), testAccount, &secretRef)
	if err != nil {
		t.Fatal(err)
	}
	err = listTunnels(context.Background(), a)
	var ce *Error
	if StatusOf(err) != 401 || !engine.IsPermanent(err) || !errors.As(err, &ce) || !HasCode(err, 10000) {
		t.Fatalf("got %v", err)
	}
}

func TestForCachesAndFollowsRotation(t *testing.T) {
	e, fs, c := newSecretEnv(t, Config{})
	ctx := context.Background()
	fs.set(secretRef, testToken)
	a1, err := c.For(ctx, testAccount, &secretRef)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.For(ctx, testAccount, &secretRef); err != nil || again != a1 {
		t.Fatalf("the client of an unchanged token is rebuilt: %v", err)
	}
	// Rotation: the next For uses the new token.
	e.AddToken("rotated-token", emu.TokenScope{Accounts: []string{testAccount}})
	fs.set(secretRef, "rotated-token")
	a2, err := c.For(ctx, testAccount, &secretRef)
	if err != nil || a2 == a1 {
		t.Fatalf("rotation not picked up: %v", err)
	}
	if err := listTunnels(ctx, a2); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	n := len(c.secretClients)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d cached clients; the rotated-out one must go", n)
	}
}

func TestForRemembersTheLastTokenAfterTheSecretIsGone(t *testing.T) {
	_, fs, c := newSecretEnv(t, Config{})
	ctx := context.Background()
	fs.set(secretRef, testToken)
	if _, err := c.For(ctx, testAccount, &secretRef); err != nil {
		t.Fatal(err)
	}
	fs.delete(secretRef)
	a, err := c.For(ctx, testAccount, &secretRef)
	if err != nil {
		t.Fatalf("the remembered token is not used: %v", err)
	}
	if err := listTunnels(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Another Secret never read stays unresolvable.
	other := api.SecretRef{Namespace: "infra", Name: "never", Key: "token"}
	if _, err := c.For(ctx, testAccount, &other); err == nil || engine.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
}

// The token bucket is per account: a static client and a Secret client of
// one account share it; another account has its own.
func TestLimiterIsSharedPerAccount(t *testing.T) {
	e, fs, c := newSecretEnv(t, Config{
		Credentials: Credentials{testAccount: testToken},
		RateLimit:   rate.Every(time.Hour), Burst: 2,
	})
	e.AddAccount("acc2")
	e.AddToken("tok2", emu.TokenScope{Accounts: []string{"acc2"}})
	fs.set(secretRef, testToken)
	fs.set(api.SecretRef{Namespace: "b", Name: "b", Key: "k"}, "tok2")
	ctx := context.Background()
	static, err := c.Account(testAccount)
	if err != nil {
		t.Fatal(err)
	}
	fromSecret, err := c.For(ctx, testAccount, &secretRef)
	if err != nil {
		t.Fatal(err)
	}
	acc2, err := c.For(ctx, "acc2", &api.SecretRef{Namespace: "b", Name: "b", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// The burst of 2 is spent by one call through each client of acc1.
	for _, a := range []*Account{static, fromSecret} {
		if err := listTunnels(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// A third call of acc1, through either client, would wait an hour:
	// the limiter refuses at once under a deadline.
	for name, a := range map[string]*Account{"static": static, "secret": fromSecret} {
		short, cancel := context.WithTimeout(ctx, time.Minute)
		err := listTunnels(short, a)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "rate") {
			t.Fatalf("%s client: got %v, want the shared bucket to be empty", name, err)
		}
	}
	if err := listTunnels(ctx, acc2); err != nil {
		t.Fatalf("another account's bucket: %v", err)
	}
}

func TestCredentialsEncoding(t *testing.T) {
	ref := &api.SecretRef{Namespace: "ns", Name: "cf-token", Key: "api.token"}
	if got := EncodeCredentials(ref); got != "ns/cf-token/api.token" {
		t.Fatalf("%q", got)
	}
	if got, err := DecodeCredentials(EncodeCredentials(ref)); err != nil || *got != *ref {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := DecodeCredentials(""); got != nil || err != nil || EncodeCredentials(nil) != "" {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"ns/name", "ns//key", "a/b/c/d"} {
		if _, err := DecodeCredentials(bad); err == nil || !engine.IsPermanent(err) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	ids := SetCredentials(map[string]string{}, nil)
	if _, ok := ids[IDCredentials]; ok {
		t.Fatal("static credentials must not be recorded")
	}
	if got, _ := CredentialsOf(SetCredentials(ids, ref)); *got != *ref {
		t.Fatalf("%v", got)
	}
}

func TestValidateCredentials(t *testing.T) {
	tests := []struct {
		ref   *api.SecretRef
		field string
	}{
		{ref: nil},
		{ref: &api.SecretRef{Namespace: "ns", Name: "n", Key: "k"}},
		{ref: &api.SecretRef{Name: "n", Key: "k"}, field: "spec.credentials.namespace"},
		{ref: &api.SecretRef{Namespace: "ns", Key: "k"}, field: "spec.credentials.name"},
		{ref: &api.SecretRef{Namespace: "ns", Name: "n"}, field: "spec.credentials.key"},
		{ref: &api.SecretRef{Namespace: "ns", Name: "a/b", Key: "k"}, field: "spec.credentials.name"},
		{ref: &api.SecretRef{Namespace: "ns", Name: "n", Key: "k k"}, field: "spec.credentials.key"},
	}
	for _, tt := range tests {
		fe := ValidateCredentials(tt.ref)
		if (fe == nil) != (tt.field == "") || fe != nil && fe.Field != tt.field {
			t.Errorf("%+v: got %v, want field %q", tt.ref, fe, tt.field)
		}
	}
}

// objectFields is an ObjectFieldReader answering one value or one error.
type objectFields struct {
	v   string
	err error
}

func (o objectFields) ObjectFieldValue(context.Context, api.ObjectFieldRef) (string, error) {
	return o.v, o.err
}

// An inline secret is read through the configured reader; without one the
// error is permanent, a read error or an empty value retryable, and every
// error names the object's field.
func TestObjectFieldValue(t *testing.T) {
	ref := api.ObjectFieldRef{APIVersion: "networking.cloudflare-operator.io/v1alpha2", Kind: "AccessIdentityProvider", Name: "oidc", Field: "spec.config.clientSecret"}
	for _, tc := range []struct {
		name      string
		reader    ObjectFieldReader
		want, err string
		permanent bool
	}{
		{"read", objectFields{v: "s3cr3t"}, "s3cr3t", "", false},
		{"no reader", nil, "", "cannot read Kubernetes objects", true},
		{"not found", objectFields{err: errors.New("AccessIdentityProvider oidc not found")}, "", "not found", false},
		{"empty", objectFields{}, "", "the value is empty", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{Objects: tc.reader, BaseURL: "http://127.0.0.1:1/client/v4"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.ObjectFieldValue(context.Background(), ref)
			if tc.err == "" {
				if err != nil || v != tc.want {
					t.Fatalf("got %q, %v", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "AccessIdentityProvider oidc") ||
				!strings.Contains(err.Error(), "spec.config.clientSecret") || engine.IsPermanent(err) != tc.permanent {
				t.Fatalf("err %v (permanent %v), want %q permanent %v", err, engine.IsPermanent(err), tc.err, tc.permanent)
			}
		})
	}
}
