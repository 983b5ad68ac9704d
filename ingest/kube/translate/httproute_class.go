package translate

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayClassTunnel resolves the tunnel a GatewayClass's parameters name,
// in its controller's dialect (as HTTPRoute does for its parents): the
// tunnel's cloudflare.Tunnel target, or "" and the problems (on
// spec.parametersRef) for the class's Accepted condition.
func GatewayClassTunnel(gc *gatewayv1.GatewayClass, l Lookup, o Options) (string, []Problem) {
	const field = "spec.parametersRef"
	var ps problems
	var t *tunnelInfo
	switch d, ok := o.gatewayDialect(string(gc.Spec.ControllerName)); {
	case !ok:
		ps.add("spec.controllerName", "%s is not a controller conflux-sync serves", gc.Spec.ControllerName)
	case d == DialectConflux:
		t = gatewayClassTunnel(gc, l, o, field, &ps)
	case d == DialectCloudflareOperator:
		if cfg := gatewayClassConfig(gc, l, field, &ps); cfg != nil {
			t = cfg.tunnel(l, o, field, "GatewayClass "+gc.Name+": ", &ps)
		}
	default:
		ps.add(field, "GatewayClass %s's controller %s is configured with the dialect %q, which has no Gateway API translation (%s and %s have)", gc.Name, gc.Spec.ControllerName, d, DialectConflux, DialectCloudflareOperator)
	}
	if t == nil || len(ps) > 0 {
		return "", ps
	}
	return t.target, nil
}
