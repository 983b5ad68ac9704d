// Package repo is a thin layer over go-git v5 to poll Git repositories:
// Head resolves a branch, tag or commit on the remote with a ref listing
// only (ls-remote), and Checkout fetches one commit into memory and returns
// the YAML files under a directory.
//
// Credentials never appear in the errors it returns: messages are stripped
// of URL userinfo and of the password, token and passphrase in use, and
// every error is an *Error whose Reason classifies the failure for status
// conditions.
package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Limits of Checkout.
const (
	MaxFileSize  = 1 << 20  // bytes of one file
	MaxFiles     = 10000    // files returned
	MaxTotalSize = 64 << 20 // bytes of all files returned
)

// DefaultBranch is the branch of a zero Ref.
const DefaultBranch = "main"

// Ref selects what to sync; precedence commit > tag > branch; the zero
// value means branch "main". Branch and Tag may be given with or without
// their "refs/heads/" and "refs/tags/" prefixes; Commit is a full
// 40-character hex hash.
type Ref struct {
	Branch, Tag, Commit string
}

func (r Ref) branch() string {
	if b := strings.TrimPrefix(r.Branch, "refs/heads/"); b != "" {
		return b
	}
	return DefaultBranch
}

func (r Ref) tag() string { return strings.TrimPrefix(r.Tag, "refs/tags/") }

// String describes r: "main" (a branch), "tag v1", "commit <hash>", or
// "branch dev @ commit <hash>" (a commit given with the branch holding it).
func (r Ref) String() string {
	switch {
	case r.Commit != "" && r.Branch != "":
		return "branch " + r.branch() + " @ commit " + r.Commit
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.tag()
	}
	return r.branch()
}

var hashRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

func checkCommit(what, c string) (plumbing.Hash, error) {
	if !hashRE.MatchString(c) {
		return plumbing.ZeroHash, newError(ReasonRefNotFound, "%s %q is not a full 40-character hex commit hash", what, c)
	}
	return plumbing.NewHash(strings.ToLower(c)), nil
}

// Head resolves ref on the remote without fetching objects (a ref listing,
// like git ls-remote) and returns the commit hash (lowercase hex). For
// ref.Commit it returns the commit itself (it cannot move) after checking
// that the URL is reachable (it lists refs). An annotated tag resolves to
// the commit it points at (the peeled ref ^{}).
func Head(ctx context.Context, url string, ref Ref, auth Auth) (string, error) {
	red := newRedactor(url, auth)
	if err := ValidateURL(url); err != nil {
		return "", err
	}
	var commit plumbing.Hash
	if ref.Commit != "" {
		var err error
		if commit, err = checkCommit("ref commit", ref.Commit); err != nil {
			return "", err
		}
	}
	refs, err := list(ctx, url, auth, red)
	if err != nil {
		return "", err
	}
	if ref.Commit != "" {
		return commit.String(), nil
	}
	_, tip, err := refs.tip(ref)
	if err != nil {
		return "", err
	}
	return tip.String(), nil
}

// remoteRefs maps the names of the remote's refs to the commits they point
// at: annotated tags are peeled.
type remoteRefs map[plumbing.ReferenceName]plumbing.Hash

func list(ctx context.Context, url string, auth Auth, red redactor) (remoteRefs, error) {
	am, ca, err := auth.method(url)
	if err != nil {
		return nil, err
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: am, CABundle: ca, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, red.classify(ctx, "list refs of "+redactURL(url), err)
	}
	m := make(remoteRefs, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			m[r.Name()] = r.Hash()
		}
	}
	// A peeled entry "refs/tags/v1^{}" replaces its tag object.
	for name, h := range m {
		if base, ok := strings.CutSuffix(string(name), "^{}"); ok {
			m[plumbing.ReferenceName(base)] = h
			delete(m, name)
		}
	}
	return m, nil
}

// tip returns the name and commit of the branch or tag ref selects
// (ignoring ref.Commit).
func (m remoteRefs) tip(ref Ref) (plumbing.ReferenceName, plumbing.Hash, error) {
	if ref.Tag != "" {
		name := plumbing.NewTagReferenceName(ref.tag())
		if h, ok := m[name]; ok {
			return name, h, nil
		}
		return "", plumbing.ZeroHash, newError(ReasonRefNotFound, "tag %q not found", ref.tag())
	}
	name := plumbing.NewBranchReferenceName(ref.branch())
	if h, ok := m[name]; ok {
		return name, h, nil
	}
	return "", plumbing.ZeroHash, newError(ReasonRefNotFound, "branch %q not found", ref.branch())
}

