package conflux_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

func rules(specs ...any) []any {
	var out []any
	for i := 0; i+1 < len(specs); i += 2 {
		out = append(out, map[string]any{"type": specs[i], "keep": specs[i+1]})
	}
	return out
}

func TestRetention(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name     string
		strategy string
		rules    []any
		n        int           // versions to publish
		step     time.Duration // clock advance between publishes
		stable   []int         // numbers published as stable
		pin      int           // number a policy rule points at (0: none)
		want     []int
	}{
		{"count OR", "OR", rules("count", 2), 5, time.Minute, nil, 0, []int{4, 5}},
		{"count keeps latest stable", "OR", rules("count", 2), 5, time.Minute, []int{1}, 0, []int{1, 4, 5}},
		{"only the latest stable is kept", "OR", rules("count", 1), 5, time.Minute, []int{1, 2}, 0, []int{2, 5}},
		{"days OR", "OR", rules("days", 3), 6, day, nil, 0, []int{4, 5, 6}},
		{"count AND days", "AND", rules("count", 4, "days", 3), 6, day, nil, 0, []int{3, 4, 5, 6}},
		{"count OR days", "OR", rules("count", 4, "days", 3), 6, day, nil, 0, []int{4, 5, 6}},
		{"AND keeps young versions past the count", "AND", rules("count", 1, "days", 30), 6, day, nil, 0, []int{1, 2, 3, 4, 5, 6}},
		{"policy pin survives", "OR", rules("count", 1), 4, time.Minute, nil, 2, []int{2, 4}},
		{"no rules keeps all", "OR", []any{}, 4, day, nil, 0, []int{1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id, _ := e.createConfig(t, map[string]any{"retention_policy": map[string]any{"strategy": tc.strategy, "rules": tc.rules}})
			for i := 1; i <= tc.n; i++ {
				if i > 1 {
					e.clk.Add(tc.step)
				}
				r := e.publish(t, id, map[string]any{"content": fmt.Sprintf(`{"n":%d}`, i), "is_stable": slices.Contains(tc.stable, i)})
				if i == tc.pin {
					want(t, e.do(t, "PUT", "/v1/configs/"+id+"/policy", map[string]any{"rules": []any{
						map[string]any{"priority": 0, "version_id": r.str("version_id")}}}), http.StatusOK)
				}
			}
			if got := numbers(e, id); !slices.Equal(got, tc.want) {
				t.Fatalf("kept %v, want %v", got, tc.want)
			}
		})
	}
}

func numbers(e *env, id string) []int {
	var out []int
	for _, v := range e.emu.Versions(id) {
		out = append(out, v.Number)
	}
	return out
}

// Setting a retention policy prunes at once, but never the latest version,
// the latest stable one or one the policy points at; numbers are never
// reused.
func TestRetentionOnUpdateNeverRemovesProtected(t *testing.T) {
	e := newEnv(t)
	id, etag := e.createConfig(t, nil)
	var ids []string
	for i := 1; i <= 5; i++ {
		r := e.publish(t, id, map[string]any{"content": fmt.Sprintf(`{"n":%d}`, i), "is_stable": i == 2})
		ids = append(ids, r.str("version_id"))
	}
	want(t, e.do(t, "PUT", "/v1/configs/"+id+"/policy", map[string]any{"rules": []any{
		map[string]any{"priority": 5, "version_id": ids[0], "labels": map[string]any{"old": "yes"}}}}), http.StatusOK)
	e.clk.Add(100 * 24 * time.Hour)
	u := e.do(t, "PATCH", "/v1/configs/"+id, map[string]any{"retention_policy": map[string]any{"strategy": "AND",
		"rules": rules("days", 1, "count", 1)}}, "If-Match", etag)
	want(t, u, http.StatusOK)
	if got := numbers(e, id); !slices.Equal(got, []int{1, 2, 5}) {
		t.Fatalf("kept %v, want [1 2 5]", got)
	}
	r := e.publish(t, id, map[string]any{"content": `{}`})
	if r.body["number"] != float64(6) {
		t.Fatalf("number reused: %s", r.raw)
	}
	if got := numbers(e, id); !slices.Equal(got, []int{1, 2, 6}) {
		t.Fatalf("kept %v, want [1 2 6]", got)
	}
	want(t, e.do(t, "GET", "/v1/configs/"+id+"/versions/"+ids[2], nil), http.StatusNotFound)
}
