package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// maxIndent bounds indent/nindent so one call cannot allocate gigabytes
// before the output limit is ever reached.
const maxIndent = 1024

// maxPrintfWidth bounds printf widths and precisions for the same reason.
const maxPrintfWidth = 1024

// funcs returns the function set. Errors never include an argument's value:
// any argument may be (derived from) a secret, and Mask only recognises the
// secret values themselves, not e.g. their upper-cased form.
func funcs(secrets map[string]string) template.FuncMap {
	return template.FuncMap{
		stepFunc: func() string { return "" },
		"secret": func(key string) (string, error) {
			v, ok := secrets[key]
			if !ok {
				return "", fmt.Errorf("secret %q is not in the referenced Secret", key)
			}
			return v, nil
		},
		// printf is a text/template builtin; it is replaced because a width
		// like %999999999d allocates before the output limit applies.
		"printf": safePrintf,

		"default":  dfault,
		"required": required,
		"empty":    empty,
		"coalesce": coalesce,
		"ternary": func(vt, vf any, cond bool) any {
			if cond {
				return vt
			}
			return vf
		},

		"quote":      quote,
		"squote":     squote,
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"title":      title,
		"trim":       strings.TrimSpace,
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"replace":    replace,
		"contains":   func(substr, s string) bool { return strings.Contains(s, substr) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"split":      func(sep, s string) []string { return strings.Split(s, sep) },
		"join":       join,
		"indent":     indent,
		"nindent": func(n int, s string) (string, error) {
			out, err := indent(n, s)
			if err != nil {
				return "", errors.New(strings.Replace(err.Error(), "indent", "nindent", 1))
			}
			return "\n" + out, nil
		},

		"toJson":       func(v any) (string, error) { return toJSON(v, false) },
		"toPrettyJson": func(v any) (string, error) { return toJSON(v, true) },
		"toYaml":       toYAML,
		"b64enc":       func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec": func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return "", errors.New("the value is not valid standard base64")
			}
			return string(b), nil
		},
		"sha256sum": func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		},

		"int":      toInt,
		"float":    toFloat,
		"bool":     toBool,
		"toString": strval,
		"list":     func(v ...any) []any { return v },
		"dict":     dict,
		"keys":     keys,
		"add":      add,
		"sub": func(a, b any) (int, error) {
			x, err := int64Of(a)
			if err != nil {
				return 0, err
			}
			y, err := int64Of(b)
			if err != nil {
				return 0, err
			}
			r := x - y
			if (y > 0 && r > x) || (y < 0 && r < x) {
				return 0, errors.New("integer overflow")
			}
			return int(r), nil
		},
	}
}

// dfault follows sprig: default DEFAULT VALUE yields VALUE unless it is
// empty, so {{ .x | default "d" }} reads naturally.
func dfault(d any, given ...any) any {
	if len(given) == 0 || empty(given[0]) {
		return d
	}
	return given[0]
}

// required follows sprig: only a missing value (nil) or an empty string
// fails, so 0 and false remain valid settings.
func required(msg string, v any) (any, error) {
	if v == nil {
		return nil, errors.New(msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, errors.New(msg)
	}
	return v, nil
}

// empty follows sprig: nil, zero numbers, false, and empty strings,
// slices and maps are empty.
func empty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex() == 0
	case reflect.Chan, reflect.Func, reflect.Interface, reflect.Pointer:
		return rv.IsNil()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Struct:
		return false
	}
	return reflect.DeepEqual(v, reflect.Zero(rv.Type()).Interface())
}

func coalesce(v ...any) any {
	for _, x := range v {
		if !empty(x) {
			return x
		}
	}
	return nil
}

// quote is variadic like sprig's: each non-nil argument is quoted and the
// results are joined by spaces.
func quote(v ...any) string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		if x != nil {
			out = append(out, strconv.Quote(strval(x)))
		}
	}
	return strings.Join(out, " ")
}

func squote(v ...any) string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		if x != nil {
			out = append(out, "'"+strval(x)+"'")
		}
	}
	return strings.Join(out, " ")
}

// title upper-cases the first ASCII letter of each word; a word starts
// after any byte that is not an ASCII letter, digit or underscore (bytes of
// multi-byte characters count as letters, so they never split a word).
func title(s string) string {
	b := []byte(s)
	prevWord := false
	for i, c := range b {
		isWord := c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if isWord && !prevWord && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		prevWord = isWord
	}
	return string(b)
}

func replace(old, new, s string) (string, error) {
	if len(new) > len(old) {
		n := strings.Count(s, old)
		if n > 0 && (len(new)-len(old)) > (MaxOutput-len(s))/n {
			return "", errTooLarge
		}
	}
	return strings.ReplaceAll(s, old, new), nil
}

