package translate

import (
	"strings"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// maxVirtualNetworkComment is the longest comment the API keeps on a
// virtual network (cloudflare-operator's CRD allows 500 characters, which
// the API refuses).
const maxVirtualNetworkComment = 100

// VirtualNetworkTarget names the cloudflare.VirtualNetwork target of
// cloudflare-operator's cluster-scoped VirtualNetwork: "VirtualNetwork/<name>".
// A NetworkRoute's virtualNetworkRef.name names this target.
func VirtualNetworkTarget(name string) string { return "VirtualNetwork/" + name }

// VirtualNetwork translates a VirtualNetwork as cloudflare-operator syncs
// it: the network spec.name (default the object's name) with its comment
// and default flag, in the account and with the credentials of
// spec.cloudflare (a Secret of Options.Namespace: the object is
// cluster-scoped). The network cloudflare-operator created
// (status.virtualNetworkId) is taken over; like the operator, an existing
// network of that name is adopted rather than clashed with, but an adopted
// one is left in place when the object goes. The zone fields of
// spec.cloudflare (domain, zoneId) are not used: a virtual network belongs
// to the account, and the operator ignored them too.
func VirtualNetwork(v *v1alpha2.VirtualNetwork, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&v.ObjectMeta)}
	s := &v.Spec
	spec := api.VirtualNetworkSpec{
		Name:             strings.TrimSpace(s.Name),
		Comment:          s.Comment,
		IsDefaultNetwork: s.IsDefaultNetwork,
		Adopt:            true,
	}
	if spec.Name == "" {
		spec.Name = v.Name
	}
	if n := utf8.RuneCountInString(spec.Comment); n > maxVirtualNetworkComment {
		ps.add("spec.comment", "is %d characters; the Cloudflare API keeps at most %d on a virtual network", n, maxVirtualNetworkComment)
	}
	if id := strings.ToLower(strings.TrimSpace(v.Status.VirtualNetworkID)); uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindVirtualNetwork, VirtualNetworkTarget(v.Name), spec)
	return b.result(ps)
}
