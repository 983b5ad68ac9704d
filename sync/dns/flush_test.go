package dns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

var marker = cfapi.Marker(cfapitest.ClusterID)

const threeRecords = `{"records":[
	{"name":"api.example.com","type":"A","content":"203.0.113.7","ttl":300,"comment":"team api","tags":["team:api"]},
	{"name":"www.example.com","type":"CNAME","content":"web.example.net","proxied":true},
	{"name":"example.com","type":"TXT","content":"v=spf1 -all"}]}`

func TestFlushCreateRepeatUpdate(t *testing.T) {
	e := newEnv(t)
	out, batches := e.mustFlush(t, threeRecords)
	if batches != 1 {
		t.Fatalf("create: %d batch calls, want 1", batches)
	}
	recs := e.records()
	api := recs["api.example.com A 203.0.113.7"]
	if len(recs) != 3 || api.TTL != 300 || api.Comment != marker+" team api" {
		t.Fatalf("records after create: %+v", recs)
	}
	if www := recs["www.example.com CNAME web.example.net"]; !www.Proxied || www.Comment != marker {
		t.Fatalf("www: %+v", www)
	}
	ids := out.DownstreamIDs
	if ids[IDZone] != e.zoneID || ids[IDAccount] != cfapitest.Account || ids["api.example.com A 203.0.113.7"] != api.ID || len(ids) != 5 {
		t.Fatalf("downstream ids %v", ids)
	}
	tags, err := e.Human.GetDNSRecord(cfapitest.Context(t), cloudflare.ZoneIdentifier(e.zoneID), api.ID)
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0] != "team:api" {
		t.Fatalf("tags %v %v", tags.Tags, err)
	}

	writes := e.Writes()
	if _, batches := e.mustFlush(t, threeRecords); batches != 0 || e.Writes() != writes {
		t.Fatalf("repeat flush wrote: %d batch calls, %d writes", batches, e.Writes()-writes)
	}

	changed := strings.Replace(threeRecords, `"ttl":300`, `"ttl":600`, 1)
	if _, batches := e.mustFlush(t, changed); batches != 1 {
		t.Fatalf("update: %d batch calls", batches)
	}
	if got := e.records()["api.example.com A 203.0.113.7"]; got.ID != api.ID || got.TTL != 600 {
		t.Fatalf("after update %+v (was %s)", got, api.ID)
	}
	if n := len(e.Checkpoints()); n != 0 {
		t.Fatalf("records carry the marker: no checkpoint expected, got %d", n)
	}
}

func TestFlushManyRecordsBatchesAndPages(t *testing.T) {
	e := newEnv(t)
	var recs []string
	for i := range 450 {
		recs = append(recs, fmt.Sprintf(`{"name":"h%d.example.com","type":"A","content":"198.51.100.%d"}`, i, i%250+1))
	}
	spec := `{"records":[` + strings.Join(recs, ",") + `]}`
	if _, batches := e.mustFlush(t, spec); batches != 3 {
		t.Fatalf("450 records: %d batch calls, want 3", batches)
	}
	if n := len(e.Emu.DNSRecords(e.zoneID)); n != 450 {
		t.Fatalf("%d records", n)
	}
	lists := e.Emu.Requests()[listKey]
	out, batches := e.mustFlush(t, spec)
	if batches != 0 {
		t.Fatalf("repeat: %d batch calls", batches)
	}
	if pages := e.Emu.Requests()[listKey] - lists; pages != 5 {
		t.Fatalf("listing 450 records took %d pages, want 5", pages)
	}
	if len(out.DownstreamIDs) != 452 {
		t.Fatalf("%d downstream ids", len(out.DownstreamIDs))
	}
	// Removing everything: 450 deletes, again in calls of at most 200.
	if _, batches := e.mustFlush(t, `{"records":[]}`); batches != 3 {
		t.Fatalf("delete 450: %d batch calls", batches)
	}
	if n := len(e.Emu.DNSRecords(e.zoneID)); n != 0 {
		t.Fatalf("%d records left", n)
	}
}

