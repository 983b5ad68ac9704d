package api

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
	"time"
)

// Consistency selects how a read is served (Consul's model).
type Consistency string

// Read consistency modes.
const (
	// Stale reads are served by whichever node answers, from its own state.
	Stale Consistency = "stale"
	// Default reads are served by the leader without a quorum check.
	Default Consistency = "default"
	// Consistent reads make the leader verify its leadership with a quorum
	// and catch up to its commit index first.
	Consistent Consistency = "consistent"
)

// TokenExpiresHeader is set on every answer to a request made with a
// retiring token: one a server's token file no longer lists, still
// accepted for the server's --token-rotation-overlap. Its value is the
// RFC 3339 time the token stops working; a client that reads its token from
// a file should read the file again.
const TokenExpiresHeader = "X-Conflux-Token-Expires"

// Client talks to the admin API. The zero value is not usable; use
// NewClient.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	// retryFor: see WithRetry.
	retryFor time.Duration
	// Consistency applies to every read; empty means Default.
	Consistency Consistency
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (TLS settings, timeouts).
func WithHTTPClient(h *http.Client) ClientOption { return func(c *Client) { c.http = h } }

// WithRetry makes the client send a request again, for up to d, while the
// cluster answers that it cannot take it now: 503 no_leader or unavailable
// (an election is under way, or leadership moved while a write was
// proposed) and 429 (throttled). It waits what the answer's Retry-After
// says (1s without one; never past d or the context). Every request sent
// this way is safe to repeat: a fragment write carries its generation, a
// delete or a replace repeats to the same state, and a read reads. 0, the
// default, returns the first such answer as an error.
func WithRetry(d time.Duration) ClientOption { return func(c *Client) { c.retryFor = d } }

// WithToken sets the bearer token.
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// NewClient returns a client for the API at addr, e.g.
// "http://127.0.0.1:7780".
func NewClient(addr string, opts ...ClientOption) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(strings.TrimRight(addr, "/"))
	if err != nil {
		return nil, fmt.Errorf("api client: address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api client: address %q: scheme must be http or https", addr)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 60 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Addr is the base address of the API.
func (c *Client) Addr() string { return c.base.String() }

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path += path
	if method == http.MethodGet && c.Consistency != "" && c.Consistency != Default {
		if q == nil {
			q = url.Values{}
		}
		q.Set("consistency", string(c.Consistency))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends a request and decodes a JSON answer into out (unless nil). An
// error status becomes an *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var payload []byte
	if in != nil {
		switch v := in.(type) {
		case []byte:
			payload = v
		default:
			b, err := json.Marshal(in)
			if err != nil {
				return err
			}
			payload = b
		}
	}
	giveUp := time.Now().Add(c.retryFor)
	for {
		var body io.Reader
		if in != nil {
			body = bytes.NewReader(payload)
		}
		req, err := c.newRequest(ctx, method, path, q, body)
		if err != nil {
			return err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if resp.StatusCode/100 != 2 {
			apiErr := decodeError(resp)
			resp.Body.Close()
			wait, retry := retryAfter(resp, apiErr)
			if !retry || time.Now().Add(wait).After(giveUp) {
				return apiErr
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return apiErr
			case <-t.C:
			}
			continue
		}
		defer resp.Body.Close()
		if out == nil {
			io.Copy(io.Discard, resp.Body)
			return nil
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
		return nil
	}
}

// retryAfter reports whether an answer says "not now" (see WithRetry) and
// how long it asks to wait.
func retryAfter(resp *http.Response, err error) (time.Duration, bool) {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
	case resp.StatusCode == http.StatusServiceUnavailable && (IsCode(err, CodeNoLeader) || IsCode(err, CodeUnavailable)):
	default:
		return 0, false
	}
	if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
		return time.Duration(secs) * time.Second, true
	}
	return time.Second, true
}

func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb ErrorBody
	if err := json.Unmarshal(raw, &eb); err != nil || eb.Error.Code == "" {
		return &Error{Status: resp.StatusCode, Code: CodeInternal, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))}
	}
	eb.Error.Status = resp.StatusCode
	return &eb.Error
}

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// WriteOption changes how a fragment write is made.
type WriteOption func(*writeOptions)

