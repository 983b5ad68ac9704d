// Package kubetest starts the real Kubernetes API server (etcd and
// kube-apiserver built by `make envtest`) that the Kubernetes tests of
// several packages run against, with conflux-sync's CRDs (or the
// cloudflare-operators' own) and the Gateway API CRDs installed. It is for
// tests only.
package kubetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// RequireEnv names the environment variable that turns missing binaries
// from a skip into a failure (`make test` and CI set it).
const RequireEnv = "CONFLUX_REQUIRE_ENVTEST"

// gatewayAPIModule is the module whose config/crd/standard holds the
// Gateway API CRDs; its version is the one go.mod requires.
const gatewayAPIModule = "sigs.k8s.io/gateway-api"

// Env is a running API server.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Root is the module's root folder.
	Root string
	env  *envtest.Environment
}

// ErrSkip wraps the reason there is no API server when the binaries are
// missing and RequireEnv is not 1.
var ErrSkip = errors.New("no envtest binaries")

// CRDs chooses the CRDs an API server starts with.
type CRDs int

const (
	// OwnCRDs are conflux-sync's (deploy/crds, deploy/crds/operators) and the Gateway API's
	// standard channel plus its experimental TCPRoute and UDPRoute.
	OwnCRDs CRDs = iota
	// UpstreamCRDs are the cloudflare-operators' own, as their users have
	// them installed (with conflux-sync's ConfluxSource CRD): adyanth/cloudflare-operator's and
	// StringKe/cloudflare-operator's config/crd/bases (from the Go module
	// cache, at the versions below), and the Gateway API CRDs as for
	// OwnCRDs.
	UpstreamCRDs
)

// The upstream operators' modules whose CRDs UpstreamCRDs installs.
const (
	AdyanthModule  = "github.com/adyanth/cloudflare-operator@v0.13.1"
	StringKeModule = "github.com/StringKe/cloudflare-operator@v0.51.0"
)

// Start starts etcd and kube-apiserver and installs the CRDs. Without the
// binaries it returns an error wrapping ErrSkip, unless RequireEnv is 1.
func Start() (*Env, error) { return StartWith(OwnCRDs) }

// discardLogs silences controller-runtime's process-wide logger once:
// SetLogger is not safe to call from tests that start API servers in
// parallel (the race detector reports it).
var discardLogs sync.Once

// StartWith is Start with a choice of CRDs.
func StartWith(crds CRDs) (*Env, error) {
	discardLogs.Do(func() { logf.SetLogger(logr.Discard()) })
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, ".cache", "envtest", "bin")
	}
	if !haveBinaries(assets) {
		msg := fmt.Sprintf("no etcd and kube-apiserver in %s: run make envtest", assets)
		if os.Getenv(RequireEnv) == "1" {
			return nil, fmt.Errorf("%s (%s=1)", msg, RequireEnv)
		}
		return nil, fmt.Errorf("%w: %s", ErrSkip, msg)
	}
	gateway, err := moduleDir(root, gatewayAPIModule)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	for _, name := range []string{"gatewayclasses", "gateways", "httproutes"} {
		env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(gateway, "config", "crd", "standard", "gateway.networking.k8s.io_"+name+".yaml"))
	}
	// TCPRoute and UDPRoute are only in the experimental channel; users of
	// cloudflare-operator's Gateway support install them.
	for _, name := range []string{"tcproutes", "udproutes"} {
		env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(gateway, "config", "crd", "experimental", "gateway.networking.k8s.io_"+name+".yaml"))
	}
	// conflux-sync's own CRDs (ConfluxSource) are in every cluster it runs
	// in (deploy/base installs them).
	env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(root, "deploy", "crds", "gitops.conflux.io_confluxsources.yaml"))
	switch crds {
	case OwnCRDs:
		env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(root, "deploy", "crds", "operators"))
	case UpstreamCRDs:
		for _, m := range []string{AdyanthModule, StringKeModule} {
			dir, err := moduleDir(root, m)
			if err != nil {
				return nil, err
			}
			env.CRDDirectoryPaths = append(env.CRDDirectoryPaths, filepath.Join(dir, "config", "crd", "bases"))
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start envtest: %w", err)
	}
	return &Env{Config: cfg, Root: root, env: env}, nil
}

// Stop stops the API server and etcd.
func (e *Env) Stop() error { return e.env.Stop() }

// moduleDir finds a module in the module cache, downloading it if needed
// (the Go module proxy is reachable wherever the tests build): a path
// alone is the version go.mod requires, path@version that version.
func moduleDir(root, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", module, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("locate %s: no Dir in go mod download output", module)
	}
	return mod.Dir, nil
}

func haveBinaries(dir string) bool {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// StartForTest starts an API server for one test and stops it with
// t.Cleanup. The test skips when the binaries are missing (unless
// CONFLUX_REQUIRE_ENVTEST=1, where Start fails instead).
func StartForTest(t testing.TB) *Env {
	t.Helper()
	return StartForTestWith(t, OwnCRDs)
}

// StartForTestWith is StartForTest with a choice of CRDs.
func StartForTestWith(t testing.TB, crds CRDs) *Env {
	t.Helper()
	env, err := StartWith(crds)
	if errors.Is(err, ErrSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Logf("stop envtest: %v", err)
		}
	})
	return env
}
