package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AccessIdentityProviderSpec is an Access identity provider (the
// cloudflare.AccessIdentityProvider kind) in cloudflare-operator's shape.
// The client secret comes from configSecretRef; one written inline (as
// upstream manifests do) is read from the object when conflux-sync
// writes the provider, never stored in its log.
type AccessIdentityProviderSpec struct {
	// Name is the provider's name in Cloudflare; empty means the object's name.
	// +optional
	Name string `json:"name,omitempty"`
	// Type is the provider type (onetimepin, github, google, oidc, saml, ...).
	Type string `json:"type"`
	// Config is the provider's configuration.
	// +optional
	Config *IdentityProviderConfig `json:"config,omitempty"`
	// ConfigSecretRef is the Secret key holding the client secret.
	// +optional
	ConfigSecretRef *SecretKeySelector `json:"configSecretRef,omitempty"`
	// ScimConfig is the SCIM provisioning configuration.
	// +optional
	ScimConfig *IdentityProviderScimConfig `json:"scimConfig,omitempty"`
	// Cloudflare is the account and credentials.
	Cloudflare CloudflareDetails `json:"cloudflare"`
}

// SecretKeySelector selects a key of a Secret.
type SecretKeySelector struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Key is the key in the Secret.
	Key string `json:"key"`
	// Namespace is the Secret's namespace (default: conflux-sync's).
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// IdentityProviderConfig is an identity provider's configuration.
type IdentityProviderConfig struct {
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret is read from the object when the provider is written
	// (never stored in conflux-sync's log); prefer configSecretRef, since
	// whoever may read this object reads it.
	// +optional
	ClientSecret string `json:"clientSecret,omitempty"`
	// +optional
	AppsDomain string `json:"appsDomain,omitempty"`
	// +optional
	AuthURL string `json:"authUrl,omitempty"`
	// +optional
	TokenURL string `json:"tokenUrl,omitempty"`
	// +optional
	CertsURL string `json:"certsUrl,omitempty"`
	// +optional
	Scopes []string `json:"scopes,omitempty"`
	// +optional
	Attributes []string `json:"attributes,omitempty"`
	// +optional
	IdPPublicCert string `json:"idpPublicCert,omitempty"`
	// +optional
	IssuerURL string `json:"issuerUrl,omitempty"`
	// +optional
	SSOTargetURL string `json:"ssoTargetUrl,omitempty"`
	// +optional
	SignRequest *bool `json:"signRequest,omitempty"`
	// +optional
	EmailClaimName string `json:"emailClaimName,omitempty"`
	// +optional
	DirectoryID string `json:"directoryId,omitempty"`
	// +optional
	SupportGroups *bool `json:"supportGroups,omitempty"`
	// +optional
	PKCEEnabled *bool `json:"pkceEnabled,omitempty"`
	// +optional
	ConditionalAccessEnabled *bool `json:"conditionalAccessEnabled,omitempty"`
	// +optional
	Claims []string `json:"claims,omitempty"`
	// +optional
	EmailAttributeName string `json:"emailAttributeName,omitempty"`
	// HeaderAttributes are not synced (cloudflare-go v0 has no field for them).
	// +optional
	HeaderAttributes []SAMLHeaderAttribute `json:"headerAttributes,omitempty"`
	// APIToken is read from the object when the provider is written
	// (never stored in conflux-sync's log).
	// +optional
	APIToken string `json:"apiToken,omitempty"`
	// +optional
	OktaAccount string `json:"oktaAccount,omitempty"`
	// +optional
	OktaAuthorizationServerID string `json:"oktaAuthorizationServerId,omitempty"`
	// +optional
	OneloginAccount string `json:"oneloginAccount,omitempty"`
	// +optional
	PingEnvID string `json:"pingEnvId,omitempty"`
	// +optional
	CentrifyAccount string `json:"centrifyAccount,omitempty"`
	// +optional
	CentrifyAppID string `json:"centrifyAppId,omitempty"`
	// +optional
	RedirectURL string `json:"redirectUrl,omitempty"`
}

// IdentityProviderScimConfig is SCIM provisioning.
type IdentityProviderScimConfig struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Secret is not applied: the API makes the SCIM secret.
	// +optional
	Secret string `json:"secret,omitempty"`
	// +optional
	UserDeprovision *bool `json:"userDeprovision,omitempty"`
	// +optional
	SeatDeprovision *bool `json:"seatDeprovision,omitempty"`
	// +optional
	GroupMemberDeprovision *bool `json:"groupMemberDeprovision,omitempty"`
	// +optional
	IdentityUpdateBehavior string `json:"identityUpdateBehavior,omitempty"`
}

// SAMLHeaderAttribute maps a SAML attribute to a header.
type SAMLHeaderAttribute struct {
	AttributeName string `json:"attributeName"`
	HeaderName    string `json:"headerName"`
	// +optional
	Required bool `json:"required,omitempty"`
}

// AccessIdentityProviderStatus is what conflux-sync last did for an
// AccessIdentityProvider, in the shape cloudflare-operator writes.
type AccessIdentityProviderStatus struct {
	CommonStatus `json:",inline"`
	// ProviderID is the Cloudflare identity provider id.
	// +optional
	ProviderID string `json:"providerId,omitempty"`
	// AccountID is the provider's account.
	// +optional
	AccountID string `json:"accountId,omitempty"`
}

// AccessIdentityProvider is an Access identity provider.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=accessidp
// +kubebuilder:printcolumn:name="ProviderID",type=string,JSONPath=`.status.providerId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessIdentityProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AccessIdentityProviderSpec   `json:"spec"`
	Status AccessIdentityProviderStatus `json:"status,omitempty"`
}

// AccessIdentityProviderList is a list of AccessIdentityProviders.
//
// +kubebuilder:object:root=true
type AccessIdentityProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessIdentityProvider `json:"items"`
}
