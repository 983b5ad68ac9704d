package api

import (
	"strings"
	"testing"
)

func TestValidateGitURL(t *testing.T) {
	tests := []struct {
		url     string
		want    string // host:port of the endpoint, or the error's substring
		wantErr bool
	}{
		{url: "https://git.example.com/a.git", want: "git.example.com"},
		{url: "https://Git.Example.COM.:8443/a.git", want: "git.example.com:8443"},
		{url: "ssh://git@github.com/org/repo.git", want: "github.com"},
		{url: "git@github.com:org/repo.git", want: "github.com"},
		{url: "file:///srv/repo", want: ""},
		{url: "file://localhost/srv/repo", want: ""},
		{url: "https://user:hunter2@git.example.com/a.git", want: "carries a password", wantErr: true},
		{url: "https://ghp_token@github.com/a.git", want: "carries credentials before @", wantErr: true},
		{url: "git://user@git.example.com/a.git", want: "carries credentials", wantErr: true},
		{url: "ssh://git:hunter2@github.com/org/repo.git", want: "carries a password", wantErr: true},
		{url: "file://evil.example.com/etc", want: "names host", wantErr: true},
		{url: "https://git.example.com/org/../../etc", want: `".."`, wantErr: true},
		{url: "https://git.example.com/org/%2e%2e/x", want: `".."`, wantErr: true},
		{url: "ftp://example.com/a.git", want: "must be an https://", wantErr: true},
		{url: "https:///a.git", want: "no host", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			e, err := ValidateGitURL(tt.url)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ValidateGitURL = %v; want an error with %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "ghp_token") {
					t.Fatalf("the error repeats the credentials: %v", err)
				}
				return
			}
			if err != nil || e.HostPort() != tt.want {
				t.Fatalf("ValidateGitURL = %+v, %v; want host %q", e, err, tt.want)
			}
		})
	}
	if err := (GitSourceSpec{URL: "https://u:hunter2@h/x"}).Validate(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.HasPrefix(err.Error(), "spec.url: ") {
		t.Errorf("Validate of a URL with a password = %v; want a spec.url error without the password", err)
	}
}

func TestGitURLPattern(t *testing.T) {
	tests := []struct {
		pattern string
		url     string
		match   bool
	}{
		{"https://*", "https://anything.example.com/x.git", true},
		{"https://*", "http://anything.example.com/x.git", false},
		{"ssh://*", "git@github.com:org/repo.git", true},
		{"ssh://github.com/acme", "git@github.com:acme/repo.git", true},
		{"ssh://github.com/acme", "git@github.com:acme-evil/repo.git", false},
		{"https://github.com/acme/", "https://github.com/acme/configs.git", true},
		{"https://github.com/acme", "https://github.com/other/configs.git", false},
		{"https://*.example.com", "https://git.example.com/x", true},
		{"https://*.example.com", "https://a.git.example.com/x", false},
		{"https://*.example.com", "https://example.com/x", false},
		{"https://git.example.com", "https://GIT.example.com:8443/x", true},
		{"https://git.example.com:443", "https://git.example.com:8443/x", false},
		{"http://127.0.0.1", "http://127.0.0.1:9000/r.git", true},
		{"file://", "file:///srv/repo", true},
		{"https://*", "file:///srv/repo", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.url, func(t *testing.T) {
			p, err := ParseGitURLPattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ValidateGitURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Match(e); got != tt.match {
				t.Fatalf("%s matches %s = %v; want %v", p, tt.url, got, tt.match)
			}
		})
	}
	for _, bad := range []string{"github.com", "ftp://x", "https://", "https://a*.example.com", "https://u@h", "file:///srv", "https://h:port"} {
		if _, err := ParseGitURLPattern(bad); err == nil {
			t.Errorf("ParseGitURLPattern(%q) accepted", bad)
		}
	}
	ps, err := ParseGitURLPatterns("https://*, ssh://*", "", "http://git.internal")
	if err != nil || GitURLPatternList(ps) != "https://*, ssh://*, http://git.internal" {
		t.Errorf("ParseGitURLPatterns = %v, %v", GitURLPatternList(ps), err)
	}
}

func TestRedactGitURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h/x":      "https://REDACTED:REDACTED@h/x",
		"https://tok@h/x":      "https://REDACTED:REDACTED@h/x",
		"https://h/x@y":        "https://h/x@y",
		"git@github.com:o/r":   "git@github.com:o/r",
		"ssh://git@github.com": "ssh://REDACTED:REDACTED@github.com",
	} {
		if got := RedactGitURL(in); got != want {
			t.Errorf("RedactGitURL(%q) = %q; want %q", in, got, want)
		}
	}
}
