package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/store"
)

type metrics struct {
	requests  *prometheus.HistogramVec
	forwarded prometheus.Counter
	// shed counts requests refused to protect the node, by reason:
	// token_rate, anonymous_rate (429) and inflight_bytes (503).
	shed *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, st *store.Store, inflight *inflight) (*metrics, error) {
	m := &metrics{
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "conflux_http_shed_total",
			Help: "Requests refused before they were served, by reason: token_rate and anonymous_rate (429), inflight_bytes (503).",
		}, []string{"reason"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "conflux_http_request_duration_seconds",
			Help:    "Admin API request latency by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "code"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "conflux_http_forwarded_total",
			Help: "Requests this node forwarded to the leader.",
		}),
	}
	counts := func(pick func(store.Counts) int) func() float64 {
		return func() float64 {
			var c store.Counts
			st.View(func(v *store.View) error { c = v.Counts(); return nil })
			return float64(pick(c))
		}
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.forwarded, m.shed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "conflux_http_inflight_body_bytes", Help: "Request body bytes the writes on this node hold now (bounded by --max-inflight-bytes)."},
			func() float64 { return float64(inflight.bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "conflux_fragments", Help: "Fragments in the store."},
			counts(func(c store.Counts) int { return c.Fragments })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "conflux_targets", Help: "Targets in the store."},
			counts(func(c store.Counts) int { return c.Targets })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "conflux_sources", Help: "Registered sources."},
			counts(func(c store.Counts) int { return c.Sources })),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpapi: register metrics: %w", err)
		}
	}
	return m, nil
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument records latency under the route pattern, never the raw path
// (which would explode label cardinality).
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	})
}

// decodeResponse decodes a JSON response, turning an error status into an
// error.
func decodeResponse(resp *http.Response, v any) error {
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
