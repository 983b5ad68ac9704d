package v1alpha2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TunnelSpec is the spec of a Tunnel and of a ClusterTunnel, in every
// version either cloudflare-operator serves (v1alpha1 and v1alpha2 have the
// same schema here, so no conversion can lose a field): which Cloudflare
// tunnel (a new one conflux-sync creates, or an existing one it adopts), the
// account it lives in, and the tunnel-wide configuration (catch-all target,
// WARP routing, default origin settings). The fields that configure the
// operators' cloudflared Deployment (size, image, nodeSelectors,
// tolerations, deployPatch, protocol) are accepted and reported in the
// Degraded condition: conflux-sync writes the tunnel's configuration and
// does not run cloudflared.
//
// +kubebuilder:validation:XValidation:rule="has(self.newTunnel) != has(self.existingTunnel)",message="exactly one of newTunnel and existingTunnel must be set"
type TunnelSpec struct {
	// NewTunnel asks for a tunnel conflux-sync creates (and deletes with the object).
	// +optional
	NewTunnel *NewTunnel `json:"newTunnel,omitempty"`

	// ExistingTunnel adopts a tunnel that already exists, by id or by name
	// (the id wins when both are given).
	// +optional
	ExistingTunnel *ExistingTunnel `json:"existingTunnel,omitempty"`

	// Cloudflare is the account, zone and credentials of the tunnel.
	// +optional
	Cloudflare CloudflareDetails `json:"cloudflare,omitempty"`

	// FallbackTarget serves requests no rule matches (the catch-all rule).
	// +optional
	// +kubebuilder:default="http_status:404"
	FallbackTarget string `json:"fallbackTarget,omitempty"`

	// EnableWarpRouting lets WARP clients reach private networks routed to
	// this tunnel (NetworkRoute). false turns it off again.
	// +optional
	EnableWarpRouting bool `json:"enableWarpRouting,omitempty"`

	// OriginRequest holds the default origin settings of every rule of the tunnel.
	// +optional
	OriginRequest *OriginRequest `json:"originRequest,omitempty"`

	// NoTLSVerify is the operators' tunnel-wide originRequest.noTlsVerify.
	// +optional
	NoTLSVerify bool `json:"noTlsVerify,omitempty"`

	// OriginCaPool names the Secret the operators' cloudflared deployments
	// mount at /etc/cloudflared/certs; its tls.crt becomes the tunnel-wide
	// originRequest.caPool.
	// +optional
	OriginCaPool string `json:"originCaPool,omitempty"`

	// Protocol is cloudflared's transport protocol (a cloudflared flag;
	// not part of the tunnel's configuration).
	// +optional
	// +kubebuilder:validation:Enum=auto;quic;http2
	Protocol string `json:"protocol,omitempty"`

	// DeployPatch is the operators' patch of their cloudflared Deployment (v1alpha2).
	// +optional
	DeployPatch string `json:"deployPatch,omitempty"`

	// Size is the number of cloudflared replicas the operators run (v1alpha1).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Size *int32 `json:"size,omitempty"`

	// Image is the cloudflared image the operators run (v1alpha1).
	// +optional
	Image string `json:"image,omitempty"`

	// NodeSelectors of the operators' cloudflared pods (v1alpha1).
	// +optional
	NodeSelectors map[string]string `json:"nodeSelectors,omitempty"`

	// Tolerations of the operators' cloudflared pods (v1alpha1).
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// NewTunnel names a tunnel to create.
type NewTunnel struct {
	// Name is the tunnel's name in Cloudflare.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
}

// ExistingTunnel finds a tunnel by id or by name.
type ExistingTunnel struct {
	// ID is the tunnel's UUID.
	// +optional
	ID string `json:"id,omitempty"`
	// Name is the tunnel's name in Cloudflare.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`
}

// TunnelStatus is what conflux-sync last did for a Tunnel or ClusterTunnel,
// in the shape both cloudflare-operators write.
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
	// ConfigVersion is the version of the tunnel configuration Cloudflare holds.
	// +optional
	ConfigVersion int64 `json:"configVersion,omitempty"`
	// SyncedHostnames are the public hostnames the tunnel serves.
	// +optional
	SyncedHostnames []string `json:"syncedHostnames,omitempty"`
}

// Tunnel is a Cloudflare tunnel that rules of its own namespace
// (TunnelBinding, Ingress, HTTPRoute) can use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TunnelSpec   `json:"spec,omitempty"`
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
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterTunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TunnelSpec   `json:"spec,omitempty"`
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
