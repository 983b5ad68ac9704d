package fault_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	cfemu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	cxemu "github.com/conflux-sync/conflux-sync/emulator/conflux"
	"github.com/conflux-sync/conflux-sync/emulator/internal/fault"
)

// TestTokensEndpoint rotates each emulator's token through
// /__emulator/tokens as a test of conflux-sync does: the new token is
// added and works, the old one is revoked and is refused at once, and the
// use of each is listed by fingerprint, never by the token.
func TestTokensEndpoint(t *testing.T) {
	const account = "0123456789abcdef0123456789abcdef"
	const oldTok, newTok = "old-token-0123456789", "new-token-9876543210"
	cf := cfemu.New(cfemu.Config{Tokens: map[string]cfemu.TokenScope{oldTok: {Accounts: []string{account}}}})
	cf.AddAccount(account)
	for _, tc := range []struct {
		name    string
		handler http.Handler
		api     string // an authenticated GET
		add     map[string]any
	}{
		{"cloudflare", cf, "/client/v4/accounts/" + account + "/cfd_tunnel", map[string]any{"token": newTok, "accounts": []string{account}}},
		{"conflux", cxemu.New(cxemu.Config{Tokens: []string{oldTok}}), "/v1/configs", map[string]any{"token": newTok}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			call := func(method, path, token string, body any) int {
				t.Helper()
				var rd *bytes.Reader
				if body != nil {
					raw, _ := json.Marshal(body)
					rd = bytes.NewReader(raw)
				} else {
					rd = bytes.NewReader(nil)
				}
				req, _ := http.NewRequest(method, srv.URL+path, rd)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := call(http.MethodGet, tc.api, newTok, nil); got != http.StatusUnauthorized {
				t.Fatalf("the new token before it was added: %d", got)
			}
			if got := call(http.MethodPost, fault.TokensPath, "", tc.add); got != http.StatusCreated {
				t.Fatalf("POST %s: %d", fault.TokensPath, got)
			}
			if got := call(http.MethodGet, tc.api, newTok, nil); got != http.StatusOK {
				t.Fatalf("the added token: %d", got)
			}
			if got := call(http.MethodDelete, fault.TokensPath, "", map[string]any{"token": oldTok}); got != http.StatusOK {
				t.Fatalf("DELETE %s: %d", fault.TokensPath, got)
			}
			if got := call(http.MethodDelete, fault.TokensPath, "", map[string]any{"token": oldTok}); got != http.StatusNotFound {
				t.Fatalf("DELETE of a revoked token: %d", got)
			}
			if got := call(http.MethodGet, tc.api, oldTok, nil); got != http.StatusUnauthorized {
				t.Fatalf("the revoked token: %d", got)
			}
			if got := call(http.MethodPost, fault.TokensPath, "", map[string]any{}); got != http.StatusBadRequest {
				t.Fatalf("POST without a token: %d", got)
			}
			resp, err := http.Get(srv.URL + fault.TokensPath)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var uses []fault.TokenUse
			var raw bytes.Buffer
			if err := json.NewDecoder(io.TeeReader(resp.Body, &raw)).Decode(&uses); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw.Bytes(), []byte(oldTok)) || bytes.Contains(raw.Bytes(), []byte(newTok)) {
				t.Fatalf("the listing shows a token: %s", raw.String())
			}
			want := map[string]fault.TokenUse{
				fault.Fingerprint(oldTok): {Fingerprint: fault.Fingerprint(oldTok), Active: false, Rejected: 1},
				fault.Fingerprint(newTok): {Fingerprint: fault.Fingerprint(newTok), Active: true, Requests: 1, Rejected: 1},
			}
			if len(uses) != len(want) {
				t.Fatalf("uses %+v", uses)
			}
			for _, u := range uses {
				if u != want[u.Fingerprint] {
					t.Errorf("use %+v, want %+v", u, want[u.Fingerprint])
				}
			}
		})
	}
}