func TestFlushDeleteOnEmptyKeepsOthers(t *testing.T) {
	e := newEnv(t)
	other := e.handMade(t, "A", "other.example.com", "192.0.2.50", "by hand")
	e.mustFlush(t, threeRecords)
	out, batches := e.mustFlush(t) // no fragments left
	if batches != 1 || len(out.DownstreamIDs) != 0 {
		t.Fatalf("delete: %d batch calls, ids %v", batches, out.DownstreamIDs)
	}
	recs := e.Emu.DNSRecords(e.zoneID)
	if len(recs) != 1 || recs[0].ID != other.ID || recs[0].Comment != "by hand" {
		t.Fatalf("left %+v", recs)
	}
	// Nothing of ours left: nothing to do.
	if _, batches := e.mustFlush(t); batches != 0 {
		t.Fatalf("second delete: %d batch calls", batches)
	}
}

// refusedText joins the messages of the records a flush did not write.
func refusedText(out engine.Outcome) string {
	msgs := make([]string, len(out.Refused))
	for i, r := range out.Refused {
		msgs[i] = r.Key + ": " + r.Message
	}
	return strings.Join(msgs, "; ")
}

// A record that clashes with one we do not own is reported per record;
// the rest of the zone is written and the flush succeeds.
func TestFlushUnownedClashIsReportedPerRecord(t *testing.T) {
	e := newEnv(t)
	app := e.handMade(t, "CNAME", "app.example.com", "elsewhere.example.net", "")
	web := e.handMade(t, "A", "web.example.com", "192.0.2.9", "manual")
	other := e.handMade(t, "TXT", "other.example.com", "keep me", "")
	spec := `{"records":[
		{"name":"app.example.com","type":"CNAME","content":"mine.example.net"},
		{"name":"web.example.com","type":"CNAME","content":"mine.example.net"},
		{"name":"ok.example.com","type":"A","content":"192.0.2.1"}]}`
	before := e.Emu.Requests()[batchKey]
	out, err := e.Flush(t, spec)
	if err != nil {
		t.Fatalf("one clash failed the zone: %v", err)
	}
	for _, want := range []string{
		"app.example.com CNAME: record app.example.com CNAME exists and is not managed by conflux-sync (set adopt to take it over)",
		"web.example.com CNAME: record web.example.com A exists and is not managed by conflux-sync (set adopt to take it over)",
	} {
		if !strings.Contains(refusedText(out), want) {
			t.Errorf("refused %q\nlacks %q", refusedText(out), want)
		}
	}
	for _, r := range out.Refused {
		if r.Reason != api.RefusedConflict {
			t.Errorf("refused %+v: want reason %s", r, api.RefusedConflict)
		}
	}
	if e.Emu.Requests()[batchKey]-before != 1 {
		t.Fatalf("the writable record must still be written")
	}
	recs := e.records()
	if _, ok := recs["ok.example.com A 192.0.2.1"]; !ok {
		t.Fatalf("ok.example.com not written: %v", recs)
	}
	for _, r := range []cloudflare.DNSRecord{app, web, other} {
		got, ok := recs[r.Name+" "+r.Type+" "+r.Content]
		if !ok || got.ID != r.ID || got.Comment != r.Comment {
			t.Fatalf("hand-made %s %s touched: %+v", r.Name, r.Type, got)
		}
	}
	// Retrying finds the written record by its marker and writes nothing.
	before = e.Emu.Requests()[batchKey]
	if out, err := e.Flush(t, spec); err != nil || len(out.Refused) != 2 || e.Emu.Requests()[batchKey] != before {
		t.Fatalf("retry: %v, %d batch calls", err, e.Emu.Requests()[batchKey]-before)
	}
	// Deleting everything leaves the hand-made records alone.
	e.Prev = nil
	if _, batches := e.mustFlush(t); batches != 1 || len(e.Emu.DNSRecords(e.zoneID)) != 3 {
		t.Fatalf("delete: %d batch calls, left %v", batches, e.records())
	}
}