func join(sep string, list any) (string, error) {
	rv := reflect.ValueOf(list)
	if !rv.IsValid() {
		return "", nil
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
	case reflect.String:
		return rv.String(), nil
	default:
		return "", fmt.Errorf("join needs a list; got %s", rv.Type())
	}
	parts := make([]string, rv.Len())
	total := 0
	for i := range parts {
		parts[i] = strval(rv.Index(i).Interface())
		total += len(parts[i]) + len(sep)
		if total > MaxOutput {
			return "", errTooLarge
		}
	}
	return strings.Join(parts, sep), nil
}

func indent(n int, s string) (string, error) {
	if n < 0 || n > maxIndent {
		return "", fmt.Errorf("indent width %d is outside 0..%d", n, maxIndent)
	}
	if lines := strings.Count(s, "\n") + 1; len(s)+lines*n > MaxOutput {
		return "", errTooLarge
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

// toJSON does not escape <, > and & because the output is configuration,
// not HTML.
func toJSON(v any, pretty bool) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return "", errors.New("the value cannot be encoded as JSON: " + typeOnly(err))
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// typeOnly keeps the parts of an encoding error that describe types, since
// json's UnsupportedValueError quotes the value.
func typeOnly(err error) string {
	var ute *json.UnsupportedTypeError
	if errors.As(err, &ute) {
		return "unsupported type " + ute.Type.String()
	}
	var uve *json.UnsupportedValueError
	if errors.As(err, &uve) {
		return "unsupported value of type " + uve.Value.Type().String()
	}
	return "unsupported value"
}

func toYAML(v any) (s string, err error) {
	// yaml.v3 panics on some unencodable values (e.g. channels).
	defer func() {
		if r := recover(); r != nil {
			s, err = "", errors.New("the value cannot be encoded as YAML")
		}
	}()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", errors.New("the value cannot be encoded as YAML")
	}
	if err := enc.Close(); err != nil {
		return "", errors.New("the value cannot be encoded as YAML")
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, errors.New("int: the value is not a decimal integer")
		}
		return n, nil
	case float32, float64:
		f := reflect.ValueOf(x).Float()
		if f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
			return 0, errors.New("int: the number is not a whole number in range")
		}
		return int(f), nil
	}
	n, err := int64Of(v)
	if err != nil {
		return 0, errors.New("int: " + err.Error())
	}
	return int(n), nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, errors.New("float: the value is not a number")
		}
		return f, nil
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	n, err := int64Of(v)
	if err != nil {
		return 0, errors.New("float: " + err.Error())
	}
	return float64(n), nil
}

// toBool accepts only "true" and "false": anything else is far more likely a
// mistake than a deliberate spelling of a boolean.
func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch x {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, errors.New(`bool: the value is neither "true" nor "false"`)
	}
	return false, fmt.Errorf("bool: cannot convert a %T", v)
}

func int64Of(v any) (int64, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return 0, errors.New("the value is nil, not an integer")
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return 0, errors.New("the integer is out of range")
		}
		return int64(u), nil
	case reflect.String:
		n, err := strconv.ParseInt(rv.String(), 10, 64)
		if err != nil {
			return 0, errors.New("the value is not a decimal integer")
		}
		return n, nil
	}
	return 0, fmt.Errorf("a %s is not an integer", rv.Type())
}

func add(v ...any) (int, error) {
	var sum int64
	for _, x := range v {
		n, err := int64Of(x)
		if err != nil {
			return 0, err
		}
		s := sum + n
		if (n > 0 && s < sum) || (n < 0 && s > sum) {
			return 0, errors.New("integer overflow")
		}
		sum = s
	}
	return int(sum), nil
}

func strval(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func dict(v ...any) (map[string]any, error) {
	if len(v)%2 != 0 {
		return nil, fmt.Errorf("dict needs key/value pairs; got %d arguments", len(v))
	}
	m := make(map[string]any, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		k, ok := v[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %d is a %T, not a string", i/2+1, v[i])
		}
		m[k] = v[i+1]
	}
	return m, nil
}

func keys(m any) ([]string, error) {
	rv := reflect.ValueOf(m)
	if !rv.IsValid() || rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("keys needs a map with string keys; got %T", m)
	}
	out := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out, nil
}

// safePrintf is fmt.Sprintf with bounded widths and precisions.
func safePrintf(format string, args ...any) (string, error) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
	spec:
		for i < len(format) {
			c := format[i]
			switch {
			case c == '*':
				return "", errors.New("printf: * widths are not supported")
			case c == '[':
				return "", errors.New("printf: explicit argument indexes are not supported")
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if n, err := strconv.Atoi(format[i:j]); err != nil || n > maxPrintfWidth {
					return "", fmt.Errorf("printf: widths and precisions are limited to %d", maxPrintfWidth)
				}
				i = j
				continue
			case c == '.':
				i++
				continue
			}
			break spec
		}
	}
	s := fmt.Sprintf(format, args...)
	if len(s) > MaxOutput {
		return "", errTooLarge
	}
	return s, nil
}
