package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// DefaultMaxFragmentSize is the default limit on one fragment's encoded size.
const DefaultMaxFragmentSize = 1 << 20

// DecodeStrict decodes exactly one JSON value from data into v, refusing
// what CheckJSON refuses (unknown, misspelt-case or repeated members,
// invalid UTF-8, wrong types) and trailing data. A failure is an *Error
// with code bad_request naming the offending field by its full path.
func DecodeStrict(data []byte, v any) error {
	return DecodeStrictAt(data, v, "")
}

// DecodeStrictAt is DecodeStrict for a value found at path root of a larger
// document (e.g. "spec"): errors name fields below root.
func DecodeStrictAt(data []byte, v any, root string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		if root != "" {
			return Errorf(CodeBadRequest, root, "is required")
		}
		return Errorf(CodeBadRequest, "", "request body is empty")
	}
	if fe := CheckJSON(data, reflect.TypeOf(v), root); fe != nil {
		return Errorf(CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(CodeBadRequest, "", "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Errorf(CodeBadRequest, "", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		return Errorf(CodeBadRequest, field, "must be %s, not JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return Errorf(CodeBadRequest, "", "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeBadRequest, "", "malformed JSON: unexpected end of input")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return Errorf(CodeBadRequest, strings.Trim(f, `"`), "unknown field")
	}
	return Errorf(CodeBadRequest, "", "malformed JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// DecodeFragment parses and checks the envelope of one fragment: the target
// and source references, the generation, and that spec is a JSON object no
// larger than maxSize. The spec itself is checked by its kind.
func DecodeFragment(data []byte, maxSize int) (Fragment, error) {
	if maxSize > 0 && len(data) > maxSize {
		return Fragment{}, Errorf(CodeTooLarge, "", "fragment is %d bytes, over the limit of %d", len(data), maxSize)
	}
	var f Fragment
	if err := DecodeStrict(data, &f); err != nil {
		return Fragment{}, err
	}
	if err := f.checkEnvelope(""); err != nil {
		return Fragment{}, err
	}
	// Indices are assigned by the cluster, never by the caller.
	f.CreateIndex, f.ModifyIndex = 0, 0
	f.Spec = compact(f.Spec)
	return f, nil
}

func (f *Fragment) checkEnvelope(prefix string) *Error {
	if fe := f.Target.Validate(prefix + "target"); fe != nil {
		return Errorf(CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	if fe := f.Source.Validate(prefix + "source"); fe != nil {
		return Errorf(CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	if f.Generation < 0 {
		return Errorf(CodeBadRequest, prefix+"generation", "must not be negative")
	}
	return checkSpec(prefix+"spec", f.Spec)
}

func checkSpec(field string, spec json.RawMessage) *Error {
	trimmed := bytes.TrimSpace(spec)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return Errorf(CodeBadRequest, field, "is required")
	}
	if trimmed[0] != '{' {
		return Errorf(CodeBadRequest, field, "must be a JSON object")
	}
	return nil
}

// DecodeReplaceSource parses a ReplaceSourceFragments request. Every
// fragment is checked like DecodeFragment; maxSize applies to each.
func DecodeReplaceSource(data []byte, maxSize, maxFragments int) (ReplaceSourceRequest, error) {
	var req ReplaceSourceRequest
	if err := DecodeStrict(data, &req); err != nil {
		return req, err
	}
	if fe := req.Source.Validate("source"); fe != nil {
		return req, Errorf(CodeBadRequest, fe.Field, "%s", fe.Reason)
	}
	if maxFragments > 0 && len(req.Fragments) > maxFragments {
		return req, Errorf(CodeTooLarge, "fragments", "%d fragments, over the limit of %d", len(req.Fragments), maxFragments)
	}
	seen := make(map[string]int, len(req.Fragments))
	for i, sf := range req.Fragments {
		field := fmt.Sprintf("fragments[%d]", i)
		f := Fragment{Target: sf.Target, Source: req.Source, Generation: sf.Generation, Spec: sf.Spec}
		if err := f.checkEnvelope(field + "."); err != nil {
			return req, err
		}
		if maxSize > 0 && len(sf.Spec) > maxSize {
			return req, Errorf(CodeTooLarge, field+".spec", "spec is %d bytes, over the limit of %d", len(sf.Spec), maxSize)
		}
		req.Fragments[i].Spec = compact(sf.Spec)
		if j, dup := seen[sf.Target.Key()]; dup {
			return req, Errorf(CodeBadRequest, field+".target", "target %s is listed twice (also fragments[%d])", sf.Target, j)
		}
		seen[sf.Target.Key()] = i
	}
	return req, nil
}

// compact strips insignificant white space so that the log and the store
// hold one form of each spec, and a re-sent spec compares equal byte for
// byte. The spec was already checked to be valid JSON.
func compact(spec json.RawMessage) json.RawMessage {
	// Most clients send compact JSON (json.Marshal does): keep those
	// bytes instead of copying every spec of a large write once more.
	if isCompact(spec) {
		return spec
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, spec); err != nil {
		return spec
	}
	return buf.Bytes()
}

// isCompact reports whether b, valid JSON, has no white space outside its
// strings, i.e. whether json.Compact would return it unchanged.
func isCompact(b []byte) bool {
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}
