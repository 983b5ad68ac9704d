package conflux

import (
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The supported JSON Schema subset. Annotation keywords are accepted and
// ignored; any other keyword is refused when the config is written, so a
// schema never silently fails to enforce something.
var (
	schemaTypes       = []string{"object", "array", "string", "number", "integer", "boolean", "null"}
	schemaAnnotations = []string{"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)

const maxSchemaErrors = 50

// checkSchema reports problems with a schema (a boolean or an object of
// supported keywords) at ptr.
func checkSchema(errs *fieldErrs, v any, ptr string) {
	if _, ok := v.(bool); ok {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		errs.add(ptr, "a schema must be an object or a boolean")
		return
	}
	for _, k := range sortedKeys(m) {
		kv, kp := m[k], ptr+"/"+ptrEscape(k)
		switch k {
		case "type":
			names := []any{kv}
			if arr, ok := kv.([]any); ok {
				names = arr
				if len(arr) == 0 {
					errs.add(kp, "must not be empty")
				}
			}
			for _, n := range names {
				if s, ok := n.(string); !ok || !slices.Contains(schemaTypes, s) {
					errs.add(kp, "must be one of object, array, string, number, integer, boolean, null (or an array of them)")
					break
				}
			}
		case "properties":
			pm, ok := kv.(map[string]any)
			if !ok {
				errs.add(kp, "must be an object of schemas")
				continue
			}
			for _, pk := range sortedKeys(pm) {
				checkSchema(errs, pm[pk], kp+"/"+ptrEscape(pk))
			}
		case "required":
			arr, ok := kv.([]any)
			if !ok {
				errs.add(kp, "must be an array of strings")
				continue
			}
			seen := map[string]bool{}
			for i, e := range arr {
				s, ok := e.(string)
				if !ok || seen[s] {
					errs.add(kp+"/"+strconv.Itoa(i), "must be a unique string")
				}
				seen[s] = true
			}
		case "additionalProperties", "items":
			checkSchema(errs, kv, kp)
		case "enum":
			if arr, ok := kv.([]any); !ok || len(arr) == 0 {
				errs.add(kp, "must be a non-empty array")
			}
		case "minimum", "maximum":
			if _, ok := kv.(json.Number); !ok {
				errs.add(kp, "must be a number")
			}
		case "minLength", "maxLength":
			if n, ok := integer(kv); !ok || n < 0 {
				errs.add(kp, "must be a non-negative integer")
			}
		case "pattern":
			s, ok := kv.(string)
			if !ok {
				errs.add(kp, "must be a string")
			} else if _, err := regexp.Compile(s); err != nil {
				errs.add(kp, "is not a valid (RE2) regular expression: "+err.Error())
			}
		default:
			if !slices.Contains(schemaAnnotations, k) {
				errs.add(kp, "unsupported JSON Schema keyword")
			}
		}
	}
}

// validate checks instance v against schema sch (already checked),
// appending errors with pointers under base.
func validate(errs *fieldErrs, sch any, v any, base string) {
	if len(*errs) >= maxSchemaErrors {
		return
	}
	if b, ok := sch.(bool); ok {
		if !b {
			errs.add(base, "no value is allowed here")
		}
		return
	}
	m, _ := sch.(map[string]any)
	if t, ok := m["type"]; ok {
		names := []any{t}
		if arr, ok := t.([]any); ok {
			names = arr
		}
		okType := false
		for _, n := range names {
			if s, _ := n.(string); hasType(v, s) {
				okType = true
			}
		}
		if !okType {
			errs.add(base, "must be of type "+typeList(names)+", not "+typeOf(v))
			return
		}
	}
	if e, ok := m["enum"].([]any); ok {
		if !slices.ContainsFunc(e, func(x any) bool { return jsonEqual(x, v) }) {
			errs.add(base, "must be one of the enum values")
		}
	}
	switch x := v.(type) {
	case json.Number:
		if lim, ok := m["minimum"].(json.Number); ok && cmpNumber(x, lim) < 0 {
			errs.add(base, "must be at least "+lim.String())
		}
		if lim, ok := m["maximum"].(json.Number); ok && cmpNumber(x, lim) > 0 {
			errs.add(base, "must be at most "+lim.String())
		}
	case string:
		n := utf8.RuneCountInString(x)
		if lim, ok := integer(m["minLength"]); ok && n < lim {
			errs.add(base, "must be at least "+strconv.Itoa(lim)+" characters long")
		}
		if lim, ok := integer(m["maxLength"]); ok && n > lim {
			errs.add(base, "must be at most "+strconv.Itoa(lim)+" characters long")
		}
		if pat, ok := m["pattern"].(string); ok {
			if re, err := regexp.Compile(pat); err == nil && !re.MatchString(x) {
				errs.add(base, "must match the pattern "+pat)
			}
		}
	case []any:
		if items, ok := m["items"]; ok {
			for i, e := range x {
				validate(errs, items, e, base+"/"+strconv.Itoa(i))
			}
		}
	case map[string]any:
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				name, _ := r.(string)
				if _, has := x[name]; !has {
					errs.add(base+"/"+ptrEscape(name), "is required")
				}
			}
		}
		props, _ := m["properties"].(map[string]any)
		for _, k := range sortedKeys(x) {
			p := base + "/" + ptrEscape(k)
			if ps, ok := props[k]; ok {
				validate(errs, ps, x[k], p)
			} else if ap, ok := m["additionalProperties"]; ok {
				if b, isBool := ap.(bool); isBool && !b {
					errs.add(p, "is not an allowed property")
				} else {
					validate(errs, ap, x[k], p)
				}
			}
		}
	}
}

func hasType(v any, t string) bool {
	switch t {
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		r, ok := new(big.Rat).SetString(n.String())
		return ok && r.IsInt()
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return typeOf(v) == t
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func typeList(names []any) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " or "
		}
		s, _ := n.(string)
		out += s
	}
	return out
}

// cmpNumber compares two JSON numbers exactly.
func cmpNumber(a, b json.Number) int {
	x, ok1 := new(big.Rat).SetString(a.String())
	y, ok2 := new(big.Rat).SetString(b.String())
	if !ok1 || !ok2 {
		return 0
	}
	return x.Cmp(y)
}

// jsonEqual is JSON value equality; numbers compare by value (1 == 1.0).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && cmpNumber(x, y) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, has := y[k]
			if !has || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
