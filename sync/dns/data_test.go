package dns

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// One record of every type Cloudflare serves, in the form a user writes
// it; canonical is its data after normalize.
var everyType = []struct {
	name, record, canonical string
}{
	{"A", `{"name":"a.example.com","type":"A","content":"192.0.2.1"}`, ``},
	{"AAAA", `{"name":"a.example.com","type":"AAAA","content":"2001:db8::1"}`, ``},
	{"CNAME", `{"name":"c.example.com","type":"CNAME","content":"x.example.net"}`, ``},
	{"MX", `{"name":"example.com","type":"MX","content":"mx.example.net","priority":10}`, ``},
	{"NS", `{"name":"sub.example.com","type":"NS","content":"NS1.Example.net."}`, ``},
	{"PTR", `{"name":"1.example.com","type":"PTR","content":"host.example.net"}`, ``},
	{"TXT", `{"name":"_dmarc.example.com","type":"TXT","content":"v=DMARC1; p=none"}`, ``},
	{"OPENPGPKEY", `{"name":"x._openpgpkey.example.com","type":"OPENPGPKEY","content":"bWFpbA=="}`, ``},
	{"CAA", `{"name":"example.com","type":"CAA","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"}}`,
		`{"flags":0,"tag":"issue","value":"letsencrypt.org"}`},
	{"CERT", `{"name":"c.example.com","type":"CERT","data":{"type":1,"key_tag":12345,"algorithm":8,"certificate":"TUlJQg=="}}`,
		`{"algorithm":8,"certificate":"TUlJQg==","key_tag":12345,"type":1}`},
	{"DNSKEY", `{"name":"example.com","type":"DNSKEY","data":{"flags":257,"protocol":3,"algorithm":13,"public_key":"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="}}`,
		`{"algorithm":13,"flags":257,"protocol":3,"public_key":"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="}`},
	{"DS", `{"name":"sub.example.com","type":"DS","data":{"key_tag":2371,"algorithm":13,"digest_type":2,"digest":"1F987CC6583E92DF0890718C42"}}`,
		`{"algorithm":13,"digest":"1f987cc6583e92df0890718c42","digest_type":2,"key_tag":2371}`},
	{"HTTPS", `{"name":"example.com","type":"HTTPS","data":{"priority":1,"target":".","value":"alpn=\"h3,h2\""}}`,
		`{"priority":1,"target":".","value":"alpn=\"h3,h2\""}`},
	{"LOC", `{"name":"office.example.com","type":"LOC","data":{"lat_degrees":52,"lat_minutes":22,"lat_seconds":23.5,"lat_direction":"N","long_degrees":4,"long_minutes":53,"long_seconds":32,"long_direction":"E","altitude":-2,"size":1,"precision_horz":10000,"precision_vert":10}}`,
		`{"altitude":-2,"lat_degrees":52,"lat_direction":"N","lat_minutes":22,"lat_seconds":23.5,"long_degrees":4,"long_direction":"E","long_minutes":53,"long_seconds":32,"precision_horz":10000,"precision_vert":10,"size":1}`},
	{"NAPTR", `{"name":"sip.example.com","type":"NAPTR","data":{"order":100,"preference":10,"flags":"S","service":"SIP+D2U","replacement":"_sip._udp.example.com."}}`,
		`{"flags":"S","order":100,"preference":10,"regex":"","replacement":"_sip._udp.example.com","service":"SIP+D2U"}`},
	{"SMIMEA", `{"name":"x._smimecert.example.com","type":"SMIMEA","data":{"usage":3,"selector":1,"matching_type":1,"certificate":"ABCDEF01"}}`,
		`{"certificate":"abcdef01","matching_type":1,"selector":1,"usage":3}`},
	{"SRV", `{"name":"_sip._tcp.example.com","type":"SRV","data":{"priority":10,"weight":5,"port":5060,"target":"SIP.example.com."}}`,
		`{"port":5060,"priority":10,"target":"sip.example.com","weight":5}`},
	{"SSHFP", `{"name":"host.example.com","type":"SSHFP","data":{"algorithm":4,"type":2,"fingerprint":"0a1b"}}`,
		`{"algorithm":4,"fingerprint":"0a1b","type":2}`},
	{"SVCB", `{"name":"_dns.example.com","type":"SVCB","data":{"priority":0,"target":"svc.example.net"}}`,
		`{"priority":0,"target":"svc.example.net","value":""}`},
	{"TLSA", `{"name":"_443._tcp.example.com","type":"TLSA","data":{"usage":3,"selector":1,"matching_type":1,"certificate":"0D6FCE13243AA7"}}`,
		`{"certificate":"0d6fce13243aa7","matching_type":1,"selector":1,"usage":3}`},
	{"URI", `{"name":"_ftp._tcp.example.com","type":"URI","priority":10,"data":{"weight":1,"target":"ftp://ftp.example.com/public"}}`,
		`{"target":"ftp://ftp.example.com/public","weight":1}`},
}

