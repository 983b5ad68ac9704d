package v1alpha2

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CloudflareDomainSpec names a zone for the objects under it: a DNSRecord
// or a class's generated records find their zone (and the credentials for
// it) through the CloudflareDomain whose domain is the longest suffix of
// their name, or the default one.
type CloudflareDomainSpec struct {
	// Domain is the zone's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Domain string `json:"domain"`
	// ZoneID is the zone's id, when known.
	// +optional
	ZoneID string `json:"zoneId,omitempty"`
	// IsDefault makes this the zone of objects whose name matches no
	// other CloudflareDomain.
	// +optional
	IsDefault bool `json:"isDefault,omitempty"`
	// CredentialsRef names the CloudflareCredentials for the zone.
	// +optional
	CredentialsRef *CredentialsRef `json:"credentialsRef,omitempty"`
	// SSL, Cache, Security and Performance are zone settings, which
	// conflux-sync does not manage: they are kept as written and reported
	// as not applied.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	SSL *apiextensionsv1.JSON `json:"ssl,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Cache *apiextensionsv1.JSON `json:"cache,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Security *apiextensionsv1.JSON `json:"security,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Performance *apiextensionsv1.JSON `json:"performance,omitempty"`
}

// CloudflareDomainStatus is cloudflare-operator's status of a domain; the
// zone it found is kept as it recorded it.
type CloudflareDomainStatus struct {
	CommonStatus `json:",inline"`
	// +optional
	ZoneID string `json:"zoneId,omitempty"`
	// +optional
	ZoneName string `json:"zoneName,omitempty"`
	// +optional
	AccountID string `json:"accountId,omitempty"`
}

// CloudflareDomain is a zone the objects under it use.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName={cfdomain,cfdom}
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domain`
// +kubebuilder:printcolumn:name="Zone ID",type=string,JSONPath=`.status.zoneId`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.spec.isDefault`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CloudflareDomain struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              CloudflareDomainSpec   `json:"spec"`
	Status            CloudflareDomainStatus `json:"status,omitempty"`
}

// CloudflareDomainList is a list of CloudflareDomains.
//
// +kubebuilder:object:root=true
type CloudflareDomainList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CloudflareDomain `json:"items"`
}
