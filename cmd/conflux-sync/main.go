// Command conflux-sync is the one binary: the server, the three-node dev
// cluster, and the client commands over the admin API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/conflux-sync/conflux-sync/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", describe(err))
		os.Exit(exitCode(err))
	}
}

// describe renders an error for a person: API errors name their field.
func describe(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		msg := e.Message
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		msg = fmt.Sprintf("%s (HTTP %d %s)", msg, e.Status, e.Code)
		// Keep the context the command wrapped around it ("fragment 2 of 3: ").
		if prefix, ok := strings.CutSuffix(err.Error(), e.Error()); ok {
			msg = prefix + msg
		}
		return msg
	}
	return err.Error()
}

// exitCode distinguishes usage errors (2) from failures (1).
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

type usageError struct{ error }
