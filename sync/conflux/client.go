package conflux

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Error is a failed Conflux API call. A 4xx other than 409, 412 and 429
// is wrapped in engine.Permanent; everything else (409 and 412: another
// writer raced us, 429, 5xx, no response) is retryable, honouring the
// Retry-After the API sent.
type Error struct {
	// Op names the call, e.g. "publish release v2".
	Op string
	// Status is the HTTP status; 0 when no response came.
	Status int
	// Type is the problem type, e.g. "urn:conflux:problem:validation".
	Type   string
	Detail string
	// Errors are the problem's field errors (pointer or parameter).
	Errors []ProblemField
	// Wait is the Retry-After the API sent, if any.
	Wait time.Duration
	// Err is the transport error when no response came.
	Err error
}

// ProblemField is one entry of a problem's errors array.
type ProblemField struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Detail    string `json:"detail"`
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return e.Op + ": " + e.Err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Op + ": " + strconv.Itoa(e.Status))
	if e.Detail != "" {
		b.WriteString(" " + strings.TrimSuffix(e.Detail, "."))
	} else {
		b.WriteString(" " + http.StatusText(e.Status))
	}
	for i, f := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		where := f.Pointer
		if where == "" {
			where = f.Parameter
		}
		if where == "" {
			where = "/"
		}
		b.WriteString(sep + where + ": " + f.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// RetryAfter tells the engine how long the API asked to wait.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// StatusOf returns the HTTP status of a client error; 0 if none.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// classify wraps e in engine.Permanent when retrying cannot help.
func classify(e *Error) error {
	switch {
	case e.Status == http.StatusConflict, e.Status == http.StatusPreconditionFailed, e.Status == http.StatusTooManyRequests:
		return e
	case e.Status >= 400 && e.Status < 500:
		return engine.Permanent(e)
	}
	return e
}

// client talks to one Conflux API.
type client struct {
	base string
	// token is the bearer token; SetToken swaps it while requests run.
	token   atomic.Pointer[string]
	http    *http.Client
	timeout time.Duration
	// requests counts calls by method and status ("0": no answer).
	requests *prometheus.CounterVec
	// dryRun refuses every write (FlusherConfig.DryRun).
	dryRun bool
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request. in, when not nil, is sent as JSON; out, when not
// nil, receives a 2xx body. Writes pass the engine's write gate first.
func (c *client) do(ctx context.Context, op, method, path string, query url.Values, header http.Header, in, out any) (*response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, engine.Permanent(fmt.Errorf("%s: encode request: %w", op, err))
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+*c.token.Load())
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		gate := ctx
		if c.dryRun {
			gate = engine.WithDryRun(ctx)
		}
		if err := engine.VerifyWrite(gate); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.requests.WithLabelValues(method, "0").Inc()
		return nil, &Error{Op: op, Err: redact(err)}
	}
	c.requests.WithLabelValues(method, strconv.Itoa(resp.StatusCode)).Inc()
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("read response: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Status: resp.StatusCode, Wait: engine.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		var p struct {
			Type   string         `json:"type"`
			Detail string         `json:"detail"`
			Title  string         `json:"title"`
			Errors []ProblemField `json:"errors"`
		}
		if json.Unmarshal(raw, &p) == nil {
			e.Type, e.Detail, e.Errors = p.Type, cmpOr(p.Detail, p.Title), p.Errors
		}
		return nil, classify(e)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("decode response: %w", err), Detail: "undecodable response: " + err.Error()}
		}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redact keeps the error of a failed round trip but never a URL's
// userinfo (the token travels in a header, which errors do not show).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			u.User = nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// Wire types of the Conflux API (docs/conflux-api.md).

type remoteConfig struct {
	ID              string           `json:"id"`
	Tenant          string           `json:"tenant"`
	Application     string           `json:"application"`
	Environment     string           `json:"environment"`
	Name            string           `json:"name"`
	Format          string           `json:"format"`
	Schema          json.RawMessage  `json:"schema,omitempty"`
	RetentionPolicy *remoteRetention `json:"retention_policy,omitempty"`
	Description     string           `json:"description"`
	ETag            string           `json:"etag"`
}

type remoteRetention struct {
	Strategy string          `json:"strategy"`
	Rules    []remoteRetRule `json:"rules"`
}

type remoteRetRule struct {
	Type string `json:"type"`
	Keep int    `json:"keep"`
}

type remoteVersion struct {
	VersionID     string `json:"version_id"`
	Number        int    `json:"number"`
	ContentSHA256 string `json:"content_sha256"`
	Description   string `json:"description"`
	IsStable      bool   `json:"is_stable"`
}

type remoteRule struct {
	Priority  int               `json:"priority"`
	VersionID string            `json:"version_id"`
	Labels    map[string]string `json:"labels"`
}

type remotePolicy struct {
	Rules []remoteRule `json:"rules"`
	ETag  string       `json:"etag,omitempty"`
}

func configPath(id string) string { return "/v1/configs/" + url.PathEscape(id) }

// findConfig looks a config up by its natural key; nil when missing.
func (c *client) findConfig(ctx context.Context, k ConfigKey) (*remoteConfig, error) {
	q := url.Values{"tenant": {k.Tenant}, "application": {k.Application}, "environment": {k.Environment}, "name": {k.Name}, "page_size": {"2"}}
	var list struct {
		Items []remoteConfig `json:"items"`
	}
	if _, err := c.do(ctx, "find config "+k.String(), http.MethodGet, "/v1/configs", q, nil, nil, &list); err != nil {
		return nil, err
	}
	for i := range list.Items {
		it := &list.Items[i]
		if it.Tenant == k.Tenant && it.Application == k.Application && it.Environment == k.Environment && it.Name == k.Name {
			return it, nil
		}
	}
	return nil, nil
}

// getConfig reads a config by id; nil when it does not exist.
func (c *client) getConfig(ctx context.Context, id string) (*remoteConfig, error) {
	var cfg remoteConfig
	resp, err := c.do(ctx, "read config "+id, http.MethodGet, configPath(id), nil, nil, nil, &cfg)
	if StatusOf(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if et := resp.header.Get("ETag"); et != "" {
		cfg.ETag = et
	}
	return &cfg, nil
}

func ifMatch(etag string) http.Header { return http.Header{"If-Match": {etag}} }
