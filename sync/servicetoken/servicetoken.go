package servicetoken

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindAccessServiceToken

// maxNameLen bounds spec.name as the API does.
const maxNameLen = 255

// The API's duration when none is given, and the one that never expires.
const (
	DefaultDuration = "8760h"
	Forever         = "forever"
)

// The Secret keys when the spec names none: what cloudflare-operator
// wrote, so Deployments reading them keep working.
const (
	DefaultClientIDKey     = "CF_ACCESS_CLIENT_ID"
	DefaultClientSecretKey = "CF_ACCESS_CLIENT_SECRET"
)

// Spec is a cloudflare.AccessServiceToken fragment (see
// api.AccessServiceTokenSpec).
type Spec = api.AccessServiceTokenSpec

// New returns the service token kind: one owner per target, Conflicts
// keyed "accessServiceToken".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "accessServiceToken", Check: validate, Canonical: Canonical}
}

// Canonical fills in the API's default duration and the default Secret
// keys, so that saying them or not is the same target. It does not
// validate.
func Canonical(s Spec) Spec {
	s.TakeOver = strings.ToLower(s.TakeOver)
	if s.Duration == "" {
		s.Duration = DefaultDuration
	}
	if s.Secret != nil {
		sec := *s.Secret
		if sec.ClientIDKey == "" {
			sec.ClientIDKey = DefaultClientIDKey
		}
		if sec.ClientSecretKey == "" {
			sec.ClientSecretKey = DefaultClientSecretKey
		}
		s.Secret = &sec
	}
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
}

// parseDuration reads a spec duration; ok false for "forever".
func parseDuration(d string) (v time.Duration, ok bool, err error) {
	if d == Forever {
		return 0, false, nil
	}
	v, err = time.ParseDuration(d)
	if err == nil && v <= 0 {
		err = fmt.Errorf("not positive")
	}
	return v, true, err
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	if fe := cfapi.CheckObjectName("spec.name", s.Name, maxNameLen); fe != nil {
		return fe
	}
	d := s.Duration
	if d == "" {
		d = DefaultDuration
	}
	dur, expires, err := parseDuration(d)
	if err != nil {
		return &api.FieldError{Field: "spec.duration", Reason: fmt.Sprintf("%q is not a positive duration such as 8760h (units h, m, s), nor forever", s.Duration)}
	}
	if s.RefreshBefore != "" {
		rb, err := time.ParseDuration(s.RefreshBefore)
		switch {
		case err != nil || rb <= 0:
			return &api.FieldError{Field: "spec.refreshBefore", Reason: fmt.Sprintf("%q is not a positive duration such as 720h", s.RefreshBefore)}
		case !expires:
			return &api.FieldError{Field: "spec.refreshBefore", Reason: "a token whose duration is forever never expires: nothing to refresh"}
		case rb >= dur:
			return &api.FieldError{Field: "spec.refreshBefore", Reason: fmt.Sprintf("must be shorter than the duration (%s), or every flush would refresh", d)}
		}
	}
	if s.Secret == nil && s.File == "" {
		return &api.FieldError{Field: "spec.secret", Reason: "give secret (a Kubernetes Secret), file, or both: the client secret is answered only once and must be delivered somewhere"}
	}
	if s.Secret != nil {
		if fe := checkSecret(*s.Secret); fe != nil {
			return fe
		}
	}
	if s.File != "" {
		switch {
		case !filepath.IsAbs(s.File):
			return &api.FieldError{Field: "spec.file", Reason: "must be an absolute path"}
		case filepath.Clean(s.File) != s.File || strings.HasSuffix(s.File, "/"):
			return &api.FieldError{Field: "spec.file", Reason: fmt.Sprintf("must be a clean path to a file (%s)", filepath.Clean(s.File))}
		case strings.ContainsRune(s.File, 0):
			return &api.FieldError{Field: "spec.file", Reason: "must not contain NUL"}
		}
	}
	switch {
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not a service token id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

// checkSecret checks the Secret a token is delivered to: names Kubernetes
// accepts, keys a Secret may have, two different keys.
func checkSecret(sec api.ServiceTokenSecret) *api.FieldError {
	for _, n := range []struct {
		field, v string
		max      int
	}{{"namespace", sec.Namespace, 63}, {"name", sec.Name, 253}} {
		switch {
		case n.v == "":
			return &api.FieldError{Field: "spec.secret." + n.field, Reason: "is required"}
		case len(n.v) > n.max || strings.IndexFunc(n.v, notDNSRune) >= 0 || !isAlnum(n.v[0]) || !isAlnum(n.v[len(n.v)-1]) ||
			n.field == "namespace" && strings.Contains(n.v, "."):
			return &api.FieldError{Field: "spec.secret." + n.field, Reason: fmt.Sprintf("%q is not a Kubernetes %s (lowercase letters, digits and '-', at most %d characters)", n.v, n.field, n.max)}
		}
	}
	for _, k := range []struct{ field, v string }{{"clientIdKey", sec.ClientIDKey}, {"clientSecretKey", sec.ClientSecretKey}} {
		if k.v == "" {
			continue
		}
		if len(k.v) > 253 || strings.IndexFunc(k.v, notKeyRune) >= 0 || k.v == "." || k.v == ".." {
			return &api.FieldError{Field: "spec.secret." + k.field, Reason: fmt.Sprintf("%q is not a Secret key (letters, digits, '-', '_', '.')", k.v)}
		}
	}
	id, secret := sec.ClientIDKey, sec.ClientSecretKey
	if id == "" {
		id = DefaultClientIDKey
	}
	if secret == "" {
		secret = DefaultClientSecretKey
	}
	if id == secret {
		return &api.FieldError{Field: "spec.secret.clientSecretKey", Reason: "must differ from clientIdKey"}
	}
	return nil
}

func notKeyRune(r rune) bool {
	return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

func notDNSRune(r rune) bool {
	return !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z')
}

func isAlnum(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' }
