package cloudflare

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// gatewayList is an account's Zero Trust Gateway list: a typed set of
// values that rule expressions refer to as $<id without dashes>.
type gatewayList struct {
	id, name, description, typ string
	items                      []gatewayListItem // insertion order
	created, updated           time.Time
}

type gatewayListItem struct {
	Value       string    `json:"value"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created_at"`
}

// gatewayListTypes are the list types the API takes.
var gatewayListTypes = []string{"SERIAL", "URL", "DOMAIN", "EMAIL", "IP"}

// gatewayRuleActions says which actions each rule filter takes (a rule
// has one filter).
var gatewayRuleActions = map[string][]string{
	"dns":          {"allow", "block", "override", "safesearch", "ytrestricted"},
	"http":         {"allow", "block", "on", "off", "scan", "noscan", "isolate", "noisolate"},
	"l4":           {"allow", "block", "audit_ssh", "l4_override"},
	"egress":       {"egress"},
	"dns_resolver": {"resolve"},
}

// gatewayRule is an account's Gateway rule. rule_settings and schedule
// are kept as the client sent them, so every setting round-trips.
type gatewayRule struct {
	id, name, description            string
	precedence, version              uint64
	enabled                          bool
	action                           string
	filters                          []string
	traffic, identity, devicePosture string
	settings, schedule               map[string]any
	created, updated                 time.Time
}

// The Gateway API answers every refusal with code 2001 and a message
// naming the field (2002: deleting a list a rule uses), and an unknown id
// with 404 code 2007.
func gatewayInvalid(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, 2001, fmt.Sprintf(format, args...))
}

func gatewayNotFound(what string) *apiError {
	return newAPIError(http.StatusNotFound, 2007, what+" not found")
}

func (l *gatewayList) json(withItems bool) map[string]any {
	m := map[string]any{"id": l.id, "name": l.name, "description": l.description, "type": l.typ,
		"count": len(l.items), "created_at": l.created, "updated_at": l.updated}
	if withItems {
		m["items"] = l.itemsJSON()
	}
	return m
}

func (l *gatewayList) itemsJSON() []gatewayListItem {
	return append([]gatewayListItem{}, l.items...)
}

// checkListItem returns why value is not an item of a list of type typ.
func checkListItem(typ, value string) string {
	if value == "" || strings.TrimSpace(value) != value || strings.ContainsAny(value, " \t\r\n") {
		return "must be a non-empty value without spaces"
	}
	switch typ {
	case "IP":
		if _, err := netip.ParsePrefix(value); err == nil {
			return ""
		}
		if _, err := netip.ParseAddr(value); err != nil {
			return "is not an IP address or CIDR range"
		}
	case "EMAIL":
		if a, err := mail.ParseAddress(value); err != nil || a.Address != value {
			return "is not an email address"
		}
	case "DOMAIN":
		if !isHostname(value) {
			return "is not a domain name"
		}
	case "URL":
		u, err := url.Parse(value)
		if err != nil || (u.Scheme == "" && !isHostname(strings.SplitN(value, "/", 2)[0])) || (u.Scheme != "" && u.Host == "") {
			return "is not a URL"
		}
	}
	return ""
}

