// Package v1alpha1 holds the Go types of the gitops.conflux.io/v1alpha1
// API: ConfluxSource, a Git repository whose ConfluxConfig files
// conflux-sync publishes to Conflux. The fields follow Flux's
// GitRepository where they mean the same thing, so Flux users read them
// without a manual.
//
// deploy/crds and zz_generated.deepcopy.go are generated from these types
// by `make generate` (controller-gen).
//
// +kubebuilder:object:generate=true
// +groupName=gitops.conflux.io
package v1alpha1
