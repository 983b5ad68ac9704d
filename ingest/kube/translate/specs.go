package translate

import "github.com/conflux-sync/conflux-sync/api"

// The fragment specs are package api's, the same types the target kinds
// (sync/tunnel, sync/dns, sync/access, sync/route) read. The tests check
// every fragment against the real kinds too.

// orNil returns nil for an empty originRequest (the kinds treat it as none).
func orNil(o *api.OriginRequest) *api.OriginRequest {
	if o.IsZero() {
		return nil
	}
	return o
}
