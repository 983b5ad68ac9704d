package translate

import "testing"

func TestUnsupported(t *testing.T) {
	for kind, want := range map[string]string{
		"VirtualNetwork": "conflux-sync does not sync virtual networks yet (they are on its roadmap: cloudflare.VirtualNetwork targets); the objects cloudflare-operator made for them are left as they are in Cloudflare; the objects that refer to this one use the id in its status, which cloudflare-operator recorded",
		"AccessPolicy":   "conflux-sync does not sync Access policies yet (they are on its roadmap: cloudflare.AccessPolicy targets); the objects cloudflare-operator made for them are left as they are in Cloudflare; the objects that refer to this one use the id in its status, which cloudflare-operator recorded",
		"AccessTunnel":   "an AccessTunnel runs the cloudflared access client in the cluster; it configures no Cloudflare object, and conflux-sync runs no workloads: keep cloudflare-operator's Deployment of it or run `cloudflared access tcp` yourself",
		SourceKind(GroupCfargotunnel, "AccessTunnel"): "an AccessTunnel runs the cloudflared access client in the cluster...",
		"GatewayList":    "conflux-sync does not sync Zero Trust Gateway lists yet...",
		"GatewayRule":    "conflux-sync does not sync Zero Trust Gateway rules yet...",
		"AccessGroup":    "conflux-sync does not sync Access groups yet...",
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
