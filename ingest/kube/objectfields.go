package kube

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/conflux-sync/conflux-sync/api"
)

// ObjectFields reads secrets written inline in objects (an upstream
// AccessIdentityProvider's spec.config.clientSecret) straight from the API
// server when a flush needs them, as Secrets reads Secret keys: the value
// is never proposed, cached by conflux-sync or logged.
type ObjectFields struct {
	client dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewObjectFields returns an ObjectFields reading through cfg.
func NewObjectFields(cfg *rest.Config) (*ObjectFields, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: dynamic client: %w", err)
	}
	return &ObjectFields{client: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// ObjectFieldValue returns the string at ref.Field of the object ref
// names, as the API server holds it now. Errors name the reference, never
// a value.
func (o *ObjectFields) ObjectFieldValue(ctx context.Context, ref api.ObjectFieldRef) (string, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", fmt.Errorf("apiVersion %q: %w", ref.APIVersion, err)
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
	m, err := o.mapper.RESTMapping(gk, gv.Version)
	if err != nil {
		// A CRD installed after the last discovery is found on the next
		// read (the error is retried).
		o.mapper.Reset()
		return "", fmt.Errorf("kind %s/%s is not served: %w", ref.APIVersion, ref.Kind, err)
	}
	// A list of the one name, not a get: conflux-sync's role lists and
	// watches the kinds it translates and needs no other verb for this.
	list, err := o.client.Resource(m.Resource).Namespace(ref.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", ref.Name).String(),
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("read %s: %w", objectName(ref), err)
	case len(list.Items) == 0:
		return "", fmt.Errorf("%s not found", objectName(ref))
	}
	v, found, err := unstructured.NestedString(list.Items[0].Object, strings.Split(ref.Field, ".")...)
	switch {
	case err != nil:
		// NestedString's error quotes the type, never the value.
		return "", fmt.Errorf("%s field %s is not a string", objectName(ref), ref.Field)
	case !found || v == "":
		return "", fmt.Errorf("%s has no field %s", objectName(ref), ref.Field)
	}
	return v, nil
}

func objectName(ref api.ObjectFieldRef) string {
	if ref.Namespace != "" {
		return ref.Kind + " " + ref.Namespace + "/" + ref.Name
	}
	return ref.Kind + " " + ref.Name
}
