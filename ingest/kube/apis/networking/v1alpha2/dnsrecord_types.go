package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// DNSRecordSpec is one DNS record in a Cloudflare zone (the
// cloudflare.DNSRecord kind), in cloudflare-operator's shape: fixed
// content, structured data, or content taken from another object's address
// (sourceRef); conflux-sync adds a CNAME to a tunnel (tunnelRef). The
// zone is cloudflare.zoneId / cloudflare.domain, else the CloudflareDomain
// whose domain is the longest suffix of the name, else the tunnel's.
type DNSRecordSpec struct {
	// Name is the record's name: a fully qualified name, or a name relative
	// to the zone ("www", "@" for the apex).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`

	// Type is the record type; with sourceRef it may be left out (A, AAAA
	// or CNAME from the address).
	// +optional
	// +kubebuilder:validation:Enum=A;AAAA;CNAME;TXT;MX;NS;SRV;CAA;CERT;DNSKEY;DS;HTTPS;LOC;NAPTR;SMIMEA;SSHFP;SVCB;TLSA;URI
	Type string `json:"type,omitempty"`

	// Content is the record's value (an address, a hostname, text).
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Content string `json:"content,omitempty"`

	// Data is the structured value of SRV, CAA, CERT, SSHFP, TLSA, LOC and
	// URI records.
	// +optional
	Data *DNSRecordData `json:"data,omitempty"`

	// SourceRef takes the content from another object's address.
	// +optional
	SourceRef *DNSRecordSourceRef `json:"sourceRef,omitempty"`

	// AddressSelection picks among the source's addresses: First (default),
	// PreferIPv4, PreferIPv6, or All.
	// +optional
	// +kubebuilder:validation:Enum=First;All;PreferIPv4;PreferIPv6
	AddressSelection string `json:"addressSelection,omitempty"`

	// SourceDeletionPolicy says what happens to the record when the source
	// object is gone: Delete (default) removes it, Orphan leaves it in
	// Cloudflare with its last content.
	// +optional
	// +kubebuilder:validation:Enum=Delete;Orphan
	SourceDeletionPolicy string `json:"sourceDeletionPolicy,omitempty"`

	// TunnelRef makes the record a CNAME to that tunnel's <id>.cfargotunnel.com.
	// +optional
	TunnelRef *TunnelRef `json:"tunnelRef,omitempty"`

	// TTL in seconds: 1 means automatic (proxied records always are).
	// +optional
	TTL int32 `json:"ttl,omitempty"`

	// Proxied serves the name through Cloudflare's proxy.
	// +optional
	Proxied *bool `json:"proxied,omitempty"`

	// Priority of an MX (or SRV, URI) record.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Priority *int32 `json:"priority,omitempty"`

	// Comment is stored with the record, after conflux-sync's ownership marker.
	// +optional
	// +kubebuilder:validation:MaxLength=500
	Comment string `json:"comment,omitempty"`

	// Tags of the record, name:value.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Tags []string `json:"tags,omitempty"`

	// Adopt takes over an existing record that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// Cloudflare is the zone and credentials.
	// +optional
	Cloudflare *CloudflareDetails `json:"cloudflare,omitempty"`
}

