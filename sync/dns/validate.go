package dns

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// ValidateZoneName checks a target name: a zone name, lower-case, without a
// trailing dot, of at least two labels.
func ValidateZoneName(zone string) *api.FieldError {
	fe := func(reason string) *api.FieldError { return &api.FieldError{Field: "target.name", Reason: reason} }
	switch {
	case zone == "":
		return fe("is required: the zone name, e.g. example.com")
	case strings.HasSuffix(zone, "."):
		return fe(fmt.Sprintf("must not end with a dot: write %q", strings.TrimSuffix(zone, ".")))
	case zone != strings.ToLower(zone):
		return fe(fmt.Sprintf("must be lower-case: write %q", strings.ToLower(zone)))
	case !strings.Contains(zone, "."):
		return fe(fmt.Sprintf("%q is not a zone name (want e.g. example.com)", zone))
	}
	if reason := checkHostname(zone, false, false); reason != "" {
		return fe(reason)
	}
	return nil
}

// normalize validates a decoded spec for zone and rewrites it into the
// canonical form Desired uses. Errors name the field by JSON path.
func normalize(s *Spec, zone string) *api.FieldError {
	if s.AccountID != "" && !isAccountID(s.AccountID) {
		return &api.FieldError{Field: "spec.accountId", Reason: "must be a Cloudflare account id (letters, digits, '-' and '_', at most 64)"}
	}
	if fe := cfapi.ValidateCredentials(s.Credentials); fe != nil {
		return fe
	}
	if len(s.Records) > MaxRecords {
		return &api.FieldError{Field: "spec.records", Reason: fmt.Sprintf("has %d records; at most %d are allowed in one fragment", len(s.Records), MaxRecords)}
	}
	for i := range s.Records {
		if fe := normalizeRecord(&s.Records[i], zone, "spec.records["+strconv.Itoa(i)+"]"); fe != nil {
			return fe
		}
	}
	return checkFragmentRecords(s.Records)
}

// checkFragmentRecords refuses what one fragment cannot mean: two equal
// records, and a CNAME sharing its name with any other record.
func checkFragmentRecords(recs []Record) *api.FieldError {
	seen := make(map[string]int, len(recs))
	byName := make(map[string]int, len(recs))
	for i := range recs {
		r := &recs[i]
		path := "spec.records[" + strconv.Itoa(i) + "]"
		id := keyOf(r).String() + " " + recordValue(r)
		if j, dup := seen[id]; dup {
			return &api.FieldError{Field: path, Reason: fmt.Sprintf("repeats spec.records[%d] (%s %s)", j, r.Name, r.Type)}
		}
		seen[id] = i
		if j, ok := byName[r.Name]; ok && (r.Type == "CNAME" || recs[j].Type == "CNAME") {
			return &api.FieldError{Field: path + ".name", Reason: fmt.Sprintf(
				"%s has a %s here and a %s at spec.records[%d]: a CNAME must be the only record on its name", r.Name, r.Type, recs[j].Type, j)}
		}
		byName[r.Name] = i
	}
	return nil
}

