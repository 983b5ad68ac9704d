package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types every object's status.conditions may carry; `kubectl wait
// --for=condition=Ready` waits on ConditionReady. ConditionDegraded is True
// while the object is synced but some of its fields are not applied (they
// configure cloudflared's own deployment, which conflux-sync does not run):
// the message names them.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	ConditionDegraded    = "Degraded"
)

// Tunnel kinds a TunnelRef may name.
const (
	KindTunnel        = "Tunnel"
	KindClusterTunnel = "ClusterTunnel"
)

// DefaultAPITokenKey is the key of the API token inside the credentials
// Secret when cloudflare.CLOUDFLARE_API_TOKEN is not set.
const DefaultAPITokenKey = "CLOUDFLARE_API_TOKEN"

// DefaultAPIKeyKey is the Secret key of a global API key the operators
// read by default (conflux-sync does not use global API keys; it names the
// key when it finds one in place of a token).
const DefaultAPIKeyKey = "CLOUDFLARE_API_KEY"

// CloudflareDetails says which Cloudflare account (and zone) an object
// belongs to and where the API credentials are: a Secret holding the token
// under the key named by CLOUDFLARE_API_TOKEN, or a CloudflareCredentials
// object (credentialsRef), or, with neither, the CloudflareCredentials
// marked isDefault. A Secret is looked up in the object's namespace; for
// cluster-scoped objects in the namespace conflux-sync is configured with.
// Only this reference reaches conflux-sync's log, never the token.
type CloudflareDetails struct {
	// Domain is the Cloudflare zone the object's hostnames live in, e.g. example.com.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Domain string `json:"domain,omitempty"`

	// Secret is the name of the Secret holding the API token.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Secret string `json:"secret,omitempty"`

	// AccountID is the Cloudflare account id.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	AccountID string `json:"accountId,omitempty"`

	// AccountName is the Cloudflare account name, used when AccountID is empty.
	// +optional
	AccountName string `json:"accountName,omitempty"`

	// ZoneID is the id of the zone named by Domain.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ZoneID string `json:"zoneId,omitempty"`

	// Email goes with a global API key (CLOUDFLARE_API_KEY).
	// +optional
	Email string `json:"email,omitempty"`

	// CLOUDFLARE_API_TOKEN is the key of the API token inside Secret
	// (default CLOUDFLARE_API_TOKEN).
	// +optional
	CLOUDFLARE_API_TOKEN string `json:"CLOUDFLARE_API_TOKEN,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_API_KEY is the key of a global API key inside Secret (with Email).
	// +optional
	CLOUDFLARE_API_KEY string `json:"CLOUDFLARE_API_KEY,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_TUNNEL_CREDENTIAL_FILE is the key of an existing tunnel's
	// credentials.json inside Secret; read by the operators' cloudflared
	// deployments, not by conflux-sync.
	// +optional
	CLOUDFLARE_TUNNEL_CREDENTIAL_FILE string `json:"CLOUDFLARE_TUNNEL_CREDENTIAL_FILE,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET is the key of an existing tunnel's
	// secret inside Secret; read by the operators' cloudflared deployments,
	// not by conflux-sync.
	// +optional
	CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET string `json:"CLOUDFLARE_TUNNEL_CREDENTIAL_SECRET,omitempty"` //nolint:revive,staticcheck // the operator's JSON name

	// CredentialsRef names a CloudflareCredentials object instead of Secret.
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
// cloudflare-operators spell them. Durations are Go durations such as "30s".
type OriginRequest struct {
	// ConnectTimeout is the timeout for a new TCP connection to the origin.
	// +optional
	ConnectTimeout string `json:"connectTimeout,omitempty"`
	// TLSTimeout is the timeout for the TLS handshake with the origin.
	// +optional
	TLSTimeout string `json:"tlsTimeout,omitempty"`
	// TCPKeepAlive is the TCP keep-alive interval to the origin.
	// +optional
	TCPKeepAlive string `json:"tcpKeepAlive,omitempty"`
	// KeepAliveTimeout is how long an idle origin connection is kept.
	// +optional
	KeepAliveTimeout string `json:"keepAliveTimeout,omitempty"`
	// KeepAliveConnections is the maximum number of idle origin connections.
	// +optional
	KeepAliveConnections *int32 `json:"keepAliveConnections,omitempty"`
	// NoHappyEyeballs disables the IPv4/IPv6 fallback when dialling the origin.
	// +optional
	NoHappyEyeballs *bool `json:"noHappyEyeballs,omitempty"`
	// NoTLSVerify disables the origin certificate check.
	// +optional
	NoTLSVerify *bool `json:"noTlsVerify,omitempty"`
	// CAPool is a file of CA certificates the origin's certificate must
	// chain to, relative to /etc/cloudflared/certs (where the operators'
	// cloudflared deployments mount the tunnel's originCaPool Secret).
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
type TunnelRef struct {
	// Kind is Tunnel or ClusterTunnel.
	// +optional
	// +kubebuilder:validation:Enum=Tunnel;ClusterTunnel
	Kind string `json:"kind,omitempty"`
	// Name is the Tunnel's or ClusterTunnel's metadata.name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of a Tunnel; empty means the referring object's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// ObjectRef names a Kubernetes object of another kind, or the Cloudflare
// object directly by id or by name (cloudflare-operator's references to
// virtual networks, identity providers, policies and groups).
type ObjectRef struct {
	// Name of the Kubernetes object.
	// +optional
	Name string `json:"name,omitempty"`
	// CloudflareID is the Cloudflare object's id.
	// +optional
	CloudflareID string `json:"cloudflareId,omitempty"`
	// CloudflareName is the Cloudflare object's name.
	// +optional
	CloudflareName string `json:"cloudflareName,omitempty"`
}

// CommonStatus is the part of status every kind has.
type CommonStatus struct {
	// Conditions: Ready, Reconciling, Stalled (and Degraded), with reason and message.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// State is the one-word state cloudflare-operator users' dashboards
	// read; its spelling is the operator's for each kind.
	// +optional
	State string `json:"state,omitempty"`
}
