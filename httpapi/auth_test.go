package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
