package servicetoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// Keys of the downstream ids this kind records (never the secret).
const (
	IDAccount   = cfapi.IDAccount
	IDToken     = "tokenId"
	IDName      = "name"
	IDClientID  = "clientId"
	IDExpiresAt = "expiresAt"
	IDDelivered = "deliveredTo"
	IDCreated   = cfapi.IDCreated
)

// Never is the IDExpiresAt of a token whose duration is forever.
const Never = "never"

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	// Secrets writes the Kubernetes Secrets specs name; nil refuses specs
	// with spec.secret (permanently, before anything is created).
	Secrets SecretWriter
	Logger  *slog.Logger
	// Now is the clock refreshes are decided by; nil is time.Now.
	Now func() time.Time
}

// Flusher writes cloudflare.AccessServiceToken targets: the shared
// single-owner flush (sync/owned) over this kind's spec, diff and client
// calls, followed by the delivery of the secret and the refresh.
type Flusher struct {
	inner   *owned.Flusher[Spec, zero_trust.ServiceToken]
	clients *cfapi.Clients
	secrets SecretWriter
	log     *slog.Logger
	now     func() time.Time
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher returns the service token flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Flusher{inner: owned.New(tokens{}, cfg.Clients, log), clients: cfg.Clients, secrets: cfg.Secrets, log: log, now: now}
}

// Kind returns Name.
func (f *Flusher) Kind() string { return Name }

// fresh carries, through the context of one flush, what the create (or
// an update of the duration) learnt that the flush after it needs: the
// secret is answered once and kept only here, in memory.
type fresh struct {
	secret          string
	durationChanged bool
}

type freshKey struct{}

func freshOf(ctx context.Context) *fresh {
	if f, ok := ctx.Value(freshKey{}).(*fresh); ok {
		return f
	}
	return &fresh{}
}

// Flush makes the token match the desired spec (sync/owned), then makes
// sure its secret is where the spec asks: the secret a create answered is
// delivered at once; otherwise each destination is read, and one that
// does not hold the token's credentials (a crash between the create and
// the delivery, a new leader without the file, a Secret deleted by hand)
// gets the token rotated and the new secret delivered everywhere. Last it
// refreshes the token when it expires within spec.refreshBefore, or when
// its duration changed.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	var spec Spec
	if req.Result.Desired != nil {
		if err := json.Unmarshal(req.Result.Desired, &spec); err != nil {
			return engine.Outcome{}, engine.Permanent(fmt.Errorf("decode desired state: %w", err))
		}
		spec = Canonical(spec)
		if spec.Secret != nil && f.secrets == nil {
			return engine.Outcome{}, engine.Permanent(fmt.Errorf("spec.secret: this server has no Kubernetes API to write Secret %s/%s with; use spec.file or run with Kubernetes",
				spec.Secret.Namespace, spec.Secret.Name))
		}
	}
	fr := &fresh{}
	out, err := f.inner.Flush(context.WithValue(ctx, freshKey{}, fr), req)
	if err != nil || req.Result.Desired == nil {
		return out, err
	}
	id := out.DownstreamIDs[IDToken]
	if id == "" {
		// A dry run's create: nothing to read yet.
		out.Plan = append(out.Plan, "deliver the client secret to "+destinations(spec))
		return out, nil
	}
	log := f.log.With("target", req.Target.String(), IDToken, id)
	a, err := f.clients.For(ctx, out.DownstreamIDs[IDAccount], spec.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	tok, err := tokens{}.Get(ctx, a, id)
	if err != nil {
		return engine.Outcome{}, err
	}
	if tok == nil {
		return engine.Outcome{}, fmt.Errorf("Access service token %s vanished during the flush", id)
	}
	secret := fr.secret
	if secret == "" {
		missing, err := f.undelivered(ctx, spec, tok.ClientID)
		if err != nil {
			return engine.Outcome{}, err
		}
		if missing != "" {
			out.Plan = append(out.Plan, fmt.Sprintf("rotate Access service token %s (id %s): its secret is not in %s", tok.Name, id, missing))
			if !req.DryRun {
				var rot zero_trust.AccessServiceTokenRotateResponse
				if err := cfapi.Call(ctx, "rotate Access service token "+id, func(ctx context.Context) error {
					// No previous_client_secret_expires_at: the old secret
					// stops working at once, as it did through v0.
					res, err := a.V6.ZeroTrust.Access.ServiceTokens.Rotate(ctx, id, zero_trust.AccessServiceTokenRotateParams{AccountID: cf6.F(a.ID)})
					if res != nil {
						rot = *res
					}
					return err
				}); err != nil {
					return engine.Outcome{}, err
				}
				if rot.ClientSecret == "" {
					return engine.Outcome{}, fmt.Errorf("rotate Access service token %s: the answer carries no client secret", id)
				}
				secret = rot.ClientSecret
				log.Info("rotated Access service token to deliver its secret", "missingFrom", missing)
			}
		}
	}
	if secret != "" {
		if fr.secret != "" {
			out.Plan = append(out.Plan, "deliver the client secret to "+destinations(spec))
		}
		if err := f.deliver(ctx, spec, tok.ClientID, secret); err != nil {
			// The secret is lost with this flush; the next one finds the
			// destination empty and rotates.
			return engine.Outcome{}, err
		}
		log.Info("delivered Access service token secret", "to", destinations(spec))
	}
	if why := f.refreshes(spec, *tok, fr.durationChanged); why != "" {
		out.Plan = append(out.Plan, fmt.Sprintf("refresh Access service token %s (id %s): %s", tok.Name, id, why))
		if !req.DryRun {
			var ref zero_trust.ServiceToken
			if err := cfapi.Call(ctx, "refresh Access service token "+id, func(ctx context.Context) error {
				res, err := a.V6.ZeroTrust.Access.ServiceTokens.Refresh(ctx, id, zero_trust.AccessServiceTokenRefreshParams{AccountID: cf6.F(a.ID)})
				if res != nil {
					ref = *res
				}
				return err
			}); err != nil {
				return engine.Outcome{}, err
			}
			tok.ExpiresAt = ref.ExpiresAt
			log.Info("refreshed Access service token", "why", why)
		}
	}
	out.DownstreamIDs[IDClientID] = tok.ClientID
	out.DownstreamIDs[IDExpiresAt] = expiresAt(*tok)
	out.DownstreamIDs[IDDelivered] = destinations(spec)
	return out, nil
}

