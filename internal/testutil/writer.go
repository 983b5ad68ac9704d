package testutil

import (
	"sync"
	"time"
)

// AckedWriter calls a write function in a loop on its own goroutine until
// Stop, and remembers the keys of the writes that were acknowledged. Across
// a failover, exactly those must survive; a write that failed may or may
// not have been applied.
type AckedWriter struct {
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	acked map[string]bool
}

// StartWriter starts writing. write(i) performs the i-th write and returns
// its key and whether it was acknowledged (nil error).
func StartWriter(write func(i int) (key string, err error)) *AckedWriter {
	w := &AckedWriter{stop: make(chan struct{}), done: make(chan struct{}), acked: map[string]bool{}}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			key, err := write(i)
			if err != nil {
				// Back off a little while the cluster elects a leader.
				time.Sleep(20 * time.Millisecond)
				continue
			}
			w.mu.Lock()
			w.acked[key] = true
			w.mu.Unlock()
		}
	}()
	return w
}

// Count is the number of acknowledged writes so far.
func (w *AckedWriter) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// Stop ends the loop, waits for it, and returns the acknowledged keys.
func (w *AckedWriter) Stop() map[string]bool {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}
