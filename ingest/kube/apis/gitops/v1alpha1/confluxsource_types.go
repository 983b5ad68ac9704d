package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequestedAtAnnotation asks for a sync now: when its value differs from
// status.lastHandledReconcileAt the source is polled at once, e.g.
// kubectl annotate confluxsource app gitops.conflux.io/requestedAt="$(date +%s)" --overwrite
const RequestedAtAnnotation = "gitops.conflux.io/requestedAt"

// ConfluxSourceSpec is the repository to poll and how.
type ConfluxSourceSpec struct {
	// URL of the repository: https://, http://, ssh://, git:// or file://.
	// +kubebuilder:validation:Pattern=`^(https?|ssh|git|file)://.*$`
	URL string `json:"url"`
	// Ref selects the commit: commit wins over tag, which wins over branch.
	// Default: the branch main.
	// +optional
	Ref *GitRef `json:"ref,omitempty"`
	// Interval between polls; only when the ref moved is anything fetched.
	// Default 1m.
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Interval string `json:"interval,omitempty"`
	// Timeout of one Git operation. Default 60s.
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Timeout string `json:"timeout,omitempty"`
	// Path is the folder scanned for ConfluxConfig files (*.yaml, *.yml).
	// Default: the repository root.
	// +optional
	Path string `json:"path,omitempty"`
	// SecretRef names a Secret of this namespace with the Git credentials:
	// username and password, or bearerToken, for https (ca.crt for a
	// private CA); identity and known_hosts (and password for an encrypted
	// key) for ssh.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Suspend stops polling; what was published stays.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// Prune removes a config from Conflux when its file is deleted from
	// Git (and every config when the ConfluxSource is deleted). Default
	// true.
	// +kubebuilder:default=true
	// +optional
	Prune *bool `json:"prune,omitempty"`
}

// GitRef selects a commit.
type GitRef struct {
	// +optional
	Branch string `json:"branch,omitempty"`
	// +optional
	Tag string `json:"tag,omitempty"`
	// Commit is a full SHA-1.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +optional
	Commit string `json:"commit,omitempty"`
}

// LocalObjectReference names an object of the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ConfluxSourceStatus is what the leader last did with the source. It
// never holds content or secret values: only commits, hashes and ids.
type ConfluxSourceStatus struct {
	// Conditions: Ready, Reconciling, Stalled (kstatus), with reasons such
	// as Succeeded, GitOperationFailed, AuthenticationFailed, RefNotFound,
	// Unreachable, InvalidConfig, Suspended.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastSyncedCommit is the commit every valid config was proposed from.
	// +optional
	LastSyncedCommit string `json:"lastSyncedCommit,omitempty"`
	// LastAttemptedCommit is the newest commit tried.
	// +optional
	LastAttemptedCommit string `json:"lastAttemptedCommit,omitempty"`
	// Inventory lists the configs this source publishes.
	// +optional
	// +listType=atomic
	Inventory []InventoryEntry `json:"inventory,omitempty"`
	// LastHandledReconcileAt is the last gitops.conflux.io/requestedAt
	// value handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
	// FileErrors lists the files of the last attempted commit that failed,
	// each "path:line: reason".
	// +optional
	FileErrors []string `json:"fileErrors,omitempty"`
}

// InventoryEntry is one Conflux config the source publishes.
type InventoryEntry struct {
	// Config is tenant/application/environment/name.
	Config string `json:"config"`
	// File is the repository file defining it.
	File string `json:"file"`
	// Release is the release name the file publishes under.
	Release string `json:"release"`
	// ContentSHA256 is the sha256 of the rendered content.
	ContentSHA256 string `json:"contentSha256"`
	// VersionID is the Conflux version holding it, once published.
	// +optional
	VersionID string `json:"versionId,omitempty"`
}

// ConfluxSource is a Git repository whose ConfluxConfig files conflux-sync
// renders and publishes to Conflux.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=conflux,shortName=cxs
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Commit",type=string,JSONPath=`.status.lastSyncedCommit`
// +kubebuilder:printcolumn:name="Status",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ConfluxSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ConfluxSourceSpec   `json:"spec"`
	Status ConfluxSourceStatus `json:"status,omitempty"`
}

// ConfluxSourceList is a list of ConfluxSources.
//
// +kubebuilder:object:root=true
type ConfluxSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ConfluxSource `json:"items"`
}
