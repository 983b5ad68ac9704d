package dns

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

const (
	edgeTunnelID = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	otherTunnel  = "0b7c1f0e-1111-4222-8333-444455556666"
	edgeCNAME    = edgeTunnelID + ".cfargotunnel.com"
	// The comments the previous controllers put on their records.
	adyanthComment = "Managed by cloudflare-operator"
	strrlComment   = "managed by cloudflare-tunnel-ingress-controller, tunnel [edge]"
	strrlEdgeEntry = `{"controller":"strrl.dev/cloudflare-tunnel-ingress-controller","tunnel":"edge"}`
)

// tunnelCNAME is the desired record for app.example.com through the edge
// tunnel, with takeOver as its evidence (JSON; "" for none).
func tunnelCNAME(takeOver string) string {
	rec := `{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true`
	if takeOver != "" {
		rec += `,"takeOver":` + takeOver
	}
	return `{"records":[` + rec + `}]}`
}

// previous creates a record the way a previous controller does: through
// the API, proxied as given, TTL automatic, with its comment.
func (e *env) previous(t *testing.T, typ, name, content, comment string, proxied bool) cloudflare.DNSRecord {
	t.Helper()
	r, err := e.Human.CreateDNSRecord(cfapitest.Context(t), cloudflare.ZoneIdentifier(e.zoneID), cloudflare.CreateDNSRecordParams{
		Type: typ, Name: name, Content: content, TTL: 1, Proxied: &proxied, Comment: comment})
	if err != nil {
		t.Fatalf("create %s %s: %v", name, typ, err)
	}
	return r
}

// adyanthRecords makes what adyanth/cloudflare-operator makes for a
// TunnelBinding host: the CNAME, and its TXT entry naming the CNAME's id
// and tunnelID.
func (e *env) adyanthRecords(t *testing.T, host, tunnelID string) (cname, txt cloudflare.DNSRecord) {
	t.Helper()
	cname = e.previous(t, "CNAME", host, tunnelID+".cfargotunnel.com", adyanthComment, true)
	entry := fmt.Sprintf(`{"DnsId":%q,"TunnelName":"edge","TunnelId":%q}`, cname.ID, tunnelID)
	return cname, e.previous(t, "TXT", "_managed."+host, entry, adyanthComment, false)
}

// strrlRecords makes what the STRRL ingress controller makes for a host:
// the CNAME, and its TXT entry with content entry.
func (e *env) strrlRecords(t *testing.T, host, entry string) (cname, txt cloudflare.DNSRecord) {
	t.Helper()
	cname = e.previous(t, "CNAME", host, edgeCNAME, strrlComment, true)
	return cname, e.previous(t, "TXT", "_ctic_managed."+host, entry, strrlComment, false)
}

// flushWithoutWrites flushes spec after resetting the emulator's request
// counts and fails unless nothing but GETs went out.
func (e *env) flushWithoutWrites(t *testing.T, spec string) engine.Outcome {
	t.Helper()
	e.Emu.Reset()
	out := e.MustFlush(t, spec)
	if n := e.Writes(); n != 0 {
		t.Fatalf("the takeover wrote %d times: %v", n, e.Emu.Requests())
	}
	return out
}

// byID returns the zone's records keyed by id.
func (e *env) byID() map[string]string {
	out := map[string]string{}
	for _, r := range e.Emu.DNSRecords(e.zoneID) {
		out[r.ID] = r.Name + " " + r.Type + " " + r.Comment
	}
	return out
}