// expiresAt is the IDExpiresAt of tok. v6 answers a token without
// expires_at (duration forever) with the zero time.
func expiresAt(tok zero_trust.ServiceToken) string {
	if tok.ExpiresAt.IsZero() {
		return Never
	}
	return tok.ExpiresAt.UTC().Format(time.RFC3339)
}

// refreshes says why tok is to be refreshed, "" when not.
func (f *Flusher) refreshes(spec Spec, tok zero_trust.ServiceToken, durationChanged bool) string {
	if durationChanged && spec.Duration != Forever {
		return "its duration changed to " + spec.Duration
	}
	if spec.RefreshBefore == "" || tok.ExpiresAt.IsZero() {
		return ""
	}
	before, err := time.ParseDuration(spec.RefreshBefore)
	if err != nil {
		return ""
	}
	if left := tok.ExpiresAt.Sub(f.now()); left < before {
		return fmt.Sprintf("it expires at %s, within refreshBefore %s", expiresAt(tok), spec.RefreshBefore)
	}
	return ""
}

// destinations names where spec's secret goes, for plans, logs and the
// recorded ids.
func destinations(spec Spec) string {
	var out []string
	if spec.Secret != nil {
		out = append(out, "Secret "+spec.Secret.Namespace+"/"+spec.Secret.Name)
	}
	if spec.File != "" {
		out = append(out, "file "+spec.File)
	}
	return strings.Join(out, ", ")
}

