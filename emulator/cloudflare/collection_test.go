package cloudflare_test

import (
	"encoding/json"
	"reflect"
	"testing"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
)

// TestCollectionListing pins the listing every account-level kind shares:
// paged kinds (Access groups: 25 a page, 1000 at most) clamp per_page,
// answer an empty page past the end, and count only what a filter keeps
// (service tokens by name); one-page kinds (Gateway lists) ignore page and
// per_page; an account with nothing answers [] rather than null.
func TestCollectionListing(t *testing.T) {
	e := newEnv(t, emu.Config{})
	base := e.srv.URL + "/client/v4/accounts/" + acct
	for _, name := range []string{"g1", "g2", "g3"} {
		rawCall(t, "POST", base+"/access/groups", testToken, map[string]any{"name": name, "include": []any{map[string]any{"everyone": map[string]any{}}}})
		rawCall(t, "POST", base+"/gateway/lists", testToken, map[string]any{"name": name, "type": "IP"})
	}
	for _, name := range []string{"a", "b", "a"} {
		rawCall(t, "POST", base+"/access/service_tokens", testToken, map[string]any{"name": name})
	}
	info := func(page, per, count, total, pages int) map[string]any {
		return map[string]any{"page": float64(page), "per_page": float64(per), "count": float64(count),
			"total_count": float64(total), "total_pages": float64(pages)}
	}
	for _, tc := range []struct {
		name, path string
		names      []string
		info       map[string]any
	}{
		{"defaults", "/access/groups", []string{"g1", "g2", "g3"}, info(1, 25, 3, 3, 1)},
		{"second page", "/access/groups?page=2&per_page=2", []string{"g3"}, info(2, 2, 1, 3, 2)},
		{"past the end", "/access/groups?page=5&per_page=2", []string{}, info(5, 2, 0, 3, 2)},
		{"per_page clamped", "/access/groups?per_page=5000", []string{"g1", "g2", "g3"}, info(1, 1000, 3, 3, 1)},
		{"bad page and per_page", "/access/groups?page=-1&per_page=x", []string{"g1", "g2", "g3"}, info(1, 25, 3, 3, 1)},
		{"filter before paging", "/access/service_tokens?name=a&per_page=1&page=2", []string{"a"}, info(2, 1, 1, 2, 2)},
		{"one page ignores paging", "/gateway/lists?page=2&per_page=1", []string{"g1", "g2", "g3"}, info(1, 3, 3, 3, 1)},
		{"one page, none", "/gateway/rules", []string{}, info(1, 0, 0, 0, 1)},
		{"paged, none", "/access/policies", []string{}, info(1, 25, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, env := rawCall(t, "GET", base+tc.path, testToken, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, env)
			}
			res, ok := env["result"].([]any)
			if !ok {
				t.Fatalf("result is %T, want a list: %v", env["result"], env)
			}
			names := []string{}
			for _, x := range res {
				names = append(names, x.(map[string]any)["name"].(string))
			}
			if !reflect.DeepEqual(names, tc.names) {
				t.Errorf("names = %v, want %v", names, tc.names)
			}
			if !reflect.DeepEqual(env["result_info"], tc.info) {
				got, _ := json.Marshal(env["result_info"])
				want, _ := json.Marshal(tc.info)
				t.Errorf("result_info = %s, want %s", got, want)
			}
		})
	}
}
