package kube

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// targets is a Reader over fixed targets (the judge's logic is pure over
// what it reads; the real store is exercised by the server's envtest suite).
type targets map[api.TargetRef]api.Target

func (ts targets) SourceFragments(context.Context, string) ([]api.Fragment, error) { return nil, nil }

func (ts targets) Target(_ context.Context, ref api.TargetRef) (api.Target, bool, error) {
	t, ok := ts[ref]
	return t, ok, nil
}

func TestJudge(t *testing.T) {
	cfgRef := api.TargetRef{Kind: api.KindTunnelConfiguration, Name: "ClusterTunnel/edge"}
	dnsRef := api.TargetRef{Kind: api.KindDNSRecord, Name: "example.com"}
	tunnelRef := api.TargetRef{Kind: api.KindTunnel, Name: "ClusterTunnel/edge"}
	me := translate.Source(translate.SourceIngress, "default", "web")
	other := translate.Source(translate.SourceIngress, "default", "other")
	res := translate.Result{
		Managed: true, Tunnel: "ClusterTunnel/edge",
		Fragments: []api.SourceFragment{
			{Target: dnsRef, Generation: 1, Spec: json.RawMessage(`{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge"}]}`)},
			{Target: cfgRef, Generation: 1, Spec: json.RawMessage(`{}`)},
		},
	}
	synced := func(rev uint64, hash string) *api.SyncStatus {
		return &api.SyncStatus{Revision: rev, SyncedHash: hash, Time: time.Now()}
	}
	tunnel := api.Target{Target: tunnelRef, Revision: 3, Hash: "t", Status: &api.SyncStatus{
		Revision: 3, SyncedHash: "t", DownstreamIDs: map[string]string{"tunnelId": "tid", "accountId": "acc", "created": "true"},
	}}
	base := func() targets {
		return targets{
			tunnelRef: tunnel,
			cfgRef:    {Target: cfgRef, Revision: 7, Hash: "c", Status: synced(7, "c")},
			dnsRef:    {Target: dnsRef, Revision: 8, Hash: "d", Status: synced(6, "d")},
		}
	}
	cases := []struct {
		name     string
		edit     func(targets)
		problems []translate.Problem
		deleting bool

		ready, stalled bool
		reason, msg    string
	}{
		{name: "synced; an unchanged output keeps an older recorded revision", ready: true, reason: ReasonSynced, msg: "synced to Cloudflare (2 targets)"},
		{name: "problems", problems: []translate.Problem{{Field: "spec.rules[0].host", Reason: "bad"}, {Field: "x", Reason: "y"}},
			stalled: true, reason: ReasonInvalidSpec, msg: "spec.rules[0].host: bad; x: y"},
		{name: "lost a hostname, reported before the DNS conflict that follows it", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Conflicts = []api.Conflict{{Key: "app.example.com", Winner: other, Loser: me}}
			ts[cfgRef] = c
			d := ts[dnsRef]
			d.Conflicts = []api.Conflict{{Key: "app.example.com CNAME", Winner: other, Loser: me}}
			ts[dnsRef] = d
		}, stalled: true, reason: ReasonConflict, msg: "hostname app.example.com is already served by Ingress default/other"},
		{name: "won a conflict", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Conflicts = []api.Conflict{{Key: "app.example.com", Winner: me, Loser: other}}
			ts[cfgRef] = c
		}, ready: true, reason: ReasonSynced, msg: "synced to Cloudflare (2 targets)"},
		{name: "not synced yet", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Hash = "c2"
			ts[cfgRef] = c
			delete(ts, dnsRef)
		}, reason: ReasonProgressing, msg: "waiting for the sync of cloudflare.TunnelConfiguration ClusterTunnel/edge, cloudflare.DNSRecord example.com"},
		{name: "retrying", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Status = &api.SyncStatus{Revision: 7, Error: "HTTP 503", Attempts: 2}
			ts[cfgRef] = c
		}, reason: ReasonSyncFailed, msg: "cloudflare.TunnelConfiguration ClusterTunnel/edge: HTTP 503 (attempt 2)"},
		{name: "failed for good", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Status = &api.SyncStatus{Revision: 7, Error: "HTTP 400", Attempts: 1, Permanent: true}
			ts[cfgRef] = c
		}, stalled: true, reason: ReasonSyncFailed, msg: "cloudflare.TunnelConfiguration ClusterTunnel/edge: HTTP 400 (attempt 1)"},
		{name: "an error of an older revision is history", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Status = &api.SyncStatus{Revision: 5, Error: "HTTP 503", SyncedHash: "c"}
			ts[cfgRef] = c
		}, ready: true, reason: ReasonSynced, msg: "synced to Cloudflare (2 targets)"},
		{name: "the configuration waits for its tunnel: a dependency, not a failure", edit: func(ts targets) {
			c := ts[cfgRef]
			c.Status = &api.SyncStatus{Revision: 7, AttemptedHash: "c", DependsOn: &tunnelRef,
				Waiting: []api.WaitingPart{{For: "tunnel ClusterTunnel/edge (not created yet)"}}}
			ts[cfgRef] = c
		}, reason: ReasonDependencyNotReady, msg: "cloudflare.TunnelConfiguration ClusterTunnel/edge waits for tunnel ClusterTunnel/edge (not created yet)"},
		{name: "a record of this object waits for its tunnel", edit: func(ts targets) {
			d := ts[dnsRef]
			d.Status.Waiting = []api.WaitingPart{{Key: "app.example.com CNAME", For: "tunnel ClusterTunnel/edge (not created yet)"}}
			ts[dnsRef] = d
		}, reason: ReasonDependencyNotReady, msg: "DNS record app.example.com CNAME waits for tunnel ClusterTunnel/edge (not created yet)"},
		{name: "a record of this object refused by Cloudflare", edit: func(ts targets) {
			d := ts[dnsRef]
			d.Status.Refused = []api.RefusedPart{{Key: "app.example.com CNAME", Reason: api.RefusedByDownstream, Code: 9003, Message: "nope (code 9003)"}}
			ts[dnsRef] = d
		}, stalled: true, reason: ReasonRefused, msg: "DNS record app.example.com CNAME not written: nope (code 9003)"},
		{name: "a record of this object clashes with one not ours", edit: func(ts targets) {
			d := ts[dnsRef]
			d.Status.Refused = []api.RefusedPart{{Key: "app.example.com CNAME", Reason: api.RefusedConflict, Message: "taken"}}
			ts[dnsRef] = d
		}, stalled: true, reason: ReasonConflict, msg: "DNS record app.example.com CNAME not written: taken"},
		{name: "another object's record refused: this one is synced", edit: func(ts targets) {
			d := ts[dnsRef]
			d.Status.Refused = []api.RefusedPart{{Key: "bad.example.com A", Reason: api.RefusedByDownstream, Code: 9003, Message: "nope"}}
			ts[dnsRef] = d
		}, ready: true, reason: ReasonSynced, msg: "synced to Cloudflare (2 targets)"},
		{name: "deleting", deleting: true, reason: ReasonDeleting, msg: "waiting for Cloudflare to delete the tunnel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := base()
			if tc.edit != nil {
				tc.edit(ts)
			}
			tm := &term{c: &Controller{cfg: Config{Reader: ts}}}
			obj := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 4}}
			if tc.deleting {
				obj.DeletionTimestamp = &metav1.Time{Time: time.Now()}
			}
			v, err := tm.judge(context.Background(), objKey{Kind: translate.SourceIngress, Namespace: "default", Name: "web"}, obj, res, tc.problems)
			if err != nil {
				t.Fatal(err)
			}
			if v.ready != tc.ready || v.stalled != tc.stalled || v.reason != tc.reason || v.message != tc.msg {
				t.Errorf("got ready=%v stalled=%v %s %q\nwant ready=%v stalled=%v %s %q", v.ready, v.stalled, v.reason, v.message, tc.ready, tc.stalled, tc.reason, tc.msg)
			}
			if v.ids["tunnelId"] != "tid" || v.ids["created"] != "" {
				t.Errorf("ids %v: want the tunnel's id and no bookkeeping keys", v.ids)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	past := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	existing := []metav1.Condition{
		{Type: v1alpha2.ConditionReady, Status: metav1.ConditionFalse, LastTransitionTime: past},
		{Type: v1alpha2.ConditionStalled, Status: metav1.ConditionFalse, LastTransitionTime: past},
	}
	cases := []struct {
		v                              verdict
		ready, reconciling, stalled    metav1.ConditionStatus
		readyMoved, stalledMoved       bool
		reconcilingMsg, stalledMessage string
	}{
		{v: verdict{ready: true, reason: ReasonSynced, message: "ok"}, ready: "True", reconciling: "False", stalled: "False", readyMoved: true},
		{v: verdict{reason: ReasonProgressing, message: "waiting"}, ready: "False", reconciling: "True", stalled: "False", reconcilingMsg: "waiting"},
		{v: verdict{stalled: true, reason: ReasonConflict, message: "taken"}, ready: "False", reconciling: "False", stalled: "True", stalledMoved: true, stalledMessage: "taken"},
	}
	for _, tc := range cases {
		t.Run(tc.v.reason, func(t *testing.T) {
			conds := tc.v.conditions(9, existing)
			byType := map[string]metav1.Condition{}
			for _, c := range conds {
				byType[c.Type] = c
				if c.ObservedGeneration != 9 || c.Reason != tc.v.reason {
					t.Errorf("%s: observedGeneration %d reason %s", c.Type, c.ObservedGeneration, c.Reason)
				}
			}
			r, rc, s := byType[v1alpha2.ConditionReady], byType[v1alpha2.ConditionReconciling], byType[v1alpha2.ConditionStalled]
			if r.Status != tc.ready || rc.Status != tc.reconciling || s.Status != tc.stalled {
				t.Errorf("statuses %s/%s/%s, want %s/%s/%s", r.Status, rc.Status, s.Status, tc.ready, tc.reconciling, tc.stalled)
			}
			if r.Message != tc.v.message || rc.Message != tc.reconcilingMsg || s.Message != tc.stalledMessage {
				t.Errorf("messages %q/%q/%q", r.Message, rc.Message, s.Message)
			}
			if moved := !r.LastTransitionTime.Equal(&past); moved != tc.readyMoved {
				t.Errorf("Ready lastTransitionTime moved=%v, want %v", moved, tc.readyMoved)
			}
			if moved := !s.LastTransitionTime.Equal(&past); moved != tc.stalledMoved {
				t.Errorf("Stalled lastTransitionTime moved=%v, want %v", moved, tc.stalledMoved)
			}
		})
	}
}

