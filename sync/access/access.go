package access

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindAccessApplication

// Application types the kind accepts.
const (
	TypeSelfHosted = "self_hosted"
	TypeSSH        = "ssh"
	TypeVNC        = "vnc"
	TypeSaaS       = "saas"
	TypeBookmark   = "bookmark"
)

// Defaults filled into the canonical spec.
const (
	DefaultType            = TypeSelfHosted
	DefaultSessionDuration = "24h"
)

// Limits checked by Validate.
const (
	maxNameLen   = 350 // Cloudflare's dashboard limit for app names
	maxDomainLen = 253 + 1024
	maxList      = 100
)

// Spec is a cloudflare.AccessApplication fragment (see api.AccessApplicationSpec).
type Spec = api.AccessApplicationSpec

// New returns the Access application kind: one owner per target, Conflicts
// keyed "application".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "application", Check: validate, Canonical: Canonical}
}

// Canonical fills in defaults and normalises s so equal meanings marshal
// to equal bytes. It does not validate.
func Canonical(s Spec) Spec {
	if s.Type == "" {
		s.Type = DefaultType
	}
	if s.SessionDuration == "" && selfHosted(s.Type) {
		s.SessionDuration = DefaultSessionDuration
	}
	if s.AppLauncherVisible == nil {
		t := true
		s.AppLauncherVisible = &t
	} else {
		v := *s.AppLauncherVisible
		s.AppLauncherVisible = &v
	}
	s.Domain = canonicalDomain(s.Domain)
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
	s.Policies = nilIfEmpty(slices.Clone(s.Policies))
	s.AllowedIdps = sortedSet(s.AllowedIdps)
	s.Tags = sortedSet(s.Tags)
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	if s.Domain == "" && selfHosted(s.Type) {
		s.Domain = firstPublic(s.Destinations)
	}
	s.AccessApplicationSettings = canonicalSettings(s.AccessApplicationSettings)
	return s
}

// canonicalDomain lower-cases the host; the path is case-sensitive.
func canonicalDomain(d string) string {
	host, path, _ := strings.Cut(d, "/")
	if path == "" && !strings.Contains(d, "/") {
		return strings.ToLower(host)
	}
	return strings.ToLower(host) + "/" + path
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return nilIfEmpty(slices.Compact(out))
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	switch {
	case strings.TrimSpace(s.Name) == "":
		return &api.FieldError{Field: "spec.name", Reason: "is required"}
	case utf8.RuneCountInString(s.Name) > maxNameLen:
		return &api.FieldError{Field: "spec.name", Reason: fmt.Sprintf("is longer than %d characters", maxNameLen)}
	case strings.IndexFunc(s.Name, unicode.IsControl) >= 0:
		return &api.FieldError{Field: "spec.name", Reason: "must not contain control characters"}
	}
	if fe := checkType(s.Type); fe != nil {
		return fe
	}
	switch {
	case s.Type == TypeSaaS && s.Domain != "":
		return &api.FieldError{Field: "spec.domain", Reason: "must not be set for a saas application: Cloudflare assigns its domain"}
	case s.Type == TypeSaaS:
	case s.Domain == "" && selfHosted(s.Type) && firstPublic(s.Destinations) != "":
		// The API takes the first public destination as the domain.
	default:
		if reason := checkDomain(s.Domain); reason != "" {
			return &api.FieldError{Field: "spec.domain", Reason: reason}
		}
	}
	if fe := checkSettings(s); fe != nil {
		return fe
	}
	if s.SessionDuration != "" {
		if !selfHosted(s.Type) {
			return notForType("spec.sessionDuration", s.Type)
		}
		d, err := time.ParseDuration(s.SessionDuration)
		switch {
		case err != nil:
			return &api.FieldError{Field: "spec.sessionDuration", Reason: fmt.Sprintf("%q is not a duration such as \"24h\" or \"30m\"", s.SessionDuration)}
		case d <= 0:
			return &api.FieldError{Field: "spec.sessionDuration", Reason: "must be positive"}
		}
	}
	if fe := checkPolicies(s.Policies); fe != nil {
		return fe
	}
	for _, l := range []struct {
		field string
		ids   []string
	}{{"spec.allowedIdps", s.AllowedIdps}, {"spec.tags", s.Tags}} {
		if fe := checkList(l.field, l.ids); fe != nil {
			return fe
		}
	}
	if s.ID != "" {
		if reason := checkID(s.ID); reason != "" {
			return &api.FieldError{Field: "spec.id", Reason: reason}
		}
	}
	if s.TakeOver != "" {
		if s.ID != "" {
			return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that application) or takeOver (own the application a previous controller created), not both"}
		}
		if reason := checkID(s.TakeOver); reason != "" {
			return &api.FieldError{Field: "spec.takeOver", Reason: reason}
		}
	}
	if s.Credentials != nil && s.AccountID == "" {
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

func checkID(id string) string {
	if len(id) > 64 || strings.ContainsFunc(id, cfapi.NotIDRune) {
		return "must be an Access application id (a UUID)"
	}
	return ""
}

func checkList(field string, ids []string) *api.FieldError {
	if len(ids) > maxList {
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("has %d entries; at most %d", len(ids), maxList)}
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case strings.TrimSpace(id) == "":
			return &api.FieldError{Field: f, Reason: "must not be empty"}
		case len(id) > 255 || strings.IndexFunc(id, unicode.IsControl) >= 0 || strings.ContainsAny(id, " \t"):
			return &api.FieldError{Field: f, Reason: "must be an id without spaces or control characters (at most 255 bytes)"}
		}
		if j, dup := seen[id]; dup {
			return &api.FieldError{Field: f, Reason: fmt.Sprintf("duplicates %s[%d]", field, j)}
		}
		seen[id] = i
	}
	return nil
}

// checkDomain accepts "host" or "host/path": a DNS hostname (the first
// label may be "*"), no scheme, no port, no query.
func checkDomain(d string) string {
	if d == "" {
		return "is required"
	}
	if len(d) > maxDomainLen {
		return "is too long"
	}
	if i := strings.Index(d, "://"); i >= 0 {
		return fmt.Sprintf("must not include a scheme (%q): give the hostname, e.g. \"app.example.com\"", d[:i+3])
	}
	host, path, hasPath := strings.Cut(d, "/")
	if strings.Contains(host, ":") {
		return "must not include a port"
	}
	if reason := checkHostname(host); reason != "" {
		return reason
	}
	if hasPath {
		if strings.ContainsAny(path, "?# \t") || strings.IndexFunc(path, unicode.IsControl) >= 0 {
			return "path must not contain spaces, control characters, '?' or '#'"
		}
	}
	return ""
}

func checkHostname(h string) string {
	if h == "" {
		return "must start with a hostname"
	}
	if len(h) > 253 {
		return "hostname is longer than 253 characters"
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return fmt.Sprintf("hostname %q must be a fully qualified name such as app.example.com", h)
	}
	for i, l := range labels {
		if l == "*" && i == 0 {
			continue
		}
		if l == "" || len(l) > 63 {
			return fmt.Sprintf("hostname %q has an empty or over-long (>63) label", h)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("hostname %q has a label that starts or ends with '-'", h)
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return fmt.Sprintf("hostname %q may only contain letters, digits, '-' and a leading \"*.\" (use punycode for IDNs)", h)
			}
		}
	}
	return ""
}