// DNSRecordData is the structured value of a record, as cloudflare-operator
// spells it.
type DNSRecordData struct {
	// SRV
	// +optional
	Service string `json:"service,omitempty"`
	// +optional
	Proto string `json:"proto,omitempty"`
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// +optional
	Port *int32 `json:"port,omitempty"`
	// +optional
	Target string `json:"target,omitempty"`
	// CAA
	// +optional
	Flags *int32 `json:"flags,omitempty"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// +optional
	Value string `json:"value,omitempty"`
	// CERT, SSHFP, TLSA
	// +optional
	Algorithm *int32 `json:"algorithm,omitempty"`
	// +optional
	Certificate string `json:"certificate,omitempty"`
	// +optional
	KeyTag *int32 `json:"keyTag,omitempty"`
	// +optional
	Usage *int32 `json:"usage,omitempty"`
	// +optional
	Selector *int32 `json:"selector,omitempty"`
	// +optional
	MatchingType *int32 `json:"matchingType,omitempty"`
	// LOC
	// +optional
	LatDegrees *int32 `json:"latDegrees,omitempty"`
	// +optional
	LatMinutes *int32 `json:"latMinutes,omitempty"`
	// +optional
	LatSeconds string `json:"latSeconds,omitempty"`
	// +optional
	LatDirection string `json:"latDirection,omitempty"`
	// +optional
	LongDegrees *int32 `json:"longDegrees,omitempty"`
	// +optional
	LongMinutes *int32 `json:"longMinutes,omitempty"`
	// +optional
	LongSeconds string `json:"longSeconds,omitempty"`
	// +optional
	LongDirection string `json:"longDirection,omitempty"`
	// +optional
	Altitude string `json:"altitude,omitempty"`
	// +optional
	Size string `json:"size,omitempty"`
	// +optional
	PrecisionHorz string `json:"precisionHorz,omitempty"`
	// +optional
	PrecisionVert string `json:"precisionVert,omitempty"`
	// URI
	// +optional
	Content string `json:"content,omitempty"`
}

// DNSRecordSourceRef names the object whose address a record takes
// (exactly one field).
type DNSRecordSourceRef struct {
	// Service: its load balancer IP (default) or hostname, external IP,
	// externalName or cluster IP.
	// +optional
	Service *AddressSource `json:"service,omitempty"`
	// Ingress: its status.loadBalancer addresses.
	// +optional
	Ingress *NamespacedRef `json:"ingress,omitempty"`
	// HTTPRoute: the addresses of its parent Gateways.
	// +optional
	HTTPRoute *NamespacedRef `json:"httpRoute,omitempty"`
	// Gateway: its status.addresses.
	// +optional
	Gateway *NamespacedRef `json:"gateway,omitempty"`
	// Node: its external IP (default), internal IP or hostname.
	// +optional
	Node *NodeSource `json:"node,omitempty"`
}

// NamespacedRef names an object; an empty namespace means the referring
// object's.
type NamespacedRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// AddressSource is a Service and which of its addresses to use.
type AddressSource struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// AddressType is LoadBalancerIP (default), LoadBalancerHostname,
	// ExternalIP, ExternalName or ClusterIP.
	// +optional
	// +kubebuilder:validation:Enum=LoadBalancerIP;LoadBalancerHostname;ExternalIP;ExternalName;ClusterIP
	AddressType string `json:"addressType,omitempty"`
}

// NodeSource is a Node and which of its addresses to use.
type NodeSource struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// AddressType is ExternalIP (default), InternalIP or Hostname.
	// +optional
	// +kubebuilder:validation:Enum=InternalIP;ExternalIP;Hostname
	AddressType string `json:"addressType,omitempty"`
}

// DNSRecordStatus is what conflux-sync last did for a DNSRecord, in the
// shape cloudflare-operator writes.
type DNSRecordStatus struct {
	CommonStatus `json:",inline"`
	// RecordID is the Cloudflare DNS record id.
	// +optional
	RecordID string `json:"recordId,omitempty"`
	// ZoneID is the zone the record is in.
	// +optional
	ZoneID string `json:"zoneId,omitempty"`
	// FQDN is the record's fully qualified name.
	// +optional
	FQDN string `json:"fqdn,omitempty"`
	// TunnelID is the UUID of the tunnel a tunnelRef record points at.
	// +optional
	TunnelID string `json:"tunnelId,omitempty"`
	// ResolvedType and ResolvedContent are the type and content taken from sourceRef.
	// +optional
	ResolvedType string `json:"resolvedType,omitempty"`
	// +optional
	ResolvedContent string `json:"resolvedContent,omitempty"`
	// ResolvedAddresses are all the source's addresses.
	// +optional
	ResolvedAddresses []string `json:"resolvedAddresses,omitempty"`
	// SourceResourceVersion is the source object's resourceVersion last read.
	// +optional
	SourceResourceVersion string `json:"sourceResourceVersion,omitempty"`
	// ManagedRecordIDs are the ids of every record this object manages.
	// +optional
	ManagedRecordIDs []string `json:"managedRecordIds,omitempty"`
}

// DNSRecord is one DNS record in a Cloudflare zone.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=dnsrec
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Name",type=string,JSONPath=`.spec.name`
// +kubebuilder:printcolumn:name="Content",type=string,JSONPath=`.spec.content`
// +kubebuilder:printcolumn:name="Resolved",type=string,JSONPath=`.status.resolvedContent`,priority=1
// +kubebuilder:printcolumn:name="Proxied",type=boolean,JSONPath=`.spec.proxied`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
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
