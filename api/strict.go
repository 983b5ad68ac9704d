package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// CheckJSON checks that data is exactly one JSON value that decodes into a
// value of type t without any of the standard decoder's silent repairs:
//
//   - every object member name matches a field's JSON name exactly (the
//     standard decoder also takes "Target" or "TARGET" for "target");
//   - no object, at any depth, names a member twice (the standard decoder
//     keeps the last one, so two producers can disagree about what was sent);
//   - every string is valid UTF-8 and holds no U+FFFD (the standard decoder
//     turns invalid bytes and lone surrogate escapes into U+FFFD, so two
//     different inputs could become one name);
//   - no member is unknown, and the JSON types match the Go types.
//
// A failure names the offending value with its full path below root, e.g.
// "target.zz", "fragments[3].target.name" or "spec.rules[2].hostname".
// Members of type json.RawMessage, any, or a map are checked for duplicate
// names and text only: their content belongs to someone else to check.
func CheckJSON(data []byte, t reflect.Type, root string) *FieldError {
	w := &walker{dec: json.NewDecoder(bytes.NewReader(data)), root: root}
	w.dec.UseNumber()
	if fe := w.value(t, root); fe != nil {
		return fe
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		return &FieldError{Field: root, Reason: "has data after the JSON value"}
	}
	return nil
}

type walker struct {
	dec  *json.Decoder
	root string
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (w *walker) token(path string) (json.Token, *FieldError) {
	tok, err := w.dec.Token()
	if err != nil {
		// Broken syntax is the document's fault, not a field's: it is
		// reported against the root with the byte offset.
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, &FieldError{Field: w.root, Reason: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn)}
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &FieldError{Field: w.root, Reason: "malformed JSON: unexpected end of input"}
		}
		return nil, &FieldError{Field: w.root, Reason: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if s, ok := tok.(string); ok {
		if fe := checkText(path, s); fe != nil {
			return nil, fe
		}
	}
	return tok, nil
}

// checkText refuses the marks of invalid input in a decoded string.
func checkText(path, s string) *FieldError {
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return &FieldError{Field: path, Reason: "is not valid UTF-8 (invalid bytes, a lone surrogate escape, or U+FFFD)"}
	}
	return nil
}

// value checks one JSON value against t. JSON null is accepted for every
// type: it decodes to the zero value, i.e. "not given".
func (w *walker) value(t reflect.Type, path string) *FieldError {
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
	// Types that decode themselves (json.RawMessage, time.Time, ...) and
	// interfaces take any JSON; their text is still checked.
	if t == rawMessageType || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(unmarshalerType) {
		return w.any(tok, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return TypeError(path, "an object", tok)
		}
		return w.object(t, path)
	case reflect.Map:
		if tok != json.Delim('{') {
			return TypeError(path, "an object", tok)
		}
		return w.mapValue(t.Elem(), path)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // []byte is a base64 string
			if _, ok := tok.(string); !ok {
				return TypeError(path, "a base64 string", tok)
			}
			return nil
		}
		if tok != json.Delim('[') {
			return TypeError(path, "an array", tok)
		}
		for i := 0; w.dec.More(); i++ {
			if fe := w.value(t.Elem(), path+"["+strconv.Itoa(i)+"]"); fe != nil {
				return fe
			}
		}
		_, fe := w.token(path) // ']'
		return fe
	case reflect.String:
		if _, ok := tok.(string); !ok && !reflect.PointerTo(t).Implements(textType) {
			return TypeError(path, "a string", tok)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return TypeError(path, "true or false", tok)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := tok.(json.Number)
		if !ok {
			return TypeError(path, "an integer", tok)
		}
		if strings.ContainsAny(string(n), ".eE") {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be a whole number, got %s", n)}
		}
		bits := t.Bits()
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			if _, err := strconv.ParseUint(string(n), 10, bits); err != nil {
				return &FieldError{Field: path, Reason: fmt.Sprintf("must be a whole number from 0 to %d, got %s", uint64(1)<<bits-1, n)}
			}
		} else if _, err := strconv.ParseInt(string(n), 10, bits); err != nil {
			return &FieldError{Field: path, Reason: fmt.Sprintf("integer %s is out of range", n)}
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := tok.(json.Number); !ok {
			return TypeError(path, "a number", tok)
		}
	default:
		return &FieldError{Field: path, Reason: "unsupported field type " + t.String()}
	}
	return nil
}

