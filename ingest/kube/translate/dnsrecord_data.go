package translate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// crdDataField is one field of a DNSRecord's spec.data as the CRD names
// it, read as cloudflare-operator sends it, and the Cloudflare data field
// it becomes.
type crdDataField struct {
	crd, api string
	get      func(d *v1alpha2.DNSRecordData) any // nil: not set
	// decimal: a number the CRD holds as a string ("23.5"), parsed.
	decimal bool
}

func int32Field(crd, apiName string, f func(d *v1alpha2.DNSRecordData) *int32) crdDataField {
	return crdDataField{crd: crd, api: apiName, get: func(d *v1alpha2.DNSRecordData) any {
		if p := f(d); p != nil {
			return float64(*p)
		}
		return nil
	}}
}

func stringField(crd, apiName string, f func(d *v1alpha2.DNSRecordData) string) crdDataField {
	return crdDataField{crd: crd, api: apiName, get: func(d *v1alpha2.DNSRecordData) any {
		if s := f(d); s != "" {
			return s
		}
		return nil
	}}
}

// decimalField is a LOC number the CRD holds as a string ("23.5").
func decimalField(crd, apiName string, f func(d *v1alpha2.DNSRecordData) string) crdDataField {
	fd := stringField(crd, apiName, f)
	fd.decimal = true
	return fd
}

// crdDataTypes are the structured types a DNSRecord can describe, with the
// spec.data fields each takes. SRV, HTTPS and SVCB take their priority from
// spec.priority, as cloudflare-operator sends it.
var crdDataTypes = map[string][]crdDataField{
	"SRV": {
		int32Field("weight", "weight", func(d *v1alpha2.DNSRecordData) *int32 { return d.Weight }),
		int32Field("port", "port", func(d *v1alpha2.DNSRecordData) *int32 { return d.Port }),
		stringField("target", "target", func(d *v1alpha2.DNSRecordData) string { return d.Target }),
	},
	"CAA": {
		int32Field("flags", "flags", func(d *v1alpha2.DNSRecordData) *int32 { return d.Flags }),
		stringField("tag", "tag", func(d *v1alpha2.DNSRecordData) string { return d.Tag }),
		stringField("value", "value", func(d *v1alpha2.DNSRecordData) string { return d.Value }),
	},
	"TLSA":   tlsaFields(),
	"SMIMEA": tlsaFields(),
	"HTTPS":  svcbFields(),
	"SVCB":   svcbFields(),
	"LOC": {
		int32Field("latDegrees", "lat_degrees", func(d *v1alpha2.DNSRecordData) *int32 { return d.LatDegrees }),
		int32Field("latMinutes", "lat_minutes", func(d *v1alpha2.DNSRecordData) *int32 { return d.LatMinutes }),
		decimalField("latSeconds", "lat_seconds", func(d *v1alpha2.DNSRecordData) string { return d.LatSeconds }),
		stringField("latDirection", "lat_direction", func(d *v1alpha2.DNSRecordData) string { return d.LatDirection }),
		int32Field("longDegrees", "long_degrees", func(d *v1alpha2.DNSRecordData) *int32 { return d.LongDegrees }),
		int32Field("longMinutes", "long_minutes", func(d *v1alpha2.DNSRecordData) *int32 { return d.LongMinutes }),
		decimalField("longSeconds", "long_seconds", func(d *v1alpha2.DNSRecordData) string { return d.LongSeconds }),
		stringField("longDirection", "long_direction", func(d *v1alpha2.DNSRecordData) string { return d.LongDirection }),
		decimalField("altitude", "altitude", func(d *v1alpha2.DNSRecordData) string { return d.Altitude }),
		decimalField("size", "size", func(d *v1alpha2.DNSRecordData) string { return d.Size }),
		decimalField("precisionHorz", "precision_horz", func(d *v1alpha2.DNSRecordData) string { return d.PrecisionHorz }),
		decimalField("precisionVert", "precision_vert", func(d *v1alpha2.DNSRecordData) string { return d.PrecisionVert }),
	},
	// cloudflare-operator sends a URI's target as data.content, the
	// field's name in Cloudflare's older API.
	"URI": {
		int32Field("weight", "weight", func(d *v1alpha2.DNSRecordData) *int32 { return d.Weight }),
		stringField("content", "target", func(d *v1alpha2.DNSRecordData) string { return d.Content }),
	},
}

