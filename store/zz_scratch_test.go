package store

import (
	"bytes"
	"testing"
)

func TestZZFlipImage(t *testing.T) {
	img := image(t, populated(t))
	t.Logf("image %d", len(img))
	s := openStore(t, Options{})
	acc, ref := 0, 0
	for pos := 0; pos < len(img); pos += 7 {
		bad := append([]byte(nil), img...)
		bad[pos] ^= 0xff
		if err := s.Replace(bytes.NewReader(bad)); err != nil {
			ref++
			continue
		}
		acc++
		var b bytes.Buffer
		s.View(func(v *View) error { return v.Dump(&b) })
		put(t, s, frag("x", "y", 1, `{}`), 1)
	}
	t.Logf("accepted %d refused %d", acc, ref)
}