func TestTakeOverWritesNothingAndOwnsFromThenOn(t *testing.T) {
	tests := []struct {
		name     string
		takeOver string
		// seed makes the previous controller's records and returns the
		// record to take over and its registry TXT (nil for none).
		seed func(t *testing.T, e *env) (cloudflare.DNSRecord, *cloudflare.DNSRecord)
	}{
		{
			name:     "cfargotunnel registry (adyanth, StringKe TunnelBinding)",
			takeOver: `{"registry":"cfargotunnel"}`,
			seed: func(t *testing.T, e *env) (cloudflare.DNSRecord, *cloudflare.DNSRecord) {
				cname, txt := e.adyanthRecords(t, "app.example.com", edgeTunnelID)
				return cname, &txt
			},
		},
		{
			name:     "strrl registry",
			takeOver: `{"registry":"strrl"}`,
			seed: func(t *testing.T, e *env) (cloudflare.DNSRecord, *cloudflare.DNSRecord) {
				cname, txt := e.strrlRecords(t, "app.example.com", strrlEdgeEntry)
				return cname, &txt
			},
		},
		{
			name: "record id (StringKe DNSRecord status.recordId)",
			seed: func(t *testing.T, e *env) (cloudflare.DNSRecord, *cloudflare.DNSRecord) {
				return e.previous(t, "CNAME", "app.example.com", edgeCNAME, "", true), nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
			rec, txt := tt.seed(t, e)
			other := e.handMade(t, "TXT", "_managed.other.example.com", `{"DnsId":"`+rec.ID+`","TunnelId":"`+edgeTunnelID+`"}`, "")
			takeOver := tt.takeOver
			if takeOver == "" {
				takeOver = fmt.Sprintf(`{"recordIds":[%q,"0000000000000000000000000000beef"]}`, rec.ID)
			}
			spec := tunnelCNAME(takeOver)

			out := e.flushWithoutWrites(t, spec)
			if got := out.DownstreamIDs["app.example.com CNAME "+edgeCNAME]; got != rec.ID {
				t.Fatalf("the taken-over record is not recorded as ours: ids %v, record %s", out.DownstreamIDs, rec.ID)
			}
			if got := e.byID()[rec.ID]; got != "app.example.com CNAME "+rec.Comment {
				t.Fatalf("record changed: %q", got)
			}
			// Owned by id from then on: again nothing to write, with or
			// without the evidence.
			e.flushWithoutWrites(t, spec)

			// The last fragment gone: the record goes, with the registry
			// entry that claims it, in one batch. Another name's entry
			// stays.
			e.Emu.Reset()
			if _, batches := e.mustFlush(t); batches != 1 {
				t.Fatalf("delete: %d batch calls", batches)
			}
			left := e.byID()
			if _, ok := left[rec.ID]; ok {
				t.Fatalf("taken-over record not deleted: %v", left)
			}
			if txt != nil {
				if _, ok := left[txt.ID]; ok {
					t.Fatalf("registry entry %s not deleted: %v", txt.Name, left)
				}
			}
			if _, ok := left[other.ID]; !ok || len(left) != 1 {
				t.Fatalf("left %v; want only %s", left, other.Name)
			}
		})
	}
}

func TestTakeOverChangedFieldWritesOurComment(t *testing.T) {
	e := newEnv(t)
	e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
	cname, txt := e.adyanthRecords(t, "app.example.com", edgeTunnelID)
	e.flushWithoutWrites(t, tunnelCNAME(`{"registry":"cfargotunnel"}`))

	// A change of something we manage (proxied) patches the record, and
	// the patch writes our comment; the registry entry is left alone.
	spec := strings.Replace(tunnelCNAME(`{"registry":"cfargotunnel"}`), `"proxied":true`, `"proxied":false,"comment":"web"`, 1)
	if _, batches := e.mustFlush(t, spec); batches != 1 {
		t.Fatalf("%d batch calls", batches)
	}
	got := e.byID()
	if got[cname.ID] != "app.example.com CNAME "+marker+" web" || got[txt.ID] != "_managed.app.example.com TXT "+adyanthComment {
		t.Fatalf("records %v", got)
	}
	// Our marker now in place, the comment is compared again.
	if _, batches := e.mustFlush(t, strings.Replace(spec, `"web"`, `"web2"`, 1)); batches != 1 {
		t.Fatalf("comment change: %d batch calls", batches)
	}
	if got := e.byID()[cname.ID]; got != "app.example.com CNAME "+marker+" web2" {
		t.Fatalf("record %q", got)
	}
}

func TestTakeOverWithPatchedContent(t *testing.T) {
	e := newEnv(t)
	e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
	// STRRL's record, pointing elsewhere by now (someone edited it): the
	// entry still proves it; the content is set right, with our comment.
	cname, _ := e.strrlRecords(t, "app.example.com", strrlEdgeEntry)
	zone := cloudflare.ZoneIdentifier(e.zoneID)
	if _, err := e.Human.UpdateDNSRecord(cfapitest.Context(t), zone, cloudflare.UpdateDNSRecordParams{
		ID: cname.ID, Type: "CNAME", Name: "app.example.com", Content: "elsewhere.example.net"}); err != nil {
		t.Fatal(err)
	}
	out, batches := e.mustFlush(t, tunnelCNAME(`{"registry":"strrl"}`))
	if batches != 1 || out.DownstreamIDs["app.example.com CNAME "+edgeCNAME] != cname.ID {
		t.Fatalf("%d batch calls, ids %v", batches, out.DownstreamIDs)
	}
	if got := e.records()["app.example.com CNAME "+edgeCNAME]; got.ID != cname.ID || got.Comment != marker {
		t.Fatalf("record %+v", got)
	}
}

