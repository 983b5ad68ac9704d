package cfapi

import (
	"strings"
	"unicode/utf8"
)

// MaxCommentLen is the longest DNS record comment every plan accepts.
const MaxCommentLen = 100

// Marker is the ownership marker conflux-sync puts in the comments of the
// objects it creates: "conflux-sync:<cluster id>". The id is random per
// cluster (even for clusters bootstrapped alike), so a second, separate
// cluster never takes over the first one's objects; a snapshot restored
// into a fresh cluster with take-cluster-id brings the id along, so
// ownership survives disaster recovery.
func Marker(clusterID string) string { return "conflux-sync:" + clusterID }

// Owned reports whether comment carries marker.
func Owned(comment, marker string) bool {
	return marker != "" && strings.Contains(comment, marker)
}

// Comment is the comment stored downstream: the marker, then the user's
// comment, cut to MaxCommentLen characters.
func Comment(marker, user string) string {
	if user == "" {
		return marker
	}
	c := marker + " " + user
	if utf8.RuneCountInString(c) <= MaxCommentLen {
		return c
	}
	runes := []rune(c)
	return string(runes[:MaxCommentLen])
}
