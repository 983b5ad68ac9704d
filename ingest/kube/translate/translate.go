package translate

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// Controller names conflux-sync answers to: an IngressClass whose
// spec.controller, or a GatewayClass whose spec.controllerName, is one of
// these selects the tunnel named by the class's parameters.
const (
	IngressController = "conflux-sync.io/ingress-controller"
	GatewayController = "conflux-sync.io/gateway-controller"
)

// Source kinds, as they appear in fragments' source.kind.
const (
	SourceIngress           = "Ingress"
	SourceHTTPRoute         = "HTTPRoute"
	SourceTunnel            = "Tunnel"
	SourceClusterTunnel     = "ClusterTunnel"
	SourceTunnelBinding     = "TunnelBinding"
	SourceDNSRecord         = "DNSRecord"
	SourceAccessApplication = "AccessApplication"
	SourceNetworkRoute      = "NetworkRoute"
)

// SourceKinds lists every source kind this package produces.
var SourceKinds = []string{
	SourceTunnel, SourceClusterTunnel, SourceTunnelBinding, SourceIngress,
	SourceHTTPRoute, SourceDNSRecord, SourceAccessApplication, SourceNetworkRoute,
}

// Lookup reads the informers' caches. A missing object is (nil, false).
type Lookup interface {
	Service(namespace, name string) (*corev1.Service, bool)
	// SecretKeys returns the keys (not the values) of a Secret.
	SecretKeys(namespace, name string) ([]string, bool)
	Tunnel(namespace, name string) (*v1alpha2.Tunnel, bool)
	ClusterTunnel(name string) (*v1alpha2.ClusterTunnel, bool)
	IngressClass(name string) (*networkingv1.IngressClass, bool)
	// IngressClasses lists every IngressClass (to find the default one).
	IngressClasses() []*networkingv1.IngressClass
	Gateway(namespace, name string) (*gatewayv1.Gateway, bool)
	GatewayClass(name string) (*gatewayv1.GatewayClass, bool)
}

// Options are the settings translation needs besides the object.
type Options struct {
	// Namespace is conflux-sync's own namespace: the Secrets of
	// cluster-scoped objects (ClusterTunnel) live there.
	Namespace string
}

// Result is what one object becomes.
type Result struct {
	// Managed is false when the object is not ours to handle (an Ingress of
	// another class, an HTTPRoute whose parents are all other controllers'
	// Gateways): no fragments and no status.
	Managed bool
	// Fragments are the object's complete fragment set, sorted by target key;
	// the object's metadata.generation is every fragment's generation.
	Fragments []api.SourceFragment
	// Problems, when not empty, mean the object is invalid: Fragments is
	// empty (nothing of it is pushed) and the problems are shown in its
	// status and events.
	Problems []Problem
	// Tunnel is the cloudflare.Tunnel target the object's rules use (or
	// that a Tunnel object is), e.g. "ClusterTunnel/edge"; empty if none.
	Tunnel string
	// Hostnames are the public hostnames the object serves, sorted.
	Hostnames []string
}

// Problem is one reason an object cannot be pushed.
type Problem struct {
	// Field is the object's field at fault, e.g.
	// "spec.rules[0].http.paths[1].backend.service.port".
	Field  string
	Reason string
}

func (p Problem) String() string { return p.Field + ": " + p.Reason }

// Source returns the fragment source of an object of kind in namespace.
func Source(kind, namespace, name string) api.SourceRef {
	return api.SourceRef{Kind: kind, Namespace: namespace, Name: name}
}

// TunnelTarget names the cloudflare.Tunnel (and TunnelConfiguration)
// target of a Tunnel ("Tunnel/<namespace>/<name>") or a ClusterTunnel
// ("ClusterTunnel/<name>").
func TunnelTarget(kind, namespace, name string) string {
	if kind == v1alpha2.KindClusterTunnel {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}
