package dns

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
)

// fieldKind is how one data field is checked, written and compared.
type fieldKind int

const (
	// number: a JSON number in [min, max] with at most decimals digits
	// after the point (0: an integer).
	number fieldKind = iota
	// host: a host name; "." too when dot is set. Lower-cased, the
	// trailing dot dropped.
	host
	// hexText: hex digits (an even number), lower-cased.
	hexText
	// base64Text: standard base64, kept as written.
	base64Text
	// oneOf: one of values, exactly.
	oneOf
	// text: printable UTF-8, possibly empty; absent means "".
	text
	// nonEmpty: printable UTF-8, required.
	nonEmpty
)

// dataField is one field of a data type, named as the Cloudflare API names
// it.
type dataField struct {
	name     string
	kind     fieldKind
	min, max float64
	decimals int
	dot      bool
	values   []string
}

func u8(name string) dataField  { return dataField{name: name, kind: number, max: 255} }
func u16(name string) dataField { return dataField{name: name, kind: number, max: 65535} }
func num(name string, lo, hi float64, decimals int) dataField {
	return dataField{name: name, kind: number, min: lo, max: hi, decimals: decimals}
}

// dataTypes are the record types whose value is structured data, with their
// fields in presentation order (the order of the zone-file form the API
// echoes as content). Ranges are the field widths of the record's wire
// format (RFC 2782, 8659, 9460, 6698, 4034, 4398, 1876, 3403, 4255, 8162,
// 7553) where the API documents none narrower; LOC's are the API's.
var dataTypes = map[string][]dataField{
	"CAA":    {u8("flags"), {name: "tag", kind: oneOf, values: []string{"issue", "issuewild", "iodef"}}, {name: "value", kind: nonEmpty}},
	"CERT":   {u16("type"), u16("key_tag"), u8("algorithm"), {name: "certificate", kind: base64Text}},
	"DNSKEY": {u16("flags"), u8("protocol"), u8("algorithm"), {name: "public_key", kind: base64Text}},
	"DS":     {u16("key_tag"), u8("algorithm"), u8("digest_type"), {name: "digest", kind: hexText}},
	"HTTPS":  {u16("priority"), {name: "target", kind: host, dot: true}, {name: "value", kind: text}},
	"LOC": {
		num("lat_degrees", 0, 90, 0), num("lat_minutes", 0, 59, 0), num("lat_seconds", 0, 59.999, 3),
		{name: "lat_direction", kind: oneOf, values: []string{"N", "S"}},
		num("long_degrees", 0, 180, 0), num("long_minutes", 0, 59, 0), num("long_seconds", 0, 59.999, 3),
		{name: "long_direction", kind: oneOf, values: []string{"E", "W"}},
		num("altitude", -100000, 42849672.95, 2), num("size", 0, 90000000, 2),
		num("precision_horz", 0, 90000000, 2), num("precision_vert", 0, 90000000, 2),
	},
	"NAPTR": {u16("order"), u16("preference"), {name: "flags", kind: text}, {name: "service", kind: text},
		{name: "regex", kind: text}, {name: "replacement", kind: host, dot: true}},
	"SMIMEA": {u8("usage"), u8("selector"), u8("matching_type"), {name: "certificate", kind: hexText}},
	"SRV":    {u16("priority"), u16("weight"), u16("port"), {name: "target", kind: host, dot: true}},
	"SSHFP":  {u8("algorithm"), u8("type"), {name: "fingerprint", kind: hexText}},
	"SVCB":   {u16("priority"), {name: "target", kind: host, dot: true}, {name: "value", kind: text}},
	"TLSA":   {u8("usage"), u8("selector"), u8("matching_type"), {name: "certificate", kind: hexText}},
	"URI":    {u16("weight"), {name: "target", kind: nonEmpty}},
}

// contentTypes are the record types whose value is content.
var contentTypes = []string{"A", "AAAA", "CNAME", "MX", "NS", "OPENPGPKEY", "PTR", "TXT"}

// isDataType reports whether typ (upper-case) takes data instead of
// content.
func isDataType(typ string) bool { _, ok := dataTypes[typ]; return ok }

