package httpapi

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Token strength rules. A token file is the only thing between the network
// and an admin role, so a token that a person typed, copied from an example
// or left as a placeholder is refused instead of quietly accepted.
const (
	// MinTokenLength is the shortest token accepted, in characters.
	MinTokenLength = 32
	// MinTokenBits is the least estimated strength accepted: the token's
	// length times log2 of the alphabet its characters are drawn from
	// (16 for hex, 62 for letters and digits, ...). 64 hex characters from
	// 32 random bytes (`openssl rand -hex 32`) have 256.
	MinTokenBits = 128
	// MinTokenDistinct is the fewest different characters accepted: it
	// refuses "aaaa…" and "abab…", which pass the length and alphabet
	// rules. 64 random hex characters use fewer than 10 of the 16 with a
	// probability below 1e-12.
	MinTokenDistinct = 10
)

// tokenPlaceholders are fragments of the placeholder and example tokens
// that manifests, docs and tutorials carry; a token containing one
// (case-insensitively) is refused whatever its length.
var tokenPlaceholders = []string{
	"replace-with", "replace_with", "replaceme", "replace-me", "changeme", "change-me", "change_me",
	"placeholder", "example", "not-a-secret", "notasecret", "your-token", "yourtoken", "your_token",
	"secret-token", "password", "insecure", "dummy", "xxxxxxxx", "00000000", "12345678",
}

// CheckTokenStrength reports why a token is too weak to accept, nil when it
// is strong enough. The error never contains the token. The rule: visible
// ASCII only, at least MinTokenLength characters, MinTokenDistinct distinct
// characters and MinTokenBits estimated bits, and no known placeholder text.
func CheckTokenStrength(tok string) error {
	lower := strings.ToLower(tok)
	for _, p := range tokenPlaceholders {
		if strings.Contains(lower, p) {
			return fmt.Errorf("token is a placeholder (contains %q); generate one with `openssl rand -hex 32`", p)
		}
	}
	if len(tok) < MinTokenLength {
		return fmt.Errorf("token is %d characters, shorter than %d; generate one with `openssl rand -hex 32`", len(tok), MinTokenLength)
	}
	var lowerC, upperC, digit, other bool
	distinct := map[rune]bool{}
	for _, r := range tok {
		switch {
		case r < 0x21 || r > 0x7e:
			return errors.New("token has a character outside visible ASCII (0x21-0x7E)")
		case r >= 'a' && r <= 'z':
			lowerC = true
		case r >= 'A' && r <= 'Z':
			upperC = true
		case r >= '0' && r <= '9':
			digit = true
		default:
			other = true
		}
		distinct[r] = true
	}
	if len(distinct) < MinTokenDistinct {
		return fmt.Errorf("token uses only %d different characters, fewer than %d; generate one with `openssl rand -hex 32`", len(distinct), MinTokenDistinct)
	}
	if bits := tokenBits(tok, lowerC, upperC, digit, other); bits < MinTokenBits {
		return fmt.Errorf("token has about %d bits of strength, under %d: make it longer or random (`openssl rand -hex 32`)", int(bits), MinTokenBits)
	}
	return nil
}

// tokenBits estimates a token's strength from its length and the alphabet
// its character classes span. Hex (digits and a-f, or A-F) counts as 16
// symbols, not 36, so a hex token is not overrated; digits alone are 10.
func tokenBits(tok string, lower, upper, digit, other bool) float64 {
	isHex := (lower || upper) && !other && !(lower && upper) && strings.Trim(strings.ToLower(tok), "0123456789abcdef") == ""
	size := 0
	switch {
	case isHex:
		size = 16
	default:
		if lower {
			size += 26
		}
		if upper {
			size += 26
		}
		if digit {
			size += 10
		}
		if other {
			size += 32
		}
	}
	return float64(len(tok)) * math.Log2(float64(size))
}
