package repo_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/ingest/git/repo"
	"github.com/conflux-sync/conflux-sync/internal/gittest"
)

const (
	user     = "alice"
	password = "s3cr3t-P4ssw0rd"
	token    = "t0k3n-B34r3r-S3cr3t"
)

// fixture is a repository with history:
//
//	c1 (tags v1, annotated v1a) -- c2 (main)
//	                                 \-- c3 (dev)
type fixture struct {
	repo       *gittest.Repo
	c1, c2, c3 string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	r := gittest.NewRepo(t)
	f := &fixture{repo: r}
	f.c1 = r.Commit(t, "first", map[string]string{
		"root.yaml":          "root: 1\n",
		"deploy/a.yaml":      "a: 1\n",
		"deploy/sub/b.yml":   "b: 1\n",
		"deploy/README.md":   "# not yaml\n",
		"deploy/c.json":      "{}\n",
		"deploy/yaml":        "no extension\n",
		"deploy/d.yaml.orig": "backup\n",
		"other/x.yaml":       "x: 1\n",
	})
	r.Tag(t, "v1", false)
	r.Tag(t, "v1a", true)
	f.c2 = r.Commit(t, "second", map[string]string{
		"deploy/a.yaml":    "a: 2\n",
		"deploy/sub/b.yml": "",
		"deploy/new.yaml":  "new: 2\n",
	})
	r.Branch(t, "dev")
	f.c3 = r.Commit(t, "third", map[string]string{"deploy/dev.yaml": "dev: 3\n"})
	r.Switch(t, "main")
	return f
}

// transport is one way to reach the fixture.
type transport struct {
	name string
	url  string
	auth repo.Auth
}

func transports(t *testing.T, f *fixture) []transport {
	t.Helper()
	repos := map[string]*gittest.Repo{"fixture": f.repo}
	anon := gittest.NewHTTPServer(t, gittest.HTTPOptions{}, repos)
	basic := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: password}, repos)
	bearer := gittest.NewHTTPServer(t, gittest.HTTPOptions{BearerToken: token}, repos)
	tlsSrv := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: password, TLS: true}, repos)
	daemon := gittest.NewDaemon(t, repos)
	return []transport{
		{"file", "file://" + f.repo.Dir(), repo.Auth{}},
		{"http", anon.URL("fixture"), repo.Auth{}},
		{"http-basic", basic.URL("fixture"), repo.Auth{Username: user, Password: password}},
		{"http-bearer", bearer.URL("fixture"), repo.Auth{BearerToken: token}},
		{"https-ca", tlsSrv.URL("fixture"), repo.Auth{Username: user, Password: password, CAFile: tlsSrv.CAPEM()}},
		{"git", daemon.URL("fixture"), repo.Auth{}},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	for _, tr := range transports(t, f) {
		t.Run(tr.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				ref  repo.Ref
				want string
			}{
				{"zero ref is main", repo.Ref{}, f.c2},
				{"branch main", repo.Ref{Branch: "main"}, f.c2},
				{"branch with prefix", repo.Ref{Branch: "refs/heads/dev"}, f.c3},
				{"branch dev", repo.Ref{Branch: "dev"}, f.c3},
				{"tag", repo.Ref{Tag: "v1"}, f.c1},
				{"annotated tag", repo.Ref{Tag: "v1a"}, f.c1},
				{"tag beats branch", repo.Ref{Branch: "dev", Tag: "v1"}, f.c1},
				{"commit", repo.Ref{Commit: f.c1}, f.c1},
				{"commit beats tag", repo.Ref{Tag: "v1", Commit: f.c3}, f.c3},
				{"upper-case commit", repo.Ref{Commit: strings.ToUpper(f.c1)}, f.c1},
			} {
				got, err := repo.Head(ctx(t), tr.url, tc.ref, tr.auth)
				if err != nil {
					t.Errorf("%s: Head(%v): %v", tc.name, tc.ref, err)
					continue
				}
				if got != tc.want {
					t.Errorf("%s: Head(%v) = %s, want %s", tc.name, tc.ref, got, tc.want)
				}
			}
		})
	}
}

