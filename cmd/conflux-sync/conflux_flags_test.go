package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfluxTokenFile: the file holds the token alone; anything else is
// refused naming the file and line, never the token (the server keeps the
// token in force when a reload is refused).
func TestConfluxTokenFile(t *testing.T) {
	const tok = "cx0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, content, want, wantErr string
	}{
		{"token and newline", tok + "\n", tok, ""},
		{"white space around", "\n  " + tok + "\t\n\n", tok, ""},
		{"empty", "", "", "is empty"},
		{"blank lines", "\n \n", "", "is empty"},
		{"two lines", tok + "\nsecond-line\n", "", "line 2: the file holds more than one line"},
		{"space inside", "Bearer " + tok + "\n", "", "line 1: a token holds no white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "conflux-token")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := (&confluxFlags{tokenFile: path}).readTokenFile()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("got %v, want an error naming %s and containing %q", err, path, tc.wantErr)
				}
				if strings.Contains(err.Error(), tok) {
					t.Fatal("the error shows the token")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}
