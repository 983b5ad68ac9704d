package cfapi

// IsUUID reports whether s is in the 8-4-4-4-12 hex form (any case)
// Cloudflare gives its tunnel, route and virtual network ids.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// NotIDRune reports a rune that cannot be part of a Cloudflare object id
// (letters, digits, '-' and '_'), for strings.IndexFunc.
func NotIDRune(r rune) bool {
	return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}
