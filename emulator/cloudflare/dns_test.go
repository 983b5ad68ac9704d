package cloudflare_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	cf "github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

func TestDNSCreateValidation(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	seed := []cf.CreateDNSRecordParams{
		{Type: "A", Name: "a.example.com", Content: "192.0.2.1", TTL: 300},
		{Type: "CNAME", Name: "c", Content: "target.example.net", Proxied: ptr(true), TTL: 120},
	}
	for _, p := range seed {
		if _, err := e.api.CreateDNSRecord(c, rc, p); err != nil {
			t.Fatalf("seed %s: %v", p.Name, err)
		}
	}
	tests := []struct {
		name    string
		params  cf.CreateDNSRecordParams
		status  int
		code    int
		wantTTL int
		fqdn    string
	}{
		{"relative name gets zone", cf.CreateDNSRecordParams{Type: "A", Name: "www", Content: "192.0.2.2"}, 0, 0, 1, "www.example.com"},
		{"apex @", cf.CreateDNSRecordParams{Type: "TXT", Name: "@", Content: "v=spf1 -all", TTL: 3600}, 0, 0, 3600, "example.com"},
		{"second A on same name ok", cf.CreateDNSRecordParams{Type: "A", Name: "a.example.com", Content: "192.0.2.9"}, 0, 0, 1, "a.example.com"},
		{"proxied forces ttl 1", cf.CreateDNSRecordParams{Type: "AAAA", Name: "v6", Content: "2001:db8::1", Proxied: ptr(true), TTL: 600}, 0, 0, 1, "v6.example.com"},
		{"ttl too low", cf.CreateDNSRecordParams{Type: "A", Name: "x", Content: "192.0.2.3", TTL: 30}, 400, 1004, 0, ""},
		{"ttl too high", cf.CreateDNSRecordParams{Type: "A", Name: "x", Content: "192.0.2.3", TTL: 86401}, 400, 1004, 0, ""},
		{"proxied TXT", cf.CreateDNSRecordParams{Type: "TXT", Name: "x", Content: "hi", Proxied: ptr(true)}, 400, 1004, 0, ""},
		{"CNAME onto A", cf.CreateDNSRecordParams{Type: "CNAME", Name: "a", Content: "t.example.net"}, 400, 81053, 0, ""},
		{"A onto CNAME", cf.CreateDNSRecordParams{Type: "A", Name: "c.example.com", Content: "192.0.2.4"}, 400, 81054, 0, ""},
		{"identical", cf.CreateDNSRecordParams{Type: "A", Name: "A.Example.com", Content: "192.0.2.1"}, 400, 81058, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := e.api.CreateDNSRecord(c, rc, tc.params)
			if tc.status != 0 {
				wantAPIError(t, err, tc.status, tc.code)
				var re *cf.RequestError
				if !errors.As(err, &re) {
					t.Fatalf("want RequestError, got %T", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Name != tc.fqdn || rec.TTL != tc.wantTTL || rec.ID == "" || rec.CreatedOn.IsZero() {
				t.Fatalf("got %+v", rec)
			}
		})
	}
}

func TestDNSListFiltersAndPagination(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	for i := range 250 {
		p := cf.CreateDNSRecordParams{Type: "A", Name: fmt.Sprintf("h%03d", i), Content: "192.0.2.1", TTL: 1}
		if i%10 == 0 {
			p.Comment = "Managed"
			p.Tags = []string{"owner:me"}
		}
		if i%25 == 0 {
			p.Tags = append(p.Tags, "env:prod")
		}
		if _, err := e.api.CreateDNSRecord(c, rc, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "CNAME", Name: "app", Content: "x.cfargotunnel.com", Proxied: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		params cf.ListDNSRecordsParams
		want   int
	}{
		{"all, auto-paginated past 100", cf.ListDNSRecordsParams{}, 251},
		{"type", cf.ListDNSRecordsParams{Type: "CNAME"}, 1},
		{"name exact case-insensitive", cf.ListDNSRecordsParams{Name: "H007.EXAMPLE.COM"}, 1},
		{"name must be FQDN", cf.ListDNSRecordsParams{Name: "h007"}, 0},
		{"content case-insensitive", cf.ListDNSRecordsParams{Content: "X.CFARGOTUNNEL.COM"}, 1},
		{"comment case-insensitive", cf.ListDNSRecordsParams{Comment: "managed"}, 25},
		{"tag present", cf.ListDNSRecordsParams{Tags: []string{"env"}}, 10},
		{"tag exact", cf.ListDNSRecordsParams{Tags: []string{"owner:me"}}, 25},
		{"tag all", cf.ListDNSRecordsParams{Tags: []string{"owner:me", "env:prod"}}, 5},
		{"tag any", cf.ListDNSRecordsParams{Tags: []string{"owner:me", "env:prod"}, TagMatch: "any"}, 30},
		{"proxied", cf.ListDNSRecordsParams{Proxied: ptr(true)}, 1},
		{"explicit last page", cf.ListDNSRecordsParams{ResultInfo: cf.ResultInfo{Page: 3, PerPage: 100}}, 51},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := e.api.ListDNSRecords(c, rc, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d records, want %d", len(got), tc.want)
			}
		})
	}
	if n := e.emu.Requests()["GET /zones/{zone}/dns_records"]; n < 3 {
		t.Fatalf("auto-pagination should take 3 requests, saw %d list calls", n)
	}
}

func TestDNSGetUpdateDelete(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	rec, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "CNAME", Name: "app",
		Content: "a.cfargotunnel.com", Proxied: ptr(true), Comment: "managed by x", Tags: []string{"owner:me"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "A", Name: "other", Content: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}

	// tags:null (always sent) and an absent comment keep the old values.
	up, err := e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, Content: "b.cfargotunnel.com"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Content != "b.cfargotunnel.com" || up.Comment != "managed by x" || len(up.Tags) != 1 || !*up.Proxied || up.Name != "app.example.com" {
		t.Fatalf("patch lost fields: %+v", up)
	}
	up, err = e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, Comment: ptr(""), Tags: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Comment != "" || len(up.Tags) != 0 {
		t.Fatalf("empty comment/tags should clear: %+v", up)
	}
	_, err = e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, Name: "other"})
	wantAPIError(t, err, 400, 81053)

	got, err := e.api.GetDNSRecord(c, rc, rec.ID)
	if err != nil || got.Content != "b.cfargotunnel.com" {
		t.Fatalf("get: %v %+v", err, got)
	}

	// PUT (not wrapped by v0) overwrites: omitted proxied/comment reset.
	raw, err := e.api.Raw(c, http.MethodPut, "/zones/"+e.zone+"/dns_records/"+rec.ID,
		map[string]any{"type": "CNAME", "name": "app", "content": "c.cfargotunnel.com", "ttl": 300}, nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	var put cf.DNSRecord
	if err := json.Unmarshal(raw.Result, &put); err != nil || put.Content != "c.cfargotunnel.com" || *put.Proxied || put.TTL != 300 {
		t.Fatalf("put result %s: %v", raw.Result, err)
	}
	if err := e.api.DeleteDNSRecord(c, rc, rec.ID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := e.api.GetDNSRecord(c, rc, rec.ID); return err }(),
		"delete": e.api.DeleteDNSRecord(c, rc, rec.ID),
		"patch": func() error {
			_, err := e.api.UpdateDNSRecord(c, rc, cf.UpdateDNSRecordParams{ID: rec.ID, Content: "x"})
			return err
		}(),
	} {
		var nf *cf.NotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("%s: want NotFoundError, got %T %v", name, err, err)
		}
		wantAPIError(t, err, 404, 81044)
	}
}