type writeOptions struct {
	wait time.Duration
}

// Wait makes a fragment write (PutFragment, PutFragmentJSON,
// DeleteFragment, ReplaceSourceFragments) wait up to d after it is
// applied until the leader has synced every target it touched (?wait=d;
// 0 < d <= MaxWait). The result's Sync then lists each target's status;
// when d runs out first the error has code CodeWaitTimeout (HTTP 504),
// and the write itself was still applied. d <= 0 means no wait. The
// client's HTTP timeout is raised to d plus a margin for the call.
func Wait(d time.Duration) WriteOption {
	return func(o *writeOptions) { o.wait = d }
}

// writeQuery applies opts to q (which may be nil) and returns the client
// to send with: one whose HTTP timeout outlasts the wait.
func (c *Client) writeQuery(q url.Values, opts []WriteOption) (*Client, url.Values) {
	var o writeOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.wait <= 0 {
		return c, q
	}
	if q == nil {
		q = url.Values{}
	}
	q.Set("wait", o.wait.String())
	// The server may spend a leader wait and a commit before it starts
	// waiting for the sync.
	need := o.wait + 30*time.Second
	if c.http.Timeout == 0 || c.http.Timeout >= need {
		return c, q
	}
	h := *c.http
	h.Timeout = need
	return c.WithHTTPClient(&h), q
}

// PutFragment creates or updates one fragment.
func (c *Client) PutFragment(ctx context.Context, f Fragment, opts ...WriteOption) (WriteResult, error) {
	var res WriteResult
	cl, q := c.writeQuery(nil, opts)
	return res, cl.do(ctx, http.MethodPut, "/v1/fragments", q, f, &res)
}

// PutFragmentJSON sends a fragment exactly as given (the CLI uses it to
// pass files through unchanged).
func (c *Client) PutFragmentJSON(ctx context.Context, raw []byte, opts ...WriteOption) (WriteResult, error) {
	var res WriteResult
	cl, q := c.writeQuery(nil, opts)
	return res, cl.do(ctx, http.MethodPut, "/v1/fragments", q, raw, &res)
}

func refQuery(t TargetRef, s SourceRef) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("target.kind", t.Kind)
	set("target.name", t.Name)
	set("source.kind", s.Kind)
	set("source.namespace", s.Namespace)
	set("source.name", s.Name)
	return q
}

// DeleteFragment deletes the fragment of source s for target t.
func (c *Client) DeleteFragment(ctx context.Context, t TargetRef, s SourceRef, opts ...WriteOption) (WriteResult, error) {
	var res WriteResult
	cl, q := c.writeQuery(refQuery(t, s), opts)
	return res, cl.do(ctx, http.MethodDelete, "/v1/fragments", q, nil, &res)
}

// ReplaceSourceFragments atomically replaces every fragment of a source.
func (c *Client) ReplaceSourceFragments(ctx context.Context, req ReplaceSourceRequest, opts ...WriteOption) (WriteResult, error) {
	var res WriteResult
	cl, q := c.writeQuery(nil, opts)
	return res, cl.do(ctx, http.MethodPut, "/v1/source-fragments", q, req, &res)
}

// ListFragments lists fragments; zero fields of t and s match everything.
func (c *Client) ListFragments(ctx context.Context, t TargetRef, s SourceRef) ([]Fragment, error) {
	var out []Fragment
	return out, c.do(ctx, http.MethodGet, "/v1/fragments", refQuery(t, s), nil, &out)
}

// ListTargets lists targets, optionally of one kind.
func (c *Client) ListTargets(ctx context.Context, kind string) ([]TargetSummary, error) {
	var q url.Values
	if kind != "" {
		q = url.Values{"kind": {kind}}
	}
	var out []TargetSummary
	return out, c.do(ctx, http.MethodGet, "/v1/targets", q, nil, &out)
}

