package kube

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// Names (objKey kinds) of the core and Gateway API kinds the controller
// watches; the CRD kinds are named by translate.SourceKind.
const (
	kindIngress      = translate.SourceIngress
	kindHTTPRoute    = translate.SourceHTTPRoute
	kindService      = "Service"
	kindSecret       = "Secret"
	kindNode         = "Node"
	kindIngressClass = "IngressClass"
	kindGateway      = "Gateway"
	kindGatewayClass = "GatewayClass"
)

// Finalizers of the controllers whose Ingresses and Gateways conflux-sync
// takes over (released like crdKind.finalizers).
var (
	ingressFinalizers = []string{"strrl.dev/cloudflare-tunnel-ingress-controller-controlled", "ingress.cloudflare-operator.io/finalizer"}
	gatewayFinalizers = []string{"gateway.cloudflare-operator.io/finalizer"}
)

// Labels cloudflare-operator puts on the DNSRecords it generates for the
// hostnames of its Ingresses and Gateways.
var generatedRecordLabels = map[string]string{
	"cloudflare.com/managed-by":         "cloudflare-operator-ingress",
	"cloudflare-operator.io/managed-by": "gateway-controller",
}

// generatedBy returns the kind ("Ingress" or "Gateway") and name of the
// object that cloudflare-operator generated a DNSRecord for, or false. Such
// records are the operator's bookkeeping for its Ingress and Gateway DNS:
// conflux-sync writes those records from the Ingress or route itself, so
// the DNSRecord object is not a source of its own.
func generatedBy(obj client.Object) (kind, name string, ok bool) {
	labeled := false
	for k, v := range generatedRecordLabels {
		if obj.GetLabels()[k] == v {
			labeled = true
		}
	}
	if !labeled {
		return "", "", false
	}
	for _, o := range obj.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller && (o.Kind == kindIngress || o.Kind == kindGateway) {
			return o.Kind, o.Name, true
		}
	}
	return "", "", false
}

// newObject returns an empty object of a watched kind to read into: typed
// for the core and Gateway API kinds, unstructured (with the served
// version) for the CRD kinds.
func (t *term) newObject(kind string) client.Object {
	switch kind {
	case kindIngress:
		return &networkingv1.Ingress{}
	case kindHTTPRoute:
		return &gatewayv1.HTTPRoute{}
	case kindService:
		return &corev1.Service{}
	case kindSecret:
		return &corev1.Secret{}
	case kindNode:
		return &corev1.Node{}
	case kindIngressClass:
		return &networkingv1.IngressClass{}
	case kindGateway:
		return &gatewayv1.Gateway{}
	case kindGatewayClass:
		return &gatewayv1.GatewayClass{}
	}
	u := &unstructured.Unstructured{}
	if s, ok := t.served[kind]; ok {
		u.SetGroupVersionKind(s.gvk())
	}
	return u
}

// newList returns an empty list of a watched kind.
func (t *term) newList(kind string) client.ObjectList {
	switch kind {
	case kindIngress:
		return &networkingv1.IngressList{}
	case kindHTTPRoute:
		return &gatewayv1.HTTPRouteList{}
	case kindService:
		return &corev1.ServiceList{}
	case kindSecret:
		return &corev1.SecretList{}
	case kindNode:
		return &corev1.NodeList{}
	case kindIngressClass:
		return &networkingv1.IngressClassList{}
	case kindGateway:
		return &gatewayv1.GatewayList{}
	case kindGatewayClass:
		return &gatewayv1.GatewayClassList{}
	}
	l := &unstructured.UnstructuredList{}
	if s, ok := t.served[kind]; ok {
		gvk := s.gvk()
		l.SetGroupVersionKind(schema.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind + "List"})
	}
	return l
}

// namespaced reports whether objects of a watched kind have namespaces.
func (t *term) namespaced(kind string) bool {
	switch kind {
	case kindNode, kindIngressClass, kindGatewayClass:
		return false
	case kindIngress, kindHTTPRoute, kindService, kindSecret, kindGateway:
		return true
	}
	return t.served[kind].namespaced
}

