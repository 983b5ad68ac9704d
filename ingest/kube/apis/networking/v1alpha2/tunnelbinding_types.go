package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TunnelBinding routes hostnames of a tunnel to Services. As in the
// cloudflare-operators, subjects and tunnelRef sit at the top level of the
// object (there is no spec). Served as v1alpha1 (the operators' version)
// and v1alpha2, with one schema.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="FQDNs",type=string,JSONPath=`.status.hostnames`
// +kubebuilder:printcolumn:name="Tunnel",type=string,JSONPath=`.tunnelRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TunnelBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Subjects are the Services to expose, each on one hostname.
	// +kubebuilder:validation:MaxItems=1000
	Subjects []TunnelBindingSubject `json:"subjects"`

	// TunnelRef is the tunnel that serves the subjects.
	TunnelRef TunnelBindingRef `json:"tunnelRef"`

	Status TunnelBindingStatus `json:"status,omitempty"`
}

// TunnelBindingSubject is one Service exposed through the tunnel.
type TunnelBindingSubject struct {
	// Kind of the subject; only Service.
	// +optional
	// +kubebuilder:default=Service
	Kind string `json:"kind,omitempty"`
	// Name of the Service in the TunnelBinding's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Spec says how the Service is exposed.
	// +optional
	Spec TunnelBindingSubjectSpec `json:"spec,omitempty"`
}

// TunnelBindingSubjectSpec says how one Service is exposed.
type TunnelBindingSubjectSpec struct {
	// Fqdn is the public hostname; empty means <service name>.<tunnel's cloudflare.domain>.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Fqdn string `json:"fqdn,omitempty"`
	// Protocol of the origin: http, https, tcp, udp, ssh, rdp or smb; empty
	// (or another value) means from the Service's first port: ssh for 22,
	// smb for 139 and 445, https for 443, rdp for 3389, udp for a UDP port,
	// else http.
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// Path is a regular expression the request path must match (cloudflared's rule path).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`
	// Target overrides the origin URL, e.g. http://web.default.svc:8080.
	// +optional
	Target string `json:"target,omitempty"`
	// NoTLSVerify disables the origin certificate check.
	// +optional
	NoTLSVerify bool `json:"noTlsVerify,omitempty"`
	// CAPool is a file in the tunnel's originCaPool Secret (mounted at
	// /etc/cloudflared/certs) holding the CA the origin must chain to.
	// +optional
	CAPool string `json:"caPool,omitempty"`
	// HTTP2Origin speaks HTTP/2 to the origin.
	// +optional
	HTTP2Origin bool `json:"http2Origin,omitempty"`
	// ProxyAddress is the listen address of cloudflared's proxy for this subject.
	// +optional
	ProxyAddress string `json:"proxyAddress,omitempty"`
	// ProxyPort is the listen port of cloudflared's proxy (0 = random).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	ProxyPort int32 `json:"proxyPort,omitempty"`
	// ProxyType is "" (an HTTP proxy) or "socks".
	// +optional
	// +kubebuilder:validation:Enum="";socks
	ProxyType string `json:"proxyType,omitempty"`
}

// TunnelBindingRef names the tunnel of a TunnelBinding.
type TunnelBindingRef struct {
	// Kind is Tunnel (in the binding's namespace) or ClusterTunnel.
	// +kubebuilder:validation:Enum=Tunnel;ClusterTunnel
	Kind string `json:"kind"`
	// Name is the Tunnel's or ClusterTunnel's metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// DisableDNSUpdates stops conflux-sync from writing the subjects' CNAME records.
	// +optional
	DisableDNSUpdates bool `json:"disableDNSUpdates,omitempty"`
}

// TunnelBindingStatus is what conflux-sync last did for a TunnelBinding,
// in the shape both cloudflare-operators write.
type TunnelBindingStatus struct {
	CommonStatus `json:",inline"`
	// TunnelID is the UUID of the referenced tunnel.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
	// Hostnames are the hostnames served, comma-separated (as the operators show them).
	// +optional
	Hostnames string `json:"hostnames,omitempty"`
	// Services are the hostnames served and the origin each goes to.
	// +optional
	Services []ServiceInfo `json:"services,omitempty"`
	// ConfigVersion is the version of the tunnel configuration Cloudflare holds.
	// +optional
	ConfigVersion int64 `json:"configVersion,omitempty"`
	// SyncedHostnames are the hostnames synced to Cloudflare.
	// +optional
	SyncedHostnames []string `json:"syncedHostnames,omitempty"`
}

// ServiceInfo is one hostname of a TunnelBinding and its origin.
type ServiceInfo struct {
	Hostname string `json:"hostname"`
	Target   string `json:"target"`
}

// TunnelBindingList is a list of TunnelBindings.
//
// +kubebuilder:object:root=true
type TunnelBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TunnelBinding `json:"items"`
}