func normalizeRecord(r *Record, zone, path string) *api.FieldError {
	fe := func(field, reason string) *api.FieldError {
		return &api.FieldError{Field: path + field, Reason: reason}
	}

	name := strings.ToLower(r.Name)
	switch {
	case name == "":
		return fe(".name", "is required: the full name, e.g. app."+zone)
	case name == "@":
		return fe(".name", fmt.Sprintf("\"@\" is not accepted: write the zone name %q", zone))
	case strings.HasSuffix(name, "."):
		return fe(".name", fmt.Sprintf("must not end with a dot: write %q", strings.TrimSuffix(name, ".")))
	case name != zone && !strings.HasSuffix(name, "."+zone):
		if !strings.Contains(name, ".") {
			return fe(".name", fmt.Sprintf("relative names are not accepted: write the full name %q", name+"."+zone))
		}
		return fe(".name", fmt.Sprintf("%q is not inside the zone %s", name, zone))
	}
	if reason := checkHostname(name, true, true); reason != "" {
		return fe(".name", reason)
	}
	r.Name = name

	typ := strings.ToUpper(r.Type)
	switch {
	case typ == "":
		return fe(".type", "is required: one of "+typesList())
	case !slices.Contains(contentTypes, typ) && !isDataType(typ):
		return fe(".type", fmt.Sprintf("%q is not a record type Cloudflare serves: use one of %s", r.Type, typesList()))
	}
	r.Type = typ

	if isDataType(typ) {
		switch {
		case r.Content != "":
			return fe(".content", fmt.Sprintf("is not allowed on %s records: give data, from which Cloudflare builds the content", typ))
		case r.Tunnel != "":
			return fe(".tunnel", "is only allowed on CNAME records")
		}
		if fe := normalizeData(r, path); fe != nil {
			return fe
		}
	} else {
		if r.Data != nil {
			return fe(".data", fmt.Sprintf("is not allowed on %s records, whose value is content (data is for %s)", typ, dataTypesList()))
		}
		if fe := normalizeContent(r, path); fe != nil {
			return fe
		}
	}

	// MX and URI carry their priority beside the value; SRV, HTTPS and
	// SVCB in data.
	topPriority := typ == "MX" || typ == "URI"
	switch {
	case topPriority && r.Priority == nil:
		return fe(".priority", fmt.Sprintf("is required for %s records (0..65535)", typ))
	case !topPriority && r.Priority != nil:
		if _, inData := r.Data["priority"]; inData || typ == "SRV" || typ == "HTTPS" || typ == "SVCB" {
			return fe(".priority", fmt.Sprintf("is not allowed on %s records: give data.priority", typ))
		}
		return fe(".priority", "is only allowed on MX and URI records")
	case r.Priority != nil && (*r.Priority < 0 || *r.Priority > 65535):
		return fe(".priority", fmt.Sprintf("%d is out of range 0..65535", *r.Priority))
	}

	if r.Proxied && r.Type != "A" && r.Type != "AAAA" && r.Type != "CNAME" {
		return fe(".proxied", "only A, AAAA and CNAME records can be proxied")
	}
	switch {
	case r.TTL == 0:
		r.TTL = 1
	case r.TTL != 1 && (r.TTL < 60 || r.TTL > 86400):
		return fe(".ttl", fmt.Sprintf("%d is not allowed: use 1 (automatic) or 60..86400 seconds", r.TTL))
	}
	if r.Proxied {
		r.TTL = 1 // the API stores proxied records with automatic TTL
	}

	if n := utf8.RuneCountInString(r.Comment); n > MaxCommentLen {
		return fe(".comment", fmt.Sprintf("is %d characters; at most %d fit next to the ownership marker", n, MaxCommentLen))
	}
	if strings.ContainsFunc(r.Comment, unicode.IsControl) || !utf8.ValidString(r.Comment) {
		return fe(".comment", "must be valid UTF-8 without line breaks or control characters")
	}
	if fe := normalizeTakeOver(r, path); fe != nil {
		return fe
	}
	return normalizeTags(r, path)
}

// normalizeTakeOver checks the takeover evidence of r (type and content
// already normalized), sorts and de-duplicates its record ids, and drops
// evidence that proves nothing.
func normalizeTakeOver(r *Record, path string) *api.FieldError {
	t := r.TakeOver
	if t == nil {
		return nil
	}
	path += ".takeOver"
	if len(t.RecordIDs) > MaxTakeOverIDs {
		return &api.FieldError{Field: path + ".recordIds", Reason: fmt.Sprintf("has %d ids; at most %d are allowed", len(t.RecordIDs), MaxTakeOverIDs)}
	}
	for i, id := range t.RecordIDs {
		if id == "" || !isAccountID(id) {
			return &api.FieldError{Field: path + ".recordIds[" + strconv.Itoa(i) + "]",
				Reason: fmt.Sprintf("%q is not a DNS record id (letters, digits, '-' and '_', at most 64)", id)}
		}
	}
	switch t.Registry {
	case "":
	case api.DNSRegistryCfargotunnel, api.DNSRegistrySTRRL:
		if r.Type != "CNAME" || r.Tunnel == "" {
			return &api.FieldError{Field: path + ".registry", Reason: fmt.Sprintf("%s proves only tunnel CNAMEs: the record needs type CNAME and tunnel", t.Registry)}
		}
	default:
		return &api.FieldError{Field: path + ".registry", Reason: fmt.Sprintf("%q is not a known registry: use %q or %q", t.Registry, api.DNSRegistryCfargotunnel, api.DNSRegistrySTRRL)}
	}
	ids := slices.Compact(slices.Sorted(slices.Values(t.RecordIDs)))
	if len(ids) == 0 && t.Registry == "" {
		r.TakeOver = nil // no evidence: the same as none
		return nil
	}
	r.TakeOver = &api.DNSTakeOver{RecordIDs: ids, Registry: t.Registry}
	return nil
}

