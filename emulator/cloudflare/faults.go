package cloudflare

import (
	"net/http"

	"github.com/conflux-sync/conflux-sync/emulator/internal/fault"
)

// Fault makes matching API requests fail (or slow down) before routing. Its
// PathPrefix, when not under the /client/v4 mount, is treated as relative
// to it.
type Fault = fault.Fault

// newControl wires the shared fault and request-count handling to the
// Cloudflare envelope: injected faults answer code 10001 (971 for 429).
func (s *Server) newControl() *fault.Control {
	return fault.New(fault.Config{
		APIPrefix:    apiPrefix,
		RelativeKeys: true,
		Mux:          s.mux,
		Logger:       s.log,
		Unrouted:     serveUnrouted,
		WriteFault: func(w http.ResponseWriter, _ *http.Request, ft Fault) {
			code := 10001
			msg := "Injected fault: " + http.StatusText(ft.Status)
			if ft.Status == http.StatusTooManyRequests {
				code, msg = 971, "Please wait and consider throttling your request speed"
			}
			writeError(w, newAPIError(ft.Status, code, msg))
		},
		WriteBadBody: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, badBody(err))
		},
		WriteBadRequest: func(w http.ResponseWriter, _ *http.Request, msg string) {
			writeError(w, newAPIError(http.StatusBadRequest, 1001, msg))
		},
		WriteResult: func(w http.ResponseWriter, _ *http.Request, v any) {
			writeResult(w, http.StatusOK, v, nil)
		},
		WriteCleared: func(w http.ResponseWriter, _ *http.Request) {
			writeResult(w, http.StatusOK, nil, nil)
		},
		WriteNotFound: func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, newAPIError(http.StatusNotFound, 7000, "No route for that URI"))
		},
	})
}

// AddFault installs a fault for subsequent API requests.
func (s *Server) AddFault(f Fault) { s.control.Add(f) }

// ClearFaults removes all faults.
func (s *Server) ClearFaults() { s.control.Clear() }
