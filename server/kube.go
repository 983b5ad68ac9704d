package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/ingest/kube/translate"
)

// KubeConfig enables the Kubernetes ingest.
type KubeConfig struct {
	// REST reaches the API server; nil disables the ingest.
	REST *rest.Config
	// Namespace is conflux-sync's own namespace (the Secrets of
	// ClusterTunnels live there); default "default".
	Namespace string
	// WatchNamespaces limits the namespaced kinds to these namespaces
	// (Namespace is added); empty: all. See kube.Config.
	WatchNamespaces []string
	// StatusInterval is how often every object's status is recomputed
	// without a change; default 1m.
	StatusInterval time.Duration
	// Workers reconcile objects in parallel; default 4 (kube.Config's).
	Workers int
	// IngressControllers, GatewayControllers, DefaultTunnel, ClusterDomain
	// and IgnoreKinds are kube.Config's.
	IngressControllers map[string]translate.Dialect
	GatewayControllers map[string]translate.Dialect
	DefaultTunnel      *translate.ObjectRef
	ClusterDomain      string
	IgnoreKinds        []string
	// ReadOnly writes nothing to Kubernetes (the dry run); see kube.Config.
	ReadOnly bool
}

// tunnelTokens reads connector tokens through the Cloudflare sink's
// clients; nil when the sink is off.
func (n *Node) tunnelTokens() kube.TunnelTokens {
	if n.cloudflare == nil {
		return nil
	}
	return tunnelTokenFunc(func(ctx context.Context, target string) (string, string, error) {
		return n.cloudflare.TunnelToken(ctx, n.store, target)
	})
}

type tunnelTokenFunc func(ctx context.Context, target string) (tunnelID, token string, err error)

func (f tunnelTokenFunc) TunnelToken(ctx context.Context, target string) (string, string, error) {
	return f(ctx, target)
}

// startKube registers the Kubernetes ingest as a leader task; it proposes
// and reads through the node's admin API in-process.
func (n *Node) startKube(cfg KubeConfig, reg prometheus.Registerer) (*kube.Controller, error) {
	ctrl, err := kube.New(kube.Config{
		REST:               cfg.REST,
		Namespace:          cfg.Namespace,
		WatchNamespaces:    cfg.WatchNamespaces,
		Proposer:           n.api,
		Reader:             n.api,
		StatusInterval:     cfg.StatusInterval,
		Workers:            cfg.Workers,
		TunnelTokens:       n.tunnelTokens(),
		IngressControllers: cfg.IngressControllers,
		GatewayControllers: cfg.GatewayControllers,
		DefaultTunnel:      cfg.DefaultTunnel,
		ClusterDomain:      cfg.ClusterDomain,
		IgnoreKinds:        cfg.IgnoreKinds,
		ReadOnly:           cfg.ReadOnly,
		Logger:             n.log,
		Registerer:         reg,
	})
	if err != nil {
		return nil, err
	}
	n.cluster.RegisterLeaderTask("kube", ctrl.Run)
	n.log.Info("Kubernetes ingest enabled", "namespace", cfg.Namespace, "api", cfg.REST.Host)
	return ctrl, nil
}
