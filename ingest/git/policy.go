package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/conflux-sync/conflux-sync/api"
)

// DefaultSourceAllow is the URLs a server polls unless --source-allow says
// otherwise: https and ssh to any host. Both authenticate the server (TLS
// certificates, known_hosts) and encrypt, so neither the credentials nor
// the configs published from the repository can be read or changed on the
// way. Plain http:// and git:// have neither and must be listed host by
// host; file:// is never an allow-list entry: it takes --local-sources-dir.
const DefaultSourceAllow = "https://*,ssh://*"

// URLPolicyConfig configures a URLPolicy.
type URLPolicyConfig struct {
	// Allow lists the patterns (each element may be a comma list) of the
	// URLs polled; nil or empty: DefaultSourceAllow. A file:// pattern is
	// an error: local sources are allowed by LocalSourcesDir.
	Allow []string
	// LocalSourcesDir is the only folder file:// URLs may name (after
	// resolving symlinks); empty: file:// URLs are refused.
	LocalSourcesDir string
	// Namespaces narrows the ConfluxSources of a namespace to its own
	// patterns (on top of Allow); a namespace not listed is bound by
	// Allow alone. See ParseNamespaceAllow.
	Namespaces map[string][]api.GitURLPattern
}

// URLPolicy decides which Git URLs the server polls. It is immutable and
// safe for concurrent use.
type URLPolicy struct {
	allow      []api.GitURLPattern
	localDir   string // with symlinks resolved; "" when none
	namespaces map[string][]api.GitURLPattern
}

// NewURLPolicy checks cfg: errors name the setting.
func NewURLPolicy(cfg URLPolicyConfig) (*URLPolicy, error) {
	lists := cfg.Allow
	if len(strings.Join(lists, "")) == 0 {
		lists = []string{DefaultSourceAllow}
	}
	allow, err := api.ParseGitURLPatterns(lists...)
	if err != nil {
		return nil, fmt.Errorf("--source-allow: %w", err)
	}
	for _, p := range allow {
		if p.Scheme == "file" {
			return nil, errors.New("--source-allow: file:// is not an allow-list entry; set --local-sources-dir to the folder local repositories may be read from")
		}
	}
	p := &URLPolicy{allow: allow, namespaces: cfg.Namespaces}
	if cfg.LocalSourcesDir != "" {
		abs, err := filepath.Abs(cfg.LocalSourcesDir)
		if err != nil {
			return nil, fmt.Errorf("--local-sources-dir: %w", err)
		}
		if p.localDir, err = filepath.EvalSymlinks(abs); err != nil {
			return nil, fmt.Errorf("--local-sources-dir: %w", err)
		}
		if info, err := os.Stat(p.localDir); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("--local-sources-dir: %s is not a folder", cfg.LocalSourcesDir)
		}
	}
	return p, nil
}

// defaultURLPolicy is the policy of pollers configured without one.
func defaultURLPolicy() *URLPolicy {
	p, err := NewURLPolicy(URLPolicyConfig{})
	if err != nil {
		panic(err)
	}
	return p
}

// Allow returns the server-wide patterns.
func (p *URLPolicy) Allow() []api.GitURLPattern { return slices.Clone(p.allow) }

// Namespace returns the patterns narrowing the ConfluxSources of ns; false
// when ns has none.
func (p *URLPolicy) Namespace(ns string) ([]api.GitURLPattern, bool) {
	ps, ok := p.namespaces[ns]
	return ps, ok
}

// Narrowing is an extra list a URL must match, and who set it.
type Narrowing struct {
	Patterns []api.GitURLPattern
	// By names the rule in messages, e.g. "the token's sources=".
	By string
}