func TestFlushAdopt(t *testing.T) {
	e := newEnv(t)
	legacy := e.handMade(t, "CNAME", "legacy.example.com", "old.example.net", "from the dashboard")
	other := e.handMade(t, "A", "other.example.com", "192.0.2.50", "")
	spec := `{"records":[{"name":"legacy.example.com","type":"CNAME","content":"new.example.net","adopt":true,"comment":"adopted"}]}`
	out, batches := e.mustFlush(t, spec)
	if batches != 1 {
		t.Fatalf("%d batch calls", batches)
	}
	got := e.records()["legacy.example.com CNAME new.example.net"]
	if got.ID != legacy.ID || got.Comment != marker+" adopted" {
		t.Fatalf("adopted record %+v (was %s)", got, legacy.ID)
	}
	if out.DownstreamIDs["legacy.example.com CNAME new.example.net"] != legacy.ID {
		t.Fatalf("ids %v", out.DownstreamIDs)
	}
	if _, batches := e.mustFlush(t, spec); batches != 0 {
		t.Fatalf("repeat: %d batch calls", batches)
	}
	// An adopted record is ours: dropping it deletes it. The other
	// hand-made record stays.
	e.mustFlush(t, `{"records":[]}`)
	recs := e.Emu.DNSRecords(e.zoneID)
	if len(recs) != 1 || recs[0].ID != other.ID {
		t.Fatalf("left %+v", recs)
	}
}

func TestFlushAdoptSameValue(t *testing.T) {
	e := newEnv(t)
	same := e.handMade(t, "A", "a.example.com", "192.0.2.1", "")
	spec := `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1","adopt":true}]}`
	if _, batches := e.mustFlush(t, spec); batches != 1 {
		t.Fatalf("%d batch calls", batches)
	}
	if got := e.records()["a.example.com A 192.0.2.1"]; got.ID != same.ID || got.Comment != marker {
		t.Fatalf("got %+v", got)
	}
}

func TestFlushDriftRepaired(t *testing.T) {
	e := newEnv(t)
	out, _ := e.mustFlush(t, threeRecords)
	id := out.DownstreamIDs["api.example.com A 203.0.113.7"]
	zone := cloudflare.ZoneIdentifier(e.zoneID)
	empty := ""
	// Someone edits our record: new content, comment (and marker) removed.
	_, err := e.Human.UpdateDNSRecord(cfapitest.Context(t), zone, cloudflare.UpdateDNSRecordParams{
		ID: id, Type: "A", Name: "api.example.com", Content: "192.0.2.66", TTL: 60, Comment: &empty})
	if err != nil {
		t.Fatal(err)
	}
	if _, batches := e.mustFlush(t, threeRecords); batches != 1 {
		t.Fatalf("repair: %d batch calls", batches)
	}
	got := e.records()["api.example.com A 203.0.113.7"]
	if got.ID != id || got.TTL != 300 || got.Comment != marker+" team api" {
		t.Fatalf("repaired %+v", got)
	}
	if _, batches := e.mustFlush(t, threeRecords); batches != 0 {
		t.Fatalf("after repair: %d batch calls", batches)
	}
	// Someone deletes one of ours: it is created again.
	if err := e.Human.DeleteDNSRecord(cfapitest.Context(t), zone, id); err != nil {
		t.Fatal(err)
	}
	if _, batches := e.mustFlush(t, threeRecords); batches != 1 || len(e.records()) != 3 {
		t.Fatalf("recreate: %d batch calls, %v", batches, e.records())
	}
}

