package conflux

import "testing"

// The parsers run on untrusted content: they must never panic.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb:\n  - x\n  - {k: [1, 'q']}\n", "- |\n  t\n- >-\n  u\n", "s: \"\\u00e9\\x41\"\n",
		"[a.b]\nc = [1, {x = 2}]\n[[d]]\ne = '''\nz'''\n", "k = \"\"\"\na\\\n b\"\"\"\n",
		"a=1\nb\\\n  =2\nc:\\u0041\n", "---\n...\n", "a: |2\n   x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseYAML(s)
		_, _ = parseTOML(s)
		_, _ = parseProperties(s)
	})
}
