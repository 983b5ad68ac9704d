package v1alpha2

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kinds below map to Cloudflare objects conflux-sync does not sync yet
// (private services, Access service tokens and identity providers), or,
// for Zero Trust Gateway rules and lists, syncs from the spec as written
// (translate.GatewayRule and translate.GatewayList decode it). Their
// CRDs accept every cloudflare-operator manifest unchanged (the spec is kept
// as written) so that a cluster's objects apply, and conflux-sync answers
// each with Ready=False, reason Unsupported, and an Event, rather than
// silence. Where cloudflare-operator already synced one, its status (for
// example an AccessPolicy's policyId) is read by the objects that refer to
// it.

// ZeroTrustStatus is the status of a kind conflux-sync does not sync; the
// ids cloudflare-operator recorded are kept as they are.
type ZeroTrustStatus struct {
	CommonStatus `json:",inline"`
	// The ids cloudflare-operator recorded, as it recorded them.
	// +optional
	AccountID string `json:"accountId,omitempty"`
	// +optional
	VirtualNetworkID string `json:"virtualNetworkId,omitempty"`
	// +optional
	GroupID string `json:"groupId,omitempty"`
	// +optional
	PolicyID string `json:"policyId,omitempty"`
	// +optional
	TokenID string `json:"tokenId,omitempty"`
	// +optional
	ProviderID string `json:"providerId,omitempty"`
	// +optional
	RuleID string `json:"ruleId,omitempty"`
	// +optional
	ListID string `json:"listId,omitempty"`
}

// PrivateService routes a Service's cluster IP to a tunnel for WARP clients.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=psvc
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PrivateService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +optional
	Spec   *apiextensionsv1.JSON `json:"spec,omitempty"`
	Status ZeroTrustStatus       `json:"status,omitempty"`
}

// PrivateServiceList is a list of PrivateServices.
//
// +kubebuilder:object:root=true
type PrivateServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PrivateService `json:"items"`
}

// AccessPolicy is a reusable Access policy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=accesspol
// +kubebuilder:printcolumn:name="PolicyID",type=string,JSONPath=`.status.policyId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +optional
	Spec   *apiextensionsv1.JSON `json:"spec,omitempty"`
	Status ZeroTrustStatus       `json:"status,omitempty"`
}

// AccessPolicyList is a list of AccessPolicies.
//
// +kubebuilder:object:root=true
type AccessPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessPolicy `json:"items"`
}

// GatewayRule is a Zero Trust Gateway policy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=gwrule
// +kubebuilder:printcolumn:name="RuleID",type=string,JSONPath=`.status.ruleId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +optional
	Spec   *apiextensionsv1.JSON `json:"spec,omitempty"`
	Status ZeroTrustStatus       `json:"status,omitempty"`
}

// GatewayRuleList is a list of GatewayRules.
//
// +kubebuilder:object:root=true
type GatewayRuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayRule `json:"items"`
}

// GatewayList is a Zero Trust Gateway list.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=gwlist
// +kubebuilder:printcolumn:name="ListID",type=string,JSONPath=`.status.listId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GatewayList struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// +optional
	Spec   *apiextensionsv1.JSON `json:"spec,omitempty"`
	Status ZeroTrustStatus       `json:"status,omitempty"`
}

// GatewayListList is a list of GatewayLists.
//
// +kubebuilder:object:root=true
type GatewayListList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GatewayList `json:"items"`
}
