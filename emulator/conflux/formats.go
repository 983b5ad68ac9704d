package conflux

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// validateContent parses content in format and, when the config has a
// schema, validates the parsed document. Errors point at /content (parse
// errors) or into the document below /content (schema errors).
func validateContent(format string, schema json.RawMessage, content string) []FieldError {
	if !utf8.ValidString(content) {
		return []FieldError{{Pointer: "/content", Detail: "must be valid UTF-8"}}
	}
	var doc any
	var err error
	switch format {
	case "json":
		doc, err = decodeJSON([]byte(content))
		if err != nil {
			err = fmt.Errorf("invalid JSON: %w", err)
		}
	case "yaml":
		doc, err = parseYAML(content)
	case "toml":
		doc, err = parseTOML(content)
	case "properties":
		doc, err = parseProperties(content)
	case "text":
		return nil
	}
	if err != nil {
		return []FieldError{{Pointer: "/content", Detail: err.Error()}}
	}
	if len(schema) == 0 {
		return nil
	}
	sch, err := decodeJSON(schema)
	if err != nil {
		return []FieldError{{Pointer: "/content", Detail: "the config's schema is unreadable: " + err.Error()}}
	}
	var errs fieldErrs
	validate(&errs, sch, doc, "/content")
	return errs
}

// lineError is a parse error with a 1-based line number.
func lineError(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// parseProperties reads the common subset of Java .properties files into
// an object of strings: '#' and '!' comment lines; key and value separated
// by '=', ':' or whitespace; a trailing backslash continues the line (the
// next line's leading whitespace is dropped); escapes \t \n \r \f \uXXXX
// and backslash-anything for that character. Stricter than
// java.util.Properties: an empty key or a key given twice is an error.
func parseProperties(content string) (any, error) {
	out := map[string]any{}
	lines := strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines: an odd number of trailing backslashes.
		for endsWithContinuation(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsWithContinuation(line) {
			line = line[:len(line)-1]
		}
		keyRaw, valRaw := splitProperty(line)
		key, err := unescapeProperty(keyRaw)
		if err != nil {
			return nil, lineError(start, "%v", err)
		}
		val, err := unescapeProperty(valRaw)
		if err != nil {
			return nil, lineError(start, "%v", err)
		}
		if key == "" {
			return nil, lineError(start, "empty key")
		}
		if _, dup := out[key]; dup {
			return nil, lineError(start, "duplicate key %q", key)
		}
		out[key] = val
	}
	return out, nil
}

func endsWithContinuation(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits at the first unescaped '=', ':' or whitespace; the
// separator may be whitespace around one '=' or ':'.
func splitProperty(line string) (key, val string) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	if i > len(line) {
		i = len(line)
	}
	key = line[:i]
	rest := strings.TrimLeft(line[i:], " \t\f")
	if i < len(line) && (line[i] == '=' || line[i] == ':') {
		rest = strings.TrimLeft(line[i+1:], " \t\f")
	} else if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, err := hex4(s, i+1)
			if err != nil {
				return "", err
			}
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(s)+1 && strings.HasPrefix(s[i+1:], `\u`) {
				if r2, err := hex4(s, i+3); err == nil {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// hex4 reads the four hex digits of a \uXXXX escape starting at s[i].
func hex4(s string, i int) (rune, error) {
	if i+4 > len(s) {
		return 0, fmt.Errorf(`malformed \uXXXX escape`)
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 16)
	if err != nil {
		return 0, fmt.Errorf(`malformed \uXXXX escape`)
	}
	return rune(n), nil
}
