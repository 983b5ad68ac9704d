package tunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// specKeys holds every JSON field name of the spec's types. The fast path
// below needs each key of a document to match one of them exactly, so the
// standard decoder's case-insensitive matching can never take effect.
var specKeys = collectKeys(reflect.TypeFor[Spec]())

func collectKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	lower := map[string]string{}
	var walk func(t reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			// Two names that differ only in case would let a key meant for
			// one struct be matched loosely in another.
			if other, ok := lower[strings.ToLower(name)]; ok && other != name {
				panic(fmt.Sprintf("tunnel: JSON fields %q and %q differ only in case", other, name))
			}
			lower[strings.ToLower(name)] = name
			keys[name] = true
			walk(f.Type)
		}
	}
	walk(t)
	return keys
}

// decodeFast decodes specs that need none of checkShape's precision: the
// standard strict decoder accepts them and every key is an exact, unique
// field name with no null anywhere. It reports false for everything else,
// which DecodeSpec then walks token by token for an error that names the
// field. FuzzFastPath checks that whatever it accepts, checkShape accepts
// too and decodes to the same Spec.
func decodeFast(raw []byte) (Spec, bool) {
	if !plainKeys(raw) {
		return Spec{}, false
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Spec{}, false
	}
	if len(s.Rules) > MaxRules || (s.Settings != nil && s.Settings.OriginRequest != nil && !itemsWithin(s.Settings.OriginRequest)) || !rulesItemsWithin(s.Rules) {
		return Spec{}, false
	}
	return s, true
}

func rulesItemsWithin(rules []Rule) bool {
	for i := range rules {
		if rules[i].OriginRequest != nil && !itemsWithin(rules[i].OriginRequest) {
			return false
		}
	}
	return true
}

func itemsWithin(o *OriginRequest) bool {
	if len(o.IPRules) > maxItems {
		return false
	}
	for _, r := range o.IPRules {
		if len(r.Ports) > maxItems {
			return false
		}
	}
	return o.Access == nil || len(o.Access.AudTag) <= maxItems
}

// plainKeys scans a JSON document for object keys and reports whether each
// is a known field name, written without escapes, at most once per object,
// and whether the document is free of null. It does not validate the JSON;
// the decoder does.
func plainKeys(raw []byte) bool {
	type frame struct {
		object    bool
		expectKey bool
		keys      []string
	}
	var stack []frame
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{':
			stack = append(stack, frame{object: true, expectKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			if len(stack) == 0 {
				return false
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
		case 'n':
			return false // null: let the walker judge it
		case '"':
			end := i + 1
			escaped := false
			for end < len(raw) && raw[end] != '"' {
				if raw[end] == '\\' {
					escaped = true
					end++
				}
				end++
			}
			if end >= len(raw) {
				return false
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				key := string(raw[i+1 : end])
				if escaped || !specKeys[key] {
					return false
				}
				for _, k := range stack[n-1].keys {
					if k == key {
						return false
					}
				}
				stack[n-1].keys = append(stack[n-1].keys, key)
				stack[n-1].expectKey = false
			}
			i = end
		}
	}
	return len(stack) == 0
}
