package cfapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

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
}

// Clients holds one configured cloudflare-go client per account.
type Clients struct {
	accounts map[string]*Account

	mu    sync.Mutex
	zones map[zoneKey]string // zone ids found by name; ids never change
}

type zoneKey struct{ account, name string }

// Account is the client of one account.
type Account struct {
	ID  string
	API *cloudflare.API
}

// New builds a client per account in cfg.Credentials.
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
	c := &Clients{accounts: make(map[string]*Account, len(cfg.Credentials)), zones: map[zoneKey]string{}}
	for id, token := range cfg.Credentials {
		httpClient := &http.Client{
			Timeout: cfg.Timeout,
			Transport: &transport{
				next:     cfg.Transport,
				limiter:  rate.NewLimiter(cfg.RateLimit, cfg.Burst),
				requests: requests,
			},
		}
		api, err := cloudflare.NewWithAPIToken(token,
			cloudflare.BaseURL(cfg.BaseURL),
			cloudflare.HTTPClient(httpClient),
			// The engine retries with backoff and Retry-After and the
			// transport limits the rate: the client does neither.
			cloudflare.UsingRetryPolicy(0, 0, 0),
			cloudflare.UsingRateLimit(math.Inf(1)),
			cloudflare.UserAgent("conflux-sync"),
		)
		if err != nil {
			// The client's error can only be about an empty token; say so
			// without echoing anything.
			return nil, fmt.Errorf("cfapi: account %s: the API token is empty", id)
		}
		c.accounts[id] = &Account{ID: id, API: api}
	}
	return c, nil
}

// Account returns the client of account id; "" means the only account
// configured.
func (c *Clients) Account(id string) (*Account, error) {
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
		return nil, engine.Permanent(fmt.Errorf("no Cloudflare API token is configured for account %s", id))
	}
	return a, nil
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
// has the engine verify leadership right before every write, and tells
// Call what status came back and how long the API asked to wait.
type transport struct {
	next     http.RoundTripper
	limiter  *rate.Limiter
	requests *prometheus.CounterVec
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	if req.Method != http.MethodGet {
		if err := engine.VerifyWrite(req.Context()); err != nil {
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
		n.set(resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return resp, err
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
