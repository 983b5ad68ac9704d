package conflux

import (
	"net/http"
	"strings"
)

// Resolution is what a client with given labels receives.
type Resolution struct {
	ConfigID            string `json:"config_id"`
	VersionID           string `json:"version_id"`
	Number              int    `json:"number"`
	Format              string `json:"format"`
	Content             string `json:"content"`
	ContentSHA256       string `json:"content_sha256"`
	MatchedRulePriority int    `json:"matched_rule_priority"`
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) *problem {
	q := r.URL.Query()
	labels := map[string]string{}
	for k, vals := range q {
		name, ok := strings.CutPrefix(k, "label.")
		if !ok {
			if k != "config_id" && k != "tenant" && k != "application" && k != "environment" && k != "name" {
				return badParameter(k, "unknown parameter")
			}
			if len(vals) > 1 {
				return badParameter(k, "given more than once")
			}
			continue
		}
		if name == "" {
			return badParameter(k, "label name must not be empty")
		}
		if len(vals) > 1 {
			return badParameter(k, "a label may be given once")
		}
		labels[name] = vals[0]
	}
	id := q.Get("config_id")
	if id == "" {
		for _, k := range []string{"tenant", "application", "environment", "name"} {
			if q.Get(k) == "" {
				return badParameter(k, "required unless config_id is given")
			}
		}
	} else {
		for _, k := range []string{"tenant", "application", "environment", "name"} {
			if q.Has(k) {
				return badParameter(k, "not allowed together with config_id")
			}
		}
	}

	s.mu.Lock()
	if id == "" {
		id = s.byKey[naturalKey(q.Get("tenant"), q.Get("application"), q.Get("environment"), q.Get("name"))]
	}
	c := s.configs[id]
	var res Resolution
	var matched, found bool
	if c != nil {
		var rule Rule
		if rule, matched = matchRule(c.Policy.Rules, labels); matched {
			for _, v := range s.versions[c.ID] {
				if v.VersionID == rule.VersionID {
					found = true
					res = Resolution{ConfigID: c.ID, VersionID: v.VersionID, Number: v.Number, Format: c.Format,
						Content: v.Content, ContentSHA256: v.ContentSHA256, MatchedRulePriority: rule.Priority}
				}
			}
		}
	}
	s.mu.Unlock()
	switch {
	case c == nil:
		return notFound("The config")
	case !matched || !found:
		return newProblem(http.StatusNotFound, "no-matching-rule", "No matching rule",
			"No release policy rule of config "+c.ID+" matches these labels.")
	}
	etag := `"` + res.ContentSHA256 + `"`
	w.Header().Set("ETag", etag)
	if ifNoneMatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
