package git

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git/repo"
)

// ReadDir reads the ConfluxConfig candidates (*.yaml, *.yml) under the
// folder sub of a local checkout root, with the limits a fetched commit
// has: what `gitops build` and `gitops diff` render. Keys are slash paths
// relative to root, as the poller keys a commit's files (see RepoPath).
func ReadDir(root, sub string) (map[string][]byte, error) {
	dir := filepath.Join(root, filepath.FromSlash(sub))
	files := map[string][]byte{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !(strings.HasSuffix(d.Name(), ".yaml") || strings.HasSuffix(d.Name(), ".yml")) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch total += info.Size(); {
		case info.Size() > repo.MaxFileSize:
			return fmt.Errorf("file %s is %d bytes, over the limit of %d", rel, info.Size(), repo.MaxFileSize)
		case len(files) >= repo.MaxFiles:
			return fmt.Errorf("more than %d YAML files under %s", repo.MaxFiles, dir)
		case total > repo.MaxTotalSize:
			return fmt.Errorf("the YAML files under %s exceed %d bytes in total", dir, repo.MaxTotalSize)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = b
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("folder %s does not exist", dir)
	}
	return files, err
}

// ReadSecretDir reads the secret name of a secrets folder: the directory
// root/name with one file per key, the layout of a mounted Kubernetes
// Secret (its dot-named bookkeeping entries are skipped). Errors name the
// secret and the key, never a value.
func ReadSecretDir(root, name string) (map[string]string, error) {
	ref := api.SecretName{Name: name}
	if !api.ValidSecretName(name) {
		return nil, fmt.Errorf("%q is not a valid secret name", name)
	}
	dir := filepath.Join(root, name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: no directory %s", ref, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read %s key %s: %w", ref, e.Name(), errors.Unwrap(err))
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}

// RepoPath keys files returned for the folder sub by their path from the
// repository root, so errors name the file as it is in the repository and
// a file's release name does not depend on how it was read.
func RepoPath(sub string, files map[string][]byte) map[string][]byte {
	sub = strings.Trim(path.Clean("/"+filepath.ToSlash(sub)), "/")
	if sub == "" {
		return files
	}
	out := make(map[string][]byte, len(files))
	for name, b := range files {
		out[sub+"/"+name] = b
	}
	return out
}
