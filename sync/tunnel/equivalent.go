package tunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// Comparing configurations by meaning. The config flusher skips its PUT
// when the remote configuration routes and proxies every request as the
// desired one would, even if another tool (an upstream operator that
// conflux-sync takes over, the dashboard) wrote it in another harmless
// order or spelled a default out. Every claim below is from cloudflared's
// source (read at d1df798, August 2026): ingress/ingress.go (validateIngress, FindMatchingRule,
// matchHost), ingress/rule.go (Rule.Matches), ingress/config.go
// (originRequestFromConfig, setConfig and the defaults) and
// config/configuration.go (the JSON shapes).

// cloudflared's origin defaults, from ingress/config.go (the default*
// variables and constants that originRequestFromConfig starts from). A
// field not listed here defaults to its zero value: false, "", 0, no IP
// rules, no access check. Durations are whole seconds, as the API body
// carries them (config.CustomDuration reads JSON with strconv.ParseInt).
const (
	cfdConnectTimeout       = 30 // defaultHTTPConnectTimeout
	cfdTLSTimeout           = 10 // defaultTLSTimeout
	cfdTCPKeepAlive         = 30 // defaultTCPKeepAlive
	cfdKeepAliveConnections = 100
	cfdKeepAliveTimeout     = 90 // defaultKeepAliveTimeout
	cfdProxyAddress         = "127.0.0.1"
)

// maxDiffs bounds the reasons CompareConfigs returns; the last one says
// how many more there were.
const maxDiffs = 20

// CompareConfigs reports whether two tunnel configuration bodies (the
// "config" object of GET/PUT .../cfd_tunnel/{id}/configurations) make
// cloudflared route and proxy every request alike, and if not, why.
//
// They are equal when:
//   - both are configurations cloudflared accepts: at least one rule, the
//     last and only the last a catch-all (no hostname, or "*", and no
//     path), every path a valid regular expression;
//   - they hold the same non-catch-all rules, a rule being identified by
//     its hostname ("*" and "" both mean any host) and path, compared
//     exactly, and each pair having the same service and the same effective
//     origin settings (cloudflared's defaults, overridden by the top-level
//     originRequest, overridden by the rule's own);
//   - every two rules that can match one request are in the same relative
//     order (the first match wins); rules that can never match the same
//     request may be in any order;
//   - the catch-alls have the same service and effective settings;
//   - (the settings of a rule whose service is http_status:N do not
//     count: cloudflared answers such a rule without an origin);
//   - warp-routing is enabled on both or on neither (absent is false);
//   - every field the api types do not model is present on both sides
//     with the same value.
//
// A remote or desired body that does not decode, or that cloudflared would
// reject, is never equal. diffs are short reasons, the remote value first
// ("… connectTimeout 30 -> 10" means the PUT changes 30 into 10), sorted,
// at most maxDiffs of them; nil when equal.
func CompareConfigs(remote, desired json.RawMessage) (equal bool, diffs []string) {
	r, rerr := readMeaning(remote)
	d, derr := readMeaning(desired)
	if rerr != nil || derr != nil {
		if rerr != nil {
			diffs = append(diffs, "remote: "+rerr.Error())
		}
		if derr != nil {
			diffs = append(diffs, "desired: "+derr.Error())
		}
		return false, diffs
	}
	diffs = compareMeanings(r, d)
	if len(diffs) == 0 {
		return true, nil
	}
	slices.Sort(diffs)
	if len(diffs) > maxDiffs {
		more := len(diffs) - (maxDiffs - 1)
		diffs = append(diffs[:maxDiffs-1], fmt.Sprintf("and %d more differences", more))
	}
	return false, diffs
}

