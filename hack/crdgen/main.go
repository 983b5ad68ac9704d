// Command crdgen turns the CRDs controller-gen writes for
// networking.cloudflare-operator.io/v1alpha2 (one version, from the Go
// types in ingest/kube/apis/networking/v1alpha2) into the CRDs conflux-sync
// ships: every version the cloudflare-operators serve, in both of their API
// groups. `make generate` runs it.
//
// The versions of one kind share one schema and the conversion strategy is
// None, so an object written in either version reads back in the other
// with every field it had: nothing is converted, so nothing can be lost.
// The schema is the union of the versions' fields (v1alpha1's cloudflared
// replicas and image next to v1alpha2's deployPatch), which is what makes
// that possible without a conversion webhook, and what lets conflux-sync
// serve the API with no webhook for the API server to depend on.
//
// The operators' kinds are written to -out/operators, conflux-sync's own
// (gitops.conflux.io) to -out, each folder with its kustomization.
//
//	go run ./hack/crdgen -in DIR -out deploy/crds
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	// stringKeGroup is StringKe/cloudflare-operator's group, and the one the
	// Go types are generated for.
	stringKeGroup = "networking.cloudflare-operator.io"
	// adyanthGroup is adyanth/cloudflare-operator's group.
	adyanthGroup = "networking.cfargotunnel.com"
)

// twoVersions are the kinds both operators serve as v1alpha1 (and
// Tunnel/ClusterTunnel also as v1alpha2); they are the kinds of adyanth's
// group too. conflux-sync serves them as v1alpha1 and v1alpha2 in both
// groups.
var twoVersions = []string{"Tunnel", "ClusterTunnel", "TunnelBinding", "AccessTunnel"}

func main() {
	in := flag.String("in", "", "folder with controller-gen's CRDs")
	out := flag.String("out", "", "folder to write the shipped CRDs to")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: crdgen -in DIR -out DIR")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "crdgen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	files, err := filepath.Glob(filepath.Join(in, "*.yaml"))
	if err != nil {
		return err
	}
	// The operators' kinds go into their own folder: a cluster that has
	// an operator's CRDs keeps them (kubectl apply would replace them),
	// so deploy/base installs conflux-sync's own CRDs only.
	operators := filepath.Join(out, operatorsDir)
	if err := os.MkdirAll(operators, 0o755); err != nil {
		return err
	}
	var written, writtenOperators []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		var crds []apiextensionsv1.CustomResourceDefinition
		if crd.Spec.Group != stringKeGroup {
			crds = append(crds, crd) // another group (gitops.conflux.io): as generated
		} else {
			if crds, err = expand(crd); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		for _, c := range crds {
			name := c.Spec.Group + "_" + c.Spec.Names.Plural + ".yaml"
			dir, list := out, &written
			if c.Spec.Group == stringKeGroup || c.Spec.Group == adyanthGroup {
				dir, list = operators, &writtenOperators
			}
			if err := write(filepath.Join(dir, name), c); err != nil {
				return err
			}
			*list = append(*list, name)
		}
	}
	slices.Sort(written)
	slices.Sort(writtenOperators)
	if err := writeKustomization(filepath.Join(out, "kustomization.yaml"),
		"conflux-sync's own CRDs, which deploy/base installs.", written); err != nil {
		return err
	}
	return writeKustomization(filepath.Join(operators, "kustomization.yaml"),
		"The cloudflare-operators' kinds, every version, in both groups, for a cluster that has none of\n# their CRDs: kubectl apply -k deploy/crds/operators. A cluster that has them keeps its own.", writtenOperators)
}

// operatorsDir is the folder of the operators' kinds under -out.
const operatorsDir = "operators"

// expand returns the CRDs of one kind: its own group's, and adyanth's for
// the kinds that group has.
func expand(crd apiextensionsv1.CustomResourceDefinition) ([]apiextensionsv1.CustomResourceDefinition, error) {
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha2" {
		return nil, fmt.Errorf("want exactly the version v1alpha2 from controller-gen, got %d versions", len(crd.Spec.Versions))
	}
	base := crd.Spec.Versions[0]
	base.Served, base.Storage = true, true
	crd.Spec.Versions = []apiextensionsv1.CustomResourceDefinitionVersion{base}
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	if !slices.Contains(twoVersions, crd.Spec.Names.Kind) {
		return []apiextensionsv1.CustomResourceDefinition{crd}, nil
	}
	v1 := *base.DeepCopy()
	v1.Name, v1.Storage = "v1alpha1", false
	crd.Spec.Versions = []apiextensionsv1.CustomResourceDefinitionVersion{v1, base}

	ady := *crd.DeepCopy()
	ady.Spec.Group = adyanthGroup
	ady.Name = ady.Spec.Names.Plural + "." + adyanthGroup
	return []apiextensionsv1.CustomResourceDefinition{crd, ady}, nil
}

func write(path string, crd apiextensionsv1.CustomResourceDefinition) error {
	raw, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	// A CRD manifest has no status; the API server fills it.
	raw = dropStatus(raw)
	header := "# Generated by `make generate` (controller-gen, then hack/crdgen); do not edit.\n---\n"
	return os.WriteFile(path, append([]byte(header), raw...), 0o644)
}

// dropStatus removes the empty top-level status the typed CRD marshals.
func dropStatus(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\nstatus:\n")); i >= 0 {
		return raw[:i+1]
	}
	return raw
}

func writeKustomization(path, what string, files []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by `make generate`; do not edit.\n# %s\n", what)
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  - %s\n", f)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
