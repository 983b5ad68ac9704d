package server

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git"
	"github.com/conflux-sync/conflux-sync/ingest/kube"
)

// secretSource reads whole Secrets for templates and Git credentials: a
// Kubernetes Secret when the name has a namespace, else a directory of
// --secrets-dir with one file per key (the layout of a mounted Secret
// volume). Values are read on every call and kept nowhere.
type secretSource struct {
	kube *kube.Secrets // nil without Kubernetes
	dir  string        // "" without --secrets-dir
}

// Secret returns every key of the named Secret. Errors name the Secret and
// the setting that is missing, never a value.
func (s secretSource) Secret(ctx context.Context, name api.SecretName) (map[string]string, error) {
	if name.Namespace != "" {
		if s.kube == nil {
			return nil, fmt.Errorf("cannot read %s: this server does not run with Kubernetes", name)
		}
		return s.kube.Secret(ctx, name.Namespace, name.Name)
	}
	if s.dir == "" {
		return nil, fmt.Errorf("cannot read %s: the server has no --secrets-dir", name)
	}
	return git.ReadSecretDir(s.dir, name.Name)
}

// secrets returns the node's Secret source, nil when it has none.
func (n *Node) secrets(cfg Config) (git.SecretReader, error) {
	src := secretSource{dir: cfg.SecretsDir}
	if cfg.Kube.REST != nil {
		var err error
		if src.kube, err = kube.NewSecrets(cfg.Kube.REST); err != nil {
			return nil, err
		}
	}
	if src.kube == nil && src.dir == "" {
		return nil, nil
	}
	return src, nil
}

// startGit registers the Git producer's leader tasks: GitSources of the
// admin API always, ConfluxSources when Kubernetes is on.
func (n *Node) startGit(cfg Config, secrets git.SecretReader, urls *git.URLPolicy, reg prometheus.Registerer) error {
	metrics, err := git.NewMetrics(reg)
	if err != nil {
		return err
	}
	api := git.NewAPISources(git.APISourcesConfig{
		Store: n.api, Registry: n.api, Secrets: secrets, URLPolicy: urls, Bindings: n.api, Logger: n.log, Metrics: metrics,
		StatusEvery: cfg.GitStatusEvery, Rescan: cfg.GitStatusEvery,
	})
	n.cluster.RegisterLeaderTask("git", api.Run)
	if cfg.Kube.REST == nil {
		return nil
	}
	ks, err := git.NewKubeSources(git.KubeSourcesConfig{
		REST: cfg.Kube.REST, WatchNamespaces: cfg.Kube.WatchNamespaces, Store: n.api, Secrets: secrets, URLPolicy: urls, Bindings: n.api,
		Logger: n.log, Metrics: metrics, StatusEvery: cfg.GitStatusEvery, ReadOnly: cfg.Kube.ReadOnly,
	})
	if err != nil {
		return err
	}
	n.cluster.RegisterLeaderTask("git-kube", ks.Run)
	return nil
}

// gitURLPolicy builds the Git URL policy of the node's settings.
func gitURLPolicy(cfg Config) (*git.URLPolicy, error) {
	ns, err := git.ParseNamespaceAllow(cfg.SourceAllowNamespaces)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	p, err := git.NewURLPolicy(git.URLPolicyConfig{Allow: cfg.SourceAllow, LocalSourcesDir: cfg.LocalSourcesDir, Namespaces: ns})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return p, nil
}
