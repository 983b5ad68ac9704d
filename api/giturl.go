package api

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Git URLs and the patterns that allow them. The server's --source-allow,
// a token's sources= option and --source-allow-namespaces are lists of
// GitURLPatterns; a Git source is polled only when its URL matches every
// list that applies to it (see docs/gitops.md).

// GitEndpoint is where a Git URL points, normalised for matching.
type GitEndpoint struct {
	// Scheme is https, http, ssh, git or file; an scp-like address
	// (user@host:path) is ssh.
	Scheme string
	// Host is lowercase, without brackets or a trailing dot; "" for file.
	Host string
	// Port is "" when the URL names none.
	Port string
	// Path is the cleaned absolute path ("/org/repo.git").
	Path string
	// User is the URL's user name, if any (ssh://git@host).
	User string
	// HasPassword is set when the URL carries a password.
	HasPassword bool
}

// HostPort is Host with Port when the URL names one.
func (e GitEndpoint) HostPort() string {
	if e.Port == "" {
		return e.Host
	}
	return net.JoinHostPort(e.Host, e.Port)
}

var scpLikeGitRE = regexp.MustCompile(`^(?:([^@/:\s]+)@)?([^@/:\s]+):([^/].*|/.+)$`)

// ParseGitURL parses a Git URL (scheme://host/path or scp-like
// user@host:path). It checks the form, not the rules of a GitSourceSpec:
// see ValidateGitURL. Errors never repeat the URL's userinfo.
func ParseGitURL(raw string) (GitEndpoint, error) {
	if !strings.Contains(raw, "://") {
		m := scpLikeGitRE.FindStringSubmatch(raw)
		if m == nil {
			return GitEndpoint{}, fmt.Errorf("%q is not scheme://host/path nor user@host:path", RedactGitURL(raw))
		}
		return GitEndpoint{Scheme: "ssh", Host: normHost(m[2]), Path: cleanURLPath(m[3]), User: m[1]}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return GitEndpoint{}, fmt.Errorf("%q is not a URL: %v", RedactGitURL(raw), err)
	}
	e := GitEndpoint{Scheme: strings.ToLower(u.Scheme), Host: normHost(u.Hostname()), Port: u.Port(), Path: cleanURLPath(u.Path)}
	if u.User != nil {
		e.User = u.User.Username()
		_, e.HasPassword = u.User.Password()
	}
	return e, nil
}

func normHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

func cleanURLPath(p string) string {
	if p == "" {
		return "/"
	}
	return path.Clean("/" + p)
}

// ValidateGitURL checks the rules every Git source URL follows, whatever
// the server allows: a known scheme with a host (a path for file://), no
// credentials in the URL (they belong in a Secret: a URL is stored in the
// raft log and shown to read tokens), and no ".." in the path. The reason
// never repeats a password.
func ValidateGitURL(raw string) (GitEndpoint, error) {
	e, err := ParseGitURL(raw)
	if err != nil {
		return e, err
	}
	switch e.Scheme {
	case "https", "http", "ssh", "git":
		if e.Host == "" {
			return e, fmt.Errorf("%q has no host", RedactGitURL(raw))
		}
	case "file":
		if e.Host != "" && e.Host != "localhost" {
			return e, fmt.Errorf("%q names host %q: a file:// URL is a folder on the server (file:///path)", RedactGitURL(raw), e.Host)
		}
		e.Host = ""
	default:
		return e, fmt.Errorf("%q must be an https://, http://, ssh://, git:// or file:// URL, or user@host:path", RedactGitURL(raw))
	}
	switch {
	case e.HasPassword:
		return e, fmt.Errorf("%q carries a password: URLs are stored and shown to every read token; put the credentials in a Secret and name it with secretRef", RedactGitURL(raw))
	case e.User != "" && e.Scheme != "ssh":
		return e, fmt.Errorf("%q carries credentials before @: URLs are stored and shown to every read token; put them in a Secret and name it with secretRef", RedactGitURL(raw))
	}
	if !strings.Contains(raw, "://") {
		raw = "ssh://" + raw // the scp-like path is checked below like any other
	}
	for _, seg := range strings.Split(rawPath(raw), "/") {
		if seg == ".." {
			return e, fmt.Errorf("%q has \"..\" in its path", RedactGitURL(raw))
		}
	}
	return e, nil
}

// rawPath is the decoded path of a URL before cleaning, "" if it has none.
func rawPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

var gitUserinfoRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@`)

// RedactGitURL replaces the userinfo of a scheme://user:pass@host URL by
// "REDACTED:REDACTED", so the URL can be shown; the user of an scp-like
// address (git@host:path) is not a secret and stays. A URL shown this way
// and sent back is refused (it still carries a password) rather than
// silently changed.
func RedactGitURL(raw string) string {
	return gitUserinfoRE.ReplaceAllString(raw, "${1}REDACTED:REDACTED@")
}

// GitURLPattern allows Git URLs: a scheme, a host with "*" wildcards, an
// optional port and an optional path prefix. Written
// scheme://host[:port][/path], e.g. https://*, ssh://github.com/acme,
// https://*.git.example.com:8443. The scheme "file" takes no host:
// "file://" allows local sources (where --local-sources-dir permits them).
type GitURLPattern struct {
	Scheme string
	// Host is "*" for every host, or labels where a "*" label matches
	// exactly one label ("*.example.com" matches a.example.com, not
	// a.b.example.com nor example.com).
	Host string
	// Port "" matches any port.
	Port string
	// Path "" or "/" matches every path; otherwise whole segments:
	// "/acme" matches /acme and /acme/repo.git, not /acme-tools.
	Path string
}

// String is the pattern as written.
func (p GitURLPattern) String() string {
	s := p.Scheme + "://" + p.Host
	if p.Port != "" {
		s += ":" + p.Port
	}
	if p.Path != "" && p.Path != "/" {
		s += p.Path
	}
	return s
}

var gitPatternSchemes = map[string]bool{"https": true, "http": true, "ssh": true, "git": true, "file": true}

// ParseGitURLPattern parses one pattern.
func ParseGitURLPattern(s string) (GitURLPattern, error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || !gitPatternSchemes[scheme] {
		return GitURLPattern{}, fmt.Errorf("%q: want scheme://host[:port][/path] with scheme https, http, ssh, git or file", s)
	}
	p := GitURLPattern{Scheme: scheme}
	hostPort, pth, _ := strings.Cut(rest, "/")
	if pth != "" {
		p.Path = cleanURLPath(pth)
	}
	if scheme == "file" {
		if hostPort != "" || p.Path != "" {
			return GitURLPattern{}, fmt.Errorf("%q: a file pattern is just file:// (the folder is --local-sources-dir)", s)
		}
		return p, nil
	}
	if strings.Contains(hostPort, "@") {
		return GitURLPattern{}, fmt.Errorf("%q: a pattern has no user", s)
	}
	host := hostPort
	if h, port, err := net.SplitHostPort(hostPort); err == nil {
		host, p.Port = h, port
		for _, r := range port {
			if r < '0' || r > '9' {
				return GitURLPattern{}, fmt.Errorf("%q: port %q is not a number", s, port)
			}
		}
	}
	host = normHost(host)
	if host == "" {
		return GitURLPattern{}, fmt.Errorf("%q has no host (use * for every host)", s)
	}
	if host != "*" {
		for _, label := range strings.Split(host, ".") {
			if label == "" || (strings.Contains(label, "*") && label != "*") {
				return GitURLPattern{}, fmt.Errorf("%q: host %q must be labels where * is a whole label (*.example.com)", s, host)
			}
		}
	}
	p.Host = host
	return p, nil
}

// ParseGitURLPatterns parses patterns, each element a comma-separated
// list; blanks are skipped.
func ParseGitURLPatterns(lists ...string) ([]GitURLPattern, error) {
	var out []GitURLPattern
	for _, l := range lists {
		for _, s := range strings.Split(l, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			p, err := ParseGitURLPattern(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Match reports whether the pattern allows e.
func (p GitURLPattern) Match(e GitEndpoint) bool {
	if p.Scheme != e.Scheme {
		return false
	}
	if p.Scheme == "file" {
		return true
	}
	if !MatchGitHost(p.Host, e.Host) || (p.Port != "" && p.Port != e.Port) {
		return false
	}
	if p.Path == "" || p.Path == "/" {
		return true
	}
	return e.Path == p.Path || strings.HasPrefix(e.Path, p.Path+"/")
}

// MatchGitHost reports whether host matches pattern: "*" is every host,
// a "*" label exactly one label; hosts compare case-insensitively.
func MatchGitHost(pattern, host string) bool {
	pattern, host = normHost(pattern), normHost(host)
	if pattern == "*" {
		return host != ""
	}
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if pl[i] != "*" && pl[i] != hl[i] {
			return false
		}
	}
	return true
}

// MatchGitURLPatterns returns the first pattern of ps that allows e.
func MatchGitURLPatterns(ps []GitURLPattern, e GitEndpoint) (GitURLPattern, bool) {
	for _, p := range ps {
		if p.Match(e) {
			return p, true
		}
	}
	return GitURLPattern{}, false
}

// GitURLPatternList joins patterns for messages.
func GitURLPatternList(ps []GitURLPattern) string {
	if len(ps) == 0 {
		return "(none)"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
