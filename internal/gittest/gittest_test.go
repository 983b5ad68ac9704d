package gittest_test

import (
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/internal/gittest"
)

// lsRemote runs `git ls-remote` hermetically and returns its output and error.
// A non-empty header is sent as an extra HTTP header.
func lsRemote(t *testing.T, url, header string) (string, error) {
	t.Helper()
	args := []string{"-c", "credential.helper="}
	if header != "" {
		args = append(args, "-c", "http.extraHeader="+header)
	}
	cmd := exec.Command("git", append(args, "ls-remote", url)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRepoCommitBranchTag(t *testing.T) {
	r := gittest.NewRepo(t)
	c1 := r.Commit(t, "first", map[string]string{"a.yaml": "a: 1\n", "dir/b.yml": "b: 2\n"})
	if len(c1) != 40 {
		t.Fatalf("commit hash %q", c1)
	}
	r.Tag(t, "v1", false)
	r.Tag(t, "v1a", true)
	c2 := r.Commit(t, "second", map[string]string{"a.yaml": ""})
	r.Branch(t, "dev")
	c3 := r.Commit(t, "third", map[string]string{"c.yaml": "c: 3\n"})

	out, err := lsRemote(t, "file://"+r.Dir(), "")
	if err != nil {
		t.Fatalf("ls-remote: %v\n%s", err, out)
	}
	for _, want := range []string{
		c2 + "\trefs/heads/main",
		c3 + "\trefs/heads/dev",
		c1 + "\trefs/tags/v1",
		c1 + "\trefs/tags/v1a^{}",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ls-remote output lacks %q:\n%s", want, out)
		}
	}
	if files := r.Git(t, "ls-tree", "-r", "--name-only", c2); files != "dir/b.yml" {
		t.Errorf("files at second commit = %q, want dir/b.yml", files)
	}
}

func TestHTTPServer(t *testing.T) {
	r := gittest.NewRepo(t)
	c := r.Commit(t, "first", map[string]string{"a.yaml": "a: 1\n"})

	t.Run("anonymous", func(t *testing.T) {
		srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{}, map[string]*gittest.Repo{"r": r})
		out, err := lsRemote(t, srv.URL("r"), "")
		if err != nil || !strings.Contains(out, c+"\trefs/heads/main") {
			t.Fatalf("ls-remote: %v\n%s", err, out)
		}
		if srv.Requests() == 0 {
			t.Error("no request counted")
		}
		srv.Stop()
		if out, err := lsRemote(t, srv.URL("r"), ""); err == nil {
			t.Fatalf("ls-remote after Stop succeeded:\n%s", out)
		}
	})
	t.Run("basic", func(t *testing.T) {
		srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: "u", Password: "p4ss"}, map[string]*gittest.Repo{"r": r})
		u, _ := url.Parse(srv.URL("r"))
		if out, err := lsRemote(t, u.String(), ""); err == nil {
			t.Fatalf("ls-remote without credentials succeeded:\n%s", out)
		}
		u.User = url.UserPassword("u", "wrong")
		if out, err := lsRemote(t, u.String(), ""); err == nil {
			t.Fatalf("ls-remote with a wrong password succeeded:\n%s", out)
		}
		u.User = url.UserPassword("u", "p4ss")
		if out, err := lsRemote(t, u.String(), ""); err != nil || !strings.Contains(out, c) {
			t.Fatalf("ls-remote: %v\n%s", err, out)
		}
	})
	t.Run("bearer", func(t *testing.T) {
		srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{BearerToken: "t0k"}, map[string]*gittest.Repo{"r": r})
		if out, err := lsRemote(t, srv.URL("r"), "Authorization: Bearer nope"); err == nil {
			t.Fatalf("ls-remote with a wrong token succeeded:\n%s", out)
		}
		if out, err := lsRemote(t, srv.URL("r"), ""); err == nil {
			t.Fatalf("ls-remote without a token succeeded:\n%s", out)
		}
		out, err := lsRemote(t, srv.URL("r"), "Authorization: Bearer t0k")
		if err != nil || !strings.Contains(out, c) {
			t.Fatalf("ls-remote: %v\n%s", err, out)
		}
	})
}

func TestDaemon(t *testing.T) {
	r1, r2 := gittest.NewRepo(t), gittest.NewRepo(t)
	c1 := r1.Commit(t, "one", map[string]string{"a.yaml": "a: 1\n"})
	c2 := r2.Commit(t, "two", map[string]string{"b.yaml": "b: 2\n"})
	d := gittest.NewDaemon(t, map[string]*gittest.Repo{"one": r1, "two": r2})
	for url, want := range map[string]string{d.URL("one"): c1, d.URL("two"): c2} {
		if !strings.HasPrefix(url, "git://127.0.0.1:") {
			t.Errorf("URL %q", url)
		}
		out, err := lsRemote(t, url, "")
		if err != nil || !strings.Contains(out, want+"\trefs/heads/main") {
			t.Fatalf("ls-remote %s: %v\n%s", url, err, out)
		}
	}
}
