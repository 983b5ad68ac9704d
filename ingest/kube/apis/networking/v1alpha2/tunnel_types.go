package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TunnelSpec is the spec of a Tunnel and of a ClusterTunnel: which
// Cloudflare tunnel (a new one conflux-sync creates, or an existing one it
// adopts), the account it lives in, and the tunnel-wide configuration
// (catch-all target, WARP routing, default origin settings).
//
// +kubebuilder:validation:XValidation:rule="has(self.newTunnel) != has(self.existingTunnel)",message="exactly one of newTunnel and existingTunnel must be set"
// +kubebuilder:validation:XValidation:rule="has(self.cloudflare.domain) || has(self.cloudflare.credentialsRef)",message="cloudflare.domain is required: the zone the tunnel's hostnames live in"
type TunnelSpec struct {
	// NewTunnel asks for a tunnel conflux-sync creates (and deletes with the object).
	// +optional
	NewTunnel *NewTunnel `json:"newTunnel,omitempty"`

	// ExistingTunnel adopts a tunnel that already exists, by id or by name.
	// +optional
	ExistingTunnel *ExistingTunnel `json:"existingTunnel,omitempty"`

	// Cloudflare is the account, zone and credentials of the tunnel.
	Cloudflare CloudflareDetails `json:"cloudflare"`

	// FallbackTarget serves requests no rule matches (the catch-all rule).
	// +optional
	// +kubebuilder:default="http_status:404"
	// +kubebuilder:validation:Pattern=`^(http_status:[1-5][0-9][0-9]|hello_world|bastion|socks5|unix(\+tls)?:.+|[a-z][a-z0-9+.-]*://.+)$`
	FallbackTarget string `json:"fallbackTarget,omitempty"`

	// EnableWarpRouting lets WARP clients reach private networks routed to
	// this tunnel (NetworkRoute). false turns it off again.
	// +optional
	EnableWarpRouting bool `json:"enableWarpRouting,omitempty"`

	// OriginRequest holds the default origin settings of every rule of the tunnel.
	// +optional
	OriginRequest *OriginRequest `json:"originRequest,omitempty"`

	// Protocol is the cloudflared transport protocol. Accepted so existing
	// manifests apply; conflux-sync writes the tunnel configuration, not the
	// cloudflared deployment.
	// +optional
	// +kubebuilder:validation:Enum=auto;quic;http2
	Protocol string `json:"protocol,omitempty"`

	// NoTLSVerify is the operator's tunnel-wide originRequest.noTlsVerify.
	// +optional
	NoTLSVerify bool `json:"noTlsVerify,omitempty"`

	// OriginCaPool is the operator's tunnel-wide originRequest.caPool (a Secret name).
	// +optional
	OriginCaPool string `json:"originCaPool,omitempty"`

	// DeployPatch is the operator's patch of its cloudflared Deployment.
	// Accepted so existing manifests apply; not used by conflux-sync.
	// +optional
	DeployPatch string `json:"deployPatch,omitempty"`
}

// NewTunnel names a tunnel to create.
type NewTunnel struct {
	// Name is the tunnel's name in Cloudflare.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[^\s/]+$`
	Name string `json:"name"`
}

// ExistingTunnel finds a tunnel by id or by name (exactly one).
//
// +kubebuilder:validation:XValidation:rule="has(self.id) != has(self.name)",message="exactly one of existingTunnel.id and existingTunnel.name must be set"
type ExistingTunnel struct {
	// ID is the tunnel's UUID.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	ID string `json:"id,omitempty"`
	// Name is the tunnel's name in Cloudflare.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`
}

// TunnelStatus is what conflux-sync last did for a Tunnel or ClusterTunnel.
type TunnelStatus struct {
	CommonStatus `json:",inline"`
	// TunnelID is the Cloudflare tunnel's UUID once created or adopted.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
	// TunnelName is the tunnel's name in Cloudflare.
	// +optional
	TunnelName string `json:"tunnelName,omitempty"`
	// AccountID is the account the tunnel lives in.
	// +optional
	AccountID string `json:"accountId,omitempty"`
	// ZoneID is the zone of spec.cloudflare.domain.
	// +optional
	ZoneID string `json:"zoneId,omitempty"`
}

// Tunnel is a Cloudflare tunnel that rules of its own namespace
// (TunnelBinding, Ingress, HTTPRoute) can use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TunnelSpec   `json:"spec"`
	Status TunnelStatus `json:"status,omitempty"`
}

// TunnelList is a list of Tunnels.
//
// +kubebuilder:object:root=true
type TunnelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tunnel `json:"items"`
}

// ClusterTunnel is a Cloudflare tunnel that rules of every namespace can use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterTunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TunnelSpec   `json:"spec"`
	Status TunnelStatus `json:"status,omitempty"`
}

// ClusterTunnelList is a list of ClusterTunnels.
//
// +kubebuilder:object:root=true
type ClusterTunnelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterTunnel `json:"items"`
}