// GetTarget returns one target with its desired output and fragments.
func (c *Client) GetTarget(ctx context.Context, t TargetRef) (Target, error) {
	var out Target
	return out, c.do(ctx, http.MethodGet, "/v1/targets/"+url.PathEscape(t.Kind)+"/"+escapeName(t.Name), nil, nil, &out)
}

// SyncRequest answers SyncTarget.
type SyncRequest struct {
	Target   TargetRef `json:"target"`
	Revision uint64    `json:"revision"`
	// Queued is false when the cluster runs no sync engine for the
	// target's kind yet.
	Queued bool `json:"queued"`
}

// SyncTarget asks the leader to sync a target now.
func (c *Client) SyncTarget(ctx context.Context, t TargetRef) (SyncRequest, error) {
	var out SyncRequest
	return out, c.do(ctx, http.MethodPost, "/v1/sync/"+url.PathEscape(t.Kind)+"/"+escapeName(t.Name), nil, nil, &out)
}

// escapeName escapes each segment of a name that may contain slashes.
func escapeName(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// ListSources lists registered sources.
func (c *Client) ListSources(ctx context.Context) ([]Source, error) {
	var out []Source
	return out, c.do(ctx, http.MethodGet, "/v1/sources", nil, nil, &out)
}

// PutSource registers or updates a source.
func (c *Client) PutSource(ctx context.Context, s Source) (WriteResult, error) {
	var res WriteResult
	return res, c.do(ctx, http.MethodPut, "/v1/sources", nil, s, &res)
}

// DeleteSource removes a source and all its fragments.
func (c *Client) DeleteSource(ctx context.Context, s SourceRef) (WriteResult, error) {
	var res WriteResult
	return res, c.do(ctx, http.MethodDelete, "/v1/sources", refQuery(TargetRef{}, s), nil, &res)
}

// Status returns the answering node's view of the cluster.
func (c *Client) Status(ctx context.Context) (ClusterStatus, error) {
	var out ClusterStatus
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, nil, &out)
}

// RemovePeer removes a server from the raft configuration.
func (c *Client) RemovePeer(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/peers/"+url.PathEscape(id), nil, nil, nil)
}

// SaveSnapshot streams a snapshot file into w.
func (c *Client) SaveSnapshot(ctx context.Context, w io.Writer) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/snapshot", nil, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.snapshotHTTP().Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /v1/snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, decodeError(resp)
	}
	return io.Copy(w, resp.Body)
}

// RestoreSnapshot uploads a snapshot file; the cluster replaces its state
// and keeps its own cluster id.
func (c *Client) RestoreSnapshot(ctx context.Context, r io.Reader) (SnapshotMeta, error) {
	res, err := c.RestoreSnapshotWith(ctx, r, RestoreOptions{})
	return res.SnapshotMeta, err
}

// RestoreSnapshotWith is RestoreSnapshot with options; it also returns the
// cluster id the state has after the restore.
func (c *Client) RestoreSnapshotWith(ctx context.Context, r io.Reader, opts RestoreOptions) (SnapshotRestore, error) {
	var q url.Values
	if opts.TakeClusterID {
		q = url.Values{"take-cluster-id": {"true"}}
	}
	req, err := c.newRequest(ctx, http.MethodPut, "/v1/snapshot", q, r)
	if err != nil {
		return SnapshotRestore{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.snapshotHTTP().Do(req)
	if err != nil {
		return SnapshotRestore{}, fmt.Errorf("PUT /v1/snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return SnapshotRestore{}, decodeError(resp)
	}
	var res SnapshotRestore
	return res, json.NewDecoder(resp.Body).Decode(&res)
}

// snapshotHTTP is the client without its overall timeout: a large
// snapshot may take longer than a normal request. The context bounds it.
func (c *Client) snapshotHTTP() *http.Client {
	h := *c.http
	h.Timeout = 0
	return &h
}

// Health returns nil when /healthz answers 200.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ready returns nil when /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// WithHTTPClient returns a copy of c that sends through h.
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	cp := *c
	cp.http = h
	return &cp
}
