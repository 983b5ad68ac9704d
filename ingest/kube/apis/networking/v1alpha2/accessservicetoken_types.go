package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AccessServiceTokenSpec is an Access service token (the
// cloudflare.AccessServiceToken kind) in cloudflare-operator's shape: its
// client id and secret are written to a Secret in the object's namespace.
type AccessServiceTokenSpec struct {
	// Name is the token's name in Cloudflare; empty means the object's name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`
	// Duration is how long the token is valid ("8760h", "forever").
	// +optional
	// +kubebuilder:default="8760h"
	Duration string `json:"duration,omitempty"`
	// SecretRef is the Secret, in the object's namespace, the client id
	// and secret are written to.
	SecretRef ServiceTokenSecretRef `json:"secretRef"`
	// Cloudflare is the account and credentials.
	Cloudflare CloudflareDetails `json:"cloudflare"`
}

// ServiceTokenSecretRef is where a service token's credentials go.
type ServiceTokenSecretRef struct {
	// Name is the Secret's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// ClientIDKey is the key of the client id.
	// +optional
	// +kubebuilder:default="CF_ACCESS_CLIENT_ID"
	ClientIDKey string `json:"clientIdKey,omitempty"`
	// ClientSecretKey is the key of the client secret.
	// +optional
	// +kubebuilder:default="CF_ACCESS_CLIENT_SECRET"
	ClientSecretKey string `json:"clientSecretKey,omitempty"`
}

// AccessServiceTokenStatus is what conflux-sync last did for an
// AccessServiceToken, in the shape cloudflare-operator writes (never the
// secret).
type AccessServiceTokenStatus struct {
	CommonStatus `json:",inline"`
	// TokenID is the Cloudflare service token id.
	// +optional
	TokenID string `json:"tokenId,omitempty"`
	// ClientID is the token's client id (CF-Access-Client-Id).
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// AccountID is the token's account.
	// +optional
	AccountID string `json:"accountId,omitempty"`
	// ExpiresAt is when the token expires (RFC 3339); empty for forever.
	// +optional
	ExpiresAt string `json:"expiresAt,omitempty"`
	// SecretName is the Secret holding the credentials: namespace/name.
	// +optional
	SecretName string `json:"secretName,omitempty"`
}

// AccessServiceToken is an Access service token.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=accesstoken
// +kubebuilder:printcolumn:name="TokenID",type=string,JSONPath=`.status.tokenId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessServiceToken struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AccessServiceTokenSpec   `json:"spec"`
	Status AccessServiceTokenStatus `json:"status,omitempty"`
}

// AccessServiceTokenList is a list of AccessServiceTokens.
//
// +kubebuilder:object:root=true
type AccessServiceTokenList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessServiceToken `json:"items"`
}
