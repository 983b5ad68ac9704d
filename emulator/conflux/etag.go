package conflux

import (
	"net/http"
	"strings"
)

// etagList splits an If-Match / If-None-Match value into its entity tags.
func etagList(h string) []string {
	var out []string
	for part := range strings.SplitSeq(h, ",") {
		if t := strings.TrimSpace(part); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ifMatch checks If-Match with the strong comparison RFC 9110 requires:
// weak tags never match; "*" matches any current representation. present
// reports whether the header was sent.
func ifMatch(r *http.Request, current string) (present, ok bool) {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return false, false
	}
	for _, v := range vals {
		for _, t := range etagList(v) {
			if t == "*" || (!strings.HasPrefix(t, "W/") && t == current) {
				return true, true
			}
		}
	}
	return true, false
}

// ifNoneMatch uses the weak comparison: W/"x" matches "x".
func ifNoneMatch(r *http.Request, current string) bool {
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range etagList(v) {
			if t == "*" || strings.TrimPrefix(t, "W/") == current {
				return true
			}
		}
	}
	return false
}
