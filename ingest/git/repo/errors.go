package repo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Reasons an *Error carries, meant for status conditions.
const (
	ReasonAuthenticationFailed = "AuthenticationFailed"
	ReasonRefNotFound          = "RefNotFound"
	ReasonUnreachable          = "Unreachable"
	ReasonTimeout              = "Timeout"
	ReasonInvalidURL           = "InvalidURL"
	ReasonPathNotFound         = "PathNotFound"
	ReasonLimitExceeded        = "LimitExceeded"
	ReasonGitOperationFailed   = "GitOperationFailed"
)

// Error is a classified failure. Its message never holds a credential: the
// errors this package returns are redacted (URL userinfo is stripped and
// the password, token and passphrase in use are masked) before they are
// wrapped, and the original, unredacted error is not reachable through
// Unwrap (errors.Is still matches the sentinel errors it wrapped, such as
// context.DeadlineExceeded or transport.ErrAuthenticationRequired).
type Error struct {
	// Reason is one of the Reason* constants.
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain;
// "Timeout" for an err that is (or wraps) context.DeadlineExceeded, and
// "GitOperationFailed" otherwise.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonTimeout
	}
	return ReasonGitOperationFailed
}

func newError(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// redactedError carries a redacted message; errors.Is compares against the
// original error's chain, which is otherwise hidden.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// userinfoRE matches the userinfo of URLs ("scheme://user:pass@").
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s"']*@`)

// redactor masks credentials in error messages.
type redactor struct {
	secrets []string
}

func newRedactor(rawURL string, auth Auth) redactor {
	var r redactor
	for _, s := range []string{auth.Password, auth.BearerToken, auth.Passphrase, urlPassword(rawURL)} {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

func (r redactor) string(s string) string {
	s = userinfoRE.ReplaceAllString(s, "${1}")
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// classify wraps a go-git error in an *Error with a reason and a redacted
// message prefixed by what was being done.
func (r redactor) classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	msg := r.string(op + ": " + err.Error())
	return &Error{Reason: reasonFor(ctx, err), Err: &redactedError{msg: msg, orig: err}}
}

func reasonFor(ctx context.Context, err error) string {
	var (
		netErr     net.Error
		opErr      *net.OpError
		dnsErr     *net.DNSError
		keyErr     *knownhosts.KeyError
		revokedErr *knownhosts.RevokedError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		certErr    x509.CertificateInvalidError
		tlsErr     *tls.CertificateVerificationError
		noMatch    git.NoMatchingRefSpecError
	)
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		errors.As(err, &keyErr), errors.As(err, &revokedErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &certErr), errors.As(err, &tlsErr),
		strings.Contains(msg, "unable to authenticate"),
		strings.Contains(msg, "knownhosts: key mismatch"),
		strings.Contains(msg, "knownhosts: key is unknown"),
		strings.Contains(msg, "certificate signed by unknown authority"):
		return ReasonAuthenticationFailed
	case errors.Is(err, transport.ErrEmptyRemoteRepository),
		errors.Is(err, plumbing.ErrReferenceNotFound),
		errors.Is(err, plumbing.ErrObjectNotFound),
		errors.As(err, &noMatch),
		strings.Contains(msg, "couldn't find remote ref"),
		strings.Contains(msg, "not our ref"):
		return ReasonRefNotFound
	case errors.Is(err, transport.ErrRepositoryNotFound),
		errors.As(err, &opErr), errors.As(err, &dnsErr),
		strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "no such host"),
		strings.Contains(msg, "connection reset"),
		strings.Contains(msg, "EOF"):
		return ReasonUnreachable
	case errors.Is(err, transport.ErrInvalidAuthMethod):
		return ReasonAuthenticationFailed
	}
	return ReasonGitOperationFailed
}