func TestHeadOnlyListsRefs(t *testing.T) {
	f := newFixture(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{BearerToken: token}, map[string]*gittest.Repo{"r": f.repo})
	auth := repo.Auth{BearerToken: token}
	for _, ref := range []repo.Ref{{}, {Tag: "v1a"}, {Commit: f.c1}} {
		before := srv.Requests()
		if _, err := repo.Head(ctx(t), srv.URL("r"), ref, auth); err != nil {
			t.Fatalf("Head(%v): %v", ref, err)
		}
		paths := srv.Paths()[before:]
		if len(paths) != 1 || paths[0] != "/r.git/info/refs?service=git-upload-pack" {
			t.Errorf("Head(%v) made requests %q, want only info/refs", ref, paths)
		}
	}
	// Checkout, by contrast, fetches a pack.
	before := srv.Requests()
	if _, err := repo.Checkout(ctx(t), srv.URL("r"), repo.Ref{}, f.c2, "", auth); err != nil {
		t.Fatal(err)
	}
	if paths := srv.Paths()[before:]; !slices.Contains(paths, "/r.git/git-upload-pack") {
		t.Errorf("Checkout made requests %q, want a git-upload-pack", paths)
	}
}

func TestCheckout(t *testing.T) {
	f := newFixture(t)
	at1 := map[string]string{"a.yaml": "a: 1\n", "sub/b.yml": "b: 1\n"}
	at2 := map[string]string{"a.yaml": "a: 2\n", "new.yaml": "new: 2\n"}
	at3 := map[string]string{"a.yaml": "a: 2\n", "new.yaml": "new: 2\n", "dev.yaml": "dev: 3\n"}
	for _, tr := range transports(t, f) {
		t.Run(tr.name, func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				ref    repo.Ref
				commit string
				dir    string
				want   map[string]string
			}{
				{"tip of main", repo.Ref{}, f.c2, "deploy", at2},
				{"dot slash and trailing slash", repo.Ref{Branch: "main"}, f.c2, "./deploy/", at2},
				{"sub dir", repo.Ref{}, f.c2, "other", map[string]string{"x.yaml": "x: 1\n"}},
				{"root", repo.Ref{}, f.c1, "", map[string]string{
					"root.yaml": "root: 1\n", "deploy/a.yaml": "a: 1\n", "deploy/sub/b.yml": "b: 1\n", "other/x.yaml": "x: 1\n",
				}},
				{"root as dot", repo.Ref{}, f.c2, ".", map[string]string{
					"root.yaml": "root: 1\n", "deploy/a.yaml": "a: 2\n", "deploy/new.yaml": "new: 2\n", "other/x.yaml": "x: 1\n",
				}},
				{"non-tip commit of main", repo.Ref{}, f.c1, "deploy", at1},
				{"tip of dev", repo.Ref{Branch: "dev"}, f.c3, "deploy", at3},
				{"tag", repo.Ref{Tag: "v1"}, f.c1, "deploy", at1},
				{"annotated tag", repo.Ref{Tag: "v1a"}, f.c1, "deploy", at1},
				{"commit only, tip of a branch", repo.Ref{Commit: f.c3}, f.c3, "deploy", at3},
				{"commit only, tagged", repo.Ref{Commit: f.c1}, f.c1, "deploy", at1},
				{"commit on branch", repo.Ref{Branch: "dev", Commit: f.c1}, f.c1, "deploy", at1},
			} {
				files, err := repo.Checkout(ctx(t), tr.url, tc.ref, tc.commit, tc.dir, tr.auth)
				if err != nil {
					t.Errorf("%s: Checkout(%v, %s, %q): %v", tc.name, tc.ref, tc.commit, tc.dir, err)
					continue
				}
				got := map[string]string{}
				for k, v := range files {
					got[k] = string(v)
				}
				if !maps.Equal(got, tc.want) {
					t.Errorf("%s: Checkout(%v, %s, %q) = %v, want %v", tc.name, tc.ref, tc.commit, tc.dir, got, tc.want)
				}
			}
		})
	}
}

