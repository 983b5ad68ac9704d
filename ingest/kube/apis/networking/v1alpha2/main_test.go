package v1alpha2_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
	"github.com/conflux-sync/conflux-sync/internal/kubetest"
)

// The envtest API server (etcd + kube-apiserver built by `make envtest`),
// started once for the package by TestMain.
var (
	k8s client.Client
	// skipReason is set when the envtest binaries are missing and
	// CONFLUX_REQUIRE_ENVTEST is not 1: every test then skips with it.
	skipReason string
	// repoRoot is the module's root folder (deploy/ lives there).
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	env, err := kubetest.Start()
	if errors.Is(err, kubetest.ErrSkip) {
		skipReason = err.Error()
		return m.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
		}
	}()
	repoRoot = env.Root
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha2.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: scheme: %v\n", err)
			return 1
		}
	}
	k8s, err = client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: client: %v\n", err)
		return 1
	}
	return m.Run()
}

// needEnv skips t when there is no API server (see skipReason) and returns
// a context for t.
func needEnv(t *testing.T) context.Context {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	return t.Context()
}
