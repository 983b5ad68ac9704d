package dns

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
)

func frag(src string, createIndex uint64, spec string) api.Fragment {
	return api.Fragment{
		Target:      zoneRef,
		Source:      api.SourceRef{Kind: "DNSRecord", Namespace: "default", Name: src},
		Generation:  1,
		Spec:        json.RawMessage(spec),
		CreateIndex: createIndex,
	}
}

func aggregate(t *testing.T, frags ...api.Fragment) (string, []api.Conflict) {
	t.Helper()
	res, err := New().Aggregate(zoneRef, frags)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	return string(res.Desired), res.Conflicts
}

func TestAggregateEmpty(t *testing.T) {
	res, err := New().Aggregate(zoneRef, nil)
	if err != nil || res.Desired != nil || res.Conflicts != nil {
		t.Fatalf("got %s %v %v", res.Desired, res.Conflicts, err)
	}
}

func TestAggregateCanonical(t *testing.T) {
	got, conflicts := aggregate(t, frag("a", 1, `{"records":[
		{"name":"B.example.com","type":"a","content":"192.0.2.2","ttl":300,"tags":["z:1","Team:api"],"comment":"c"},
		{"name":"b.example.com","type":"A","content":"192.0.2.1","proxied":true,"ttl":120},
		{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true},
		{"name":"example.com","type":"MX","content":"MX.example.net.","priority":0}]}`))
	want := `{"accountId":"","records":[` +
		`{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","ttl":1,"proxied":true},` +
		`{"name":"b.example.com","type":"A","content":"192.0.2.1","ttl":1,"proxied":true},` +
		`{"name":"b.example.com","type":"A","content":"192.0.2.2","ttl":300,"proxied":false,"comment":"c","tags":["team:api","z:1"]},` +
		`{"name":"example.com","type":"MX","content":"mx.example.net","ttl":1,"proxied":false,"priority":0}]}`
	if got != want || len(conflicts) != 0 {
		t.Fatalf("got  %s\nwant %s\nconflicts %v", got, want, conflicts)
	}
}

// Equal intents written differently must hash equally, or every producer
// style difference would cost a spurious flush.
func TestAggregateEqualIntents(t *testing.T) {
	a, _ := aggregate(t, frag("a", 1, `{"records":[{"name":"x.example.com","type":"AAAA","content":"2001:DB8:0::1","tags":["b:2","a:1"]}]}`))
	b, _ := aggregate(t, frag("b", 7, `{"accountId":"","records":[{"name":"X.EXAMPLE.COM","type":"aaaa","content":"2001:db8::1","ttl":1,"proxied":false,"tags":["a:1","B:2"],"comment":""}]}`))
	if a != b {
		t.Fatalf("\n%s\n%s", a, b)
	}
}

