package conflux

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/render"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Keys of the downstream ids this kind records. A release named N records
// IDRelease+N (its version id), IDRelease+N+IDShaSuffix (the content's
// sha256) and IDRelease+N+IDKeySuffix (the idempotency key it was
// published with).
const (
	IDConfig    = "configId"
	IDCreated   = "created"
	IDRelease   = "release."
	IDShaSuffix = ".sha"
	IDKeySuffix = ".key"
	// IDPolicy is "managed" while a fragment owns the release policy, so
	// the flush after its owner left resets the policy instead of leaving
	// rules nobody manages.
	IDPolicy = "policy"
)

// DefaultTimeout bounds one API request when FlusherConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// maxReplays bounds how often a publish follows a replayed version that
// retention has since removed.
const maxReplays = 5

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	// BaseURL is the Conflux API's base, e.g. "http://127.0.0.1:7791"
	// (without /v1).
	BaseURL string
	// Token is the bearer token. It is never logged.
	Token string
	// HTTPClient sends the requests; nil means a client over Transport.
	HTTPClient *http.Client
	// Transport is used when HTTPClient is nil; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	Logger    *slog.Logger
	// Timeout bounds each request; 0 means DefaultTimeout, negative none.
	Timeout time.Duration
	// Registerer receives conflux_conflux_requests_total; nil: a private
	// registry.
	Registerer prometheus.Registerer
	// Secrets resolves the Secrets of templated releases; nil fails them
	// (retryably) naming the Secret.
	Secrets Secrets
	// DryRun refuses every request but a GET (conflux-sync server
	// --dry-run), whatever the caller's context says: the engine's write
	// gate refuses the writes of its flushes, this those of anyone else.
	DryRun bool
}

// Secrets reads a whole Secret when a templated release is rendered. The
// values live only in the leader's memory for the render.
type Secrets interface {
	Secret(ctx context.Context, name api.SecretName) (map[string]string, error)
}

// Flusher writes conflux.Config targets.
type Flusher struct {
	api     *client
	log     *slog.Logger
	secrets Secrets
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the conflux.Config flusher.
func NewFlusher(cfg FlusherConfig) (*Flusher, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: cfg.Transport}
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = 0
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "conflux_conflux_requests_total",
		Help: "Requests sent to the Conflux API by method and HTTP status (0: no response).",
	}, []string{"method", "code"})
	if err := cfg.Registerer.Register(requests); err != nil {
		return nil, fmt.Errorf("conflux: register metrics: %w", err)
	}
	f := &Flusher{
		api: &client{base: strings.TrimRight(cfg.BaseURL, "/"), http: hc, timeout: timeout,
			requests: requests, dryRun: cfg.DryRun},
		log:     log,
		secrets: cfg.Secrets,
	}
	f.api.token.Store(&cfg.Token)
	return f, nil
}

// SetToken replaces the bearer token (a reloaded --conflux-token-file):
// every request sent from now on carries it, including those of a flush
// under way. An empty token is refused and changes nothing.
func (f *Flusher) SetToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return errors.New("conflux: the API token is empty")
	}
	f.api.token.Store(&token)
	return nil
}

// Kind returns "conflux.Config".
func (*Flusher) Kind() string { return Name }

// ContentSHA returns the hex sha256 of content, as Conflux computes it.
func ContentSHA(content string) string { return api.SHA256Hex(content) }

// IdempotencyKey is the key a release is published with: a function of
// the owning source, the target and the release's payload, so a repeated
// publish (after a crash or a failover) is replayed by Conflux instead of
// creating a second version.
func IdempotencyKey(source api.SourceRef, target string, r api.ConfluxRelease, contentSHA string) string {
	h := sha256.Sum256([]byte(source.Key() + "\x00" + target + "\x00" + contentSHA + "\x00" + r.Description + "\x00" + strconv.FormatBool(r.Stable)))
	return hex.EncodeToString(h[:])[:40]
}

