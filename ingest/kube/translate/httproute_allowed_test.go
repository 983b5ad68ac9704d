package translate

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestRouteAdmittedByListeners(t *testing.T) {
	from := func(f gatewayv1.FromNamespaces) *gatewayv1.AllowedRoutes {
		return &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &f}}
	}
	http := func(name string, ar *gatewayv1.AllowedRoutes) gatewayv1.Listener {
		return gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: 80, Protocol: gatewayv1.HTTPProtocolType, AllowedRoutes: ar}
	}
	tcp := gatewayv1.Listener{Name: "ssh", Port: 22, Protocol: gatewayv1.TCPProtocolType}
	cases := []struct {
		name      string
		listeners []gatewayv1.Listener
		section   string
		routeNS   string
		want      string
	}{
		{name: "same namespace by default", listeners: []gatewayv1.Listener{http("web", nil)}, routeNS: "infra"},
		{name: "another namespace by default", listeners: []gatewayv1.Listener{http("web", nil)}, routeNS: "team",
			want: "Gateway infra/gw does not admit this HTTPRoute of namespace team: listener web allows routes of namespace infra only (allowedRoutes.namespaces.from Same, the default)"},
		{name: "All", listeners: []gatewayv1.Listener{http("web", from(gatewayv1.NamespacesFromAll))}, routeNS: "team"},
		{name: "one listener of two admits it", listeners: []gatewayv1.Listener{http("a", nil), http("b", from(gatewayv1.NamespacesFromAll))}, routeNS: "team"},
		{name: "the named listener does not", listeners: []gatewayv1.Listener{http("a", nil), http("b", from(gatewayv1.NamespacesFromAll))}, section: "a", routeNS: "team",
			want: "Gateway infra/gw does not admit this HTTPRoute of namespace team: listener a allows routes of namespace infra only (allowedRoutes.namespaces.from Same, the default)"},
		{name: "a selector", listeners: []gatewayv1.Listener{http("web", from(gatewayv1.NamespacesFromSelector))}, routeNS: "infra",
			want: "Gateway infra/gw does not admit this HTTPRoute of namespace infra: listener web selects namespaces by label (from Selector), which conflux-sync does not read: use All or Same"},
		{name: "kinds without HTTPRoute", listeners: []gatewayv1.Listener{http("web", &gatewayv1.AllowedRoutes{Kinds: []gatewayv1.RouteGroupKind{{Kind: "GRPCRoute"}}})}, routeNS: "infra",
			want: "Gateway infra/gw does not admit this HTTPRoute of namespace infra: listener web allows no HTTPRoutes (allowedRoutes.kinds)"},
		{name: "a TCP listener", listeners: []gatewayv1.Listener{tcp}, section: "ssh", routeNS: "infra",
			want: "Gateway infra/gw does not admit this HTTPRoute of namespace infra: listener ssh is TCP"},
		{name: "no such listener", listeners: []gatewayv1.Listener{http("web", nil)}, section: "websecure", routeNS: "infra",
			want: "Gateway infra/gw has no listener websecure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := routeParent{gw: &gatewayv1.Gateway{ObjectMeta: meta("infra", "gw", 1), Spec: gatewayv1.GatewaySpec{Listeners: tc.listeners}}}
			if tc.section != "" {
				p.ref.SectionName = ptr(gatewayv1.SectionName(tc.section))
			}
			if got := notAllowed(p, tc.routeNS); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
