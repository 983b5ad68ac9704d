package conflux

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func newConfigID() string  { return "cfg_" + randHex(10) }
func newVersionID() string { return "ver_" + randHex(10) }
func newETag() string      { return `"` + randHex(12) + `"` }
