package translate

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// clusterRoute is a cloudflare-operator NetworkRoute (cluster-scoped).
func clusterRoute(name string, spec v1alpha2.NetworkRouteSpec) *v1alpha2.NetworkRoute {
	return &v1alpha2.NetworkRoute{ObjectMeta: meta("", name, 1), Spec: spec}
}

// productionCreds is what cloudflare-operator's NetworkRoute documentation
// samples set in spec.cloudflare.
func productionCreds() *v1alpha2.CloudflareDetails {
	return &v1alpha2.CloudflareDetails{AccountID: "1234567890abcdef", CredentialsRef: &v1alpha2.CredentialsRef{Name: "production"}}
}

func TestNetworkRouteHappy(t *testing.T) {
	const edgeCreds = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`
	runRecCases(t, []recCase{
		{
			name: "config sample: ClusterTunnel, VirtualNetwork by name (its target, not the id cloudflare-operator recorded), Secret in conflux-sync's namespace", source: SourceNetworkRoute, obj: "networkroute-sample",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("networkroute-sample", v1alpha2.NetworkRouteSpec{
					Network: "10.0.0.0/8", TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
					VirtualNetworkRef: &v1alpha2.ObjectRef{Name: "production-vnet"}, Comment: "Route for internal network",
					Cloudflare: &v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf"},
				}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/networkroute-sample 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"10.0.0.0/8","tunnel":"ClusterTunnel/edge","virtualNetwork":"VirtualNetwork/production-vnet","comment":"Route for internal network","takeOver":"[managed:NetworkRoute/networkroute-sample]",` + edgeCreds + `}
`,
			tunnel: "ClusterTunnel/edge",
			status: `{"network":"10.0.0.0/8","tunnelName":"edge"}`,
		},
		{
			name: "docs sample: Tunnel with namespace, credentialsRef", source: SourceNetworkRoute, obj: "tenant-a-route",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("tenant-a-route", v1alpha2.NetworkRouteSpec{
					Network: "172.16.0.0/12", Comment: "Tenant A private network",
					TunnelRef:         &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "tenant-a-tunnel", Namespace: "production"},
					VirtualNetworkRef: &v1alpha2.ObjectRef{CloudflareID: strings.ToUpper(vnetProd)},
					Cloudflare:        productionCreds(),
				}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/tenant-a-route 1 {"accountId":"1234567890abcdef","network":"172.16.0.0/12","tunnel":"Tunnel/production/tenant-a-tunnel","virtualNetworkId":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","comment":"Tenant A private network","takeOver":"[managed:NetworkRoute/tenant-a-route]",` + edgeCreds + `}
`,
			tunnel: "Tunnel/production/tenant-a-tunnel",
			status: `{"network":"172.16.0.0/12","virtualNetworkId":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"}`,
		},
		{
			name: "the tunnel's credentials and account; no kind is a ClusterTunnel; IPv6", source: SourceNetworkRoute, obj: "v6",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("v6", v1alpha2.NetworkRouteSpec{
					Network: "FD00:0:0:1::/64", TunnelRef: &v1alpha2.TunnelRef{Name: "edge"}, Cloudflare: &v1alpha2.CloudflareDetails{Domain: "example.com"},
				}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/v6 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"fd00:0:0:1::/64","tunnel":"ClusterTunnel/edge","takeOver":"[managed:NetworkRoute/v6]",` + edgeCreds + `}
`,
			tunnel: "ClusterTunnel/edge",
			status: `{"network":"fd00:0:0:1::/64","tunnelName":"edge"}`,
		},
		{
			name: "a Tunnel without namespace is in \"default\" (cloudflare-operator's default)", source: SourceNetworkRoute, obj: "office-network",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("office-network", v1alpha2.NetworkRouteSpec{
					Network: "192.168.1.0/24", Comment: "Office internal network", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "web-app-tunnel"},
				}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/office-network 1 {"accountId":"fedcba9876543210fedcba9876543210","network":"192.168.1.0/24","tunnel":"Tunnel/default/web-app-tunnel","comment":"Office internal network","takeOver":"[managed:NetworkRoute/office-network]","credentials":{"namespace":"default","name":"cloudflare-api-credentials","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "Tunnel/default/web-app-tunnel",
			status: `{"network":"192.168.1.0/24"}`,
		},
		{
			name: "namespaced (conflux-sync's older CRD): a Tunnel of another namespace, its credentials", source: SourceNetworkRoute, ns: "default", obj: "lan",
			run: func(f *fake) Result {
				return NetworkRoute(&v1alpha2.NetworkRoute{ObjectMeta: meta("default", "lan", 1), Spec: v1alpha2.NetworkRouteSpec{
					Network: "10.0.0.0/8", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1", Namespace: "infra"},
					VirtualNetworkID: "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", Comment: "office", Adopt: true,
				}}, f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/default/lan 1 {"accountId":"fedcba9876543210fedcba9876543210","network":"10.0.0.0/8","tunnel":"Tunnel/infra/t1","virtualNetworkId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","comment":"office","adopt":true,"takeOver":"[managed:NetworkRoute/default/lan]","credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "Tunnel/infra/t1",
			status: `{"network":"10.0.0.0/8","virtualNetworkId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`,
		},
		{
			name: "namespaced: a Tunnel of its own namespace", source: SourceNetworkRoute, ns: "infra", obj: "lan",
			run: func(f *fake) Result {
				return NetworkRoute(&v1alpha2.NetworkRoute{ObjectMeta: meta("infra", "lan", 1), Spec: v1alpha2.NetworkRouteSpec{
					Network: "10.0.0.0/8", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"},
				}}, f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/infra/lan 1 {"accountId":"fedcba9876543210fedcba9876543210","network":"10.0.0.0/8","tunnel":"Tunnel/infra/t1","takeOver":"[managed:NetworkRoute/infra/lan]","credentials":{"namespace":"infra","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "Tunnel/infra/t1",
			status: `{"network":"10.0.0.0/8"}`,
		},
		{
			name: "tunnel id, Secret of a namespaced route", source: SourceNetworkRoute, ns: "default", obj: "v6",
			run: func(f *fake) Result {
				return NetworkRoute(&v1alpha2.NetworkRoute{ObjectMeta: meta("default", "v6", 1), Spec: v1alpha2.NetworkRouteSpec{
					Network: "fd00::/64", TunnelID: "F174E90A-FAFE-4643-BBBC-4A0ED4FC8415",
					Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cf", AccountID: acct1},
				}}, f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/default/v6 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"fd00::/64","tunnelId":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","takeOver":"[managed:NetworkRoute/default/v6]","credentials":{"namespace":"default","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			status: `{"network":"fd00::/64"}`,
		},
		{
			name: "tunnel id, the default CloudflareCredentials and its account", source: SourceNetworkRoute, obj: "by-id",
			run: func(f *fake) Result {
				f.credentials["zones"].Spec.IsDefault = true
				return NetworkRoute(clusterRoute("by-id", v1alpha2.NetworkRouteSpec{Network: "10.1.0.0/16", TunnelID: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/by-id 1 {"accountId":"fedcba9876543210fedcba9876543210","network":"10.1.0.0/16","tunnelId":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","takeOver":"[managed:NetworkRoute/by-id]","credentials":{"namespace":"infra","name":"zones","key":"token"}}
`,
			status: `{"network":"10.1.0.0/16"}`,
		},
		{
			name: "a name too long for cloudflare-operator's marker to fit a comment: no takeover", source: SourceNetworkRoute, obj: strings.Repeat("r", 80),
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute(strings.Repeat("r", 80), v1alpha2.NetworkRouteSpec{Network: "10.1.0.0/16", TunnelRef: &v1alpha2.TunnelRef{Name: "edge"}}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/` + strings.Repeat("r", 80) + ` 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"10.1.0.0/16","tunnel":"ClusterTunnel/edge",` + edgeCreds + `}
`,
			tunnel: "ClusterTunnel/edge",
			status: `{"network":"10.1.0.0/16","tunnelName":"edge"}`,
		},
	})
}

func TestNetworkRouteProblems(t *testing.T) {
	route := func(spec v1alpha2.NetworkRouteSpec) func(f *fake) Result {
		return func(f *fake) Result {
			if spec.TunnelRef == nil && spec.TunnelID == "" {
				spec.TunnelRef = &v1alpha2.TunnelRef{Name: "edge"}
			}
			if spec.Network == "" {
				spec.Network = "10.0.0.0/8"
			}
			return NetworkRoute(clusterRoute("r", spec), f, opts)
		}
	}
	runRecProblems(t, []recProblem{
		{name: "host bits", run: route(v1alpha2.NetworkRouteSpec{Network: "10.1.2.3/8"}),
			field: "spec.network", reason: "10.1.2.3/8 has host bits set; the network is 10.0.0.0/8"},
		{name: "not a CIDR", run: route(v1alpha2.NetworkRouteSpec{Network: "10.0.0.0"}),
			field: "spec.network", reason: `"10.0.0.0" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8`},
		{name: "tunnel being deleted", run: func(f *fake) Result {
			now := metav1.Now()
			f.tunnels["Tunnel infra/t1"].Meta.DeletionTimestamp = &now
			return NetworkRoute(&v1alpha2.NetworkRoute{ObjectMeta: meta("infra", "lan", 1), Spec: v1alpha2.NetworkRouteSpec{
				Network: "10.0.0.0/8", TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"}}}, f, opts)
		}, field: "spec.tunnelRef", reason: "Tunnel infra/t1 is being deleted"},
		{name: "Tunnel looked up in default", run: route(v1alpha2.NetworkRouteSpec{TunnelRef: &v1alpha2.TunnelRef{Kind: "Tunnel", Name: "t1"}}),
			field: "spec.tunnelRef", reason: "Tunnel default/t1 not found"},
		{name: "tunnelRef and tunnelId", run: route(v1alpha2.NetworkRouteSpec{TunnelRef: &v1alpha2.TunnelRef{Name: "edge"}, TunnelID: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}),
			field: "spec.tunnelId", reason: "give either tunnelRef or tunnelId, not both"},
		{name: "tunnel id, no credentials", run: route(v1alpha2.NetworkRouteSpec{TunnelID: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"}),
			field: "spec.cloudflare.secret", reason: "is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true)"},
		{name: "tunnel id, a Secret but no account", run: route(v1alpha2.NetworkRouteSpec{TunnelID: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415", Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cf"}}),
			field: "spec.cloudflare.accountId", reason: "is required with the API token of spec.cloudflare.secret"},
		{name: "cluster-scoped Secret without conflux-sync's namespace", run: func(f *fake) Result {
			return NetworkRoute(clusterRoute("r", v1alpha2.NetworkRouteSpec{Network: "10.0.0.0/8", TunnelRef: &v1alpha2.TunnelRef{Name: "edge"},
				Cloudflare: &v1alpha2.CloudflareDetails{Secret: "cf"}}), f, Options{})
		}, field: "spec.cloudflare.secret", reason: "cannot be found: conflux-sync has no namespace configured for the Secrets of cluster-scoped objects"},
		{name: "virtualNetworkRef and virtualNetworkId", run: route(v1alpha2.NetworkRouteSpec{VirtualNetworkRef: &v1alpha2.ObjectRef{Name: "production-vnet"}, VirtualNetworkID: vnetProd}),
			field: "spec.virtualNetworkId", reason: "give either virtualNetworkRef or virtualNetworkId, not both"},
		{name: "virtual network by Cloudflare name", run: route(v1alpha2.NetworkRouteSpec{VirtualNetworkRef: &v1alpha2.ObjectRef{CloudflareName: "prod"}}), unsupported: true,
			field: "spec.virtualNetworkRef.cloudflareName", reason: "finding the virtual network by its Cloudflare name is not supported yet: give its id as cloudflareId, or name the VirtualNetwork object"},
		{name: "bad virtual network cloudflareId", run: route(v1alpha2.NetworkRouteSpec{VirtualNetworkRef: &v1alpha2.ObjectRef{CloudflareID: "prod"}}),
			field: "spec.virtualNetworkRef.cloudflareId", reason: `"prod" is not a virtual network id (a UUID)`},
	})
}

// A VirtualNetwork that has no id yet, or no object at all, is named as
// its target all the same: the route's target waits for it
// (status.dependsOn) instead of the object waiting in translation.
func TestNetworkRouteVirtualNetworkNotThereYet(t *testing.T) {
	const edgeCreds = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`
	runRecCases(t, []recCase{
		{
			name: "e2e sample: VirtualNetwork without id", source: SourceNetworkRoute, obj: "test-route",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("test-route", v1alpha2.NetworkRouteSpec{
					Network: "10.100.0.0/16", Comment: "E2E test network route - auto cleanup", TunnelRef: &v1alpha2.TunnelRef{Kind: "ClusterTunnel", Name: "edge"},
					VirtualNetworkRef: &v1alpha2.ObjectRef{Name: "test-vnet"}, Cloudflare: &v1alpha2.CloudflareDetails{AccountID: acct1, CredentialsRef: &v1alpha2.CredentialsRef{Name: "default"}},
				}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/test-route 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"10.100.0.0/16","tunnel":"ClusterTunnel/edge","virtualNetwork":"VirtualNetwork/test-vnet","comment":"E2E test network route - auto cleanup","takeOver":"[managed:NetworkRoute/test-route]","credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}}
`,
			tunnel: "ClusterTunnel/edge",
			status: `{"network":"10.100.0.0/16","tunnelName":"edge"}`,
		},
		{
			name: "VirtualNetwork missing", source: SourceNetworkRoute, obj: "r",
			run: func(f *fake) Result {
				return NetworkRoute(clusterRoute("r", v1alpha2.NetworkRouteSpec{Network: "10.100.0.0/16", TunnelRef: &v1alpha2.TunnelRef{Name: "edge"}, VirtualNetworkRef: &v1alpha2.ObjectRef{Name: "k8s-network"}}), f, opts)
			},
			want: `cloudflare.NetworkRoute NetworkRoute/r 1 {"accountId":"0123456789abcdef0123456789abcdef","network":"10.100.0.0/16","tunnel":"ClusterTunnel/edge","virtualNetwork":"VirtualNetwork/k8s-network","takeOver":"[managed:NetworkRoute/r]",` + edgeCreds + `}
`,
			tunnel: "ClusterTunnel/edge",
			status: `{"network":"10.100.0.0/16","tunnelName":"edge"}`,
		},
	})
}
