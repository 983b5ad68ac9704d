// Command tfdocs writes the Terraform provider's documentation in the
// registry's layout (docs/terraform: index.md, resources/<name>.md,
// data-sources/<name>.md) with tfplugindocs, from the provider's schema
// descriptions, the page templates in tfprovider/templates and the
// examples in examples/; with -check it writes nothing and fails when the
// checked-in pages or the examples' formatting differ from what it would
// write.
//
// tfplugindocs on its own would `go build` the module root (which holds no
// main package here) and download terraform from releases.hashicorp.com
// when it finds none. Instead the schema comes from the real terraform on
// PATH: `terraform providers schema -json` over a freshly built provider
// installed through a dev_overrides CLI configuration (no registry, no
// `terraform init`), handed to tfplugindocs as --providers-schema. So it
// runs where only the Go module proxy is reachable.
//
// It is its own module so that tfplugindocs' dependencies stay out of the
// product's go.mod; run it from this folder:
//
//	go run . -root ../..          # make docs
//	go run . -root ../.. -check   # make docs-check (part of make test)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The layout, relative to the repository root.
const (
	docsDir      = "docs/terraform"
	templatesDir = "tfprovider/templates"
	examplesDir  = "examples"
	providerMain = "./cmd/terraform-provider-conflux"
	toolModule   = "hack/tfdocs"

	// providerSource is the provider's address (tfprovider.Address), as
	// required_providers and dev_overrides name it.
	providerSource = "registry.terraform.io/conflux-sync/conflux"
	// providerName is what tfplugindocs strips from resource names to name
	// the pages (conflux_config -> resources/config.md) and shows in titles.
	providerName = "conflux"
)

// managed are the entries of docsDir that tfplugindocs owns: it removes and
// rewrites them on every run. Other files there (hand-written guides next
// to the generated pages) are neither touched nor checked.
var managed = []string{"index.md", "resources", "data-sources", "guides", "functions", "ephemeral-resources", "actions", "list-resources", "state-stores"}

func main() {
	root := flag.String("root", "../..", "the repository root")
	check := flag.Bool("check", false, "write nothing; fail when the checked-in docs or the examples' formatting are stale")
	flag.Parse()
	if err := run(*root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "tfdocs:", err)
		os.Exit(1)
	}
}

func run(root string, check bool) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, templatesDir)); err != nil {
		return fmt.Errorf("-root %s is not the repository root: %w", root, err)
	}
	tmp, err := os.MkdirTemp("", "tfdocs")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if err := formatExamples(root, check); err != nil {
		return err
	}
	schema, err := providerSchema(root, tmp)
	if err != nil {
		return err
	}
	out := docsDir
	if check {
		// tfplugindocs writes only below the provider directory; a
		// relative path leads it to the scratch folder instead.
		if out, err = filepath.Rel(root, filepath.Join(tmp, "docs")); err != nil {
			return err
		}
	}
	if err := tfplugindocs(root, tmp, schema, out); err != nil {
		return err
	}
	if err := validate(root, tmp, schema, filepath.Join(root, out)); err != nil {
		return err
	}
	if check {
		return compare(filepath.Join(tmp, "docs"), filepath.Join(root, docsDir))
	}
	return nil
}

// formatExamples runs terraform fmt over the examples, which the pages
// include verbatim; with check it only reports what fmt would change.
func formatExamples(root string, check bool) error {
	args := []string{"fmt", "-recursive"}
	if check {
		args = append(args, "-check", "-diff")
	}
	cmd := exec.Command("terraform", append(args, examplesDir)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		if check {
			return fmt.Errorf("terraform fmt would change the examples (run make docs):\n%s", out)
		}
		return fmt.Errorf("terraform fmt %s: %w\n%s", examplesDir, err, out)
	}
	return nil
}

