package v1alpha2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of every type in this package.
var GroupVersion = schema.GroupVersion{Group: "networking.cloudflare-operator.io", Version: "v1alpha2"}

var (
	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds this package's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Tunnel{}, &TunnelList{},
		&ClusterTunnel{}, &ClusterTunnelList{},
		&TunnelBinding{}, &TunnelBindingList{},
		&DNSRecord{}, &DNSRecordList{},
		&AccessApplication{}, &AccessApplicationList{},
		&NetworkRoute{}, &NetworkRouteList{},
		&AccessTunnel{}, &AccessTunnelList{},
		&CloudflareCredentials{}, &CloudflareCredentialsList{},
		&CloudflareDomain{}, &CloudflareDomainList{},
		&TunnelIngressClassConfig{}, &TunnelIngressClassConfigList{},
		&TunnelGatewayClassConfig{}, &TunnelGatewayClassConfigList{},
		&VirtualNetwork{}, &VirtualNetworkList{},
		&PrivateService{}, &PrivateServiceList{},
		&AccessGroup{}, &AccessGroupList{},
		&AccessPolicy{}, &AccessPolicyList{},
		&AccessServiceToken{}, &AccessServiceTokenList{},
		&AccessIdentityProvider{}, &AccessIdentityProviderList{},
		&GatewayRule{}, &GatewayRuleList{},
		&GatewayList{}, &GatewayListList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