func TestTakeOverWrongEvidenceClashes(t *testing.T) {
	const clashMsg = "record app.example.com CNAME exists and is not managed by conflux-sync (set adopt to take it over); the takeOver evidence does not prove it"
	tests := []struct {
		name     string
		takeOver string
		seed     func(t *testing.T, e *env)
	}{
		{
			name:     "cfargotunnel entry of another tunnel",
			takeOver: `{"registry":"cfargotunnel"}`,
			seed: func(t *testing.T, e *env) {
				cname := e.previous(t, "CNAME", "app.example.com", edgeCNAME, adyanthComment, true)
				e.previous(t, "TXT", "_managed.app.example.com", fmt.Sprintf(`{"DnsId":%q,"TunnelName":"x","TunnelId":%q}`, cname.ID, otherTunnel), adyanthComment, false)
			},
		},
		{
			name:     "cfargotunnel entry of another record",
			takeOver: `{"registry":"cfargotunnel"}`,
			seed: func(t *testing.T, e *env) {
				e.previous(t, "CNAME", "app.example.com", edgeCNAME, adyanthComment, true)
				e.previous(t, "TXT", "_managed.app.example.com", `{"DnsId":"0123456789abcdef0123456789abcdef","TunnelName":"edge","TunnelId":"`+edgeTunnelID+`"}`, adyanthComment, false)
			},
		},
		{
			name:     "cfargotunnel entry that is not JSON",
			takeOver: `{"registry":"cfargotunnel"}`,
			seed: func(t *testing.T, e *env) {
				e.previous(t, "CNAME", "app.example.com", edgeCNAME, adyanthComment, true)
				e.previous(t, "TXT", "_managed.app.example.com", "v=spf1 -all", "", false)
			},
		},
		{
			name:     "strrl entry of another controller",
			takeOver: `{"registry":"strrl"}`,
			seed: func(t *testing.T, e *env) {
				e.strrlRecords(t, "app.example.com", `{"controller":"example.com/other-controller","tunnel":"edge"}`)
			},
		},
		{
			name:     "strrl entry of another tunnel",
			takeOver: `{"registry":"strrl"}`,
			seed: func(t *testing.T, e *env) {
				e.strrlRecords(t, "app.example.com", `{"controller":"strrl.dev/cloudflare-tunnel-ingress-controller","tunnel":"other"}`)
			},
		},
		{
			name:     "strrl registry but an adyanth entry",
			takeOver: `{"registry":"strrl"}`,
			seed:     func(t *testing.T, e *env) { e.adyanthRecords(t, "app.example.com", edgeTunnelID) },
		},
		{
			name:     "unknown record id",
			takeOver: `{"recordIds":["0123456789abcdef0123456789abcdef"]}`,
			seed: func(t *testing.T, e *env) {
				e.previous(t, "CNAME", "app.example.com", edgeCNAME, "", true)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
			tt.seed(t, e)
			before := e.byID()
			e.Emu.Reset()
			out, err := e.Flush(t, tunnelCNAME(tt.takeOver))
			if err != nil || !strings.Contains(refusedText(out), clashMsg) {
				t.Fatalf("got %v, refused %v; want a clash containing %q", err, out.Refused, clashMsg)
			}
			if n := e.Writes(); n != 0 {
				t.Fatalf("wrote %d times: %v", n, e.Emu.Requests())
			}
			if after := e.byID(); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("records changed: %v, was %v", after, before)
			}
		})
	}
}

// A record id of another name or type proves nothing for this record: the
// record stays someone else's.
func TestTakeOverRecordIDOfAnotherRecord(t *testing.T) {
	e := newEnv(t)
	e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
	e.previous(t, "CNAME", "app.example.com", edgeCNAME, "", true)
	elsewhere := e.previous(t, "A", "db.example.com", "192.0.2.1", "", false)
	out, err := e.Flush(t, tunnelCNAME(fmt.Sprintf(`{"recordIds":[%q]}`, elsewhere.ID)))
	if err != nil || !strings.Contains(refusedText(out), "record app.example.com CNAME exists") {
		t.Fatalf("got %v, refused %v", err, out.Refused)
	}
	if _, ok := e.byID()[elsewhere.ID]; !ok {
		t.Fatal("the other record was deleted")
	}
}

