package cfapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// IDCredentials is the key of the downstream id that records the Secret a
// target's API token came from, encoded by EncodeCredentials as
// "namespace/name/key". It is a reference, never a token, so it may enter
// the log; a deletion reads it back to use the same Secret the object was
// written with. Targets flushed with the static credentials do not record
// it.
const IDCredentials = "credentials"

// SecretReader returns the value of one key of a Kubernetes Secret. It is
// what cfapi needs of the Kubernetes side (ingest/kube.Secrets implements
// it). Its errors must never contain the value; Clients treats every one
// of them as retryable (the Secret may still appear) and quotes it after
// the reference.
type SecretReader interface {
	SecretValue(ctx context.Context, ref api.SecretRef) (string, error)
}

// ErrSecretNotFound may be wrapped by a SecretReader when the Secret or its
// key does not exist; Clients does not depend on it.
var ErrSecretNotFound = errors.New("the Secret or its key does not exist")

// ValidateCredentials checks a spec's optional credentials field
// ("spec.credentials"). Beyond ref.Validate it refuses '/' in any part, as
// Kubernetes does, so that EncodeCredentials is unambiguous.
func ValidateCredentials(ref *api.SecretRef) *api.FieldError {
	if ref == nil {
		return nil
	}
	if fe := ref.Validate("spec.credentials"); fe != nil {
		return fe
	}
	for _, p := range []struct{ field, v string }{{"namespace", ref.Namespace}, {"name", ref.Name}, {"key", ref.Key}} {
		if strings.Contains(p.v, "/") {
			return &api.FieldError{Field: "spec.credentials." + p.field, Reason: "must not contain '/'"}
		}
	}
	return nil
}

// EncodeCredentials returns the IDCredentials value of ref:
// "namespace/name/key"; "" for nil.
func EncodeCredentials(ref *api.SecretRef) string {
	if ref == nil {
		return ""
	}
	return ref.Namespace + "/" + ref.Name + "/" + ref.Key
}

// DecodeCredentials parses an IDCredentials value; "" gives nil.
func DecodeCredentials(v string) (*api.SecretRef, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, engine.Permanent(fmt.Errorf("recorded %s %q is not namespace/name/key", IDCredentials, v))
	}
	return &api.SecretRef{Namespace: parts[0], Name: parts[1], Key: parts[2]}, nil
}

// CredentialsOf returns the Secret recorded in ids (a target's downstream
// ids); nil when there is none.
func CredentialsOf(ids map[string]string) (*api.SecretRef, error) {
	return DecodeCredentials(ids[IDCredentials])
}

// SetCredentials records ref in ids under IDCredentials; nil records
// nothing, so targets on static credentials keep their ids unchanged.
func SetCredentials(ids map[string]string, ref *api.SecretRef) map[string]string {
	if ref != nil {
		ids[IDCredentials] = EncodeCredentials(ref)
	}
	return ids
}

// rejectedTokenError is a 401 or 403 answer to a request made with a
// token from a Secret: it names the Secret (never the token) and keeps the
// classification of the error it wraps.
type rejectedTokenError struct {
	ref api.SecretRef
	err error
}

func (e *rejectedTokenError) Error() string {
	return "Cloudflare rejected the API token from " + e.ref.String() + ": " + e.err.Error()
}

func (e *rejectedTokenError) Unwrap() error { return e.err }

// explainRejectedToken wraps err when the request went out with a token
// from ref and Cloudflare refused the token.
func explainRejectedToken(err error, ref *api.SecretRef, status int) error {
	if ref == nil || (status != 401 && status != 403) {
		return err
	}
	return &rejectedTokenError{ref: *ref, err: err}
}

// SecretValue reads one Secret key a kind sends downstream (an identity
// provider's client secret) at flush time; the value goes to the API
// only. Like the token reads, errors name the reference, never a value,
// and are retryable (the Secret may still appear).
func (c *Clients) SecretValue(ctx context.Context, ref api.SecretRef) (string, error) {
	if c.cfg.Secrets == nil {
		return "", engine.Permanent(fmt.Errorf("%s is named, but this server cannot read Kubernetes Secrets", ref))
	}
	v, err := c.cfg.Secrets.SecretValue(ctx, ref)
	if err == nil && v == "" {
		err = errors.New("the value is empty")
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("read %s: %w", ref, ctx.Err())
		}
		// %v: the reader's error is text only, never permanent.
		return "", fmt.Errorf("read %s: %v", ref, err)
	}
	return v, nil
}

// ObjectFieldReader returns the value of one string field of a Kubernetes
// object: a secret its author wrote inline (ingest/kube.ObjectFields
// implements it). Like a SecretReader's, its errors must never contain
// the value.
type ObjectFieldReader interface {
	ObjectFieldValue(ctx context.Context, ref api.ObjectFieldRef) (string, error)
}

// ObjectFieldValue reads a secret written inline in a Kubernetes object
// at flush time, as SecretValue reads a Secret key: the value goes to the
// API only, errors name the reference and are retryable (the object may
// still appear, the field may still be filled in).
func (c *Clients) ObjectFieldValue(ctx context.Context, ref api.ObjectFieldRef) (string, error) {
	if c.cfg.Objects == nil {
		return "", engine.Permanent(fmt.Errorf("%s is named, but this server cannot read Kubernetes objects", ref))
	}
	v, err := c.cfg.Objects.ObjectFieldValue(ctx, ref)
	if err == nil && v == "" {
		err = errors.New("the value is empty")
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("read %s: %w", ref, ctx.Err())
		}
		// %v: the reader's error is text only, never permanent.
		return "", fmt.Errorf("read %s: %v", ref, err)
	}
	return v, nil
}
