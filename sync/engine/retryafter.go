package engine

import (
	"net/http"
	"strconv"
	"time"
)

// ParseRetryAfter reads a Retry-After header (delay-seconds or an HTTP
// date) into the wait it asks for at now; 0 when absent or unreadable.
// Downstream clients put it in the errors they return (see RetryAfter).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
