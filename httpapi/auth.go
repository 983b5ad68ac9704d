package httpapi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/conflux-sync/conflux-sync/api"
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
	opts TokenOptions
}

// TokenOptions are the options written after a token in the token file,
// "ROLE:TOKEN sources=PATTERN,PATTERN".
type TokenOptions struct {
	// Sources narrows the Git URLs the token may register (sources=):
	// a URL must match one of them and the server's --source-allow. Nil:
	// --source-allow alone.
	Sources []api.GitURLPattern
}

// NewTokens builds a token set from role → tokens.
func NewTokens(byRole map[Role][]string) *Tokens {
	t := &Tokens{}
	t.set(byRole, nil)
	return t
}

// LoadTokens reads a token file (see LoadTokenFile) with the tokens'
// options.
func LoadTokens(path string) (*Tokens, error) {
	byRole, opts, err := loadTokenFile(path)
	if err != nil {
		return nil, err
	}
	t := &Tokens{}
	t.set(byRole, opts)
	return t, nil
}

func (t *Tokens) set(byRole map[Role][]string, opts map[string]TokenOptions) {
	var entries []tokenEntry
	for role, toks := range byRole {
		for _, tok := range toks {
			entries = append(entries, tokenEntry{sum: sha256.Sum256([]byte(tok)), role: role, opts: opts[tok]})
		}
	}
	t.mu.Lock()
	t.entries = entries
	t.mu.Unlock()
}

// LoadTokenFile reads a token file: one "ROLE:TOKEN" a line, "#" starts a
// comment, blank lines are ignored. Options may follow the token after
// white space: "sources=PATTERN,PATTERN" narrows the Git URLs the token may
// register (TokenOptions; LoadTokens keeps them). Errors name the line but
// never echo a token.
func LoadTokenFile(path string) (map[Role][]string, error) {
	byRole, _, err := loadTokenFile(path)
	return byRole, err
}

func loadTokenFile(path string) (map[Role][]string, map[string]TokenOptions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	out := map[Role][]string{}
	opts := map[string]TokenOptions{}
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
		roleStr, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, fmt.Errorf("token file %s line %d: want ROLE:TOKEN", path, n)
		}
		role, err := ParseRole(strings.TrimSpace(roleStr))
		if err != nil {
			return nil, nil, fmt.Errorf("token file %s line %d: %w", path, n, err)
		}
		fields := strings.Fields(rest)
		tok := ""
		if len(fields) > 0 {
			tok = fields[0]
		}
		if err := CheckTokenStrength(tok); err != nil {
			return nil, nil, fmt.Errorf("token file %s line %d: %w", path, n, err)
		}
		if len(fields) > 1 {
			o, err := parseTokenOptions(fields[1:])
			if err != nil {
				return nil, nil, fmt.Errorf("token file %s line %d: %w", path, n, err)
			}
			opts[tok] = o
		}
		out[role] = append(out[role], tok)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("token file %s has no tokens", path)
	}
	return out, opts, nil
}

// parseTokenOptions parses the key=value options after a token. Errors
// name a key, never the text itself (a token with a space in it would
// otherwise be echoed).
func parseTokenOptions(fields []string) (TokenOptions, error) {
	var o TokenOptions
	for _, f := range fields {
		key, value, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return o, fmt.Errorf("unexpected text after the token: options are key=value (sources=PATTERN,PATTERN)")
		case key == "sources":
			if o.Sources != nil {
				return o, fmt.Errorf("sources= is given twice")
			}
			ps, err := api.ParseGitURLPatterns(value)
			if err != nil {
				return o, fmt.Errorf("sources=: %w", err)
			}
			if len(ps) == 0 {
				return o, fmt.Errorf("sources= lists no pattern")
			}
			o.Sources = ps
		default:
			return o, fmt.Errorf("unknown option %q (want sources=PATTERN,PATTERN)", key)
		}
	}
	return o, nil
}

// Reload replaces the tokens with those of path. On error the old set stays.
func (t *Tokens) Reload(path string) error {
	byRole, opts, err := loadTokenFile(path)
	if err != nil {
		return err
	}
	t.set(byRole, opts)
	return nil
}

// Role returns the role of a presented token, comparing in constant time
// against every known token so timing does not reveal which one matched.
func (t *Tokens) Role(token string) Role {
	role, _ := t.Lookup(token)
	return role
}

// Lookup returns the role of a presented token and the options of its
// line (of the line with the highest role, when a token is listed twice).
func (t *Tokens) Lookup(token string) (Role, TokenOptions) {
	sum := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	best, opts := RoleNone, TokenOptions{}
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 && e.role > best {
			best, opts = e.role, e.opts
		}
	}
	return best, opts
}

type callerKey struct{}

// caller is who made a request: the token's role and options.
type caller struct {
	role Role
	opts TokenOptions
}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerOf returns the caller of an authorized request (RoleNone when
// the request was not authorized, e.g. a producer inside the node).
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