func TestEveryTypeValidatesToCanonicalData(t *testing.T) {
	for _, tc := range everyType {
		t.Run(tc.name, func(t *testing.T) {
			s, fe := decode(zoneRef, json.RawMessage(`{"records":[`+tc.record+`]}`), kind.DecodeStrict)
			if fe != nil {
				t.Fatalf("decode: %v", fe)
			}
			r := s.Records[0]
			if tc.canonical == "" {
				if r.Data != nil {
					t.Fatalf("content type got data %v", r.Data)
				}
				return
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.canonical), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Data, want) {
				got, _ := json.Marshal(r.Data)
				t.Fatalf("data %s, want %s", got, tc.canonical)
			}
			// Canonical data validates again to itself (Desired is
			// decoded and normalized where stored specs are).
			again := r
			if fe := normalizeRecord(&again, "example.com", "r"); fe != nil {
				t.Fatalf("canonical record refused: %v", fe)
			}
			if !reflect.DeepEqual(again.Data, r.Data) {
				t.Fatalf("canonical form moved: %v -> %v", r.Data, again.Data)
			}
		})
	}
}

func TestDataValidationRejects(t *testing.T) {
	rec := func(typ, data string) string {
		return `{"records":[{"name":"_x._tcp.example.com","type":"` + typ + `","data":` + data + `}]}`
	}
	for _, tc := range []struct {
		name, spec, field, reason string
	}{
		{"srv no data", `{"records":[{"name":"_x._tcp.example.com","type":"SRV"}]}`, "spec.records[0].data", "required for SRV records: {priority, weight, port, target}"},
		{"data on A", `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","data":{"flags":0}}]}`, "spec.records[0].data", "not allowed on A records"},
		{"unknown data field", rec("SRV", `{"priority":1,"weight":1,"port":1,"target":"x.example.com","service":"_x"}`), "spec.records[0].data.service", "not a field of SRV data"},
		{"srv missing port", rec("SRV", `{"priority":1,"weight":1,"target":"x.example.com"}`), "spec.records[0].data.port", "required: a number in 0..65535"},
		{"srv port range", rec("SRV", `{"priority":1,"weight":1,"port":65536,"target":"x.example.com"}`), "spec.records[0].data.port", "65536 is out of range 0..65535"},
		{"srv weight negative", rec("SRV", `{"priority":1,"weight":-1,"port":1,"target":"x.example.com"}`), "spec.records[0].data.weight", "out of range"},
		{"srv priority fraction", rec("SRV", `{"priority":1.5,"weight":1,"port":1,"target":"x.example.com"}`), "spec.records[0].data.priority", "whole number"},
		{"srv port as string", rec("SRV", `{"priority":1,"weight":1,"port":"443","target":"x.example.com"}`), "spec.records[0].data.port", `must be a number in 0..65535, not "443"`},
		{"srv bad target", rec("SRV", `{"priority":1,"weight":1,"port":1,"target":"a b"}`), "spec.records[0].data.target", "host name"},
		{"srv top-level priority", `{"records":[{"name":"_x._tcp.example.com","type":"SRV","priority":1,"data":{"priority":1,"weight":1,"port":1,"target":"x.example.com"}}]}`, "spec.records[0].priority", "give data.priority"},
		{"caa bad tag", rec("CAA", `{"flags":0,"tag":"issuer","value":"ca.example"}`), "spec.records[0].data.tag", `"issuer" is not allowed: use issue, issuewild, iodef`},
		{"caa flags range", rec("CAA", `{"flags":256,"tag":"issue","value":"ca.example"}`), "spec.records[0].data.flags", "out of range 0..255"},
		{"caa empty value", rec("CAA", `{"flags":0,"tag":"issue","value":""}`), "spec.records[0].data.value", "required"},
		{"caa iodef not url", rec("CAA", `{"flags":0,"tag":"iodef","value":"security@example.com"}`), "spec.records[0].data.value", "mailto:"},
		{"tlsa usage range", rec("TLSA", `{"usage":256,"selector":1,"matching_type":1,"certificate":"00"}`), "spec.records[0].data.usage", "out of range 0..255"},
		{"tlsa odd hex", rec("TLSA", `{"usage":3,"selector":1,"matching_type":1,"certificate":"abc"}`), "spec.records[0].data.certificate", "even number of hex digits"},
		{"tlsa not hex", rec("TLSA", `{"usage":3,"selector":1,"matching_type":1,"certificate":"zz"}`), "spec.records[0].data.certificate", "hex"},
		{"ds no digest", rec("DS", `{"key_tag":1,"algorithm":13,"digest_type":2}`), "spec.records[0].data.digest", "required"},
		{"dnskey bad base64", rec("DNSKEY", `{"flags":257,"protocol":3,"algorithm":13,"public_key":"not base64!"}`), "spec.records[0].data.public_key", "base64"},
		{"cert key_tag range", rec("CERT", `{"type":1,"key_tag":70000,"algorithm":8,"certificate":"AA=="}`), "spec.records[0].data.key_tag", "out of range 0..65535"},
		{"loc latitude", rec("LOC", `{"lat_degrees":91,"lat_minutes":0,"lat_seconds":0,"lat_direction":"N","long_degrees":0,"long_minutes":0,"long_seconds":0,"long_direction":"E","altitude":0,"size":0,"precision_horz":0,"precision_vert":0}`), "spec.records[0].data.lat_degrees", "out of range 0..90"},
		{"loc direction", rec("LOC", `{"lat_degrees":1,"lat_minutes":0,"lat_seconds":0,"lat_direction":"E","long_degrees":0,"long_minutes":0,"long_seconds":0,"long_direction":"E","altitude":0,"size":0,"precision_horz":0,"precision_vert":0}`), "spec.records[0].data.lat_direction", "use N, S"},
		{"loc seconds decimals", rec("LOC", `{"lat_degrees":1,"lat_minutes":0,"lat_seconds":1.2345,"lat_direction":"N","long_degrees":0,"long_minutes":0,"long_seconds":0,"long_direction":"E","altitude":0,"size":0,"precision_horz":0,"precision_vert":0}`), "spec.records[0].data.lat_seconds", "more than 3 decimals"},
		{"loc missing size", rec("LOC", `{"lat_degrees":1,"lat_minutes":0,"lat_seconds":0,"lat_direction":"N","long_degrees":0,"long_minutes":0,"long_seconds":0,"long_direction":"E","altitude":0,"precision_horz":0,"precision_vert":0}`), "spec.records[0].data.size", "required"},
		{"naptr no replacement", rec("NAPTR", `{"order":1,"preference":1}`), "spec.records[0].data.replacement", "host name"},
		{"sshfp type range", rec("SSHFP", `{"algorithm":1,"type":300,"fingerprint":"00"}`), "spec.records[0].data.type", "out of range 0..255"},
		{"https alias with value", rec("HTTPS", `{"priority":0,"target":"x.example.com","value":"alpn=h2"}`), "spec.records[0].data.value", "must be empty when priority is 0"},
		{"uri no priority", rec("URI", `{"weight":1,"target":"https://x.example.com"}`), "spec.records[0].priority", "required for URI records"},
		{"uri empty target", `{"records":[{"name":"_x._tcp.example.com","type":"URI","priority":1,"data":{"weight":1,"target":""}}]}`, "spec.records[0].data.target", "required"},
		{"ns content", `{"records":[{"name":"sub.example.com","type":"NS","content":"a b"}]}`, "spec.records[0].content", "host name"},
		{"openpgpkey content", `{"records":[{"name":"x.example.com","type":"OPENPGPKEY","content":"not base64!"}]}`, "spec.records[0].content", "base64"},
		{"proxied srv", `{"records":[{"name":"_x._tcp.example.com","type":"SRV","proxied":true,"data":{"priority":1,"weight":1,"port":1,"target":"x.example.com"}}]}`, "spec.records[0].proxied", "only A, AAAA and CNAME"},
		{"duplicate srv", `{"records":[` + strings.Repeat(`{"name":"_x._tcp.example.com","type":"SRV","data":{"priority":1,"weight":1,"port":1,"target":"x.example.com"}},`, 1) +
			`{"name":"_x._tcp.example.com","type":"SRV","data":{"priority":1,"weight":1,"port":1,"target":"X.example.com."}}]}`, "spec.records[1]", "repeats spec.records[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New().Validate(zoneRef, srcA, json.RawMessage(tc.spec))
			var fe *api.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *api.FieldError, got %T %v", err, err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
				t.Fatalf("got %s: %s; want field %s with %q", fe.Field, fe.Reason, tc.field, tc.reason)
			}
		})
	}
}