func TestAggregateConflicts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		frags     []api.Fragment
		wantNames []string // record names in desired, in order
		conflicts []string // "key loser"
	}{
		{
			name: "same key, older wins the whole key",
			frags: []api.Fragment{
				frag("new", 5, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.9"},{"name":"b.example.com","type":"A","content":"192.0.2.9"}]}`),
				frag("old", 2, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"},{"name":"a.example.com","type":"A","content":"192.0.2.2"}]}`),
			},
			wantNames: []string{"a.example.com A 192.0.2.1", "a.example.com A 192.0.2.2", "b.example.com A 192.0.2.9"},
			conflicts: []string{"a.example.com A new"},
		},
		{
			name: "tie on create index broken by source key",
			frags: []api.Fragment{
				frag("zz", 3, `{"records":[{"name":"a.example.com","type":"TXT","content":"z"}]}`),
				frag("aa", 3, `{"records":[{"name":"a.example.com","type":"TXT","content":"a"}]}`),
			},
			wantNames: []string{"a.example.com TXT a"},
			conflicts: []string{"a.example.com TXT zz"},
		},
		{
			name: "cname clashes with other types on its name",
			frags: []api.Fragment{
				frag("txt", 1, `{"records":[{"name":"a.example.com","type":"TXT","content":"x"}]}`),
				frag("cname", 2, `{"records":[{"name":"a.example.com","type":"CNAME","content":"x.example.net"},{"name":"c.example.com","type":"CNAME","content":"x.example.net"}]}`),
				frag("a", 3, `{"records":[{"name":"c.example.com","type":"A","content":"192.0.2.1"}]}`),
			},
			wantNames: []string{"a.example.com TXT x", "c.example.com CNAME x.example.net"},
			conflicts: []string{"a.example.com CNAME cname", "c.example.com A a"},
		},
		{
			name: "the same records asked twice agree",
			frags: []api.Fragment{
				frag("web", 1, `{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}]}`),
				frag("api", 2, `{"records":[{"name":"APP.example.com","type":"cname","tunnel":"ClusterTunnel/edge","proxied":true}]}`),
				frag("other", 3, `{"records":[{"name":"app.example.com","type":"CNAME","tunnel":"ClusterTunnel/other","proxied":true}]}`),
			},
			wantNames: []string{"app.example.com CNAME "},
			conflicts: []string{"app.example.com CNAME other"},
		},
		{
			name: "different types share a name",
			frags: []api.Fragment{
				frag("a", 1, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`),
				frag("txt", 2, `{"records":[{"name":"a.example.com","type":"TXT","content":"x"}]}`),
			},
			wantNames: []string{"a.example.com A 192.0.2.1", "a.example.com TXT x"},
		},
		{
			name: "account mismatch drops the later fragment",
			frags: []api.Fragment{
				frag("none", 1, `{"records":[{"name":"n.example.com","type":"A","content":"192.0.2.1"}]}`),
				frag("acc1", 2, `{"accountId":"acc1","records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`),
				frag("acc2", 3, `{"accountId":"acc2","records":[{"name":"b.example.com","type":"A","content":"192.0.2.1"}]}`),
				frag("acc1b", 4, `{"accountId":"acc1","records":[{"name":"c.example.com","type":"A","content":"192.0.2.1"}]}`),
			},
			wantNames: []string{"a.example.com A 192.0.2.1", "c.example.com A 192.0.2.1", "n.example.com A 192.0.2.1"},
			conflicts: []string{"accountId acc2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := New().Aggregate(zoneRef, tc.frags)
			if err != nil {
				t.Fatal(err)
			}
			var d Desired
			if err := json.Unmarshal(res.Desired, &d); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range d.Records {
				names = append(names, r.Name+" "+r.Type+" "+r.Content)
			}
			var conflicts []string
			for _, c := range res.Conflicts {
				conflicts = append(conflicts, c.Key+" "+c.Loser.Name)
				if c.Reason == "" || c.Winner == c.Loser {
					t.Errorf("bad conflict %+v", c)
				}
			}
			if !reflect.DeepEqual(names, tc.wantNames) || !reflect.DeepEqual(conflicts, tc.conflicts) {
				t.Fatalf("records %q\nconflicts %q\nwant %q\n%q", names, conflicts, tc.wantNames, tc.conflicts)
			}
			if strings.Contains(tc.name, "account") && d.AccountID != "acc1" {
				t.Fatalf("accountId %q", d.AccountID)
			}
		})
	}
}

// TestAggregateOrderIndependent feeds every permutation of each fragment set
// and requires byte-identical Desired and identical conflicts.
func TestAggregateOrderIndependent(t *testing.T) {
	sets := map[string][]api.Fragment{
		"disjoint": {
			frag("a", 1, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`),
			frag("b", 2, `{"records":[{"name":"b.example.com","type":"TXT","content":"x"},{"name":"b.example.com","type":"MX","content":"mx.example.net","priority":5}]}`),
			frag("c", 3, `{"records":[{"name":"c.example.com","type":"CNAME","tunnel":"ClusterTunnel/edge","proxied":true}]}`),
			frag("d", 4, `{"records":[]}`),
		},
		"contested keys": {
			frag("a", 4, `{"records":[{"name":"x.example.com","type":"A","content":"192.0.2.1"},{"name":"y.example.com","type":"CNAME","content":"t.example.net"}]}`),
			frag("b", 2, `{"records":[{"name":"x.example.com","type":"A","content":"192.0.2.2"}]}`),
			frag("c", 2, `{"records":[{"name":"y.example.com","type":"TXT","content":"v"},{"name":"x.example.com","type":"A","content":"192.0.2.3"}]}`),
			frag("d", 9, `{"records":[{"name":"x.example.com","type":"CNAME","content":"t.example.net"}]}`),
		},
		"accounts": {
			frag("a", 3, `{"accountId":"acc2","records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`),
			frag("b", 2, `{"accountId":"acc1","records":[{"name":"b.example.com","type":"A","content":"192.0.2.1"}]}`),
			frag("c", 1, `{"records":[{"name":"c.example.com","type":"A","content":"192.0.2.1"}]}`),
			frag("d", 5, `{"accountId":"acc1","records":[{"name":"b.example.com","type":"A","content":"192.0.2.5"}]}`),
		},
		"same source twice": {
			frag("a", 1, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`),
			frag("a", 1, `{"records":[{"name":"a.example.com","type":"A","content":"192.0.2.2"}]}`),
			frag("b", 1, `{"records":[{"name":"a.example.com","type":"TXT","content":"t"}]}`),
		},
	}
	for name, frags := range sets {
		t.Run(name, func(t *testing.T) {
			want, err := New().Aggregate(zoneRef, frags)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			permute(frags, 0, func(p []api.Fragment) {
				n++
				got, err := New().Aggregate(zoneRef, append([]api.Fragment(nil), p...))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Desired, want.Desired) || !reflect.DeepEqual(got.Conflicts, want.Conflicts) {
					t.Fatalf("permutation %d differs:\n%s\n%v\nwant\n%s\n%v", n, got.Desired, got.Conflicts, want.Desired, want.Conflicts)
				}
			})
			if n < 6 {
				t.Fatalf("only %d permutations", n)
			}
		})
	}
}

// permute calls fn with every ordering of s, swapping in place.
func permute(s []api.Fragment, k int, fn func([]api.Fragment)) {
	if k == len(s) {
		fn(s)
		return
	}
	for i := k; i < len(s); i++ {
		s[k], s[i] = s[i], s[k]
		permute(s, k+1, fn)
		s[k], s[i] = s[i], s[k]
	}
}

func TestAggregateInvalidFragment(t *testing.T) {
	_, err := New().Aggregate(zoneRef, []api.Fragment{frag("bad", 1, `{"records":[{"name":"@","type":"A","content":"192.0.2.1"}]}`)})
	if err == nil || !strings.Contains(err.Error(), "DNSRecord/default/bad") {
		t.Fatalf("got %v", err)
	}
}

// A zone is written with one token: the oldest fragment naming a Secret
// decides, whatever the arrival order, and other Secrets are no conflict.
func TestAggregateCredentialsFirstWins(t *testing.T) {
	const (
		refA = `"credentials":{"namespace":"team-a","name":"cf","key":"token"}`
		refB = `"credentials":{"namespace":"team-b","name":"cf","key":"token"}`
	)
	none := frag("none", 1, `{"records":[{"name":"n.example.com","type":"A","content":"192.0.2.1"}]}`)
	a := frag("a", 3, `{"accountId":"acc1",`+refA+`,"records":[{"name":"a.example.com","type":"A","content":"192.0.2.1"}]}`)
	b := frag("b", 2, `{`+refB+`,"records":[{"name":"b.example.com","type":"A","content":"192.0.2.1"}]}`)
	other := frag("other", 1, `{"accountId":"acc2",`+refA+`,"records":[]}`)
	for _, tc := range []struct {
		name  string
		frags [][]api.Fragment // every order must give want
		want  string           // the credentials part of Desired; "" for none
	}{
		{name: "none", frags: [][]api.Fragment{{none}}, want: ""},
		{name: "lowest create index wins", frags: [][]api.Fragment{{none, a, b}, {b, a, none}, {a, none, b}}, want: `,"credentials":{"namespace":"team-b","name":"cf","key":"token"}`},
		{name: "only one names a Secret", frags: [][]api.Fragment{{none, a}, {a, none}}, want: `,"credentials":{"namespace":"team-a","name":"cf","key":"token"}`},
		{name: "a fragment of another account does not count", frags: [][]api.Fragment{{a, frag("other", 4, `{"accountId":"acc2",`+refB+`,"records":[]}`)}}, want: `,"credentials":{"namespace":"team-a","name":"cf","key":"token"}`},
		{name: "the oldest fragment sets account and Secret", frags: [][]api.Fragment{{other, b}}, want: `,"credentials":{"namespace":"team-a","name":"cf","key":"token"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first string
			for i, frags := range tc.frags {
				got, conflicts := aggregate(t, frags...)
				if i == 0 {
					first = got
				} else if got != first {
					t.Fatalf("order changed the result:\n%s\n%s", first, got)
				}
				for _, c := range conflicts {
					if c.Key == "credentials" {
						t.Fatalf("credentials must not be a conflict: %+v", c)
					}
				}
				if !strings.HasSuffix(got, "]"+tc.want+"}") {
					t.Fatalf("got %s, want credentials %s", got, tc.want)
				}
			}
		})
	}
}