// Check decides whether rawURL may be polled: it must follow
// api.ValidateGitURL, match the server's patterns (file:// URLs: lie
// inside LocalSourcesDir with symlinks resolved) and every narrowing. It
// returns the URL to use: a file:// URL with its real path, so a symlink
// swapped after the check does not move the read. Errors are
// *api.FieldError on spec.url naming the rule that refused.
func (p *URLPolicy) Check(rawURL string, narrowing ...Narrowing) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", &api.FieldError{Field: "spec.url", Reason: fmt.Sprintf(format, args...)}
	}
	e, err := api.ValidateGitURL(rawURL)
	if err != nil {
		return refuse("%v", err)
	}
	shown := api.RedactGitURL(rawURL)
	for _, n := range narrowing {
		if _, ok := api.MatchGitURLPatterns(n.Patterns, e); !ok {
			return refuse("%q is not allowed by %s (%s)", shown, n.By, api.GitURLPatternList(n.Patterns))
		}
	}
	if e.Scheme != "file" {
		if _, ok := api.MatchGitURLPatterns(p.allow, e); !ok {
			return refuse("%q is not allowed by the server's --source-allow (%s)", shown, api.GitURLPatternList(p.allow))
		}
		return rawURL, nil
	}
	if p.localDir == "" {
		return refuse("file:// URLs are refused: the server has no --local-sources-dir")
	}
	// Lexically first, so a path outside the folder is refused without
	// touching the disk (no answer tells whether it exists).
	if !within(p.localDir, e.Path) {
		return refuse("%s is outside --local-sources-dir %s", e.Path, p.localDir)
	}
	real, err := filepath.EvalSymlinks(e.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("%s does not exist in --local-sources-dir %s", e.Path, p.localDir)
	}
	if err != nil {
		return refuse("%s: %v", e.Path, errors.Unwrap(err))
	}
	if !within(p.localDir, real) {
		return refuse("%s resolves to %s, outside --local-sources-dir %s", e.Path, real, p.localDir)
	}
	return "file://" + filepath.ToSlash(real), nil
}

// within reports whether path is dir or below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// ParseNamespaceAllow parses --source-allow-namespaces:
// "NAMESPACE=PATTERN,PATTERN;NAMESPACE=PATTERN", blanks ignored.
func ParseNamespaceAllow(s string) (map[string][]api.GitURLPattern, error) {
	out := map[string][]api.GitURLPattern{}
	for _, entry := range strings.Split(s, ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		ns, list, ok := strings.Cut(entry, "=")
		ns = strings.TrimSpace(ns)
		if !ok || ns == "" {
			return nil, fmt.Errorf("--source-allow-namespaces: %q: want NAMESPACE=PATTERN[,PATTERN]", entry)
		}
		if _, dup := out[ns]; dup {
			return nil, fmt.Errorf("--source-allow-namespaces: namespace %s is listed twice", ns)
		}
		ps, err := api.ParseGitURLPatterns(list)
		if err != nil {
			return nil, fmt.Errorf("--source-allow-namespaces: namespace %s: %w", ns, err)
		}
		if len(ps) == 0 {
			return nil, fmt.Errorf("--source-allow-namespaces: namespace %s has no pattern", ns)
		}
		out[ns] = ps
	}
	return out, nil
}

// CredentialBindings records which hosts the credentials of a Secret may
// be sent to (api.SourceKindGitCredentials). The node's admin API
// implements it through the raft log.
type CredentialBindings interface {
	// CredentialHosts returns the binding of secret; false when it has none.
	CredentialHosts(ctx context.Context, secret api.SecretName) (api.GitCredentialsSpec, bool, error)
	// BindCredentials records spec as the binding of secret unless it has
	// one already, and returns the binding in force.
	BindCredentials(ctx context.Context, secret api.SecretName, spec api.GitCredentialsSpec) (api.GitCredentialsSpec, error)
}

// memoryBindings keeps bindings for the life of the process: the pollers'
// default when no CredentialBindings is given (tests, tools).
type memoryBindings struct {
	mu sync.Mutex
	m  map[api.SecretName]api.GitCredentialsSpec
}

func (b *memoryBindings) CredentialHosts(_ context.Context, secret api.SecretName) (api.GitCredentialsSpec, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.m[secret]
	return s, ok, nil
}

func (b *memoryBindings) BindCredentials(_ context.Context, secret api.SecretName, spec api.GitCredentialsSpec) (api.GitCredentialsSpec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[api.SecretName]api.GitCredentialsSpec{}
	}
	if cur, ok := b.m[secret]; ok {
		return cur, nil
	}
	b.m[secret] = spec
	return spec, nil
}

// CheckGitURL is Check for the admin API: token narrows the URL with the
// patterns of the caller's token (nil: none).
func (p *URLPolicy) CheckGitURL(url string, token []api.GitURLPattern) error {
	var n []Narrowing
	if token != nil {
		n = append(n, Narrowing{Patterns: token, By: "this token's sources="})
	}
	_, err := p.Check(url, n...)
	return err
}
