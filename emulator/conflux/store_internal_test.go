package conflux

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// A request whose bbolt write fails answers 500 and changes nothing in
// memory either.
func TestStorageFailureChangesNothing(t *testing.T) {
	s, err := Open(Config{Tokens: []string{"t"}, DataFile: filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	if err := db.Close(); err != nil { // s.db stays set: every write now fails
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/configs",
		strings.NewReader(`{"tenant":"a","application":"b","environment":"c","name":"d","format":"json"}`))
	req.Header.Set("Authorization", "Bearer t")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if len(s.Configs()) != 0 {
		t.Fatal("a failed write changed memory")
	}
}
