package engine

import (
	"context"
	"errors"
	"fmt"
)

type writeGateKey struct{}

// writeGate is what VerifyWrite checks; a context carries at most one.
type writeGate struct {
	// verify confirms leadership; nil: no check.
	verify func(context.Context) error
	// dryRun refuses every write.
	dryRun bool
}

// ErrDryRun is what VerifyWrite refuses a write with during a dry run.
var ErrDryRun = errors.New("dry run: refusing to write downstream")

func gateOf(ctx context.Context) writeGate {
	g, _ := ctx.Value(writeGateKey{}).(writeGate)
	return g
}

// withWriteGate attaches the check every downstream write must pass.
func withWriteGate(ctx context.Context, verify func(context.Context) error) context.Context {
	g := gateOf(ctx)
	g.verify = verify
	return context.WithValue(ctx, writeGateKey{}, g)
}

// WithDryRun marks ctx as a dry run: VerifyWrite refuses every write made
// under it. The engine flushes every target of a dry run under it, so a
// flusher path that forgot Request.DryRun fails loudly instead of writing.
func WithDryRun(ctx context.Context) context.Context {
	g := gateOf(ctx)
	g.dryRun = true
	return context.WithValue(ctx, writeGateKey{}, g)
}

// VerifyWrite is called by downstream clients right before each write
// request of a flush. In a dry run (WithDryRun) it refuses the write, with
// a permanent error wrapping ErrDryRun: retrying cannot make a dry run
// write. Otherwise it confirms through raft that this node still leads, so
// a leader that was deposed while it waited on a rate limit or a slow read
// cannot write after its successor. Outside a flush it allows the write.
func VerifyWrite(ctx context.Context) error {
	g, ok := ctx.Value(writeGateKey{}).(writeGate)
	if !ok {
		return nil
	}
	if g.dryRun {
		return Permanent(fmt.Errorf("%w (a flusher did not honour Request.DryRun: this is a bug)", ErrDryRun))
	}
	if g.verify == nil {
		return nil
	}
	if err := g.verify(ctx); err != nil {
		return fmt.Errorf("not writing downstream: leadership not verified: %w", err)
	}
	return nil
}