// meaning is a configuration reduced to what decides cloudflared's
// behaviour.
type meaning struct {
	rules    []ruleMeaning // in order, without the catch-all
	catchAll ruleMeaning
	warp     bool
	// extra holds the fields the api types do not model, outside the
	// rules, by JSON path ("warp-routing.maxActiveFlows"), as canonical
	// JSON.
	extra map[string]string
	// dups counts the rules whose hostname and path an earlier rule
	// already has; cloudflared would never use them.
	dups map[ruleID]int
}

// ruleID identifies a rule: cloudflared matches on these two only.
type ruleID struct {
	host string // "" for any host, "*" included
	path string
}

func (id ruleID) String() string {
	host := id.host
	if host == "" {
		host = "*"
	}
	if id.path == "" {
		return host
	}
	return host + " " + id.path
}

// ruleMeaning is one rule: what it matches, where it sends the request,
// and how.
type ruleMeaning struct {
	id      ruleID
	service string // as written
	// svc is the service as cloudflared parses it, for comparison.
	svc string
	// origin holds the effective value of every originRequest field, in
	// the order of originFields, formatted for display; nil for a service
	// no origin setting affects.
	origin []string
	// own are values cloudflared reads from the rule's own originRequest
	// rather than the effective one: the Access check ("access"), and the
	// IP rules of a socks-proxy service ("ipRules").
	own map[string]string
	// extra holds the rule's fields the api types do not model, by JSON
	// path inside the rule ("originRequest.access.environment").
	extra map[string]string
	match matcher
}

// readMeaning decodes a configuration body and checks it as cloudflared's
// validateIngress would, as far as the comparison depends on it.
func readMeaning(raw json.RawMessage) (*meaning, error) {
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("cannot decode configuration: %w", err)
	}
	if len(cfg.Ingress) == 0 {
		return nil, errors.New("no ingress rules")
	}
	m := &meaning{extra: map[string]string{}, dups: map[ruleID]int{}}
	ruleExtras := configExtras(raw, m.extra)
	if cfg.WarpRouting != nil {
		m.warp = cfg.WarpRouting.Enabled
	}
	seen := map[ruleID]bool{}
	last := len(cfg.Ingress) - 1
	for i := range cfg.Ingress {
		r := &cfg.Ingress[i]
		rm, err := readRule(r, &cfg.OriginRequest)
		if err != nil {
			return nil, fmt.Errorf("rule #%d: %w", i+1, err)
		}
		if i < len(ruleExtras) {
			rm.extra = ruleExtras[i]
		}
		catchAll := rm.id == ruleID{}
		switch {
		case i == last && !catchAll:
			return nil, errors.New("the last rule is not a catch-all (it has a hostname or a path)")
		case i < last && catchAll:
			return nil, fmt.Errorf("rule #%d matches every request but is not the last", i+1)
		case catchAll:
			m.catchAll = rm
		case seen[rm.id]:
			m.dups[rm.id]++
		default:
			seen[rm.id] = true
			m.rules = append(m.rules, rm)
		}
	}
	return m, nil
}

func readRule(r *Rule, top *OriginRequest) (ruleMeaning, error) {
	host := r.Hostname
	if host == "*" {
		// rule.go Matches: "" and "*" both match every host.
		host = ""
	}
	rm := ruleMeaning{
		id:      ruleID{host: host, path: r.Path},
		service: r.Service,
		svc:     parsedService(r.Service),
		origin:  effectiveOrigin(top, r.OriginRequest),
		own:     map[string]string{},
	}
	// In bastion mode cloudflared makes any service but the named ones
	// the bastion (validateIngress), so "" or a URL there is "bastion".
	if rm.origin[bastionField] == "true" && !api.IsNamedService(r.Service) {
		rm.svc = api.ServiceBastion
	}
	switch {
	case strings.HasPrefix(rm.svc, "http_status:"):
		// A status rule answers without an origin: statusCode's start
		// ignores the settings (origin_service.go) and its RoundTrip the
		// request (origin_proxy.go), so no origin setting changes it.
		rm.origin = nil
	case rm.svc == "bastion":
		// validateIngress turns a rule into a bastion when its service is
		// "bastion" or its effective bastionMode is true, and sets
		// bastionMode.
		rm.origin[bastionField] = "true"
	}
	// The Access check comes from the rule's own originRequest only
	// (validateIngress reads r.OriginRequest.Access), and only when
	// required; the effective access field does not create it.
	if o := r.OriginRequest; o != nil && o.Access != nil && o.Access.Required != nil && *o.Access.Required {
		rm.own["access"] = accessValue(o.Access)
	}
	// A socks-proxy service's IP policy is built from the rule's own
	// ipRules, not the effective ones.
	if rm.svc == "socks-proxy" {
		var own []IPRule
		if r.OriginRequest != nil {
			own = r.OriginRequest.IPRules
		}
		rm.own["ipRules"] = ipRulesValue(own)
	}
	var err error
	rm.match, err = newMatcher(rm.id)
	return rm, err
}

