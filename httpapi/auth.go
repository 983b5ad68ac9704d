package httpapi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

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

// DefaultTokenRotationOverlap is how long a token that a reload removed
// from the token file stays valid by default (--token-rotation-overlap):
// long enough for every server to load the new file (the kubelet updates a
// mounted Secret within about a minute and a half) and for a running
// terraform apply or CLI call to finish with the token it started with.
const DefaultTokenRotationOverlap = 10 * time.Minute

// Tokens maps bearer tokens to roles. It is safe for concurrent use and can
// be reloaded (on SIGHUP) while requests are served. A token a reload
// removes stays valid for the overlap (SetOverlap), unless the new file
// revokes it.
type Tokens struct {
	mu      sync.RWMutex
	entries []tokenEntry
	// retiring are the tokens reloads removed, valid until their until.
	retiring []tokenEntry
	overlap  time.Duration
	now      func() time.Time
}

type tokenEntry struct {
	sum  [sha256.Size]byte
	role Role
	opts TokenOptions
	// until is when a retiring token stops being accepted; zero for the
	// tokens of the file.
	until time.Time
}

// RetiringToken is a token a reload removed that is still accepted.
type RetiringToken struct {
	// Fingerprint identifies the token in logs (TokenFingerprint).
	Fingerprint string
	Role        Role
	Until       time.Time
}

// TokenFingerprint is what logs and revoke lines name a token by: "sha256:"
// and the first 12 hex digits of the token's SHA-256, which says which
// token a client sends without revealing it. `printf %s TOKEN | sha256sum`
// shows it.
func TokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fingerprintOf(sum)
}

func fingerprintOf(sum [sha256.Size]byte) string {
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

// SetOverlap sets how long a token that a later Reload removes stays
// valid; 0 (the default) removes it at once.
func (t *Tokens) SetOverlap(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.overlap = max(d, 0)
}

// Retiring lists the removed tokens still accepted, soonest expiry first.
func (t *Tokens) Retiring() []RetiringToken {
	t.mu.RLock()
	defer t.mu.RUnlock()
	now := t.clock()
	var out []RetiringToken
	for _, e := range t.retiring {
		if now.Before(e.until) {
			out = append(out, RetiringToken{Fingerprint: fingerprintOf(e.sum), Role: e.role, Until: e.until})
		}
	}
	slices.SortFunc(out, func(a, b RetiringToken) int { return a.Until.Compare(b.Until) })
	return out
}

func (t *Tokens) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
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
	t.set(tokenFile{byRole: byRole})
	return t
}

// LoadTokens reads a token file (see LoadTokenFile) with the tokens'
// options.
func LoadTokens(path string) (*Tokens, error) {
	f, err := loadTokenFile(path)
	if err != nil {
		return nil, err
	}
	t := &Tokens{}
	t.set(f)
	return t, nil
}

