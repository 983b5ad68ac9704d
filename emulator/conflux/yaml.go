package conflux

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseYAML reads one YAML document written in the block subset most
// configuration files use, into JSON-shaped values:
//
//   - block mappings ("key: value") and block sequences ("- item"),
//     nested by indentation (spaces only), including "- key: value" items
//     and sequences at the same indentation as their parent key;
//   - plain, 'single-quoted' and "double-quoted" scalars on one line,
//     resolved with the YAML 1.2 core schema (null, true/false, integers in
//     decimal, 0o and 0x, floats);
//   - literal (|) and folded (>) block scalars with chomping (-, +) and an
//     optional indentation indicator;
//   - flow sequences and mappings ([a, b], {k: v}) on one line;
//   - comments, and an optional leading "---" and trailing "...".
//
// Refused with an error: anchors, aliases, tags, directives, complex (?)
// keys, several documents, multi-line plain or quoted scalars, flow
// collections spanning lines, .inf/.nan (JSON cannot hold them), tabs in
// indentation and duplicate keys.
func parseYAML(content string) (any, error) {
	p := &yamlParser{}
	for i, raw := range strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n") {
		text := strings.TrimLeft(raw, " ")
		ind := len(raw) - len(text)
		if strings.HasPrefix(text, "\t") && strings.TrimSpace(text) != "" && !strings.HasPrefix(strings.TrimSpace(text), "#") {
			return nil, lineError(i+1, "tabs are not allowed in indentation")
		}
		p.lines = append(p.lines, yline{num: i + 1, indent: ind, text: strings.TrimRight(text, " \t")})
	}
	return p.document()
}

type yline struct {
	num    int
	indent int
	text   string // without indentation and trailing blanks
}

type yamlParser struct {
	lines []yline
	i     int
}

func isBlank(text string) bool { return text == "" || text[0] == '#' }

// next skips blank and comment lines and returns the current line.
func (p *yamlParser) next() (*yline, bool) {
	for p.i < len(p.lines) && isBlank(p.lines[p.i].text) {
		p.i++
	}
	if p.i >= len(p.lines) {
		return nil, false
	}
	return &p.lines[p.i], true
}

// content is next, but stops at a document marker ("---", "...") at the
// left margin, which ends every collection.
func (p *yamlParser) content() (*yline, bool) {
	l, ok := p.next()
	if ok && l.indent == 0 && (isMarker(l.text, "---") || isMarker(l.text, "...")) {
		return nil, false
	}
	return l, ok
}

func (p *yamlParser) document() (any, error) {
	l, ok := p.next()
	if ok && strings.HasPrefix(l.text, "%") {
		return nil, lineError(l.num, "directives are not supported")
	}
	if ok && isMarker(l.text, "---") {
		if strings.TrimSpace(l.text[3:]) != "" && !strings.HasPrefix(strings.TrimSpace(l.text[3:]), "#") {
			return nil, lineError(l.num, "content on the --- line is not supported")
		}
		p.i++
		l, ok = p.next()
	}
	var doc any
	if ok && !isMarker(l.text, "...") {
		var err error
		if doc, err = p.block(l.indent, -1); err != nil {
			return nil, err
		}
	}
	if l, ok := p.next(); ok {
		switch {
		case isMarker(l.text, "..."):
			p.i++
			if l, ok := p.next(); ok {
				return nil, lineError(l.num, "content after the end of the document")
			}
		case isMarker(l.text, "---"):
			return nil, lineError(l.num, "several documents are not supported")
		default:
			return nil, lineError(l.num, "unexpected content (check the indentation)")
		}
	}
	return doc, nil
}

