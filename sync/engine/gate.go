package engine

import (
	"context"
	"fmt"
)

type writeGateKey struct{}

// withWriteGate attaches the check every downstream write must pass.
func withWriteGate(ctx context.Context, verify func(context.Context) error) context.Context {
	return context.WithValue(ctx, writeGateKey{}, verify)
}

// VerifyWrite is called by downstream clients right before each write
// request of a flush: it confirms through raft that this node still leads,
// so a leader that was deposed while it waited on a rate limit or a slow
// read cannot write after its successor. Outside a flush it allows the
// write.
func VerifyWrite(ctx context.Context) error {
	verify, ok := ctx.Value(writeGateKey{}).(func(context.Context) error)
	if !ok {
		return nil
	}
	if err := verify(ctx); err != nil {
		return fmt.Errorf("not writing downstream: leadership not verified: %w", err)
	}
	return nil
}
