package cloudflare

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// zone is a seeded zone and its DNS records (creation order).
type zone struct {
	id      string
	name    string
	account string
	created time.Time
	records []*dnsRecord
}

func (z *zone) json() map[string]any {
	return map[string]any{
		"id": z.id, "name": z.name, "status": "active", "paused": false, "type": "full",
		"development_mode": 0, "name_servers": []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"},
		"original_name_servers": []string{}, "original_registrar": nil, "original_dnshost": nil,
		"vanity_name_servers": []string{}, "cname_suffix": "cdn.cloudflare.net",
		"account":     map[string]any{"id": z.account, "name": z.account},
		"owner":       map[string]any{"id": nil, "name": nil, "type": "user", "email": nil},
		"tenant":      map[string]any{"id": nil, "name": nil},
		"tenant_unit": map[string]any{"id": nil},
		"plan": map[string]any{"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website",
			"price": 0, "currency": "USD", "frequency": "", "is_subscribed": true, "can_subscribe": false,
			"legacy_id": "free", "legacy_discount": false, "externally_managed": false},
		"permissions": []string{},
		"meta": map[string]any{"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3,
			"phishing_detected": false, "cdn_only": false, "dns_only": false, "foundation_dns": false},
		"created_on": z.created, "modified_on": z.created, "activated_on": z.created,
	}
}

// listZones supports the filters cloudflare-go sends: name (exact,
// case-insensitive), account.id and status. Zones outside the token's scope
// are invisible rather than forbidden, like the real API.
func (s *Server) listZones(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	q := r.URL.Query()
	name := normalizeName(q.Get("name"))
	acct := q.Get("account.id")
	status := q.Get("status")
	s.mu.Lock()
	var zs []*zone
	for _, z := range s.zones {
		if !scope.zoneAllowed(z.id, z.account) {
			continue
		}
		if (name != "" && z.name != name) || (acct != "" && z.account != acct) || (status != "" && status != "active") {
			continue
		}
		zs = append(zs, z)
	}
	s.mu.Unlock()
	sort.Slice(zs, func(i, j int) bool {
		if zs[i].name != zs[j].name {
			return zs[i].name < zs[j].name
		}
		return zs[i].id < zs[j].id
	})
	start, end, info := pageWindow(r, len(zs), 20, 50)
	out := make([]map[string]any, 0, end-start)
	for _, z := range zs[start:end] {
		out = append(out, z.json())
	}
	writeResult(w, http.StatusOK, out, info)
	return nil
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, aerr := s.zoneLocked(r, scope)
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, z.json(), nil)
	return nil
}

// zoneLocked resolves {zone}; an unknown id is answered like an unknown
// route (7003/7000), as the real API does. Caller holds s.mu.
func (s *Server) zoneLocked(r *http.Request, scope TokenScope) (*zone, *apiError) {
	id := r.PathValue("zone")
	z := s.zones[id]
	if z == nil {
		// A malformed identifier is a 400; a well-formed but unknown one 404.
		status := http.StatusNotFound
		if !isHexID(id) {
			status = http.StatusBadRequest
		}
		return nil, &apiError{Status: status, Errors: []apiMessage{
			{Code: 7003, Message: "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"},
			{Code: 7000, Message: "No route for that URI"},
		}}
	}
	if !scope.zoneAllowed(z.id, z.account) {
		return nil, forbidden()
	}
	return z, nil
}

// normalizeName lower-cases a DNS name and strips a trailing dot.
func normalizeName(n string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
}

func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}
