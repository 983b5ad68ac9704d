package cloudflare

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// apiMessage is one entry of the envelope's errors/messages arrays.
// ErrorChain mirrors the real API, which nests the specific DNS validation
// code under a generic 1004; cloudflare-go ignores it but other clients may not.
type apiMessage struct {
	Code       int          `json:"code"`
	Message    string       `json:"message"`
	ErrorChain []apiMessage `json:"error_chain,omitempty"`
}

// resultInfo is the pagination block. total_pages must be consistent with
// page/per_page or cloudflare-go's auto-pagination loops or stops early.
type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// envelope is the v4 response wrapper. errors and messages are always
// arrays (never null): Access app responses decode them as []string and the
// client rejects objects there, so success bodies carry empty arrays.
type envelope struct {
	Success    bool         `json:"success"`
	Errors     []apiMessage `json:"errors"`
	Messages   []apiMessage `json:"messages"`
	Result     any          `json:"result"`
	ResultInfo *resultInfo  `json:"result_info,omitempty"`
}

// apiError is an error that knows its HTTP status and API error entries.
type apiError struct {
	Status int
	Errors []apiMessage
}

func (e *apiError) Error() string {
	if len(e.Errors) == 0 {
		return http.StatusText(e.Status)
	}
	return e.Errors[0].Message + " (" + strconv.Itoa(e.Errors[0].Code) + ")"
}

func newAPIError(status, code int, msg string) *apiError {
	return &apiError{Status: status, Errors: []apiMessage{{Code: code, Message: msg}}}
}

// dnsValidation builds the generic 1004 error with the specific code in
// error_chain, as the real API does.
func dnsValidation(code int, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Errors: []apiMessage{{
		Code: 1004, Message: "DNS Validation Error",
		ErrorChain: []apiMessage{{Code: code, Message: msg}},
	}}}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeResult(w http.ResponseWriter, status int, result any, info *resultInfo) {
	writeJSON(w, status, envelope{
		Success: true, Errors: []apiMessage{}, Messages: []apiMessage{},
		Result: result, ResultInfo: info,
	})
}

func writeError(w http.ResponseWriter, err *apiError) {
	writeJSON(w, err.Status, envelope{
		Success: false, Errors: err.Errors, Messages: []apiMessage{}, Result: nil,
	})
}

// pageWindow reads page/per_page from the query and returns the slice bounds
// for total items plus a result_info echoing the requested page. Out-of-range
// pages yield an empty slice (start==end) rather than an error, so the
// client's "page > total_pages" termination check works.
func pageWindow(r *http.Request, total, defPer, maxPer int) (start, end int, info *resultInfo) {
	q := r.URL.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = defPer
	}
	if per > maxPer {
		per = maxPer
	}
	pages := int(math.Ceil(float64(total) / float64(per)))
	start = (page - 1) * per
	if start > total {
		start = total
	}
	end = start + per
	if end > total {
		end = total
	}
	return start, end, &resultInfo{Page: page, PerPage: per, Count: end - start, TotalCount: total, TotalPages: pages}
}

// badBody is the 400 for a request body that is not the JSON expected.
func badBody(err error) *apiError {
	return newAPIError(http.StatusBadRequest, 1001, "Invalid request body: "+err.Error())
}

// decodeBody decodes a JSON request body, mapping failures to a 400.
func decodeBody(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badBody(err)
	}
	return nil
}

// isDeletedFilter reads is_deleted; omitted means false (active objects
// only), the API's behaviour for tunnels and routes since 2025-12-01.
func isDeletedFilter(q url.Values) (bool, *apiError) {
	v := q.Get("is_deleted")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, newAPIError(http.StatusBadRequest, 1001, "is_deleted must be a boolean")
	}
	return b, nil
}
