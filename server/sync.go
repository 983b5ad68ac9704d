package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/ingest/kube"
	"github.com/conflux-sync/conflux-sync/sync/access"
	"github.com/conflux-sync/conflux-sync/sync/accessgroup"
	"github.com/conflux-sync/conflux-sync/sync/accesspolicy"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/conflux"
	"github.com/conflux-sync/conflux-sync/sync/dns"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/gatewaylist"
	"github.com/conflux-sync/conflux-sync/sync/gatewayrule"
	"github.com/conflux-sync/conflux-sync/sync/identityprovider"
	"github.com/conflux-sync/conflux-sync/sync/kind"
	"github.com/conflux-sync/conflux-sync/sync/route"
	"github.com/conflux-sync/conflux-sync/sync/servicetoken"
	"github.com/conflux-sync/conflux-sync/sync/tunnel"
	"github.com/conflux-sync/conflux-sync/sync/vnet"
)

// sinkKinds are the target kinds every node validates and aggregates,
// whether or not it can write them downstream.
func sinkKinds() []kind.Kind {
	return []kind.Kind{
		tunnel.NewTunnel(),
		tunnel.New(),
		dns.New(),
		access.New(),
		accessgroup.New(),
		gatewaylist.New(),
		gatewayrule.New(),
		accesspolicy.New(),
		route.New(),
		vnet.New(),
		servicetoken.New(),
		identityprovider.New(),
		conflux.New(),
	}
}

// startSync builds the sync engine with a flusher for every downstream it
// has credentials for (for Cloudflare: static tokens, or a reader of the
// Kubernetes Secrets fragments name), and registers it to run while this
// node leads.
func (n *Node) startSync(cfg Config, cache *kind.Cache, secrets conflux.Secrets, reg prometheus.Registerer) (*engine.Engine, error) {
	var flushers []engine.Flusher
	if len(cfg.Cloudflare.Credentials) > 0 || cfg.Cloudflare.Secrets != nil {
		cf := cfg.Cloudflare
		cf.Registerer = reg
		cf.DryRun = cfg.DryRun
		clients, err := cfapi.New(cf)
		if err != nil {
			return nil, err
		}
		n.cloudflare = clients
		n.credentialLoaded.WithLabelValues(credCloudflare).SetToCurrentTime()
		flushers = append(flushers,
			tunnel.NewTunnelFlusher(clients, n.store, n.log),
			tunnel.NewConfigFlusher(clients, n.store, n.log),
			dns.NewFlusher(dns.FlusherConfig{Clients: clients, Store: n.store, Logger: n.log}),
			access.NewFlusher(access.FlusherConfig{Clients: clients, Logger: n.log, Store: n.store}),
			accessgroup.NewFlusher(accessgroup.FlusherConfig{Clients: clients, Logger: n.log}),
			gatewaylist.NewFlusher(gatewaylist.FlusherConfig{Clients: clients, Logger: n.log}),
			gatewayrule.NewFlusher(gatewayrule.FlusherConfig{Clients: clients, Store: n.store, Logger: n.log}),
			accesspolicy.NewFlusher(accesspolicy.FlusherConfig{Clients: clients, Logger: n.log, Store: n.store}),
			route.NewFlusher(route.FlusherConfig{Clients: clients, Store: n.store, Logger: n.log}),
			vnet.NewFlusher(vnet.FlusherConfig{Clients: clients, Logger: n.log}),
			servicetoken.NewFlusher(servicetoken.FlusherConfig{Clients: clients, Secrets: tokenSecrets(cf.Secrets), Logger: n.log}),
			identityprovider.NewFlusher(identityprovider.FlusherConfig{Clients: clients, Logger: n.log}),
		)
		n.log.Info("Cloudflare sink enabled", "accounts", cf.Credentials.Accounts(), "tokensFromSecrets", cf.Secrets != nil)
	} else {
		n.log.Warn("no Cloudflare credentials and no Kubernetes Secrets to read them from: Cloudflare targets are stored and aggregated but not synced")
	}
	if cfg.Conflux.URL != "" {
		cx, err := conflux.NewFlusher(conflux.FlusherConfig{
			BaseURL: cfg.Conflux.URL, Token: cfg.Conflux.Token, Timeout: cfg.Conflux.Timeout,
			Logger: n.log, Registerer: reg, Secrets: secrets, DryRun: cfg.DryRun,
		})
		if err != nil {
			return nil, err
		}
		n.conflux = cx
		n.credentialLoaded.WithLabelValues(credConflux).SetToCurrentTime()
		flushers = append(flushers, cx)
		n.log.Info("Conflux sink enabled", "url", cfg.Conflux.URL)
	} else {
		n.log.Warn("no Conflux URL: conflux.Config targets are stored and aggregated but not synced")
	}
	eng, err := engine.New(engine.Config{
		Store:         n.store,
		Cache:         cache,
		Cluster:       n.cluster,
		Flushers:      flushers,
		Debounce:      cfg.Sync.Debounce,
		DriftInterval: cfg.Sync.DriftInterval,
		BackoffBase:   cfg.Sync.BackoffBase,
		BackoffMax:    cfg.Sync.BackoffMax,
		Workers:       cfg.Sync.Workers,
		DryRun:        cfg.DryRun,
		Logger:        n.log,
		Registerer:    reg,
	})
	if err != nil {
		return nil, err
	}
	n.cluster.RegisterLeaderTask("sync", eng.Run)
	return eng, nil
}

var _ servicetoken.SecretWriter = (*kube.Secrets)(nil)

// tokenSecrets is what writes service tokens' Secrets: the Kubernetes
// Secrets reader when it can write too (ingest/kube.Secrets); nil without
// Kubernetes, and the kind then refuses specs naming a Secret.
func tokenSecrets(r cfapi.SecretReader) servicetoken.SecretWriter {
	w, _ := r.(servicetoken.SecretWriter)
	return w
}