// Registry entries claiming records of ours go when those do, whether or
// not the record was taken over; entries for records that stay are kept.
func TestRegistryEntriesGoWithTheirRecords(t *testing.T) {
	e := newEnv(t)
	e.SeedNamedTunnel(t, "ClusterTunnel/edge", edgeTunnelID, "edge")
	a, aTXT := e.adyanthRecords(t, "a.example.com", edgeTunnelID)
	b, bTXT := e.strrlRecords(t, "b.example.com", `{"controller":"strrl.dev/cloudflare-tunnel-ingress-controller","tunnel":"edge"}`)
	spec := `{"records":[
		{"name":"a.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"cfargotunnel"}},
		{"name":"b.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true,"takeOver":{"registry":"strrl"}}]}`
	e.flushWithoutWrites(t, spec)
	// b is no longer wanted: b and its entry go, a and its entry stay.
	e.Emu.Reset()
	if _, batches := e.mustFlush(t, `{"records":[{"name":"a.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}]}`); batches != 1 {
		t.Fatalf("%d batch calls", batches)
	}
	left := e.byID()
	_, hasB := left[b.ID]
	_, hasBTXT := left[bTXT.ID]
	if hasB || hasBTXT || left[a.ID] == "" || left[aTXT.ID] == "" || len(left) != 2 {
		t.Fatalf("left %v", left)
	}
}

func TestTakeOverValidation(t *testing.T) {
	rec := func(fields string) string {
		return `{"records":[{"name":"app.example.com",` + fields + `}]}`
	}
	tunnel := `"type":"CNAME","tunnel":"ClusterTunnel/edge"`
	tests := []struct {
		name, spec, field, reason string
	}{
		{"cfargotunnel", rec(tunnel + `,"takeOver":{"registry":"cfargotunnel"}`), "", ""},
		{"strrl and ids", rec(tunnel + `,"takeOver":{"registry":"strrl","recordIds":["a1","a1"]}`), "", ""},
		{"ids on an A record", rec(`"type":"A","content":"192.0.2.1","takeOver":{"recordIds":["0123abcd"]}`), "", ""},
		{"empty", rec(tunnel + `,"takeOver":{}`), "", ""},
		{"unknown registry", rec(tunnel + `,"takeOver":{"registry":"external-dns"}`), "spec.records[0].takeOver.registry", `"external-dns" is not a known registry`},
		{"registry on an A record", rec(`"type":"A","content":"192.0.2.1","takeOver":{"registry":"strrl"}`), "spec.records[0].takeOver.registry", "tunnel CNAME"},
		{"registry on a plain CNAME", rec(`"type":"CNAME","content":"x.example.net","takeOver":{"registry":"cfargotunnel"}`), "spec.records[0].takeOver.registry", "tunnel CNAME"},
		{"empty record id", rec(tunnel + `,"takeOver":{"recordIds":[""]}`), "spec.records[0].takeOver.recordIds[0]", "not a DNS record id"},
		{"bad record id", rec(tunnel + `,"takeOver":{"recordIds":["ok","a b"]}`), "spec.records[0].takeOver.recordIds[1]", "not a DNS record id"},
		{"too many ids", rec(tunnel + `,"takeOver":{"recordIds":[` + strings.Repeat(`"x",`, MaxTakeOverIDs) + `"y"]}`), "spec.records[0].takeOver.recordIds", "at most 20"},
		{"unknown field", rec(tunnel + `,"takeOver":{"ids":["x"]}`), "spec.records[0].takeOver.ids", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kindtest.CheckValidation(t, New().Validate(zoneRef, srcA, json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
}

// Equal evidence gives equal bytes; evidence is no reason for a conflict
// between sources that want the same record.
func TestTakeOverCanonicalAndAgreement(t *testing.T) {
	frag := func(src string, idx uint64, spec string) api.Fragment {
		return api.Fragment{Target: zoneRef, Source: api.SourceRef{Kind: "API", Name: src}, CreateIndex: idx, Spec: json.RawMessage(spec)}
	}
	desired := func(frags ...api.Fragment) (string, int) {
		res, err := New().Aggregate(zoneRef, frags)
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Desired), len(res.Conflicts)
	}
	a, _ := desired(frag("a", 1, tunnelCNAME(`{"recordIds":["b2","a1","b2"]}`)))
	b, _ := desired(frag("a", 1, tunnelCNAME(`{"recordIds":["a1","b2"]}`)))
	if a != b || !strings.Contains(a, `"takeOver":{"recordIds":["a1","b2"]}`) {
		t.Fatalf("not canonical:\n%s\n%s", a, b)
	}
	empty, _ := desired(frag("a", 1, tunnelCNAME(`{"recordIds":[]}`)))
	none, _ := desired(frag("a", 1, tunnelCNAME("")))
	if empty != none {
		t.Fatalf("empty evidence is none:\n%s\n%s", empty, none)
	}
	got, conflicts := desired(frag("a", 1, tunnelCNAME(`{"registry":"strrl"}`)), frag("b", 2, tunnelCNAME("")))
	if conflicts != 0 || !strings.Contains(got, `"takeOver":{"registry":"strrl"}`) {
		t.Fatalf("%d conflicts, desired %s", conflicts, got)
	}
}
