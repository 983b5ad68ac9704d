package conflux

import (
	"net/http"

	"github.com/conflux-sync/conflux-sync/emulator/internal/fault"
)

// Fault makes matching API requests fail (or slow down) before routing. Its
// PathPrefix, when not under the /v1 mount, is treated as relative to it
// ("" matches every API path).
type Fault = fault.Fault

// newControl wires the shared fault and request-count handling to
// problem+json responses; posted faults must carry an error status (or 0).
func (s *Server) newControl() *fault.Control {
	return fault.New(fault.Config{
		APIPrefix:       apiPrefix,
		SegmentMount:    true,
		ErrorStatusOnly: true,
		Mux:             s.mux,
		Logger:          s.log,
		Unrouted:        s.serveUnrouted,
		WriteFault: func(w http.ResponseWriter, r *http.Request, ft Fault) {
			p := newProblem(ft.Status, "injected-fault", "Injected fault", "Injected fault: "+http.StatusText(ft.Status)+".")
			writeProblem(w, r, p)
		},
		WriteBadBody: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, badRequest("The fault is not valid JSON: "+err.Error()))
		},
		WriteBadRequest: func(w http.ResponseWriter, r *http.Request, msg string) {
			writeProblem(w, r, badRequest(msg))
		},
		WriteResult: func(w http.ResponseWriter, _ *http.Request, v any) {
			writeJSON(w, http.StatusOK, v)
		},
		WriteCleared: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		},
		WriteNotFound: func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, r, newProblem(http.StatusNotFound, "not-found", "Not found", "No route for "+r.URL.Path+"."))
		},
	})
}

// AddFault installs a fault for subsequent API requests.
func (s *Server) AddFault(f Fault) { s.control.Add(f) }

// ClearFaults removes all faults.
func (s *Server) ClearFaults() { s.control.Clear() }
