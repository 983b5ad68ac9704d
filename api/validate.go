package api

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on names. They keep storage keys short and printable.
const (
	MaxKindLen = 128
	MaxNameLen = 512
)

// Validate checks the target reference; field prefixes the reported field.
func (t TargetRef) Validate(field string) *FieldError {
	if err := checkName(field+".kind", t.Kind, true, MaxKindLen); err != nil {
		return err
	}
	return checkName(field+".name", t.Name, true, MaxNameLen)
}

// Validate checks the source reference; field prefixes the reported field.
func (s SourceRef) Validate(field string) *FieldError {
	if err := checkName(field+".kind", s.Kind, true, MaxKindLen); err != nil {
		return err
	}
	if err := checkName(field+".namespace", s.Namespace, false, MaxNameLen); err != nil {
		return err
	}
	return checkName(field+".name", s.Name, true, MaxNameLen)
}

// checkName enforces the name character set (docs/api.md, "Names"): valid
// UTF-8 in NFC; letters, marks, digits, punctuation and symbols only — no
// spaces or separators, no control or format characters (which include the
// bidi controls U+202A–U+202E and U+2066–U+2069, the zero-width characters
// U+200B–U+200D and U+FEFF, and the soft hyphen), no private-use,
// surrogate, unassigned or noncharacter code points, no U+FFFD; no
// combining mark first; and at most max bytes. Two names that look the same
// in a listing are then the same bytes (up to confusable letters of
// different scripts, which stay distinct names).
func checkName(field, v string, required bool, max int) *FieldError {
	switch {
	case v == "" && required:
		return &FieldError{Field: field, Reason: "is required"}
	case len(v) > max:
		return &FieldError{Field: field, Reason: "is longer than the limit of " + itoa(max) + " bytes"}
	case !utf8.ValidString(v):
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	}
	for i, r := range v {
		if reason := nameRuneProblem(r); reason != "" {
			return &FieldError{Field: field, Reason: fmt.Sprintf("must not contain %s (%U at byte %d)", reason, r, i)}
		}
		if i == 0 && unicode.Is(unicode.M, r) {
			return &FieldError{Field: field, Reason: fmt.Sprintf("must not start with a combining mark (%U)", r)}
		}
	}
	if !norm.NFC.IsNormalString(v) {
		return &FieldError{Field: field, Reason: "must be in Unicode normalization form C (NFC): compose accents with their letters"}
	}
	return nil
}

// nameRuneProblem says why r may not appear in a name, "" when it may.
func nameRuneProblem(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "U+FFFD, the mark of invalid UTF-8"
	case unicode.IsControl(r):
		return "control characters"
	case unicode.Is(unicode.Cf, r):
		return "invisible format characters (bidi controls, zero-width characters)"
	case unicode.IsSpace(r) || unicode.Is(unicode.Z, r):
		return "spaces"
	case unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r):
		return "private-use or surrogate code points"
	case r&0xFFFE == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF):
		return "noncharacters"
	case !unicode.IsGraphic(r):
		return "unassigned code points"
	}
	return ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
