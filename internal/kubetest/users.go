package kubetest

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// UserConfig provisions a user the API server authenticates (by a client
// certificate naming it and its groups) and returns a rest.Config reaching
// the API server as that user. The API server authorizes with RBAC, so the
// user may do nothing beyond what every authenticated user may (discovery)
// until a binding grants it a role. Name must be unique per Env.
func (e *Env) UserConfig(name string, groups ...string) (*rest.Config, error) {
	// The same client-side rate limits as the administrator, so a test's
	// timing does not depend on who it runs as.
	base := &rest.Config{QPS: e.Config.QPS, Burst: e.Config.Burst}
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, base)
	if err != nil {
		return nil, fmt.Errorf("add envtest user %s: %w", name, err)
	}
	return u.Config(), nil
}

// Kubeconfig writes a kubeconfig file reaching the API server as an
// administrator (for kubectl) into dir and returns its path.
func (e *Env) Kubeconfig(dir string) (string, error) {
	u, err := e.env.AddUser(envtest.User{Name: "kubectl-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("add envtest user for kubectl: %w", err)
	}
	raw, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, raw, 0o600)
}
