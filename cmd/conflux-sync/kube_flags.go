package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/conflux-sync/conflux-sync/server"
)

// kubeFlags are the server's Kubernetes ingest settings.
type kubeFlags struct {
	inCluster  bool
	kubeconfig string
	namespace  string
	watch      []string
}

func (k *kubeFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&k.inCluster, "kubernetes", false, "watch Kubernetes (Ingress, HTTPRoute, cloudflare-operator CRDs) with the pod's service account")
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "watch the Kubernetes cluster of this kubeconfig file instead of the pod's service account")
	f.StringVar(&k.namespace, "kube-namespace", "", "conflux-sync's namespace: Secrets of ClusterTunnels live here (default: $POD_NAMESPACE, else default)")
	f.StringSliceVar(&k.watch, "kube-watch-namespaces", nil, "watch namespaced objects in these namespaces only (comma list; --kube-namespace is added); default: all")
}

// config returns the ingest settings; a zero KubeConfig when neither
// --kubernetes nor --kubeconfig is set.
func (k *kubeFlags) config(getenv func(string) string) (server.KubeConfig, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case k.inCluster && k.kubeconfig != "":
		return server.KubeConfig{}, errors.New("--kubernetes and --kubeconfig exclude each other")
	case k.kubeconfig != "":
		if rc, err = clientcmd.BuildConfigFromFlags("", k.kubeconfig); err != nil {
			return server.KubeConfig{}, fmt.Errorf("--kubeconfig: %w", err)
		}
	case k.inCluster:
		if rc, err = rest.InClusterConfig(); err != nil {
			return server.KubeConfig{}, fmt.Errorf("--kubernetes: %w", err)
		}
	default:
		return server.KubeConfig{}, nil
	}
	ns := k.namespace
	if ns == "" {
		ns = getenv("POD_NAMESPACE")
	}
	rc.UserAgent = "conflux-sync"
	return server.KubeConfig{REST: rc, Namespace: ns, WatchNamespaces: k.watch}, nil
}
