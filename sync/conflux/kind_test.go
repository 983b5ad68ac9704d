package conflux

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

const testTargetName = "acme/shop/prod/db/main.yaml"

var testTarget = api.TargetRef{Kind: Name, Name: testTargetName}

func src(name string) api.SourceRef {
	return api.SourceRef{Kind: "GitSource", Namespace: "team-a", Name: name}
}

func frag(source string, createIndex uint64, spec string) api.Fragment {
	return api.Fragment{Target: testTarget, Source: src(source), Generation: 1, Spec: json.RawMessage(spec), CreateIndex: createIndex}
}

func TestParseTargetName(t *testing.T) {
	k, fe := ParseTargetName(testTargetName)
	if fe != nil || k != (ConfigKey{"acme", "shop", "prod", "db/main.yaml"}) || k.String() != testTargetName {
		t.Fatalf("got %+v, %v", k, fe)
	}
}

func TestValidate(t *testing.T) {
	big := strings.Repeat("x", MaxContent+1)
	sha := ContentSHA("x")
	tests := []struct {
		name, target, spec string
		field, reason      string
	}{
		{name: "full", spec: `{"config":{"format":"yaml","schema":{"type":"object"},"retentionPolicy":{"strategy":"AND","rules":[{"type":"count","keep":10}]},"description":"d"},
			"releases":[{"name":"v1","content":"port: 1\n","description":"x","stable":true}],
			"policy":{"rules":[{"priority":10,"release":"v2","labels":{"canary":"true"}},{"priority":0,"release":"v1"}]}}`},
		{name: "releases only", spec: `{"releases":[{"name":"v1","content":""}]}`},
		{name: "policy only", spec: `{"policy":{"rules":[]}}`},
		{name: "empty", spec: `{}`, field: "spec", reason: "at least one"},
		{name: "unknown field", spec: `{"config":{"format":"yaml","colour":1}}`, field: "spec.config.colour", reason: "unknown field"},
		{name: "short target", target: "acme/shop/prod", spec: `{"policy":{"rules":[]}}`, field: "target.name", reason: "<tenant>/<application>/<environment>/<name>"},
		{name: "bad tenant", target: "-acme/shop/prod/x", spec: `{"policy":{"rules":[]}}`, field: "target.name", reason: "tenant"},
		{name: "bad config name", target: "acme/shop/prod/a b", spec: `{"policy":{"rules":[]}}`, field: "target.name", reason: "config name"},
		{name: "format", spec: `{"config":{"format":"xml"}}`, field: "spec.config.format", reason: "must be one of"},
		{name: "format missing", spec: `{"config":{}}`, field: "spec.config.format", reason: "must be one of"},
		{name: "schema for text", spec: `{"config":{"format":"text","schema":{}}}`, field: "spec.config.schema", reason: "text"},
		{name: "schema not a schema", spec: `{"config":{"format":"json","schema":[1]}}`, field: "spec.config.schema", reason: "object or a boolean"},
		{name: "strategy", spec: `{"config":{"format":"json","retentionPolicy":{"strategy":"XOR","rules":[]}}}`, field: "spec.config.retentionPolicy.strategy", reason: "AND or OR"},
		{name: "retention type", spec: `{"config":{"format":"json","retentionPolicy":{"strategy":"OR","rules":[{"type":"count","keep":1},{"type":"weeks","keep":1}]}}}`, field: "spec.config.retentionPolicy.rules[1].type", reason: "count or days"},
		{name: "retention keep", spec: `{"config":{"format":"json","retentionPolicy":{"strategy":"OR","rules":[{"type":"days","keep":0}]}}}`, field: "spec.config.retentionPolicy.rules[0].keep", reason: "at least 1"},
		{name: "description", spec: `{"config":{"format":"json","description":"` + strings.Repeat("d", 1025) + `"}}`, field: "spec.config.description", reason: "1024"},
		{name: "release name", spec: `{"releases":[{"name":"v1","content":""},{"name":".v2","content":""}]}`, field: "spec.releases[1].name", reason: "must match"},
		{name: "release duplicate", spec: `{"releases":[{"name":"v1","content":""},{"name":"v1","content":"x"}]}`, field: "spec.releases[1].name", reason: "releases[0]"},
		{name: "release too large", spec: `{"releases":[{"name":"v1","content":"` + big + `"}]}`, field: "spec.releases[0].content", reason: "1 MiB"},
		{name: "release type", spec: `{"releases":[{"name":"v1","content":1}]}`, field: "spec.releases[0].content", reason: "must be a string"},
		{name: "template", spec: `{"releases":[{"name":"v1","content":"","template":{"text":"pw={{ .Secrets.pw }}","secret":{"namespace":"team","name":"db"},"contentSha256":"` + sha + `"}}]}`},
		{name: "template and content", spec: `{"releases":[{"name":"v1","content":"x","template":{"text":"x","secret":{"name":"db"},"contentSha256":"` + sha + `"}}]}`, field: "spec.releases[0].content", reason: "must be empty"},
		{name: "template sha", spec: `{"releases":[{"name":"v1","content":"","template":{"text":"x","secret":{"name":"db"},"contentSha256":"abc"}}]}`, field: "spec.releases[0].template.contentSha256", reason: "hex sha256"},
		{name: "template secret", spec: `{"releases":[{"name":"v1","content":"","template":{"text":"x","secret":{"name":"../etc"},"contentSha256":"` + sha + `"}}]}`, field: "spec.releases[0].template.secret.name", reason: "Secret name"},
		{name: "template delimiters", spec: `{"releases":[{"name":"v1","content":"","template":{"text":"x","leftDelim":"<<","secret":{"name":"db"},"contentSha256":"` + sha + `"}}]}`, field: "spec.releases[0].template.leftDelim", reason: "together"},
		{name: "template syntax", spec: `{"releases":[{"name":"v1","content":"","template":{"text":"{{ if }}","secret":{"name":"db"},"contentSha256":"` + sha + `"}}]}`, field: "spec.releases[0].template.text", reason: "line 1"},
		{name: "priority duplicate", spec: `{"policy":{"rules":[{"priority":1,"release":"a","labels":{"x":"y"}},{"priority":1,"release":"b"}]}}`, field: "spec.policy.rules[1].priority", reason: "rules[0]"},
		{name: "empty label", spec: `{"policy":{"rules":[{"priority":1,"release":"a","labels":{"":"y"}}]}}`, field: "spec.policy.rules[0].labels", reason: "must not be empty"},
		{name: "two defaults", spec: `{"policy":{"rules":[{"priority":1,"release":"a"},{"priority":2,"release":"b","labels":{}}]}}`, field: "spec.policy.rules[1].labels", reason: "one default"},
		{name: "rule release", spec: `{"policy":{"rules":[{"priority":1,"release":""}]}}`, field: "spec.policy.rules[0].release", reason: "must name a release"},
		{name: "trailing data", spec: `{"policy":{"rules":[]}} {}`, field: "spec", reason: "after the JSON value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := testTarget
			if tt.target != "" {
				target.Name = tt.target
			}
			kindtest.CheckValidation(t, New().Validate(target, src("a"), json.RawMessage(tt.spec)), tt.field, tt.reason)
		})
	}
	kindtest.CheckValidation(t, New().Validate(api.TargetRef{Kind: "other", Name: testTargetName}, src("a"), json.RawMessage(`{}`)), "target.kind", "this validator")
}

