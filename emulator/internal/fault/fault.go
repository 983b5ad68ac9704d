// Package fault is the test-control surface the emulators share: injected
// faults (matched by method and path prefix, limited by count and
// probability, with an optional delay and Retry-After), per-route request
// counts and the token-less /__emulator/faults and /__emulator/requests
// endpoints. Each emulator supplies its API mount and how it writes
// responses through Config.
package fault

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes matching API requests fail (or slow down) before routing.
type Fault struct {
	// Method to match; "" matches any.
	Method string `json:"method"`
	// PathPrefix is matched against the request path; a prefix without the
	// API mount is treated as relative to it ("" matches every API path).
	PathPrefix string `json:"path"`
	// Status to answer with; 0 means only apply Delay, then serve normally.
	Status int `json:"status"`
	// Count limits how many requests the fault hits; 0 means unlimited.
	Count int `json:"count"`
	// Probability in (0,1] that a matching request is hit; 0 means always.
	Probability float64 `json:"probability"`
	// Delay before answering (or serving).
	Delay time.Duration `json:"-"`
	// RetryAfter, when >0, is sent as the Retry-After header in seconds.
	RetryAfter int `json:"retry_after"`
}

// faultJSON is the wire form: delay is a Go duration string ("250ms").
type faultJSON struct {
	Fault
	Delay string `json:"delay"`
}

// Config says what differs between emulators. Every func must be set.
type Config struct {
	// APIPrefix is the API mount, e.g. "/client/v4".
	APIPrefix string
	// SegmentMount makes a fault path count as already mounted only when it
	// is APIPrefix itself or continues it with "/"; otherwise any path
	// starting with APIPrefix does.
	SegmentMount bool
	// RelativeKeys makes request-count keys relative to APIPrefix.
	RelativeKeys bool
	// ErrorStatusOnly rejects posted faults whose status is neither 0 nor
	// 400-599.
	ErrorStatusOnly bool
	// Mux routes the API.
	Mux *http.ServeMux
	// Logger receives one debug line per counted request.
	Logger *slog.Logger

	// WriteFault answers a request hit by ft (ft.Status != 0); Retry-After
	// is already set.
	WriteFault func(w http.ResponseWriter, r *http.Request, ft Fault)
	// WriteBadBody answers a POSTed fault that is not valid JSON.
	WriteBadBody func(w http.ResponseWriter, r *http.Request, err error)
	// WriteBadRequest answers an otherwise invalid POSTed fault.
	WriteBadRequest func(w http.ResponseWriter, r *http.Request, msg string)
	// WriteResult answers a successful control call with body v (the
	// installed fault, or the request counts).
	WriteResult func(w http.ResponseWriter, r *http.Request, v any)
	// WriteCleared answers DELETE /__emulator/faults.
	WriteCleared func(w http.ResponseWriter, r *http.Request)
	// WriteNotFound answers an unknown /__emulator/ endpoint.
	WriteNotFound func(w http.ResponseWriter, r *http.Request)
	// Unrouted answers an API request no Mux pattern matches (after it was
	// counted and faults were applied).
	Unrouted func(w http.ResponseWriter, r *http.Request)
}

// Control holds an emulator's faults and request counts. It is safe for
// concurrent use.
type Control struct {
	cfg Config

	mu       sync.Mutex
	faults   []*Fault
	requests map[string]int
}

// New returns an empty Control.
func New(cfg Config) *Control {
	return &Control{cfg: cfg, requests: map[string]int{}}
}

// Add installs a fault for subsequent API requests.
func (c *Control) Add(ft Fault) {
	p := c.cfg.APIPrefix
	mounted := strings.HasPrefix(ft.PathPrefix, p)
	if c.cfg.SegmentMount {
		mounted = ft.PathPrefix == p || strings.HasPrefix(ft.PathPrefix, p+"/")
	}
	if ft.PathPrefix != "" && !mounted {
		ft.PathPrefix = p + ft.PathPrefix
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &ft)
}

// Clear removes all faults.
func (c *Control) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
}

// match returns a copy of the first fault that fires for r, consuming one
// use of its Count.
func (c *Control) match(r *http.Request) (Fault, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ft := range c.faults {
		if ft.Method != "" && !strings.EqualFold(ft.Method, r.Method) {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, ft.PathPrefix) {
			continue
		}
		if ft.Probability > 0 && rand.Float64() >= ft.Probability {
			continue
		}
		out := *ft
		if ft.Count > 0 {
			ft.Count--
			if ft.Count == 0 {
				c.faults = append(c.faults[:i], c.faults[i+1:]...)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// Requests returns a copy of the per-route request counts.
func (c *Control) Requests() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.requests))
	for k, v := range c.requests {
		out[k] = v
	}
	return out
}

// Reset clears faults and request counts.
func (c *Control) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
	c.requests = map[string]int{}
}

// ServeHTTP serves the token-less /__emulator/ endpoints; any other request
// is counted under its route pattern ("METHOD <unmatched>" when none), has
// faults applied and is then routed through Mux (or Unrouted).
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__emulator/") {
		c.serveControl(w, r)
		return
	}
	// Handler only looks the pattern up (for counting); it does not set
	// PathValue, so the request is served through mux.ServeHTTP below.
	_, pattern := c.cfg.Mux.Handler(r)
	key := r.Method + " <unmatched>"
	if pattern != "" {
		_, p, _ := strings.Cut(pattern, " ")
		if c.cfg.RelativeKeys {
			p = strings.TrimPrefix(p, c.cfg.APIPrefix)
		}
		key = r.Method + " " + p
	}
	c.mu.Lock()
	c.requests[key]++
	c.mu.Unlock()
	c.cfg.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "route", key)

	if c.apply(w, r) {
		return
	}
	if pattern == "" {
		c.cfg.Unrouted(w, r)
		return
	}
	c.cfg.Mux.ServeHTTP(w, r)
}

// apply reports whether it answered the request.
func (c *Control) apply(w http.ResponseWriter, r *http.Request) bool {
	ft, ok := c.match(r)
	if !ok {
		return false
	}
	if ft.Delay > 0 {
		t := time.NewTimer(ft.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if ft.Status == 0 {
		return false
	}
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	c.cfg.WriteFault(w, r, ft)
	return true
}

// serveControl handles the token-less /__emulator/ endpoints.
func (c *Control) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/__emulator/faults" && r.Method == http.MethodPost:
		var fj faultJSON
		if err := json.NewDecoder(r.Body).Decode(&fj); err != nil {
			c.cfg.WriteBadBody(w, r, err)
			return
		}
		if fj.Delay != "" {
			d, err := time.ParseDuration(fj.Delay)
			if err != nil {
				c.cfg.WriteBadRequest(w, r, "Invalid delay: "+err.Error())
				return
			}
			fj.Fault.Delay = d
		}
		if c.cfg.ErrorStatusOnly && fj.Status != 0 && (fj.Status < 400 || fj.Status > 599) {
			c.cfg.WriteBadRequest(w, r, "status must be 0 or an HTTP error status (400-599)")
			return
		}
		c.Add(fj.Fault)
		c.cfg.WriteResult(w, r, fj)
	case r.URL.Path == "/__emulator/faults" && r.Method == http.MethodDelete:
		c.Clear()
		c.cfg.WriteCleared(w, r)
	case r.URL.Path == "/__emulator/requests" && r.Method == http.MethodGet:
		c.cfg.WriteResult(w, r, c.Requests())
	default:
		c.cfg.WriteNotFound(w, r)
	}
}
