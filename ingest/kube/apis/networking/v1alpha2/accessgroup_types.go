package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AccessGroupSpec is a reusable Zero Trust Access group (the
// cloudflare.AccessGroup kind), in cloudflare-operator's shape: the object
// is cluster-scoped, and each rule sets one rule type.
type AccessGroupSpec struct {
	// Name is the group's name in Cloudflare; default the object's name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name,omitempty"`

	// Include: a user matching any of these rules is in the group.
	// +kubebuilder:validation:MinItems=1
	Include []AccessGroupRule `json:"include"`

	// Exclude: a user matching any of these rules is not in the group.
	// +optional
	Exclude []AccessGroupRule `json:"exclude,omitempty"`

	// Require: a user must match every one of these rules as well.
	// +optional
	Require []AccessGroupRule `json:"require,omitempty"`

	// IsDefault is cloudflare-operator's field; it never reached the API
	// (neither the operator nor conflux-sync sends it).
	// +optional
	IsDefault *bool `json:"isDefault,omitempty"`

	// Cloudflare is the account and credentials.
	// +optional
	Cloudflare CloudflareDetails `json:"cloudflare,omitempty"`
}

// AccessGroupRule is one rule; it sets exactly one rule type.
type AccessGroupRule struct {
	// Email matches one email address.
	// +optional
	Email *AccessGroupEmailRule `json:"email,omitempty"`
	// EmailDomain matches every address of a domain.
	// +optional
	EmailDomain *AccessGroupEmailDomainRule `json:"emailDomain,omitempty"`
	// EmailList matches the addresses of a Zero Trust list (by id).
	// +optional
	EmailList *AccessGroupIDRule `json:"emailList,omitempty"`
	// Everyone matches every user.
	// +optional
	Everyone bool `json:"everyone,omitempty"`
	// IPRanges matches requests from these ranges (any of them).
	// +optional
	IPRanges *AccessGroupIPRangesRule `json:"ipRanges,omitempty"`
	// IPList matches the addresses of a Zero Trust list (by id).
	// +optional
	IPList *AccessGroupIDRule `json:"ipList,omitempty"`
	// Country matches requests from these countries (ISO codes, any of them).
	// +optional
	Country *AccessGroupCountryRule `json:"country,omitempty"`
	// Group matches the members of another Access group (by id).
	// +optional
	Group *AccessGroupIDRule `json:"group,omitempty"`
	// ServiceToken matches one service token (by id).
	// +optional
	ServiceToken *AccessGroupServiceTokenRule `json:"serviceToken,omitempty"`
	// AnyValidServiceToken matches any valid service token.
	// +optional
	AnyValidServiceToken bool `json:"anyValidServiceToken,omitempty"`
	// Certificate matches any valid mTLS client certificate.
	// +optional
	Certificate bool `json:"certificate,omitempty"`
	// CommonName matches an mTLS certificate's common name.
	// +optional
	CommonName *AccessGroupCommonNameRule `json:"commonName,omitempty"`
	// DevicePosture matches devices passing a posture check.
	// +optional
	DevicePosture *AccessGroupDevicePostureRule `json:"devicePosture,omitempty"`
	// GSuite matches a Google Workspace group.
	// +optional
	GSuite *AccessGroupGSuiteRule `json:"gsuite,omitempty"`
	// GitHub matches a GitHub organization (and teams).
	// +optional
	GitHub *AccessGroupGitHubRule `json:"github,omitempty"`
	// Azure matches an Azure AD group.
	// +optional
	Azure *AccessGroupAzureRule `json:"azure,omitempty"`
	// Okta matches an Okta group.
	// +optional
	Okta *AccessGroupOktaRule `json:"okta,omitempty"`
	// OIDC matches an OIDC claim.
	// +optional
	OIDC *AccessGroupOIDCRule `json:"oidc,omitempty"`
	// SAML matches a SAML attribute.
	// +optional
	SAML *AccessGroupSAMLRule `json:"saml,omitempty"`
	// AuthMethod matches an authentication method (e.g. mfa).
	// +optional
	AuthMethod *AccessGroupAuthMethodRule `json:"authMethod,omitempty"`
	// AuthContext matches an Azure authentication context.
	// +optional
	AuthContext *AccessGroupAuthContextRule `json:"authContext,omitempty"`
	// LoginMethod matches users who logged in with an identity provider.
	// +optional
	LoginMethod *AccessGroupLoginMethodRule `json:"loginMethod,omitempty"`
	// ExternalEvaluation asks an external endpoint.
	// +optional
	ExternalEvaluation *AccessGroupExternalEvaluationRule `json:"externalEvaluation,omitempty"`
}

// AccessGroupEmailRule matches one email address.
type AccessGroupEmailRule struct {
	Email string `json:"email"`
}

// AccessGroupEmailDomainRule matches the addresses of a domain.
type AccessGroupEmailDomainRule struct {
	Domain string `json:"domain"`
}

// AccessGroupIDRule names a Cloudflare object by id.
type AccessGroupIDRule struct {
	ID string `json:"id"`
}

// AccessGroupIPRangesRule matches IP ranges.
type AccessGroupIPRangesRule struct {
	IP []string `json:"ip"`
}

// AccessGroupCountryRule matches countries.
type AccessGroupCountryRule struct {
	Country []string `json:"country"`
}

// AccessGroupServiceTokenRule matches a service token.
type AccessGroupServiceTokenRule struct {
	TokenID string `json:"tokenId"`
}

// AccessGroupCommonNameRule matches a certificate common name.
type AccessGroupCommonNameRule struct {
	CommonName string `json:"commonName"`
}

// AccessGroupDevicePostureRule matches a device posture integration.
type AccessGroupDevicePostureRule struct {
	IntegrationUID string `json:"integrationUid"`
}

// AccessGroupGSuiteRule matches a Google Workspace group by its email.
type AccessGroupGSuiteRule struct {
	Email string `json:"email"`
	// IdpRef is the identity provider: an AccessIdentityProvider (name) or its id (cloudflareId).
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupGitHubRule matches a GitHub organization, or teams of it.
type AccessGroupGitHubRule struct {
	Name string `json:"name"`
	// +optional
	Teams []string `json:"teams,omitempty"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupAzureRule matches an Azure AD group by id.
type AccessGroupAzureRule struct {
	ID string `json:"id"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupOktaRule matches an Okta group by name.
type AccessGroupOktaRule struct {
	Name string `json:"name"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupOIDCRule matches an OIDC claim.
type AccessGroupOIDCRule struct {
	ClaimName  string `json:"claimName"`
	ClaimValue string `json:"claimValue"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupSAMLRule matches a SAML attribute.
type AccessGroupSAMLRule struct {
	AttributeName  string `json:"attributeName"`
	AttributeValue string `json:"attributeValue"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupAuthMethodRule matches an authentication method.
type AccessGroupAuthMethodRule struct {
	AuthMethod string `json:"authMethod"`
}

// AccessGroupAuthContextRule matches an Azure authentication context.
type AccessGroupAuthContextRule struct {
	ID   string `json:"id"`
	AcID string `json:"acId"`
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupLoginMethodRule matches users who logged in with an identity provider.
type AccessGroupLoginMethodRule struct {
	// +optional
	IdpRef *ObjectRef `json:"idpRef,omitempty"`
}

// AccessGroupExternalEvaluationRule asks an external endpoint.
type AccessGroupExternalEvaluationRule struct {
	EvaluateURL string `json:"evaluateUrl"`
	KeysURL     string `json:"keysUrl"`
}

// AccessGroupStatus is what conflux-sync last did for an AccessGroup, in
// the shape cloudflare-operator writes.
type AccessGroupStatus struct {
	CommonStatus `json:",inline"`
	// GroupID is the group's Cloudflare id.
	// +optional
	GroupID string `json:"groupId,omitempty"`
	// AccountID is the account of the group.
	// +optional
	AccountID string `json:"accountId,omitempty"`
}

// AccessGroup is a reusable Access group.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=cloudflare,shortName=accessgrp
// +kubebuilder:printcolumn:name="GroupID",type=string,JSONPath=`.status.groupId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              AccessGroupSpec   `json:"spec,omitempty"`
	Status            AccessGroupStatus `json:"status,omitempty"`
}

// AccessGroupList is a list of AccessGroups.
//
// +kubebuilder:object:root=true
type AccessGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessGroup `json:"items"`
}
