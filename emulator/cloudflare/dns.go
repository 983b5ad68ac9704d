package cloudflare

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// dnsRecord is a stored record. Names are FQDN, lower-case. The tags name
// its fields in the state file.
type dnsRecord struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Content  string   `json:"content"`
	TTL      int      `json:"ttl"`
	Proxied  bool     `json:"proxied"`
	Priority *int     `json:"priority,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Data holds the fields of a structured type (see recordData), every
	// one present; nil for other types.
	Data     map[string]any `json:"data,omitempty"`
	Created  time.Time      `json:"created_on"`
	Modified time.Time      `json:"modified_on"`
}

// dnsInput is a create/put/patch body. Pointers distinguish absent fields;
// raw tracks which keys were present so PATCH can tell null from absent.
// created_on, modified_on and settings (always sent by cloudflare-go) are
// ignored.
type dnsInput struct {
	ID       string    `json:"id"`
	Type     *string   `json:"type"`
	Name     *string   `json:"name"`
	Content  *string   `json:"content"`
	TTL      *int      `json:"ttl"`
	Proxied  *bool     `json:"proxied"`
	Priority *int      `json:"priority"`
	Comment  *string   `json:"comment"`
	Tags     *[]string `json:"tags"`
	// Data replaces the whole data object of a structured record.
	Data map[string]any `json:"data"`
}

func proxiable(t string) bool { return t == "A" || t == "AAAA" || t == "CNAME" }

// nonProxiablePrefixes are public ranges Cloudflare refuses to proxy to, on
// top of the private, loopback, link-local, multicast and unspecified ones
// netip classifies: shared (CGNAT) space and Cloudflare's own resolvers.
var nonProxiablePrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("1.1.1.1/32"),
	netip.MustParsePrefix("1.0.0.1/32"),
	netip.MustParsePrefix("2606:4700:4700::1111/128"),
	netip.MustParsePrefix("2606:4700:4700::1001/128"),
}

// proxiableTarget reports whether an A/AAAA content may be proxied. Content
// that is not an IP is left to other checks.
func proxiableTarget(content string) bool {
	ip, err := netip.ParseAddr(content)
	if err != nil {
		return true
	}
	ip = ip.Unmap()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	return !slices.ContainsFunc(nonProxiablePrefixes, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// recordProxiable is the "proxiable" field: the type must allow proxying
// and an A/AAAA target must be a proxiable address.
func recordProxiable(rec *dnsRecord) bool {
	if !proxiable(rec.Type) {
		return false
	}
	return rec.Type == "CNAME" || proxiableTarget(rec.Content)
}

func (z *zone) recordJSON(rec *dnsRecord) map[string]any {
	tags := rec.Tags
	if tags == nil {
		tags = []string{}
	}
	m := map[string]any{
		"id": rec.ID, "zone_id": z.id, "zone_name": z.name, "name": rec.Name, "type": rec.Type,
		"content": rec.Content, "proxiable": recordProxiable(rec), "proxied": rec.Proxied, "ttl": rec.TTL,
		"settings": map[string]any{}, "meta": map[string]any{}, "tags": tags,
		"created_on": rec.Created, "modified_on": rec.Modified,
		"comment_modified_on": rec.Modified, "tags_modified_on": rec.Modified,
	}
	if rec.Comment != "" {
		m["comment"] = rec.Comment
	} else {
		m["comment"] = nil
	}
	if rec.Priority != nil {
		m["priority"] = *rec.Priority
	}
	if rec.Data != nil {
		m["data"] = rec.Data
	}
	return m
}

// fqdn makes a record name absolute within the zone: "@" is the apex and
// relative names get the zone appended.
func (z *zone) fqdn(n string) string {
	n = normalizeName(n)
	if n == "" {
		return "" // left empty so validation reports the missing name
	}
	if n == "@" {
		return z.name
	}
	if n == z.name || strings.HasSuffix(n, "."+z.name) {
		return n
	}
	return n + "." + z.name
}

// validateRecord applies the field rules and the same-name conflict rules
// against records (excluding rec itself).
// A structured type's content is built from its data first (see
// buildFromData).
func validateRecord(rec *dnsRecord, records []*dnsRecord) *apiError {
	if aerr := buildFromData(rec); aerr != nil {
		return aerr
	}
	if rec.Type == "" || rec.Name == "" || rec.Content == "" {
		return dnsValidation(9000, "DNS record requires type, name and content.")
	}
	if len(rec.Name) > 255 {
		return dnsValidation(9005, "DNS name is too long.")
	}
	for _, l := range strings.Split(rec.Name, ".") {
		if len(l) > 63 {
			return dnsValidation(9005, "DNS name label is longer than 63 characters.")
		}
	}
	if rec.TTL != 1 && (rec.TTL < 60 || rec.TTL > 86400) {
		return dnsValidation(9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic.")
	}
	if rec.Proxied && !proxiable(rec.Type) {
		return dnsValidation(9004, "This record type cannot be proxied.")
	}
	if rec.Proxied && rec.Type != "CNAME" && !proxiableTarget(rec.Content) {
		return dnsValidation(9003, "Target "+rec.Content+" is not allowed for a proxied record.")
	}
	if strings.ContainsAny(rec.Comment, "\r\n") {
		return dnsValidation(9100, "Comment must not contain line breaks.")
	}
	const link = " For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>."
	for _, o := range records {
		if o.ID == rec.ID || o.Name != rec.Name {
			continue
		}
		if proxiable(rec.Type) && o.Type == "NS" {
			return newAPIError(http.StatusBadRequest, 81056, "NS records with that host already exist.")
		}
		if o.Type == rec.Type && strings.EqualFold(o.Content, rec.Content) {
			return newAPIError(http.StatusBadRequest, 81058, "An identical record already exists.")
		}
		if rec.Type == "CNAME" && proxiable(o.Type) {
			return newAPIError(http.StatusBadRequest, 81053, "An A, AAAA, or CNAME record with that host already exists."+link)
		}
		if rec.Type != "CNAME" && o.Type == "CNAME" {
			return newAPIError(http.StatusBadRequest, 81054, "A CNAME record with that host already exists."+link)
		}
	}
	return nil
}

// newRecord builds a record from a create/put body (full overwrite
// semantics: absent fields take defaults).
func (z *zone) newRecord(in dnsInput, id string, created, now time.Time) *dnsRecord {
	rec := &dnsRecord{ID: id, TTL: 1, Created: created, Modified: now}
	z.applyInput(rec, in, false)
	return rec
}

// applyInput merges in into rec. For patches, tags:null keeps the existing
// tags (cloudflare-go always sends it) and an absent comment is kept.
func (z *zone) applyInput(rec *dnsRecord, in dnsInput, patch bool) {
	if in.Type != nil {
		rec.Type = strings.ToUpper(*in.Type)
	}
	if in.Name != nil {
		rec.Name = z.fqdn(*in.Name)
	}
	if in.Content != nil {
		rec.Content = *in.Content
	}
	if in.TTL != nil && (*in.TTL != 0 || !patch) {
		rec.TTL = *in.TTL
		if rec.TTL == 0 {
			rec.TTL = 1
		}
	}
	if in.Proxied != nil {
		rec.Proxied = *in.Proxied
	}
	if in.Priority != nil {
		p := *in.Priority
		rec.Priority = &p
	}
	if in.Comment != nil {
		rec.Comment = *in.Comment
	}
	if in.Tags != nil {
		rec.Tags = slices.Clone(*in.Tags)
	}
	if in.Data != nil {
		rec.Data = maps.Clone(in.Data)
	}
	// Proxied records are always "automatic" TTL.
	if rec.Proxied {
		rec.TTL = 1
	}
}

// patchInput decodes a PATCH object; "comment":null clears the comment.
func patchInput(raw json.RawMessage) (dnsInput, *apiError) {
	var in dnsInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, badBody(err)
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(raw, &keys)
	if c, ok := keys["comment"]; ok && string(c) == "null" {
		empty := ""
		in.Comment = &empty
	}
	return in, nil
}

func readRaw(r *http.Request) (json.RawMessage, *apiError) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, badBody(err)
	}
	return raw, nil
}

func recordNotFound() *apiError {
	return newAPIError(http.StatusNotFound, 81044, "Record does not exist.")
}

// recordLocked finds the zone and the index of the record named by the
// request's path. Caller holds s.mu.
func (s *Server) recordLocked(r *http.Request, scope TokenScope) (*zone, int, *apiError) {
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		return nil, 0, aerr
	}
	i := findRecord(z.records, r.PathValue("id"))
	if i < 0 {
		return nil, 0, recordNotFound()
	}
	return z, i, nil
}

func findRecord(records []*dnsRecord, id string) int {
	return slices.IndexFunc(records, func(r *dnsRecord) bool { return r.ID == id })
}

func (s *Server) listDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	q := r.URL.Query()
	s.mu.Lock()
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		s.mu.Unlock()
		return aerr
	}
	matchAny := q.Get("match") == "any"
	tagAny := q.Get("tag-match") == "any" || q.Get("tag_match") == "any"
	var out []*dnsRecord
	for _, rec := range z.records {
		var checks []bool
		if v := q.Get("name"); v != "" {
			checks = append(checks, rec.Name == normalizeName(v))
		}
		if v := q.Get("type"); v != "" {
			checks = append(checks, strings.EqualFold(rec.Type, v))
		}
		if v := q.Get("content"); v != "" {
			checks = append(checks, strings.EqualFold(rec.Content, v))
		}
		if v := q.Get("comment"); v != "" {
			checks = append(checks, strings.EqualFold(rec.Comment, v))
		}
		if v := q.Get("proxied"); v != "" {
			checks = append(checks, (v == "true") == rec.Proxied)
		}
		if tags := q["tag"]; len(tags) > 0 {
			checks = append(checks, tagsMatch(rec.Tags, tags, tagAny))
		}
		if combine(checks, matchAny) {
			out = append(out, rec)
		}
	}
	sortRecords(out, q.Get("order"), q.Get("direction") == "desc")
	start, end, info := pageWindow(r, len(out), 100, 5000000)
	res := make([]map[string]any, 0, end-start)
	for _, rec := range out[start:end] {
		res = append(res, z.recordJSON(rec))
	}
	s.mu.Unlock()
	writeResult(w, http.StatusOK, res, info)
	return nil
}

func combine(checks []bool, any bool) bool {
	if len(checks) == 0 {
		return true
	}
	if any {
		return slices.Contains(checks, true)
	}
	return !slices.Contains(checks, false)
}

// tagsMatch implements tag=k (present) and tag=k:v (exact); tag names are
// case-insensitive.
func tagsMatch(have, want []string, any bool) bool {
	var res []bool
	for _, wt := range want {
		wk, wv, hasV := strings.Cut(wt, ":")
		ok := slices.ContainsFunc(have, func(h string) bool {
			hk, hv, _ := strings.Cut(h, ":")
			return strings.EqualFold(hk, wk) && (!hasV || hv == wv)
		})
		res = append(res, ok)
	}
	return combine(res, any)
}

func sortRecords(recs []*dnsRecord, order string, desc bool) {
	var key func(a, b *dnsRecord) int
	switch order {
	case "type":
		key = func(a, b *dnsRecord) int { return strings.Compare(a.Type, b.Type) }
	case "name":
		key = func(a, b *dnsRecord) int { return strings.Compare(a.Name, b.Name) }
	case "content":
		key = func(a, b *dnsRecord) int { return strings.Compare(a.Content, b.Content) }
	case "ttl":
		key = func(a, b *dnsRecord) int { return a.TTL - b.TTL }
	case "proxied":
		key = func(a, b *dnsRecord) int {
			if a.Proxied == b.Proxied {
				return 0
			}
			if a.Proxied {
				return 1
			}
			return -1
		}
	default:
		return
	}
	sort.SliceStable(recs, func(i, j int) bool {
		c := key(recs[i], recs[j])
		if desc {
			return c > 0
		}
		return c < 0
	})
}

func (s *Server) getDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, i, aerr := s.recordLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, z.recordJSON(z.records[i]), nil)
	return nil
}

func (s *Server) createDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var in dnsInput
	if aerr := decodeBody(r, &in); aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	rec := z.newRecord(in, newHexID(), now, now)
	if aerr := validateRecord(rec, z.records); aerr != nil {
		return aerr
	}
	z.records = append(z.records, rec)
	writeResult(w, http.StatusOK, z.recordJSON(rec), nil)
	return nil
}

func (s *Server) patchDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	raw, aerr := readRaw(r)
	if aerr != nil {
		return aerr
	}
	in, aerr := patchInput(raw)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, i, aerr := s.recordLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	updated := *z.records[i]
	z.applyInput(&updated, in, true)
	updated.Modified = s.now()
	if aerr := validateRecord(&updated, z.records); aerr != nil {
		return aerr
	}
	z.records[i] = &updated
	writeResult(w, http.StatusOK, z.recordJSON(&updated), nil)
	return nil
}

// putDNS is the full overwrite: absent fields return to their defaults
// (cloudflare-go v0 never sends it, but newer clients do).
func (s *Server) putDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var in dnsInput
	if aerr := decodeBody(r, &in); aerr != nil {
		return aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, i, aerr := s.recordLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	rec := z.newRecord(in, z.records[i].ID, z.records[i].Created, s.now())
	if aerr := validateRecord(rec, z.records); aerr != nil {
		return aerr
	}
	z.records[i] = rec
	writeResult(w, http.StatusOK, z.recordJSON(rec), nil)
	return nil
}

func (s *Server) deleteDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	id := r.PathValue("id")
	i := findRecord(z.records, id)
	if i < 0 {
		return recordNotFound()
	}
	z.records = slices.Delete(z.records, i, i+1)
	writeResult(w, http.StatusOK, map[string]string{"id": id}, nil)
	return nil
}

// maxBatchChanges is the Free-plan batch size limit.
const maxBatchChanges = 200

type batchBody struct {
	Deletes []struct {
		ID string `json:"id"`
	} `json:"deletes"`
	Patches []json.RawMessage `json:"patches"`
	Puts    []json.RawMessage `json:"puts"`
	Posts   []json.RawMessage `json:"posts"`
}

// batchDNS applies deletes, patches, puts then posts to a working copy and
// commits only if every change succeeds, like the API's single transaction.
func (s *Server) batchDNS(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var body batchBody
	if aerr := decodeBody(r, &body); aerr != nil {
		return aerr
	}
	if n := len(body.Deletes) + len(body.Patches) + len(body.Puts) + len(body.Posts); n > maxBatchChanges {
		return newAPIError(http.StatusBadRequest, 1004, "Batch exceeds the maximum of 200 changes per request.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	work := make([]*dnsRecord, len(z.records))
	for i, rec := range z.records {
		c := *rec
		work[i] = &c
	}
	res := map[string][]map[string]any{"deletes": {}, "patches": {}, "puts": {}, "posts": {}}
	for _, d := range body.Deletes {
		i := findRecord(work, d.ID)
		if i < 0 {
			return recordNotFound()
		}
		res["deletes"] = append(res["deletes"], z.recordJSON(work[i]))
		work = slices.Delete(work, i, i+1)
	}
	for _, p := range body.Patches {
		in, aerr := patchInput(p)
		if aerr != nil {
			return aerr
		}
		i := findRecord(work, in.ID)
		if i < 0 {
			return recordNotFound()
		}
		z.applyInput(work[i], in, true)
		work[i].Modified = now
		if aerr := validateRecord(work[i], work); aerr != nil {
			return aerr
		}
		res["patches"] = append(res["patches"], z.recordJSON(work[i]))
	}
	for _, p := range body.Puts {
		var in dnsInput
		if err := json.Unmarshal(p, &in); err != nil {
			return badBody(err)
		}
		i := findRecord(work, in.ID)
		if i < 0 {
			return recordNotFound()
		}
		rec := z.newRecord(in, in.ID, work[i].Created, now)
		if aerr := validateRecord(rec, work); aerr != nil {
			return aerr
		}
		work[i] = rec
		res["puts"] = append(res["puts"], z.recordJSON(rec))
	}
	for _, p := range body.Posts {
		var in dnsInput
		if err := json.Unmarshal(p, &in); err != nil {
			return badBody(err)
		}
		rec := z.newRecord(in, newHexID(), now, now)
		if aerr := validateRecord(rec, work); aerr != nil {
			return aerr
		}
		work = append(work, rec)
		res["posts"] = append(res["posts"], z.recordJSON(rec))
	}
	z.records = work
	writeResult(w, http.StatusOK, res, nil)
	return nil
}