// providerSchema builds the provider and returns the path of a file with
// `terraform providers schema -json` for it.
func providerSchema(root, tmp string) (string, error) {
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-"+providerName), providerMain)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the provider: %w\n%s", err, out)
	}
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := os.WriteFile(cliConfig, fmt.Appendf(nil, "provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", providerSource, bin), 0o644); err != nil {
		return "", err
	}
	work := filepath.Join(tmp, "schema")
	if err := os.Mkdir(work, 0o755); err != nil {
		return "", err
	}
	mainTF := fmt.Sprintf("terraform {\n  required_providers {\n    %s = { source = %q }\n  }\n}\n", providerName, providerSource)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(mainTF), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("terraform", "providers", "schema", "-json")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	schema, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("terraform providers schema -json: %w\n%s", err, stderr.Bytes())
	}
	// tfplugindocs looks a provider up by its short name (or under
	// hashicorp/), not by its full address.
	var doc struct {
		FormatVersion   string                     `json:"format_version"`
		ProviderSchemas map[string]json.RawMessage `json:"provider_schemas"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		return "", fmt.Errorf("terraform providers schema -json: %w", err)
	}
	ours, ok := doc.ProviderSchemas[providerSource]
	if !ok {
		return "", fmt.Errorf("terraform providers schema -json has no schema for %s", providerSource)
	}
	doc.ProviderSchemas = map[string]json.RawMessage{providerName: ours}
	if schema, err = json.Marshal(doc); err != nil {
		return "", err
	}
	path := filepath.Join(tmp, "schema.json")
	return path, os.WriteFile(path, schema, 0o644)
}

// tfplugindocs renders the pages into out (relative to root) with the
// version this module pins; its chatty log is shown only on failure.
func tfplugindocs(root, tmp, schema, out string) error {
	cmd := exec.Command("go", "tool", "tfplugindocs", "generate",
		"--provider-dir", root,
		"--provider-name", providerName,
		"--rendered-provider-name", providerName,
		"--providers-schema", schema,
		"--rendered-website-dir", out,
		"--website-source-dir", templatesDir,
		"--examples-dir", examplesDir,
		"--website-temp-dir", filepath.Join(tmp, "website"),
	)
	cmd.Dir = filepath.Join(root, toolModule)
	if log, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tfplugindocs generate: %w\n%s", err, log)
	}
	return nil
}

// validate runs tfplugindocs' check of the registry's rules (layout,
// front matter, a page for every resource and data source) over the
// rendered pages, copied to the docs folder of a scratch provider
// repository: the registry reads docs/ at a provider repository's root,
// where this repository keeps its other documentation.
func validate(root, tmp, schema, rendered string) error {
	pages, err := managedFiles(rendered)
	if err != nil {
		return err
	}
	repo := filepath.Join(tmp, "registry")
	for rel, body := range pages {
		path := filepath.Join(repo, "docs", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "tool", "tfplugindocs", "validate",
		"--provider-dir", repo,
		"--provider-name", providerName,
		"--providers-schema", schema,
	)
	cmd.Dir = filepath.Join(root, toolModule)
	if log, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tfplugindocs validate (the registry's rules): %w\n%s", err, log)
	}
	return nil
}

// compare reports every managed page that differs between the rendered
// folder and the checked-in one, or exists in only one of them.
func compare(rendered, checkedIn string) error {
	want, err := managedFiles(rendered)
	if err != nil {
		return err
	}
	have, err := managedFiles(checkedIn)
	if err != nil {
		return err
	}
	var stale []string
	for rel, body := range want {
		got, ok := have[rel]
		switch {
		case !ok:
			stale = append(stale, rel+" (missing)")
		case !bytes.Equal(got, body):
			stale = append(stale, rel+" (differs)")
		}
	}
	for rel := range have {
		if _, ok := want[rel]; !ok {
			stale = append(stale, rel+" (not generated any more)")
		}
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		return fmt.Errorf("%s is stale: run make docs and commit the result:\n  %s", docsDir, strings.Join(stale, "\n  "))
	}
	return nil
}

// managedFiles reads the files of dir that tfplugindocs owns, by path
// relative to dir.
func managedFiles(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range managed {
		err := filepath.WalkDir(filepath.Join(dir, name), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			files[filepath.ToSlash(rel)] = body
			return err
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return files, nil
}
