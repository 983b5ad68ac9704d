package cloudflare

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault makes matching API requests fail (or slow down) before routing.
type Fault struct {
	// Method to match; "" matches any.
	Method string `json:"method"`
	// PathPrefix is matched against the request path; a prefix without the
	// /client/v4 mount is treated as relative to it.
	PathPrefix string `json:"path"`
	// Status to answer with; 0 means only apply Delay, then serve normally.
	Status int `json:"status"`
	// Count limits how many requests the fault hits; 0 means unlimited.
	Count int `json:"count"`
	// Probability in (0,1] that a matching request is hit; 0 means always.
	Probability float64 `json:"probability"`
	// Delay before answering (or serving).
	Delay time.Duration `json:"-"`
	// RetryAfter, when >0, is sent as the Retry-After header in seconds.
	RetryAfter int `json:"retry_after"`
}

// faultJSON is the wire form: delay is a Go duration string ("250ms").
type faultJSON struct {
	Fault
	Delay string `json:"delay"`
}

type faultSet struct {
	mu     sync.Mutex
	faults []*Fault
}

func (f *faultSet) add(ft Fault) {
	if ft.PathPrefix != "" && !strings.HasPrefix(ft.PathPrefix, apiPrefix) {
		ft.PathPrefix = apiPrefix + ft.PathPrefix
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &ft)
}

func (f *faultSet) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// match returns a copy of the first fault that fires for r, consuming one
// use of its Count.
func (f *faultSet) match(r *http.Request) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, ft := range f.faults {
		if ft.Method != "" && !strings.EqualFold(ft.Method, r.Method) {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, ft.PathPrefix) {
			continue
		}
		if ft.Probability > 0 && rand.Float64() >= ft.Probability {
			continue
		}
		out := *ft
		if ft.Count > 0 {
			ft.Count--
			if ft.Count == 0 {
				f.faults = append(f.faults[:i], f.faults[i+1:]...)
			}
		}
		return out, true
	}
	return Fault{}, false
}

// AddFault installs a fault for subsequent API requests.
func (s *Server) AddFault(f Fault) { s.faults.add(f) }

// ClearFaults removes all faults.
func (s *Server) ClearFaults() { s.faults.clear() }

// applyFault reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	ft, ok := s.faults.match(r)
	if !ok {
		return false
	}
	if ft.Delay > 0 {
		t := time.NewTimer(ft.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if ft.Status == 0 {
		return false
	}
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	code := 10001
	msg := "Injected fault: " + http.StatusText(ft.Status)
	if ft.Status == http.StatusTooManyRequests {
		code, msg = 971, "Please wait and consider throttling your request speed"
	}
	writeError(w, newAPIError(ft.Status, code, msg))
	return true
}

// serveControl handles the token-less /__emulator/ endpoints.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/__emulator/faults" && r.Method == http.MethodPost:
		var fj faultJSON
		if err := json.NewDecoder(r.Body).Decode(&fj); err != nil {
			writeError(w, badBody(err))
			return
		}
		if fj.Delay != "" {
			d, err := time.ParseDuration(fj.Delay)
			if err != nil {
				writeError(w, newAPIError(http.StatusBadRequest, 1001, "Invalid delay: "+err.Error()))
				return
			}
			fj.Fault.Delay = d
		}
		s.AddFault(fj.Fault)
		writeResult(w, http.StatusOK, fj, nil)
	case r.URL.Path == "/__emulator/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		writeResult(w, http.StatusOK, nil, nil)
	case r.URL.Path == "/__emulator/requests" && r.Method == http.MethodGet:
		writeResult(w, http.StatusOK, s.Requests(), nil)
	default:
		writeError(w, newAPIError(http.StatusNotFound, 7000, "No route for that URI"))
	}
}
