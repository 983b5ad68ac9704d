package kube

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// newObject returns an empty object of a source kind.
func newObject(kind string) client.Object {
	switch kind {
	case translate.SourceTunnel:
		return &v1alpha2.Tunnel{}
	case translate.SourceClusterTunnel:
		return &v1alpha2.ClusterTunnel{}
	case translate.SourceTunnelBinding:
		return &v1alpha2.TunnelBinding{}
	case translate.SourceIngress:
		return &networkingv1.Ingress{}
	case translate.SourceHTTPRoute:
		return &gatewayv1.HTTPRoute{}
	case translate.SourceDNSRecord:
		return &v1alpha2.DNSRecord{}
	case translate.SourceAccessApplication:
		return &v1alpha2.AccessApplication{}
	case translate.SourceNetworkRoute:
		return &v1alpha2.NetworkRoute{}
	}
	panic("kube: unknown source kind " + kind)
}

// newList returns an empty list of a source kind.
func newList(kind string) client.ObjectList {
	switch kind {
	case translate.SourceTunnel:
		return &v1alpha2.TunnelList{}
	case translate.SourceClusterTunnel:
		return &v1alpha2.ClusterTunnelList{}
	case translate.SourceTunnelBinding:
		return &v1alpha2.TunnelBindingList{}
	case translate.SourceIngress:
		return &networkingv1.IngressList{}
	case translate.SourceHTTPRoute:
		return &gatewayv1.HTTPRouteList{}
	case translate.SourceDNSRecord:
		return &v1alpha2.DNSRecordList{}
	case translate.SourceAccessApplication:
		return &v1alpha2.AccessApplicationList{}
	case translate.SourceNetworkRoute:
		return &v1alpha2.NetworkRouteList{}
	}
	panic("kube: unknown source kind " + kind)
}

// translateObject dispatches to the translate function of obj's kind.
func translateObject(obj client.Object, l translate.Lookup, o translate.Options) translate.Result {
	switch obj := obj.(type) {
	case *v1alpha2.Tunnel:
		return translate.Tunnel(obj, l, o)
	case *v1alpha2.ClusterTunnel:
		return translate.ClusterTunnel(obj, l, o)
	case *v1alpha2.TunnelBinding:
		return translate.TunnelBinding(obj, l, o)
	case *networkingv1.Ingress:
		return translate.Ingress(obj, l, o)
	case *gatewayv1.HTTPRoute:
		return translate.HTTPRoute(obj, l, o)
	case *v1alpha2.DNSRecord:
		return translate.DNSRecord(obj, l, o)
	case *v1alpha2.AccessApplication:
		return translate.AccessApplication(obj, l, o)
	case *v1alpha2.NetworkRoute:
		return translate.NetworkRoute(obj, l, o)
	}
	panic("kube: no translation for " + obj.GetObjectKind().GroupVersionKind().String())
}

// tunnelSpec returns the spec of a Tunnel or ClusterTunnel.
func tunnelSpec(obj client.Object) (*v1alpha2.TunnelSpec, bool) {
	switch obj := obj.(type) {
	case *v1alpha2.Tunnel:
		return &obj.Spec, true
	case *v1alpha2.ClusterTunnel:
		return &obj.Spec, true
	}
	return nil, false
}

// tunnelObject maps a cloudflare.Tunnel target back to the Tunnel or
// ClusterTunnel it was made from.
func tunnelObject(ref api.TargetRef) (objKey, bool) {
	if ref.Kind != translate.KindTunnel {
		return objKey{}, false
	}
	parts := strings.Split(ref.Name, "/")
	switch {
	case len(parts) == 3 && parts[0] == translate.SourceTunnel:
		return objKey{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, true
	case len(parts) == 2 && parts[0] == translate.SourceClusterTunnel:
		return objKey{Kind: parts[0], Name: parts[1]}, true
	}
	return objKey{}, false
}

// lookup is translate.Lookup over the term's informer cache.
type lookup struct {
	ctx context.Context
	t   *term
}

func get[T client.Object](l lookup, kind string, obj T, ns, name string) (T, bool) {
	var zero T
	if kind != "" && !l.t.watched[kind] {
		return zero, false
	}
	if err := l.t.cache.Get(l.ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return zero, false
	}
	return obj, true
}

func (l lookup) Service(ns, name string) (*corev1.Service, bool) {
	return get(l, "Service", &corev1.Service{}, ns, name)
}

func (l lookup) SecretKeys(ns, name string) ([]string, bool) {
	s, ok := get(l, "Secret", &corev1.Secret{}, ns, name)
	if !ok {
		return nil, false
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	return keys, true
}

func (l lookup) Tunnel(ns, name string) (*v1alpha2.Tunnel, bool) {
	return get(l, translate.SourceTunnel, &v1alpha2.Tunnel{}, ns, name)
}

func (l lookup) ClusterTunnel(name string) (*v1alpha2.ClusterTunnel, bool) {
	return get(l, translate.SourceClusterTunnel, &v1alpha2.ClusterTunnel{}, "", name)
}

func (l lookup) IngressClass(name string) (*networkingv1.IngressClass, bool) {
	return get(l, "IngressClass", &networkingv1.IngressClass{}, "", name)
}

func (l lookup) IngressClasses() []*networkingv1.IngressClass {
	if !l.t.watched["IngressClass"] {
		return nil
	}
	var list networkingv1.IngressClassList
	if err := l.t.cache.List(l.ctx, &list); err != nil {
		return nil
	}
	out := make([]*networkingv1.IngressClass, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}

func (l lookup) Gateway(ns, name string) (*gatewayv1.Gateway, bool) {
	return get(l, "Gateway", &gatewayv1.Gateway{}, ns, name)
}

func (l lookup) GatewayClass(name string) (*gatewayv1.GatewayClass, bool) {
	return get(l, "GatewayClass", &gatewayv1.GatewayClass{}, "", name)
}
