package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
	"github.com/conflux-sync/conflux-sync/server"
)

// kubeFlags are the server's Kubernetes ingest settings.
type kubeFlags struct {
	inCluster          bool
	kubeconfig         string
	namespace          string
	watch              []string
	ingressControllers []string
	gatewayControllers []string
	defaultTunnel      string
	clusterDomain      string
	ignoreKinds        []string
}

func (k *kubeFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&k.inCluster, "kubernetes", false, "watch Kubernetes (Ingress, HTTPRoute, cloudflare-operator CRDs) with the pod's service account")
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "watch the Kubernetes cluster of this kubeconfig file instead of the pod's service account")
	f.StringVar(&k.namespace, "kube-namespace", "", "conflux-sync's namespace: Secrets of ClusterTunnels and cluster-scoped objects live here, and class parameters default to it; set it to the operator's namespace (e.g. cloudflare-operator-system) when taking over (default: $POD_NAMESPACE, else default)")
	k.registerIngest(f)
}

// registerIngest registers what the ingest watches and how it reads it;
// dev shares these with server.
func (k *kubeFlags) registerIngest(f *pflag.FlagSet) {
	f.StringSliceVar(&k.watch, "kube-watch-namespaces", nil, "watch namespaced objects in these namespaces only (comma list; --kube-namespace is added); default: all")
	f.StringSliceVar(&k.ingressControllers, "kube-ingress-controllers", defaultControllers(translate.DefaultIngressControllers()),
		"IngressClass controller names served, each NAME or NAME=DIALECT (dialects: "+dialectList()+"; known names need none)")
	f.StringSliceVar(&k.gatewayControllers, "kube-gateway-controllers", defaultControllers(translate.DefaultGatewayControllers()),
		"GatewayClass controller names served, each NAME or NAME=DIALECT")
	f.StringVar(&k.defaultTunnel, "kube-default-tunnel", "", "the tunnel of classes whose controller passes no parameters (STRRL's IngressClass): ClusterTunnel/NAME or Tunnel/NAMESPACE/NAME")
	f.StringVar(&k.clusterDomain, "kube-cluster-domain", "cluster.local", "the cluster's DNS domain, part of the service URLs of the strrl dialect")
	f.StringSliceVar(&k.ignoreKinds, "kube-ignore-kinds", nil, "cloudflare-operator kinds left to another controller: neither watched nor answered (comma list, e.g. VirtualNetwork,AccessGroup)")
}

func defaultControllers(m map[string]translate.Dialect) []string {
	return slices.Sorted(maps.Keys(m))
}

func dialectList() string {
	names := make([]string, len(translate.Dialects))
	for i, d := range translate.Dialects {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// controllers parses NAME[=DIALECT] entries; nil (the flag not
// registered) is the defaults.
func controllers(flag string, entries []string) (map[string]translate.Dialect, error) {
	if entries == nil {
		return nil, nil
	}
	out := map[string]translate.Dialect{}
	for _, e := range entries {
		name, d, hasDialect := strings.Cut(strings.TrimSpace(e), "=")
		if name == "" {
			continue
		}
		dialect := translate.Dialect(d)
		if !hasDialect {
			known, ok := translate.KnownDialect(name)
			if !ok {
				return nil, fmt.Errorf("--%s: %s is not a controller name conflux-sync knows: say which dialect it speaks, %s=DIALECT (%s)", flag, name, name, dialectList())
			}
			dialect = known
		} else if !slices.Contains(translate.Dialects, dialect) {
			return nil, fmt.Errorf("--%s: %q is not a dialect (%s)", flag, d, dialectList())
		}
		out[name] = dialect
	}
	return out, nil
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
	kc := server.KubeConfig{REST: rc, Namespace: ns, WatchNamespaces: k.watch, ClusterDomain: k.clusterDomain, IgnoreKinds: k.ignoreKinds}
	if kc.IngressControllers, err = controllers("kube-ingress-controllers", k.ingressControllers); err != nil {
		return server.KubeConfig{}, err
	}
	if kc.GatewayControllers, err = controllers("kube-gateway-controllers", k.gatewayControllers); err != nil {
		return server.KubeConfig{}, err
	}
	if k.defaultTunnel != "" {
		ref, err := translate.ParseTunnelRef(k.defaultTunnel)
		if err != nil {
			return server.KubeConfig{}, fmt.Errorf("--kube-default-tunnel: %w", err)
		}
		kc.DefaultTunnel = &ref
	}
	return kc, nil
}
