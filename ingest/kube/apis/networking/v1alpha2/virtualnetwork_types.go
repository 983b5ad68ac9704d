package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// VirtualNetworkSpec is a Zero Trust virtual network (the
// cloudflare.VirtualNetwork kind), in cloudflare-operator's shape: the
// object is cluster-scoped and NetworkRoutes name it in virtualNetworkRef.
type VirtualNetworkSpec struct {
	// Name is the network's name in Cloudflare; default the object's name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`

	// Comment is stored with the network (the API keeps at most 100 characters).
	// +optional
	// +kubebuilder:validation:MaxLength=500
	Comment string `json:"comment,omitempty"`

	// IsDefaultNetwork makes this the account's default virtual network
	// (the one routes naming none use). false does not take the flag away:
	// only marking another network the default does.
	// +optional
	IsDefaultNetwork bool `json:"isDefaultNetwork,omitempty"`

	// Cloudflare is the account and credentials.
	// +optional
	Cloudflare CloudflareDetails `json:"cloudflare,omitempty"`
}

// VirtualNetworkStatus is what conflux-sync last did for a VirtualNetwork,
// in the shape cloudflare-operator writes.
type VirtualNetworkStatus struct {
	CommonStatus `json:",inline"`
	// VirtualNetworkID is the network's Cloudflare id.
	// +optional
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`
	// AccountID is the account of the network.
	// +optional
	AccountID string `json:"accountId,omitempty"`
	// IsDefault says whether the network is the account's default.
	// +optional
	IsDefault bool `json:"isDefault,omitempty"`
}

// VirtualNetwork is a Zero Trust virtual network.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=vnet
// +kubebuilder:printcolumn:name="VNetID",type=string,JSONPath=`.status.virtualNetworkId`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.status.isDefault`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VirtualNetwork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VirtualNetworkSpec   `json:"spec,omitempty"`
	Status            VirtualNetworkStatus `json:"status,omitempty"`
}

// VirtualNetworkList is a list of VirtualNetworks.
//
// +kubebuilder:object:root=true
type VirtualNetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualNetwork `json:"items"`
}