// parsedService is a service as cloudflared's validateIngress reads it:
// "http_status:0404" is the status 404, "hello-world" the same service as
// "hello_world". Everything else (URLs included) is compared as written:
// cloudflared keeps the URL it parsed, and "http://a:80/" is not
// "http://a:80" but an error (a path on the origin).
func parsedService(s string) string {
	if rest, ok := strings.CutPrefix(s, "http_status:"); ok {
		if code, err := strconv.Atoi(rest); err == nil {
			return "http_status:" + strconv.Itoa(code)
		}
		return s
	}
	if s == "hello-world" {
		return "hello_world"
	}
	return s
}

// originField is one originRequest field: its name, cloudflared's
// default, and its value in an override when the override sets it.
type originField struct {
	name string
	def  string
	get  func(o *OriginRequest) (string, bool)
}

// originFields are all originRequest fields cloudflared reads (config.go
// setConfig), with their defaults.
var originFields = []originField{
	{"connectTimeout", itoa(cfdConnectTimeout), func(o *OriginRequest) (string, bool) { return intValue(o.ConnectTimeout) }},
	{"tlsTimeout", itoa(cfdTLSTimeout), func(o *OriginRequest) (string, bool) { return intValue(o.TLSTimeout) }},
	{"tcpKeepAlive", itoa(cfdTCPKeepAlive), func(o *OriginRequest) (string, bool) { return intValue(o.TCPKeepAlive) }},
	{"noHappyEyeballs", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.NoHappyEyeballs) }},
	{"keepAliveConnections", itoa(cfdKeepAliveConnections), func(o *OriginRequest) (string, bool) { return intValue(o.KeepAliveConnections) }},
	{"keepAliveTimeout", itoa(cfdKeepAliveTimeout), func(o *OriginRequest) (string, bool) { return intValue(o.KeepAliveTimeout) }},
	{"httpHostHeader", `""`, func(o *OriginRequest) (string, bool) { return stringValue(o.HTTPHostHeader) }},
	{"originServerName", `""`, func(o *OriginRequest) (string, bool) { return stringValue(o.OriginServerName) }},
	{"matchSNItoHost", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.MatchSNIToHost) }},
	{"caPool", `""`, func(o *OriginRequest) (string, bool) { return stringValue(o.CAPool) }},
	{"noTLSVerify", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.NoTLSVerify) }},
	{"disableChunkedEncoding", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.DisableChunkedEncoding) }},
	{"bastionMode", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.BastionMode) }},
	{"proxyAddress", strconv.Quote(cfdProxyAddress), func(o *OriginRequest) (string, bool) { return stringValue(o.ProxyAddress) }},
	{"proxyPort", "0", func(o *OriginRequest) (string, bool) { return intValue(o.ProxyPort) }},
	{"proxyType", `""`, func(o *OriginRequest) (string, bool) { return stringValue(o.ProxyType) }},
	// setIPRules overrides only with a non-empty list: "ipRules":[] on a
	// rule keeps the top-level ones.
	{"ipRules", "[]", func(o *OriginRequest) (string, bool) {
		if len(o.IPRules) == 0 {
			return "", false
		}
		return ipRulesValue(o.IPRules), true
	}},
	{"http2Origin", "false", func(o *OriginRequest) (string, bool) { return boolValue(o.HTTP2Origin) }},
	// setAccess replaces the whole access object when one is given.
	{"access", accessValue(nil), func(o *OriginRequest) (string, bool) {
		if o.Access == nil {
			return "", false
		}
		return accessValue(o.Access), true
	}},
}

