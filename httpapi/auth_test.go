package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestLoadTokenFile(t *testing.T) {
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"roles and comments", "# ops\nadmin:aaaaaaaaaaaaaaaaaaaa\nwrite: bbbbbbbbbbbbbbbbbbbb # ci\n\nread:cccccccccccccccccccc\n", ""},
		{"unknown role", "root:aaaaaaaaaaaaaaaaaaaa\n", "line 1: unknown role"},
		{"no colon", "aaaaaaaaaaaaaaaaaaaa\n", "line 1: want ROLE:TOKEN"},
		{"short token", "read:short\n", "shorter than 16"},
		{"empty", "# nothing\n", "has no tokens"},
		{"sources option", "write:aaaaaaaaaaaaaaaaaaaa sources=https://github.com/acme,ssh://github.com/acme\n", ""},
		{"bad sources pattern", "write:aaaaaaaaaaaaaaaaaaaa sources=github.com\n", "line 1: sources=: \"github.com\""},
		{"empty sources", "write:aaaaaaaaaaaaaaaaaaaa sources=\n", "lists no pattern"},
		{"unknown option", "write:aaaaaaaaaaaaaaaaaaaa scope=x\n", `unknown option "scope"`},
		{"text after the token", "write:aaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaa\n", "unexpected text after the token"},
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
			if strings.Contains(err.Error(), "aaaaaaaaaaaaaaaaaaaa") {
				t.Fatal("error message leaks a token")
			}
		})
	}
}

func TestTokenRolesAndReload(t *testing.T) {
	path := writeTokenFile(t, "admin:admin-token-0000000000\nread:read-token-00000000000\n")
	byRole, err := LoadTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens := NewTokens(byRole)
	for tok, want := range map[string]Role{"admin-token-0000000000": RoleAdmin, "read-token-00000000000": RoleRead, "other": RoleNone, "": RoleNone} {
		if got := tokens.Role(tok); got != want {
			t.Errorf("Role(%q) = %s, want %s", tok, got, want)
		}
	}
	// Rotation: the new file replaces the old tokens.
	os.WriteFile(path, []byte("write:new-token-000000000000\n"), 0o600)
	if err := tokens.Reload(path); err != nil {
		t.Fatal(err)
	}
	if tokens.Role("admin-token-0000000000") != RoleNone || tokens.Role("new-token-000000000000") != RoleWrite {
		t.Fatal("reload did not replace the tokens")
	}
	// A broken file keeps the current tokens.
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	if err := tokens.Reload(path); err == nil {
		t.Fatal("reload of a broken file succeeded")
	}
	if tokens.Role("new-token-000000000000") != RoleWrite {
		t.Fatal("a failed reload dropped the working tokens")
	}
}

func TestTokenSourcesOption(t *testing.T) {
	path := writeTokenFile(t, "write:narrow-token-000000000000 sources=https://github.com/acme\nwrite:wide-token-00000000000000\n")
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	role, opts := tokens.Lookup("narrow-token-000000000000")
	if role != RoleWrite || len(opts.Sources) != 1 || opts.Sources[0].String() != "https://github.com/acme" {
		t.Errorf("narrow token: %s %+v", role, opts)
	}
	if role, opts := tokens.Lookup("wide-token-00000000000000"); role != RoleWrite || opts.Sources != nil {
		t.Errorf("wide token: %s %+v", role, opts)
	}
	// A reload keeps the options of the new file.
	os.WriteFile(path, []byte("write:narrow-token-000000000000\n"), 0o600)
	if err := tokens.Reload(path); err != nil {
		t.Fatal(err)
	}
	if _, opts := tokens.Lookup("narrow-token-000000000000"); opts.Sources != nil {
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
