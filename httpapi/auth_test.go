package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

func writeTokenFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Tokens of the shape deploy generates (`openssl rand -hex 32`) and a
// long mixed-alphabet one; the tests never echo them in a failure.
const (
	hexToken1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	hexToken2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
	hexToken3 = "fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"
	mixToken  = "Xq7vR2mLk9PzT4wNc8Bd3HsJf6Gy1Ae5"
)

func TestLoadTokenFile(t *testing.T) {
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"roles and comments", "# ops\nadmin:" + hexToken1 + "\nwrite: " + hexToken2 + " # ci\n\nread:" + mixToken + "\n", ""},
		{"unknown role", "root:" + hexToken1 + "\n", "line 1: unknown role"},
		{"no colon", hexToken1 + "\n", "line 1: want ROLE:TOKEN"},
		{"short token", "read:short\n", "line 1: token is 5 characters, shorter than 32"},
		{"empty", "# nothing\n", "has no tokens"},
		{"sources option", "write:" + hexToken1 + " sources=https://github.com/acme,ssh://github.com/acme\n", ""},
		{"bad sources pattern", "write:" + hexToken1 + " sources=github.com\n", "line 1: sources=: \"github.com\""},
		{"empty sources", "write:" + hexToken1 + " sources=\n", "lists no pattern"},
		{"unknown option", "write:" + hexToken1 + " scope=x\n", `unknown option "scope"`},
		{"text after the token", "write:" + hexToken1 + " " + hexToken2 + "\n", "unexpected text after the token"},
		// deploy/base's placeholder, found running in the issue.
		{"deploy placeholder", "# tokens\nadmin:replace-with-a-random-admin-token\n", "line 2: token is a placeholder"},
		{"example overlay placeholder", "admin:example-admin-token-NOT-A-SECRET\n", "line 1: token is a placeholder"},
		{"changeme", "admin:changeme-changeme-changeme-changeme\n", "token is a placeholder"},
		{"few distinct characters", "admin:abababababababababababababababab\n", "only 2 different characters"},
		{"decimal digits only", "admin:31415926535897932384626433832795028\n", "bits of strength, under 128"},
		{"not ASCII", "admin:" + hexToken1[:40] + "é" + hexToken1[40:] + "\n", "outside visible ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTokenFile(writeTokenFile(t, tc.content))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
			}
			for _, tok := range []string{hexToken1, "replace-with-a-random-admin-token", "abababababababababababababababab", "31415926535897932384626433832795028"} {
				if strings.Contains(err.Error(), tok) {
					t.Fatal("error message leaks a token")
				}
			}
		})
	}
}

// TestCheckTokenStrengthRandomHex: every token deploy generates must pass.
func TestCheckTokenStrengthRandomHex(t *testing.T) {
	for i := range 2000 {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		if err := CheckTokenStrength(hex.EncodeToString(b)); err != nil {
			t.Fatalf("random token %d refused: %v", i, err)
		}
	}
}

func TestTokenRolesAndReload(t *testing.T) {
	path := writeTokenFile(t, "admin:"+hexToken1+"\nread:"+hexToken2+"\n")
	byRole, err := LoadTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokens(byRole)
	for tok, want := range map[string]Role{hexToken1: RoleAdmin, hexToken2: RoleRead, "other": RoleNone, "": RoleNone} {
		if got := tokens.Role(tok); got != want {
			t.Errorf("Role(%q) = %s, want %s", tok, got, want)
		}
	}
	// Rotation: the new file replaces the old tokens.
	os.WriteFile(path, []byte("write:"+hexToken3+"\n"), 0o600)
	if err := tokens.Reload(path); err != nil {
		t.Fatal(err)
	}
	if tokens.Role(hexToken1) != RoleNone || tokens.Role(hexToken3) != RoleWrite {
		t.Fatal("reload did not replace the tokens")
	}
	// A broken file keeps the current tokens.
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if err := tokens.Reload(path); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	if tokens.Role(hexToken3) != RoleWrite {
		t.Fatal("a failed reload dropped the working tokens")
	}
	// So does a file whose only fault is a placeholder token.
	os.WriteFile(path, []byte("write:"+hexToken1+"\nadmin:replace-with-a-random-admin-token\n"), 0o600)
	if err := tokens.Reload(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("reload of a file with a placeholder: %v, want an error naming line 2", err)
	}
	if tokens.Role(hexToken3) != RoleWrite || tokens.Role(hexToken1) != RoleNone {
		t.Fatal("a refused reload changed the tokens in force")
	}
}

