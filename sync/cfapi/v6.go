package cfapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	cf6 "github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/zero_trust"
)

// V6 is one account's cloudflare-go v6 client, beside the v0 one
// (Account.API) while the kinds move over (see doc.go). It sends its
// requests through the same *http.Client as the v0 client: the same
// transport (token bucket, leadership check, dry-run refusal, current
// token of a rotated static account, the status and Retry-After Call
// reads), base URL, timeout and User-Agent.
type V6 struct {
	// Options configure every v6 service of this account. A kind using a
	// service not built here creates it with them, e.g.
	// dns.NewRecordService(a.V6.Options...).
	Options []option.RequestOption
	// ZeroTrust holds the Zero Trust services (networks, Access, Gateway).
	ZeroTrust *zero_trust.ZeroTrustService
}

// v6Error is v6's API error (its internal apierror.Error, which the root
// package and every service package alias as Error).
type v6Error = cf6.Error

// userAgent is what both clients send.
const userAgent = "conflux-sync"

// newV6 builds the v6 client of one token. It does not go through
// cloudflare.NewClient, which reads CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL
// and CLOUDFLARE_BASE_URL from the environment (a key found there would
// be sent beside the account's token; only Config decides where requests
// go) and builds every service of the API.
func newV6(baseURL, token string, httpClient *http.Client) *V6 {
	opts := []option.RequestOption{
		option.WithBaseURL(baseURL),
		option.WithHTTPClient(httpClient),
		option.WithAPIToken(token),
		option.WithHeader("User-Agent", userAgent),
		// The engine retries with backoff and Retry-After, and records
		// every attempt; the client's own retries (two by default, after
		// a 408, 409, 429 or 5xx) would hide attempts from it and spend
		// the token bucket twice.
		option.WithMaxRetries(0),
	}
	return &V6{Options: opts, ZeroTrust: zero_trust.NewZeroTrustService(opts...)}
}

// v6Message renders a v6 API error the way cloudflare-go v0 (with its
// retries off, as Clients builds it) renders the same answer, so that a
// kind's messages in status, conditions and Events stay the same when it
// moves to v6: "message (code), message (code)" for a 4xx, v0's fixed
// texts for a 429 and a 5xx, whose bodies v0 never shows. v6's own text
// (method, full URL, status and the raw body) is not used: Error.What
// names the call and Error.Status holds the status.
func v6Message(err error) (string, bool) {
	var e *v6Error
	if !errors.As(err, &e) {
		return "", false
	}
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return "exceeded available rate limit retries", true
	case e.StatusCode >= http.StatusInternalServerError:
		return fmt.Sprintf("received %s response (HTTP %d), please try again later",
			strings.ToLower(http.StatusText(e.StatusCode)), e.StatusCode), true
	}
	parts := make([]string, 0, len(e.Errors))
	for _, d := range e.Errors {
		m := d.Message
		if d.Code != 0 {
			m += fmt.Sprintf(" (%d)", d.Code)
		}
		parts = append(parts, m)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode)), true
	}
	return strings.Join(parts, ", "), true
}

// v6Reason is the first error a v6 API error carries.
func v6Reason(err error) (Reason, bool) {
	var e *v6Error
	if !errors.As(err, &e) || len(e.Errors) == 0 {
		return Reason{}, false
	}
	return Reason{Code: int(e.Errors[0].Code), Message: e.Errors[0].Message}, true
}

// v6HasCode reports whether a v6 API error carries the code.
func v6HasCode(err error, code int) bool {
	var e *v6Error
	if !errors.As(err, &e) {
		return false
	}
	for _, d := range e.Errors {
		if d.Code == int64(code) {
			return true
		}
	}
	return false
}