// object checks the members of an object whose '{' was already read.
func (w *walker) object(t reflect.Type, path string) *FieldError {
	fields := JSONFields(t)
	seen := make(map[string]bool, len(fields))
	for w.dec.More() {
		tok, fe := w.token(path)
		if fe != nil {
			return fe
		}
		key := tok.(string) // object keys are always strings
		fieldPath := ChildPath(path, key)
		ft, ok := fields[key]
		if !ok {
			return &FieldError{Field: fieldPath, Reason: "unknown field" + KnownFieldsHint(key, fields)}
		}
		if seen[key] {
			return &FieldError{Field: fieldPath, Reason: "is given twice"}
		}
		seen[key] = true
		if fe := w.value(ft, fieldPath); fe != nil {
			return fe
		}
	}
	_, fe := w.token(path) // '}'
	return fe
}

// mapValue checks a JSON object decoded into a map: any member names, once
// each, values of type elem.
func (w *walker) mapValue(elem reflect.Type, path string) *FieldError {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, fe := w.token(path)
		if fe != nil {
			return fe
		}
		key := tok.(string)
		fieldPath := ChildPath(path, key)
		if seen[key] {
			return &FieldError{Field: fieldPath, Reason: "is given twice"}
		}
		seen[key] = true
		if fe := w.value(elem, fieldPath); fe != nil {
			return fe
		}
	}
	_, fe := w.token(path)
	return fe
}

// any checks a value of any shape whose first token is tok.
func (w *walker) any(tok json.Token, path string) *FieldError {
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for w.dec.More() {
			k, fe := w.token(path)
			if fe != nil {
				return fe
			}
			key := k.(string)
			fieldPath := ChildPath(path, key)
			if seen[key] {
				return &FieldError{Field: fieldPath, Reason: "is given twice"}
			}
			seen[key] = true
			v, fe := w.token(fieldPath)
			if fe != nil {
				return fe
			}
			if fe := w.any(v, fieldPath); fe != nil {
				return fe
			}
		}
		_, fe := w.token(path)
		return fe
	case json.Delim('['):
		for i := 0; w.dec.More(); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			v, fe := w.token(p)
			if fe != nil {
				return fe
			}
			if fe := w.any(v, p); fe != nil {
				return fe
			}
		}
		_, fe := w.token(path)
		return fe
	}
	return nil
}

// TypeError reports that the JSON value at path is not of the wanted kind,
// e.g. "must be an integer, got a string". It is exported so that other
// strict walkers (sync/tunnel) word their type errors the same way.
func TypeError(path, want string, got json.Token) *FieldError {
	return &FieldError{Field: path, Reason: "must be " + want + ", got " + describeToken(got)}
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "null"
}

// ChildPath appends a member name to a JSON path; a name that is not a
// plain identifier is quoted so that the path stays unambiguous.
func ChildPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			plain = false
			break
		}
	}
	switch {
	case path == "" && plain:
		return key
	case plain:
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// KnownFieldsHint suggests the intended name when only the letter case is
// wrong, the commonest slip (e.g. "noTlsVerify" for "noTLSVerify"). fields
// is a map from JSONFields. It returns "" when there is nothing to suggest.
func KnownFieldsHint(key string, fields map[string]reflect.Type) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return fmt.Sprintf(" (names are case-sensitive: did you mean %q?)", name)
		}
	}
	return ""
}

// fieldCache memoises JSONFields: strict decoding looks up the fields of
// every object it walks, and reflecting over struct tags each time would
// dominate (sync/tunnel decodes every rule of every fragment).
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// JSONFields maps the JSON member names of struct t to their types,
// including the promoted fields of embedded structs, as encoding/json names
// them. The result is cached and shared: callers must not modify it.
func JSONFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range JSONFields(et) {
					if _, own := fields[k]; !own {
						fields[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	fieldCache.Store(t, fields)
	return fields
}