// undelivered names the destinations that do not hold the credentials of
// clientID; "" when all do.
func (f *Flusher) undelivered(ctx context.Context, spec Spec, clientID string) (string, error) {
	var missing []string
	if spec.Secret != nil {
		ok, err := f.secrets.ServiceTokenSecretHolds(ctx, *spec.Secret, clientID)
		if err != nil {
			return "", fmt.Errorf("read Secret %s/%s: %w", spec.Secret.Namespace, spec.Secret.Name, err)
		}
		if !ok {
			missing = append(missing, "Secret "+spec.Secret.Namespace+"/"+spec.Secret.Name)
		}
	}
	if spec.File != "" {
		ok, err := fileHolds(spec.File, clientID)
		if err != nil {
			return "", err
		}
		if !ok {
			missing = append(missing, "file "+spec.File)
		}
	}
	return strings.Join(missing, ", "), nil
}

// deliver writes the credentials to every destination of spec: after a
// rotation the old secret is void everywhere.
func (f *Flusher) deliver(ctx context.Context, spec Spec, clientID, secret string) error {
	if spec.Secret != nil {
		if err := f.secrets.WriteServiceTokenSecret(ctx, *spec.Secret, clientID, secret); err != nil {
			return fmt.Errorf("deliver the service token's secret to Secret %s/%s: %w", spec.Secret.Namespace, spec.Secret.Name, err)
		}
	}
	if spec.File != "" {
		if err := writeFile(spec.File, clientID, secret); err != nil {
			return fmt.Errorf("deliver the service token's secret: %w", err)
		}
	}
	return nil
}

// tokens is the kind as owned.Flush sees it. Service tokens have no
// comment for the ownership marker: ownership lives in the recorded
// status alone.
type tokens struct{}

var _ owned.Kind[Spec, zero_trust.ServiceToken] = tokens{}

func (tokens) Names() owned.Names {
	return owned.Names{Kind: Name, Noun: "Access service token", IDKey: IDToken, LabelKey: "name"}
}

func (tokens) Canonical(s Spec) Spec { return Canonical(s) }

// Claim has no adopt and no id: taking a token someone else made means
// rotating its secret away from whoever uses it. takeOver (a token the
// previous controller made for the same purpose) is the one way.
func (tokens) Claim(s Spec) owned.Claim { return owned.Claim{TakeOverID: s.TakeOver} }

func (tokens) Place(_ context.Context, _ engine.Request, s Spec) (Spec, owned.Place, error) {
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials}, nil
}

func (tokens) Ref(t zero_trust.ServiceToken) owned.Ref {
	return owned.Ref{ID: t.ID, Label: t.Name}
}

// IDs record the token's name beside its id; Flush adds the client id,
// expiry and destinations.
func (tokens) IDs(s Spec, _ *zero_trust.ServiceToken) map[string]string {
	return map[string]string{IDName: s.Name}
}

func (tokens) Creates(s Spec) string { return s.Name + " (duration " + s.Duration + ")" }

// Moved is never: a token is renamed and its duration changed in place.
func (tokens) Moved(zero_trust.ServiceToken, Spec, map[string]string) string { return "" }

// Pick never guesses: several tokens share the name (the API allows it)
// and only takeOver can say which.
func (tokens) Pick(s Spec, found []zero_trust.ServiceToken, action string) (*zero_trust.ServiceToken, error) {
	if len(found) == 1 {
		return &found[0], nil
	}
	return nil, engine.Permanent(fmt.Errorf("%d Access service tokens are named %q: set takeOver to the id of the one to %s", len(found), s.Name, action))
}

