package translate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// The API groups of the cloudflare-operators' CRDs. conflux-sync's own CRDs
// serve both (deploy/crds/operators), for clusters that have neither.
const (
	// GroupCloudflareOperator is StringKe/cloudflare-operator's group (and
	// the group the Go types in apis/networking/v1alpha2 are registered
	// in).
	GroupCloudflareOperator = "networking.cloudflare-operator.io"
	// GroupCfargotunnel is adyanth/cloudflare-operator's group.
	GroupCfargotunnel = "networking.cfargotunnel.com"
)

// Group is GroupCloudflareOperator; class parameters name it.
const Group = GroupCloudflareOperator

// Controller names of conflux-sync's own IngressClass and GatewayClass.
const (
	IngressController = "conflux-sync.io/ingress-controller"
	GatewayController = "conflux-sync.io/gateway-controller"
)

// Controller names of the projects whose classes conflux-sync also serves.
const (
	CloudflareOperatorIngressController = "cloudflare-operator.io/ingress-controller"
	CloudflareOperatorGatewayController = "cloudflare-operator.io/gateway-controller"
	STRRLIngressController              = "strrl.dev/cloudflare-tunnel-ingress-controller"
)

// Source kinds of the kinds of GroupCloudflareOperator, as they appear in
// fragments' source.kind. The kinds of GroupCfargotunnel are qualified
// with their group: see SourceKind.
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

// SourceKind is the fragment source kind of an object of kind in group: the
// bare kind for Ingress, HTTPRoute and GroupCloudflareOperator (what
// fragments always said), "<kind>.<group>" for GroupCfargotunnel, so a
// Tunnel of each group is a source of its own.
func SourceKind(group, kind string) string {
	if group == GroupCfargotunnel {
		return kind + "." + group
	}
	return kind
}

// SplitSourceKind is the inverse of SourceKind.
func SplitSourceKind(sourceKind string) (group, kind string) {
	if k, g, ok := strings.Cut(sourceKind, "."); ok {
		return g, k
	}
	return GroupCloudflareOperator, sourceKind
}

// Dialect is how an IngressClass's or GatewayClass's Ingresses and routes
// are translated: the way the controller that class belongs to does it, so
// that conflux-sync taking a class over changes nothing in Cloudflare.
type Dialect string

// The dialects.
const (
	// DialectConflux is conflux-sync's own: Kubernetes path semantics
	// (anchored regular expressions), the cloudflare.com/ annotations.
	DialectConflux Dialect = "conflux-sync"
	// DialectCloudflareOperator is StringKe/cloudflare-operator's:
	// TunnelIngressClassConfig / TunnelGatewayClassConfig parameters, its
	// protocol detection and path conversion, the cloudflare.com/
	// annotations.
	DialectCloudflareOperator Dialect = "cloudflare-operator"
	// DialectSTRRL is STRRL/cloudflare-tunnel-ingress-controller's: no
	// class parameters (the tunnel is Options.DefaultTunnel), paths as
	// written, services with the cluster domain, its
	// cloudflare-tunnel-ingress-controller.strrl.dev/ annotations.
	DialectSTRRL Dialect = "strrl"
)

// Dialects lists the dialects, for flag help and validation.
var Dialects = []Dialect{DialectConflux, DialectCloudflareOperator, DialectSTRRL}

// DefaultIngressControllers are the IngressClass controller names served
// when none are configured, with their dialects.
func DefaultIngressControllers() map[string]Dialect {
	return map[string]Dialect{
		IngressController:                   DialectConflux,
		CloudflareOperatorIngressController: DialectCloudflareOperator,
		STRRLIngressController:              DialectSTRRL,
	}
}

// DefaultGatewayControllers are the GatewayClass controller names served
// when none are configured, with their dialects.
func DefaultGatewayControllers() map[string]Dialect {
	return map[string]Dialect{
		GatewayController:                   DialectConflux,
		CloudflareOperatorGatewayController: DialectCloudflareOperator,
	}
}

// KnownDialect returns the dialect of a known controller name.
func KnownDialect(controller string) (Dialect, bool) {
	if d, ok := DefaultIngressControllers()[controller]; ok {
		return d, true
	}
	d, ok := DefaultGatewayControllers()[controller]
	return d, ok
}