// renderRelease returns the content to publish. A template is rendered
// with its Secret's current values; failures name the Secret and the
// template line, never a value, and are retryable: a Secret can be
// created or fixed without a new fragment.
func (f *Flusher) renderRelease(ctx context.Context, target string, r api.ConfluxRelease) (string, error) {
	t := r.Template
	if t == nil {
		return r.Content, nil
	}
	if f.secrets == nil {
		return "", fmt.Errorf("release %s of %s: cannot read %s: this server has no Secrets source (--secrets-dir or Kubernetes)", r.Name, target, t.Secret)
	}
	values, err := f.secrets.Secret(ctx, t.Secret)
	if err != nil {
		return "", fmt.Errorf("release %s of %s: %w", r.Name, target, err)
	}
	out, err := render.Render(r.Name, t.Text, values, render.Options{LeftDelim: t.LeftDelim, RightDelim: t.RightDelim})
	if err != nil {
		return "", fmt.Errorf("release %s of %s: render with %s: %s", r.Name, target, t.Secret, render.Mask(err.Error(), values))
	}
	if len(out) > MaxContent {
		return "", engine.Permanent(fmt.Errorf("release %s of %s: the rendered content is larger than 1 MiB", r.Name, target))
	}
	return out, nil
}

// Flush makes the Conflux config match req.Result.Desired. A dry run
// decides the same, returns it as the plan and writes nothing; it renders
// templates (reading their Secrets) to know whether a version would be
// published.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	key, fe := ParseTargetName(req.Target.Name)
	if fe != nil {
		return engine.Outcome{}, engine.Permanent(fe)
	}
	var prev map[string]string
	if req.Prev != nil {
		prev = req.Prev.DownstreamIDs
	}
	log := f.log.With("target", req.Target.String())
	if req.Result.Desired == nil {
		line, err := f.remove(ctx, log, key, prev, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: planOf(line)}, nil
	}
	var want Desired
	if err := json.Unmarshal(req.Result.Desired, &want); err != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired state: %w", err))
	}
	if want.Policy != nil {
		defined := map[string]bool{}
		for _, r := range want.Releases {
			defined[r.Name] = true
		}
		for _, r := range want.Policy.Rules {
			if !defined[r.Release] {
				return engine.Outcome{}, engine.Permanent(fmt.Errorf("policy rule with priority %d names release %q, which no fragment of %s defines", r.Priority, r.Release, req.Target.Name))
			}
		}
	}

	cfg, created, line, err := f.ensureConfig(ctx, log, req, key, want.Config, prev)
	if err != nil {
		return engine.Outcome{}, err
	}
	plan := planOf(line)
	ids := map[string]string{IDConfig: cfg.ID, IDCreated: strconv.FormatBool(created)}
	// A dry run's config to be created has no id yet: nothing recorded
	// is about it.
	samePrev := prev != nil && cfg.ID != "" && prev[IDConfig] == cfg.ID

	for _, r := range want.Releases {
		line, err := f.syncRelease(ctx, log, req, key, cfg.ID, r, samePrev, prev, ids)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
	}
	switch {
	case want.Policy != nil:
		line, err := f.syncPolicy(ctx, log, key, cfg.ID, want.Policy, ids, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
		ids[IDPolicy] = "managed"
	case samePrev && prev[IDPolicy] == "managed":
		line, err := f.resetPolicy(ctx, log, key, cfg.ID, req.DryRun)
		if err != nil {
			return engine.Outcome{}, err
		}
		plan = append(plan, planOf(line)...)
	}
	return engine.Outcome{DownstreamIDs: ids, Plan: plan}, nil
}

// planOf is the plan of one action; "" is none.
func planOf(line string) []string {
	if line == "" {
		return nil
	}
	return []string{line}
}

// remove deletes the config when we created it; an adopted config is left
// alone. It says what it did ("" for nothing); a dry run only says it.
func (f *Flusher) remove(ctx context.Context, log *slog.Logger, key ConfigKey, prev map[string]string, dryRun bool) (string, error) {
	id := prev[IDConfig]
	if id == "" {
		return "", nil
	}
	if prev[IDCreated] != "true" {
		return fmt.Sprintf("release adopted conflux config %s (id %s, left in place, no write)", key, id), nil
	}
	cfg, err := f.api.getConfig(ctx, id)
	if err != nil || cfg == nil {
		return "", err
	}
	plan := fmt.Sprintf("delete conflux config %s (id %s)", key, id)
	if dryRun {
		return plan, nil
	}
	_, err = f.api.do(ctx, "delete config "+id, http.MethodDelete, configPath(id), nil, ifMatch(cfg.ETag), nil, nil)
	if StatusOf(err) == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	log.Info("deleted Conflux config", "config", id)
	return plan, nil
}