// normalizeContent checks content or tunnel and writes content in the form
// the API stores, so a read-back compares equal.
func normalizeContent(r *Record, path string) *api.FieldError {
	fe := func(field, reason string) *api.FieldError {
		return &api.FieldError{Field: path + field, Reason: reason}
	}
	switch {
	case r.Content != "" && r.Tunnel != "":
		return fe(".tunnel", "give either content or tunnel, not both")
	case r.Tunnel != "":
		if r.Type != "CNAME" {
			return fe(".tunnel", "is only allowed on CNAME records")
		}
		if ref := (api.TargetRef{Kind: "tunnel", Name: r.Tunnel}); ref.Validate("x") != nil {
			return fe(".tunnel", "must be a cloudflare.Tunnel target name, e.g. ClusterTunnel/edge")
		}
		return nil
	case r.Content == "":
		return fe(".content", "is required (or tunnel, for a CNAME)")
	}
	switch r.Type {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(r.Content)
		if err != nil || ip.Zone() != "" || (r.Type == "A") != ip.Is4() {
			version := map[string]string{"A": "IPv4", "AAAA": "IPv6"}[r.Type]
			return fe(".content", fmt.Sprintf("%q is not an %s address", r.Content, version))
		}
		r.Content = ip.String()
	case "CNAME", "MX", "NS", "PTR":
		host := strings.TrimSuffix(strings.ToLower(r.Content), ".")
		if reason := checkHostname(host, false, true); reason != "" {
			return fe(".content", "must be a host name: "+reason)
		}
		r.Content = host
	case "OPENPGPKEY":
		if _, err := base64.StdEncoding.DecodeString(r.Content); err != nil {
			return fe(".content", "must be the public key in standard base64 (no spaces or line breaks)")
		}
	case "TXT":
		if len(r.Content) > MaxTXTLen {
			return fe(".content", fmt.Sprintf("is %d bytes; TXT content is at most %d", len(r.Content), MaxTXTLen))
		}
		if !utf8.ValidString(r.Content) || strings.ContainsFunc(r.Content, unicode.IsControl) {
			return fe(".content", "must be valid UTF-8 without control characters")
		}
	}
	return nil
}

// normalizeTags checks name:value tags, lower-cases the (case-insensitive)
// names and sorts them.
func normalizeTags(r *Record, path string) *api.FieldError {
	if len(r.Tags) > MaxTags {
		return &api.FieldError{Field: path + ".tags", Reason: fmt.Sprintf("has %d tags; at most %d are allowed", len(r.Tags), MaxTags)}
	}
	if len(r.Tags) == 0 {
		r.Tags = nil
		return nil
	}
	tags := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		field := path + ".tags[" + strconv.Itoa(i) + "]"
		name, value, ok := strings.Cut(t, ":")
		if !ok || name == "" || strings.IndexFunc(name, notTagNameRune) >= 0 {
			return &api.FieldError{Field: field, Reason: fmt.Sprintf("%q must be name:value with a name of letters, digits, '_' and '-'", t)}
		}
		if !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
			return &api.FieldError{Field: field, Reason: "value must be valid UTF-8 without control characters"}
		}
		tags[i] = strings.ToLower(name) + ":" + value
		if j := slices.Index(tags[:i], tags[i]); j >= 0 {
			return &api.FieldError{Field: field, Reason: fmt.Sprintf("repeats tags[%d]", j)}
		}
	}
	slices.Sort(tags)
	r.Tags = tags
	return nil
}

func notTagNameRune(c rune) bool {
	return !(c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
}

// checkHostname returns why name (lower-case) is not a host name, or "".
// Labels are letters, digits and '-' (not at either end); '_' is allowed
// where record names need it (_dmarc, _acme-challenge); a leading "*." when
// wildcard.
func checkHostname(name string, wildcard, underscore bool) string {
	if len(name) > 255 {
		return fmt.Sprintf("is %d characters; at most 255", len(name))
	}
	rest := name
	if wildcard {
		rest = strings.TrimPrefix(name, "*.")
	}
	for l := range strings.SplitSeq(rest, ".") {
		switch {
		case l == "":
			return fmt.Sprintf("%q has an empty label", name)
		case len(l) > 63:
			return fmt.Sprintf("label %q is longer than 63 characters", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("label %q must not start or end with '-'", l)
		}
		for _, c := range l {
			ok := c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (underscore && c == '_')
			if !ok {
				if c == '*' {
					return fmt.Sprintf("%q: a wildcard is only allowed as the whole first label (\"*.\")", name)
				}
				if underscore {
					return fmt.Sprintf("label %q may only hold letters, digits, '-' and '_'", l)
				}
				return fmt.Sprintf("label %q may only hold letters, digits and '-'", l)
			}
		}
	}
	return ""
}

func isAccountID(s string) bool {
	return len(s) <= 64 && strings.IndexFunc(s, notTagNameRune) < 0
}
