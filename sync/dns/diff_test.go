package dns

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	w := func(typ, name, content string, adopt bool) want {
		return want{Record: Record{Name: name, Type: typ, Content: content, TTL: 1, Adopt: adopt}, comment: marker}
	}
	ours := func(id, typ, name, content string) remote {
		return remote{id: id, name: name, typ: typ, content: content, ttl: 1, comment: marker, owned: true}
	}
	theirs := func(id, typ, name, content string) remote {
		return remote{id: id, name: name, typ: typ, content: content, ttl: 1}
	}
	type result struct {
		deletes, patches, posts []string // ids; posts by content
		clashes                 int
	}
	for _, tc := range []struct {
		name    string
		wants   []want
		remotes []remote
		want    result
	}{
		{
			name:    "in sync",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", false)},
			remotes: []remote{ours("1", "A", "a.example.com", "192.0.2.1")},
		},
		{
			name:    "content changed: patch, not delete and post",
			wants:   []want{w("A", "a.example.com", "192.0.2.2", false)},
			remotes: []remote{ours("1", "A", "a.example.com", "192.0.2.1")},
			want:    result{patches: []string{"1"}},
		},
		{
			name:    "address compared by value",
			wants:   []want{w("AAAA", "a.example.com", "2001:db8::1", false)},
			remotes: []remote{ours("1", "AAAA", "a.example.com", "2001:DB8:0:0::1")},
		},
		{
			name:    "type changed: delete then post",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", false)},
			remotes: []remote{ours("1", "CNAME", "a.example.com", "x.example.net")},
			want:    result{deletes: []string{"1"}, posts: []string{"192.0.2.1"}},
		},
		{
			name:    "unowned same value without adopt: clash, ours not patched onto it",
			wants:   []want{w("A", "a.example.com", "192.0.2.2", false)},
			remotes: []remote{ours("1", "A", "a.example.com", "192.0.2.1"), theirs("2", "A", "a.example.com", "192.0.2.2")},
			want:    result{deletes: []string{"1"}, clashes: 1},
		},
		{
			name:    "unowned other value on the key blocks a create",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", false)},
			remotes: []remote{theirs("2", "A", "a.example.com", "192.0.2.9")},
			want:    result{clashes: 1},
		},
		{
			name:    "unowned TXT does not block an A",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", false)},
			remotes: []remote{theirs("2", "TXT", "a.example.com", "x")},
			want:    result{posts: []string{"192.0.2.1"}},
		},
		{
			name:    "unowned CNAME blocks an A; adopt turns it into the A",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", true)},
			remotes: []remote{theirs("2", "CNAME", "a.example.com", "x.example.net")},
			want:    result{patches: []string{"2"}},
		},
		{
			name:    "adopting a CNAME over two A records cannot work: one clash",
			wants:   []want{w("CNAME", "a.example.com", "x.example.net", true)},
			remotes: []remote{theirs("2", "A", "a.example.com", "192.0.2.1"), theirs("3", "A", "a.example.com", "192.0.2.2")},
			want:    result{clashes: 1},
		},
		{
			name:    "owned by recorded id despite a lost marker",
			wants:   []want{w("A", "a.example.com", "192.0.2.1", false)},
			remotes: []remote{{id: "1", name: "a.example.com", typ: "A", content: "192.0.2.1", ttl: 1, owned: true}},
			want:    result{patches: []string{"1"}},
		},
		{
			name:    "ours not desired are deleted, theirs never",
			remotes: []remote{ours("1", "A", "a.example.com", "192.0.2.1"), theirs("2", "A", "b.example.com", "192.0.2.1")},
			want:    result{deletes: []string{"1"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := diff(tc.wants, tc.remotes, nil)
			var got result
			got.deletes = p.deletes
			for _, b := range p.patches {
				got.patches = append(got.patches, b.ID)
			}
			for _, b := range p.posts {
				got.posts = append(got.posts, b.Content)
			}
			got.clashes = len(p.clashes)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v\nclashes %+v", got, tc.want, p.clashes)
			}
		})
	}
}