// ObjectRef names a Tunnel or ClusterTunnel of a group.
type ObjectRef struct {
	Group, Kind, Namespace, Name string
}

func (r ObjectRef) String() string {
	k := SourceKind(r.Group, r.Kind)
	if r.Namespace == "" {
		return k + " " + r.Name
	}
	return k + " " + r.Namespace + "/" + r.Name
}

// ParseTunnelRef parses "ClusterTunnel/<name>", "Tunnel/<namespace>/<name>"
// (either kind may be qualified with its group, e.g.
// "ClusterTunnel.networking.cfargotunnel.com/edge").
func ParseTunnelRef(s string) (ObjectRef, error) {
	parts := strings.Split(s, "/")
	group, kind := SplitSourceKind(parts[0])
	switch {
	case kind == v1alpha2.KindClusterTunnel && len(parts) == 2 && parts[1] != "":
		return ObjectRef{Group: group, Kind: kind, Name: parts[1]}, nil
	case kind == v1alpha2.KindTunnel && len(parts) == 3 && parts[1] != "" && parts[2] != "":
		return ObjectRef{Group: group, Kind: kind, Namespace: parts[1], Name: parts[2]}, nil
	}
	return ObjectRef{}, fmt.Errorf("%q is not ClusterTunnel/<name> or Tunnel/<namespace>/<name>", s)
}

// TunnelObject is a Tunnel or ClusterTunnel of either group, decoded.
type TunnelObject struct {
	Meta   metav1.ObjectMeta
	Spec   v1alpha2.TunnelSpec
	Status v1alpha2.TunnelStatus
}

// CloudflareDomain is what conflux-sync reads of a cloudflare-operator
// CloudflareDomain: a zone, the credentials for it, and whether it is the
// default zone.
type CloudflareDomain struct {
	Name string
	// Domain is the zone name, lower-case; ZoneID is the status's zone id.
	Domain, ZoneID string
	IsDefault      bool
	// CredentialsRef names a CloudflareCredentials; "" for none.
	CredentialsRef string
}

// Lookup reads the informers' caches. A missing object is (nil, false).
type Lookup interface {
	Service(namespace, name string) (*corev1.Service, bool)
	// SecretKeys returns the keys (not the values) of a Secret.
	SecretKeys(namespace, name string) ([]string, bool)
	// Tunnel returns the Tunnel or ClusterTunnel ref names (Namespace ""
	// for a ClusterTunnel).
	Tunnel(ref ObjectRef) (*TunnelObject, bool)
	// CloudflareCredentials returns the CloudflareCredentials of that name;
	// CloudflareCredentialsList returns all of them.
	CloudflareCredentials(name string) (*v1alpha2.CloudflareCredentials, bool)
	CloudflareCredentialsList() []*v1alpha2.CloudflareCredentials
	// CloudflareDomains returns every CloudflareDomain.
	CloudflareDomains() []CloudflareDomain
	// ClassConfig returns the spec of a TunnelIngressClassConfig or
	// TunnelGatewayClassConfig (kind).
	ClassConfig(kind, namespace, name string) (*v1alpha2.ClassConfigSpec, bool)
	// StatusField returns a string field of the status of an object of
	// GroupCloudflareOperator (e.g. an AccessPolicy's "policyId");
	// false when the object is missing, "" when the field is.
	StatusField(kind, namespace, name, field string) (string, bool)
	IngressClass(name string) (*networkingv1.IngressClass, bool)
	// IngressClasses lists every IngressClass (to find the default one).
	IngressClasses() []*networkingv1.IngressClass
	Ingress(namespace, name string) (*networkingv1.Ingress, bool)
	Gateway(namespace, name string) (*gatewayv1.Gateway, bool)
	GatewayClass(name string) (*gatewayv1.GatewayClass, bool)
	HTTPRoute(namespace, name string) (*gatewayv1.HTTPRoute, bool)
	Node(name string) (*corev1.Node, bool)
	// GeneratedRecordIDs returns, by record name, the status.recordId of
	// the DNSRecords cloudflare-operator generated for an Ingress or a
	// Gateway (ownerKind) it managed: the evidence to take those records
	// over.
	GeneratedRecordIDs(ownerKind, namespace, name string) map[string]string
}

