package cfapi

import (
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/zero_trust"
)

// A rule list is read as the API answered it: absent and null are no
// rules, and a rule keeps every field, known to v6 or not.
func TestAccessRulesRaw(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{``, `[]`},
		{`null`, `[]`},
		{`[]`, `[]`},
		{`[{"email":{"email":"a@example.com","note":"kept"}},{"everyone":{}}]`, `[{"email":{"email":"a@example.com","note":"kept"}},{"everyone":{}}]`},
	} {
		if got := AccessRulesHave(AccessRulesRaw(tc.raw)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.raw, got, tc.want)
		}
	}
}

// One v6 answer is read as another of v6's types of the same object,
// with its fields and its raw JSON.
func TestAsV6(t *testing.T) {
	var l zero_trust.AccessGroupListResponse
	if err := l.UnmarshalJSON([]byte(`{"id":"g1","name":"staff","include":[{"everyone":{}}]}`)); err != nil {
		t.Fatal(err)
	}
	g, err := AsV6[zero_trust.AccessGroupGetResponse](l.JSON.RawJSON())
	if err != nil || g.ID != "g1" || g.Name != "staff" || g.JSON.Include.Raw() != `[{"everyone":{}}]` || !g.JSON.Exclude.IsMissing() {
		t.Fatalf("%+v, %v", g, err)
	}
	if _, err := AsV6[zero_trust.AccessGroupGetResponse](`{`); err == nil {
		t.Fatal("a broken answer decoded")
	}
}