// translateObject translates one object of a primary kind.
func (t *term) translateObject(ctx context.Context, key objKey, obj client.Object) translate.Result {
	l := lookup{ctx: ctx, t: t}
	o := t.options()
	switch obj := obj.(type) {
	case *networkingv1.Ingress:
		return translate.Ingress(obj, l, o)
	case *gatewayv1.HTTPRoute:
		return translate.HTTPRoute(obj, l, o)
	case *unstructured.Unstructured:
		return t.translateCRD(key, obj, l, o)
	}
	return translate.Result{}
}

// translateCRD decodes an object of a CRD kind and translates it; fields
// the Go types do not know make it Unsupported.
func (t *term) translateCRD(key objKey, u *unstructured.Unstructured, l lookup, o translate.Options) translate.Result {
	s, ok := t.served[key.Kind]
	if !ok {
		return translate.Result{}
	}
	if s.role == roleUnsupported {
		return translate.Unsupported(s.kind)
	}
	var (
		res     translate.Result
		unknown []translate.Problem
		err     error
	)
	switch s.kind {
	case "Tunnel", "ClusterTunnel":
		var tn v1alpha2.Tunnel
		if unknown, err = decode(u, &tn); err == nil {
			ref := translate.ObjectRef{Group: s.group, Kind: s.kind, Namespace: u.GetNamespace(), Name: u.GetName()}
			res = translate.Tunnel(ref, &translate.TunnelObject{Meta: tn.ObjectMeta, Spec: tn.Spec, Status: tn.Status}, l, o)
		}
	case "TunnelBinding":
		var tb v1alpha2.TunnelBinding
		if unknown, err = decode(u, &tb); err == nil {
			res = translate.TunnelBinding(s.group, &tb, l, o)
		}
	case "DNSRecord":
		if _, _, gen := generatedBy(u); gen {
			return translate.Result{}
		}
		var r v1alpha2.DNSRecord
		if unknown, err = decode(u, &r); err == nil {
			res = translate.DNSRecord(&r, l, o)
		}
	case "AccessApplication":
		var a v1alpha2.AccessApplication
		if unknown, err = decode(u, &a); err == nil {
			res = translate.AccessApplication(&a, l, o)
		}
	case "AccessPolicy":
		var p translate.AccessPolicyObject
		if unknown, err = decode(u, &p); err == nil {
			res = translate.AccessPolicy(&p, l, o)
		}
	case "NetworkRoute":
		var r v1alpha2.NetworkRoute
		if unknown, err = decode(u, &r); err == nil {
			res = translate.NetworkRoute(&r, l, o)
		}
	case "GatewayList":
		var gl v1alpha2.GatewayList
		if unknown, err = decode(u, &gl); err == nil {
			res = translate.GatewayList(&gl, l, o)
		}
	case "GatewayRule":
		var gr v1alpha2.GatewayRule
		if unknown, err = decode(u, &gr); err == nil {
			res = translate.GatewayRule(&gr, l, o)
		}
	case "VirtualNetwork":
		var v v1alpha2.VirtualNetwork
		if unknown, err = decode(u, &v); err == nil {
			res = translate.VirtualNetwork(&v, l, o)
		}
	case "AccessGroup":
		var g v1alpha2.AccessGroup
		if unknown, err = decode(u, &g); err == nil {
			res = translate.AccessGroup(&g, l, o)
		}
	case "AccessServiceToken":
		var tok v1alpha2.AccessServiceToken
		if unknown, err = decode(u, &tok); err == nil {
			res = translate.AccessServiceToken(&tok, l, o)
		}
	case "AccessIdentityProvider":
		var p v1alpha2.AccessIdentityProvider
		if unknown, err = decode(u, &p); err == nil {
			res = translate.AccessIdentityProvider(&p, l, o)
		}
	case "CloudflareCredentials":
		var c v1alpha2.CloudflareCredentials
		if unknown, err = decode(u, &c); err == nil {
			res = translate.CloudflareCredentialsStatus(&c, l, o)
		}
	case "CloudflareDomain":
		var d v1alpha2.CloudflareDomain
		if unknown, err = decode(u, &d); err == nil {
			res = translate.CloudflareDomainStatus(&d, l)
		}
	case "TunnelIngressClassConfig", "TunnelGatewayClassConfig":
		var c v1alpha2.TunnelIngressClassConfig
		if unknown, err = decode(u, &c); err == nil {
			res = translate.ClassConfigStatus(s.kind, u.GetNamespace(), u.GetName(), &c.Spec, l, o)
		}
	default:
		return translate.Result{}
	}
	if err != nil {
		// A field of the wrong type: the API server's schema was not
		// ours (an operator's CRD), and the object cannot be read.
		return translate.Result{Managed: true, Problems: []translate.Problem{{Field: "spec", Reason: err.Error()}}}
	}
	if len(unknown) > 0 {
		res.Problems = append(unknown, res.Problems...)
		res.Fragments = nil
		res.Managed = true
	}
	return res
}