func (tokens) Clash(s Spec, err error) error {
	msg := fmt.Sprintf("an Access service token named %q exists and is not managed by conflux-sync; rename the spec, or set takeOver to its id to own it (its secret is then rotated unless the destination already holds it)", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(errors.New(msg))
}

// Diff compares the name and the duration (the API's default for an
// empty one; "1h30m" and "90m" are equal).
func (tokens) Diff(t zero_trust.ServiceToken, s Spec, _ string) []string {
	var d []string
	if t.Name != s.Name {
		d = append(d, fmt.Sprintf("name %q -> %q", t.Name, s.Name))
	}
	if remote := orDefault(t.Duration); !sameDuration(remote, s.Duration) {
		d = append(d, fmt.Sprintf("duration %s -> %s", remote, s.Duration))
	}
	return d
}

func orDefault(d string) string {
	if d == "" {
		return DefaultDuration
	}
	return d
}

func sameDuration(a, b string) bool {
	if a == b {
		return true
	}
	x, okx, errx := parseDuration(a)
	y, oky, erry := parseDuration(b)
	return errx == nil && erry == nil && okx && oky && x == y
}

// Get reads one token; nil, nil when it does not exist.
func (tokens) Get(ctx context.Context, a *cfapi.Account, id string) (*zero_trust.ServiceToken, error) {
	t, err := cfapi.Get(ctx, "get Access service token "+id, func(ctx context.Context) (*zero_trust.ServiceToken, error) {
		return a.V6.ZeroTrust.Access.ServiceTokens.Get(ctx, id, zero_trust.AccessServiceTokenGetParams{AccountID: cf6.F(a.ID)})
	})
	if err != nil || t == nil || *t == nil {
		return nil, err
	}
	return *t, nil
}

// listPage is the page size of List; the API's maximum.
const listPage = 1000

// List returns the tokens named like spec, through every page.
func (tokens) List(ctx context.Context, a *cfapi.Account, s Spec) ([]zero_trust.ServiceToken, bool, error) {
	all, err := cfapi.EveryPage(ctx, "list Access service tokens", listPage,
		func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[zero_trust.ServiceToken], error) {
			return a.V6.ZeroTrust.Access.ServiceTokens.List(ctx, zero_trust.AccessServiceTokenListParams{
				AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Page: cf6.F(page), PerPage: cf6.F(perPage),
			})
		})
	if err != nil {
		return nil, false, err
	}
	var out []zero_trust.ServiceToken
	for _, t := range all {
		// The filter is the API's; check it here too.
		if t.Name == s.Name {
			out = append(out, t)
		}
	}
	return out, true, nil
}

// Create makes the token and keeps its secret, answered this once, in
// the flush's context for the delivery. The create's answer has no
// expiry; Flush reads the token back for it.
func (tokens) Create(ctx context.Context, a *cfapi.Account, s Spec, _ string) (zero_trust.ServiceToken, error) {
	var r zero_trust.AccessServiceTokenNewResponse
	err := cfapi.Call(ctx, "create Access service token "+s.Name, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.ServiceTokens.New(ctx, zero_trust.AccessServiceTokenNewParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Duration: cf6.F(s.Duration),
		})
		if res != nil {
			r = *res
		}
		return err
	})
	if err != nil {
		return zero_trust.ServiceToken{}, err
	}
	freshOf(ctx).secret = r.ClientSecret
	return zero_trust.ServiceToken{ID: r.ID, Name: r.Name, ClientID: r.ClientID, Duration: r.Duration}, nil
}

// Update sets the name and the duration (the API's PUT); a new duration
// is marked for the refresh that makes it count. client_secret_version is
// not sent (v6's ServiceToken does not carry it, and an absent version is
// the current one): raising it would rotate the secret.
func (tokens) Update(ctx context.Context, a *cfapi.Account, old zero_trust.ServiceToken, s Spec, _ string) (zero_trust.ServiceToken, error) {
	var t zero_trust.ServiceToken
	err := cfapi.Call(ctx, "update Access service token "+old.ID, func(ctx context.Context) error {
		res, err := a.V6.ZeroTrust.Access.ServiceTokens.Update(ctx, old.ID, zero_trust.AccessServiceTokenUpdateParams{
			AccountID: cf6.F(a.ID), Name: cf6.F(s.Name), Duration: cf6.F(s.Duration),
		})
		if res != nil {
			t = *res
		}
		return err
	})
	if err != nil {
		return zero_trust.ServiceToken{}, err
	}
	if !sameDuration(orDefault(old.Duration), s.Duration) {
		freshOf(ctx).durationChanged = true
	}
	return t, nil
}

// Delete removes the token; one already gone is done.
func (tokens) Delete(ctx context.Context, a *cfapi.Account, id string) error {
	return cfapi.IgnoreNotFound(cfapi.Call(ctx, "delete Access service token "+id, func(ctx context.Context) error {
		_, err := a.V6.ZeroTrust.Access.ServiceTokens.Delete(ctx, id, zero_trust.AccessServiceTokenDeleteParams{AccountID: cf6.F(a.ID)})
		return err
	}))
}
