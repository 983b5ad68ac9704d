package cloudflare_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

const (
	testToken = "tok-all"
	acct      = "acc1"
)

type env struct {
	emu  *emu.Server
	srv  *httptest.Server
	api  *cf.API
	zone string
}

// newEnv starts an emulator with one token scoped to acct and one zone
// example.com, and a real client configured for fast, single-attempt calls.
func newEnv(t *testing.T, cfg emu.Config) *env {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = map[string]emu.TokenScope{testToken: {Accounts: []string{acct}}}
	}
	e := serve(t, emu.New(cfg))
	e.zone = e.emu.AddZone(acct, "example.com")
	return e
}

// serve starts s over HTTP with a client for testToken; s must accept it.
func serve(t *testing.T, s *emu.Server) *env {
	t.Helper()
	e := &env{emu: s}
	e.srv = httptest.NewServer(e.emu)
	t.Cleanup(e.srv.Close)
	e.api = e.client(t, testToken)
	return e
}

func (e *env) client(t *testing.T, tok string) *cf.API {
	t.Helper()
	api, err := cf.NewWithAPIToken(tok, cf.BaseURL(e.srv.URL+"/client/v4"),
		cf.UsingRateLimit(1000), cf.UsingRetryPolicy(0, 0, 0))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return api
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func secret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// wantAPIError asserts err is a *cf.Error with status and (if non-zero) code.
func wantAPIError(t *testing.T, err error, status, code int) {
	t.Helper()
	var ce *cf.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *cloudflare.Error status %d, got %T %v", status, err, err)
	}
	if ce.StatusCode != status {
		t.Fatalf("status = %d, want %d (%v)", ce.StatusCode, status, err)
	}
	if code != 0 && !ce.InternalErrorCodeIs(code) {
		t.Fatalf("codes = %v, want %d (%v)", ce.ErrorCodes, code, err)
	}
}

func ptr[T any](v T) *T { return &v }
