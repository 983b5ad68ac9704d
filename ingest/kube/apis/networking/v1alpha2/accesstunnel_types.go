package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AccessTunnel is the client side of a TCP service published through a
// tunnel: the cloudflare-operators run `cloudflared access <protocol>` for
// target.fqdn in the cluster and publish it as a Service. It creates no
// Cloudflare object, so conflux-sync does not handle it: its status says
// so (Ready=False, reason Unsupported). As in the operators, target and
// serviceToken sit at the top level (there is no spec).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.target.fqdn`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessTunnel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Target is the hostname to reach and the Service to publish it as.
	// +optional
	Target *AccessTunnelTarget `json:"target,omitempty"`

	// ServiceToken is the Access service token cloudflared presents.
	// +optional
	ServiceToken *AccessTunnelServiceToken `json:"serviceToken,omitempty"`

	Status CommonStatus `json:"status,omitempty"`
}

// AccessTunnelTarget is the hostname an AccessTunnel reaches.
type AccessTunnelTarget struct {
	// Fqdn is the public hostname served by a tunnel's TCP rule.
	// +kubebuilder:validation:MinLength=1
	Fqdn string `json:"fqdn"`
	// Image is the cloudflared image of the client Deployment.
	// +optional
	Image string `json:"image,omitempty"`
	// Protocol is tcp, rdp, smb or ssh.
	// +optional
	// +kubebuilder:validation:Enum=tcp;rdp;smb;ssh
	Protocol string `json:"protocol,omitempty"`
	// Svc is the Service the client is published as.
	// +optional
	Svc *AccessTunnelService `json:"svc,omitempty"`
}

// AccessTunnelService is the Service an AccessTunnel publishes.
type AccessTunnelService struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// AccessTunnelServiceToken names the Secret of an Access service token.
type AccessTunnelServiceToken struct {
	// SecretRef is the Secret's name.
	// +kubebuilder:validation:MinLength=1
	SecretRef string `json:"secretRef"`
	// CLOUDFLARE_ACCESS_SERVICE_TOKEN_ID is the key of the token id.
	// +optional
	CLOUDFLARE_ACCESS_SERVICE_TOKEN_ID string `json:"CLOUDFLARE_ACCESS_SERVICE_TOKEN_ID,omitempty"` //nolint:revive,staticcheck // the operator's JSON name
	// CLOUDFLARE_ACCESS_SERVICE_TOKEN_TOKEN is the key of the token secret.
	// +optional
	CLOUDFLARE_ACCESS_SERVICE_TOKEN_TOKEN string `json:"CLOUDFLARE_ACCESS_SERVICE_TOKEN_TOKEN,omitempty"` //nolint:revive,staticcheck // the operator's JSON name
}

// AccessTunnelList is a list of AccessTunnels.
//
// +kubebuilder:object:root=true
type AccessTunnelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessTunnel `json:"items"`
}
