package cfapi

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
)

// IsUUID reports whether s is in the 8-4-4-4-12 hex form (any case)
// Cloudflare gives its tunnel, route and virtual network ids.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// NotIDRune reports a rune that cannot be part of a Cloudflare object id
// (letters, digits, '-' and '_'), for strings.IndexFunc.
func NotIDRune(r rune) bool {
	return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

// CheckAccountID checks a spec's account id; "" (the default account)
// passes.
func CheckAccountID(field, id string) *api.FieldError {
	if id != "" && (len(id) > 64 || strings.ContainsFunc(id, NotIDRune)) {
		return &api.FieldError{Field: field, Reason: "must be a Cloudflare account id (letters and digits)"}
	}
	return nil
}

// CheckObjectName checks the name a kind finds its object by (adopt, a
// route's virtual network): required, exact (no surrounding spaces), at
// most max characters, valid UTF-8 without control characters.
func CheckObjectName(field, name string, max int) *api.FieldError {
	switch {
	case name == "":
		return &api.FieldError{Field: field, Reason: "is required"}
	case strings.TrimSpace(name) != name:
		return &api.FieldError{Field: field, Reason: "must not start or end with spaces"}
	case utf8.RuneCountInString(name) > max:
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("is longer than %d characters", max)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0 || !utf8.ValidString(name):
		return &api.FieldError{Field: field, Reason: "must be valid UTF-8 without control characters"}
	}
	return nil
}