var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$`)

func isHostname(s string) bool { return len(s) <= 253 && hostnameRE.MatchString(s) }

// checkListItems validates items for typ: values valid and unique.
func checkListItems(typ string, items []gatewayListItem) *apiError {
	seen := map[string]bool{}
	for i, it := range items {
		if why := checkListItem(typ, it.Value); why != "" {
			return gatewayInvalid("items[%d].value %q %s for a list of type %s", i, it.Value, why, typ)
		}
		if seen[it.Value] {
			return gatewayInvalid("items[%d].value %q is in the list twice", i, it.Value)
		}
		seen[it.Value] = true
	}
	return nil
}

type gatewayListBody struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Type        string            `json:"type"`
	Items       []gatewayListItem `json:"items"`
}

// decodeGatewayListBody reads a create or PUT body, which must name the
// list.
func decodeGatewayListBody(r *http.Request) (gatewayListBody, *apiError) {
	var body gatewayListBody
	if aerr := decodeBody(r, &body); aerr != nil {
		return body, aerr
	}
	if strings.TrimSpace(body.Name) == "" {
		return body, gatewayInvalid("name is required")
	}
	return body, nil
}

// stampItems returns items as stored: value and description, added now
// (nil for none).
func stampItems(items []gatewayListItem, now time.Time) []gatewayListItem {
	var out []gatewayListItem
	for _, it := range items {
		out = append(out, gatewayListItem{Value: it.Value, Description: it.Description, Created: now})
	}
	return out
}

// gatewayLists are the account's Gateway lists, answered without their
// items.
var gatewayLists = collection[*gatewayList]{
	of:       func(a *account) *[]*gatewayList { return &a.lists },
	id:       func(l *gatewayList) string { return l.id },
	notFound: func(id string) *apiError { return gatewayNotFound("list " + id) },
	answer:   func(_ *account, l *gatewayList) any { return l.json(false) },
	page:     onePage,
}

// createGatewayList answers the list with its items.
func (s *Server) createGatewayList(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	body, aerr := decodeGatewayListBody(r)
	if aerr != nil {
		return aerr
	}
	if !slices.Contains(gatewayListTypes, body.Type) {
		return gatewayInvalid("type %q is not one of %s", body.Type, strings.Join(gatewayListTypes, ", "))
	}
	if aerr := checkListItems(body.Type, body.Items); aerr != nil {
		return aerr
	}
	l := &gatewayList{name: body.Name, description: body.Description, typ: body.Type}
	return gatewayLists.add(s, w, r, scope, http.StatusOK, l, func(_ *account, l *gatewayList) *apiError {
		now := s.now()
		l.id, l.created, l.updated, l.items = newUUID(), now, now, stampItems(body.Items, now)
		return nil
	}, func(l *gatewayList) any { return l.json(true) })
}

// getGatewayList answers the list without its items (count says how
// many), as the API does: items are read from .../items.
func (s *Server) getGatewayList(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return gatewayLists.get(s, w, r, scope)
}

func (s *Server) listGatewayListItems(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := gatewayLists.find(s, r, scope)
	if aerr != nil {
		return aerr
	}
	l := a.lists[i]
	start, end, info := pageWindow(r, len(l.items), 50, 1000)
	writeResult(w, http.StatusOK, l.items[start:end], info)
	return nil
}

// listGatewayLists answers every list, without items, in one page.
func (s *Server) listGatewayLists(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return gatewayLists.list(s, w, r, scope, nil)
}

// updateGatewayList is the PUT: name and description are replaced; the
// items only when the body has them. The type cannot change.
func (s *Server) updateGatewayList(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	body, aerr := decodeGatewayListBody(r)
	if aerr != nil {
		return aerr
	}
	return gatewayLists.update(s, w, r, scope, func(_ *account, l *gatewayList) (any, *apiError) {
		if body.Type != "" && body.Type != l.typ {
			return nil, gatewayInvalid("type cannot be changed from %s to %s", l.typ, body.Type)
		}
		now := s.now()
		if body.Items != nil {
			if aerr := checkListItems(l.typ, body.Items); aerr != nil {
				return nil, aerr
			}
			l.items = stampItems(body.Items, now)
		}
		l.name, l.description, l.updated = body.Name, body.Description, now
		return l.json(false), nil
	})
}

// patchGatewayList removes, then appends: a value appended that is still
// in the list is refused, as are invalid values.
func (s *Server) patchGatewayList(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	var body struct {
		Append []gatewayListItem `json:"append"`
		Remove []string          `json:"remove"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return aerr
	}
	return gatewayLists.update(s, w, r, scope, func(_ *account, l *gatewayList) (any, *apiError) {
		kept := slices.DeleteFunc(slices.Clone(l.items), func(it gatewayListItem) bool { return slices.Contains(body.Remove, it.Value) })
		if aerr := checkListItems(l.typ, body.Append); aerr != nil {
			return nil, aerr
		}
		now := s.now()
		for i, it := range body.Append {
			if slices.ContainsFunc(kept, func(k gatewayListItem) bool { return k.Value == it.Value }) {
				return nil, gatewayInvalid("append[%d].value %q is already in the list", i, it.Value)
			}
			kept = append(kept, gatewayListItem{Value: it.Value, Description: it.Description, Created: now})
		}
		l.items, l.updated = kept, now
		return l.json(false), nil
	})
}