func TestTokenSourcesOption(t *testing.T) {
	path := writeTokenFile(t, "write:"+hexToken1+" sources=https://github.com/acme\nwrite:"+hexToken2+"\n")
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	role, opts := tokens.Lookup(hexToken1)
	if role != RoleWrite || len(opts.Sources) != 1 || opts.Sources[0].String() != "https://github.com/acme" {
		t.Errorf("narrow token: %s %+v", role, opts)
	}
	if role, opts := tokens.Lookup(hexToken2); role != RoleWrite || opts.Sources != nil {
		t.Errorf("wide token: %s %+v", role, opts)
	}
	// A reload keeps the options of the new file.
	os.WriteFile(path, []byte("write:"+hexToken1+"\n"), 0o600)
	if err := tokens.Reload(path); err != nil {
		t.Fatal(err)
	}
	if _, opts := tokens.Lookup(hexToken1); opts.Sources != nil {
		t.Errorf("after the reload the token is still narrowed: %+v", opts)
	}
}

func TestRedactSource(t *testing.T) {
	src := api.Source{Source: api.SourceRef{Kind: api.SourceKindGit, Name: "old"}, Spec: []byte(`{"url":"https://ci:hunter2@git.example.com/c.git","interval":"1m"}`)}
	got := redactSource(src)
	if strings.Contains(string(got.Spec), "hunter2") || !strings.Contains(string(got.Spec), "https://REDACTED:REDACTED@git.example.com/c.git") || !strings.Contains(string(got.Spec), `"interval":"1m"`) {
		t.Errorf("redactSource: %s", got.Spec)
	}
	clean := api.Source{Source: api.SourceRef{Kind: api.SourceKindGit, Name: "new"}, Spec: []byte(`{"url":"git@github.com:o/r.git"}`)}
	if got := redactSource(clean); string(got.Spec) != string(clean.Spec) {
		t.Errorf("redactSource changed a URL without credentials: %s", got.Spec)
	}
}

