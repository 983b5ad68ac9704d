package api

import (
	"errors"
	"testing"
)

func TestGitSourceSpecValidate(t *testing.T) {
	tests := []struct {
		name  string
		spec  GitSourceSpec
		field string
	}{
		{"https", GitSourceSpec{URL: "https://git.example.com/a.git"}, ""},
		{"scp-like", GitSourceSpec{URL: "git@github.com:org/repo.git"}, ""},
		{"file with all fields", GitSourceSpec{URL: "file:///srv/repo", Interval: "30s", Timeout: "10s", Path: "conf/prod", SecretRef: "creds"}, ""},
		{"missing url", GitSourceSpec{}, "spec.url"},
		{"ftp", GitSourceSpec{URL: "ftp://example.com/a.git"}, "spec.url"},
		{"interval syntax", GitSourceSpec{URL: "https://x/a", Interval: "soon"}, "spec.interval"},
		{"interval too short", GitSourceSpec{URL: "https://x/a", Interval: "1s"}, "spec.interval"},
		{"timeout", GitSourceSpec{URL: "https://x/a", Timeout: "-1s"}, "spec.timeout"},
		{"absolute path", GitSourceSpec{URL: "https://x/a", Path: "/etc"}, "spec.path"},
		{"escaping path", GitSourceSpec{URL: "https://x/a", Path: "a/../../b"}, "spec.path"},
		{"secret path", GitSourceSpec{URL: "https://x/a", SecretRef: "../x"}, "spec.secretRef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			var fe *FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("Validate = %v; want an error on %s", err, tt.field)
			}
		})
	}
	if !(GitSourceSpec{}).PruneEnabled() || (GitSourceSpec{Prune: new(bool)}).PruneEnabled() {
		t.Error("PruneEnabled: default true, explicit false kept")
	}
}