func TestFragmentsHashIgnoresOrder(t *testing.T) {
	a := api.SourceFragment{Target: api.TargetRef{Kind: "k", Name: "a"}, Generation: 1, Spec: json.RawMessage(`{"x":1}`)}
	b := api.SourceFragment{Target: api.TargetRef{Kind: "k", Name: "b"}, Generation: 1, Spec: json.RawMessage(`{"y":2}`)}
	if fragmentsHash([]api.SourceFragment{a, b}) != fragmentsHash([]api.SourceFragment{b, a}) {
		t.Error("the hash depends on the order")
	}
	b2 := b
	b2.Generation = 2
	for name, other := range map[string][]api.SourceFragment{"generation": {a, b2}, "fewer": {a}, "none": {}} {
		if fragmentsHash([]api.SourceFragment{a, b}) == fragmentsHash(other) {
			t.Errorf("%s: different sets hash the same", name)
		}
	}
}

func TestTunnelObject(t *testing.T) {
	cases := []struct {
		ref  string
		want objKey
		ok   bool
	}{
		{"Tunnel/infra/edge", objKey{Kind: "Tunnel", Namespace: "infra", Name: "edge"}, true},
		{"ClusterTunnel/edge", objKey{Kind: "ClusterTunnel", Name: "edge"}, true},
		{"ClusterTunnel.networking.cfargotunnel.com/edge", objKey{Kind: "ClusterTunnel.networking.cfargotunnel.com", Name: "edge"}, true},
		{"Tunnel.networking.cfargotunnel.com/infra/edge", objKey{Kind: "Tunnel.networking.cfargotunnel.com", Namespace: "infra", Name: "edge"}, true},
		{"API/edge", objKey{}, false},
		{"Tunnel/edge", objKey{}, false},
	}
	for _, tc := range cases {
		got, ok := tunnelObject(tc.ref)
		if got != tc.want || ok != tc.ok {
			t.Errorf("tunnelObject(%v) = %v, %v; want %v, %v", tc.ref, got, ok, tc.want, tc.ok)
		}
	}
}
