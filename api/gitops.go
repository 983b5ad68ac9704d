package api

import (
	"fmt"
	"strings"
	"time"
)

// Git sources: repositories whose ConfluxConfig files become conflux.Config
// fragments. A GitSource is registered through the admin API (conflux-sync
// sources add); a ConfluxSource is the Kubernetes object of the same
// meaning. Both are polled by the leader's ingest/git.

// Source kinds of the Git producer.
const (
	// SourceKindGit is a Git source registered through the admin API.
	SourceKindGit = "GitSource"
	// SourceKindConfluxSource is a gitops.conflux.io ConfluxSource object.
	SourceKindConfluxSource = "ConfluxSource"
)

// Defaults of a GitSourceSpec.
const (
	DefaultGitInterval = time.Minute
	DefaultGitTimeout  = 60 * time.Second
	DefaultGitBranch   = "main"
	// MinGitInterval keeps a typo ("1s") from hammering a Git server.
	MinGitInterval = 5 * time.Second
)

// GitSourceSpec is the spec of a GitSource (api.Source.Spec).
type GitSourceSpec struct {
	// URL is the repository: https://, http://, ssh://, git:// or file://,
	// or scp-like user@host:path. It never carries a password (nor any
	// userinfo but an ssh user): credentials belong in SecretRef. Which
	// URLs a server polls is its --source-allow (docs/gitops.md).
	URL string `json:"url"`
	// Ref selects what to sync; default the branch "main".
	Ref GitRef `json:"ref,omitzero"`
	// Interval between polls (a Go duration); default 1m, at least 5s.
	Interval string `json:"interval,omitempty"`
	// Timeout of one Git operation; default 60s.
	Timeout string `json:"timeout,omitempty"`
	// Path is the folder scanned for ConfluxConfig files; default the root.
	Path string `json:"path,omitempty"`
	// SecretRef names the credentials (username/password, bearerToken,
	// identity/known_hosts, ca.crt): a directory of the server's
	// --secrets-dir. ConfluxConfig files' secretsRef names are read there
	// too.
	SecretRef string `json:"secretRef,omitempty"`
	// Tenant is the Conflux tenant of files without metadata.namespace.
	Tenant string `json:"tenant,omitempty"`
	// Suspend stops polling; what was published stays.
	Suspend bool `json:"suspend,omitempty"`
	// Prune removes the config of a file deleted from Git; default true.
	Prune *bool `json:"prune,omitempty"`
	// RequestedAt asks for a sync now when it differs from
	// Status.LastHandledReconcileAt (conflux-sync sources reconcile).
	RequestedAt string `json:"requestedAt,omitempty"`
}

// GitRef selects a commit: Commit wins over Tag, which wins over Branch.
type GitRef struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// PruneEnabled reports the effective prune setting.
func (s GitSourceSpec) PruneEnabled() bool { return s.Prune == nil || *s.Prune }

// Durations returns the effective interval and timeout.
func (s GitSourceSpec) Durations() (interval, timeout time.Duration, err error) {
	interval, timeout = DefaultGitInterval, DefaultGitTimeout
	if s.Interval != "" {
		if interval, err = time.ParseDuration(s.Interval); err != nil {
			return 0, 0, &FieldError{Field: "spec.interval", Reason: fmt.Sprintf("%q is not a duration such as 1m or 30s", s.Interval)}
		}
		if interval < MinGitInterval {
			return 0, 0, &FieldError{Field: "spec.interval", Reason: fmt.Sprintf("%s is shorter than the minimum %s", interval, MinGitInterval)}
		}
	}
	if s.Timeout != "" {
		if timeout, err = time.ParseDuration(s.Timeout); err != nil || timeout <= 0 {
			return 0, 0, &FieldError{Field: "spec.timeout", Reason: fmt.Sprintf("%q is not a positive duration such as 60s", s.Timeout)}
		}
	}
	return interval, timeout, nil
}

// Validate checks the spec without contacting the repository.
func (s GitSourceSpec) Validate() error {
	if s.URL == "" {
		return &FieldError{Field: "spec.url", Reason: "is required"}
	}
	if strings.ContainsAny(s.URL, " \t\r\n") {
		return &FieldError{Field: "spec.url", Reason: fmt.Sprintf("%q has white space", RedactGitURL(s.URL))}
	}
	if _, err := ValidateGitURL(s.URL); err != nil {
		return &FieldError{Field: "spec.url", Reason: err.Error()}
	}
	if _, _, err := s.Durations(); err != nil {
		return err
	}
	if strings.HasPrefix(s.Path, "/") || strings.Contains("/"+s.Path+"/", "/../") {
		return &FieldError{Field: "spec.path", Reason: fmt.Sprintf("%q must be a relative path inside the repository", s.Path)}
	}
	if s.SecretRef != "" && !ValidSecretName(s.SecretRef) {
		return &FieldError{Field: "spec.secretRef", Reason: fmt.Sprintf("%q must be a plain name (letters, digits, '.', '_', '-')", s.SecretRef)}
	}
	return nil
}

