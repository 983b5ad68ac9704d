// Package gittest holds test helpers over the real git binary: bare
// repositories on disk with a work tree to commit to them, a smart-HTTP
// server (`git http-backend` behind net/http/cgi) with optional basic or
// bearer authentication, and a `git daemon` serving git:// URLs.
//
// Every git command runs hermetically: GIT_CONFIG_NOSYSTEM=1, HOME and
// XDG_CONFIG_HOME point at a temporary directory, and identity and other
// settings are passed with -c flags. Every process and server is stopped by
// t.Cleanup. It is for tests only.
package gittest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gitPath returns the path of the git binary or fails the test.
func gitPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("gittest: git binary not found: %v", err)
	}
	return p
}

// hermeticEnv returns the environment for git processes: the host's
// environment without any GIT_* variables, plus settings that keep git away
// from the system and user configuration.
func hermeticEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, gitEnv(home)...)
}

// gitEnv is the part of the environment gittest sets for every git process.
func gitEnv(home string) []string {
	return []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + home,
	}
}

// configFlags are passed to every git command.
var configFlags = []string{
	"-c", "user.name=gittest",
	"-c", "user.email=gittest@example.invalid",
	"-c", "init.defaultBranch=main",
	"-c", "commit.gpgSign=false",
	"-c", "tag.gpgSign=false",
	"-c", "core.autocrlf=false",
	"-c", "protocol.file.allow=always",
	"-c", "advice.detachedHead=false",
}

// Repo is a bare repository on disk plus a work tree used to commit to it.
type Repo struct {
	git  string
	home string
	bare string
	work string

	mu sync.Mutex
}

// NewRepo creates an empty bare repository (default branch main) in a
// temporary directory, and a work tree whose origin is that repository. The
// first Commit creates the branch main.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	root := t.TempDir()
	r := &Repo{
		git:  gitPath(t),
		home: filepath.Join(root, "home"),
		bare: filepath.Join(root, "repo.git"),
		work: filepath.Join(root, "work"),
	}
	if err := os.Mkdir(r.home, 0o700); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	r.run(t, root, "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	r.run(t, root, "init", "--quiet", "--initial-branch=main", r.work)
	r.run(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

// Dir returns the directory of the bare repository; its file URL is
// "file://" + Dir().
func (r *Repo) Dir() string { return r.bare }

// Commit writes files into the work tree (a "" value deletes the file),
// commits them on the current branch (an empty commit if nothing changed),
// pushes the branch to the bare repository and returns the commit hash.
func (r *Repo) Commit(t testing.TB, msg string, files map[string]string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatalf("gittest: delete %s: %v", name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatalf("gittest: write %s: %v", name, err)
		}
	}
	r.run(t, r.work, "add", "--all")
	r.run(t, r.work, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", msg)
	branch := r.run(t, r.work, "symbolic-ref", "--short", "HEAD")
	r.run(t, r.work, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+branch)
	return r.run(t, r.work, "rev-parse", "HEAD")
}

// Branch creates the branch name at the current commit and switches to it.
// It reaches the bare repository with the next Commit.
func (r *Repo) Branch(t testing.TB, name string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run(t, r.work, "checkout", "--quiet", "-b", name)
}

// Switch switches the work tree to the existing branch name.
func (r *Repo) Switch(t testing.TB, name string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run(t, r.work, "checkout", "--quiet", name)
}

// Tag tags the current commit (moving the tag if it exists) and pushes the
// tag to the bare repository. An annotated tag is a tag object whose
// message is its name.
func (r *Repo) Tag(t testing.TB, name string, annotated bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	args := []string{"tag", "--force"}
	if annotated {
		args = append(args, "--annotate", "-m", name)
	}
	r.run(t, r.work, append(args, name)...)
	r.run(t, r.work, "push", "--quiet", "--force", "origin", "refs/tags/"+name)
}

// Git runs git with args in the work tree and returns its trimmed stdout.
func (r *Repo) Git(t testing.TB, args ...string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run(t, r.work, args...)
}

func (r *Repo) run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.git, append(append([]string{}, configFlags...), args...)...)
	cmd.Dir = dir
	cmd.Env = hermeticEnv(r.home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// linkRepos makes a directory holding a symbolic link NAME.git to each
// repository, so that one base directory serves them all.
func linkRepos(t testing.TB, repos map[string]*Repo) string {
	t.Helper()
	base := t.TempDir()
	for name, r := range repos {
		if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
			t.Fatalf("gittest: invalid repository name %q", name)
		}
		if err := os.Symlink(r.Dir(), filepath.Join(base, name+".git")); err != nil {
			t.Fatalf("gittest: %v", err)
		}
	}
	return base
}
