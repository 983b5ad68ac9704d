package conflux

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// problemBase prefixes every problem type URI; the suffix names the
// problem and is documented in docs/conflux-api.md.
const problemBase = "urn:conflux:problem:"

// FieldError is one entry of a problem's errors array. Pointer is an RFC
// 6901 JSON pointer into the request body (past /content it continues into
// the parsed content document); Parameter names a query parameter or header
// instead.
type FieldError struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Detail    string `json:"detail"`
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

func newProblem(status int, kind, title, detail string) *problem {
	return &problem{Type: problemBase + kind, Title: title, Status: status, Detail: detail}
}

func validationProblem(errs []FieldError) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "validation", "Validation failed",
		"The request body has invalid fields; see errors.")
	p.Errors = errs
	return p
}

func badRequest(detail string) *problem {
	return newProblem(http.StatusBadRequest, "bad-request", "Bad request", detail)
}

func badParameter(param, detail string) *problem {
	p := badRequest("Invalid query parameter " + param + ".")
	p.Errors = []FieldError{{Parameter: param, Detail: detail}}
	return p
}

func notFound(what string) *problem {
	return newProblem(http.StatusNotFound, "not-found", "Not found", what+" does not exist.")
}

func preconditionFailed(detail string) *problem {
	return newProblem(http.StatusPreconditionFailed, "precondition-failed", "Precondition failed", detail)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	out := *p
	if out.Instance == "" && r != nil {
		out.Instance = r.URL.Path
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(out.Status)
	_, _ = w.Write(buf.Bytes())
}

// maxBody bounds request bodies; content itself is limited to maxContent.
const maxBody = 4 << 20

// readObject decodes a request body that must be one JSON object. Numbers
// stay json.Number so nothing is rounded.
func readObject(r *http.Request) (map[string]any, []byte, *problem) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, newProblem(http.StatusRequestEntityTooLarge, "too-large", "Request body too large",
				"Request bodies are limited to 4 MiB.")
		}
		return nil, nil, badRequest("Reading the request body failed: " + err.Error())
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, nil, badRequest("The request body is not valid JSON: " + err.Error())
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, badRequest("The request body must be a JSON object.")
	}
	return m, raw, nil
}

// decodeJSON decodes exactly one JSON value with json.Number numbers.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// ptrEscape escapes one JSON pointer reference token (RFC 6901).
func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// fieldErrs collects validation errors.
type fieldErrs []FieldError

func (e *fieldErrs) add(ptr, detail string) {
	*e = append(*e, FieldError{Pointer: ptr, Detail: detail})
}

// unknownFields reports every key of m not in allowed.
func (e *fieldErrs) unknownFields(m map[string]any, base string, allowed ...string) {
	for _, k := range sortedKeys(m) {
		ok := false
		for _, a := range allowed {
			if a == k {
				ok = true
				break
			}
		}
		if !ok {
			e.add(base+"/"+ptrEscape(k), "unknown field")
		}
	}
}

// str reads an optional string field; present reports whether it was there.
func (e *fieldErrs) str(m map[string]any, key, base string) (val string, present bool) {
	v, ok := m[key]
	if !ok {
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		e.add(base+"/"+key, "must be a string")
		return "", true
	}
	return s, true
}

func (e *fieldErrs) boolean(m map[string]any, key, base string) (val bool, present bool) {
	v, ok := m[key]
	if !ok {
		return false, false
	}
	b, isBool := v.(bool)
	if !isBool {
		e.add(base+"/"+key, "must be a boolean")
		return false, true
	}
	return b, true
}

// integer parses a JSON number that must be an integer in int range.
func integer(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i > 1<<53 || i < -(1<<53) {
		return 0, false
	}
	return int(i), true
}