// ensureConfig finds the config by its natural key, creating it or
// updating its metadata as desired. created reports whether conflux-sync
// created it (and so may delete it); plan what it did ("" for nothing). A
// dry run returns, instead of creating one, a config without an id.
func (f *Flusher) ensureConfig(ctx context.Context, log *slog.Logger, req engine.Request, key ConfigKey, want *api.ConfluxConfigSection, prev map[string]string) (cfg *remoteConfig, created bool, plan string, err error) {
	cfg, err = f.api.findConfig(ctx, key)
	if err != nil {
		return nil, false, "", err
	}
	if cfg == nil {
		if want == nil {
			return nil, false, "", engine.Permanent(fmt.Errorf("no fragment defines the config section of %s; one source must own it", req.Target.Name))
		}
		plan = fmt.Sprintf("create conflux config %s (format %s)", key, want.Format)
		if req.DryRun {
			return &remoteConfig{}, true, plan, nil
		}
		body := map[string]any{
			"tenant": key.Tenant, "application": key.Application, "environment": key.Environment, "name": key.Name,
			"format": want.Format, "description": want.Description,
		}
		if want.Schema != nil {
			body["schema"] = want.Schema
		}
		if rp := toRemoteRetention(want.RetentionPolicy); rp != nil {
			body["retention_policy"] = rp
		}
		var made remoteConfig
		if _, err := f.api.do(ctx, "create config "+key.String(), http.MethodPost, "/v1/configs", nil, nil, body, &made); err != nil {
			return nil, false, "", err
		}
		log.Info("created Conflux config", "config", made.ID)
		if err := checkpoint(ctx, req, map[string]string{IDConfig: made.ID, IDCreated: "true"}); err != nil {
			return nil, false, "", err
		}
		return &made, true, plan, nil
	}
	created = prev[IDCreated] == "true" && prev[IDConfig] == cfg.ID
	if prev[IDConfig] != cfg.ID {
		plan = fmt.Sprintf("adopt conflux config %s (id %s)", key, cfg.ID)
	}
	if want == nil {
		return cfg, created, plan, nil // the metadata has no owner: leave it as it is
	}
	if cfg.Format != want.Format {
		return nil, false, "", engine.Permanent(fmt.Errorf("config %s (%s) has format %s; the fragments want %s, and a config's format cannot change", key, cfg.ID, cfg.Format, want.Format))
	}
	wantRP := toRemoteRetention(want.RetentionPolicy)
	var changed []string
	if cfg.Description != want.Description {
		changed = append(changed, "description")
	}
	if string(canonicalJSON(cfg.Schema)) != string(canonicalJSON(want.Schema)) {
		changed = append(changed, "schema")
	}
	if !equalRetention(cfg.RetentionPolicy, wantRP) {
		changed = append(changed, "retention policy")
	}
	if len(changed) == 0 {
		return cfg, created, plan, nil
	}
	update := fmt.Sprintf("update conflux config %s (id %s): %s", key, cfg.ID, strings.Join(changed, ", "))
	if plan != "" {
		update = plan + ", then " + strings.TrimPrefix(update, "update conflux config ")
	}
	if req.DryRun {
		return cfg, created, update, nil
	}
	body := map[string]any{"description": want.Description, "schema": nil, "retention_policy": nil}
	if want.Schema != nil {
		body["schema"] = want.Schema
	}
	if wantRP != nil {
		body["retention_policy"] = wantRP
	}
	var updated remoteConfig
	if _, err := f.api.do(ctx, "update config "+cfg.ID, http.MethodPatch, configPath(cfg.ID), nil, ifMatch(cfg.ETag), body, &updated); err != nil {
		return nil, false, "", vanished(err, cfg.ID)
	}
	log.Info("updated Conflux config", "config", cfg.ID)
	return &updated, created, update, nil
}