func tlsaFields() []crdDataField {
	return []crdDataField{
		int32Field("usage", "usage", func(d *v1alpha2.DNSRecordData) *int32 { return d.Usage }),
		int32Field("selector", "selector", func(d *v1alpha2.DNSRecordData) *int32 { return d.Selector }),
		int32Field("matchingType", "matching_type", func(d *v1alpha2.DNSRecordData) *int32 { return d.MatchingType }),
		stringField("certificate", "certificate", func(d *v1alpha2.DNSRecordData) string { return d.Certificate }),
	}
}

func svcbFields() []crdDataField {
	return []crdDataField{
		stringField("target", "target", func(d *v1alpha2.DNSRecordData) string { return d.Target }),
		stringField("value", "value", func(d *v1alpha2.DNSRecordData) string { return d.Value }),
	}
}

// crdMissingFields are the structured types the CRD's spec.data cannot
// describe: the Cloudflare fields it has no field for.
var crdMissingFields = map[string]string{
	"CERT":   "type",
	"DNSKEY": "protocol and public_key",
	"DS":     "digest_type and digest",
	"NAPTR":  "order, preference, flags, service, regex and replacement",
	"SSHFP":  "type and fingerprint",
}

// every spec.data field of the CRD, for refusing those a type does not take.
var allCRDDataFields = []crdDataField{
	stringField("service", "", func(d *v1alpha2.DNSRecordData) string { return d.Service }),
	stringField("proto", "", func(d *v1alpha2.DNSRecordData) string { return d.Proto }),
	int32Field("weight", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Weight }),
	int32Field("port", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Port }),
	stringField("target", "", func(d *v1alpha2.DNSRecordData) string { return d.Target }),
	int32Field("flags", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Flags }),
	stringField("tag", "", func(d *v1alpha2.DNSRecordData) string { return d.Tag }),
	stringField("value", "", func(d *v1alpha2.DNSRecordData) string { return d.Value }),
	int32Field("algorithm", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Algorithm }),
	stringField("certificate", "", func(d *v1alpha2.DNSRecordData) string { return d.Certificate }),
	int32Field("keyTag", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.KeyTag }),
	int32Field("usage", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Usage }),
	int32Field("selector", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.Selector }),
	int32Field("matchingType", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.MatchingType }),
	int32Field("latDegrees", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.LatDegrees }),
	int32Field("latMinutes", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.LatMinutes }),
	stringField("latSeconds", "", func(d *v1alpha2.DNSRecordData) string { return d.LatSeconds }),
	stringField("latDirection", "", func(d *v1alpha2.DNSRecordData) string { return d.LatDirection }),
	int32Field("longDegrees", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.LongDegrees }),
	int32Field("longMinutes", "", func(d *v1alpha2.DNSRecordData) *int32 { return d.LongMinutes }),
	stringField("longSeconds", "", func(d *v1alpha2.DNSRecordData) string { return d.LongSeconds }),
	stringField("longDirection", "", func(d *v1alpha2.DNSRecordData) string { return d.LongDirection }),
	stringField("altitude", "", func(d *v1alpha2.DNSRecordData) string { return d.Altitude }),
	stringField("size", "", func(d *v1alpha2.DNSRecordData) string { return d.Size }),
	stringField("precisionHorz", "", func(d *v1alpha2.DNSRecordData) string { return d.PrecisionHorz }),
	stringField("precisionVert", "", func(d *v1alpha2.DNSRecordData) string { return d.PrecisionVert }),
	stringField("content", "", func(d *v1alpha2.DNSRecordData) string { return d.Content }),
}

// isCRDDataType reports whether typ's value is spec.data.
func isCRDDataType(typ string) bool {
	_, ok := crdDataTypes[typ]
	_, missing := crdMissingFields[typ]
	return ok || missing
}

