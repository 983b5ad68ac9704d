package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/server"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// The sync isolation suite (issue #19, items 10–13): one bad object never
// holds back another. Every test runs a real three-node cluster against
// the Cloudflare emulator over HTTP with the real cloudflare-go client.

// slowRetries makes a failed attempt wait a minute before it is tried
// again: anything that converges sooner converged without a backoff.
func slowRetries(cfg *server.Config) {
	cfg.Sync.BackoffBase = time.Minute
	cfg.Sync.BackoffMax = time.Minute
}

// target reads a target, failing the test on an error.
func getTarget(t *testing.T, cl *api.Client, ref api.TargetRef) api.Target {
	t.Helper()
	tg, err := cl.GetTarget(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// Item 10: a record Cloudflare refuses (a proxied record to a private
// address: the batch endpoint fails the whole call with 9003) and a record
// that clashes with one made by hand never keep the other records of the
// zone from being written. The good record is written and the zone
// Synced; the bad ones are reported per record, with Cloudflare's code.
func TestCloudflareBadRecordDoesNotHoldBackItsZone(t *testing.T) {
	cf := newCloudflare(t, nil)
	zoneID := cf.emu.AddZone(cfAccount, "example.com")
	_, cl := newCloudflareCluster(t, cf, slowRetries)
	ctx := context.Background()
	if _, err := cfclient(t, cf).CreateDNSRecord(ctx, zoneRC(zoneID), cfCreate("taken.example.com", "203.0.113.2")); err != nil {
		t.Fatal(err)
	}

	zone := api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}
	// The bad records' sources registered first, as in the report.
	for _, f := range []struct{ source, spec string }{
		{"bad", `{"records":[{"name":"bad.example.com","type":"A","content":"10.0.0.1","proxied":true}]}`},
		{"clash", `{"records":[{"name":"taken.example.com","type":"A","content":"198.51.100.9"}]}`},
		{"good", `{"records":[{"name":"good.example.com","type":"A","content":"198.51.100.10"},
			{"name":"good.example.com","type":"TXT","content":"hello"}]}`},
	} {
		if _, err := cl.PutFragment(ctx, api.Fragment{Target: zone, Source: api.SourceRef{Kind: "API", Name: f.source},
			Generation: 1, Spec: json.RawMessage(f.spec)}); err != nil {
			t.Fatal(err)
		}
	}

	var tg api.Target
	ok := waitUntil(20*time.Second, func() bool {
		tg = getTarget(t, cl, zone)
		return tg.Status != nil && tg.Status.SyncedHash == tg.Hash
	})
	if !ok {
		t.Fatalf("the zone did not sync: %+v", tg.Status)
	}
	if tg.Status.Error != "" {
		t.Fatalf("the zone failed for every source: %s", tg.Status.Error)
	}
	have := map[string]bool{}
	for _, r := range cf.emu.DNSRecords(zoneID) {
		have[r.Name+" "+r.Type+" "+r.Content] = true
	}
	for _, want := range []string{"good.example.com A 198.51.100.10", "good.example.com TXT hello", "taken.example.com A 203.0.113.2"} {
		if !have[want] {
			t.Errorf("%s is not in the zone: %v", want, have)
		}
	}
	if have["bad.example.com A 10.0.0.1"] || have["taken.example.com A 198.51.100.9"] {
		t.Errorf("a refused record was written: %v", have)
	}
	refused := map[string]api.RefusedPart{}
	for _, r := range tg.Status.Refused {
		refused[r.Key] = r
	}
	if r := refused["bad.example.com A"]; r.Reason != api.RefusedByDownstream || r.Code != 9003 || !strings.Contains(r.Message, "not allowed for a proxied record") {
		t.Errorf("bad.example.com reported as %+v", r)
	}
	if r := refused["taken.example.com A"]; r.Reason != api.RefusedConflict || !strings.Contains(r.Message, "not managed by conflux-sync") {
		t.Errorf("taken.example.com reported as %+v", r)
	}
	if len(refused) != 2 {
		t.Errorf("refused %+v, want the two bad records", tg.Status.Refused)
	}
}

// Item 11: a tunnel name another target of this cluster holds is reported
// naming that target (not "set adopt"), and the waiting target syncs by
// itself, without a forced sync and well before its minute of backoff,
// once the owner is deleted.
func TestCloudflareTunnelClashNamesOwnerAndResumes(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, slowRetries)
	ctx := context.Background()
	spec := json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"shared"}`, cfAccount))
	owner := api.TargetRef{Kind: cfapi.KindTunnel, Name: "ClusterTunnel/a"}
	ownerSrc := api.SourceRef{Kind: "ClusterTunnel", Name: "a"}
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: owner, Source: ownerSrc, Generation: 1, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	var first string
	if !waitUntil(20*time.Second, func() bool {
		tg := getTarget(t, cl, owner)
		first = cf.tunnelID("shared")
		return first != "" && tg.Status != nil && tg.Status.DownstreamIDs[cfapi.IDTunnel] == first
	}) {
		t.Fatal("the owner's tunnel was not created")
	}

	waiting := api.TargetRef{Kind: cfapi.KindTunnel, Name: "Tunnel/default/b"}
	if _, err := cl.PutFragment(ctx, api.Fragment{Target: waiting, Source: api.SourceRef{Kind: "Tunnel", Namespace: "default", Name: "b"},
		Generation: 1, Spec: spec}); err != nil {
		t.Fatal(err)
	}
	var st *api.SyncStatus
	if !waitUntil(20*time.Second, func() bool {
		st = getTarget(t, cl, waiting).Status
		return st != nil && st.Error != ""
	}) {
		t.Fatalf("the clash was not reported: %+v", st)
	}
	for _, want := range []string{"target " + owner.String(), "from " + ownerSrc.String()} {
		if !strings.Contains(st.Error, want) {
			t.Errorf("error %q does not name the owner (%q)", st.Error, want)
		}
	}
	if strings.Contains(st.Error, "set adopt") || st.DependsOn == nil || *st.DependsOn != owner {
		t.Errorf("status %+v: want no advice to adopt, and the owner as what it waits for", st)
	}

	start := time.Now()
	if _, err := cl.DeleteFragment(ctx, owner, ownerSrc); err != nil {
		t.Fatal(err)
	}
	var second string
	if !waitUntil(30*time.Second, func() bool {
		st = getTarget(t, cl, waiting).Status
		second = cf.tunnelID("shared")
		return st != nil && st.Error == "" && second != "" && second != first && st.DownstreamIDs[cfapi.IDTunnel] == second
	}) {
		t.Fatalf("the waiting target did not take the name over after the owner went: %+v (tunnel %q)", st, second)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %v", d)
	} else {
		t.Logf("the waiting target took the name over %v after the owner was deleted", d)
	}
}

// Item 12: a rule reported as a Conflict is never written. Two sources
// whose rules differ only in how they spell "any path" ("^/" and none)
// conflict like an exact duplicate. And one tunnel has one configuration:
// a losing rule must not reach the tunnel through a second target that
// names the same tunnel by id; that second target is refused, naming the
// first. No PUT ever carries a losing rule.
func TestCloudflareConflictLoserIsNeverWritten(t *testing.T) {
	cf := newCloudflare(t, nil)
	_, cl := newCloudflareCluster(t, cf, nil)
	ctx := context.Background()
	putTunnel(t, cl)
	winner := api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "first"}
	loser := api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "second"}
	spelled := api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "third"}
	rule := func(service string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"app.example.com","service":%q}]}`, service))
	}
	for _, f := range []api.Fragment{
		{Target: edgeConfigTarget(), Source: winner, Generation: 1, Spec: rule("http://winner.default.svc:80")},
		{Target: edgeConfigTarget(), Source: loser, Generation: 1, Spec: rule("http://loser.default.svc:80")},
		{Target: edgeConfigTarget(), Source: spelled, Generation: 1,
			Spec: json.RawMessage(`{"rules":[{"hostname":"App.example.com","path":"^/","service":"http://loser-spelled.default.svc:80"}]}`)},
	} {
		if _, err := cl.PutFragment(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	waitConverged(t, cf, cl, 20*time.Second)
	tg := getTarget(t, cl, edgeConfigTarget())
	if len(tg.Conflicts) != 2 || tg.Conflicts[0].Loser != loser || tg.Conflicts[1].Loser != spelled {
		t.Fatalf("conflicts %+v: want the second and third Ingress to lose", tg.Conflicts)
	}

	// A second tunnel target naming the same tunnel by id, fed the losing
	// rule (as a second class or a migrated Tunnel object would).
	id := cf.tunnelID("edge")
	other := api.TargetRef{Kind: cfapi.KindTunnel, Name: "Tunnel/default/other"}
	otherSrc := api.SourceRef{Kind: "Tunnel", Namespace: "default", Name: "other"}
	otherCfg := api.TargetRef{Kind: cfapi.KindTunnelConfiguration, Name: other.Name}
	for _, f := range []api.Fragment{
		{Target: other, Source: otherSrc, Generation: 1, Spec: json.RawMessage(fmt.Sprintf(`{"accountId":%q,"name":"edge","id":%q}`, cfAccount, id))},
		{Target: otherCfg, Source: loser, Generation: 1, Spec: rule("http://loser.default.svc:80")},
	} {
		if _, err := cl.PutFragment(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	var st, cfgSt *api.SyncStatus
	if !waitUntil(20*time.Second, func() bool {
		st, cfgSt = getTarget(t, cl, other).Status, getTarget(t, cl, otherCfg).Status
		return st != nil && cfgSt != nil
	}) {
		t.Fatalf("the second tunnel target was not flushed: %+v %+v", st, cfgSt)
	}
	if st.Error == "" || !strings.Contains(st.Error, "target "+edgeTunnel.String()) {
		t.Errorf("the second target took the tunnel: %+v", st)
	}
	if cfgSt.SyncedHash != "" || cfgSt.DependsOn == nil {
		t.Errorf("the second configuration was written (or failed) instead of waiting: %+v", cfgSt)
	}
	for i, put := range cf.configPuts() {
		if bytes.Contains(put, []byte("loser.default.svc")) || bytes.Contains(put, []byte("loser-spelled.default.svc")) {
			t.Fatalf("PUT %d carries the rule reported as a Conflict: %s", i, put)
		}
	}
	if rules := ruleHosts(t, waitConverged(t, cf, cl, 10*time.Second)); !rules["app.example.com"] {
		t.Fatalf("the winner's rule is gone: %v", rules)
	}
}

// Item 13: a new tunnel, its configuration and its DNS records, put at
// once, converge in one pass: the configuration and the CNAME wait for
// the tunnel (recorded without an error) and are flushed as soon as the
// tunnel is, not after a backoff (a minute here).
func TestCloudflareNewTunnelConvergesWithoutFailures(t *testing.T) {
	cf := newCloudflare(t, nil)
	zoneID := cf.emu.AddZone(cfAccount, "example.com")
	c, cl := newCloudflareCluster(t, cf, slowRetries)
	ctx := context.Background()
	zone := api.TargetRef{Kind: cfapi.KindDNSRecord, Name: "example.com"}
	src := api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}
	start := time.Now()
	putTunnel(t, cl)
	for _, f := range []api.Fragment{
		{Target: edgeConfigTarget(), Source: src, Generation: 1, Spec: json.RawMessage(`{"rules":[{"hostname":"app.example.com","service":"http://web.default.svc:80"}]}`)},
		{Target: zone, Source: src, Generation: 1, Spec: json.RawMessage(`{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}]}`)},
	} {
		if _, err := cl.PutFragment(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	ok := waitUntil(30*time.Second, func() bool {
		id := cf.tunnelID("edge")
		cname := false
		for _, r := range cf.emu.DNSRecords(zoneID) {
			cname = cname || (r.Name == "app.example.com" && r.Content == id+".cfargotunnel.com")
		}
		remote, found := cf.tunnelConfig("edge")
		return id != "" && cname && found && bytes.Contains(remote, []byte("app.example.com"))
	})
	if !ok {
		t.Fatalf("did not converge: config %+v, zone %+v", getTarget(t, cl, edgeConfigTarget()).Status, getTarget(t, cl, zone).Status)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("converged after %v", d)
	} else {
		t.Logf("tunnel, configuration and CNAME converged %v after the fragments were put", d)
	}
	// No attempt failed on the way (a failure is recorded, and becomes a
	// Warning Event on the objects): every node's count of failed flushes
	// is zero, and the waits are counted as such.
	waits := 0
	for i := range c.nodes {
		for _, line := range strings.Split(scrape(t, c.nodes[i].URL()), "\n") {
			if !strings.HasPrefix(line, "conflux_sync_flushes_total{") {
				continue
			}
			n := 0
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n)
			switch {
			case n > 0 && (strings.Contains(line, `result="error"`) || strings.Contains(line, `result="permanent"`)):
				t.Errorf("node %d: %s", i, line)
			case strings.Contains(line, `result="waiting"`):
				waits += n
			}
		}
	}
	t.Logf("%d flushes waited for the tunnel", waits)
}