// deleteGatewayList refuses a list a rule's expression still refers to.
func (s *Server) deleteGatewayList(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return gatewayLists.remove(s, w, r, scope, http.StatusOK, func(a *account, l *gatewayList) *apiError {
		ref := "$" + strings.ReplaceAll(l.id, "-", "")
		for _, rule := range a.rules {
			if strings.Contains(rule.traffic+" "+rule.identity+" "+rule.devicePosture, ref) {
				return newAPIError(http.StatusBadRequest, 2002, fmt.Sprintf("list %s is in use by rule %s", l.id, rule.id))
			}
		}
		return nil
	}, nil)
}

// gatewayRuleSettings are the rule_settings keys the API answers for
// every rule, whatever its action; one the rule does not set is null.
var gatewayRuleSettings = []string{
	"add_headers", "allow_child_bypass", "audit_ssh", "biso_admin_controls", "block_page", "block_page_enabled",
	"block_reason", "bypass_parent_rule", "check_session", "dns_resolvers", "egress", "forensic_copy",
	"ignore_cname_category_matches", "insecure_disable_dnssec_validation", "ip_categories", "ip_indicator_feeds",
	"l4override", "notification_settings", "override_host", "override_ips", "payload_log", "quarantine", "redirect",
	"resolve_dns_internally", "resolve_dns_through_cloudflare", "untrusted_cert",
}

