package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types every object's status.conditions may carry; `kubectl wait
// --for=condition=Ready` waits on ConditionReady.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Tunnel kinds a TunnelRef may name.
const (
	KindTunnel        = "Tunnel"
	KindClusterTunnel = "ClusterTunnel"
)

// DefaultAPITokenKey is the key of the API token inside the credentials
// Secret when cloudflare.CLOUDFLARE_API_TOKEN is not set.
const DefaultAPITokenKey = "CLOUDFLARE_API_TOKEN"

// CloudflareDetails says which Cloudflare account (and zone) an object
// belongs to and where the API credentials are: a Secret in the object's
// namespace (for cluster-scoped objects, the namespace conflux-sync is
// configured with), holding the token under the key named by
// CLOUDFLARE_API_TOKEN. Only this reference reaches conflux-sync's log,
// never the token.
//
// +kubebuilder:validation:XValidation:rule="has(self.secret) || has(self.credentialsRef)",message="cloudflare.secret (or cloudflare.credentialsRef) is required: the Secret holding the API token"
type CloudflareDetails struct {
	// Domain is the Cloudflare zone the object's hostnames live in, e.g. example.com.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`
	Domain string `json:"domain,omitempty"`

	// Secret is the name of the Secret holding the API token.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Secret string `json:"secret,omitempty"`

	// AccountID is the Cloudflare account id; empty means the account given by
	// AccountName, or the only account conflux-sync is configured with.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	AccountID string `json:"accountId,omitempty"`

	// AccountName is the Cloudflare account name, used when AccountID is empty.
	// +optional
	AccountName string `json:"accountName,omitempty"`

	// ZoneID is the id of the zone named by Domain; looked up when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]+$`
	ZoneID string `json:"zoneId,omitempty"`

	// Email goes with a global API key (CLOUDFLARE_API_KEY); accepted for
	// compatibility, API tokens are preferred.
	// +optional
	Email string `json:"email,omitempty"`

	// CLOUDFLARE_API_TOKEN is the key of the API token inside Secret.
	// +optional
	// +kubebuilder:default=CLOUDFLARE_API_TOKEN
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	CLOUDFLARE_API_TOKEN string `json:"CLOUDFLARE_API_TOKEN,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_API_KEY is the key of a global API key inside Secret (with Email).
	// +optional
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	CLOUDFLARE_API_KEY string `json:"CLOUDFLARE_API_KEY,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_TUNNEL_CREDENTIAL_FILE is the key of an existing tunnel's
	// credentials.json inside Secret; accepted for compatibility.
	// +optional
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	CLOUDFLARE_TUNNEL_CREDENTIAL_FILE string `json:"CLOUDFLARE_TUNNEL_CREDENTIAL_FILE,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET is the key of an existing tunnel's
	// secret inside Secret; accepted for compatibility.
	// +optional
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET string `json:"CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CredentialsRef names a CloudflareCredentials object (StringKe's
	// operator) instead of Secret.
	// +optional
	CredentialsRef *CredentialsRef `json:"credentialsRef,omitempty"`
}

// CredentialsRef names a CloudflareCredentials object.
type CredentialsRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// OriginRequest holds cloudflared's origin request settings, spelled as the
// cloudflare-operator spells them. Durations are Go durations such as "30s".
type OriginRequest struct {
	// ConnectTimeout is the timeout for a new TCP connection to the origin.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	ConnectTimeout string `json:"connectTimeout,omitempty"`
	// TLSTimeout is the timeout for the TLS handshake with the origin.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	TLSTimeout string `json:"tlsTimeout,omitempty"`
	// TCPKeepAlive is the TCP keep-alive interval to the origin.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	TCPKeepAlive string `json:"tcpKeepAlive,omitempty"`
	// KeepAliveTimeout is how long an idle origin connection is kept.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	KeepAliveTimeout string `json:"keepAliveTimeout,omitempty"`
	// KeepAliveConnections is the maximum number of idle origin connections.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	KeepAliveConnections *int32 `json:"keepAliveConnections,omitempty"`
	// NoHappyEyeballs disables the IPv4/IPv6 fallback when dialling the origin.
	// +optional
	NoHappyEyeballs *bool `json:"noHappyEyeballs,omitempty"`
	// NoTLSVerify disables the origin certificate check.
	// +optional
	NoTLSVerify *bool `json:"noTlsVerify,omitempty"`
	// CAPool names a Secret with the CA certificate (tls.crt) the origin's certificate must chain to.
	// +optional
	CAPool string `json:"caPool,omitempty"`
	// OriginServerName is the hostname expected in the origin's certificate.
	// +optional
	OriginServerName string `json:"originServerName,omitempty"`
	// MatchSNIToHost sends the request's Host as the TLS server name.
	// +optional
	MatchSNIToHost *bool `json:"matchSNItoHost,omitempty"`
	// HTTPHostHeader overrides the Host header sent to the origin.
	// +optional
	HTTPHostHeader string `json:"httpHostHeader,omitempty"`
	// DisableChunkedEncoding turns off chunked transfer encoding to the origin.
	// +optional
	DisableChunkedEncoding *bool `json:"disableChunkedEncoding,omitempty"`
	// HTTP2Origin speaks HTTP/2 to the origin (which must be HTTPS).
	// +optional
	HTTP2Origin *bool `json:"http2Origin,omitempty"`
	// BastionMode makes cloudflared a jump host.
	// +optional
	BastionMode *bool `json:"bastionMode,omitempty"`
	// ProxyAddress is the listen address of cloudflared's own proxy.
	// +optional
	ProxyAddress string `json:"proxyAddress,omitempty"`
	// ProxyPort is the listen port of cloudflared's own proxy (0 = random).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	ProxyPort *int32 `json:"proxyPort,omitempty"`
	// ProxyType is "" (an HTTP proxy) or "socks".
	// +optional
	// +kubebuilder:validation:Enum="";socks
	ProxyType string `json:"proxyType,omitempty"`
}

// TunnelRef names the Tunnel or ClusterTunnel an object belongs to.
//
// +kubebuilder:validation:XValidation:rule="self.kind == 'Tunnel' || !has(self.__namespace__)",message="tunnelRef.namespace is only allowed with kind Tunnel"
type TunnelRef struct {
	// Kind is Tunnel or ClusterTunnel.
	// +kubebuilder:validation:Enum=Tunnel;ClusterTunnel
	Kind string `json:"kind"`
	// Name is the Tunnel's or ClusterTunnel's metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of a Tunnel; empty means the referring object's namespace.
	// Not allowed with kind ClusterTunnel.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// CommonStatus is the part of status every kind has.
type CommonStatus struct {
	// Conditions: Ready, Reconciling, Stalled, with reason and message.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}
