package translate

import (
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

func TestClassConfigStatus(t *testing.T) {
	cases := []struct {
		name, kind, ns string
		ref            v1alpha2.TunnelRef
		edit           func(f *fake)
		tunnel, status string
		field, reason  string
	}{
		{name: "ClusterTunnel with a status", kind: "TunnelIngressClassConfig", ns: "cloudflare-operator-system",
			ref: v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"}, tunnel: "ClusterTunnel/edge", status: `{"tunnelName":"edge"}`},
		{name: "Tunnel of the config's namespace, named in its spec", kind: "TunnelGatewayClassConfig", ns: "infra",
			ref: v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"}, tunnel: "Tunnel/infra/t1", status: `{"tunnelName":"legacy"}`},
		{name: "Tunnel of another namespace", kind: "TunnelGatewayClassConfig", ns: "default",
			ref: v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1", Namespace: "infra"}, tunnel: "Tunnel/infra/t1", status: `{"tunnelName":"legacy"}`},
		{name: "Tunnel not found", kind: "TunnelIngressClassConfig", ns: "default",
			ref: v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"}, field: "spec.tunnelRef", reason: "Tunnel default/t1 not found"},
		{name: "no kind", kind: "TunnelIngressClassConfig", ns: "default",
			ref: v1alpha2.TunnelRef{Name: "edge"}, field: "spec.tunnelRef", reason: `kind must be Tunnel or ClusterTunnel, not ""`},
		{name: "tunnel without credentials", kind: "TunnelIngressClassConfig", ns: "default",
			ref:   v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
			edit:  func(f *fake) { f.tunnels["ClusterTunnel edge"].Spec.Cloudflare.Secret = "" },
			field: "spec.tunnelRef", reason: "ClusterTunnel edge has no usable credentials (spec.cloudflare.secret: is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true))"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecordFake()
			if tc.edit != nil {
				tc.edit(f)
			}
			r := ClassConfigStatus(tc.kind, tc.ns, "cfg", &v1alpha2.ClassConfigSpec{TunnelRef: tc.ref}, f, opts)
			if !r.Managed || len(r.Fragments) > 0 {
				t.Fatalf("got %+v", r)
			}
			if r.Tunnel != tc.tunnel || statusJSON(r) != tc.status {
				t.Errorf("Tunnel %q, Status %s; want %q, %s", r.Tunnel, statusJSON(r), tc.tunnel, tc.status)
			}
			switch {
			case tc.field == "" && len(r.Problems) > 0:
				t.Errorf("problems:\n%s", problemsString(r.Problems))
			case tc.field != "" && (len(r.Problems) != 1 || r.Problems[0].Field != tc.field || r.Problems[0].Reason != tc.reason):
				t.Errorf("problems:\n%swant %s: %s", problemsString(r.Problems), tc.field, tc.reason)
			}
		})
	}
}
