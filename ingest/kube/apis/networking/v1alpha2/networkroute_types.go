package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NetworkRouteSpec routes a private network (CIDR) through a tunnel for
// WARP clients (the cloudflare.NetworkRoute kind).
//
// +kubebuilder:validation:XValidation:rule="has(self.tunnelRef) != has(self.tunnelId)",message="exactly one of tunnelRef and tunnelId must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.tunnelId) || has(self.cloudflare)",message="cloudflare (account and credentials) is required with tunnelId"
type NetworkRouteSpec struct {
	// Network is the routed IPv4 or IPv6 CIDR, e.g. 10.0.0.0/8.
	// +kubebuilder:validation:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="network must be a CIDR such as 10.0.0.0/8"
	Network string `json:"network"`

	// TunnelRef is the Tunnel or ClusterTunnel the network is routed through.
	// +optional
	TunnelRef *TunnelRef `json:"tunnelRef,omitempty"`

	// TunnelID is the UUID of a tunnel not managed here.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	TunnelID string `json:"tunnelId,omitempty"`

	// VirtualNetworkID is the UUID of the virtual network; empty means the account's default.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`

	// Comment is stored with the route.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Comment string `json:"comment,omitempty"`

	// Adopt takes over an existing route that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// Cloudflare is the account and credentials; with tunnelRef the tunnel's are used when empty.
	// +optional
	Cloudflare *CloudflareDetails `json:"cloudflare,omitempty"`
}

// NetworkRouteStatus is what conflux-sync last did for a NetworkRoute.
type NetworkRouteStatus struct {
	CommonStatus `json:",inline"`
	// RouteID is the Cloudflare tunnel route id.
	// +optional
	RouteID string `json:"routeId,omitempty"`
	// TunnelID is the UUID of the tunnel the network is routed through.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
}

// NetworkRoute routes a private network through a tunnel.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NetworkRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NetworkRouteSpec   `json:"spec"`
	Status NetworkRouteStatus `json:"status,omitempty"`
}

// NetworkRouteList is a list of NetworkRoutes.
//
// +kubebuilder:object:root=true
type NetworkRouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NetworkRoute `json:"items"`
}