func isMarker(text, m string) bool {
	return text == m || strings.HasPrefix(text, m+" ") || strings.HasPrefix(text, m+"\t")
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// block parses the node starting at the current line, whose indentation is
// ind; parent is the indentation of the enclosing collection (-1 at the
// top), which bounds block scalars.
func (p *yamlParser) block(ind, parent int) (any, error) {
	l, _ := p.content()
	switch {
	case isSeqItem(l.text):
		return p.sequence(ind)
	case mappingKeyEnd(l) >= 0:
		return p.mapping(ind)
	}
	p.i++
	v, err := p.inlineValue(l.text, l.num, parent)
	if err != nil {
		return nil, err
	}
	if n, ok := p.content(); ok && n.indent > ind {
		return nil, lineError(n.num, "unexpected indentation (multi-line scalars are not supported)")
	}
	return v, nil
}

func (p *yamlParser) sequence(ind int) (any, error) {
	out := []any{}
	for {
		l, ok := p.content()
		if !ok || l.indent < ind {
			return out, nil
		}
		if l.indent > ind {
			return nil, lineError(l.num, "bad indentation of a sequence item")
		}
		if !isSeqItem(l.text) {
			return out, nil
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if isBlank(rest) {
			p.i++
			n, ok := p.content()
			if ok && n.indent > ind {
				v, err := p.block(n.indent, ind)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, nil)
			}
			continue
		}
		// "- content": parse content as if it were its own line, indented
		// to where it starts, so "- key: v" continues with keys below it.
		off := len(l.text) - len(rest)
		p.lines[p.i] = yline{num: l.num, indent: ind + off, text: rest}
		v, err := p.block(ind+off, ind)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// mappingKeyEnd returns the index of the ':' ending a mapping key on l, or
// -1 when the line is not a "key: value" line.
func mappingKeyEnd(l *yline) int {
	t := l.text
	if t == "" {
		return -1
	}
	if t[0] == '"' || t[0] == '\'' {
		_, n, err := quoted(t, l.num)
		if err != nil {
			return -1
		}
		rest := strings.TrimLeft(t[n:], " ")
		if strings.HasPrefix(rest, ":") && (len(rest) == 1 || rest[1] == ' ' || rest[1] == '\t') {
			return len(t) - len(rest)
		}
		return -1
	}
	if t[0] == '[' || t[0] == '{' {
		return -1
	}
	plain := stripPlainComment(t)
	if i := strings.Index(plain, ": "); i >= 0 {
		return i
	}
	if i := strings.Index(plain, ":\t"); i >= 0 {
		return i
	}
	if strings.HasSuffix(plain, ":") {
		return len(plain) - 1
	}
	return -1
}

// stripPlainComment cuts a " #" comment from plain text.
func stripPlainComment(t string) string {
	if strings.HasPrefix(t, "#") {
		return ""
	}
	for i := 1; i < len(t); i++ {
		if t[i] == '#' && (t[i-1] == ' ' || t[i-1] == '\t') {
			return strings.TrimRight(t[:i], " \t")
		}
	}
	return t
}

func (p *yamlParser) mapping(ind int) (any, error) {
	out := map[string]any{}
	for {
		l, ok := p.content()
		if !ok || l.indent < ind {
			return out, nil
		}
		if l.indent > ind {
			return nil, lineError(l.num, "bad indentation of a mapping entry")
		}
		if isSeqItem(l.text) {
			return nil, lineError(l.num, "a sequence item where a mapping key was expected")
		}
		end := mappingKeyEnd(l)
		if end < 0 {
			return nil, lineError(l.num, "expected \"key: value\"")
		}
		keyText := strings.TrimRight(l.text[:end], " \t")
		if keyText == "" {
			return nil, lineError(l.num, "empty keys are not supported")
		}
		var key string
		if keyText[0] == '"' || keyText[0] == '\'' {
			k, _, err := quoted(keyText, l.num)
			if err != nil {
				return nil, err
			}
			key = k
		} else {
			if strings.ContainsRune("?&*!|>%@`", rune(keyText[0])) {
				return nil, lineError(l.num, "complex keys, anchors, aliases and tags are not supported")
			}
			key = keyText
		}
		if _, dup := out[key]; dup {
			return nil, lineError(l.num, "duplicate key %q", key)
		}
		rest := strings.TrimLeft(l.text[end+1:], " \t")
		p.i++
		if isBlank(rest) {
			n, ok := p.content()
			switch {
			case ok && n.indent > ind:
				v, err := p.block(n.indent, ind)
				if err != nil {
					return nil, err
				}
				out[key] = v
			case ok && n.indent == ind && isSeqItem(n.text):
				v, err := p.sequence(ind)
				if err != nil {
					return nil, err
				}
				out[key] = v
			default:
				out[key] = nil
			}
			continue
		}
		v, err := p.inlineValue(rest, l.num, ind)
		if err != nil {
			return nil, err
		}
		if n, ok := p.content(); ok && n.indent > ind {
			return nil, lineError(n.num, "unexpected indentation (multi-line scalars are not supported)")
		}
		out[key] = v
	}
}

// inlineValue parses the value text on one line: a block scalar header, a
// quoted scalar, a flow collection or a plain scalar.
func (p *yamlParser) inlineValue(text string, num, parent int) (any, error) {
	switch text[0] {
	case '|', '>':
		return p.blockScalar(text, num, parent)
	case '"', '\'':
		s, n, err := quoted(text, num)
		if err != nil {
			return nil, err
		}
		if rest := strings.TrimLeft(text[n:], " \t"); !isBlank(rest) {
			return nil, lineError(num, "unexpected %q after a quoted scalar", rest)
		}
		return s, nil
	case '[', '{':
		f := &flowParser{s: text, num: num}
		v, err := f.value()
		if err != nil {
			return nil, err
		}
		if rest := strings.TrimLeft(text[f.pos:], " \t"); !isBlank(rest) {
			return nil, lineError(num, "unexpected %q after a flow collection (flow collections must fit on one line)", rest)
		}
		return v, nil
	}
	plain := stripPlainComment(text)
	if strings.Contains(plain, ": ") || strings.HasSuffix(plain, ":") {
		return nil, lineError(num, "a mapping is not allowed in this position")
	}
	return plainScalar(plain, num)
}

var (
	yamlInt   = regexp.MustCompile(`^[-+]?[0-9]+$`)
	yamlOct   = regexp.MustCompile(`^0o[0-7]+$`)
	yamlHex   = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	yamlSpec  = regexp.MustCompile(`^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$`)
)

// plainScalar resolves a plain scalar with the YAML 1.2 core schema.
func plainScalar(s string, num int) (any, error) {
	if s != "" && strings.ContainsRune("&*!%@`", rune(s[0])) {
		return nil, lineError(num, "anchors, aliases, tags and reserved indicators are not supported")
	}
	if isSeqItem(s) || strings.HasPrefix(s, "? ") {
		return nil, lineError(num, "a collection is not allowed in this position")
	}
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	switch {
	case yamlInt.MatchString(s):
		n, _ := new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10)
		return json.Number(n.String()), nil
	case yamlOct.MatchString(s):
		n, _ := new(big.Int).SetString(s[2:], 8)
		return json.Number(n.String()), nil
	case yamlHex.MatchString(s):
		n, _ := new(big.Int).SetString(s[2:], 16)
		return json.Number(n.String()), nil
	case yamlFloat.MatchString(s):
		return json.Number(jsonFloat(s)), nil
	case yamlSpec.MatchString(s):
		return nil, lineError(num, "%s cannot be represented in JSON", s)
	}
	return s, nil
}

// jsonFloat rewrites a YAML float ("+.5", "1.", "007.5e3") as a JSON number.
func jsonFloat(s string) string {
	sign := ""
	switch s[0] {
	case '-':
		sign, s = "-", s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i:]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := sign + intPart
	if hasDot && frac != "" {
		out += "." + frac
	}
	return out + exp
}

// quoted parses a single- or double-quoted scalar at the start of t and
// returns it with the number of bytes consumed.
func quoted(t string, num int) (string, int, error) {
	q := t[0]
	var b strings.Builder
	for i := 1; i < len(t); {
		c := t[i]
		switch {
		case q == '\'' && c == '\'':
			if i+1 < len(t) && t[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		case q == '"' && c == '"':
			return b.String(), i + 1, nil
		case q == '"' && c == '\\':
			n, err := yamlEscape(&b, t, i, num)
			if err != nil {
				return "", 0, err
			}
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, lineError(num, "unterminated quoted scalar (quoted scalars must fit on one line)")
}

// yamlEscape decodes the escape at t[i] (a backslash) and returns its length.
func yamlEscape(b *strings.Builder, t string, i, num int) (int, error) {
	if i+1 >= len(t) {
		return 0, lineError(num, "unterminated escape")
	}
	simple := map[byte]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v",
		'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '/': "/", '\\': "\\",
		'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}
	c := t[i+1]
	if s, ok := simple[c]; ok {
		b.WriteString(s)
		return 2, nil
	}
	n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if n == 0 || i+2+n > len(t) {
		return 0, lineError(num, "invalid escape \\%c", c)
	}
	v, err := strconv.ParseUint(t[i+2:i+2+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, lineError(num, "invalid escape \\%s", t[i+1:i+2+n])
	}
	b.WriteRune(rune(v))
	return 2 + n, nil
}

// blockScalar reads a | or > scalar whose header is text; its content is
// the following lines indented more than parent.
func (p *yamlParser) blockScalar(text string, num, parent int) (any, error) {
	header := stripPlainComment(text)
	folded := header[0] == '>'
	chomp, explicit := byte(0), 0
	for _, c := range []byte(header[1:]) {
		switch {
		case (c == '-' || c == '+') && chomp == 0:
			chomp = c
		case c >= '1' && c <= '9' && explicit == 0:
			explicit = int(c - '0')
		default:
			return nil, lineError(num, "invalid block scalar header %q", header)
		}
	}
	base := parent
	if base < 0 {
		base = 0
	}
	contentInd := -1
	if explicit > 0 {
		contentInd = base + explicit
		if parent < 0 {
			contentInd = explicit
		}
	}
	var lines []string
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.text == "" { // whitespace-only lines belong to the scalar
			lines = append(lines, "")
			p.i++
			continue
		}
		if contentInd < 0 {
			if l.indent <= parent {
				break
			}
			contentInd = l.indent
		}
		if l.indent < contentInd {
			break
		}
		lines = append(lines, strings.Repeat(" ", l.indent-contentInd)+l.text)
		p.i++
	}
	// Trailing empty lines are subject to chomping, not content.
	trailing := 0
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
		trailing++
	}
	out := strings.Join(lines, "\n")
	if folded {
		out = foldLines(lines)
	}
	switch {
	case len(lines) == 0:
		if chomp == '+' {
			return strings.Repeat("\n", trailing), nil
		}
		return "", nil
	case chomp == '-':
		return out, nil
	case chomp == '+':
		return out + "\n" + strings.Repeat("\n", trailing), nil
	default:
		return out + "\n", nil
	}
}

// foldLines joins folded block scalar lines: adjacent text lines are
// joined by a space, each empty line becomes one newline, and lines that
// start with a space (more indented) keep their line breaks.
func foldLines(lines []string) string {
	var b strings.Builder
	for i, s := range lines {
		if i > 0 {
			prev := lines[i-1]
			switch {
			case s == "":
				b.WriteByte('\n')
				continue
			case prev == "":
				if i >= 2 && strings.HasPrefix(s, " ") {
					b.WriteByte('\n')
				}
			case strings.HasPrefix(s, " ") || strings.HasPrefix(prev, " "):
				b.WriteByte('\n')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(s)
	}
	return b.String()
}

// flowParser reads a flow collection on one line.
type flowParser struct {
	s   string
	pos int
	num int
}

func (f *flowParser) skip() {
	for f.pos < len(f.s) && (f.s[f.pos] == ' ' || f.s[f.pos] == '\t') {
		f.pos++
	}
}

func (f *flowParser) value() (any, error) {
	f.skip()
	if f.pos >= len(f.s) {
		return nil, lineError(f.num, "unterminated flow collection (flow collections must fit on one line)")
	}
	switch c := f.s[f.pos]; c {
	case '[':
		return f.seq()
	case '{':
		return f.mapping()
	case '"', '\'':
		s, n, err := quoted(f.s[f.pos:], f.num)
		if err != nil {
			return nil, err
		}
		f.pos += n
		return s, nil
	}
	start := f.pos
	for f.pos < len(f.s) {
		c := f.s[f.pos]
		if strings.IndexByte(",[]{}", c) >= 0 || (c == ':' && (f.pos+1 == len(f.s) || strings.IndexByte(" \t,]}", f.s[f.pos+1]) >= 0)) ||
			(c == '#' && f.pos > start && (f.s[f.pos-1] == ' ' || f.s[f.pos-1] == '\t')) {
			break
		}
		f.pos++
	}
	return plainScalar(strings.TrimRight(f.s[start:f.pos], " \t"), f.num)
}

func (f *flowParser) expect(c byte) bool {
	f.skip()
	if f.pos < len(f.s) && f.s[f.pos] == c {
		f.pos++
		return true
	}
	return false
}

func (f *flowParser) seq() (any, error) {
	f.pos++ // [
	out := []any{}
	for {
		if f.expect(']') {
			return out, nil
		}
		v, err := f.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if f.expect(',') {
			continue
		}
		if f.expect(']') {
			return out, nil
		}
		return nil, lineError(f.num, "expected , or ] in a flow sequence (flow collections must fit on one line)")
	}
}

func (f *flowParser) mapping() (any, error) {
	f.pos++ // {
	out := map[string]any{}
	for {
		if f.expect('}') {
			return out, nil
		}
		k, err := f.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			// Non-string plain keys (numbers, booleans) keep their text.
			key = flowKeyText(k)
		}
		if _, dup := out[key]; dup {
			return nil, lineError(f.num, "duplicate key %q", key)
		}
		var v any
		if f.expect(':') {
			if v, err = f.valueOrNull(); err != nil {
				return nil, err
			}
		}
		out[key] = v
		if f.expect(',') {
			continue
		}
		if f.expect('}') {
			return out, nil
		}
		return nil, lineError(f.num, "expected , or } in a flow mapping (flow collections must fit on one line)")
	}
}

func (f *flowParser) valueOrNull() (any, error) {
	f.skip()
	if f.pos < len(f.s) && (f.s[f.pos] == ',' || f.s[f.pos] == '}') {
		return nil, nil
	}
	return f.value()
}

func flowKeyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	}
	return ""
}