func TestCheckoutAfterBranchMoves(t *testing.T) {
	f := newFixture(t)
	srv := gittest.NewHTTPServer(t, gittest.HTTPOptions{}, map[string]*gittest.Repo{"r": f.repo})
	url := srv.URL("r")
	head, err := repo.Head(ctx(t), url, repo.Ref{}, repo.Auth{})
	if err != nil || head != f.c2 {
		t.Fatalf("Head = %s, %v; want %s", head, err, f.c2)
	}
	c4 := f.repo.Commit(t, "fourth", map[string]string{"deploy/a.yaml": "a: 4\n", "deploy/new.yaml": ""})
	// The commit Head returned before the branch moved is still checked out.
	files, err := repo.Checkout(ctx(t), url, repo.Ref{}, head, "deploy", repo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["a.yaml"]); got != "a: 2\n" || len(files) != 2 {
		t.Errorf("Checkout(old head) = %q", files)
	}
	head, err = repo.Head(ctx(t), url, repo.Ref{}, repo.Auth{})
	if err != nil || head != c4 {
		t.Fatalf("Head = %s, %v; want %s", head, err, c4)
	}
	files, err = repo.Checkout(ctx(t), url, repo.Ref{}, head, "deploy", repo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["a.yaml"]); got != "a: 4\n" || len(files) != 1 {
		t.Errorf("Checkout(new head) = %q", files)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	return port
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
			close(done)
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// call runs Head or Checkout and returns its error.
type call func(ctx context.Context) error

func head(url string, ref repo.Ref, auth repo.Auth) call {
	return func(ctx context.Context) error {
		_, err := repo.Head(ctx, url, ref, auth)
		return err
	}
}

func checkout(url string, ref repo.Ref, commit, dir string, auth repo.Auth) call {
	return func(ctx context.Context) error {
		_, err := repo.Checkout(ctx, url, ref, commit, dir, auth)
		return err
	}
}

// assertNoSecret fails if any message of err's chain, or its formatting,
// contains a secret.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error())
	}
	texts = append(texts, strings.Join([]string{
		fmtV(err), fmtPlusV(err), fmtSharpV(err),
	}, "\n"))
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("error reveals a secret: %s", text)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	repos := map[string]*gittest.Repo{"r": f.repo}
	basic := gittest.NewHTTPServer(t, gittest.HTTPOptions{Username: user, Password: password}, repos)
	bearer := gittest.NewHTTPServer(t, gittest.HTTPOptions{BearerToken: token}, repos)
	tlsSrv := gittest.NewHTTPServer(t, gittest.HTTPOptions{TLS: true}, repos)
	stopped := gittest.NewHTTPServer(t, gittest.HTTPOptions{}, repos)
	stopped.Stop()
	daemon := gittest.NewDaemon(t, repos)
	good := repo.Auth{Username: user, Password: password}
	wrongPassword := repo.Auth{Username: user, Password: password + "-wrong"}
	wrongToken := repo.Auth{BearerToken: token + "-wrong"}
	silent := silentServer(t)
	// the URL of basic with its (right) credentials embedded
	embedded := strings.Replace(basic.URL("nope"), "http://", "http://"+user+":"+password+"@", 1)

	for _, tc := range []struct {
		name    string
		call    call
		timeout time.Duration
		reason  string
		msg     string // a substring of the message
	}{
		{"wrong password", head(basic.URL("r"), repo.Ref{}, wrongPassword), 0, "AuthenticationFailed", ""},
		{"no credentials", head(basic.URL("r"), repo.Ref{}, repo.Auth{}), 0, "AuthenticationFailed", ""},
		{"wrong token", head(bearer.URL("r"), repo.Ref{}, wrongToken), 0, "AuthenticationFailed", ""},
		{"wrong password on checkout", checkout(basic.URL("r"), repo.Ref{}, f.c2, "", wrongPassword), 0, "AuthenticationFailed", ""},
		{"unknown CA", head(tlsSrv.URL("r"), repo.Ref{}, repo.Auth{}), 0, "AuthenticationFailed", "certificate"},
		{"missing branch", head(basic.URL("r"), repo.Ref{Branch: "nope"}, good), 0, "RefNotFound", `branch "nope" not found`},
		{"missing tag", head(daemon.URL("r"), repo.Ref{Tag: "v9"}, good), 0, "RefNotFound", `tag "v9" not found`},
		{"missing branch on checkout", checkout(basic.URL("r"), repo.Ref{Branch: "nope"}, f.c2, "", good), 0, "RefNotFound", ""},
		{"commit not on branch", checkout(basic.URL("r"), repo.Ref{Branch: "main", Commit: f.c3}, f.c3, "", good), 0, "RefNotFound", "not found on branch"},
		{"unknown commit", checkout("file://"+f.repo.Dir(), repo.Ref{Commit: strings.Repeat("ab", 20)}, strings.Repeat("ab", 20), "", repo.Auth{}), 0, "RefNotFound", ""},
		{"short commit", head(basic.URL("r"), repo.Ref{Commit: f.c1[:7]}, good), 0, "RefNotFound", "40-character"},
		{"missing path", checkout(basic.URL("r"), repo.Ref{}, f.c2, "nope/deeper", good), 0, "PathNotFound",
			`path "nope/deeper" does not exist in commit ` + f.c2},
		{"path is a file", checkout(basic.URL("r"), repo.Ref{}, f.c2, "root.yaml", good), 0, "PathNotFound", "not a directory"},
		{"path escapes", checkout(basic.URL("r"), repo.Ref{}, f.c2, "../x", good), 0, "PathNotFound", ""},
		{"stopped server", head(stopped.URL("r"), repo.Ref{}, good), 0, "Unreachable", ""},
		{"closed http port", head("http://127.0.0.1:"+closedPort(t)+"/r.git", repo.Ref{}, good), 0, "Unreachable", ""},
		{"closed git port", head("git://127.0.0.1:"+closedPort(t)+"/r.git", repo.Ref{}, repo.Auth{}), 0, "Unreachable", ""},
		{"missing repository", head(embedded, repo.Ref{}, repo.Auth{}), 0, "Unreachable", ""},
		{"missing file repository", head("file:///nonexistent/r.git", repo.Ref{}, repo.Auth{}), 0, "Unreachable", ""},
		{"timeout", head("http://"+silent+"/r.git", repo.Ref{}, good), 300 * time.Millisecond, "Timeout", ""},
		{"timeout on checkout", checkout("http://"+silent+"/r.git", repo.Ref{}, f.c2, "", repo.Auth{BearerToken: token}), 300 * time.Millisecond, "Timeout", ""},
		{"invalid scheme", head("ftp://"+user+":"+password+"@example.com/r.git", repo.Ref{}, repo.Auth{}), 0, "InvalidURL", "allowed schemes are https, http, ssh, git, file"},
		{"invalid URL", head("http://"+user+":"+password+"@[::1/r.git", repo.Ref{}, repo.Auth{}), 0, "InvalidURL", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ctx(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				c, cancel = context.WithTimeout(c, tc.timeout)
				defer cancel()
			}
			err := tc.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			if got := repo.ReasonOf(err); got != tc.reason {
				t.Errorf("ReasonOf(%q) = %s, want %s", err, got, tc.reason)
			}
			var e *repo.Error
			if !errors.As(err, &e) {
				t.Errorf("%q is not a *repo.Error", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
			assertNoSecret(t, err, password, token)
		})
	}
}

func TestErrorIsSentinels(t *testing.T) {
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := repo.Head(c, "http://"+silentServer(t)+"/r.git", repo.Ref{}, repo.Auth{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%q, context.DeadlineExceeded) = false", err)
	}
}

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("boom"), "GitOperationFailed"},
		{context.DeadlineExceeded, "Timeout"},
		{&repo.Error{Reason: "RefNotFound", Err: errors.New("x")}, "RefNotFound"},
		{wrap(&repo.Error{Reason: "LimitExceeded", Err: errors.New("x")}), "LimitExceeded"},
		{wrap(context.DeadlineExceeded), "Timeout"},
		{nil, "GitOperationFailed"},
	} {
		if got := repo.ReasonOf(tc.err); got != tc.want {
			t.Errorf("ReasonOf(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	e := &repo.Error{Reason: "Unreachable", Err: context.Canceled}
	if !errors.Is(e, context.Canceled) || e.Error() != context.Canceled.Error() {
		t.Errorf("Error does not wrap: %v", e)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	big := "k: " + strings.Repeat("x", repo.MaxFileSize) + "\n"
	bigCommit := r.Commit(t, "big", map[string]string{"big/a.yaml": big, "ok/a.yaml": "a: 1\n", "big-ignored/a.txt": big})
	many := map[string]string{}
	for i := 0; i <= repo.MaxFiles; i++ {
		many["many/f"+strconv.Itoa(i)+".yaml"] = "i: " + strconv.Itoa(i) + "\n"
	}
	manyCommit := r.Commit(t, "many", many)
	url := "file://" + r.Dir()
	for _, tc := range []struct {
		name, commit, dir, reason string
	}{
		{"file too big", bigCommit, "big", "LimitExceeded"},
		{"too many files", manyCommit, "many", "LimitExceeded"},
		{"big non-yaml file ignored", bigCommit, "big-ignored", ""},
		{"ok", manyCommit, "ok", ""},
	} {
		_, err := repo.Checkout(ctx(t), url, repo.Ref{Commit: tc.commit}, tc.commit, tc.dir, repo.Auth{})
		if tc.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if got := repo.ReasonOf(err); got != tc.reason {
			t.Errorf("%s: ReasonOf(%v) = %s, want %s", tc.name, err, got, tc.reason)
		}
	}
}

func TestRefString(t *testing.T) {
	const c = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		ref  repo.Ref
		want string
	}{
		{repo.Ref{}, "main"},
		{repo.Ref{Branch: "dev"}, "dev"},
		{repo.Ref{Branch: "refs/heads/dev"}, "dev"},
		{repo.Ref{Tag: "v1"}, "tag v1"},
		{repo.Ref{Branch: "dev", Tag: "v1"}, "tag v1"},
		{repo.Ref{Commit: c}, "commit " + c},
		{repo.Ref{Tag: "v1", Commit: c}, "commit " + c},
		{repo.Ref{Branch: "dev", Commit: c}, "branch dev @ commit " + c},
	} {
		if got := tc.ref.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://github.com/org/repo.git", true},
		{"http://127.0.0.1:8080/r.git", true},
		{"HTTPS://example.com/r", true},
		{"ssh://git@github.com/org/repo.git", true},
		{"ssh://git@github.com:2222/org/repo.git", true},
		{"git@github.com:org/repo.git", true},
		{"github.com:org/repo.git", true},
		{"git://127.0.0.1/r.git", true},
		{"file:///srv/git/r.git", true},
		{"ftp://example.com/r.git", false},
		{"s3://bucket/r", false},
		{"/srv/git/r.git", false},
		{"r.git", false},
		{"", false},
		{"https:///r.git", false},
		{"file://", false},
		{"http://[::1/r.git", false},
	} {
		err := repo.ValidateURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil {
			if repo.ReasonOf(err) != "InvalidURL" {
				t.Errorf("ValidateURL(%q): reason %s", tc.url, repo.ReasonOf(err))
			}
			if !strings.Contains(err.Error(), "https, http, ssh, git, file") && !strings.Contains(err.Error(), "no host") && !strings.Contains(err.Error(), "no path") && !strings.Contains(err.Error(), "invalid URL") {
				t.Errorf("ValidateURL(%q) = %q does not say which schemes are allowed", tc.url, err)
			}
		}
	}
}