// typesList names every supported type for error messages.
func typesList() string {
	types := slices.Clone(contentTypes)
	for t := range dataTypes {
		types = append(types, t)
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}

// fieldNames lists the fields of a data type.
func fieldNames(fields []dataField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// normalizeData checks the data of a data-type record and rewrites it into
// its canonical form: every field of the type present, numbers float64,
// hosts and hex lower-case. path is the record's JSON path.
func normalizeData(r *Record, path string) *api.FieldError {
	fields := dataTypes[r.Type]
	fe := func(field, reason string) *api.FieldError {
		return &api.FieldError{Field: path + field, Reason: reason}
	}
	if r.Data == nil {
		return fe(".data", fmt.Sprintf("is required for %s records: {%s}", r.Type, fieldNames(fields)))
	}
	for k := range r.Data {
		if !slices.ContainsFunc(fields, func(f dataField) bool { return f.name == k }) {
			return fe(".data."+k, fmt.Sprintf("is not a field of %s data (its fields are %s)", r.Type, fieldNames(fields)))
		}
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, err := canonicalField(f, r.Data[f.name])
		if err != "" {
			return fe(".data."+f.name, err)
		}
		out[f.name] = v
	}
	if r.Type == "CAA" && out["tag"] == "iodef" {
		v := out["value"].(string)
		if !strings.HasPrefix(v, "mailto:") && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
			return fe(".data.value", fmt.Sprintf("%q: an iodef value is a mailto:, http:// or https:// URL", v))
		}
	}
	if (r.Type == "HTTPS" || r.Type == "SVCB") && out["priority"] == float64(0) && out["value"] != "" {
		return fe(".data.value", "must be empty when priority is 0 (alias mode takes no parameters)")
	}
	r.Data = out
	return nil
}

// canonicalField checks one field's value (nil: absent) and returns it in
// canonical form, or why it is wrong.
func canonicalField(f dataField, v any) (any, string) {
	if v == nil {
		switch f.kind {
		case text:
			return "", ""
		case number:
			return nil, fmt.Sprintf("is required: a number in %s", rangeText(f))
		case host:
			return nil, "is required: " + hostText(f)
		}
		return nil, "is required"
	}
	if f.kind == number {
		n, ok := toFloat(v)
		if !ok {
			return nil, fmt.Sprintf("must be a number in %s, not %s", rangeText(f), jsonText(v))
		}
		if n < f.min || n > f.max {
			return nil, fmt.Sprintf("%s is out of range %s", fmtNumber(n), rangeText(f))
		}
		if scale := math.Pow10(f.decimals); math.Abs(n*scale-math.Round(n*scale)) > 1e-6 {
			if f.decimals == 0 {
				return nil, fmt.Sprintf("%s must be a whole number", fmtNumber(n))
			}
			return nil, fmt.Sprintf("%s has more than %d decimals", fmtNumber(n), f.decimals)
		}
		return n, ""
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Sprintf("must be a string, not %s", jsonText(v))
	}
	switch f.kind {
	case host:
		h := strings.ToLower(s)
		if h == "." && f.dot {
			return h, ""
		}
		h = strings.TrimSuffix(h, ".")
		if h == "" {
			return nil, "is required: " + hostText(f)
		}
		if reason := checkHostname(h, false, true); reason != "" {
			return nil, "must be a host name: " + reason
		}
		return h, ""
	case hexText:
		if s == "" {
			return nil, "is required: hex digits"
		}
		if _, err := hex.DecodeString(s); err != nil {
			return nil, "must be an even number of hex digits (0-9, a-f)"
		}
		return strings.ToLower(s), ""
	case base64Text:
		if s == "" {
			return nil, "is required: base64"
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return nil, "must be standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding, no spaces)"
		}
		return s, ""
	case oneOf:
		if !slices.Contains(f.values, s) {
			return nil, fmt.Sprintf("%q is not allowed: use %s", s, strings.Join(f.values, ", "))
		}
		return s, ""
	}
	if f.kind == nonEmpty && s == "" {
		return nil, "is required"
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return nil, "must be valid UTF-8 without control characters"
	}
	if len(s) > 255 && f.name != "target" {
		return nil, fmt.Sprintf("is %d bytes; at most 255", len(s))
	}
	return s, ""
}

// hostText says what a host field takes.
func hostText(f dataField) string {
	if f.dot {
		return `a host name (or "." for none)`
	}
	return "a host name"
}

func rangeText(f dataField) string { return fmtNumber(f.min) + ".." + fmtNumber(f.max) }

func fmtNumber(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// toFloat reads a number decoded from JSON (float64, or json.Number) or
// set by a Go caller.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// presentation is the zone-file form of a data record's value: what tells
// records of one name and type apart (keys, plan lines). It is ours, not
// the API's content, which diff never compares for data types.
func presentation(typ string, data map[string]any) string {
	fields := dataTypes[typ]
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		v := data[f.name]
		switch x := v.(type) {
		case string:
			if f.kind == text || f.kind == nonEmpty {
				x = strconv.Quote(x)
			}
			parts = append(parts, x)
		default:
			if n, ok := toFloat(v); ok {
				parts = append(parts, fmtNumber(n))
			} else {
				parts = append(parts, jsonText(v))
			}
		}
	}
	return strings.Join(parts, " ")
}

// value is what tells records of one name and type apart: the content, or
// the presentation of the data.
func value(r *Record) string {
	if isDataType(r.Type) {
		return presentation(r.Type, r.Data)
	}
	return r.Content
}

// dataChanges lists the fields in which remote data (as the API returns it)
// differs from the desired canonical data, remote value first. Fields are
// compared as the API stores them: numbers by value, hosts without case or
// trailing dot, hex without case, the rest exactly; a text field the API
// leaves out equals "".
func dataChanges(typ string, want, got map[string]any) []string {
	var out []string
	for _, f := range dataTypes[typ] {
		w, g := want[f.name], got[f.name]
		if sameField(f, w, g) {
			continue
		}
		out = append(out, fmt.Sprintf("data.%s %s -> %s", f.name, shorten(fieldText(g)), shorten(fieldText(w))))
	}
	return out
}

func sameField(f dataField, w, g any) bool {
	if f.kind == number {
		x, ok1 := toFloat(w)
		y, ok2 := toFloat(g)
		return ok1 && ok2 && math.Abs(x-y) < 1e-9
	}
	ws, _ := w.(string)
	gs, ok := g.(string)
	if !ok && g != nil {
		return false
	}
	switch f.kind {
	case host:
		norm := func(s string) string {
			if s == "." {
				return s
			}
			return strings.TrimSuffix(strings.ToLower(s), ".")
		}
		return norm(ws) == norm(gs)
	case hexText:
		return strings.EqualFold(ws, gs)
	}
	return ws == gs
}

func fieldText(v any) string {
	if v == nil {
		return "(none)"
	}
	if n, ok := toFloat(v); ok {
		return fmtNumber(n)
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return jsonText(v)
}

// dataTypesList names the data types for error messages.
func dataTypesList() string {
	types := make([]string, 0, len(dataTypes))
	for t := range dataTypes {
		types = append(types, t)
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}
