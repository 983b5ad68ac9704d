package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// TestCloudflareDNSStructuredRecords writes SRV and CAA records through the
// admin API of a three-node cluster: a record with a bad data field is 422
// naming it, the good ones reach the emulator with content built from
// their data and their ids in the target's status, and go with their
// fragment.
func TestCloudflareDNSStructuredRecords(t *testing.T) {
	cf := newCloudflare(t, nil)
	zoneID := cf.emu.AddZone(cfAccount, "example.com")
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()

	target := api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}
	spec := func(port int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"accountId":%q,"records":[`+
			`{"name":"_sip._tcp.example.com","type":"SRV","data":{"priority":10,"weight":5,"port":%d,"target":"sip.example.com"}},`+
			`{"name":"example.com","type":"CAA","data":{"flags":0,"tag":"issue","value":"letsencrypt.org"}}]}`, cfAccount, port))
	}
	frag := api.Fragment{Target: target, Source: api.SourceRef{Kind: "API", Name: "dns-demo"}, Generation: 1, Spec: spec(70000)}
	_, err := cl.PutFragment(ctx, frag)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Field != "spec.records[0].data.port" {
		t.Fatalf("port 70000: got %v, want 422 on spec.records[0].data.port", err)
	}

	frag.Spec = spec(5060)
	if _, err := cl.PutFragment(ctx, frag); err != nil {
		t.Fatal(err)
	}
	contents := func() map[string]string {
		out := map[string]string{}
		for _, r := range cf.emu.DNSRecords(zoneID) {
			out[r.Type] = r.Content
		}
		return out
	}
	if !waitUntil(30*time.Second, func() bool { return len(cf.emu.DNSRecords(zoneID)) == 2 }) {
		t.Fatalf("records %+v", cf.emu.DNSRecords(zoneID))
	}
	if c := contents(); c["SRV"] != "10 5 5060 sip.example.com" || c["CAA"] != `0 issue "letsencrypt.org"` {
		t.Fatalf("contents %v", c)
	}
	var tg api.Target
	if !waitUntil(30*time.Second, func() bool {
		var err error
		tg, err = cl.GetTarget(ctx, target)
		return err == nil && tg.Status != nil && tg.Status.DownstreamIDs["_sip._tcp.example.com SRV 10 5 5060 sip.example.com"] != "" &&
			tg.Status.DownstreamIDs[`example.com CAA 0 issue "letsencrypt.org"`] != ""
	}) {
		t.Fatalf("target status %+v", tg.Status)
	}

	if _, err := cl.DeleteFragment(ctx, target, frag.Source); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(30*time.Second, func() bool { return len(cf.emu.DNSRecords(zoneID)) == 0 }) {
		t.Fatalf("after removing the fragment: records %+v", cf.emu.DNSRecords(zoneID))
	}
}
