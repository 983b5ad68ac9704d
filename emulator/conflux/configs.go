package conflux

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)
)

const maxDescription = 1024

var configFields = []string{"tenant", "application", "environment", "name", "format", "schema", "retention_policy", "description"}

// readOnlyConfigFields may appear in a PATCH body (clients echo what they
// read) but are ignored.
var readOnlyConfigFields = []string{"id", "created_at", "updated_at", "etag"}

func (s *Server) createConfig(w http.ResponseWriter, r *http.Request) *problem {
	body, _, p := readObject(r)
	if p != nil {
		return p
	}
	var errs fieldErrs
	errs.unknownFields(body, "", configFields...)
	c := &configRec{}
	c.Tenant = keyField(&errs, body, "tenant", segmentRE)
	c.Application = keyField(&errs, body, "application", segmentRE)
	c.Environment = keyField(&errs, body, "environment", segmentRE)
	c.Name = keyField(&errs, body, "name", nameRE)
	format, present := errs.str(body, "format", "")
	switch {
	case !present:
		errs.add("/format", "required")
	case !slices.Contains(formats, format):
		errs.add("/format", "must be one of json, yaml, toml, properties, text")
	}
	c.Format = format
	if v, ok := body["schema"]; ok && v != nil {
		c.Schema = checkSchemaField(&errs, v, format)
	}
	if v, ok := body["retention_policy"]; ok && v != nil {
		c.RetentionPolicy = parseRetention(&errs, v)
	}
	c.Description = descriptionField(&errs, body, "")
	if len(errs) > 0 {
		return validationProblem(errs)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if id, dup := s.byKey[naturalKey(c.Tenant, c.Application, c.Environment, c.Name)]; dup {
		pr := newProblem(http.StatusConflict, "conflict", "Config exists",
			"A config with this tenant, application, environment and name already exists: "+id+".")
		return pr
	}
	now := s.clock()
	c.ID = newConfigID()
	c.CreatedAt, c.UpdatedAt = now, now
	c.ETag = newETag()
	c.Policy = Policy{Rules: []Rule{}, ETag: emptyPolicyETag}
	if err := s.commitLocked(&batch{putConfig: c}); err != nil {
		return storageProblem(err)
	}
	w.Header().Set("Location", apiPrefix+"/configs/"+c.ID)
	writeConfig(w, http.StatusCreated, c)
	return nil
}

func storageProblem(err error) *problem {
	return newProblem(http.StatusInternalServerError, "storage", "Storage failure", err.Error())
}

func writeConfig(w http.ResponseWriter, status int, c *configRec) {
	w.Header().Set("ETag", c.ETag)
	writeJSON(w, status, c.ConfigObject)
}

func keyField(errs *fieldErrs, body map[string]any, key string, re *regexp.Regexp) string {
	v, present := errs.str(body, key, "")
	if !present {
		errs.add("/"+key, "required")
		return ""
	}
	if !re.MatchString(v) {
		errs.add("/"+key, "must match "+re.String())
	}
	return v
}

func descriptionField(errs *fieldErrs, body map[string]any, base string) string {
	d, _ := errs.str(body, "description", base)
	if utf8.RuneCountInString(d) > maxDescription {
		errs.add(base+"/description", "must be at most 1024 characters")
	}
	return d
}

// checkSchemaField validates a schema in the request and returns it as
// compact JSON.
func checkSchemaField(errs *fieldErrs, v any, format string) json.RawMessage {
	if format == "text" {
		errs.add("/schema", "a text config cannot have a schema")
		return nil
	}
	n := len(*errs)
	checkSchema(errs, v, "/schema")
	if len(*errs) > n {
		return nil
	}
	raw, _ := json.Marshal(v)
	return raw
}

func parseRetention(errs *fieldErrs, v any) *RetentionPolicy {
	const base = "/retention_policy"
	m, ok := v.(map[string]any)
	if !ok {
		errs.add(base, "must be an object")
		return nil
	}
	errs.unknownFields(m, base, "strategy", "rules")
	rp := &RetentionPolicy{Rules: []RetentionRule{}}
	st, present := errs.str(m, "strategy", base)
	switch {
	case !present:
		errs.add(base+"/strategy", "required")
	case st != "AND" && st != "OR":
		errs.add(base+"/strategy", "must be AND or OR")
	}
	rp.Strategy = st
	rules, ok := m["rules"].([]any)
	if !ok {
		errs.add(base+"/rules", "required: an array of rules")
		return rp
	}
	for i, rv := range rules {
		rb := base + "/rules/" + strconv.Itoa(i)
		rm, ok := rv.(map[string]any)
		if !ok {
			errs.add(rb, "must be an object")
			continue
		}
		errs.unknownFields(rm, rb, "type", "keep")
		t, present := errs.str(rm, "type", rb)
		if !present {
			errs.add(rb+"/type", "required")
		} else if t != "count" && t != "days" {
			errs.add(rb+"/type", "must be count or days")
		}
		keep, ok := integer(rm["keep"])
		if !ok || keep < 1 {
			errs.add(rb+"/keep", "required: an integer of at least 1")
		}
		rp.Rules = append(rp.Rules, RetentionRule{Type: t, Keep: keep})
	}
	return rp
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) *problem {
	s.mu.Lock()
	c := s.configs[r.PathValue("id")]
	var cp *configRec
	if c != nil {
		cp = c.clone()
	}
	s.mu.Unlock()
	if cp == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	writeConfig(w, http.StatusOK, cp)
	return nil
}

// page parses page_size (1..1000, default 50) and page_token.
func page(r *http.Request) (size int, token string, p *problem) {
	q := r.URL.Query()
	size = 50
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, "", badParameter("page_size", "must be an integer from 1 to 1000")
		}
		size = n
	}
	if v := q.Get("page_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) < 2 {
			return 0, "", badParameter("page_token", "is not a token this server issued")
		}
		token = string(b)
	}
	return size, token, nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

