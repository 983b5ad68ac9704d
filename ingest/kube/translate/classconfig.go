package translate

import (
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// ClassConfigStatus checks a TunnelIngressClassConfig or
// TunnelGatewayClassConfig (kind) in namespace ns, which is not a source of
// fragments (the Ingresses and routes of its classes are): its tunnelRef
// must name a Tunnel (in tunnelRef.namespace, else ns) or ClusterTunnel that
// resolves. Result.Tunnel is that tunnel, Status has its "tunnelName".
func ClassConfigStatus(kind, ns, name string, spec *v1alpha2.ClassConfigSpec, l Lookup, o Options) Result {
	var ps problems
	ref := ObjectRef{Group: GroupCloudflareOperator, Kind: spec.TunnelRef.Kind, Name: spec.TunnelRef.Name}
	if ref.Kind == v1alpha2.KindTunnel {
		ref.Namespace = ns
		if spec.TunnelRef.Namespace != "" {
			ref.Namespace = spec.TunnelRef.Namespace
		}
	}
	t := resolveTunnel(l, o, ref, "spec.tunnelRef", &ps)
	if t == nil {
		return Result{Managed: true, Problems: ps}
	}
	tunnelName := t.status.TunnelName
	if tunnelName == "" {
		if obj, ok := l.Tunnel(t.ref); ok && obj != nil {
			switch {
			case obj.Spec.NewTunnel != nil:
				tunnelName = obj.Spec.NewTunnel.Name
			case obj.Spec.ExistingTunnel != nil:
				tunnelName = obj.Spec.ExistingTunnel.Name
			}
		}
	}
	r := Result{Managed: true, Tunnel: t.target}
	if tunnelName != "" {
		r.Status = map[string]any{"tunnelName": tunnelName}
	}
	return r
}
