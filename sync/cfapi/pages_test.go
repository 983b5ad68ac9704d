package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
)

// EveryPage reads each page with the caller's context inside a Call,
// and stops at the last page: the one result_info's total_pages names, or
// else a page shorter than the answered page size.
func TestEveryPage(t *testing.T) {
	type ctxKey struct{}
	cases := []struct {
		name string
		// pages are the answers' bodies, page 1 first.
		pages []string
		reads int
		items int
	}{
		{"total_pages", []string{
			`{"result":[1,2],"result_info":{"page":1,"per_page":2,"total_pages":3}}`,
			`{"result":[3,4],"result_info":{"page":2,"per_page":2,"total_pages":3}}`,
			`{"result":[5,6],"result_info":{"page":3,"per_page":2,"total_pages":3}}`,
		}, 3, 6},
		{"one full page", []string{`{"result":[1,2],"result_info":{"page":1,"per_page":2,"total_pages":1}}`}, 1, 2},
		{"empty", []string{`{"result":[],"result_info":{"page":1,"per_page":2,"total_pages":0}}`}, 1, 0},
		{"no total, short last page", []string{
			`{"result":[1,2],"result_info":{"page":1,"per_page":2}}`,
			`{"result":[3],"result_info":{"page":2,"per_page":2}}`,
		}, 2, 3},
		{"no total, page size capped by the API", []string{
			`{"result":[1],"result_info":{"page":1,"per_page":1}}`,
			`{"result":[],"result_info":{"page":2,"per_page":1}}`,
		}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), ctxKey{}, "flush")
			reads := 0
			got, err := EveryPage(ctx, "list things", 2, func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[int], error) {
				reads++
				if ctx.Value(ctxKey{}) != "flush" || ctx.Value(noteKey{}) == nil {
					t.Errorf("page %d read without the flush's context inside a Call", page)
				}
				if page != int64(reads) || perPage != 2 || reads > len(c.pages) {
					return nil, fmt.Errorf("read page %d (per page %d), read %d", page, perPage, reads)
				}
				var res pagination.V4PagePaginationArray[int]
				return &res, json.Unmarshal([]byte(c.pages[page-1]), &res)
			})
			if err != nil || reads != c.reads || len(got) != c.items {
				t.Fatalf("got %v, %v after %d reads; want %d items after %d", got, err, reads, c.items, c.reads)
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		_, err := EveryPage(context.Background(), "list things", 2, func(ctx context.Context, page, _ int64) (*pagination.V4PagePaginationArray[int], error) {
			if page == 2 {
				return nil, errors.New("connection reset")
			}
			var res pagination.V4PagePaginationArray[int]
			return &res, json.Unmarshal([]byte(`{"result":[1,2],"result_info":{"page":1,"per_page":2,"total_pages":2}}`), &res)
		})
		if err == nil || !strings.Contains(err.Error(), "list things: connection reset") {
			t.Fatalf("err %v", err)
		}
	})
}