type listResponse[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func (s *Server) listConfigs(w http.ResponseWriter, r *http.Request) *problem {
	size, tok, p := page(r)
	if p != nil {
		return p
	}
	after, ok := strings.CutPrefix(tok, "c:")
	if tok != "" && !ok {
		return badParameter("page_token", "is not a token this server issued")
	}
	q := r.URL.Query()
	filters := map[string]string{}
	for _, f := range []string{"tenant", "application", "environment", "name"} {
		if v := q.Get(f); v != "" {
			filters[f] = v
		}
	}
	s.mu.Lock()
	var all []*configRec
	for _, c := range s.configs {
		if match(filters, "tenant", c.Tenant) && match(filters, "application", c.Application) &&
			match(filters, "environment", c.Environment) && match(filters, "name", c.Name) {
			all = append(all, c.clone())
		}
	}
	s.mu.Unlock()
	// Sorted by natural key then id; the token is the last key served, so
	// paging is stable while configs are created or deleted.
	sortKey := func(c *configRec) string {
		return naturalKey(c.Tenant, c.Application, c.Environment, c.Name) + "\x00" + c.ID
	}
	sort.Slice(all, func(i, j int) bool { return sortKey(all[i]) < sortKey(all[j]) })
	out := listResponse[ConfigObject]{Items: []ConfigObject{}}
	last := ""
	for _, c := range all {
		k := sortKey(c)
		if after != "" && k <= after {
			continue
		}
		if len(out.Items) == size {
			out.NextPageToken = encodeToken("c:" + last)
			break
		}
		out.Items = append(out.Items, c.ConfigObject)
		last = k
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func match(filters map[string]string, key, val string) bool {
	f, ok := filters[key]
	return !ok || f == val
}

func (s *Server) updateConfig(w http.ResponseWriter, r *http.Request) *problem {
	body, _, p := readObject(r)
	if p != nil {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.configs[r.PathValue("id")]
	if cur == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	present, ok := ifMatch(r, cur.ETag)
	if !present {
		return newProblem(http.StatusPreconditionRequired, "precondition-required", "Precondition required",
			"Send If-Match with the config's ETag.")
	}
	if !ok {
		return preconditionFailed("The config changed since you read it; its ETag is now " + cur.ETag + ".")
	}
	c := cur.clone()
	var errs fieldErrs
	errs.unknownFields(body, "", append(slices.Clone(configFields), readOnlyConfigFields...)...)
	for _, f := range []struct {
		key string
		val string
	}{{"tenant", c.Tenant}, {"application", c.Application}, {"environment", c.Environment}, {"name", c.Name}, {"format", c.Format}} {
		if v, present := errs.str(body, f.key, ""); present && v != f.val {
			errs.add("/"+f.key, "is immutable; create a new config instead")
		}
	}
	if v, ok := body["schema"]; ok {
		if v == nil {
			c.Schema = nil
		} else {
			c.Schema = checkSchemaField(&errs, v, c.Format)
		}
	}
	if v, ok := body["retention_policy"]; ok {
		if v == nil {
			c.RetentionPolicy = nil
		} else {
			c.RetentionPolicy = parseRetention(&errs, v)
		}
	}
	if _, ok := body["description"]; ok {
		c.Description = descriptionField(&errs, body, "")
	}
	if len(errs) > 0 {
		return validationProblem(errs)
	}
	oldRP, _ := json.Marshal(cur.RetentionPolicy)
	newRP, _ := json.Marshal(c.RetentionPolicy)
	retentionChanged := !bytes.Equal(oldRP, newRP)
	if bytes.Equal(c.Schema, cur.Schema) && c.Description == cur.Description && !retentionChanged {
		writeConfig(w, http.StatusOK, cur.clone())
		return nil
	}
	c.UpdatedAt = s.clock()
	c.ETag = newETag()
	b := &batch{putConfig: c}
	if retentionChanged {
		b.delVersions = s.pruneLocked(c, s.versions[c.ID], c.Policy)
	}
	if err := s.commitLocked(b); err != nil {
		return storageProblem(err)
	}
	writeConfig(w, http.StatusOK, c.clone())
	return nil
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) *problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.configs[r.PathValue("id")]
	if cur == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	if present, ok := ifMatch(r, cur.ETag); present && !ok {
		return preconditionFailed("The config changed since you read it; its ETag is now " + cur.ETag + ".")
	}
	if err := s.commitLocked(&batch{delConfig: cur.ID}); err != nil {
		return storageProblem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