// Every structured type through the real client and the emulator: created
// with its data, a repeat flush writes nothing (the data compares field by
// field with what the API echoes, whatever content it builds), and data
// changed out of band is put back.
func TestFlushStructuredTypes(t *testing.T) {
	for _, tc := range everyType {
		if tc.canonical == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			spec := `{"records":[` + tc.record + `]}`
			if _, batches := e.mustFlush(t, spec); batches != 1 {
				t.Fatalf("create: %d batch calls, want 1", batches)
			}
			rec := onlyRecord(t, e)
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.canonical), &want); err != nil {
				t.Fatal(err)
			}
			if changes := dataChanges(tc.name, want, rec.Data.(map[string]any)); len(changes) > 0 {
				t.Fatalf("created with other data: %v", changes)
			}

			writes := e.Writes()
			if _, batches := e.mustFlush(t, spec); batches != 0 || e.Writes() != writes {
				t.Fatalf("repeat flush wrote: %d batch calls, %d writes", batches, e.Writes()-writes)
			}

			// Out of band, the first (numeric) field moves by one.
			drifted := maps.Clone(rec.Data.(map[string]any))
			first := dataTypes[tc.name][0].name
			drifted[first] = drifted[first].(float64) + 1
			if _, err := e.Human.UpdateDNSRecord(cfapitest.Context(t), cloudflare.ZoneIdentifier(e.zoneID),
				cloudflare.UpdateDNSRecordParams{ID: rec.ID, Data: drifted}); err != nil {
				t.Fatalf("drift: %v", err)
			}
			out, batches := e.mustFlush(t, spec)
			if batches != 1 {
				t.Fatalf("drift repair: %d batch calls, want 1", batches)
			}
			if !slices.ContainsFunc(out.Plan, func(l string) bool { return strings.Contains(l, "data."+first) }) {
				t.Fatalf("plan does not name data.%s: %q", first, out.Plan)
			}
			repaired := onlyRecord(t, e)
			if repaired.ID != rec.ID || len(dataChanges(tc.name, want, repaired.Data.(map[string]any))) > 0 {
				t.Fatalf("after repair %+v (was id %s)", repaired, rec.ID)
			}
		})
	}
}