func TestDNSBatch(t *testing.T) {
	e := newEnv(t, emu.Config{})
	rc := cf.ZoneIdentifier(e.zone)
	c := ctx(t)
	a, _ := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "A", Name: "a", Content: "192.0.2.1"})
	b, _ := e.api.CreateDNSRecord(c, rc, cf.CreateDNSRecordParams{Type: "A", Name: "b", Content: "192.0.2.2", Comment: "keep"})
	path := "/zones/" + e.zone + "/dns_records/batch"

	// Deletes run first, so the post may reuse the deleted name as a CNAME.
	body := map[string]any{
		"deletes": []map[string]any{{"id": a.ID}},
		"patches": []map[string]any{{"id": b.ID, "content": "192.0.2.20"}},
		"posts":   []map[string]any{{"type": "CNAME", "name": "a", "content": "t.example.net"}},
	}
	raw, err := e.api.Raw(c, http.MethodPost, path, body, nil)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	var res struct{ Deletes, Patches, Puts, Posts []cf.DNSRecord }
	if err := json.Unmarshal(raw.Result, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Deletes) != 1 || len(res.Patches) != 1 || res.Patches[0].Comment != "keep" || len(res.Posts) != 1 || res.Posts[0].Name != "a.example.com" {
		t.Fatalf("batch result %s", raw.Result)
	}

	// All or nothing: a failing post rolls back the delete before it.
	before, _, _ := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{})
	_, err = e.api.Raw(c, http.MethodPost, path, map[string]any{
		"deletes": []map[string]any{{"id": b.ID}},
		"posts":   []map[string]any{{"type": "A", "name": "x", "content": "192.0.2.5", "ttl": 5}},
	}, nil)
	wantAPIError(t, err, 400, 1004)
	after, _, _ := e.api.ListDNSRecords(c, rc, cf.ListDNSRecordsParams{})
	if len(after) != len(before) {
		t.Fatalf("failed batch changed state: %d -> %d records", len(before), len(after))
	}

	posts := make([]map[string]any, 201)
	for i := range posts {
		posts[i] = map[string]any{"type": "A", "name": fmt.Sprintf("n%d", i), "content": "192.0.2.1"}
	}
	_, err = e.api.Raw(c, http.MethodPost, path, map[string]any{"posts": posts}, nil)
	wantAPIError(t, err, 400, 0)
}
