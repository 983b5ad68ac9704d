package v1alpha2

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AccessApplicationSpec is one Cloudflare Access application (the
// cloudflare.AccessApplication kind).
//
// +kubebuilder:validation:XValidation:rule="!has(self.autoRedirectToIdentity) || !self.autoRedirectToIdentity || (has(self.allowedIdps) && size(self.allowedIdps) == 1)",message="autoRedirectToIdentity needs exactly one entry in allowedIdps"
// +kubebuilder:validation:XValidation:rule="!has(self.id) || (has(self.adopt) && self.adopt)",message="id adopts an existing application: set adopt: true with it"
type AccessApplicationSpec struct {
	// Name is the application's name in Cloudflare.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=350
	Name string `json:"name"`

	// Domain is the protected hostname, optionally with a path: app.example.com/admin.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(/.*)?$`
	Domain string `json:"domain"`

	// Type of the application.
	// +optional
	// +kubebuilder:default=self_hosted
	// +kubebuilder:validation:Enum=self_hosted;ssh;vnc
	Type string `json:"type,omitempty"`

	// SessionDuration is how long a login lasts, e.g. 24h or 30m.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	SessionDuration string `json:"sessionDuration,omitempty"`

	// Policies are ids of reusable Access policies, in precedence order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9_-]{1,64}$`
	Policies []string `json:"policies,omitempty"`

	// AllowedIdps are ids of the identity providers users may log in with.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9_-]{1,64}$`
	AllowedIdps []string `json:"allowedIdps,omitempty"`

	// AutoRedirectToIdentity skips the identity provider picker (needs exactly one allowedIdps entry).
	// +optional
	AutoRedirectToIdentity bool `json:"autoRedirectToIdentity,omitempty"`

	// AppLauncherVisible shows the application in the App Launcher (default true).
	// +optional
	AppLauncherVisible *bool `json:"appLauncherVisible,omitempty"`

	// Tags of the application.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=255
	Tags []string `json:"tags,omitempty"`

	// Adopt takes over an existing application that conflux-sync did not create.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// ID of an existing application to adopt (with adopt).
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_-]{1,64}$`
	ID string `json:"id,omitempty"`

	// Cloudflare is the account and credentials.
	Cloudflare CloudflareDetails `json:"cloudflare"`
}

// AccessApplicationStatus is what conflux-sync last did for an AccessApplication.
type AccessApplicationStatus struct {
	CommonStatus `json:",inline"`
	// ApplicationID is the Cloudflare Access application id.
	// +optional
	ApplicationID string `json:"applicationId,omitempty"`
	// AUD is the application audience tag.
	// +optional
	AUD string `json:"aud,omitempty"`
}

// AccessApplication is one Cloudflare Access application.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=cloudflare
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domain`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
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