// Several SRV records on one name: each keeps its record, and a change of
// one target patches that record alone.
func TestFlushSRVSet(t *testing.T) {
	e := newEnv(t)
	srv := func(port int, target string) string {
		return fmt.Sprintf(`{"name":"_sip._tcp.example.com","type":"SRV","data":{"priority":10,"weight":5,"port":%d,"target":%q}}`, port, target)
	}
	spec := `{"records":[` + srv(5060, "a.example.com") + "," + srv(5061, "b.example.com") + `]}`
	out, _ := e.mustFlush(t, spec)
	idA := out.DownstreamIDs["_sip._tcp.example.com SRV 10 5 5060 a.example.com"]
	idB := out.DownstreamIDs["_sip._tcp.example.com SRV 10 5 5061 b.example.com"]
	if idA == "" || idB == "" {
		t.Fatalf("downstream ids %v", out.DownstreamIDs)
	}
	writes := e.Writes()
	if _, batches := e.mustFlush(t, spec); batches != 0 || e.Writes() != writes {
		t.Fatalf("repeat flush wrote")
	}
	spec = `{"records":[` + srv(5060, "a.example.com") + "," + srv(5061, "c.example.com") + `]}`
	out, batches := e.mustFlush(t, spec)
	if batches != 1 || out.DownstreamIDs["_sip._tcp.example.com SRV 10 5 5060 a.example.com"] != idA ||
		out.DownstreamIDs["_sip._tcp.example.com SRV 10 5 5061 c.example.com"] != idB {
		t.Fatalf("change of one target: %d batches, ids %v (want %s kept, %s patched)", batches, out.DownstreamIDs, idA, idB)
	}
	if len(e.Emu.DNSRecords(e.zoneID)) != 2 {
		t.Fatalf("records %+v", e.Emu.DNSRecords(e.zoneID))
	}
}

// onlyRecord reads the zone's one record back through the client.
func onlyRecord(t *testing.T, e *env) cloudflare.DNSRecord {
	t.Helper()
	recs, _, err := e.Human.ListDNSRecords(cfapitest.Context(t), cloudflare.ZoneIdentifier(e.zoneID), cloudflare.ListDNSRecordsParams{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	return recs[0]
}
