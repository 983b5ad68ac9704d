package conflux

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseTOML reads the common subset of TOML 1.0 into JSON-shaped values:
// comments; bare, quoted and dotted keys; [tables] and [[arrays of
// tables]]; basic, literal and both multi-line strings; integers (decimal,
// 0x, 0o, 0b, underscores); floats; booleans; offset and local date-times,
// dates and times (kept as their text, strings in the parsed document);
// arrays (spanning lines, trailing comma) and inline tables (one line).
// Refused: inf and nan (JSON cannot hold them) and redefinitions (duplicate
// keys, a table defined twice, extending an inline table).
func parseTOML(content string) (any, error) {
	p := &tomlParser{s: content, line: 1, root: newTTable()}
	p.cur = p.root
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.root.plain(), nil
}

type ttable struct {
	m        map[string]any // *ttable, *tarray or a scalar
	explicit bool           // defined by a [header]
	dotted   bool           // created by a dotted key
	inline   bool
}

type tarray struct {
	items []any
	aot   bool // an array of tables ([[header]])
}

func newTTable() *ttable { return &ttable{m: map[string]any{}} }

func (t *ttable) plain() map[string]any {
	out := make(map[string]any, len(t.m))
	for k, v := range t.m {
		out[k] = plainTOML(v)
	}
	return out
}

func plainTOML(v any) any {
	switch x := v.(type) {
	case *ttable:
		return x.plain()
	case *tarray:
		out := make([]any, len(x.items))
		for i, e := range x.items {
			out[i] = plainTOML(e)
		}
		return out
	}
	return v
}

type tomlParser struct {
	s    string
	pos  int
	line int
	root *ttable
	cur  *ttable
}

func (p *tomlParser) errf(format string, args ...any) error {
	return lineError(p.line, format, args...)
}

func (p *tomlParser) eof() bool { return p.pos >= len(p.s) }