func TestFlushMultiValueAndTypeChange(t *testing.T) {
	e := newEnv(t)
	out, _ := e.mustFlush(t, `{"records":[
		{"name":"m.example.com","type":"A","content":"192.0.2.1"},
		{"name":"m.example.com","type":"A","content":"192.0.2.2"},
		{"name":"t.example.com","type":"CNAME","content":"x.example.net"}]}`)
	keep := out.DownstreamIDs["m.example.com A 192.0.2.2"]
	before := e.Emu.Requests()[batchKey]
	out, _ = e.mustFlush(t, `{"records":[
		{"name":"m.example.com","type":"A","content":"192.0.2.2"},
		{"name":"m.example.com","type":"A","content":"192.0.2.3"},
		{"name":"t.example.com","type":"A","content":"192.0.2.4"}]}`)
	if e.Emu.Requests()[batchKey]-before != 1 {
		t.Fatal("want one batch call")
	}
	if out.DownstreamIDs["m.example.com A 192.0.2.2"] != keep {
		t.Fatalf("the unchanged value must keep its record: %v", out.DownstreamIDs)
	}
	recs := e.records()
	for _, k := range []string{"m.example.com A 192.0.2.2", "m.example.com A 192.0.2.3", "t.example.com A 192.0.2.4"} {
		if _, ok := recs[k]; !ok {
			t.Fatalf("missing %s in %v", k, recs)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("records %v", recs)
	}
}

func TestFlushTunnelCNAME(t *testing.T) {
	e := newEnv(t)
	spec := `{"records":[
		{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},
		{"name":"b.example.com","type":"A","content":"192.0.2.1"}]}`
	// The tunnel is not created yet: its CNAME waits, alone, and the rest
	// of the zone is written.
	out, batches := e.mustFlush(t, spec)
	wantWaiting := []api.WaitingPart{{Key: "app.example.com CNAME", For: "tunnel ClusterTunnel/edge (not created yet)"}}
	if !slices.Equal(out.Waiting, wantWaiting) {
		t.Fatalf("waiting %v, want %v", out.Waiting, wantWaiting)
	}
	if _, ok := e.records()["b.example.com A 192.0.2.1"]; batches != 1 || !ok || len(e.records()) != 1 {
		t.Fatalf("the record that waits for nothing is not written alone: %d batches, %v", batches, e.records())
	}
	const tid = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	cname := "app.example.com CNAME " + tid + ".cfargotunnel.com"
	e.SeedTunnel(t, "ClusterTunnel/edge", tid)
	out, batches = e.mustFlush(t, spec)
	if batches != 1 || len(out.Waiting) != 0 {
		t.Fatalf("%d batch calls, waiting %v", batches, out.Waiting)
	}
	got, ok := e.records()[cname]
	if !ok || !got.Proxied || out.DownstreamIDs[cname] != got.ID {
		t.Fatalf("records %v ids %v", e.records(), out.DownstreamIDs)
	}
	if _, batches := e.mustFlush(t, spec); batches != 0 {
		t.Fatalf("repeat: %d batch calls", batches)
	}

	// The tunnel loses its id (it is being created again): the CNAME of
	// ours stays as it is, and stays ours, while the rest changes.
	e.RecordStatus(t, api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/edge"}, map[string]string{})
	changed := strings.Replace(spec, "192.0.2.1", "192.0.2.2", 1)
	out, batches = e.mustFlush(t, changed)
	if batches != 1 || len(out.Waiting) != 1 || out.DownstreamIDs[cname] != got.ID {
		t.Fatalf("%d batch calls, waiting %v, ids %v", batches, out.Waiting, out.DownstreamIDs)
	}
	if _, ok := e.records()[cname]; !ok || len(e.records()) != 2 {
		t.Fatalf("the waiting record of ours was not kept: %v", e.records())
	}
}

func TestFlushFaultsAreRetryable(t *testing.T) {
	e := newEnv(t)
	e.mustFlush(t, threeRecords) // zone id cached; the faults hit the batch call
	changed := strings.Replace(threeRecords, "203.0.113.7", "203.0.113.8", 1)
	path := "/zones/" + e.zoneID + "/dns_records/batch"

	e.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: path, Status: 500, Count: 1})
	_, err := e.Flush(t, changed)
	if err == nil || engine.IsPermanent(err) || cfapi.StatusOf(err) != 500 {
		t.Fatalf("500: want retryable, got %v", err)
	}

	e.Emu.AddFault(emu.Fault{Method: "POST", PathPrefix: path, Status: 429, Count: 1, RetryAfter: 7})
	_, err = e.Flush(t, changed)
	var ra interface{ RetryAfter() time.Duration }
	if err == nil || engine.IsPermanent(err) || !errors.As(err, &ra) || ra.RetryAfter() != 7*time.Second {
		t.Fatalf("429: want retryable with Retry-After, got %v", err)
	}

	e.Emu.AddFault(emu.Fault{Method: "GET", PathPrefix: "/zones/" + e.zoneID + "/dns_records", Status: 503, Count: 1})
	if _, err = e.Flush(t, changed); err == nil || engine.IsPermanent(err) {
		t.Fatalf("503 on list: want retryable, got %v", err)
	}

	if _, batches := e.mustFlush(t, changed); batches != 1 {
		t.Fatalf("after the faults: %d batch calls", batches)
	}
	if _, ok := e.records()["api.example.com A 203.0.113.8"]; !ok {
		t.Fatalf("records %v", e.records())
	}
}