// find returns a branch (preferably) or tag whose tip is commit.
func (m remoteRefs) find(commit plumbing.Hash) (plumbing.ReferenceName, bool) {
	var found []string
	for name, h := range m {
		if h == commit && (name.IsBranch() || name.IsTag()) {
			found = append(found, string(name))
		}
	}
	if len(found) == 0 {
		return "", false
	}
	sort.Strings(found) // refs/heads/ sorts before refs/tags/
	return plumbing.ReferenceName(found[0]), true
}

// refSpec fetches name into the same name locally (branches under
// refs/remotes/origin/).
func refSpec(name plumbing.ReferenceName) config.RefSpec {
	if name.IsBranch() {
		return config.RefSpec(fmt.Sprintf("+%s:refs/remotes/origin/%s", name, name.Short()))
	}
	return config.RefSpec(fmt.Sprintf("+%s:%s", name, name))
}

var (
	allBranches = config.RefSpec("+refs/heads/*:refs/remotes/origin/*")
	allTags     = config.RefSpec("+refs/tags/*:refs/tags/*")
)

// Checkout fetches commit (a hash Head returned) into memory storage (no
// disk) and returns the files under dir. The fetch is shallow (depth 1)
// when commit is the tip of ref; otherwise it fetches the full history of
// the branch (or of all branches and tags when ref has a tag or a commit
// without a branch), and commit must be part of it.
//
// dir "" or "." is the root; a "./" prefix and trailing slashes are
// trimmed; a dir that does not exist is an error "path %q does not exist
// in commit %s" (Reason PathNotFound). Only regular files whose name ends
// in .yaml or .yml are returned, keyed by their slash path relative to
// dir; a file over MaxFileSize, more than MaxFiles files or more than
// MaxTotalSize bytes in total are errors (Reason LimitExceeded).
func Checkout(ctx context.Context, url string, ref Ref, commit string, dir string, auth Auth) (map[string][]byte, error) {
	red := newRedactor(url, auth)
	if err := ValidateURL(url); err != nil {
		return nil, err
	}
	hash, err := checkCommit("commit", commit)
	if err != nil {
		return nil, err
	}
	if ref.Commit != "" {
		rc, err := checkCommit("ref commit", ref.Commit)
		if err != nil {
			return nil, err
		}
		if rc != hash {
			return nil, newError(ReasonGitOperationFailed, "commit %s is not the commit %s of the ref", hash, rc)
		}
	}
	cleanDir, err := cleanPath(dir)
	if err != nil {
		return nil, err
	}
	refs, err := list(ctx, url, auth, red)
	if err != nil {
		return nil, err
	}

	// Plan the fetch: shallow when commit is the tip of what ref selects.
	var (
		specs   []config.RefSpec
		depth   int
		missing string // how to describe where commit was not found
	)
	switch {
	case ref.Commit != "" && ref.Branch == "":
		if name, ok := refs.find(hash); ok {
			specs, depth = []config.RefSpec{refSpec(name)}, 1
		} else {
			specs, missing = []config.RefSpec{allBranches, allTags}, "in any branch or tag"
		}
	default:
		name, tip, err := refs.tip(ref)
		if err != nil {
			return nil, err
		}
		switch {
		case tip == hash:
			specs, depth = []config.RefSpec{refSpec(name)}, 1
		case name.IsBranch():
			specs, missing = []config.RefSpec{refSpec(name)}, fmt.Sprintf("on branch %q", name.Short())
		default: // a tag that moved
			specs, missing = []config.RefSpec{allBranches, allTags}, "in any branch or tag"
		}
	}

	am, ca, err := auth.method(url)
	if err != nil {
		return nil, err
	}
	r, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, red.classify(ctx, "init repository", err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, red.classify(ctx, "create remote", err)
	}
	err = r.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   specs,
		Depth:      depth,
		Auth:       am,
		CABundle:   ca,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, red.classify(ctx, "fetch "+redactURL(url), err)
	}
	c, err := r.CommitObject(hash)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			if missing == "" {
				missing = "at the tip of " + ref.String()
			}
			return nil, newError(ReasonRefNotFound, "commit %s not found %s", hash, missing)
		}
		return nil, red.classify(ctx, "read commit "+hash.String(), err)
	}
	files, err := readFiles(ctx, r, c, cleanDir)
	if err != nil {
		return nil, red.classify(ctx, "read files", err)
	}
	return files, nil
}