func (p *tomlParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *tomlParser) skipSpace() {
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipComment skips a comment up to (not including) the newline.
func (p *tomlParser) skipComment() error {
	if p.peek() != '#' {
		return nil
	}
	for !p.eof() && p.s[p.pos] != '\n' {
		c := p.s[p.pos]
		if (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f {
			return p.errf("control character in comment")
		}
		p.pos++
	}
	return nil
}

// newline consumes "\n" or "\r\n"; it reports whether it did.
func (p *tomlParser) newline() bool {
	if strings.HasPrefix(p.s[p.pos:], "\r\n") {
		p.pos += 2
		p.line++
		return true
	}
	if p.peek() == '\n' {
		p.pos++
		p.line++
		return true
	}
	return false
}

// endOfLine requires only whitespace and a comment before the newline.
func (p *tomlParser) endOfLine() error {
	p.skipSpace()
	if err := p.skipComment(); err != nil {
		return err
	}
	if p.eof() || p.newline() {
		return nil
	}
	return p.errf("unexpected %q after the value", p.peek())
}

func (p *tomlParser) document() error {
	for {
		p.skipSpace()
		if err := p.skipComment(); err != nil {
			return err
		}
		if p.eof() {
			return nil
		}
		if p.newline() {
			continue
		}
		var err error
		if p.peek() == '[' {
			err = p.header()
		} else {
			err = p.keyValue(p.cur)
			if err == nil {
				err = p.endOfLine()
			}
		}
		if err != nil {
			return err
		}
	}
}

func (p *tomlParser) header() error {
	aot := strings.HasPrefix(p.s[p.pos:], "[[")
	if aot {
		p.pos += 2
	} else {
		p.pos++
	}
	p.skipSpace()
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.skipSpace()
	closing := "]"
	if aot {
		closing = "]]"
	}
	if !strings.HasPrefix(p.s[p.pos:], closing) {
		return p.errf("expected %s to close the table header", closing)
	}
	p.pos += len(closing)
	t := p.root
	for _, k := range keys[:len(keys)-1] {
		if t, err = p.descend(t, k, false); err != nil {
			return err
		}
	}
	last := keys[len(keys)-1]
	existing, has := t.m[last]
	switch {
	case aot && !has:
		nt := newTTable()
		nt.explicit = true
		t.m[last] = &tarray{items: []any{nt}, aot: true}
		p.cur = nt
	case aot:
		arr, ok := existing.(*tarray)
		if !ok || !arr.aot {
			return p.errf("%q is already defined and is not an array of tables", last)
		}
		nt := newTTable()
		nt.explicit = true
		arr.items = append(arr.items, nt)
		p.cur = nt
	case !has:
		nt := newTTable()
		nt.explicit = true
		t.m[last] = nt
		p.cur = nt
	default:
		et, ok := existing.(*ttable)
		if !ok || et.explicit || et.dotted || et.inline {
			return p.errf("table %q is defined more than once", strings.Join(keys, "."))
		}
		et.explicit = true
		p.cur = et
	}
	return p.endOfLine()
}

// descend returns t's sub-table k, creating it (implicitly or, for dotted
// keys, as dotted) when missing; the last table of an array of tables is
// entered.
func (p *tomlParser) descend(t *ttable, k string, dotted bool) (*ttable, error) {
	v, has := t.m[k]
	if !has {
		nt := newTTable()
		nt.dotted = dotted
		t.m[k] = nt
		return nt, nil
	}
	switch x := v.(type) {
	case *ttable:
		if x.inline || (dotted && x.explicit) {
			return nil, p.errf("cannot add keys to table %q here", k)
		}
		return x, nil
	case *tarray:
		if x.aot && !dotted {
			return x.items[len(x.items)-1].(*ttable), nil
		}
	}
	return nil, p.errf("key %q is already defined and is not a table", k)
}

func (p *tomlParser) keyValue(t *ttable) error {
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.peek() != '=' {
		return p.errf("expected = after the key")
	}
	p.pos++
	p.skipSpace()
	val, err := p.value()
	if err != nil {
		return err
	}
	for _, k := range keys[:len(keys)-1] {
		if t, err = p.descend(t, k, true); err != nil {
			return err
		}
	}
	last := keys[len(keys)-1]
	if _, dup := t.m[last]; dup {
		return p.errf("key %q is defined more than once", strings.Join(keys, "."))
	}
	t.m[last] = val
	return nil
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// key reads a (possibly dotted) key.
func (p *tomlParser) key() ([]string, error) {
	var keys []string
	for {
		p.skipSpace()
		var k string
		switch c := p.peek(); {
		case c == '"':
			s, err := p.basicString()
			if err != nil {
				return nil, err
			}
			k = s
		case c == '\'':
			s, err := p.literalString()
			if err != nil {
				return nil, err
			}
			k = s
		case isBareKeyChar(c):
			start := p.pos
			for !p.eof() && isBareKeyChar(p.s[p.pos]) {
				p.pos++
			}
			k = p.s[start:p.pos]
		default:
			return nil, p.errf("expected a key")
		}
		keys = append(keys, k)
		p.skipSpace()
		if p.peek() != '.' {
			return keys, nil
		}
		p.pos++
	}
}

var (
	tomlDateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?)?|^\d{2}:\d{2}:\d{2}(\.\d+)?`)
	tomlInt      = regexp.MustCompile(`^[+-]?(0|[1-9](_?[0-9])*)$`)
	tomlFloat    = regexp.MustCompile(`^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$`)
	tomlRadix    = regexp.MustCompile(`^0(x[0-9A-Fa-f](_?[0-9A-Fa-f])*|o[0-7](_?[0-7])*|b[01](_?[01])*)$`)
)

func (p *tomlParser) value() (any, error) {
	rest := p.s[p.pos:]
	switch c := p.peek(); {
	case c == '"':
		return p.basicString()
	case c == '\'':
		return p.literalString()
	case c == '[':
		return p.array()
	case c == '{':
		return p.inlineTable()
	case strings.HasPrefix(rest, "true") && !continuesWord(rest, 4):
		p.pos += 4
		return true, nil
	case strings.HasPrefix(rest, "false") && !continuesWord(rest, 5):
		p.pos += 5
		return false, nil
	}
	if m := tomlDateTime.FindString(rest); m != "" {
		p.pos += len(m)
		return m, nil
	}
	start := p.pos
	for !p.eof() && strings.IndexByte("+-_.0123456789abcdefABCDEFxoinINtT", p.s[p.pos]) >= 0 {
		p.pos++
	}
	tok := p.s[start:p.pos]
	if tok == "" {
		return nil, p.errf("expected a value")
	}
	switch strings.TrimLeft(tok, "+-") {
	case "inf", "nan":
		return nil, p.errf("%s cannot be represented in JSON", tok)
	}
	clean := strings.TrimPrefix(strings.ReplaceAll(tok, "_", ""), "+")
	switch {
	case tomlRadix.MatchString(tok):
		base := map[byte]int{'x': 16, 'o': 8, 'b': 2}[tok[1]]
		n, ok := new(big.Int).SetString(clean[2:], base)
		if !ok {
			return nil, p.errf("invalid integer %q", tok)
		}
		return json.Number(n.String()), nil
	case tomlInt.MatchString(tok), tomlFloat.MatchString(tok):
		return json.Number(clean), nil
	}
	return nil, p.errf("invalid value %q", tok)
}

func continuesWord(s string, n int) bool { return len(s) > n && isBareKeyChar(s[n]) }

// skipArrayFiller skips whitespace, newlines and comments inside an array.
func (p *tomlParser) skipArrayFiller() error {
	for {
		p.skipSpace()
		if err := p.skipComment(); err != nil {
			return err
		}
		if !p.newline() {
			return nil
		}
	}
}

func (p *tomlParser) array() (any, error) {
	p.pos++ // [
	arr := &tarray{items: []any{}}
	for {
		if err := p.skipArrayFiller(); err != nil {
			return nil, err
		}
		if p.peek() == ']' {
			p.pos++
			return arr, nil
		}
		if p.eof() {
			return nil, p.errf("unterminated array")
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		arr.items = append(arr.items, v)
		if err := p.skipArrayFiller(); err != nil {
			return nil, err
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return arr, nil
		default:
			return nil, p.errf("expected , or ] in an array")
		}
	}
}

func (p *tomlParser) inlineTable() (any, error) {
	p.pos++ // {
	t := newTTable()
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		t.inline = true
		return t, nil
	}
	for {
		p.skipSpace()
		if err := p.keyValue(t); err != nil {
			return nil, err
		}
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			markInline(t)
			return t, nil
		default:
			return nil, p.errf("expected , or } in an inline table (inline tables are one line)")
		}
	}
}

// markInline freezes an inline table and the tables its dotted keys made.
func markInline(t *ttable) {
	t.inline = true
	for _, v := range t.m {
		if sub, ok := v.(*ttable); ok {
			markInline(sub)
		}
	}
}

func (p *tomlParser) literalString() (string, error) {
	if strings.HasPrefix(p.s[p.pos:], "'''") {
		p.pos += 3
		p.newline() // a newline right after the opening is trimmed
		rest := p.s[p.pos:]
		end := strings.Index(rest, "'''")
		if end < 0 {
			return "", p.errf("unterminated multi-line literal string")
		}
		// Up to two quotes may sit right before the closing delimiter.
		for extra := 0; extra < 2 && end+3 < len(rest) && rest[end+3] == '\''; extra++ {
			end++
		}
		s := p.s[p.pos : p.pos+end]
		p.line += strings.Count(s, "\n")
		p.pos += end + 3
		return s, nil
	}
	p.pos++
	end := strings.IndexAny(p.s[p.pos:], "'\n")
	if end < 0 || p.s[p.pos+end] != '\'' {
		return "", p.errf("unterminated literal string")
	}
	s := p.s[p.pos : p.pos+end]
	p.pos += end + 1
	return s, nil
}

func (p *tomlParser) basicString() (string, error) {
	multi := strings.HasPrefix(p.s[p.pos:], `"""`)
	if multi {
		p.pos += 3
		p.newline()
	} else {
		p.pos++
	}
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errf("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case multi && strings.HasPrefix(p.s[p.pos:], `"""`):
			// Up to two quotes may sit right before the closing delimiter.
			extra := 0
			for extra < 2 && strings.HasPrefix(p.s[p.pos+3+extra:], `"`) {
				extra++
			}
			b.WriteString(strings.Repeat(`"`, extra))
			p.pos += 3 + extra
			return b.String(), nil
		case !multi && c == '"':
			p.pos++
			return b.String(), nil
		case c == '\n' || c == '\r':
			if !multi {
				return "", p.errf("newline in a single-line string")
			}
			if p.newline() {
				b.WriteByte('\n')
			} else {
				return "", p.errf("bare carriage return in a string")
			}
		case c == '\\':
			if err := p.escape(&b, multi); err != nil {
				return "", err
			}
		case (c < 0x20 && c != '\t') || c == 0x7f:
			return "", p.errf("control character in a string")
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			b.WriteRune(r)
			p.pos += size
		}
	}
}

func (p *tomlParser) escape(b *strings.Builder, multi bool) error {
	p.pos++ // backslash
	if p.eof() {
		return p.errf("unterminated string")
	}
	c := p.s[p.pos]
	simple := map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\'}
	if r, ok := simple[c]; ok {
		b.WriteByte(r)
		p.pos++
		return nil
	}
	switch c {
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.pos+1+n > len(p.s) {
			return p.errf("malformed unicode escape")
		}
		v, err := strconv.ParseUint(p.s[p.pos+1:p.pos+1+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(v)) {
			return p.errf("malformed unicode escape")
		}
		b.WriteRune(rune(v))
		p.pos += 1 + n
		return nil
	case ' ', '\t', '\n', '\r':
		if !multi {
			break
		}
		// Line-ending backslash: drop whitespace and newlines up to the
		// next non-whitespace character.
		save, saveLine := p.pos, p.line
		p.skipSpace()
		if !p.newline() {
			p.pos, p.line = save, saveLine
			break
		}
		for {
			p.skipSpace()
			if !p.newline() {
				return nil
			}
		}
	}
	return p.errf("invalid escape \\%c", c)
}