// TestTokenRotationOverlap: a token a reload removes stays valid, with
// its role, for the overlap and no longer; a revoke: line (by token or
// fingerprint) or an overlap of 0 ends it at once; a role change takes
// effect at once.
func TestTokenRotationOverlap(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	type step struct {
		file    string
		advance time.Duration
		want    map[string]Role
		wantErr string
	}
	for _, tc := range []struct {
		name    string
		overlap time.Duration
		steps   []step
	}{
		{"removed token retires for the overlap", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\n", want: map[string]Role{hexToken1: RoleAdmin, hexToken2: RoleAdmin}},
			{advance: 9 * time.Minute, want: map[string]Role{hexToken1: RoleAdmin, hexToken2: RoleAdmin}},
			{advance: time.Minute, want: map[string]Role{hexToken1: RoleNone, hexToken2: RoleAdmin}},
		}},
		{"overlap 0 removes at once", 0, []step{
			{file: "admin:" + hexToken2 + "\n", want: map[string]Role{hexToken1: RoleNone, hexToken2: RoleAdmin}},
		}},
		{"revoke by token", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\n", want: map[string]Role{hexToken1: RoleAdmin}},
			{file: "admin:" + hexToken2 + "\nrevoke:" + hexToken1 + "\n", want: map[string]Role{hexToken1: RoleNone, hexToken2: RoleAdmin}},
		}},
		{"revoke by fingerprint in the same reload", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\nrevoke:" + TokenFingerprint(hexToken1) + "\n", want: map[string]Role{hexToken1: RoleNone, hexToken2: RoleAdmin}},
		}},
		{"a later reload keeps the first deadline", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\n", want: map[string]Role{hexToken1: RoleAdmin}},
			{advance: 6 * time.Minute, file: "admin:" + hexToken3 + "\n", want: map[string]Role{hexToken1: RoleAdmin, hexToken2: RoleAdmin, hexToken3: RoleAdmin}},
			{advance: 5 * time.Minute, want: map[string]Role{hexToken1: RoleNone, hexToken2: RoleAdmin, hexToken3: RoleAdmin}},
		}},
		{"a role change is at once", 10 * time.Minute, []step{
			{file: "read:" + hexToken1 + "\n", want: map[string]Role{hexToken1: RoleRead}},
		}},
		{"listed again is no longer retiring", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\n"},
			{file: "admin:" + hexToken2 + "\nwrite:" + hexToken1 + "\n"},
			{advance: time.Hour, want: map[string]Role{hexToken1: RoleWrite, hexToken2: RoleAdmin}},
		}},
		{"listed and revoked is refused", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\nrevoke:" + TokenFingerprint(hexToken2) + "\n", wantErr: "line 1: the token is revoked by line 2",
				want: map[string]Role{hexToken1: RoleAdmin, hexToken2: RoleNone}},
		}},
		{"short fingerprint is refused", 10 * time.Minute, []step{
			{file: "admin:" + hexToken2 + "\nrevoke:sha256:abc\n", wantErr: "line 2: revoke:sha256: wants 12 to 64"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTokenFile(t, "admin:"+hexToken1+"\n")
			tokens, err := LoadTokens(path)
			if err != nil {
				t.Fatal(err)
			}
			clock := now
			tokens.now = func() time.Time { return clock }
			tokens.SetOverlap(tc.overlap)
			for i, s := range tc.steps {
				clock = clock.Add(s.advance)
				if s.file != "" {
					os.WriteFile(path, []byte(s.file), 0o600)
					err := tokens.Reload(path)
					if s.wantErr == "" && err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
						t.Fatalf("step %d: got %v, want an error containing %q", i, err, s.wantErr)
					}
					if err != nil && (strings.Contains(err.Error(), hexToken1) || strings.Contains(err.Error(), hexToken2)) {
						t.Fatalf("step %d: the error leaks a token", i)
					}
				}
				for tok, want := range s.want {
					if got := tokens.Role(tok); got != want {
						t.Errorf("step %d: token %s has role %s, want %s", i, TokenFingerprint(tok), got, want)
					}
				}
			}
		})
	}
}

// TestRetiringTokenAnswer: a request with a retiring token is served,
// says until when in a header, and is logged by the token's fingerprint,
// never the token.
func TestRetiringTokenAnswer(t *testing.T) {
	path := writeTokenFile(t, "admin:"+hexToken1+"\n")
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens.SetOverlap(time.Hour)
	os.WriteFile(path, []byte("admin:"+hexToken2+"\n"), 0o600)
	if err := tokens.Reload(path); err != nil {
		t.Fatal(err)
	}
	if r := tokens.Retiring(); len(r) != 1 || r[0].Fingerprint != TokenFingerprint(hexToken1) || r[0].Role != RoleAdmin {
		t.Fatalf("Retiring() = %+v", r)
	}
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
		role, _, until := tokens.lookup(hexToken1)
		if role != RoleAdmin || until.IsZero() {
			t.Fatalf("lookup of the retiring token: %s until %v", role, until)
		}
		s.retiringTokenUsed(rec, req, hexToken1, until)
		ok.ServeHTTP(rec, req)
		if h := rec.Header().Get(TokenExpiresHeader); h != until.UTC().Format(time.RFC3339) {
			t.Errorf("%s: %q, want %s", TokenExpiresHeader, h, until.UTC().Format(time.RFC3339))
		}
	}
	if n := strings.Count(logs.String(), "retiring token"); n != 1 {
		t.Errorf("%d warnings for three requests within a minute, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), TokenFingerprint(hexToken1)) || strings.Contains(logs.String(), hexToken1) {
		t.Errorf("the warning must name the fingerprint and never the token:\n%s", logs.String())
	}
}
