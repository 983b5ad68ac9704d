package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// role says what conflux-sync does with the objects of a CRD kind.
type role int

const (
	// roleSource: each object is a source of fragments, with a status.
	roleSource role = iota
	// roleInput: objects other kinds read (credentials, class parameters),
	// with a status saying whether they are usable.
	roleInput
	// roleUnsupported: a Cloudflare object conflux-sync does not sync yet;
	// the status says so. Other kinds may read its status (ids
	// cloudflare-operator recorded).
	roleUnsupported
	// roleL4Route: a Gateway API route without hostnames (TCPRoute,
	// UDPRoute), which cloudflared cannot serve; routes attached to a
	// served Gateway are told so in their status.parents.
	roleL4Route
)

// crdKind is a CRD kind of the cloudflare-operators that conflux-sync
// knows.
type crdKind struct {
	group, kind string
	role        role
	// states are cloudflare-operator's status.state spellings for this
	// kind: ready, waiting, failed, deleting ("" = not written).
	states states
	// finalizers are the operators' finalizers on these objects. Once
	// conflux-sync has done its part of a deletion it removes them too:
	// with conflux-sync in its place the operator no longer runs, and its
	// finalizers would hold the objects (and, through garbage collection,
	// their owners' deletions) forever.
	finalizers []string
}

// states are a kind's status.state words.
type states struct{ ready, waiting, failed, deleting string }

var (
	lowerStates  = states{ready: "active", waiting: "pending", failed: "error", deleting: "deleting"}
	tunnelStates = states{ready: "active", waiting: "creating", failed: "error", deleting: "deleting"}
	dnsStates    = states{ready: "Active", waiting: "Pending", failed: "Error", deleting: "Deleting"}
	titleStates  = states{ready: "Ready", waiting: "Pending", failed: "Error", deleting: "Deleting"}
	domainStates = states{ready: "Ready", waiting: "Verifying", failed: "Error", deleting: "Error"}
)

// The operators' finalizers.
const (
	finalizerCfargotunnel       = "cfargotunnel.com/finalizer"
	finalizerCloudflareOperator = "cloudflare-operator.io/finalizer"
)