// ValidSecretName reports whether n may name a directory of --secrets-dir:
// it must be safe as a single path element.
func ValidSecretName(n string) bool {
	if n == "" || n == "." || n == ".." || len(n) > 253 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// GitSourceStatus is what the leader last did with a Git source: the
// Source.Status of a GitSource, and the status of a ConfluxSource.
type GitSourceStatus struct {
	Conditions         []Condition `json:"conditions,omitempty"`
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	// LastSyncedCommit is the commit whose files every valid config was
	// proposed from; LastAttemptedCommit the newest commit tried.
	LastSyncedCommit    string `json:"lastSyncedCommit,omitempty"`
	LastAttemptedCommit string `json:"lastAttemptedCommit,omitempty"`
	// Inventory lists the configs the source publishes, sorted by config.
	Inventory              []GitInventoryEntry `json:"inventory,omitempty"`
	LastHandledReconcileAt string              `json:"lastHandledReconcileAt,omitempty"`
	// FileErrors are the files of LastAttemptedCommit that failed, each
	// "path:line: reason".
	FileErrors []string `json:"fileErrors,omitempty"`
}

// GitInventoryEntry is one config a Git source publishes.
type GitInventoryEntry struct {
	// Config is the conflux.Config target name
	// (tenant/application/environment/name).
	Config string `json:"config"`
	// File is the repository file that defines it.
	File string `json:"file"`
	// Release is the release name the file publishes under (a policy
	// rule names it).
	Release string `json:"release"`
	// ContentSHA256 is the sha256 of the rendered content, never the
	// content itself.
	ContentSHA256 string `json:"contentSha256"`
	// VersionID is the Conflux version holding it, once published.
	VersionID string `json:"versionId,omitempty"`
}

// Condition is a kstatus-style condition, as Kubernetes objects carry them.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// SourceKindGitCredentials records which hosts the Git credentials of one
// Secret may be sent to: an api.Source whose namespace and name are the
// Secret's ("" namespace: the server's --secrets-dir) and whose spec is a
// GitCredentialsSpec. The leader records one when a Secret's credentials
// are first registered or used, with the URL's host; from then on they
// are sent to no other host. Only an admin token may change or remove
// one (conflux-sync sources bind-secret).
const SourceKindGitCredentials = "GitCredentials"

// GitCredentialsSpec is the spec of a GitCredentials record.
type GitCredentialsSpec struct {
	// Hosts the credentials may be sent to: host names, or patterns
	// where a "*" label matches one label (*.example.com); any port.
	Hosts []string `json:"hosts"`
}

// Validate checks the hosts.
func (s GitCredentialsSpec) Validate() error {
	if len(s.Hosts) == 0 {
		return &FieldError{Field: "spec.hosts", Reason: "list at least one host"}
	}
	for i, h := range s.Hosts {
		p, err := ParseGitURLPattern("https://" + h)
		if err != nil || p.Port != "" || (p.Path != "" && p.Path != "/") || p.Host == "*" {
			return &FieldError{Field: fmt.Sprintf("spec.hosts[%d]", i), Reason: fmt.Sprintf("%q must be a host name or a pattern such as *.example.com (no scheme, port, path or bare *)", h)}
		}
	}
	return nil
}

// AllowsHost reports whether host is one of the spec's hosts.
func (s GitCredentialsSpec) AllowsHost(host string) bool {
	for _, h := range s.Hosts {
		if MatchGitHost(h, host) {
			return true
		}
	}
	return false
}

// Refusal explains why the credentials of secret are not sent to host,
// and how an admin binds them to it if it is right.
func (s GitCredentialsSpec) Refusal(secret SecretName, host string) string {
	ns := ""
	if secret.Namespace != "" {
		ns = " --namespace " + secret.Namespace
	}
	return fmt.Sprintf("the credentials of %s are bound to %s, not %s: they are never sent to another host; if %s is right, an admin binds them to it with `conflux-sync sources bind-secret %s%s --host %s`",
		secret, strings.Join(s.Hosts, ", "), host, host, secret.Name, ns, strings.Join(append(append([]string(nil), s.Hosts...), host), " --host "))
}
