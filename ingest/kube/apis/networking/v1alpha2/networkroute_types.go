package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NetworkRouteSpec routes a private network (CIDR) through a tunnel for
// WARP clients (the cloudflare.NetworkRoute kind), in cloudflare-operator's
// shape: the route is cluster-scoped, its tunnelRef names a ClusterTunnel
// (the default) or a Tunnel with its namespace.
type NetworkRouteSpec struct {
	// Network is the routed IPv4 or IPv6 CIDR, e.g. 10.0.0.0/8.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=43
	Network string `json:"network"`

	// TunnelRef is the Tunnel or ClusterTunnel the network is routed through.
	// +optional
	TunnelRef *TunnelRef `json:"tunnelRef,omitempty"`

	// TunnelID is the UUID of a tunnel not managed here (instead of tunnelRef).
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`

	// VirtualNetworkRef is the virtual network: a VirtualNetwork object
	// (name) whose status has its id, or its id (cloudflareId); empty means
	// the account's default.
	// +optional
	VirtualNetworkRef *ObjectRef `json:"virtualNetworkRef,omitempty"`

	// VirtualNetworkID is the UUID of the virtual network (instead of virtualNetworkRef).
	// +optional
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`

	// Comment is stored with the route.
	// +optional
	// +kubebuilder:validation:MaxLength=500
	Comment string `json:"comment,omitempty"`

	// Adopt takes over an existing route that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// Cloudflare is the account and credentials; with tunnelRef the tunnel's are used when empty.
	// +optional
	Cloudflare *CloudflareDetails `json:"cloudflare,omitempty"`
}

// NetworkRouteStatus is what conflux-sync last did for a NetworkRoute, in
// the shape cloudflare-operator writes.
type NetworkRouteStatus struct {
	CommonStatus `json:",inline"`
	// RouteID is the Cloudflare tunnel route id.
	// +optional
	RouteID string `json:"routeId,omitempty"`
	// Network is the routed network.
	// +optional
	Network string `json:"network,omitempty"`
	// TunnelID is the UUID of the tunnel the network is routed through.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
	// TunnelName is that tunnel's name.
	// +optional
	TunnelName string `json:"tunnelName,omitempty"`
	// VirtualNetworkID is the virtual network of the route.
	// +optional
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`
	// AccountID is the account of the route.
	// +optional
	AccountID string `json:"accountId,omitempty"`
}

// NetworkRoute routes a private network through a tunnel.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=netroute
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="VNetID",type=string,JSONPath=`.status.virtualNetworkId`,priority=1
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
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
