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

// sourceKind is how the controller makes and translates the objects of one
// source kind.
type sourceKind struct {
	object    func() client.Object
	list      func() client.ObjectList
	translate func(client.Object, translate.Lookup, translate.Options) translate.Result
}

// kindOf builds a sourceKind from a typed translate function.
func kindOf[T client.Object, L client.ObjectList](fn func(T, translate.Lookup, translate.Options) translate.Result, object func() T, list func() L) sourceKind {
	return sourceKind{
		object: func() client.Object { return object() },
		list:   func() client.ObjectList { return list() },
		translate: func(o client.Object, l translate.Lookup, opts translate.Options) translate.Result {
			return fn(o.(T), l, opts)
		},
	}
}

var sourceKinds = map[string]sourceKind{
	translate.SourceTunnel: kindOf(translate.Tunnel,
		func() *v1alpha2.Tunnel { return &v1alpha2.Tunnel{} }, func() *v1alpha2.TunnelList { return &v1alpha2.TunnelList{} }),
	translate.SourceClusterTunnel: kindOf(translate.ClusterTunnel,
		func() *v1alpha2.ClusterTunnel { return &v1alpha2.ClusterTunnel{} }, func() *v1alpha2.ClusterTunnelList { return &v1alpha2.ClusterTunnelList{} }),
	translate.SourceTunnelBinding: kindOf(translate.TunnelBinding,
		func() *v1alpha2.TunnelBinding { return &v1alpha2.TunnelBinding{} }, func() *v1alpha2.TunnelBindingList { return &v1alpha2.TunnelBindingList{} }),
	translate.SourceIngress: kindOf(translate.Ingress,
		func() *networkingv1.Ingress { return &networkingv1.Ingress{} }, func() *networkingv1.IngressList { return &networkingv1.IngressList{} }),
	translate.SourceHTTPRoute: kindOf(translate.HTTPRoute,
		func() *gatewayv1.HTTPRoute { return &gatewayv1.HTTPRoute{} }, func() *gatewayv1.HTTPRouteList { return &gatewayv1.HTTPRouteList{} }),
	translate.SourceDNSRecord: kindOf(translate.DNSRecord,
		func() *v1alpha2.DNSRecord { return &v1alpha2.DNSRecord{} }, func() *v1alpha2.DNSRecordList { return &v1alpha2.DNSRecordList{} }),
	translate.SourceAccessApplication: kindOf(translate.AccessApplication,
		func() *v1alpha2.AccessApplication { return &v1alpha2.AccessApplication{} }, func() *v1alpha2.AccessApplicationList { return &v1alpha2.AccessApplicationList{} }),
	translate.SourceNetworkRoute: kindOf(translate.NetworkRoute,
		func() *v1alpha2.NetworkRoute { return &v1alpha2.NetworkRoute{} }, func() *v1alpha2.NetworkRouteList { return &v1alpha2.NetworkRouteList{} }),
}

// newObject returns an empty object of a source kind.
func newObject(kind string) client.Object { return sourceKinds[kind].object() }

// newList returns an empty list of a source kind.
func newList(kind string) client.ObjectList { return sourceKinds[kind].list() }

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
	if ref.Kind != api.KindTunnel {
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
