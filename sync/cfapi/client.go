package cfapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// DefaultBaseURL is the Cloudflare v4 API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Config configures Clients. Zero values take the defaults noted.
type Config struct {
	// Credentials holds one API token per account. Kinds asked to write to
	// an account without a token fail permanently, naming the account.
	Credentials Credentials
	// BaseURL is the API root; default DefaultBaseURL. `dev` and the tests
	// point it at the emulator.
	BaseURL string
	// RateLimit and Burst size each account's token bucket, which every
	// request of every kind waits on. Cloudflare allows 1,200 requests per 5
	// minutes per token and then blocks the token for 5 minutes, so the
	// default stays well under: 1,000 per 5 minutes, burst 20.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one request; default 30s.
	Timeout time.Duration
	// Transport carries the requests; default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Registerer receives the request counter; default a private registry.
	Registerer prometheus.Registerer
	// Secrets reads API tokens from the Kubernetes Secrets that fragments
	// name in spec.credentials. Nil: such fragments cannot be flushed (a
	// permanent error naming the Secret).
	Secrets SecretReader
	// Objects reads secrets written inline in Kubernetes objects, which
	// fragments name by an api.ObjectFieldRef (an identity provider's
	// inline client secret). Nil: such fragments cannot be flushed (a
	// permanent error naming the field).
	Objects ObjectFieldReader
	// DryRun refuses every request but a GET (conflux-sync server
	// --dry-run), whatever the caller's context says: the engine's write
	// gate refuses the writes of its flushes, this those of anyone else.
	DryRun bool
}

// Clients holds one configured cloudflare-go client per account with
// static credentials, and builds clients for tokens read from Kubernetes
// Secrets on demand (see For).
type Clients struct {
	cfg      Config // with the defaults filled in
	requests *prometheus.CounterVec

	mu sync.Mutex
	// accounts are the clients of the static credentials; SetCredentials
	// replaces the set.
	accounts map[string]*Account
	// staticTokens holds the current token of each static account. The
	// transport sends it on every request, so a rotated token is used at
	// once, also by a flush that fetched its Account before the rotation.
	staticTokens map[string]*atomic.Pointer[string]
	// limiters holds one token bucket per account id, shared by every
	// client of that account, static or from a Secret: Cloudflare limits
	// requests per account/user, not per token.
	limiters map[string]*rate.Limiter
	// secretClients are the clients of tokens read from Secrets, keyed by
	// account, Secret and the sha256 of the token (never the token).
	secretClients map[secretKey]*Account
	// lastTokens holds the last token read successfully from each Secret,
	// in memory only, for the life of this Clients (the leader's process).
	// When the Secret can no longer be read (e.g. its namespace is being
	// torn down together with the fragments that named it), the remembered
	// token still lets the leader flush the deletion of what it created.
	lastTokens map[api.SecretRef]string
	zones      map[zoneKey]string // zone ids found by name; ids never change
}

type zoneKey struct{ account, name string }

type secretKey struct {
	account string
	ref     api.SecretRef
	sum     [sha256.Size]byte
}

// Account is the client of one account.
type Account struct {
	ID string
	// API is the cloudflare-go v0 client, V6 the v6 one of the same token,
	// transport and rate limit; a kind uses one of them (see doc.go).
	API *cloudflare.API
	V6  *V6
	// Credentials is the Secret the client's token came from; nil for the
	// static credentials.
	Credentials *api.SecretRef
}

// New builds a client per account in cfg.Credentials. With cfg.Secrets set,
// cfg.Credentials may be empty: every target then names its Secret.
func New(cfg Config) (*Clients, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = rate.Limit(1000.0 / 300.0)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "conflux_cloudflare_requests_total",
		Help: "Requests sent to the Cloudflare API by method and HTTP status (0: no response).",
	}, []string{"method", "code"})
	if err := cfg.Registerer.Register(requests); err != nil {
		return nil, fmt.Errorf("cfapi: register metrics: %w", err)
	}
	c := &Clients{
		cfg:           cfg,
		requests:      requests,
		accounts:      make(map[string]*Account, len(cfg.Credentials)),
		staticTokens:  map[string]*atomic.Pointer[string]{},
		limiters:      map[string]*rate.Limiter{},
		secretClients: map[secretKey]*Account{},
		lastTokens:    map[api.SecretRef]string{},
		zones:         map[zoneKey]string{},
	}
	if err := c.SetCredentials(cfg.Credentials); err != nil {
		return nil, err
	}
	return c, nil
}

