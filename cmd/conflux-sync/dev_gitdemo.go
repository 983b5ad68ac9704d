package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/conflux-sync/conflux-sync/api"
)

// The dev demo's Git source: a repository in the data folder with two
// ConfluxConfig files, one of them rendering a secret of the dev
// --secrets-dir.
const (
	demoSourceName = "demo"
	demoSecretName = "demo-db"
	demoRepoPath   = "conflux"
)

var demoRepoFiles = map[string]string{
	demoRepoPath + "/shop-settings.yaml": `apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: settings.yaml
  namespace: acme
spec:
  application: shop
  environment: prod
  format: yaml
  description: shop settings, from Git
  template:
    content: |
      currency: EUR
      cart:
        maxItems: {{ 50 }}
  release:
    stable: true
`,
	demoRepoPath + "/shop-db.yaml": `apiVersion: gitops.conflux.io/v1alpha1
kind: ConfluxConfig
metadata:
  name: db-credentials.properties
  namespace: acme
spec:
  application: shop
  environment: prod
  format: properties
  template:
    content: |
      db.user=shop
      db.password={{ .Secrets.password }}
  secretsRef:
    name: ` + demoSecretName + `
`,
}

// createDemoRepo writes the demo secret and repository, unless a kept
// --data-dir already has them.
func createDemoRepo(repoDir, secretsDir string) error {
	secretDir := filepath.Join(secretsDir, demoSecretName)
	if err := os.MkdirAll(secretDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secretDir, "password"), []byte("dev-only-password"), 0o600); err != nil {
		return err
	}
	if _, err := gogit.PlainOpen(repoDir); err == nil {
		return nil
	} else if !errors.Is(err, gogit.ErrRepositoryNotExists) {
		return err
	}
	repo, err := gogit.PlainInitWithOptions(repoDir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(api.DefaultGitBranch)},
	})
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	for name, content := range demoRepoFiles {
		p := filepath.Join(repoDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
		if _, err := wt.Add(name); err != nil {
			return err
		}
	}
	_, err = wt.Commit("demo ConfluxConfig files", &gogit.CommitOptions{
		Author: &object.Signature{Name: "conflux-sync dev", Email: "dev@conflux-sync.invalid", When: time.Now()},
	})
	return err
}

// registerGitDemo registers the demo repository as a Git source.
func registerGitDemo(ctx context.Context, c *api.Client, repoDir string) error {
	spec, err := json.Marshal(api.GitSourceSpec{URL: "file://" + repoDir, Path: demoRepoPath, Interval: "10s"})
	if err != nil {
		return err
	}
	if _, err := c.PutSource(ctx, api.Source{Source: api.SourceRef{Kind: api.SourceKindGit, Name: demoSourceName}, Spec: spec}); err != nil {
		return fmt.Errorf("register the demo Git source: %w", err)
	}
	return nil
}
