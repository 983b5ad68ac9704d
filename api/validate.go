package api

import (
	"unicode"
	"unicode/utf8"
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

func checkName(field, v string, required bool, max int) *FieldError {
	switch {
	case v == "" && required:
		return &FieldError{Field: field, Reason: "is required"}
	case len(v) > max:
		return &FieldError{Field: field, Reason: "is longer than the limit of " + itoa(max) + " bytes"}
	case !utf8.ValidString(v):
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return &FieldError{Field: field, Reason: "must not contain spaces or control characters"}
		}
	}
	return nil
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
