package translate

import "testing"

func TestUnsupported(t *testing.T) {
	for kind, want := range map[string]string{
		"AccessTunnel": "an AccessTunnel runs the cloudflared access client in the cluster; it configures no Cloudflare object, and conflux-sync runs no workloads: keep cloudflare-operator's Deployment of it or run `cloudflared access tcp` yourself",
		SourceKind(GroupCfargotunnel, "AccessTunnel"): "an AccessTunnel runs the cloudflared access client in the cluster...",
		"PrivateService": "conflux-sync does not sync private services yet...",
	} {
		r := Unsupported(kind)
		if !r.Managed || len(r.Fragments) > 0 || len(r.Problems) != 1 {
			t.Errorf("%s: got %+v", kind, r)
			continue
		}
		p := r.Problems[0]
		if p.Field != "spec" || !p.Unsupported || !reasonMatches(p.Reason, want) {
			t.Errorf("%s: got %s (unsupported %v), want %s", kind, p, p.Unsupported, want)
		}
	}
}
