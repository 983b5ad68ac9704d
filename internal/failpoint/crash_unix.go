//go:build unix

package failpoint

import (
	"os"
	"syscall"
)

// crash kills the process as the kernel would: no deferred calls, no
// flushing, no shutdown path. The calling goroutine never returns.
func crash() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way; nothing after this point may run
}
