package cloudflare

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// A data field of a structured record type, named as the API names it.
type dataSpec struct {
	name string
	// kind: "int" (min..max), "float" (min..max), "host", "hex", "base64",
	// "enum" (values), "string" (may be empty), "text" (required).
	kind     string
	min, max float64
	values   []string
}

func intField(name string, max float64) dataSpec { return dataSpec{name: name, kind: "int", max: max} }

// recordData lists the data fields of every type whose content the API
// builds from data, in the order of the built content.
var recordData = map[string][]dataSpec{
	"CAA":    {intField("flags", 255), {name: "tag", kind: "enum", values: []string{"issue", "issuewild", "iodef"}}, {name: "value", kind: "text"}},
	"CERT":   {intField("type", 65535), intField("key_tag", 65535), intField("algorithm", 255), {name: "certificate", kind: "base64"}},
	"DNSKEY": {intField("flags", 65535), intField("protocol", 255), intField("algorithm", 255), {name: "public_key", kind: "base64"}},
	"DS":     {intField("key_tag", 65535), intField("algorithm", 255), intField("digest_type", 255), {name: "digest", kind: "hex"}},
	"HTTPS":  {intField("priority", 65535), {name: "target", kind: "host"}, {name: "value", kind: "string"}},
	"LOC": {
		intField("lat_degrees", 90), intField("lat_minutes", 59), {name: "lat_seconds", kind: "float", max: 59.999},
		{name: "lat_direction", kind: "enum", values: []string{"N", "S"}},
		intField("long_degrees", 180), intField("long_minutes", 59), {name: "long_seconds", kind: "float", max: 59.999},
		{name: "long_direction", kind: "enum", values: []string{"E", "W"}},
		{name: "altitude", kind: "float", min: -100000, max: 42849672.95},
		{name: "size", kind: "float", max: 90000000},
		{name: "precision_horz", kind: "float", max: 90000000},
		{name: "precision_vert", kind: "float", max: 90000000},
	},
	"NAPTR": {intField("order", 65535), intField("preference", 65535), {name: "flags", kind: "string"},
		{name: "service", kind: "string"}, {name: "regex", kind: "string"}, {name: "replacement", kind: "host"}},
	"SMIMEA": {intField("usage", 255), intField("selector", 255), intField("matching_type", 255), {name: "certificate", kind: "hex"}},
	"SRV":    {intField("priority", 65535), intField("weight", 65535), intField("port", 65535), {name: "target", kind: "host"}},
	"SSHFP":  {intField("algorithm", 255), intField("type", 255), {name: "fingerprint", kind: "hex"}},
	"SVCB":   {intField("priority", 65535), {name: "target", kind: "host"}, {name: "value", kind: "string"}},
	"TLSA":   {intField("usage", 255), intField("selector", 255), intField("matching_type", 255), {name: "certificate", kind: "hex"}},
	"URI":    {intField("weight", 65535), {name: "target", kind: "text"}},
}

// buildFromData checks the data of a structured record and, when it is
// right, stores it with every field present and builds the content from it,
// as the API does. Missing fields answer 9101 "<field> is a required data
// field." (one error each, as the API lists them); a value of the wrong
// type or out of range 9102 (the emulator's code: the API's is not
// documented). Other types are left alone.
func buildFromData(rec *dnsRecord) *apiError {
	fields, ok := recordData[rec.Type]
	if !ok {
		rec.Data = nil
		return nil
	}
	var missing, invalid []apiMessage
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, present := rec.Data[f.name]
		if !present || v == nil {
			if f.kind == "string" {
				out[f.name] = ""
				continue
			}
			missing = append(missing, apiMessage{Code: 9101, Message: f.name + " is a required data field."})
			continue
		}
		val, reason := checkDataField(f, v)
		if reason != "" {
			invalid = append(invalid, apiMessage{Code: 9102, Message: fmt.Sprintf("%s %s.", f.name, reason)})
			continue
		}
		out[f.name] = val
	}
	if len(missing) > 0 {
		return &apiError{Status: http.StatusBadRequest, Errors: missing}
	}
	if len(invalid) > 0 {
		return &apiError{Status: http.StatusBadRequest, Errors: invalid}
	}
	rec.Data = out
	rec.Content = dataContent(rec.Type, fields, out)
	if rec.Type == "SRV" {
		// The API still returns the deprecated top-level priority.
		p := int(out["priority"].(float64))
		rec.Priority = &p
	}
	return nil
}

func checkDataField(f dataSpec, v any) (any, string) {
	switch f.kind {
	case "int", "float":
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case json.Number: // bodies are decoded with UseNumber
			f, err := x.Float64()
			if err != nil {
				return nil, "must be a number"
			}
			n = f
		default:
			return nil, "must be a number"
		}
		if n < f.min || n > f.max {
			return nil, fmt.Sprintf("must be between %s and %s", num(f.min), num(f.max))
		}
		if f.kind == "int" && n != math.Trunc(n) {
			return nil, "must be an integer"
		}
		return n, ""
	}
	s, ok := v.(string)
	if !ok {
		return nil, "must be a string"
	}
	switch f.kind {
	case "host":
		if s == "" || strings.ContainsAny(s, " \t/\\@") {
			return nil, "must be a valid hostname"
		}
	case "hex":
		if _, err := hex.DecodeString(s); err != nil || s == "" {
			return nil, "must be a hex string"
		}
	case "base64":
		if _, err := base64.StdEncoding.DecodeString(s); err != nil || s == "" {
			return nil, "must be base64"
		}
	case "enum":
		if !slices.Contains(f.values, s) {
			return nil, "must be one of " + strings.Join(f.values, ", ")
		}
	case "text":
		if s == "" {
			return nil, "must not be empty"
		}
	}
	return s, ""
}

func num(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }

// dataContent is the content the API shows for a structured record: the
// fields in presentation order, text quoted (CAA value, NAPTR strings, URI
// target), LOC with fixed decimals and metres.
func dataContent(typ string, fields []dataSpec, data map[string]any) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		switch v := data[f.name].(type) {
		case float64:
			switch {
			case typ == "LOC" && (f.name == "lat_seconds" || f.name == "long_seconds"):
				parts = append(parts, strconv.FormatFloat(v, 'f', 3, 64))
			case typ == "LOC" && f.kind == "float":
				parts = append(parts, strconv.FormatFloat(v, 'f', 2, 64)+"m")
			default:
				parts = append(parts, num(v))
			}
		case string:
			if f.kind == "string" || f.kind == "text" {
				if typ == "HTTPS" || typ == "SVCB" {
					if v != "" {
						parts = append(parts, v) // SvcParams are written bare
					}
					continue
				}
				v = strconv.Quote(v)
			}
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}
