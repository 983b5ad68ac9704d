package kube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// decode reads an object of a CRD kind (as the API server served it, in
// whatever version) into its Go type. Fields the Go type does not know are
// returned as problems: with the operators' own CRDs installed an object
// can carry fields conflux-sync's types do not model, and those must be
// named rather than silently dropped.
func decode(u *unstructured.Unstructured, into any) ([]translate.Problem, error) {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	var unknown []string
	walkUnknown(u.Object, reflect.TypeOf(into).Elem(), "", &unknown)
	slices.Sort(unknown)
	var ps []translate.Problem
	for _, f := range unknown {
		ps = append(ps, translate.Problem{Field: f, Reason: "is not a field conflux-sync knows, so it cannot be applied", Unsupported: true})
	}
	return ps, nil
}

var jsonType = reflect.TypeOf(apiextensionsv1.JSON{})

// walkUnknown appends the paths of v's keys that type t has no field for.
// metadata and status are not the user's intent and are skipped at the top.
func walkUnknown(v any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == jsonType {
		return // kept as written
	}
	switch m := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for k, e := range m {
				walkUnknown(e, t.Elem(), path+"."+k, out)
			}
		case reflect.Struct:
			fields := jsonFields(t)
			for k, e := range m {
				if path == "" && (k == "metadata" || k == "status" || k == "apiVersion" || k == "kind") {
					continue
				}
				ft, ok := fields[k]
				if !ok {
					*out = append(*out, strings.TrimPrefix(path+"."+k, "."))
					continue
				}
				walkUnknown(e, ft, path+"."+k, out)
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, e := range m {
			walkUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// jsonFields maps the JSON names of a struct's fields (inlined structs
// flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
