package cfapi

import (
	"context"
	"strconv"

	"github.com/cloudflare/cloudflare-go/v6/packages/pagination"
)

// EveryPage reads every page of a v6 list, one Call per page, each with
// ctx: list reads page (from 1) of perPage items. It is what a kind uses
// instead of v6's ListAutoPaging, whose pager reads every page after the
// first with context.Background(): such a read is not cancelled when the
// flush is (a lost leadership), waits for the rate limit without a
// deadline, and is not seen by Call (the API's Retry-After is lost). The
// pager also stops only at an empty page, one more read for every list;
// EveryPage stops at the last page result_info names (total_pages, which
// v6's type keeps beside the fields it knows), or else at a page shorter
// than the page size the API answered.
func EveryPage[T any](ctx context.Context, what string, perPage int64,
	list func(ctx context.Context, page, perPage int64) (*pagination.V4PagePaginationArray[T], error)) ([]T, error) {
	var out []T
	for page := int64(1); ; page++ {
		var res *pagination.V4PagePaginationArray[T]
		err := Call(ctx, what, func(ctx context.Context) (err error) {
			res, err = list(ctx, page, perPage)
			return err
		})
		if err != nil {
			return nil, err
		}
		if res == nil {
			return out, nil
		}
		out = append(out, res.Result...)
		if total, err := strconv.ParseInt(res.ResultInfo.JSON.ExtraFields["total_pages"].Raw(), 10, 64); err == nil {
			if page >= total || len(res.Result) == 0 {
				return out, nil
			}
			continue
		}
		// No total: a page shorter than the API's page size is the last.
		per := res.ResultInfo.PerPage
		if per <= 0 {
			per = perPage
		}
		if int64(len(res.Result)) < per {
			return out, nil
		}
	}
}
