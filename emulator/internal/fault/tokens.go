package fault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
)

// TokensPath is the token-less endpoint that rotates an emulator's API
// tokens at run time: POST adds a token, DELETE revokes one (both with a
// JSON body {"token": "..."}; an emulator may accept more fields), GET
// lists the use of every token seen, by fingerprint.
const TokensPath = "/__emulator/tokens"

// Fingerprint names a token without revealing it: "sha256:" and the first
// 12 hex digits of its SHA-256, as conflux-sync's logs name its own tokens.
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// Fingerprints is the set of the fingerprints of tokens' keys: the
// tokens an emulator accepts, as GET /__emulator/tokens marks them.
func Fingerprints[V any](tokens map[string]V) map[string]bool {
	out := make(map[string]bool, len(tokens))
	for tok := range tokens {
		out[Fingerprint(tok)] = true
	}
	return out
}

// TokenUse is how often one token was sent, as GET /__emulator/tokens
// lists it.
type TokenUse struct {
	Fingerprint string `json:"fingerprint"`
	// Active is whether the token is accepted now.
	Active bool `json:"active"`
	// Requests counts the API requests that carried the token; Writes
	// those of them that were not GETs; Rejected those refused because
	// the token was not (or no longer) accepted.
	Requests int `json:"requests"`
	Writes   int `json:"writes"`
	Rejected int `json:"rejected"`
}

// TokenUsage counts API requests per token fingerprint. It is safe for
// concurrent use.
type TokenUsage struct {
	mu  sync.Mutex
	use map[string]*TokenUse
}

// Count records one request with token; accepted says whether the
// emulator took the token.
func (u *TokenUsage) Count(token, method string, accepted bool) {
	fp := Fingerprint(token)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.use == nil {
		u.use = map[string]*TokenUse{}
	}
	e := u.use[fp]
	if e == nil {
		e = &TokenUse{Fingerprint: fp}
		u.use[fp] = e
	}
	if !accepted {
		e.Rejected++
		return
	}
	e.Requests++
	if method != http.MethodGet {
		e.Writes++
	}
}

// List returns the counts, sorted by fingerprint; active says which
// fingerprints are accepted now (they are listed even if never used).
func (u *TokenUsage) List(active map[string]bool) []TokenUse {
	u.mu.Lock()
	defer u.mu.Unlock()
	seen := map[string]bool{}
	var out []TokenUse
	for fp, e := range u.use {
		c := *e
		c.Active = active[fp]
		out = append(out, c)
		seen[fp] = true
	}
	for fp := range active {
		if !seen[fp] {
			out = append(out, TokenUse{Fingerprint: fp, Active: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out
}

// Reset forgets the counts.
func (u *TokenUsage) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.use = nil
}

// TokenRequest is the body of POST and DELETE /__emulator/tokens.
type TokenRequest struct {
	Token string `json:"token"`
	// Accounts scopes a token the Cloudflare emulator adds (the accounts
	// it may use); the Conflux emulator ignores it.
	Accounts []string `json:"accounts,omitempty"`
}

// ServeTokens serves TokensPath: add and revoke call the emulator, list
// returns its accepted tokens' fingerprints. Errors are plain text: the
// endpoint is a test hook, not part of the emulated API.
func ServeTokens(w http.ResponseWriter, r *http.Request, u *TokenUsage, add func(TokenRequest) error, revoke func(token string) bool, active func() map[string]bool) {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		json.NewEncoder(w).Encode(u.List(active()))
		return
	case http.MethodPost, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	var req TokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Token == "" {
		http.Error(w, `{"error":"want a JSON body {\"token\": \"...\"}"}`, http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost {
		if err := add(req); err != nil {
			b, _ := json.Marshal(map[string]string{"error": err.Error()})
			http.Error(w, string(b), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"fingerprint": Fingerprint(req.Token)})
		return
	}
	if !revoke(req.Token) {
		http.Error(w, `{"error":"no such token"}`, http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"revoked": Fingerprint(req.Token)})
}
