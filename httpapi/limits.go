package httpapi

import (
	"cmp"
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/conflux-sync/conflux-sync/api"
)

// Defaults of Limits. The server's flags point at these.
const (
	// DefaultMaxRequestBody bounds the body of one source-fragments or
	// sources write (a single fragment is bounded by MaxFragmentSize).
	// 16 MiB holds a whole source of a thousand 16 KiB fragments; larger
	// sets are what in-process producers (Kubernetes, Git) write without
	// HTTP. A body over it is a 413 naming the limit and the flag.
	DefaultMaxRequestBody = 16 << 20
	// DefaultMaxInflightBytes bounds the request bodies all writes on a
	// node hold at once. A write costs a few times its body while it is
	// decoded, validated, encoded for the log and applied (docs/
	// benchmarks.md, "Memory of large writes"), so this is the knob that
	// keeps a node under its memory limit: 64 MiB is four largest writes.
	// A write that does not fit waits for none: it is answered 503 with
	// Retry-After before its body is read.
	DefaultMaxInflightBytes = 64 << 20
	// DefaultTokenRate is the sustained requests per second one bearer
	// token may make on one node, and DefaultTokenBurst how many it may
	// make at once. They stop one runaway producer from starving the
	// others, with room for Terraform's parallelism and CI.
	DefaultTokenRate  = 1000
	DefaultTokenBurst = 2000
	// DefaultAnonRate and DefaultAnonBurst limit requests without a valid
	// token, per client IP: enough for a person who mistyped a token, not
	// for guessing tokens.
	DefaultAnonRate  = 5
	DefaultAnonBurst = 20
)

// Limits bounds what the admin API takes from its callers. Zero values
// take the Default* constants; a negative rate turns that rate limit off
// (benchmarks), a negative MaxInflightBytes turns in-flight accounting off.
type Limits struct {
	// MaxRequestBody bounds the body of a source-fragments or sources write.
	MaxRequestBody int64
	// MaxInflightBytes bounds the bodies of all writes a node holds at once.
	MaxInflightBytes int64
	// TokenRate and TokenBurst limit the requests of one token on one node
	// (429 with Retry-After over it). Health, readiness and metrics are
	// never limited.
	TokenRate  float64
	TokenBurst int
	// AnonRate and AnonBurst limit requests without a valid token per
	// client IP.
	AnonRate  float64
	AnonBurst int
}

// withDefaults fills each zero field with its default, so that a zero
// Limits means the defaults.
func (l Limits) withDefaults() Limits {
	l.MaxRequestBody = cmp.Or(l.MaxRequestBody, DefaultMaxRequestBody)
	l.MaxInflightBytes = cmp.Or(l.MaxInflightBytes, DefaultMaxInflightBytes)
	l.TokenRate = cmp.Or(l.TokenRate, DefaultTokenRate)
	l.TokenBurst = cmp.Or(l.TokenBurst, DefaultTokenBurst)
	l.AnonRate = cmp.Or(l.AnonRate, DefaultAnonRate)
	l.AnonBurst = cmp.Or(l.AnonBurst, DefaultAnonBurst)
	return l
}

// limiters holds one token bucket per key (a token's hash or a client IP).
// Buckets unused for idleAfter are dropped, so the map stays as small as
// the set of recent callers.
type limiters struct {
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long a caller's bucket is kept unused; a full bucket
// refills long before, so dropping it loses nothing.
const idleAfter = 10 * time.Minute

func newLimiters(r float64, burst int) *limiters {
	if r < 0 {
		return nil // off
	}
	return &limiters{rate: rate.Limit(r), burst: burst, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket; when it is empty it returns
// how long until it holds one again.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idleAfter {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// tooManyRequests answers 429 with a Retry-After in whole seconds (at
// least 1), as HTTP wants.
func tooManyRequests(w http.ResponseWriter, wait time.Duration, who string) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, api.Errorf(api.CodeTooManyRequests, "", "rate limit of %s exceeded; retry after %d s", who, secs))
}

// tokenKey is the bucket key of a bearer token: its hash, so the map
// never holds a token.
func tokenKey(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return string(sum[:])
}

// clientIP is the bucket key of a caller without a valid token.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// inflight counts the request body bytes writes hold on this node.
type inflight struct {
	max int64 // <0: off

	mu   sync.Mutex
	used int64
}

// acquire reserves n bytes; false when they do not fit. A single request
// larger than max is let through alone (it was checked against
// MaxRequestBody already), so that a small max cannot lock a legal write
// out for good.
func (f *inflight) acquire(n int64) bool {
	if f.max < 0 {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used > 0 && f.used+n > f.max {
		return false
	}
	f.used += n
	return true
}

func (f *inflight) release(n int64) {
	if f.max < 0 {
		return
	}
	f.mu.Lock()
	f.used -= n
	f.mu.Unlock()
}

func (f *inflight) bytes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}

// bodyBudget admits a write whose body may be up to limit bytes (named by
// flag in errors): a declared Content-Length over it is a 413 at once; a
// body that does not fit in the node's in-flight budget is a 503 with
// Retry-After, before a byte of it is read. The request's body is capped
// at limit either way.
func (s *Server) bodyBudget(limit int64, flag string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeError(w, tooLarge(limit, flag))
			return
		}
		charge := r.ContentLength
		if charge < 0 { // chunked: it may be as large as the limit
			charge = limit
		}
		if !s.inflight.acquire(charge) {
			s.metrics.shed.WithLabelValues("inflight_bytes").Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, api.Errorf(api.CodeUnavailable, "", "this node holds %d bytes of request bodies, and this one would exceed --max-inflight-bytes (%d); retry", s.inflight.bytes(), s.cfg.Limits.MaxInflightBytes))
			return
		}
		defer s.inflight.release(charge)
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h(w, r)
	}
}

func tooLarge(limit int64, flag string) *api.Error {
	return api.Errorf(api.CodeTooLarge, "", "request body is over the limit of %d bytes (--%s)", limit, flag)
}

// deadlines fits the server's write deadline to the request: a write made
// with ?wait may answer only after its wait, so its deadline moves out by
// the wait; a snapshot streams for as long as the state takes, so it has
// none (its upload is bounded by MaxSnapshotSize, its download by the
// state). Every other request keeps the server's WriteTimeout.
func (s *Server) deadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.WriteTimeout > 0 {
			rc := http.NewResponseController(w)
			switch {
			case r.URL.Path == "/v1/snapshot":
				// Errors mean the connection cannot take deadlines
				// (e.g. a test recorder): nothing to lift.
				_ = rc.SetWriteDeadline(time.Time{})
				_ = rc.SetReadDeadline(time.Time{})
			case r.URL.Query().Has("wait"):
				if d, err := parseWait(r); err == nil {
					_ = rc.SetWriteDeadline(time.Now().Add(d + s.cfg.WriteTimeout))
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