// crdKinds are every CRD kind conflux-sync reads, in both groups.
var crdKinds = []crdKind{
	{group: translate.GroupCloudflareOperator, kind: "Tunnel", role: roleSource, states: tunnelStates, finalizers: []string{finalizerCloudflareOperator}},
	{group: translate.GroupCloudflareOperator, kind: "ClusterTunnel", role: roleSource, states: tunnelStates, finalizers: []string{finalizerCloudflareOperator}},
	{group: translate.GroupCloudflareOperator, kind: "TunnelBinding", role: roleSource, states: lowerStates, finalizers: []string{finalizerCloudflareOperator}},
	{group: translate.GroupCloudflareOperator, kind: "DNSRecord", role: roleSource, states: dnsStates, finalizers: []string{"dnsrecord.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "AccessApplication", role: roleSource, states: lowerStates, finalizers: []string{"cloudflare.com/accessapplication-finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "NetworkRoute", role: roleSource, states: lowerStates, finalizers: []string{"networkroute.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "CloudflareCredentials", role: roleInput, states: titleStates, finalizers: []string{"cloudflare.com/credentials-finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "TunnelIngressClassConfig", role: roleInput, states: lowerStates},
	{group: translate.GroupCloudflareOperator, kind: "TunnelGatewayClassConfig", role: roleInput, states: lowerStates},
	{group: translate.GroupCloudflareOperator, kind: "CloudflareDomain", role: roleInput, states: domainStates, finalizers: []string{"cloudflare.com/domain-finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "AccessTunnel", role: roleUnsupported},
	{group: translate.GroupCloudflareOperator, kind: "VirtualNetwork", role: roleSource, states: lowerStates, finalizers: []string{"virtualnetwork.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "PrivateService", role: roleUnsupported, states: lowerStates},
	{group: translate.GroupCloudflareOperator, kind: "AccessGroup", role: roleSource, states: titleStates, finalizers: []string{"accessgroup.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "AccessPolicy", role: roleSource, states: titleStates, finalizers: []string{"accesspolicy.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "AccessServiceToken", role: roleSource, states: titleStates, finalizers: []string{"accessservicetoken.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "AccessIdentityProvider", role: roleSource, states: titleStates, finalizers: []string{"accessidentityprovider.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "GatewayRule", role: roleSource, states: titleStates, finalizers: []string{"gatewayrule.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCloudflareOperator, kind: "GatewayList", role: roleSource, states: titleStates, finalizers: []string{"gatewaylist.networking.cloudflare-operator.io/finalizer"}},
	{group: translate.GroupCfargotunnel, kind: "Tunnel", role: roleSource, finalizers: []string{finalizerCfargotunnel}},
	{group: translate.GroupCfargotunnel, kind: "ClusterTunnel", role: roleSource, finalizers: []string{finalizerCfargotunnel}},
	{group: translate.GroupCfargotunnel, kind: "TunnelBinding", role: roleSource, finalizers: []string{finalizerCfargotunnel}},
	{group: translate.GroupCfargotunnel, kind: "AccessTunnel", role: roleUnsupported},
	{group: gatewayGroup, kind: "TCPRoute", role: roleL4Route},
	{group: gatewayGroup, kind: "UDPRoute", role: roleL4Route},
}

// gatewayGroup is the Gateway API's group.
const gatewayGroup = "gateway.networking.k8s.io"

// name is the kind's objKey kind: translate.SourceKind.
func (k crdKind) name() string { return translate.SourceKind(k.group, k.kind) }

// crdKindByName finds a known CRD kind by its objKey kind.
func crdKindByName(name string) (crdKind, bool) {
	for _, k := range crdKinds {
		if k.name() == name {
			return k, true
		}
	}
	return crdKind{}, false
}

// served is a known CRD kind as this cluster serves it.
type served struct {
	crdKind
	// version is the version watched: the storage version (reading it
	// never needs a conversion webhook, which may be gone with the
	// operator), else the highest-priority served one.
	version    string
	namespaced bool
	status     statusSchema
}

func (s served) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: s.group, Version: s.version, Kind: s.kind}
}

// statusSchema is what a CRD version's schema allows in status.
type statusSchema struct {
	// fields are the top-level status properties; nil when the schema
	// keeps unknown fields (anything goes).
	fields map[string]bool
	// required are status fields the schema requires.
	required []string
}

func (s statusSchema) has(field string) bool { return s.fields == nil || s.fields[field] }

// discover reads the installed CRDs of the operators' groups and returns
// the known kinds the cluster serves, by objKey kind. Kinds in ignore
// (objKey kinds) are left out.
func discover(ctx context.Context, c client.Reader, ignore []string) (map[string]served, error) {
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list CustomResourceDefinitions (conflux-sync needs get, list and watch on them, deploy/rbac): %w", err)
	}
	out := map[string]served{}
	for i := range list.Items {
		crd := &list.Items[i]
		for _, k := range crdKinds {
			if crd.Spec.Group != k.group || crd.Spec.Names.Kind != k.kind || slices.Contains(ignore, k.name()) {
				continue
			}
			if !established(crd) {
				continue
			}
			v, ok := watchVersion(crd)
			if !ok {
				continue
			}
			out[k.name()] = served{
				crdKind:    k,
				version:    v.Name,
				namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
				status:     statusOf(v),
			}
		}
	}
	return out, nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// watchVersion is the storage version if it is served, else the served
// version Kubernetes ranks highest.
func watchVersion(crd *apiextensionsv1.CustomResourceDefinition) (apiextensionsv1.CustomResourceDefinitionVersion, bool) {
	var vs []apiextensionsv1.CustomResourceDefinitionVersion
	for _, v := range crd.Spec.Versions {
		if v.Served && v.Storage {
			return v, true
		}
		if v.Served {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return apiextensionsv1.CustomResourceDefinitionVersion{}, false
	}
	sort.Slice(vs, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(vs[i].Name, vs[j].Name) > 0 })
	return vs[0], true
}

func statusOf(v apiextensionsv1.CustomResourceDefinitionVersion) statusSchema {
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return statusSchema{}
	}
	st, ok := v.Schema.OpenAPIV3Schema.Properties["status"]
	if !ok {
		return statusSchema{fields: map[string]bool{}}
	}
	if st.XPreserveUnknownFields != nil && *st.XPreserveUnknownFields {
		return statusSchema{}
	}
	out := statusSchema{fields: map[string]bool{}, required: slices.Clone(st.Required)}
	for name := range st.Properties {
		out.fields[name] = true
	}
	return out
}

// describe lists served kinds for the log: "Tunnel (v1alpha2), ...".
func describe(m map[string]served) string {
	names := make([]string, 0, len(m))
	for name, s := range m {
		names = append(names, name+" ("+s.version+")")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
