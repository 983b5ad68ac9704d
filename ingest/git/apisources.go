package git

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

// Registry is where GitSources are registered and their status kept: the
// node's admin API, in-process.
type Registry interface {
	// Sources returns the registered sources of one kind.
	Sources(ctx context.Context, kind string) ([]api.Source, error)
	// RecordSourceStatus stores a source's status through the log.
	RecordSourceStatus(ctx context.Context, ref api.SourceRef, status json.RawMessage) error
}

// APISourcesConfig configures APISources. Zero values take the defaults
// noted.
type APISourcesConfig struct {
	// Store and Registry are the node's replicated state. Required.
	Store    Store
	Registry Registry
	// Secrets reads spec.secretRef and the files' secretsRef from the
	// server's --secrets-dir.
	Secrets SecretReader
	// URLPolicy and Bindings: see PollerConfig.
	URLPolicy *URLPolicy
	Bindings  CredentialBindings
	// Rescan is how often the registrations are re-read; default 2s.
	Rescan time.Duration
	// StatusEvery: see PollerConfig.
	StatusEvery time.Duration
	Logger      *slog.Logger
	Metrics     *Metrics
}

// APISources polls the GitSources registered through the admin API
// (conflux-sync sources add). Run it as a leader task.
type APISources struct {
	cfg APISourcesConfig
	log *slog.Logger
}

// NewAPISources returns the admin API's Git front end.
func NewAPISources(cfg APISourcesConfig) *APISources {
	if cfg.Rescan <= 0 {
		cfg.Rescan = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &APISources{cfg: cfg, log: cfg.Logger.With("producer", "git")}
}

// Run polls the registered sources until ctx ends (the leadership term).
func (a *APISources) Run(ctx context.Context) {
	var mu sync.Mutex
	recorded := map[string]string{} // source key → status JSON last recorded
	pollers := NewPollers(ctx, PollerConfig{
		Store: a.cfg.Store, Secrets: a.cfg.Secrets, URLPolicy: a.cfg.URLPolicy, Bindings: a.cfg.Bindings, StatusEvery: a.cfg.StatusEvery, Logger: a.log, Metrics: a.cfg.Metrics,
		Report: func(ctx context.Context, src Source, st api.GitSourceStatus, events []Event) {
			for _, e := range events {
				level := slog.LevelInfo
				if e.Warning {
					level = slog.LevelWarn
				}
				a.log.Log(ctx, level, e.Message, "source", src.Ref.String(), "reason", e.Reason)
			}
			b, err := json.Marshal(st)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || recorded[src.Ref.Key()] == string(b) {
				return
			}
			if err := a.cfg.Registry.RecordSourceStatus(ctx, src.Ref, b); err != nil {
				if ctx.Err() == nil {
					a.log.Warn("record source status", "source", src.Ref.String(), "error", err)
				}
				return
			}
			recorded[src.Ref.Key()] = string(b)
		},
	})
	defer pollers.Wait()
	ticker := time.NewTicker(a.cfg.Rescan)
	defer ticker.Stop()
	for {
		srcs, err := a.cfg.Registry.Sources(ctx, api.SourceKindGit)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("list Git sources", "error", err)
		}
		if err == nil {
			a.update(pollers, srcs)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (a *APISources) update(pollers *Pollers, srcs []api.Source) {
	sources := make([]Source, 0, len(srcs))
	prev := map[api.SourceRef]api.GitSourceStatus{}
	for _, s := range srcs {
		var spec api.GitSourceSpec
		if err := json.Unmarshal(s.Spec, &spec); err != nil {
			// PUT /v1/sources validates GitSource specs; an undecodable
			// one is an older format: the poller reports it as invalid.
			spec = api.GitSourceSpec{}
		}
		var st api.GitSourceStatus
		_ = json.Unmarshal(s.Status, &st)
		prev[s.Source] = st
		sources = append(sources, Source{Ref: s.Source, Spec: spec, Generation: int64(s.ModifyIndex)})
	}
	pollers.Update(sources, func(ref api.SourceRef) api.GitSourceStatus { return prev[ref] })
}
