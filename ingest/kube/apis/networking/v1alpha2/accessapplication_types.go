package v1alpha2

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccessApplicationSpec is one Cloudflare Access application (the
// cloudflare.AccessApplication kind), in cloudflare-operator's shape. The
// fields conflux-sync does not sync yet are accepted so existing manifests
// apply; an object that sets one is not synced and says which
// (Ready=False, reason Unsupported) rather than being synced without it.
type AccessApplicationSpec struct {
	// Name is the application's name in Cloudflare; default the object's name.
	// +optional
	// +kubebuilder:validation:MaxLength=350
	Name string `json:"name,omitempty"`

	// Domain is the protected hostname, optionally with a path: app.example.com/admin.
	// +kubebuilder:validation:MaxLength=1024
	Domain string `json:"domain"`

	// Type of the application.
	// +optional
	// +kubebuilder:default=self_hosted
	// +kubebuilder:validation:Enum=self_hosted;saas;ssh;vnc;app_launcher;warp;biso;bookmark;dash_sso;infrastructure
	Type string `json:"type,omitempty"`

	// SessionDuration is how long a login lasts, e.g. 24h or 30m.
	// +optional
	// +kubebuilder:default="24h"
	SessionDuration string `json:"sessionDuration,omitempty"`

	// ReusablePolicyRefs are the reusable Access policies of the
	// application, in precedence order: by id (cloudflareId), or an
	// AccessPolicy object (name) whose status has its id.
	// +optional
	ReusablePolicyRefs []PolicyRef `json:"reusablePolicyRefs,omitempty"`

	// Policies are inline (application-scoped) policies.
	// +optional
	Policies []InlinePolicy `json:"policies,omitempty"`

	// ReusableGroupRefs are Access groups for the inline policies.
	// +optional
	ReusableGroupRefs []ObjectRef `json:"reusableGroupRefs,omitempty"`

	// AllowedIdps are ids of the identity providers users may log in with.
	// +optional
	AllowedIdps []string `json:"allowedIdps,omitempty"`

	// IdentityProviderRefs add identity providers by id (cloudflareId) or an
	// AccessIdentityProvider object (name) whose status has its id.
	// +optional
	IdentityProviderRefs []ObjectRef `json:"identityProviderRefs,omitempty"`

	// AutoRedirectToIdentity skips the identity provider picker (needs exactly one identity provider).
	// +optional
	AutoRedirectToIdentity bool `json:"autoRedirectToIdentity,omitempty"`

	// AppLauncherVisible shows the application in the App Launcher (default true).
	// +optional
	AppLauncherVisible *bool `json:"appLauncherVisible,omitempty"`

	// Tags of the application.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	Tags []string `json:"tags,omitempty"`

	// SelfHostedDomains are more hostnames the application protects.
	// +optional
	SelfHostedDomains []string `json:"selfHostedDomains,omitempty"`

	// Destinations are the public and private destinations of the application.
	// +optional
	Destinations []apiextensionsv1.JSON `json:"destinations,omitempty"`

	// The application's other settings, as the Cloudflare API names them.
	// +optional
	DomainType string `json:"domainType,omitempty"`
	// +optional
	PrivateAddress string `json:"privateAddress,omitempty"`
	// +optional
	EnableBindingCookie *bool `json:"enableBindingCookie,omitempty"`
	// +optional
	HTTPOnlyCookieAttribute *bool `json:"httpOnlyCookieAttribute,omitempty"`
	// +optional
	PathCookieAttribute *bool `json:"pathCookieAttribute,omitempty"`
	// +optional
	SameSiteCookieAttribute string `json:"sameSiteCookieAttribute,omitempty"`
	// +optional
	LogoURL string `json:"logoUrl,omitempty"`
	// +optional
	SkipInterstitial *bool `json:"skipInterstitial,omitempty"`
	// +optional
	OptionsPreflightBypass *bool `json:"optionsPreflightBypass,omitempty"`
	// +optional
	ServiceAuth401Redirect *bool `json:"serviceAuth401Redirect,omitempty"`
	// +optional
	CustomDenyMessage string `json:"customDenyMessage,omitempty"`
	// +optional
	CustomDenyURL string `json:"customDenyUrl,omitempty"`
	// +optional
	CustomNonIdentityDenyURL string `json:"customNonIdentityDenyUrl,omitempty"`
	// +optional
	AllowAuthenticateViaWarp *bool `json:"allowAuthenticateViaWarp,omitempty"`
	// +optional
	CustomPages []string `json:"customPages,omitempty"`
	// +optional
	GatewayRules []string `json:"gatewayRules,omitempty"`
	// +optional
	CorsHeaders *apiextensionsv1.JSON `json:"corsHeaders,omitempty"`
	// +optional
	SaasApp *apiextensionsv1.JSON `json:"saasApp,omitempty"`
	// +optional
	ScimConfig *apiextensionsv1.JSON `json:"scimConfig,omitempty"`
	// +optional
	AppLauncherCustomization *apiextensionsv1.JSON `json:"appLauncherCustomization,omitempty"`
	// +optional
	TargetContexts []apiextensionsv1.JSON `json:"targetContexts,omitempty"`

	// Adopt takes over an existing application that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// ID of an existing application to adopt.
	// +optional
	ID string `json:"id,omitempty"`

	// Cloudflare is the account and credentials.
	// +optional
	Cloudflare CloudflareDetails `json:"cloudflare,omitempty"`
}

// PolicyRef names a reusable Access policy.
type PolicyRef struct {
	ObjectRef `json:",inline"`
	// Precedence orders the policies (cloudflare-operator keeps list order).
	// +optional
	Precedence *int32 `json:"precedence,omitempty"`
}

// InlinePolicy is an application-scoped Access policy.
type InlinePolicy struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	PolicyName string `json:"policyName,omitempty"`
	// +optional
	GroupID string `json:"groupId,omitempty"`
	// +optional
	CloudflareGroupName string `json:"cloudflareGroupName,omitempty"`
	// +optional
	// +kubebuilder:validation:Enum=allow;deny;bypass;non_identity
	Decision string `json:"decision,omitempty"`
	// +optional
	Precedence *int32 `json:"precedence,omitempty"`
	// +optional
	SessionDuration string `json:"sessionDuration,omitempty"`
	// Include, Exclude and Require are Access rules.
	// +optional
	Include []apiextensionsv1.JSON `json:"include,omitempty"`
	// +optional
	Exclude []apiextensionsv1.JSON `json:"exclude,omitempty"`
	// +optional
	Require []apiextensionsv1.JSON `json:"require,omitempty"`
}

// AccessApplicationStatus is what conflux-sync last did for an
// AccessApplication, in the shape cloudflare-operator writes.
type AccessApplicationStatus struct {
	CommonStatus `json:",inline"`
	// ApplicationID is the Cloudflare Access application id.
	// +optional
	ApplicationID string `json:"applicationId,omitempty"`
	// AUD is the application audience tag.
	// +optional
	AUD string `json:"aud,omitempty"`
	// AccountID is the account the application lives in.
	// +optional
	AccountID string `json:"accountId,omitempty"`
	// Domain is the protected domain.
	// +optional
	Domain string `json:"domain,omitempty"`
	// ResolvedPolicyIDs are the ids of the application's policies, in order.
	// +optional
	ResolvedPolicyIDs []string `json:"resolvedPolicyIds,omitempty"`
}

// AccessApplication is one Cloudflare Access application.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare,shortName=accessapp
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domain`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="AppID",type=string,JSONPath=`.status.applicationId`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AccessApplication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AccessApplicationSpec   `json:"spec"`
	Status AccessApplicationStatus `json:"status,omitempty"`
}

// AccessApplicationList is a list of AccessApplications.
//
// +kubebuilder:object:root=true
type AccessApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AccessApplication `json:"items"`
}
