package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClassConfigSpec is the spec of a TunnelIngressClassConfig and of a
// TunnelGatewayClassConfig (cloudflare-operator's IngressClass and
// GatewayClass parameters): the tunnel the class's Ingresses or routes are
// served by, and their defaults.
type ClassConfigSpec struct {
	// TunnelRef is the tunnel; a Tunnel's namespace defaults to the config's.
	TunnelRef TunnelRef `json:"tunnelRef"`
	// DefaultProtocol is the origin scheme when neither an annotation nor
	// the Service port says (Ingress only).
	// +optional
	// +kubebuilder:default=http
	// +kubebuilder:validation:Enum=http;https;tcp;udp;ssh;rdp;smb;bastion;wss;ws
	DefaultProtocol string `json:"defaultProtocol,omitempty"`
	// DefaultOriginRequest are origin settings of every rule; annotations override them.
	// +optional
	DefaultOriginRequest *OriginRequest `json:"defaultOriginRequest,omitempty"`
	// DNSManagement is Automatic or DNSRecord (a proxied CNAME per
	// hostname to the tunnel; the two are the same) or Manual (no DNS).
	// +optional
	// +kubebuilder:default=Automatic
	// +kubebuilder:validation:Enum=Automatic;Manual;DNSRecord
	DNSManagement string `json:"dnsManagement,omitempty"`
	// DNSProxied proxies those records (default true).
	// +optional
	// +kubebuilder:default=true
	DNSProxied *bool `json:"dnsProxied,omitempty"`
	// WatchNamespaces, when not empty, limits the class to Ingresses of these namespaces.
	// +optional
	WatchNamespaces []string `json:"watchNamespaces,omitempty"`
	// FallbackTarget is accepted for compatibility (Gateway only); the
	// catch-all is the tunnel's spec.fallbackTarget.
	// +optional
	FallbackTarget string `json:"fallbackTarget,omitempty"`
}

// ClassConfigStatus is what conflux-sync found for a class config, in the
// shape cloudflare-operator writes.
type ClassConfigStatus struct {
	CommonStatus `json:",inline"`
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
	// +optional
	TunnelName string `json:"tunnelName,omitempty"`
	// IngressCount is the number of Ingresses of the classes using this config.
	// +optional
	IngressCount int32 `json:"ingressCount,omitempty"`
	// GatewayCount and RouteCount count the Gateways and routes using it.
	// +optional
	GatewayCount int32 `json:"gatewayCount,omitempty"`
	// +optional
	RouteCount int32 `json:"routeCount,omitempty"`
	// +optional
	ConfigVersion int64 `json:"configVersion,omitempty"`
	// +optional
	SyncedHostnames []string `json:"syncedHostnames,omitempty"`
}

// TunnelIngressClassConfig is the parameters object of a
// cloudflare-operator IngressClass.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=ticc
// +kubebuilder:printcolumn:name="Tunnel",type=string,JSONPath=`.spec.tunnelRef.name`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.tunnelRef.kind`
// +kubebuilder:printcolumn:name="DNS",type=string,JSONPath=`.spec.dnsManagement`
// +kubebuilder:printcolumn:name="Ingresses",type=integer,JSONPath=`.status.ingressCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TunnelIngressClassConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClassConfigSpec   `json:"spec"`
	Status ClassConfigStatus `json:"status,omitempty"`
}

// TunnelIngressClassConfigList is a list of TunnelIngressClassConfigs.
//
// +kubebuilder:object:root=true
type TunnelIngressClassConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TunnelIngressClassConfig `json:"items"`
}

// TunnelGatewayClassConfig is the parameters object of a
// cloudflare-operator GatewayClass.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=tgcc
// +kubebuilder:printcolumn:name="Tunnel",type=string,JSONPath=`.spec.tunnelRef.name`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.tunnelRef.kind`
// +kubebuilder:printcolumn:name="DNS",type=string,JSONPath=`.spec.dnsManagement`
// +kubebuilder:printcolumn:name="Gateways",type=integer,JSONPath=`.status.gatewayCount`
// +kubebuilder:printcolumn:name="Routes",type=integer,JSONPath=`.status.routeCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TunnelGatewayClassConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClassConfigSpec   `json:"spec"`
	Status ClassConfigStatus `json:"status,omitempty"`
}

// TunnelGatewayClassConfigList is a list of TunnelGatewayClassConfigs.
//
// +kubebuilder:object:root=true
type TunnelGatewayClassConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TunnelGatewayClassConfig `json:"items"`
}
