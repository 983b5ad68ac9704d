package cloudflare_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// Structured records through the real cloudflare-go client: the data is
// stored with every field, echoed back, and the content built from it.
func TestDNSStructuredRecordsBuildContent(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	for _, tc := range []struct {
		typ, name string
		data      map[string]any
		priority  *uint16
		content   string
		echoed    map[string]any // nil: data as sent
	}{
		{"SRV", "_sip._tcp", map[string]any{"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com"}, nil,
			"10 5 5060 sip.example.com", nil},
		{"CAA", "@", map[string]any{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}, nil,
			`0 issue "letsencrypt.org"`, nil},
		{"TLSA", "_443._tcp", map[string]any{"usage": 3, "selector": 1, "matching_type": 1, "certificate": "0d6fce13"}, nil,
			"3 1 1 0d6fce13", nil},
		{"HTTPS", "@", map[string]any{"priority": 1, "target": ".", "value": `alpn="h3,h2"`}, nil,
			`1 . alpn="h3,h2"`, nil},
		{"SVCB", "_dns", map[string]any{"priority": 0, "target": "svc.example.net"}, nil,
			"0 svc.example.net", map[string]any{"priority": 0, "target": "svc.example.net", "value": ""}},
		{"DS", "sub", map[string]any{"key_tag": 2371, "algorithm": 13, "digest_type": 2, "digest": "1f987c"}, nil,
			"2371 13 2 1f987c", nil},
		{"DNSKEY", "@", map[string]any{"flags": 257, "protocol": 3, "algorithm": 13, "public_key": "AAEC"}, nil,
			"257 3 13 AAEC", nil},
		{"CERT", "cert", map[string]any{"type": 1, "key_tag": 1, "algorithm": 8, "certificate": "TUlJQg=="}, nil,
			"1 1 8 TUlJQg==", nil},
		{"LOC", "office", map[string]any{"lat_degrees": 52, "lat_minutes": 22, "lat_seconds": 23.5, "lat_direction": "N",
			"long_degrees": 4, "long_minutes": 53, "long_seconds": 32, "long_direction": "E",
			"altitude": -2, "size": 1, "precision_horz": 10000, "precision_vert": 10}, nil,
			"52 22 23.500 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m", nil},
		{"NAPTR", "sip", map[string]any{"order": 100, "preference": 10, "flags": "S", "service": "SIP+D2U", "regex": "", "replacement": "_sip._udp.example.com"}, nil,
			`100 10 "S" "SIP+D2U" "" _sip._udp.example.com`, nil},
		{"SMIMEA", "x._smimecert", map[string]any{"usage": 3, "selector": 1, "matching_type": 1, "certificate": "abcd"}, nil,
			"3 1 1 abcd", nil},
		{"SSHFP", "host", map[string]any{"algorithm": 4, "type": 2, "fingerprint": "0a1b"}, nil, "4 2 0a1b", nil},
		{"URI", "_ftp._tcp", map[string]any{"weight": 1, "target": "ftp://ftp.example.com/"}, ptr(uint16(10)),
			`1 "ftp://ftp.example.com/"`, nil},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			rec, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: tc.typ, Name: tc.name, Data: tc.data, Priority: tc.priority, TTL: 300})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if rec.Content != tc.content {
				t.Errorf("content %q, want %q", rec.Content, tc.content)
			}
			got, err := e.api.GetDNSRecord(c, rc, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.echoed
			if want == nil {
				want = tc.data
			}
			if !reflect.DeepEqual(got.Data, asJSONNumbers(want)) {
				t.Errorf("data echoed %v, want %v", got.Data, want)
			}
			if tc.typ == "SRV" && (got.Priority == nil || *got.Priority != 10) {
				t.Errorf("SRV priority %v, want data.priority 10 echoed", got.Priority)
			}
		})
	}
}