// cleanPath normalizes a directory inside the repository; "" is the root.
func cleanPath(dir string) (string, error) {
	d := strings.TrimSpace(dir)
	d = strings.TrimPrefix(d, "./")
	d = strings.TrimLeft(d, "/")
	d = path.Clean("/" + d)[1:]
	for _, el := range strings.Split(dir, "/") {
		if el == ".." {
			return "", newError(ReasonPathNotFound, "path %q must not contain \"..\"", dir)
		}
	}
	return d, nil
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func readFiles(ctx context.Context, r *git.Repository, c *object.Commit, dir string) (map[string][]byte, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	if dir != "" {
		e, err := tree.FindEntry(dir)
		if err != nil {
			return nil, newError(ReasonPathNotFound, "path %q does not exist in commit %s", dir, c.Hash)
		}
		if e.Mode != filemode.Dir {
			return nil, newError(ReasonPathNotFound, "path %q is not a directory in commit %s", dir, c.Hash)
		}
		if tree, err = r.TreeObject(e.Hash); err != nil {
			return nil, err
		}
	}
	files := map[string][]byte{}
	var total int64
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if (e.Mode != filemode.Regular && e.Mode != filemode.Executable && e.Mode != filemode.Deprecated) || !isYAML(name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		blob, err := r.BlobObject(e.Hash)
		if err != nil {
			return nil, err
		}
		if blob.Size > MaxFileSize {
			return nil, newError(ReasonLimitExceeded, "file %q is %d bytes, over the limit of %d", name, blob.Size, MaxFileSize)
		}
		if len(files) >= MaxFiles {
			return nil, newError(ReasonLimitExceeded, "more than %d YAML files under %q", MaxFiles, displayDir(dir))
		}
		if total += blob.Size; total > MaxTotalSize {
			return nil, newError(ReasonLimitExceeded, "YAML files under %q exceed the limit of %d bytes in total", displayDir(dir), MaxTotalSize)
		}
		rd, err := blob.Reader()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(rd, MaxFileSize+1))
		rd.Close()
		if err != nil {
			return nil, err
		}
		files[name] = data
	}
	return files, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// scpLikeRE matches scp-like ssh addresses: [user@]host:path.
var scpLikeRE = regexp.MustCompile(`^(?:([^@/:\s]+)@)?([^@/:\s]+):([^/].*|/.+)$`)

var allowedSchemes = "https, http, ssh, git, file (or scp-like user@host:path for ssh)"

// scheme returns the lowercase scheme of a valid URL, "ssh" for an
// scp-like address.
func scheme(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		if scpLikeRE.MatchString(raw) {
			return "ssh", nil
		}
		return "", newError(ReasonInvalidURL, "invalid URL %q: want scheme://host/path; allowed schemes are %s", redactURL(raw), allowedSchemes)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return "", newError(ReasonInvalidURL, "invalid URL %q: %v", redactURL(raw), err)
	}
	s := strings.ToLower(u.Scheme)
	switch s {
	case "https", "http", "ssh", "git":
		if u.Host == "" {
			return "", newError(ReasonInvalidURL, "invalid URL %q: no host", redactURL(raw))
		}
	case "file":
		if u.Path == "" {
			return "", newError(ReasonInvalidURL, "invalid URL %q: no path", redactURL(raw))
		}
	default:
		return "", newError(ReasonInvalidURL, "unsupported URL scheme %q in %q: allowed schemes are %s", u.Scheme, redactURL(raw), allowedSchemes)
	}
	return s, nil
}

// ValidateURL checks that url is an https, http, ssh, git or file URL, or
// an scp-like "user@host:path" (ssh). Errors say which schemes are allowed
// and have Reason InvalidURL.
func ValidateURL(url string) error {
	_, err := scheme(url)
	return err
}

// redactURL strips the userinfo from a URL for messages.
func redactURL(raw string) string {
	return userinfoRE.ReplaceAllString(raw, "${1}")
}

// urlPassword returns the password in a URL's userinfo, if any.
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}