func TestFlushNeedsClusterID(t *testing.T) {
	e := newEnv(t)
	res, _ := New().Aggregate(zoneRef, nil)
	_, err := e.f.Flush(cfapitest.Context(t), engine.Request{Target: zoneRef, Result: res})
	if err == nil || engine.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
}

func TestFlushUnknownZoneIsPermanent(t *testing.T) {
	e := newEnv(t)
	res, err := New().Aggregate(zoneRef, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := zoneRef
	ref.Name = "missing.example"
	_, err = e.f.Flush(cfapitest.Context(t), engine.Request{Target: ref, Result: res, ClusterID: cfapitest.ClusterID})
	if !engine.IsPermanent(err) {
		t.Fatalf("got %v", err)
	}
}

// A change Cloudflare refuses fails its whole batch call (the endpoint is
// all-or-nothing): the flush isolates it, writes every other record, and
// reports the refused one with the API's code and message.
func TestFlushIsolatesARefusedRecord(t *testing.T) {
	e := newEnv(t)
	spec := `{"records":[
		{"name":"a.example.com","type":"A","content":"192.0.2.1"},
		{"name":"bad.example.com","type":"A","content":"10.0.0.1","proxied":true},
		{"name":"c.example.com","type":"A","content":"192.0.2.3"},
		{"name":"d.example.com","type":"TXT","content":"hello"}]}`
	before := e.Emu.Requests()[batchKey]
	out, err := e.Flush(t, spec)
	if err != nil {
		t.Fatalf("one refused record failed the zone: %v", err)
	}
	recs := e.records()
	for _, k := range []string{"a.example.com A 192.0.2.1", "c.example.com A 192.0.2.3", "d.example.com TXT hello"} {
		if _, ok := recs[k]; !ok {
			t.Errorf("%s not written beside the refused record: %v", k, recs)
		}
	}
	if _, ok := recs["bad.example.com A 10.0.0.1"]; ok {
		t.Fatalf("the refused record was written")
	}
	if len(out.Refused) != 1 {
		t.Fatalf("refused %+v, want one", out.Refused)
	}
	r := out.Refused[0]
	if r.Key != "bad.example.com A" || r.Reason != api.RefusedByDownstream || r.Code != 9003 || !strings.Contains(r.Message, "is not allowed for a proxied record") {
		t.Fatalf("refused %+v", r)
	}
	// Halving 4 changes to the refused one: 1 + 2 + 2 calls at most.
	if n := e.Emu.Requests()[batchKey] - before; n > 5 {
		t.Fatalf("%d batch calls to isolate one refused change", n)
	}
	if _, ok := out.DownstreamIDs["a.example.com A 192.0.2.1"]; !ok {
		t.Fatalf("ids of the written records not recorded: %v", out.DownstreamIDs)
	}
}
