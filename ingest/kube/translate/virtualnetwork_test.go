package translate

import (
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// clusterVnet is a cloudflare-operator VirtualNetwork (cluster-scoped).
func clusterVnet(name string, spec v1alpha2.VirtualNetworkSpec) *v1alpha2.VirtualNetwork {
	return &v1alpha2.VirtualNetwork{ObjectMeta: meta("", name, 1), Spec: spec}
}

func TestVirtualNetworkHappy(t *testing.T) {
	const cfCreds = `"credentials":{"namespace":"conflux","name":"cf","key":"CLOUDFLARE_API_TOKEN"}`
	runRecCases(t, []recCase{
		{
			// mirrors StringKe config/samples/networking_v1alpha2_virtualnetwork.yaml
			name: "config sample: name, comment, not default, Secret in conflux-sync's namespace; the zone is not used", source: "VirtualNetwork", obj: "production-vnet",
			run: func(f *fake) Result {
				return VirtualNetwork(clusterVnet("production-vnet", v1alpha2.VirtualNetworkSpec{
					Name: "production-network", Comment: "Production environment virtual network",
					Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, Domain: "example.com", Secret: "cf"},
				}), f, opts)
			},
			want: `cloudflare.VirtualNetwork VirtualNetwork/production-vnet 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"production-network","comment":"Production environment virtual network","adopt":true,` + cfCreds + `}
`,
		},
		{
			// mirrors StringKe docs/en/api-reference/virtualnetwork.md (default-vnet)
			name: "the default network; no spec.name: the object's name; credentialsRef and its account", source: "VirtualNetwork", obj: "default-vnet",
			run: func(f *fake) Result {
				return VirtualNetwork(clusterVnet("default-vnet", v1alpha2.VirtualNetworkSpec{
					IsDefaultNetwork: true, Cloudflare: v1alpha2.CloudflareDetails{CredentialsRef: &v1alpha2.CredentialsRef{Name: "production"}},
				}), f, opts)
			},
			want: `cloudflare.VirtualNetwork VirtualNetwork/default-vnet 1 {"accountId":"1234567890abcdef","name":"default-vnet","isDefaultNetwork":true,"adopt":true,` + cfCreds + `}
`,
		},
		{
			name: "the network cloudflare-operator created (status.virtualNetworkId) is taken over", source: "VirtualNetwork", obj: "tenant-a-vnet",
			run: func(f *fake) Result {
				v := clusterVnet("tenant-a-vnet", v1alpha2.VirtualNetworkSpec{Name: " tenant-a ", Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf"}})
				v.Status.VirtualNetworkID = strings.ToUpper(vnetProd)
				return VirtualNetwork(v, f, opts)
			},
			want: `cloudflare.VirtualNetwork VirtualNetwork/tenant-a-vnet 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"tenant-a","adopt":true,"takeOver":"` + vnetProd + `",` + cfCreds + `}
`,
		},
		{
			name: "a status id that is not a UUID is not taken over", source: "VirtualNetwork", obj: "v",
			run: func(f *fake) Result {
				v := clusterVnet("v", v1alpha2.VirtualNetworkSpec{Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf"}})
				v.Status.VirtualNetworkID = "not-a-uuid"
				return VirtualNetwork(v, f, opts)
			},
			want: `cloudflare.VirtualNetwork VirtualNetwork/v 1 {"accountId":"0123456789abcdef0123456789abcdef","name":"v","adopt":true,` + cfCreds + `}
`,
		},
	})
}

func TestVirtualNetworkProblems(t *testing.T) {
	vnet := func(spec v1alpha2.VirtualNetworkSpec, o Options) func(f *fake) Result {
		return func(f *fake) Result { return VirtualNetwork(clusterVnet("v", spec), f, o) }
	}
	withSecret := v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf"}
	runRecProblems(t, []recProblem{
		{name: "comment longer than the API keeps", run: vnet(v1alpha2.VirtualNetworkSpec{Comment: strings.Repeat("c", 101), Cloudflare: withSecret}, opts),
			field: "spec.comment", reason: "is 101 characters; the Cloudflare API keeps at most 100 on a virtual network"},
		{name: "no credentials", run: vnet(v1alpha2.VirtualNetworkSpec{}, opts),
			field: "spec.cloudflare.secret", reason: "is required: the Secret holding the Cloudflare API token (or credentialsRef, or a CloudflareCredentials with isDefault: true)"},
		{name: "a Secret without account", run: vnet(v1alpha2.VirtualNetworkSpec{Cloudflare: v1alpha2.CloudflareDetails{Secret: "cf"}}, opts),
			field: "spec.cloudflare.accountId", reason: "is required with the API token of spec.cloudflare.secret"},
		{name: "account by name", run: vnet(v1alpha2.VirtualNetworkSpec{Cloudflare: v1alpha2.CloudflareDetails{Secret: "cf", AccountName: "Acme"}}, opts), unsupported: true,
			field: "spec.cloudflare.accountId", reason: `is required: conflux-sync does not look accounts up by name (accountName "Acme"); set the account id`},
		{name: "Secret without conflux-sync's namespace", run: vnet(v1alpha2.VirtualNetworkSpec{Cloudflare: withSecret}, Options{}),
			field: "spec.cloudflare.secret", reason: "cannot be found: conflux-sync has no namespace configured for the Secrets of cluster-scoped objects"},
		{name: "Secret missing", run: vnet(v1alpha2.VirtualNetworkSpec{Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "nope"}}, opts),
			field: "spec.cloudflare.secret", reason: "Secret conflux/nope not found"},
		{name: "global API key", run: vnet(v1alpha2.VirtualNetworkSpec{Cloudflare: v1alpha2.CloudflareDetails{AccountID: acct1, Secret: "cf", CLOUDFLARE_API_KEY: "key"}}, opts), unsupported: true,
			field: "spec.cloudflare.CLOUDFLARE_API_KEY", reason: "global API keys are not supported, only API tokens..."},
	})
}