// SetCredentials replaces the static credentials (a reloaded
// --cloudflare-credentials file): every request sent from now on carries
// the new token of its account, including those of flushes under way; an
// account no longer listed has no client. An empty token fails the whole
// set and changes nothing. Errors name the account, never a token.
func (c *Clients) SetCredentials(creds Credentials) error {
	for _, id := range creds.Accounts() {
		if strings.TrimSpace(creds[id]) == "" {
			return fmt.Errorf("cfapi: account %s: the API token is empty", id)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	accounts := make(map[string]*Account, len(creds))
	for id, token := range creds {
		tok := token
		holder := c.staticTokens[id]
		if holder == nil {
			holder = &atomic.Pointer[string]{}
			c.staticTokens[id] = holder
		}
		holder.Store(&tok)
		if a, ok := c.accounts[id]; ok {
			accounts[id] = a
			continue
		}
		a, err := c.newAccountLocked(id, token, nil, holder)
		if err != nil {
			return err
		}
		accounts[id] = a
	}
	for id := range c.staticTokens {
		if _, ok := creds[id]; !ok {
			delete(c.staticTokens, id)
		}
	}
	c.accounts = accounts
	return nil
}

// limiter returns the token bucket of account id.
func (c *Clients) limiter(id string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limiterLocked(id)
}

func (c *Clients) limiterLocked(id string) *rate.Limiter {
	l, ok := c.limiters[id]
	if !ok {
		l = rate.NewLimiter(c.cfg.RateLimit, c.cfg.Burst)
		c.limiters[id] = l
	}
	return l
}

// newAccount builds the client of one token for account id; credentials
// is the Secret the token came from (nil: static).
func (c *Clients) newAccount(id, token string, credentials *api.SecretRef) (*Account, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newAccountLocked(id, token, credentials, nil)
}

// newAccountLocked is newAccount with c.mu held. current, when set, is the
// token holder of a static account, whose value the transport sends
// instead of token.
func (c *Clients) newAccountLocked(id, token string, credentials *api.SecretRef, current *atomic.Pointer[string]) (*Account, error) {
	httpClient := &http.Client{
		Timeout: c.cfg.Timeout,
		Transport: &transport{
			next:        c.cfg.Transport,
			limiter:     c.limiterLocked(id),
			requests:    c.requests,
			credentials: credentials,
			dryRun:      c.cfg.DryRun,
			token:       current,
		},
	}
	cf, err := cloudflare.NewWithAPIToken(token,
		cloudflare.BaseURL(c.cfg.BaseURL),
		cloudflare.HTTPClient(httpClient),
		// The engine retries with backoff and Retry-After and the
		// transport limits the rate: the client does neither.
		cloudflare.UsingRetryPolicy(0, 0, 0),
		cloudflare.UsingRateLimit(math.Inf(1)),
		cloudflare.UserAgent(userAgent),
	)
	if err != nil {
		// The client's error can only be about an empty token; say so
		// without echoing anything.
		if credentials != nil {
			return nil, fmt.Errorf("cfapi: account %s: the API token in %s is empty", id, credentials)
		}
		return nil, fmt.Errorf("cfapi: account %s: the API token is empty", id)
	}
	return &Account{ID: id, API: cf, V6: newV6(c.cfg.BaseURL, token, httpClient), Credentials: credentials}, nil
}

// Account returns the client of account id; "" means the only account
// configured.
func (c *Clients) Account(id string) (*Account, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == "" {
		if len(c.accounts) == 1 {
			for _, a := range c.accounts {
				return a, nil
			}
		}
		return nil, engine.Permanent(fmt.Errorf("no accountId given and %d Cloudflare accounts are configured: set accountId", len(c.accounts)))
	}
	a, ok := c.accounts[id]
	if !ok {
		if c.cfg.Secrets != nil {
			return nil, engine.Permanent(fmt.Errorf("no Cloudflare API token is configured for account %s and the spec names no Secret in credentials", id))
		}
		return nil, engine.Permanent(fmt.Errorf("no Cloudflare API token is configured for account %s", id))
	}
	return a, nil
}

// For returns the client to write to account accountID with. A nil ref
// means the static credentials (see Account). With a ref, the token is
// read from that Secret through Config.Secrets on every call (so a rotated
// token takes effect at the next flush) and the client built for it is
// cached. Errors name the Secret, never the token:
//
//   - no accountId, or no SecretReader configured: permanent;
//   - the Secret or key cannot be read (missing, empty): retryable, the
//     Secret may appear. If a token was read from the same Secret earlier
//     in this process, that token is used instead, so the deletion of what
//     it created can still be flushed after the Secret is gone.
func (c *Clients) For(ctx context.Context, accountID string, ref *api.SecretRef) (*Account, error) {
	if ref == nil {
		return c.Account(accountID)
	}
	if accountID == "" {
		return nil, engine.Permanent(fmt.Errorf("accountId is required with credentials from a Secret (%s)", ref))
	}
	if c.cfg.Secrets == nil {
		return nil, engine.Permanent(fmt.Errorf("the API token for account %s is to come from %s, but this server cannot read Kubernetes Secrets", accountID, ref))
	}
	token, err := c.readToken(ctx, *ref)
	if err != nil {
		return nil, err
	}
	key := secretKey{account: accountID, ref: *ref, sum: sha256.Sum256([]byte(token))}
	c.mu.Lock()
	a, ok := c.secretClients[key]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err = c.newAccount(accountID, token, ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.secretClients[key]; ok {
		return old, nil // built concurrently
	}
	// A rotated token replaces the client of the old one.
	for k := range c.secretClients {
		if k.account == key.account && k.ref == key.ref {
			delete(c.secretClients, k)
		}
	}
	c.secretClients[key] = a
	return a, nil
}

// readToken reads the token of ref, falling back to the last token read
// from it when the read fails.
func (c *Clients) readToken(ctx context.Context, ref api.SecretRef) (string, error) {
	v, err := c.cfg.Secrets.SecretValue(ctx, ref)
	// Tokens hold no white space; a trailing newline from a file is not
	// part of one.
	v = strings.TrimSpace(v)
	if err == nil && v == "" {
		err = errors.New("the value is empty")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if last, ok := c.lastTokens[ref]; ok {
			return last, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("read the Cloudflare API token from %s: %w", ref, ctx.Err())
		}
		// %v, not %w: the reader's error is text only, and the engine
		// must not take it for permanent.
		return "", fmt.Errorf("read the Cloudflare API token from %s: %v", ref, err)
	}
	c.lastTokens[ref] = v
	return v, nil
}

// ZoneID finds the id of the zone named name in the account.
func (c *Clients) ZoneID(ctx context.Context, a *Account, name string) (string, error) {
	key := zoneKey{a.ID, name}
	c.mu.Lock()
	id, ok := c.zones[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	var zones []cloudflare.Zone
	err := Call(ctx, "find zone "+name, func(ctx context.Context) error {
		resp, err := a.API.ListZonesContext(ctx, cloudflare.WithZoneFilters(name, a.ID, ""))
		zones = resp.Result
		return err
	})
	if err != nil {
		return "", err
	}
	switch len(zones) {
	case 0:
		return "", engine.Permanent(fmt.Errorf("zone %s is not in Cloudflare account %s (or the token may not read it)", name, a.ID))
	case 1:
	default:
		return "", engine.Permanent(fmt.Errorf("zone name %s is ambiguous in account %s", name, a.ID))
	}
	c.mu.Lock()
	c.zones[key] = zones[0].ID
	c.mu.Unlock()
	return zones[0].ID, nil
}

// transport waits on the account's token bucket before every request,
// has the engine verify leadership (and refuse in a dry run) right before
// every write, and tells Call what status came back and how long the API
// asked to wait.
type transport struct {
	next     http.RoundTripper
	limiter  *rate.Limiter
	requests *prometheus.CounterVec
	// credentials is the Secret the client's token came from; nil when
	// static. Call names it when Cloudflare rejects the token.
	credentials *api.SecretRef
	// dryRun refuses every write (Config.DryRun).
	dryRun bool
	// token, when set, is the current token of a static account: it
	// replaces the one the client was built with.
	token *atomic.Pointer[string]
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token != nil {
		if tok := t.token.Load(); tok != nil && req.Header.Get("Authorization") != "Bearer "+*tok {
			// A RoundTripper must not change the caller's request.
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", "Bearer "+*tok)
		}
	}
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	// After the wait: leadership may have been lost during it.
	if req.Method != http.MethodGet {
		ctx := req.Context()
		if t.dryRun {
			ctx = engine.WithDryRun(ctx)
		}
		if err := engine.VerifyWrite(ctx); err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	t.requests.WithLabelValues(req.Method, strconv.Itoa(code)).Inc()
	if n, ok := req.Context().Value(noteKey{}).(*note); ok && err == nil {
		n.set(resp.StatusCode, engine.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), t.credentials)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			n.setChain(readChain(resp))
		}
	}
	return resp, err
}

// maxErrorBody bounds the error body read for its error_chain.
const maxErrorBody = 64 << 10

// readChain returns the error_chain entries of a 4xx answer's errors
// (the specific reasons cloudflare-go drops: "DNS Validation Error" 1004
// is caused by e.g. 9003) and puts the body back for the client to parse.
func readChain(resp *http.Response) []Reason {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var env struct {
		Errors []struct {
			ErrorChain []Reason `json:"error_chain"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	var out []Reason
	for _, e := range env.Errors {
		out = append(out, e.ErrorChain...)
	}
	return out
}