// set makes f's tokens the valid ones. A token of the old set that f no
// longer lists retires: it stays valid for the overlap, unless f revokes
// it. A token f lists again (with any role) is no longer retiring.
func (t *Tokens) set(f tokenFile) {
	var entries []tokenEntry
	listed := map[[sha256.Size]byte]bool{}
	for role, toks := range f.byRole {
		for _, tok := range toks {
			sum := sha256.Sum256([]byte(tok))
			entries = append(entries, tokenEntry{sum: sum, role: role, opts: f.opts[tok]})
			listed[sum] = true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	var retiring []tokenEntry
	keep := func(e tokenEntry) {
		if listed[e.sum] || f.revokes(e.sum) {
			return
		}
		for _, r := range retiring {
			if r.sum == e.sum && r.role >= e.role {
				return
			}
		}
		retiring = append(retiring, e)
	}
	for _, e := range t.retiring {
		if now.Before(e.until) {
			keep(e)
		}
	}
	if t.overlap > 0 {
		for _, e := range t.entries {
			e.until = now.Add(t.overlap)
			keep(e)
		}
	}
	t.entries, t.retiring = entries, retiring
}

// LoadTokenFile reads a token file: one "ROLE:TOKEN" a line, "#" starts a
// comment, blank lines are ignored. Options may follow the token after
// white space: "sources=PATTERN,PATTERN" narrows the Git URLs the token may
// register (TokenOptions; LoadTokens keeps them). Errors name the line but
// never echo a token.
func LoadTokenFile(path string) (map[Role][]string, error) {
	f, err := loadTokenFile(path)
	return f.byRole, err
}

// tokenFile is a parsed token file.
type tokenFile struct {
	byRole map[Role][]string
	opts   map[string]TokenOptions
	// revoked are the tokens (their SHA-256) and fingerprints of the
	// revoke: lines; they end a retiring token's overlap at once.
	revoked      map[[sha256.Size]byte]bool
	revokedPrint []string
}

func (f tokenFile) revokes(sum [sha256.Size]byte) bool {
	if f.revoked[sum] {
		return true
	}
	full := "sha256:" + hex.EncodeToString(sum[:])
	for _, p := range f.revokedPrint {
		if strings.HasPrefix(full, p) {
			return true
		}
	}
	return false
}

// revokeRole is the pseudo-role of a line that revokes a token:
// "revoke:TOKEN" or "revoke:sha256:HEX" (a fingerprint as logs show it, or
// more of the digest).
const revokeRole = "revoke"

// minFingerprintHex is the fewest hex digits a revoke line's fingerprint
// may have (TokenFingerprint's 12).
const minFingerprintHex = 12

func loadTokenFile(path string) (tokenFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return tokenFile{}, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	out := map[Role][]string{}
	opts := map[string]TokenOptions{}
	tf := tokenFile{revoked: map[[sha256.Size]byte]bool{}}
	lineOf := map[[sha256.Size]byte]int{}
	revokeLine := map[string]int{}
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
			return tokenFile{}, fmt.Errorf("token file %s line %d: want ROLE:TOKEN", path, n)
		}
		if strings.TrimSpace(roleStr) == revokeRole {
			v := strings.TrimSpace(rest)
			if hexPart, isPrint := strings.CutPrefix(v, "sha256:"); isPrint {
				if len(hexPart) < minFingerprintHex || len(hexPart) > 2*sha256.Size || strings.Trim(hexPart, "0123456789abcdef") != "" {
					return tokenFile{}, fmt.Errorf("token file %s line %d: revoke:sha256: wants %d to %d lower-case hex digits of the token's SHA-256 (the fingerprint logs show)", path, n, minFingerprintHex, 2*sha256.Size)
				}
				tf.revokedPrint = append(tf.revokedPrint, v)
				revokeLine[v] = n
				continue
			}
			if v == "" || strings.ContainsAny(v, " \t") {
				return tokenFile{}, fmt.Errorf("token file %s line %d: want revoke:TOKEN or revoke:sha256:FINGERPRINT", path, n)
			}
			sum := sha256.Sum256([]byte(v))
			tf.revoked[sum] = true
			revokeLine[fingerprintOf(sum)] = n
			continue
		}
		role, err := ParseRole(strings.TrimSpace(roleStr))
		if err != nil {
			return tokenFile{}, fmt.Errorf("token file %s line %d: unknown role %q (want read, write, admin, or revoke to revoke a token)", path, n, strings.TrimSpace(roleStr))
		}
		fields := strings.Fields(rest)
		tok := ""
		if len(fields) > 0 {
			tok = fields[0]
		}
		if err := CheckTokenStrength(tok); err != nil {
			return tokenFile{}, fmt.Errorf("token file %s line %d: %w", path, n, err)
		}
		if len(fields) > 1 {
			o, err := parseTokenOptions(fields[1:])
			if err != nil {
				return tokenFile{}, fmt.Errorf("token file %s line %d: %w", path, n, err)
			}
			opts[tok] = o
		}
		out[role] = append(out[role], tok)
		lineOf[sha256.Sum256([]byte(tok))] = n
	}
	if err := sc.Err(); err != nil {
		return tokenFile{}, fmt.Errorf("token file %s: %w", path, err)
	}
	if len(out) == 0 {
		return tokenFile{}, fmt.Errorf("token file %s has no tokens", path)
	}
	tf.byRole, tf.opts = out, opts
	// A file that both lists and revokes a token is refused: which of the
	// two the operator meant cannot be guessed, and guessing "valid" would
	// keep a leaked token alive.
	for sum, n := range lineOf {
		if tf.revokes(sum) {
			var at int
			for p, l := range revokeLine {
				if strings.HasPrefix("sha256:"+hex.EncodeToString(sum[:]), p) {
					at = l
				}
			}
			return tokenFile{}, fmt.Errorf("token file %s line %d: the token is revoked by line %d; remove one of the two lines", path, n, at)
		}
	}
	return tf, nil
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
	f, err := loadTokenFile(path)
	if err != nil {
		return err
	}
	t.set(f)
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
// A retiring token keeps the role and options it had until its overlap
// ends.
func (t *Tokens) Lookup(token string) (Role, TokenOptions) {
	role, opts, _ := t.lookup(token)
	return role, opts
}

// lookup is Lookup that also says until when a retiring token is accepted
// (zero for a token of the file).
func (t *Tokens) lookup(token string) (Role, TokenOptions, time.Time) {
	sum := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	best, opts := RoleNone, TokenOptions{}
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 && e.role > best {
			best, opts = e.role, e.opts
		}
	}
	if best != RoleNone || len(t.retiring) == 0 {
		return best, opts, time.Time{}
	}
	now := t.clock()
	var until time.Time
	for _, e := range t.retiring {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 && now.Before(e.until) && e.role > best {
			best, opts, until = e.role, e.opts, e.until
		}
	}
	return best, opts, until
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