// asJSONNumbers turns ints into float64, as a JSON decode gives them.
func asJSONNumbers(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if n, ok := v.(int); ok {
			out[k] = float64(n)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestDNSStructuredRecordValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	for _, tc := range []struct {
		name  string
		p     cf.CreateDNSRecordParams
		codes []int
	}{
		{"SRV without data", cf.CreateDNSRecordParams{Type: "SRV", Name: "_x._tcp", Content: "1 1 1 x.example.com"}, []int{9101, 9101, 9101, 9101}},
		{"SRV missing weight, port, target", cf.CreateDNSRecordParams{Type: "SRV", Name: "_x._tcp", Data: map[string]any{"priority": 1}}, []int{9101, 9101, 9101}},
		{"SRV port out of range", cf.CreateDNSRecordParams{Type: "SRV", Name: "_x._tcp", Data: map[string]any{"priority": 1, "weight": 1, "port": 70000, "target": "x.example.com"}}, []int{9102}},
		{"CAA bad tag", cf.CreateDNSRecordParams{Type: "CAA", Name: "@", Data: map[string]any{"flags": 0, "tag": "issuer", "value": "x"}}, []int{9102}},
		{"CAA flags 256", cf.CreateDNSRecordParams{Type: "CAA", Name: "@", Data: map[string]any{"flags": 256, "tag": "issue", "value": "x"}}, []int{9102}},
		{"TLSA hex", cf.CreateDNSRecordParams{Type: "TLSA", Name: "_443._tcp", Data: map[string]any{"usage": 3, "selector": 1, "matching_type": 1, "certificate": "xyz"}}, []int{9102}},
		{"LOC latitude 91", cf.CreateDNSRecordParams{Type: "LOC", Name: "o", Data: map[string]any{"lat_degrees": 91, "lat_minutes": 0, "lat_seconds": 0, "lat_direction": "N",
			"long_degrees": 0, "long_minutes": 0, "long_seconds": 0, "long_direction": "E", "altitude": 0, "size": 0, "precision_horz": 0, "precision_vert": 0}}, []int{9102}},
		{"proxied SRV", cf.CreateDNSRecordParams{Type: "SRV", Name: "_x._tcp", Proxied: ptr(true), Data: map[string]any{"priority": 1, "weight": 1, "port": 1, "target": "x.example.com"}}, []int{1004}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.api.CreateDNSRecord(c, rc, tc.p)
			wantAPIError(t, err, 400, tc.codes[0])
			var ce *cf.Error
			errors.As(err, &ce)
			if tc.codes[0] != 1004 && !slices.Equal(ce.ErrorCodes, tc.codes) {
				t.Fatalf("codes %v, want %v (%v)", ce.ErrorCodes, tc.codes, err)
			}
		})
	}
}

// The type filter and pagination cover structured records like the rest.
func TestDNSListByTypeStructured(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	// 140 SRV among 150 records: more than the default page of 100, so
	// the client walks two pages of the filtered list.
	for i := range 150 {
		p := cf.CreateDNSRecordParams{Type: "SRV", Name: "_x._tcp", Data: map[string]any{"priority": 1, "weight": 1, "port": i + 1, "target": "x.example.com"}}
		if i%15 == 0 {
			p = cf.CreateDNSRecordParams{Type: "A", Name: fmt.Sprintf("h%d", i), Content: "192.0.2.1"}
		}
		if _, err := e.api.CreateDNSRecord(c, rc, p); err != nil {
			t.Fatal(err)
		}
	}
	recs, _, err := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{Type: "SRV"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 140 {
		t.Fatalf("got %d SRV records, want 140", len(recs))
	}
	for _, r := range recs {
		if r.Type != "SRV" || r.Data == nil {
			t.Fatalf("listed %+v", r)
		}
	}
}

// A patch that changes only the TTL keeps the data; one with data
// replaces it and rebuilds the content.
func TestDNSPatchStructured(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	rec, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "CAA", Name: "@", Data: map[string]any{"flags": 0, "tag": "issue", "value": "a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, TTL: 600})
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != `0 issue "a.example"` || got.TTL != 600 {
		t.Fatalf("after ttl patch: %+v", got)
	}
	got, err = e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, Data: map[string]any{"flags": 128, "tag": "issuewild", "value": "b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != `128 issuewild "b.example"` {
		t.Fatalf("after data patch: %q", got.Content)
	}
}
