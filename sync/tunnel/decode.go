package tunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// MaxRules is the most rules one fragment may carry. It bounds the work a
// single producer can cause; a whole tunnel may hold many fragments.
const MaxRules = 1000

// maxItems bounds every other array in a spec (ipRules, ports, audTag).
const maxItems = 1000

// DecodeSpec strictly decodes a fragment spec. Unknown or duplicate fields,
// wrong JSON types and non-integer numbers are reported as *api.FieldError
// naming the offending field, e.g. "spec.rules[2].originRequest.foo".
// It checks the shape only; Validate also checks the values.
func DecodeSpec(raw []byte) (Spec, error) {
	if s, ok := decodeFast(raw); ok {
		return s, nil
	}
	return decodeWalked(raw)
}

// decodeWalked checks the shape token by token, then decodes.
func decodeWalked(raw []byte) (Spec, error) {
	var s Spec
	if fe := checkShape(raw, reflect.TypeFor[Spec](), "spec"); fe != nil {
		return Spec{}, fe
	}
	// checkShape accepted the document, so this cannot fail in practice;
	// DisallowUnknownFields is a second line of defence should the shape
	// check and the struct tags ever drift apart.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, &api.FieldError{Field: "spec", Reason: "cannot decode: " + err.Error()}
	}
	return s, nil
}

// checkShape walks the JSON tokens of raw against the Go type t. The
// standard decoder cannot do this job: it matches field names case-
// insensitively, keeps the last of duplicate keys, accepts 30.0 for an
// integer only sometimes, and names neither array indices nor the unknown
// field's location. Walking tokens also means an oversized array is refused
// before anything is allocated for it.
func checkShape(raw []byte, t reflect.Type, root string) *api.FieldError {
	w := &shapeWalker{dec: json.NewDecoder(bytes.NewReader(raw))}
	w.dec.UseNumber()
	if fe := w.value(t, root); fe != nil {
		return fe
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		return &api.FieldError{Field: root, Reason: "unexpected data after the JSON value"}
	}
	return nil
}

type shapeWalker struct {
	dec *json.Decoder
}

// token reads the next token; a syntax error is reported against path.
func (w *shapeWalker) token(path string) (json.Token, *api.FieldError) {
	tok, err := w.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &api.FieldError{Field: path, Reason: "unexpected end of JSON input"}
		}
		return nil, &api.FieldError{Field: path, Reason: "invalid JSON: " + err.Error()}
	}
	return tok, nil
}

// value checks one JSON value against t. JSON null is accepted for every
// type: it decodes to the zero value, i.e. "not given".
func (w *shapeWalker) value(t reflect.Type, path string) *api.FieldError {
	tok, fe := w.token(path)
	if fe != nil {
		return fe
	}
	if tok == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return api.TypeError(path, "an object", tok)
		}
		return w.object(t, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return api.TypeError(path, "an array", tok)
		}
		return w.array(t.Elem(), path)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return api.TypeError(path, "a string", tok)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return api.TypeError(path, "true or false", tok)
		}
	case reflect.Int64:
		return checkInteger(tok, path)
	default:
		// Only reachable if a field of a new kind is added to the types.
		return &api.FieldError{Field: path, Reason: "unsupported field type " + t.String()}
	}
	return nil
}

// object checks the members of an object whose '{' was already read.
func (w *shapeWalker) object(t reflect.Type, path string) *api.FieldError {
	fields := api.JSONFields(t)
	seen := make(map[string]bool, len(fields))
	for w.dec.More() {
		tok, fe := w.token(path)
		if fe != nil {
			return fe
		}
		key, _ := tok.(string) // object keys are always strings
		fieldPath := api.ChildPath(path, key)
		ft, ok := fields[key]
		if !ok {
			return &api.FieldError{Field: fieldPath, Reason: "unknown field" + api.KnownFieldsHint(key, fields)}
		}
		if seen[key] {
			return &api.FieldError{Field: fieldPath, Reason: "duplicate field"}
		}
		seen[key] = true
		if fe := w.value(ft, fieldPath); fe != nil {
			return fe
		}
	}
	_, fe := w.token(path) // the closing '}'
	return fe
}

// array checks the elements of an array whose '[' was already read.
func (w *shapeWalker) array(elem reflect.Type, path string) *api.FieldError {
	limit, what := maxItems, "items"
	if path == "spec.rules" {
		limit, what = MaxRules, "rules per fragment"
	}
	for i := 0; w.dec.More(); i++ {
		if i == limit {
			return &api.FieldError{Field: path, Reason: fmt.Sprintf("too many entries: at most %d %s are allowed", limit, what)}
		}
		if fe := w.value(elem, path+"["+strconv.Itoa(i)+"]"); fe != nil {
			return fe
		}
	}
	_, fe := w.token(path) // the closing ']'
	return fe
}

// checkInteger accepts only plain integer literals: cloudflare-go reads
// durations back with strconv.ParseInt, so 30.0, 1e3 and 1.5 would make the
// stored configuration unreadable for it.
func checkInteger(tok json.Token, path string) *api.FieldError {
	n, ok := tok.(json.Number)
	if !ok {
		return api.TypeError(path, "an integer", tok)
	}
	if strings.ContainsAny(string(n), ".eE") {
		return &api.FieldError{Field: path, Reason: fmt.Sprintf("must be a whole number (e.g. 30), got %s", n)}
	}
	if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
		return &api.FieldError{Field: path, Reason: fmt.Sprintf("integer %s is out of range", n)}
	}
	return nil
}