func aggregate(t *testing.T, frags ...api.Fragment) (Desired, []api.Conflict, []byte) {
	t.Helper()
	res, err := New().Aggregate(testTarget, frags)
	if err != nil {
		t.Fatal(err)
	}
	var d Desired
	if err := json.Unmarshal(res.Desired, &d); err != nil {
		t.Fatalf("%s: %v", res.Desired, err)
	}
	return d, res.Conflicts, res.Desired
}

func TestAggregateEmpty(t *testing.T) {
	res, err := New().Aggregate(testTarget, nil)
	if err != nil || res.Desired != nil || res.Conflicts != nil {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestAggregateOwnersAndReleases(t *testing.T) {
	owner := frag("owner", 5, `{"config":{"format":"yaml","schema":{"type":"object", "required":["port"]},"description":"primary"},
		"releases":[{"name":"v1","content":"port: 1\n","stable":true}],
		"policy":{"rules":[{"priority":0,"release":"v1"},{"priority":10,"release":"v2","labels":{"canary":"true"}}]}}`)
	// Registered later and claiming the config: a competing owner, none of
	// whose wishes count.
	rival := frag("rival", 6, `{"config":{"format":"json"},"releases":[{"name":"v9","content":"x"}],"policy":{"rules":[]}}`)
	// Releases only, registered later: v1 is identical (agrees), v2 is
	// new, v3 differs from the older definition below; its policy loses.
	second := frag("second", 7, `{"releases":[{"name":"v1","content":"port: 1\n","stable":true},{"name":"v2","content":"port: 2\n"},{"name":"v3","content":"b"}],
		"policy":{"rules":[]}}`)
	// Same index as second: the source key breaks the tie ("first" < "second").
	tie := frag("first", 7, `{"releases":[{"name":"v3","content":"a"}]}`)

	d, conflicts, raw := aggregate(t, second, rival, tie, owner)
	want := `{"config":{"format":"yaml","schema":{"required":["port"],"type":"object"},"description":"primary"},` +
		`"releases":[{"name":"v1","content":"port: 1\n","stable":true,"source":{"kind":"GitSource","namespace":"team-a","name":"owner"}},` +
		`{"name":"v2","content":"port: 2\n","source":{"kind":"GitSource","namespace":"team-a","name":"second"}},` +
		`{"name":"v3","content":"a","source":{"kind":"GitSource","namespace":"team-a","name":"first"}}],` +
		`"policy":{"rules":[{"priority":10,"release":"v2","labels":{"canary":"true"}},{"priority":0,"release":"v1"}]}}`
	if string(raw) != want {
		t.Fatalf("desired\n got %s\nwant %s", raw, want)
	}
	if d.Config == nil || d.Policy == nil || len(d.Releases) != 3 {
		t.Fatalf("decoded %+v", d)
	}
	type c struct{ key, winner, loser, reason string }
	var got []c
	for _, x := range conflicts {
		got = append(got, c{x.Key, x.Winner.Name, x.Loser.Name, x.Reason})
	}
	wantC := []c{
		{"config", "owner", "rival", "config " + testTargetName + " is owned by GitSource/team-a/owner; the releases and policy of GitSource/team-a/rival are not published"},
		{"policy", "owner", "second", "is owned by GitSource/team-a/owner"},
		{"release v3", "first", "second", "release v3"},
	}
	if len(got) != len(wantC) {
		t.Fatalf("conflicts = %+v", got)
	}
	for i := range wantC {
		if got[i].key != wantC[i].key || got[i].winner != wantC[i].winner || got[i].loser != wantC[i].loser || !strings.Contains(got[i].reason, wantC[i].reason) {
			t.Fatalf("conflict %d = %+v, want %+v", i, got[i], wantC[i])
		}
	}
}

func TestAggregateSectionsMayComeFromDifferentSources(t *testing.T) {
	d, conflicts, _ := aggregate(t,
		frag("meta", 1, `{"config":{"format":"text"}}`),
		frag("rel", 2, `{"releases":[{"name":"b","content":"B"},{"name":"a","content":"A"}]}`),
		frag("pol", 3, `{"policy":{"rules":[{"priority":0,"release":"a"}]}}`),
	)
	if len(conflicts) != 0 || d.Config.Format != "text" || d.Releases[0].Name != "a" || d.Releases[0].Source.Name != "rel" || d.Policy.Rules[0].Release != "a" {
		t.Fatalf("got %+v %+v", d, conflicts)
	}
	d, _, raw := aggregate(t, frag("rel", 2, `{"releases":[{"name":"a","content":"A"}]}`))
	if d.Config != nil || d.Policy != nil || !bytes.Contains(raw, []byte(`"config":null`)) || !bytes.Contains(raw, []byte(`"policy":null`)) {
		t.Fatalf("got %s", raw)
	}
}

func TestAggregateOrderIndependent(t *testing.T) {
	frags := []api.Fragment{
		frag("a", 3, `{"config":{"format":"yaml","schema":{"type":"object","properties":{"port":{"type":"integer"}}}},"releases":[{"name":"v1","content":"port: 1\n"}]}`),
		frag("b", 3, `{"config":{"format":"json"},"releases":[{"name":"v1","content":"port: 9\n"},{"name":"v2","content":"port: 2\n"}],"policy":{"rules":[{"priority":1,"release":"v2","labels":{"z":"1","a":"2"}},{"priority":0,"release":"v1"}]}}`),
		frag("c", 1, `{"releases":[{"name":"v2","content":"port: 22\n"},{"name":"v0","content":"x"}],"policy":{"rules":[{"priority":5,"release":"v0"}]}}`),
		frag("d", 2, `{"releases":[{"name":"v1","content":"port: 1\n"},{"name":"v2","content":"port: 222\n"}]}`),
	}
	var first []byte
	var firstConflicts string
	for _, perm := range permutations(len(frags)) {
		in := make([]api.Fragment, len(perm))
		for i, p := range perm {
			in[i] = frags[p]
		}
		res, err := New().Aggregate(testTarget, in)
		if err != nil {
			t.Fatal(err)
		}
		cs, _ := json.Marshal(res.Conflicts)
		if first == nil {
			first, firstConflicts = res.Desired, string(cs)
			continue
		}
		if !bytes.Equal(res.Desired, first) || string(cs) != firstConflicts {
			t.Fatalf("order %v:\n%s\n%s\nfirst:\n%s\n%s", perm, res.Desired, cs, first, firstConflicts)
		}
	}
	// c (index 1) owns policy and v2; d (index 2) beats a and b for v1.
	var d Desired
	_ = json.Unmarshal(first, &d)
	if d.Policy.Rules[0].Release != "v0" || d.Config.Format != "yaml" || d.Releases[2].Content != "port: 22\n" || d.Releases[1].Source.Name != "d" {
		t.Fatalf("got %s", first)
	}
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestIdempotencyKey(t *testing.T) {
	key := func(s api.SourceRef, target string, r api.ConfluxRelease) string {
		return IdempotencyKey(s, target, r, r.ContentSHA256())
	}
	r := api.ConfluxRelease{Name: "v1", Content: "port: 1\n"}
	k := key(src("a"), testTargetName, r)
	if len(k) != 40 {
		t.Fatalf("key %q", k)
	}
	tmpl := &api.ConfluxTemplate{Text: "port: {{ .Secrets.port }}", Secret: api.SecretName{Name: "s"}, ContentSHA256: ContentSHA("port: 1\n")}
	for i, other := range []string{
		key(src("b"), testTargetName, r),
		key(src("a"), "acme/shop/prod/other", r),
		key(src("a"), testTargetName, api.ConfluxRelease{Name: "v1", Content: "port: 2\n"}),
		key(src("a"), testTargetName, api.ConfluxRelease{Name: "v1", Content: "port: 1\n", Stable: true}),
		key(src("a"), testTargetName, api.ConfluxRelease{Name: "v1", Content: "port: 1\n", Description: "d"}),
	} {
		if other == k {
			t.Fatalf("case %d: same key", i)
		}
	}
	for name, same := range map[string]api.ConfluxRelease{
		"renamed":  {Name: "renamed", Content: "port: 1\n"},
		"template": {Name: "v1", Template: tmpl}, // the same rendered content is the same version
	} {
		if key(src("a"), testTargetName, same) != k {
			t.Errorf("%s: the key changed", name)
		}
	}
}
