package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CloudflareCredentialsSpec names a Secret with Cloudflare API credentials
// and the account they are for. Objects name it in
// spec.cloudflare.credentialsRef; the one with isDefault is used by objects
// that name no credentials at all.
type CloudflareCredentialsSpec struct {
	// AccountID is the Cloudflare account id.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	AccountID string `json:"accountId"`
	// AccountName is informational.
	// +optional
	AccountName string `json:"accountName,omitempty"`
	// AuthType is apiToken (conflux-sync supports only API tokens) or globalAPIKey.
	// +optional
	// +kubebuilder:default=apiToken
	// +kubebuilder:validation:Enum=apiToken;globalAPIKey
	AuthType string `json:"authType,omitempty"`
	// SecretRef is the Secret holding the credentials.
	SecretRef CredentialsSecretRef `json:"secretRef"`
	// DefaultDomain is the zone of objects that name none.
	// +optional
	DefaultDomain string `json:"defaultDomain,omitempty"`
	// IsDefault makes these the credentials of objects that name none.
	// +optional
	IsDefault bool `json:"isDefault,omitempty"`
}

// CredentialsSecretRef names a Secret and the keys of the credentials in it.
type CredentialsSecretRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the Secret; default conflux-sync's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// APITokenKey is the key of the API token (default CLOUDFLARE_API_TOKEN).
	// +optional
	APITokenKey string `json:"apiTokenKey,omitempty"`
	// APIKeyKey is the key of a global API key (default CLOUDFLARE_API_KEY).
	// +optional
	APIKeyKey string `json:"apiKeyKey,omitempty"`
	// EmailKey is the key of the email that goes with a global API key (default CLOUDFLARE_EMAIL).
	// +optional
	EmailKey string `json:"emailKey,omitempty"`
}

// CloudflareCredentialsStatus is what conflux-sync found, in the shape
// cloudflare-operator writes.
type CloudflareCredentialsStatus struct {
	CommonStatus `json:",inline"`
	// Validated is true when the Secret and its key exist.
	// +optional
	Validated bool `json:"validated,omitempty"`
	// LastValidatedTime is when that was last checked.
	// +optional
	LastValidatedTime *metav1.Time `json:"lastValidatedTime,omitempty"`
	// AccountName is the account's name.
	// +optional
	AccountName string `json:"accountName,omitempty"`
}

// CloudflareCredentials names Cloudflare API credentials.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=cfcreds
// +kubebuilder:printcolumn:name="Account ID",type=string,JSONPath=`.spec.accountId`
// +kubebuilder:printcolumn:name="Auth Type",type=string,JSONPath=`.spec.authType`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.spec.isDefault`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CloudflareCredentials struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CloudflareCredentialsSpec   `json:"spec"`
	Status CloudflareCredentialsStatus `json:"status,omitempty"`
}

// CloudflareCredentialsList is a list of CloudflareCredentials.
//
// +kubebuilder:object:root=true
type CloudflareCredentialsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CloudflareCredentials `json:"items"`
}