// syncRelease publishes r unless the recorded version already holds it,
// and records its ids; plan says what it published ("" for nothing). A
// dry run only says it, recording no ids for it.
func (f *Flusher) syncRelease(ctx context.Context, log *slog.Logger, req engine.Request, key ConfigKey, configID string, r DesiredRelease, samePrev bool, prev, ids map[string]string) (plan string, err error) {
	base := IDRelease + r.Name
	recorded := func(sha, key string) bool {
		return samePrev && prev[base] != "" && prev[base+IDShaSuffix] == sha && prev[base+IDKeySuffix] == key
	}
	// A template is rendered only when the recorded version does not hold
	// what its producer rendered, so an unchanged flush reads no Secret.
	sha := r.ContentSHA256()
	idemKey := IdempotencyKey(r.Source, req.Target.Name, r.ConfluxRelease, sha)
	content := r.Content
	if r.Template != nil && !recorded(sha, idemKey) {
		if content, err = f.renderRelease(ctx, req.Target.Name, r.ConfluxRelease); err != nil {
			return "", err
		}
		sha = ContentSHA(content)
		idemKey = IdempotencyKey(r.Source, req.Target.Name, r.ConfluxRelease, sha)
	}
	vid := ""
	if recorded(sha, idemKey) {
		vid = prev[base]
		if req.Drift {
			v, err := f.getVersion(ctx, configID, vid)
			if err != nil {
				return "", err
			}
			if v == nil || v.ContentSHA256 != sha {
				vid = ""
			}
		}
	}
	if vid == "" {
		plan = fmt.Sprintf("publish conflux config %s release %s: a new version (content sha256 %.12s, stable %t)", key, r.Name, sha, r.Stable)
		if req.DryRun {
			return plan, nil
		}
		if vid, err = f.publish(ctx, configID, r, content, idemKey); err != nil {
			return "", err
		}
		log.Info("published Conflux version", "config", configID, "release", r.Name, "version", vid)
		if err := checkpoint(ctx, req, map[string]string{base: vid, base + IDShaSuffix: sha, base + IDKeySuffix: idemKey}); err != nil {
			return "", err
		}
	}
	ids[base], ids[base+IDShaSuffix], ids[base+IDKeySuffix] = vid, sha, idemKey
	return plan, nil
}

// publish posts a version with the idempotency key. A replayed answer
// naming a version retention has since removed is followed by a publish
// under a key derived from the removed id, which is as repeatable.
func (f *Flusher) publish(ctx context.Context, configID string, r DesiredRelease, content, key string) (string, error) {
	body := map[string]any{"content": content, "description": r.Description, "is_stable": r.Stable}
	for range maxReplays {
		var v remoteVersion
		resp, err := f.api.do(ctx, "publish release "+r.Name, http.MethodPost, configPath(configID)+"/versions", nil,
			http.Header{"Idempotency-Key": {key}}, body, &v)
		if err != nil {
			return "", vanished(err, configID)
		}
		if resp.header.Get("Idempotent-Replayed") != "true" {
			return v.VersionID, nil
		}
		still, err := f.getVersion(ctx, configID, v.VersionID)
		if err != nil || still != nil {
			return v.VersionID, err
		}
		h := sha256.Sum256([]byte(key + "\x00" + v.VersionID))
		key = hex.EncodeToString(h[:])[:40]
	}
	return "", fmt.Errorf("publish release %s: every replayed version was removed by retention", r.Name)
}

