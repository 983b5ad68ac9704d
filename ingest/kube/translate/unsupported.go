package translate

import "fmt"

// unsupportedKinds are the kinds of GroupCloudflareOperator conflux-sync
// reads but does not sync yet, with what their objects are, in the plural.
var unsupportedKinds = map[string]string{
	"PrivateService": "private services",
}

// Unsupported is the Result of an object of a kind conflux-sync reads but
// does not sync (kind is a source kind: "AccessTunnel" or
// "AccessTunnel.networking.cfargotunnel.com" for adyanth's): no fragments,
// one Unsupported problem on "spec" saying so.
func Unsupported(kind string) Result {
	_, k := SplitSourceKind(kind)
	var reason string
	switch plural, ok := unsupportedKinds[k]; {
	case k == "AccessTunnel":
		reason = "an AccessTunnel runs the cloudflared access client in the cluster; it configures no Cloudflare object, and conflux-sync runs no workloads: keep cloudflare-operator's Deployment of it or run `cloudflared access tcp` yourself"
	case ok:
		reason = fmt.Sprintf("conflux-sync does not sync %s yet (they are on its roadmap: cloudflare.%s targets); the objects cloudflare-operator made for them are left as they are in Cloudflare", plural, k)
	default:
		reason = fmt.Sprintf("conflux-sync does not sync %s objects", kind)
	}
	return Result{Managed: true, Problems: []Problem{{Field: "spec", Reason: reason, Unsupported: true}}}
}