// Options are the settings translation needs besides the object.
type Options struct {
	// Namespace is conflux-sync's own namespace: the Secrets of
	// cluster-scoped objects (ClusterTunnel, NetworkRoute) live there, and
	// it is the default namespace of CloudflareCredentials' secretRef and
	// of TunnelIngressClassConfig / TunnelGatewayClassConfig parameters.
	Namespace string
	// IngressControllers and GatewayControllers are the class controller
	// names served, with their dialects; nil means the defaults
	// (DefaultIngressControllers, DefaultGatewayControllers).
	IngressControllers map[string]Dialect
	GatewayControllers map[string]Dialect
	// DefaultTunnel serves the classes whose controller passes no
	// parameters (STRRL's); nil: such classes' objects get a condition
	// saying it is needed.
	DefaultTunnel *ObjectRef
	// ClusterDomain is the cluster's DNS domain, which the STRRL dialect
	// puts in service URLs; default "cluster.local".
	ClusterDomain string
}

func (o Options) ingressDialect(controller string) (Dialect, bool) {
	m := o.IngressControllers
	if m == nil {
		m = DefaultIngressControllers()
	}
	d, ok := m[controller]
	return d, ok
}

func (o Options) gatewayDialect(controller string) (Dialect, bool) {
	m := o.GatewayControllers
	if m == nil {
		m = DefaultGatewayControllers()
	}
	d, ok := m[controller]
	return d, ok
}

func (o Options) clusterDomain() string {
	if o.ClusterDomain == "" {
		return "cluster.local"
	}
	return o.ClusterDomain
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
	// Problems, when not empty, mean the object is not pushed: Fragments is
	// empty and the problems are shown in its status and events. Its last
	// valid fragments stay in force.
	Problems []Problem
	// Keep, with no Problems, means the object's last fragments stay as
	// they are and Waiting says why (a DNSRecord whose source object is
	// gone under sourceDeletionPolicy Orphan, or has no address yet).
	Keep bool
	// Waiting, when not empty, says what the object waits for (its status
	// shows it as Reconciling, not failed).
	Waiting string
	// Degraded are fields of a valid object that are not applied because
	// they configure something conflux-sync does not run (cloudflared's
	// Deployment) or are ignored as the controller conflux-sync stands in
	// for ignored them; they are shown in a Degraded condition and an
	// Event, and the object is synced without them.
	Degraded []Problem
	// Tunnel is the cloudflare.Tunnel target the object's rules use (or
	// that a Tunnel object is), e.g. "ClusterTunnel/edge"; empty if none.
	Tunnel string
	// Hostnames are the public hostnames the object serves, sorted.
	Hostnames []string
	// Status holds kind-specific status fields in the cloudflare-operators'
	// shape that translation knows (a TunnelBinding's services, a
	// DNSRecord's resolved content), by status field name.
	Status map[string]any
	// Dialect is the dialect an Ingress or HTTPRoute was translated in
	// (its status is written the way that controller writes it).
	Dialect Dialect
}

// Problem is one reason an object cannot be pushed (or, in
// Result.Degraded, one field that is not applied).
type Problem struct {
	// Field is the object's field at fault, e.g.
	// "spec.rules[0].http.paths[1].backend.service.port".
	Field  string
	Reason string
	// Unsupported marks a valid field conflux-sync does not sync (yet),
	// as opposed to an invalid one.
	Unsupported bool
	// Applied marks a Degraded field that is applied, but written in a
	// way that is not recommended (a secret inline in the object).
	Applied bool
	// RouteReason, when set, is the Gateway API reason of a route's
	// Accepted=False this problem causes (e.g. NotAllowedByListeners).
	RouteReason string
}

func (p Problem) String() string { return p.Field + ": " + p.Reason }

// Source returns the fragment source of an object of kind in namespace.
func Source(kind, namespace, name string) api.SourceRef {
	return api.SourceRef{Kind: kind, Namespace: namespace, Name: name}
}

// TunnelTarget names the cloudflare.Tunnel (and TunnelConfiguration)
// target of a Tunnel ("<source kind>/<namespace>/<name>") or a
// ClusterTunnel ("<source kind>/<name>"); sourceKind is SourceKind's.
func TunnelTarget(sourceKind, namespace, name string) string {
	if _, kind := SplitSourceKind(sourceKind); kind == v1alpha2.KindClusterTunnel {
		return sourceKind + "/" + name
	}
	return sourceKind + "/" + namespace + "/" + name
}