// options are the translation settings of this controller.
func (t *term) options() translate.Options {
	c := t.c.cfg
	return translate.Options{
		Namespace:          c.Namespace,
		IngressControllers: c.IngressControllers,
		GatewayControllers: c.GatewayControllers,
		DefaultTunnel:      c.DefaultTunnel,
		ClusterDomain:      c.ClusterDomain,
	}
}

// tunnelObject maps a cloudflare.Tunnel target back to the Tunnel or
// ClusterTunnel (of either group) it was made from.
func tunnelObject(name string) (objKey, bool) {
	parts := strings.Split(name, "/")
	_, kind := translate.SplitSourceKind(parts[0])
	switch {
	case len(parts) == 3 && kind == v1alpha2.KindTunnel:
		return objKey{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, true
	case len(parts) == 2 && kind == v1alpha2.KindClusterTunnel:
		return objKey{Kind: parts[0], Name: parts[1]}, true
	}
	return objKey{}, false
}

// lookup is translate.Lookup over the term's informer cache.
type lookup struct {
	ctx context.Context
	t   *term
}

var _ translate.Lookup = lookup{}

func get[T client.Object](l lookup, kind string, obj T, ns, name string) (T, bool) {
	var zero T
	if !l.t.watched[kind] {
		return zero, false
	}
	if err := l.t.cache.Get(l.ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return zero, false
	}
	return obj, true
}

// crd reads an object of a CRD kind (objKey kind).
func (l lookup) crd(kind, ns, name string) (*unstructured.Unstructured, bool) {
	if _, ok := l.t.served[kind]; !ok {
		return nil, false
	}
	u, ok := get(l, kind, l.t.newObject(kind).(*unstructured.Unstructured), ns, name)
	return u, ok
}

// crdList lists the objects of a CRD kind.
func (l lookup) crdList(kind string) []unstructured.Unstructured {
	if !l.t.watched[kind] {
		return nil
	}
	list := l.t.newList(kind).(*unstructured.UnstructuredList)
	if err := l.t.cache.List(l.ctx, list); err != nil {
		return nil
	}
	return list.Items
}

func (l lookup) Service(ns, name string) (*corev1.Service, bool) {
	return get(l, kindService, &corev1.Service{}, ns, name)
}

func (l lookup) SecretKeys(ns, name string) ([]string, bool) {
	s, ok := get(l, kindSecret, &corev1.Secret{}, ns, name)
	if !ok {
		return nil, false
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	return keys, true
}

func (l lookup) Tunnel(ref translate.ObjectRef) (*translate.TunnelObject, bool) {
	u, ok := l.crd(translate.SourceKind(ref.Group, ref.Kind), ref.Namespace, ref.Name)
	if !ok {
		return nil, false
	}
	var tn v1alpha2.Tunnel
	if _, err := decode(u, &tn); err != nil {
		return nil, false
	}
	return &translate.TunnelObject{Meta: tn.ObjectMeta, Spec: tn.Spec, Status: tn.Status}, true
}

func (l lookup) CloudflareCredentials(name string) (*v1alpha2.CloudflareCredentials, bool) {
	u, ok := l.crd("CloudflareCredentials", "", name)
	if !ok {
		return nil, false
	}
	var c v1alpha2.CloudflareCredentials
	if _, err := decode(u, &c); err != nil {
		return nil, false
	}
	return &c, true
}

func (l lookup) CloudflareCredentialsList() []*v1alpha2.CloudflareCredentials {
	items := l.crdList("CloudflareCredentials")
	out := make([]*v1alpha2.CloudflareCredentials, 0, len(items))
	for i := range items {
		var c v1alpha2.CloudflareCredentials
		if _, err := decode(&items[i], &c); err == nil {
			out = append(out, &c)
		}
	}
	return out
}

func (l lookup) CloudflareDomains() []translate.CloudflareDomain {
	var out []translate.CloudflareDomain
	for _, u := range l.crdList("CloudflareDomain") {
		d := translate.CloudflareDomain{Name: u.GetName()}
		d.Domain, _, _ = unstructured.NestedString(u.Object, "spec", "domain")
		d.Domain = strings.TrimSuffix(strings.ToLower(d.Domain), ".")
		d.ZoneID, _, _ = unstructured.NestedString(u.Object, "status", "zoneId")
		if d.ZoneID == "" {
			d.ZoneID, _, _ = unstructured.NestedString(u.Object, "spec", "zoneId")
		}
		d.IsDefault, _, _ = unstructured.NestedBool(u.Object, "spec", "isDefault")
		d.CredentialsRef, _, _ = unstructured.NestedString(u.Object, "spec", "credentialsRef", "name")
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b translate.CloudflareDomain) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (l lookup) ClassConfig(kind, ns, name string) (*v1alpha2.ClassConfigSpec, bool) {
	u, ok := l.crd(kind, ns, name)
	if !ok {
		return nil, false
	}
	var c v1alpha2.TunnelIngressClassConfig
	if _, err := decode(u, &c); err != nil {
		return nil, false
	}
	return &c.Spec, true
}

func (l lookup) StatusField(kind, ns, name, field string) (string, bool) {
	u, ok := l.crd(kind, ns, name)
	if !ok {
		return "", false
	}
	v, _, _ := unstructured.NestedString(u.Object, "status", field)
	return v, true
}

func (l lookup) IngressClass(name string) (*networkingv1.IngressClass, bool) {
	return get(l, kindIngressClass, &networkingv1.IngressClass{}, "", name)
}

func (l lookup) IngressClasses() []*networkingv1.IngressClass {
	if !l.t.watched[kindIngressClass] {
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

func (l lookup) Ingress(ns, name string) (*networkingv1.Ingress, bool) {
	return get(l, kindIngress, &networkingv1.Ingress{}, ns, name)
}

func (l lookup) Gateway(ns, name string) (*gatewayv1.Gateway, bool) {
	return get(l, kindGateway, &gatewayv1.Gateway{}, ns, name)
}

func (l lookup) GatewayClass(name string) (*gatewayv1.GatewayClass, bool) {
	return get(l, kindGatewayClass, &gatewayv1.GatewayClass{}, "", name)
}

func (l lookup) HTTPRoute(ns, name string) (*gatewayv1.HTTPRoute, bool) {
	return get(l, kindHTTPRoute, &gatewayv1.HTTPRoute{}, ns, name)
}

func (l lookup) Node(name string) (*corev1.Node, bool) {
	return get(l, kindNode, &corev1.Node{}, "", name)
}

func (l lookup) GeneratedRecordIDs(ownerKind, ns, name string) map[string]string {
	out := map[string]string{}
	for _, u := range l.crdList(translate.SourceDNSRecord) {
		if u.GetNamespace() != ns {
			continue
		}
		kind, owner, ok := generatedBy(&u)
		if !ok || kind != ownerKind || owner != name {
			continue
		}
		host, _, _ := unstructured.NestedString(u.Object, "spec", "name")
		id, _, _ := unstructured.NestedString(u.Object, "status", "recordId")
		if host != "" && id != "" {
			out[strings.TrimSuffix(strings.ToLower(host), ".")] = id
		}
	}
	return out
}
