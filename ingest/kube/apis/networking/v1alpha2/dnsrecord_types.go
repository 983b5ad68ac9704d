package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// DNSRecordSpec is one DNS record in a Cloudflare zone (the
// cloudflare.DNSRecord kind): either fixed content, or a CNAME to a tunnel.
//
// +kubebuilder:validation:XValidation:rule="has(self.content) != has(self.tunnelRef)",message="exactly one of content and tunnelRef must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.tunnelRef) || self.type == 'CNAME'",message="tunnelRef needs type CNAME (the record points at <tunnel id>.cfargotunnel.com)"
// +kubebuilder:validation:XValidation:rule="self.type != 'MX' || has(self.priority)",message="priority is required for an MX record"
// +kubebuilder:validation:XValidation:rule="!has(self.priority) || self.type == 'MX'",message="priority is only allowed for an MX record"
// +kubebuilder:validation:XValidation:rule="self.type != 'A' || !has(self.content) || (isIP(self.content) && ip(self.content).family() == 4)",message="content of an A record must be an IPv4 address"
// +kubebuilder:validation:XValidation:rule="self.type != 'AAAA' || !has(self.content) || (isIP(self.content) && ip(self.content).family() == 6)",message="content of an AAAA record must be an IPv6 address"
// +kubebuilder:validation:XValidation:rule="!(self.type in ['CNAME', 'MX']) || !has(self.content) || self.content.matches('^([a-zA-Z0-9_]([-a-zA-Z0-9_]{0,61}[a-zA-Z0-9])?\\\\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\\\\.?$')",message="content of a CNAME or MX record must be a hostname"
// +kubebuilder:validation:XValidation:rule="!has(self.proxied) || !self.proxied || self.type in ['A', 'AAAA', 'CNAME']",message="proxied is only allowed for A, AAAA and CNAME records"
// +kubebuilder:validation:XValidation:rule="has(self.tunnelRef) || (has(self.cloudflare) && has(self.cloudflare.domain))",message="cloudflare.domain (the record's zone) is required when the record has no tunnelRef"
// +kubebuilder:validation:XValidation:rule="!has(self.cloudflare) || !has(self.cloudflare.domain) || self.name.lowerAscii() == self.cloudflare.domain.lowerAscii() || self.name.lowerAscii().endsWith('.' + self.cloudflare.domain.lowerAscii())",message="name must be inside the zone cloudflare.domain"
type DNSRecordSpec struct {
	// Name is the record's fully qualified name, e.g. app.example.com.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^(\*\.)?([_a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`
	Name string `json:"name"`

	// Type is the record type.
	// +kubebuilder:validation:Enum=A;AAAA;CNAME;TXT;MX
	Type string `json:"type"`

	// Content is the record's value (an address, a hostname, text).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Content string `json:"content,omitempty"`

	// TunnelRef makes the record a CNAME to that tunnel's <id>.cfargotunnel.com.
	// +optional
	TunnelRef *TunnelRef `json:"tunnelRef,omitempty"`

	// TTL in seconds: 1 means automatic (proxied records always are).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XValidation:rule="self == 1 || (self >= 60 && self <= 86400)",message="ttl must be 1 (automatic) or between 60 and 86400 seconds"
	TTL int32 `json:"ttl,omitempty"`

	// Proxied serves the name through Cloudflare's proxy.
	// +optional
	Proxied *bool `json:"proxied,omitempty"`

	// Priority of an MX record.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Priority *int32 `json:"priority,omitempty"`

	// Comment is stored with the record, after conflux-sync's ownership marker.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Comment string `json:"comment,omitempty"`

	// Tags of the record, name:value.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=255
	Tags []string `json:"tags,omitempty"`

	// Adopt takes over an existing record that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// Cloudflare is the zone (domain) and credentials.
	// +optional
	Cloudflare *CloudflareDetails `json:"cloudflare,omitempty"`
}

// DNSRecordStatus is what conflux-sync last did for a DNSRecord.
type DNSRecordStatus struct {
	CommonStatus `json:",inline"`
	// RecordID is the Cloudflare DNS record id.
	// +optional
	RecordID string `json:"recordId,omitempty"`
	// ZoneID is the zone the record is in.
	// +optional
	ZoneID string `json:"zoneId,omitempty"`
	// TunnelID is the UUID of the tunnel a tunnelRef record points at.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
}

// DNSRecord is one DNS record in a Cloudflare zone.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.spec.name`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="TunnelID",type=string,JSONPath=`.status.tunnelId`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DNSRecord struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DNSRecordSpec   `json:"spec"`
	Status DNSRecordStatus `json:"status,omitempty"`
}

// DNSRecordList is a list of DNSRecords.
//
// +kubebuilder:object:root=true
type DNSRecordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DNSRecord `json:"items"`
}
