package httpapi

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
)

// Role is what a token may do. Each role includes the ones below it.
type Role int

// Roles, weakest first.
const (
	RoleNone Role = iota
	RoleRead
	RoleWrite
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	case RoleAdmin:
		return "admin"
	default:
		return "none"
	}
}

// ParseRole parses "read", "write" or "admin".
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "write":
		return RoleWrite, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("unknown role %q (want read, write or admin)", s)
}

// Tokens maps bearer tokens to roles. It is safe for concurrent use and can
// be reloaded (on SIGHUP) while requests are served.
type Tokens struct {
	mu      sync.RWMutex
	entries []tokenEntry
}

type tokenEntry struct {
	sum  [sha256.Size]byte
	role Role
}

// NewTokens builds a token set from role → tokens.
func NewTokens(byRole map[Role][]string) *Tokens {
	t := &Tokens{}
	t.set(byRole)
	return t
}

func (t *Tokens) set(byRole map[Role][]string) {
	var entries []tokenEntry
	for role, toks := range byRole {
		for _, tok := range toks {
			entries = append(entries, tokenEntry{sum: sha256.Sum256([]byte(tok)), role: role})
		}
	}
	t.mu.Lock()
	t.entries = entries
	t.mu.Unlock()
}

// LoadTokenFile reads a token file: one "ROLE:TOKEN" a line, "#" starts a
// comment, blank lines are ignored. Errors name the line but never echo a
// token.
func LoadTokenFile(path string) (map[Role][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	out := map[Role][]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		roleStr, tok, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("token file %s line %d: want ROLE:TOKEN", path, n)
		}
		role, err := ParseRole(strings.TrimSpace(roleStr))
		if err != nil {
			return nil, fmt.Errorf("token file %s line %d: %w", path, n, err)
		}
		tok = strings.TrimSpace(tok)
		if err := CheckTokenStrength(tok); err != nil {
			return nil, fmt.Errorf("token file %s line %d: %w", path, n, err)
		}
		out[role] = append(out[role], tok)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("token file %s has no tokens", path)
	}
	return out, nil
}

// Reload replaces the tokens with those of path. On error the old set stays.
func (t *Tokens) Reload(path string) error {
	byRole, err := LoadTokenFile(path)
	if err != nil {
		return err
	}
	t.set(byRole)
	return nil
}

// Role returns the role of a presented token, comparing in constant time
// against every known token so timing does not reveal which one matched.
func (t *Tokens) Role(token string) Role {
	sum := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	best := RoleNone
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 && e.role > best {
			best = e.role
		}
	}
	return best
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
