// Package kindtest holds assertions the kinds' tests share. Only tests
// import it.
package kindtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

// CheckValidation fails t unless err is what a Validate table row expects:
// nil when field is "", else an *api.FieldError on field whose reason
// contains reason.
func CheckValidation(t testing.TB, err error, field, reason string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var fe *api.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want *api.FieldError, got %T %v", err, err)
	}
	if fe.Field != field || !strings.Contains(fe.Reason, reason) {
		t.Fatalf("got %s: %s; want %s: ...%s...", fe.Field, fe.Reason, field, reason)
	}
}
