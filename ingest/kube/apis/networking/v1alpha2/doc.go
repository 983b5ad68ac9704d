// Package v1alpha2 holds the Go types of the cloudflare-operator CRDs that
// conflux-sync reads: group networking.cloudflare-operator.io, version
// v1alpha2. The JSON field names are the ones cloudflare-operator users
// already write (adyanth/cloudflare-operator and StringKe/cloudflare-operator),
// so their existing manifests apply unchanged for these fields.
//
// The CRD manifests under deploy/crds/operators are generated from these types by
// `make generate` (controller-gen); so is zz_generated.deepcopy.go. The
// OpenAPI validation and the CEL rules (x-kubernetes-validations) refuse
// invalid field combinations at admission, before ingest sees the object.
//
// +kubebuilder:object:generate=true
// +groupName=networking.cloudflare-operator.io
package v1alpha2
