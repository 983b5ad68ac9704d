package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

type noteKey struct{}

// note is what the transport saw of the last response of one Call.
type note struct {
	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	// credentials is the Secret the client's token came from; nil for
	// static credentials.
	credentials *api.SecretRef
	// chain is the error_chain of a 4xx answer.
	chain []Reason
}

func (n *note) setChain(chain []Reason) {
	n.mu.Lock()
	n.chain = chain
	n.mu.Unlock()
}

func (n *note) set(status int, retryAfter time.Duration, credentials *api.SecretRef) {
	n.mu.Lock()
	n.status, n.retryAfter, n.credentials = status, retryAfter, credentials
	n.mu.Unlock()
}

// Error is a failed Cloudflare call. It wraps the client's error, so
// errors.As still finds *cloudflare.Error (v0) or v6's Error and their
// codes; its message is the same for both clients (see v6Message).
type Error struct {
	// What names the call, e.g. "update tunnel configuration".
	What string
	// Status is the HTTP status; 0 when no response came.
	Status int
	// Wait is the Retry-After the API sent, if any.
	Wait time.Duration
	// Chain is the error_chain of the API's errors: the specific reasons
	// behind a general one (e.g. 9003 behind "DNS Validation Error" 1004),
	// which the client's error does not carry.
	Chain []Reason
	Err   error
}

// Reason is one code and message of the API.
type Reason struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ReasonOf returns the most specific code and message the API gave for a
// Call error: the first error_chain entry, else the first error; ok is
// false when the API answered none.
func ReasonOf(err error) (r Reason, ok bool) {
	var e *Error
	if errors.As(err, &e) && len(e.Chain) > 0 {
		return e.Chain[0], true
	}
	var cfErr *cloudflare.Error
	if errors.As(err, &cfErr) && len(cfErr.ErrorCodes) > 0 {
		r.Code = cfErr.ErrorCodes[0]
		if len(cfErr.ErrorMessages) > 0 {
			r.Message = cfErr.ErrorMessages[0]
		}
		return r, true
	}
	return v6Reason(err)
}

func (e *Error) Error() string {
	if m, ok := v6Message(e.Err); ok {
		return e.What + ": " + m
	}
	return e.What + ": " + e.Err.Error()
}
func (e *Error) Unwrap() error { return e.Err }

// RetryAfter tells the engine how long the API asked to wait.
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// Call runs one API call of either client (v0 or v6) and classifies its
// error the same way for both: a 4xx other than 429 is
// engine.Permanent, anything else (429, 5xx, no response) is retryable,
// with the Retry-After the API sent. The result is always an *Error
// (possibly inside Permanent) or a context error. A 401 or 403 to a client
// whose token came from a Secret is additionally wrapped, without changing
// its classification, so that the message names the Secret.
func Call(ctx context.Context, what string, fn func(context.Context) error) error {
	n := &note{}
	err := fn(context.WithValue(ctx, noteKey{}, n))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	n.mu.Lock()
	e := &Error{What: what, Status: n.status, Wait: n.retryAfter, Chain: n.chain, Err: err}
	credentials := n.credentials
	n.mu.Unlock()
	var cfErr *cloudflare.Error
	var v6Err *v6Error
	switch {
	case e.Status != 0:
	case errors.As(err, &cfErr):
		e.Status = cfErr.StatusCode
	case errors.As(err, &v6Err):
		e.Status = v6Err.StatusCode
	}
	if e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests {
		return explainRejectedToken(engine.Permanent(e), credentials, e.Status)
	}
	return e
}

// StatusOf returns the HTTP status of a Call error; 0 if none.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// HasCode reports whether the API answered with the error code.
func HasCode(err error, code int) bool {
	var cfErr *cloudflare.Error
	if errors.As(err, &cfErr) {
		return cfErr.InternalErrorCodeIs(code)
	}
	return v6HasCode(err, code)
}

// Get runs one read through Call that may find nothing: a 404 gives
// (nil, nil).
func Get[T any](ctx context.Context, what string, read func(context.Context) (T, error)) (*T, error) {
	var v T
	err := Call(ctx, what, func(ctx context.Context) error {
		var err error
		v, err = read(ctx)
		return err
	})
	if StatusOf(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// IgnoreNotFound drops a 404: deleting what is already gone succeeded.
func IgnoreNotFound(err error) error {
	if StatusOf(err) == http.StatusNotFound {
		return nil
	}
	return err
}
