package api

import (
	"fmt"
	"net/http"
)

// Error codes carried in ErrorBody. Each maps to one HTTP status.
const (
	CodeBadRequest       = "bad_request"        // 400: malformed JSON or a bad field
	CodeUnauthenticated  = "unauthenticated"    // 401
	CodeForbidden        = "forbidden"          // 403
	CodeNotFound         = "not_found"          // 404
	CodeConflict         = "conflict"           // 409
	CodeTooLarge         = "too_large"          // 413
	CodeInvalidSpec      = "invalid_spec"       // 422: the spec breaks its kind's rules
	CodeNoLeader         = "no_leader"          // 503
	CodeUnavailable      = "unavailable"        // 503: anything else transient
	CodeInternal         = "internal"           // 500
	CodeMethodNotAllowed = "method_not_allowed" // 405
	// CodeWaitTimeout: a write made with ?wait whose targets did not all
	// settle in time (504). The write itself was applied.
	CodeWaitTimeout = "wait_timeout"
	// CodeInsufficientStorage: the node that must store a write has no
	// space left on its data volume (507). Nothing needs to be undone:
	// writes succeed again once space is freed.
	CodeInsufficientStorage = "insufficient_storage"
)

// CodeLocked: a Terraform state is locked by someone else (423); the body
// also carries the holder's lock info, as Terraform's http backend reads it.
const CodeLocked = "locked"

// CodeTooManyRequests: the caller's token (or, without a valid token, its
// IP) is over its rate limit (429); Retry-After says when to retry.
const CodeTooManyRequests = "too_many_requests"

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is a structured API error. Field names the offending input with a
// JSON path such as "spec.rules[2].hostname".
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// StatusFor returns the HTTP status of a code.
func StatusFor(code string) int {
	switch code {
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeConflict:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeTooManyRequests:
		return http.StatusTooManyRequests
	case CodeLocked:
		return http.StatusLocked
	case CodeInvalidSpec:
		return http.StatusUnprocessableEntity
	case CodeNoLeader, CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeWaitTimeout:
		return http.StatusGatewayTimeout
	case CodeInsufficientStorage:
		return http.StatusInsufficientStorage
	default:
		return http.StatusInternalServerError
	}
}

// Errorf builds an *Error for code with a formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Status: StatusFor(code), Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// FieldError reports that one field of a spec breaks a rule. Kinds return
// it from validation; the API turns it into a 422 naming the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
