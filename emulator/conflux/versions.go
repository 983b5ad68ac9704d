package conflux

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxContent bounds a version's content (bytes of UTF-8).
const maxContent = 1 << 20

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// publishResponse is a version plus, when the publish set one, the policy.
type publishResponse struct {
	Version
	Policy *Policy `json:"policy,omitempty"`
}

func contentSHA(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) *problem {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		p := badRequest("Publishing requires an Idempotency-Key header.")
		p.Errors = []FieldError{{Parameter: "Idempotency-Key", Detail: "required"}}
		return p
	}
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		p := badRequest("The Idempotency-Key header is invalid.")
		p.Errors = []FieldError{{Parameter: "Idempotency-Key", Detail: "must be 1 to 255 printable ASCII characters"}}
		return p
	}
	body, _, p := readObject(r)
	if p != nil {
		return p
	}
	// The fingerprint is over the canonical JSON (sorted keys, numbers as
	// sent), so a replay with reordered fields or other whitespace matches.
	canon, _ := json.Marshal(body)
	sum := sha256.Sum256(canon)
	fingerprint := hex.EncodeToString(sum[:])

	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.configs[r.PathValue("id")]
	if cur == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	if rec := s.idem[cur.ID][key]; rec != nil {
		if rec.Fingerprint != fingerprint {
			return newProblem(http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused",
				"This Idempotency-Key was already used for a different publish request.")
		}
		for k, v := range rec.Headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(rec.Body)
		return nil
	}

	var errs fieldErrs
	errs.unknownFields(body, "", "content", "description", "is_stable", "policy", "policy_etag")
	content, present := errs.str(body, "content", "")
	if !present {
		errs.add("/content", "required")
	}
	description := descriptionField(&errs, body, "")
	stable, _ := errs.boolean(body, "is_stable", "")
	policyETag, etagGiven := errs.str(body, "policy_etag", "")
	var rules []Rule
	pv, withPolicy := body["policy"]
	if withPolicy {
		rules = parsePolicy(&errs, pv, "/policy")
		checkPolicyRefs(&errs, rules, "/policy", s.versions[cur.ID], true)
	} else if etagGiven {
		errs.add("/policy_etag", "only allowed together with policy")
	}
	if len(errs) > 0 {
		return validationProblem(errs)
	}
	if len(content) > maxContent {
		return validationProblem([]FieldError{{Pointer: "/content", Detail: "must be at most 1 MiB"}})
	}
	if ferrs := validateContent(cur.Format, cur.Schema, content); len(ferrs) > 0 {
		return validationProblem(ferrs)
	}
	if withPolicy && etagGiven && policyETag != cur.Policy.ETag {
		return preconditionFailed("policy_etag does not match; the policy's ETag is now " + cur.Policy.ETag + ".")
	}

	now := s.clock()
	c := cur.clone()
	c.LastNumber++
	v := &Version{
		ConfigID: c.ID, VersionID: newVersionID(), Number: c.LastNumber, Content: content,
		ContentSHA256: contentSHA(content), Description: description, IsStable: stable, CreatedAt: now,
	}
	resp := publishResponse{Version: *v}
	if withPolicy {
		for i := range rules {
			if rules[i].VersionID == newVersionRef {
				rules[i].VersionID = v.VersionID
			}
		}
		sortRules(rules)
		c.Policy = Policy{Rules: rules, ETag: newETag()}
		pol := c.Policy.clone()
		resp.Policy = &pol
	}
	all := append(append([]*Version(nil), s.versions[c.ID]...), v)
	b := &batch{putConfig: c, putVersions: []*Version{v}, delVersions: s.pruneLocked(c, all, c.Policy)}

	data, _ := json.Marshal(resp)
	data = append(data, '\n')
	headers := map[string]string{
		"Content-Type": "application/json",
		"Location":     apiPrefix + "/configs/" + c.ID + "/versions/" + v.VersionID,
		"ETag":         `"` + v.ContentSHA256 + `"`,
	}
	if withPolicy {
		headers["Policy-ETag"] = c.Policy.ETag
	}
	b.putIdem = []*idemRec{{ConfigID: c.ID, Key: key, Fingerprint: fingerprint, Status: http.StatusCreated,
		Headers: headers, Body: data, CreatedAt: now}}
	if err := s.commitLocked(b); err != nil {
		return storageProblem(err)
	}
	for k, val := range headers {
		w.Header().Set(k, val)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(data)
	return nil
}

// pruneLocked returns the versions (of all, sorted oldest first) that the
// config's retention policy removes. Never removed: the latest version, the
// latest stable version and any version pol points at. Caller holds s.mu.
func (s *Server) pruneLocked(c *configRec, all []*Version, pol Policy) []*Version {
	rp := c.RetentionPolicy
	if rp == nil || len(rp.Rules) == 0 || len(all) == 0 {
		return nil
	}
	now := s.clock()
	latestStable := ""
	for _, v := range all {
		if v.IsStable {
			latestStable = v.VersionID
		}
	}
	var out []*Version
	for i, v := range all {
		rank := len(all) - 1 - i // 0 = newest
		if rank == 0 || v.VersionID == latestStable || pol.references(v.VersionID) {
			continue
		}
		any, every := false, true
		for _, rule := range rp.Rules {
			var remove bool
			switch rule.Type {
			case "count":
				remove = rank >= rule.Keep
			case "days":
				remove = now.Sub(v.CreatedAt) >= time.Duration(rule.Keep)*24*time.Hour
			}
			any = any || remove
			every = every && remove
		}
		if (rp.Strategy == "AND" && every) || (rp.Strategy == "OR" && any) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) *problem {
	size, tok, p := page(r)
	if p != nil {
		return p
	}
	before := 0
	if tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "v:"))
		if !strings.HasPrefix(tok, "v:") || err != nil || n < 1 {
			return badParameter("page_token", "is not a token this server issued")
		}
		before = n
	}
	stableOnly := false
	if v := r.URL.Query().Get("stable"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badParameter("stable", "must be true or false")
		}
		stableOnly = b
	}
	s.mu.Lock()
	c := s.configs[r.PathValue("id")]
	var vs []*Version
	if c != nil {
		vs = append(vs, s.versions[c.ID]...)
	}
	s.mu.Unlock()
	if c == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	out := listResponse[Version]{Items: []Version{}}
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		v := vs[i]
		if (before > 0 && v.Number >= before) || (stableOnly && !v.IsStable) {
			continue
		}
		if len(out.Items) == size {
			out.NextPageToken = encodeToken("v:" + strconv.Itoa(out.Items[size-1].Number))
			break
		}
		out.Items = append(out.Items, *v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) *problem {
	s.mu.Lock()
	var found *Version
	c := s.configs[r.PathValue("id")]
	if c != nil {
		for _, v := range s.versions[c.ID] {
			if v.VersionID == r.PathValue("vid") {
				cp := *v
				found = &cp
			}
		}
	}
	s.mu.Unlock()
	if c == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	if found == nil {
		return notFound("Version " + r.PathValue("vid") + " of config " + c.ID)
	}
	w.Header().Set("ETag", `"`+found.ContentSHA256+`"`)
	writeJSON(w, http.StatusOK, found)
	return nil
}