// bastionField is the index of bastionMode in originFields.
var bastionField = slices.IndexFunc(originFields, func(f originField) bool { return f.name == "bastionMode" })

// effectiveOrigin applies cloudflared's layering (config.go setConfig):
// defaults, then the top-level originRequest, then the rule's.
func effectiveOrigin(layers ...*OriginRequest) []string {
	out := make([]string, len(originFields))
	for i, f := range originFields {
		out[i] = f.def
		for _, o := range layers {
			if o == nil {
				continue
			}
			if v, ok := f.get(o); ok {
				out[i] = v
			}
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func intValue(p *int64) (string, bool) {
	if p == nil {
		return "", false
	}
	return itoa(*p), true
}

func boolValue(p *bool) (string, bool) {
	if p == nil {
		return "", false
	}
	return strconv.FormatBool(*p), true
}

func stringValue(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return strconv.Quote(*p), true
}

// ipRulesValue formats IP rules as cloudflared's config.IngressIPRule
// reads them: allow absent is false, ports absent is none.
func ipRulesValue(rules []IPRule) string {
	type ipRule struct {
		Prefix *string `json:"prefix"`
		Ports  []int64 `json:"ports"`
		Allow  bool    `json:"allow"`
	}
	out := make([]ipRule, len(rules))
	for i, r := range rules {
		out[i] = ipRule{Prefix: r.Prefix, Ports: r.Ports, Allow: r.Allow != nil && *r.Allow}
		if out[i].Ports == nil {
			out[i].Ports = []int64{}
		}
	}
	return compactJSON(out)
}

// accessValue formats an access object as cloudflared's config.AccessConfig
// reads it; nil is its zero value.
func accessValue(a *Access) string {
	v := struct {
		Required    bool     `json:"required"`
		TeamName    string   `json:"teamName"`
		AudTag      []string `json:"audTag"`
		Environment string   `json:"environment,omitempty"`
	}{AudTag: []string{}}
	if a != nil {
		v.Required = a.Required != nil && *a.Required
		if a.TeamName != nil {
			v.TeamName = *a.TeamName
		}
		if a.AudTag != nil {
			v.AudTag = a.AudTag
		}
		if a.Environment != nil {
			v.Environment = *a.Environment
		}
	}
	return compactJSON(v)
}

// compactJSON encodes v without HTML escaping; v is always encodable.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// Fields the api types model, per JSON object. Anything else is an extra:
// a field we would drop, so it must be the same on both sides.
var (
	configKnown = jsonNames[Config]()
	warpKnown   = jsonNames[WarpRouting]()
	ruleKnown   = jsonNames[Rule]()
	originKnown = jsonNames[OriginRequest]()
	ipRuleKnown = jsonNames[IPRule]()
	accessKnown = jsonNames[Access]()
)

// jsonNames lists the JSON names of T's fields, from their tags.
func jsonNames[T any]() []string {
	t := reflect.TypeFor[T]()
	names := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// configExtras records the configuration's extras outside the rules in
// out and returns each rule's extras, by rule index.
func configExtras(raw json.RawMessage, out map[string]string) []map[string]string {
	top := extras(raw, "", configKnown, out)
	extras(member(top, "warp-routing"), "warp-routing.", warpKnown, out)
	originExtras(member(top, "originRequest"), "originRequest.", out)
	var rules []json.RawMessage
	if json.Unmarshal(member(top, "ingress"), &rules) != nil {
		return nil
	}
	perRule := make([]map[string]string, len(rules))
	for i, r := range rules {
		perRule[i] = map[string]string{}
		m := extras(r, "", ruleKnown, perRule[i])
		originExtras(member(m, "originRequest"), "originRequest.", perRule[i])
	}
	return perRule
}

func originExtras(raw json.RawMessage, prefix string, out map[string]string) {
	m := extras(raw, prefix, originKnown, out)
	var ipRules []json.RawMessage
	if json.Unmarshal(member(m, "ipRules"), &ipRules) == nil {
		for i, r := range ipRules {
			extras(r, fmt.Sprintf("%sipRules[%d].", prefix, i), ipRuleKnown, out)
		}
	}
	extras(member(m, "access"), prefix+"access.", accessKnown, out)
}

// extras records in out, under prefix, the members of the JSON object raw
// that none of known names, and returns all members. Names match as
// encoding/json matches them to struct fields (cloudflared's decoder
// too): ignoring case. A value that is not an object has no members.
func extras(raw json.RawMessage, prefix string, known []string, out map[string]string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	for name, v := range m {
		if !slices.ContainsFunc(known, func(k string) bool { return strings.EqualFold(k, name) }) {
			out[prefix+name] = canonicalValue(v)
		}
	}
	return m
}

// member returns the member called name, matched as encoding/json would
// (exact first, else ignoring case; the smallest such key, to be
// deterministic), or nil.
func member(m map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := m[name]; ok {
		return v
	}
	var best string
	var found json.RawMessage
	for k, v := range m {
		if strings.EqualFold(k, name) && (found == nil || k < best) {
			best, found = k, v
		}
	}
	return found
}

// canonicalValue re-encodes a JSON value with sorted object keys and
// numbers as written, so equal values compare equal as strings.
func canonicalValue(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	return compactJSON(v)
}

// matcher answers whether two rules can match one request, erring towards
// yes.
type matcher struct {
	anyHost bool
	// host is the hostname lower-cased: cloudflared compares case-
	// sensitively, but also matches the punycode form (idna lower-cases),
	// so comparing lower-cased can only find more overlaps.
	host     string
	wildcard bool // host is "*.suffix"
	unicode  bool // non-ASCII: its punycode form is not worked out here
	anyPath  bool
	// prefix, when anchored, is a literal every path the rule matches
	// starts with (the path regexp is "^literal…").
	prefix   string
	anchored bool
}

func newMatcher(id ruleID) (matcher, error) {
	m := matcher{
		anyHost:  id.host == "",
		host:     strings.ToLower(id.host),
		wildcard: strings.HasPrefix(id.host, "*."),
		anyPath:  id.path == "",
	}
	for _, c := range id.host {
		if c >= 0x80 {
			m.unicode = true
			break
		}
	}
	if m.anyPath {
		return m, nil
	}
	// cloudflared compiles the path with regexp.Compile, whose errors all
	// come from this parse (see api.CheckRulePath).
	re, err := syntax.Parse(id.path, syntax.Perl)
	if err != nil {
		return m, fmt.Errorf("invalid path regex %q: %w", id.path, err)
	}
	m.prefix, m.anchored = anchoredPrefix(re)
	return m, nil
}

// anchoredPrefix returns the literal that starts every string re matches,
// when re begins with ^ (start of text) followed by case-sensitive
// literal text. Anything else is not anchored.
func anchoredPrefix(re *syntax.Regexp) (string, bool) {
	switch {
	case re.Op == syntax.OpBeginText:
		return "", true
	case re.Op != syntax.OpConcat || len(re.Sub) == 0 || re.Sub[0].Op != syntax.OpBeginText:
		return "", false
	case len(re.Sub) > 1 && re.Sub[1].Op == syntax.OpLiteral && re.Sub[1].Flags&syntax.FoldCase == 0:
		return string(re.Sub[1].Rune), true
	}
	return "", true
}

// overlaps reports whether some request can match both rules, when in
// doubt yes.
func (a *matcher) overlaps(b *matcher) bool {
	return a.hostsOverlap(b) && a.pathsOverlap(b)
}

// hostsOverlap follows ingress.go matchHost: an exact name matches itself,
// "*.suffix" every name ending in ".suffix" (at any depth).
func (a *matcher) hostsOverlap(b *matcher) bool {
	switch {
	case a.anyHost || b.anyHost || a.unicode || b.unicode || a.host == b.host:
		return true
	case a.wildcard && b.wildcard:
		sa, sb := a.host[1:], b.host[1:]
		return strings.HasSuffix(sa, sb) || strings.HasSuffix(sb, sa)
	case a.wildcard:
		return strings.HasSuffix(b.host, a.host[1:])
	case b.wildcard:
		return strings.HasSuffix(a.host, b.host[1:])
	}
	return false
}

// pathsOverlap is false only when both paths are anchored at the start
// with literal prefixes neither of which begins the other: no path can
// start with both.
func (a *matcher) pathsOverlap(b *matcher) bool {
	if a.anyPath || b.anyPath || !a.anchored || !b.anchored {
		return true
	}
	return strings.HasPrefix(a.prefix, b.prefix) || strings.HasPrefix(b.prefix, a.prefix)
}

// compareMeanings lists the differences, unsorted.
func compareMeanings(r, d *meaning) []string {
	var diffs []string
	if r.warp != d.warp {
		diffs = append(diffs, fmt.Sprintf("warp-routing enabled %t -> %t", r.warp, d.warp))
	}
	diffs = append(diffs, compareExtras("", r.extra, d.extra)...)
	for id, n := range r.dups {
		diffs = append(diffs, fmt.Sprintf("rule %s appears %d times in remote", id, n+1))
	}
	for id, n := range d.dups {
		diffs = append(diffs, fmt.Sprintf("rule %s appears %d times in desired", id, n+1))
	}

	if r.catchAll.svc != d.catchAll.svc {
		diffs = append(diffs, fmt.Sprintf("catch-all %s -> %s", r.catchAll.service, d.catchAll.service))
	}
	diffs = append(diffs, compareRule("catch-all: ", &r.catchAll, &d.catchAll)...)

	rpos := make(map[ruleID]int, len(r.rules))
	for i := range r.rules {
		rpos[r.rules[i].id] = i
	}
	dpos := make(map[ruleID]int, len(d.rules))
	for i := range d.rules {
		dpos[d.rules[i].id] = i
	}
	for i := range r.rules {
		if _, ok := dpos[r.rules[i].id]; !ok {
			diffs = append(diffs, fmt.Sprintf("rule %s removed", r.rules[i].id))
		}
	}
	// common are the desired rules the remote has too, in desired order,
	// with their remote positions.
	type placed struct {
		rule *ruleMeaning
		rpos int
	}
	var common []placed
	for i := range d.rules {
		dr := &d.rules[i]
		j, ok := rpos[dr.id]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("rule %s added", dr.id))
			continue
		}
		rr := &r.rules[j]
		label := fmt.Sprintf("rule %s: ", dr.id)
		if rr.svc != dr.svc {
			diffs = append(diffs, fmt.Sprintf("%sservice %s -> %s", label, rr.service, dr.service))
		}
		diffs = append(diffs, compareRule(label, rr, dr)...)
		common = append(common, placed{dr, j})
	}
	// Relative order of every two rules that can match one request. In
	// desired, a comes before b; the remote has them the other way round.
	// Only a remote in another order needs the quadratic pass.
	if slices.IsSortedFunc(common, func(a, b placed) int { return a.rpos - b.rpos }) {
		return diffs
	}
	// Rules on two different plain host names never match one request:
	// only rules of one name are compared with each other, and a rule for
	// a wildcard or any host with every rule, so a configuration of
	// distinct names costs a linear pass, not a quadratic one.
	check := func(i, j int) {
		a, b := common[i], common[j] // i < j: a comes first in desired
		if a.rpos > b.rpos && a.rule.match.overlaps(&b.rule.match) {
			diffs = append(diffs, orderDiff(a.rule.id, b.rule.id))
		}
	}
	byHost := map[string][]int{}
	broad := make([]bool, len(common))
	for i := range common {
		if m := &common[i].rule.match; m.anyHost || m.wildcard || m.unicode {
			broad[i] = true
		} else {
			byHost[m.host] = append(byHost[m.host], i)
		}
	}
	for _, same := range byHost {
		for x := range same {
			for _, j := range same[x+1:] {
				check(same[x], j)
			}
		}
	}
	for i := range common {
		if !broad[i] {
			continue
		}
		for j := range common {
			switch {
			case j == i, broad[j] && j < i: // the pair is checked from j
			case j < i:
				check(j, i)
			default:
				check(i, j)
			}
		}
	}
	return diffs
}

// orderDiff says that rule b, before a in the remote, now comes after it.
func orderDiff(a, b ruleID) string {
	if a.host == b.host {
		return fmt.Sprintf("rules for %s: %s now after %s", ruleID{host: a.host}, pathLabel(b.path), pathLabel(a.path))
	}
	return fmt.Sprintf("rule %s now after %s", b, a)
}

func pathLabel(p string) string {
	if p == "" {
		return "(any path)"
	}
	return strconv.Quote(p)
}

// compareRule compares what two rules with the same id do with a request,
// service aside.
func compareRule(label string, r, d *ruleMeaning) []string {
	var diffs []string
	differs := map[string]bool{}
	if r.origin != nil && d.origin != nil {
		for i, f := range originFields {
			if r.origin[i] != d.origin[i] {
				differs[f.name] = true
				diffs = append(diffs, fmt.Sprintf("%soriginRequest.%s %s -> %s", label, f.name, short(r.origin[i]), short(d.origin[i])))
			}
		}
	}
	// The values read from the rule's own originRequest, unless the
	// effective field already differs.
	for _, k := range sortedUnion(r.own, d.own) {
		rv, dv := orDefault(r.own, k, "none"), orDefault(d.own, k, "none")
		if rv != dv && !differs[k] {
			diffs = append(diffs, fmt.Sprintf("%s%s %s -> %s", label, ownLabels[k], short(rv), short(dv)))
		}
	}
	return append(diffs, compareExtras(label, r.extra, d.extra)...)
}

// ownLabels names the values of ruleMeaning.own in reasons.
var ownLabels = map[string]string{"access": "access check", "ipRules": "socks-proxy ipRules"}

// compareExtras compares the fields the api types do not model.
func compareExtras(label string, r, d map[string]string) []string {
	var diffs []string
	for _, k := range sortedUnion(r, d) {
		rv, rok := r[k]
		dv, dok := d[k]
		switch {
		case rok && dok && rv == dv:
		case !dok:
			diffs = append(diffs, fmt.Sprintf("%sunknown field %s %s -> (absent)", label, k, short(rv)))
		case !rok:
			diffs = append(diffs, fmt.Sprintf("%sunknown field %s (absent) -> %s", label, k, short(dv)))
		default:
			diffs = append(diffs, fmt.Sprintf("%sunknown field %s %s -> %s", label, k, short(rv), short(dv)))
		}
	}
	return diffs
}

func sortedUnion(a, b map[string]string) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func orDefault(m map[string]string, k, def string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return def
}

// short keeps a value readable in a one-line reason.
func short(s string) string {
	const limit = 60
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-3]) + "..."
	}
	return s
}