// dataRecord makes the record of a structured type from spec.data (and
// spec.priority): every field the type takes is required; a field it does
// not take is refused, except SRV's service and proto, which must agree
// with the record's name (_service._proto.…), as Cloudflare's older API
// built the name from them. Ranges and formats are checked by the
// cloudflare.DNSRecord kind, whose error names the data field.
func dataRecord(base api.DNSRecord, s *v1alpha2.DNSRecordSpec, typ string, ps *problems) (api.DNSRecord, bool) {
	if missing, ok := crdMissingFields[typ]; ok {
		ps.addUnsupported("spec.type", "%s records are not synced from DNSRecord objects: their data needs %s, which spec.data has no field for (the cloudflare.DNSRecord kind takes them through the admin API)", typ, missing)
		return base, false
	}
	fields := crdDataTypes[typ]
	if s.Data == nil {
		ps.add("spec.data", "is required for %s records: {%s}", typ, crdFieldNames(fields))
		return base, false
	}
	before := len(*ps)
	data := map[string]any{}
	for _, f := range fields {
		v := f.get(s.Data)
		crd := f.crd
		switch {
		case v == nil && f.api == "value" && typ != "CAA":
			// HTTPS/SVCB parameters may be empty.
		case v == nil:
			ps.add("spec.data."+crd, "is required for %s records", typ)
		case f.decimal:
			n, err := strconv.ParseFloat(v.(string), 64)
			if err != nil {
				ps.add("spec.data."+crd, "%q is not a number", v)
				continue
			}
			data[f.api] = n
		default:
			data[f.api] = v
		}
	}
	for _, f := range allCRDDataFields {
		if f.get(s.Data) == nil || slices.ContainsFunc(fields, func(g crdDataField) bool { return g.crd == f.crd }) {
			continue
		}
		if typ == "SRV" && (f.crd == "service" || f.crd == "proto") {
			checkSRVLabel(base.Name, f.crd, f.get(s.Data).(string), ps)
			continue
		}
		ps.add("spec.data."+f.crd, "is not a field of %s records (they take %s)", typ, crdFieldNames(fields))
	}
	rec := base
	rec.Type = typ
	switch typ {
	case "SRV", "HTTPS", "SVCB":
		if s.Priority == nil {
			ps.add("spec.priority", "is required for %s records (it becomes data.priority)", typ)
		} else {
			data["priority"] = float64(*s.Priority)
		}
	case "URI":
		if s.Priority == nil {
			ps.add("spec.priority", "is required for URI records")
		} else {
			rec.Priority = ptr(int(*s.Priority))
		}
	}
	// cloudflare-operator sends content too, which Cloudflare ignores
	// when data is given: accepted only where it repeats the target.
	if c := s.Content; c != "" {
		target, _ := data["target"].(string)
		if target == "" || normHost(c) != normHost(target) {
			ps.add("spec.content", "Cloudflare builds the content of %s records from spec.data: leave content out", typ)
		}
	}
	if len(*ps) > before {
		return base, false
	}
	rec.Data = data
	return rec, true
}

// checkSRVLabel checks an SRV data.service or data.proto against the
// record name's first or second label.
func checkSRVLabel(name, field, v string, ps *problems) {
	labels := strings.Split(name, ".")
	i := map[string]int{"service": 0, "proto": 1}[field]
	want := "_" + strings.TrimPrefix(strings.ToLower(v), "_")
	if len(labels) <= i || labels[i] != want {
		ps.add("spec.data."+field, "%q does not match the record name %s: its label %d should be %s (an SRV name starts with _service._proto, and Cloudflare takes the name as given)", v, name, i+1, want)
	}
}

func crdFieldNames(fields []crdDataField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.crd
	}
	return strings.Join(names, ", ")
}

// dataTypeNote lists the types whose value is spec.data, for messages.
func dataTypeNote() string {
	types := make([]string, 0, len(crdDataTypes))
	for t := range crdDataTypes {
		types = append(types, t)
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}