// getVersion reads a version; nil when it does not exist (any more).
func (f *Flusher) getVersion(ctx context.Context, configID, vid string) (*remoteVersion, error) {
	var v remoteVersion
	_, err := f.api.do(ctx, "read version "+vid, http.MethodGet, configPath(configID)+"/versions/"+vid, nil, nil, nil, &v)
	if StatusOf(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// syncPolicy replaces the release policy unless it already is the
// desired one, and says so ("" for nothing).
func (f *Flusher) syncPolicy(ctx context.Context, log *slog.Logger, key ConfigKey, configID string, p *api.ConfluxPolicy, ids map[string]string, dryRun bool) (string, error) {
	want := remotePolicy{Rules: make([]remoteRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		labels := maps.Clone(r.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		want.Rules = append(want.Rules, remoteRule{Priority: r.Priority, VersionID: ids[IDRelease+r.Release], Labels: labels})
	}
	return f.replacePolicy(ctx, log, configID, want, "replaced Conflux release policy",
		fmt.Sprintf("replace the release policy of conflux config %s: %d rule(s)", key, len(want.Rules)), dryRun)
}

// replacePolicy makes the remote policy want (with If-Match), unless it
// already is; it logs done and returns plan when it does (a dry run only
// returns plan). A dry run's config to be created (configID "") has no
// policy to read yet.
func (f *Flusher) replacePolicy(ctx context.Context, log *slog.Logger, configID string, want remotePolicy, done, plan string, dryRun bool) (string, error) {
	if configID == "" && dryRun {
		return plan, nil
	}
	var cur remotePolicy
	resp, err := f.api.do(ctx, "read policy of "+configID, http.MethodGet, configPath(configID)+"/policy", nil, nil, nil, &cur)
	if err != nil {
		return "", vanished(err, configID)
	}
	if equalRules(cur.Rules, want.Rules) {
		return "", nil
	}
	if dryRun {
		return plan, nil
	}
	etag := resp.header.Get("ETag")
	if etag == "" {
		etag = cur.ETag
	}
	if _, err := f.api.do(ctx, "replace policy of "+configID, http.MethodPut, configPath(configID)+"/policy", nil, ifMatch(etag), want, nil); err != nil {
		return "", vanished(err, configID)
	}
	log.Info(done, "config", configID, "rules", len(want.Rules))
	return plan, nil
}

// resetPolicy replaces a policy whose owner left with the default one
// rule: everyone gets the newest stable version (the newest version when
// none is stable; no rule when there is no version).
func (f *Flusher) resetPolicy(ctx context.Context, log *slog.Logger, key ConfigKey, configID string, dryRun bool) (string, error) {
	want := remotePolicy{Rules: []remoteRule{}}
	for _, q := range []url.Values{{"stable": {"true"}, "page_size": {"1"}}, {"page_size": {"1"}}} {
		var page struct {
			Items []remoteVersion `json:"items"`
		}
		if _, err := f.api.do(ctx, "list versions of "+configID, http.MethodGet, configPath(configID)+"/versions", q, nil, nil, &page); err != nil {
			return "", vanished(err, configID)
		}
		if len(page.Items) > 0 {
			want.Rules = append(want.Rules, remoteRule{Priority: 0, VersionID: page.Items[0].VersionID, Labels: map[string]string{}})
			break
		}
	}
	return f.replacePolicy(ctx, log, configID, want, "reset Conflux release policy to the default rule",
		fmt.Sprintf("reset the release policy of conflux config %s to the default rule (its owner left)", key), dryRun)
}

func sortedRules(rules []remoteRule) []remoteRule {
	out := slices.Clone(rules)
	slices.SortFunc(out, func(a, b remoteRule) int { return b.Priority - a.Priority })
	return out
}

func equalRules(a, b []remoteRule) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = sortedRules(a), sortedRules(b)
	for i := range a {
		if a[i].Priority != b[i].Priority || a[i].VersionID != b[i].VersionID || !maps.Equal(a[i].Labels, b[i].Labels) {
			return false
		}
	}
	return true
}

func toRemoteRetention(rp *api.ConfluxRetentionPolicy) *remoteRetention {
	if rp == nil {
		return nil
	}
	out := &remoteRetention{Strategy: rp.Strategy, Rules: make([]remoteRetRule, 0, len(rp.Rules))}
	for _, r := range rp.Rules {
		out.Rules = append(out.Rules, remoteRetRule(r))
	}
	return out
}

func equalRetention(a, b *remoteRetention) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Strategy == b.Strategy && slices.Equal(a.Rules, b.Rules)
}

// vanished turns a 404 for a config found moments ago into a retryable
// error: it was deleted out of band, and the next attempt re-reads (and
// re-creates) it.
func vanished(err error, configID string) error {
	if StatusOf(err) != http.StatusNotFound {
		return err
	}
	var e *Error
	errors.As(err, &e)
	return fmt.Errorf("config %s disappeared while syncing: %w", configID, e)
}

func checkpoint(ctx context.Context, req engine.Request, ids map[string]string) error {
	if req.Checkpoint == nil {
		return nil
	}
	return req.Checkpoint(ctx, ids)
}
