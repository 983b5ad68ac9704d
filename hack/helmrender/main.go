// Command helmrender renders a Helm chart directory to stdout the way
// `helm template` does (no cluster is contacted), using Helm's own packages
// (chart/loader, chartutil, engine, releaseutil):
//
//	helmrender [-release NAME] [-namespace NS] [-f values.yaml]... [-set k=v]... [-include-crds] CHART_DIR
//
// The output is a multi-document YAML stream: with -include-crds first the
// files of the chart's crds/ folder, unchanged, then the rendered templates
// in Helm's install order, each preceded by "# Source: <file>". Hooks are
// printed after them like `helm template` does. NOTES.txt is not printed.
//
// It exists so that deploy/deploy_test.go can compare deploy/chart with
// deploy/base (kustomize) without a helm binary; hack/helmrender.sh builds
// it into .cache/bin/.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		release     = flag.String("release", "conflux-sync", "release name (.Release.Name)")
		namespace   = flag.String("namespace", "default", "release namespace (.Release.Namespace)")
		includeCRDs = flag.Bool("include-crds", false, "print the chart's crds/ folder before the templates")
		kubeVersion = flag.String("kube-version", "", "Kubernetes version for .Capabilities.KubeVersion (default: Helm's default)")
		valueFiles  listFlag
		sets        listFlag
	)
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&sets, "set", "KEY=VALUE like helm --set (repeatable; applied after -f)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] CHART_DIR\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *release, *namespace, *kubeVersion, valueFiles, sets, *includeCRDs); err != nil {
		fmt.Fprintln(os.Stderr, "helmrender:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dir, release, namespace, kubeVersion string, valueFiles, sets []string, includeCRDs bool) error {
	chrt, err := loader.Load(dir)
	if err != nil {
		return fmt.Errorf("load chart %s: %w", dir, err)
	}
	vals := map[string]interface{}{}
	for _, f := range valueFiles {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			return fmt.Errorf("values file %s: %w", f, err)
		}
		vals = chartutil.MergeTables(v.AsMap(), vals) // later files win
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, vals); err != nil {
			return fmt.Errorf("-set %s: %w", s, err)
		}
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return fmt.Errorf("dependencies: %w", err)
	}

	caps := chartutil.DefaultCapabilities.Copy()
	if kubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(kubeVersion)
		if err != nil {
			return fmt.Errorf("-kube-version: %w", err)
		}
		caps.KubeVersion = *kv
	}
	if chrt.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(chrt.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return fmt.Errorf("chart requires kubeVersion %s, incompatible with %s", chrt.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	renderVals, err := chartutil.ToRenderValues(chrt, vals, opts, caps)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	files, err := engine.Render(chrt, renderVals)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return fmt.Errorf("sort manifests: %w", err)
	}
	if includeCRDs {
		for _, crd := range chrt.CRDObjects() {
			fmt.Fprintf(w, "---\n# Source: %s\n%s\n", crd.Filename, string(crd.File.Data))
		}
	}
	for _, m := range manifests {
		fmt.Fprintf(w, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	for _, h := range hooks {
		fmt.Fprintf(w, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return nil
}
