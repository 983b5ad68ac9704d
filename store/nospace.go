package store

import (
	"errors"
	"strings"
	"syscall"
)

// NoSpace reports whether err is (or wraps) a full volume: ENOSPC, or
// EDQUOT for a quota. bbolt returns the system error in an *os.PathError,
// which errors.Is sees through; raft's log store failure reaches callers
// flattened to text ("unable to store logs within log store, err: %q"), so
// the system error's text counts too.
func NoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}

// WriteErr is the error of the last write transaction when it failed for
// lack of space, nil once a write succeeded again. The API answers writes
// with 507 while it is set, rather than propose entries this node cannot
// apply.
func (s *Store) WriteErr() error {
	if p := s.noSpace.Load(); p != nil {
		return *p
	}
	return nil
}

// noteWrite records the outcome of a write transaction for WriteErr.
func (s *Store) noteWrite(err error) {
	switch {
	case err == nil:
		if s.noSpace.Load() != nil {
			s.noSpace.Store(nil)
		}
	case NoSpace(err):
		s.noSpace.Store(&err)
	}
}