func (g *gatewayRule) json() map[string]any {
	settings := make(map[string]any, len(gatewayRuleSettings))
	for _, k := range gatewayRuleSettings {
		settings[k] = nil
	}
	for k, v := range g.settings {
		settings[k] = v
	}
	m := map[string]any{
		"id": g.id, "name": g.name, "description": g.description, "precedence": g.precedence,
		"enabled": g.enabled, "action": g.action, "filters": g.filters, "traffic": g.traffic,
		"identity": g.identity, "device_posture": g.devicePosture, "version": g.version,
		"rule_settings": settings, "created_at": g.created, "updated_at": g.updated,
		// Not modelled: rules never expire, are never shared from a
		// parent account, and carry no warnings.
		"deleted_at": nil, "expiration": nil, "schedule": nil, "read_only": false, "sharable": false,
		"source_account": nil, "warning_status": nil,
	}
	if g.schedule != nil {
		m["schedule"] = g.schedule
	}
	return m
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// listRefRE finds list references in an expression: $ and a list id
// without its dashes.
var listRefRE = regexp.MustCompile(`\$([0-9a-fA-F]{32})\b`)

// decodeGatewayRule reads and validates a create or update body against
// the account's lists (a's lock held by the caller).
func decodeGatewayRule(r *http.Request) (*gatewayRule, *apiError) {
	var body struct {
		Name          string         `json:"name"`
		Description   string         `json:"description"`
		Precedence    uint64         `json:"precedence"`
		Enabled       bool           `json:"enabled"`
		Action        string         `json:"action"`
		Filters       []string       `json:"filters"`
		Traffic       string         `json:"traffic"`
		Identity      string         `json:"identity"`
		DevicePosture string         `json:"device_posture"`
		RuleSettings  map[string]any `json:"rule_settings"`
		Schedule      map[string]any `json:"schedule"`
	}
	if aerr := decodeBody(r, &body); aerr != nil {
		return nil, aerr
	}
	if strings.TrimSpace(body.Name) == "" {
		return nil, gatewayInvalid("name is required")
	}
	if len(body.Filters) != 1 {
		return nil, gatewayInvalid("filters must hold exactly one of dns, http, l4, egress, dns_resolver")
	}
	actions, ok := gatewayRuleActions[body.Filters[0]]
	if !ok {
		return nil, gatewayInvalid("filters: unknown filter %q", body.Filters[0])
	}
	if !slices.Contains(actions, body.Action) {
		return nil, gatewayInvalid("action %q is not valid for a %s rule (valid: %s)", body.Action, body.Filters[0], strings.Join(actions, ", "))
	}
	if body.Schedule != nil && body.Filters[0] != "dns" {
		return nil, gatewayInvalid("schedule is only valid for dns rules")
	}
	return &gatewayRule{name: body.Name, description: body.Description, precedence: body.Precedence,
		enabled: body.Enabled, action: body.Action, filters: body.Filters, traffic: body.Traffic,
		identity: body.Identity, devicePosture: body.DevicePosture, settings: body.RuleSettings, schedule: body.Schedule}, nil
}

// checkRuleLists refuses an expression naming a list the account does
// not have.
func checkRuleLists(a *account, g *gatewayRule) *apiError {
	for _, e := range []struct{ field, expr string }{{"traffic", g.traffic}, {"identity", g.identity}, {"device_posture", g.devicePosture}} {
		for _, m := range listRefRE.FindAllStringSubmatch(e.expr, -1) {
			if !slices.ContainsFunc(a.lists, func(l *gatewayList) bool { return strings.EqualFold(strings.ReplaceAll(l.id, "-", ""), m[1]) }) {
				return gatewayInvalid("%s: unknown list $%s", e.field, m[1])
			}
		}
	}
	return nil
}

// gatewayRules are the account's Gateway rules.
var gatewayRules = collection[*gatewayRule]{
	of:       func(a *account) *[]*gatewayRule { return &a.rules },
	id:       func(g *gatewayRule) string { return g.id },
	notFound: func(id string) *apiError { return gatewayNotFound("rule " + id) },
	answer:   func(_ *account, g *gatewayRule) any { return g.json() },
	page:     onePage,
}

func (s *Server) createGatewayRule(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	g, aerr := decodeGatewayRule(r)
	if aerr != nil {
		return aerr
	}
	return gatewayRules.add(s, w, r, scope, http.StatusOK, g, func(a *account, g *gatewayRule) *apiError {
		if aerr := checkRuleLists(a, g); aerr != nil {
			return aerr
		}
		now := s.now()
		g.id, g.version, g.created, g.updated = newUUID(), 1, now, now
		return nil
	}, nil)
}

func (s *Server) getGatewayRule(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return gatewayRules.get(s, w, r, scope)
}

// updateGatewayRule is the PUT: the body replaces the rule; its version
// goes up by one.
func (s *Server) updateGatewayRule(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	next, aerr := decodeGatewayRule(r)
	if aerr != nil {
		return aerr
	}
	return gatewayRules.replace(s, w, r, scope, next, func(a *account, cur, next *gatewayRule) *apiError {
		if aerr := checkRuleLists(a, next); aerr != nil {
			return aerr
		}
		next.id, next.created, next.updated, next.version = cur.id, cur.created, s.now(), cur.version+1
		return nil
	})
}

func (s *Server) deleteGatewayRule(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return gatewayRules.remove(s, w, r, scope, http.StatusOK, nil, nil)
}

// listGatewayRules answers every rule in one page, by precedence (then
// creation), as the dashboard shows them; the collection's listing is in
// creation order, so this one sorts first.
func (s *Server) listGatewayRules(w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	sorted := slices.Clone(a.rules)
	slices.SortStableFunc(sorted, func(x, y *gatewayRule) int { return cmp.Compare(x.precedence, y.precedence) })
	writePage(w, r, sorted, gatewayRules.page, (*gatewayRule).json)
	return nil
}

// GatewayListInfo describes a Gateway list and its items.
type GatewayListInfo struct {
	ID, Name, Description, Type string
	Items                       []GatewayListItemInfo
}

// GatewayListItemInfo is one item of a Gateway list.
type GatewayListItemInfo struct{ Value, Description string }

// GatewayLists returns the account's Gateway lists in creation order.
func (s *Server) GatewayLists(accountID string) []GatewayListInfo {
	return snapshot(s, accountID, gatewayLists, func(_ *account, l *gatewayList) GatewayListInfo {
		li := GatewayListInfo{ID: l.id, Name: l.name, Description: l.description, Type: l.typ}
		for _, it := range l.items {
			li.Items = append(li.Items, GatewayListItemInfo{Value: it.Value, Description: it.Description})
		}
		return li
	})
}

// GatewayRuleInfo describes a Gateway rule; RuleSettings is its
// rule_settings as JSON.
type GatewayRuleInfo struct {
	ID, Name, Description, Action    string
	Precedence                       uint64
	Enabled                          bool
	Filters                          []string
	Traffic, Identity, DevicePosture string
	RuleSettings                     string
}

// GatewayRules returns the account's Gateway rules in creation order.
func (s *Server) GatewayRules(accountID string) []GatewayRuleInfo {
	return snapshot(s, accountID, gatewayRules, func(_ *account, g *gatewayRule) GatewayRuleInfo {
		b, _ := json.Marshal(orEmpty(g.settings))
		return GatewayRuleInfo{ID: g.id, Name: g.name, Description: g.description, Action: g.action,
			Precedence: g.precedence, Enabled: g.enabled, Filters: slices.Clone(g.filters), Traffic: g.traffic,
			Identity: g.identity, DevicePosture: g.devicePosture, RuleSettings: string(b)}
	})
}
