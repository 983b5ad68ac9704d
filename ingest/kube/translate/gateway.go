package translate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// The spec shapes of StringKe/cloudflare-operator's GatewayList and
// GatewayRule (v1alpha2). conflux-sync's CRDs keep these specs as written
// (apiextensionsv1.JSON), so they are decoded here, strictly: a field
// these types do not know is named in a problem.

type gatewayListSpec struct {
	Name               string                     `json:"name,omitempty"`
	Description        string                     `json:"description,omitempty"`
	Type               string                     `json:"type"`
	Items              []api.GatewayListItem      `json:"items,omitempty"`
	ItemsFromConfigMap *json.RawMessage           `json:"itemsFromConfigMap,omitempty"`
	Cloudflare         v1alpha2.CloudflareDetails `json:"cloudflare"`
}

type gatewayRuleSpec struct {
	Name          string                     `json:"name,omitempty"`
	Description   string                     `json:"description,omitempty"`
	Precedence    *int64                     `json:"precedence"`
	Enabled       *bool                      `json:"enabled,omitempty"`
	Action        string                     `json:"action"`
	Filters       []string                   `json:"filters,omitempty"`
	Traffic       string                     `json:"traffic,omitempty"`
	Identity      string                     `json:"identity,omitempty"`
	DevicePosture string                     `json:"devicePosture,omitempty"`
	RuleSettings  *gatewayRuleSettings       `json:"ruleSettings,omitempty"`
	Schedule      *gatewayRuleSchedule       `json:"schedule,omitempty"`
	Expiration    *json.RawMessage           `json:"expiration,omitempty"`
	Cloudflare    v1alpha2.CloudflareDetails `json:"cloudflare"`
}

type gatewayRuleSchedule struct {
	TimeZone string `json:"timeZone,omitempty"`
	Mon      string `json:"mon,omitempty"`
	Tue      string `json:"tue,omitempty"`
	Wed      string `json:"wed,omitempty"`
	Thu      string `json:"thu,omitempty"`
	Fri      string `json:"fri,omitempty"`
	Sat      string `json:"sat,omitempty"`
	Sun      string `json:"sun,omitempty"`
}

type gatewayRuleSettings struct {
	BlockPageEnabled *bool    `json:"blockPageEnabled,omitempty"`
	BlockReason      string   `json:"blockReason,omitempty"`
	OverrideIPs      []string `json:"overrideIps,omitempty"`
	OverrideHost     string   `json:"overrideHost,omitempty"`
	L4Override       *struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	} `json:"l4Override,omitempty"`
	BISOAdminControls *struct {
		DisablePrinting             *bool `json:"disablePrinting,omitempty"`
		DisableCopyPaste            *bool `json:"disableCopyPaste,omitempty"`
		DisableDownload             *bool `json:"disableDownload,omitempty"`
		DisableUpload               *bool `json:"disableUpload,omitempty"`
		DisableKeyboard             *bool `json:"disableKeyboard,omitempty"`
		DisableClipboardRedirection *bool `json:"disableClipboardRedirection,omitempty"`
	} `json:"bisoAdminControls,omitempty"`
	CheckSession *struct {
		Enforce  bool   `json:"enforce"`
		Duration string `json:"duration"`
	} `json:"checkSession,omitempty"`
	AddHeaders                      map[string]string `json:"addHeaders,omitempty"`
	InsecureDisableDNSSECValidation *bool             `json:"insecureDisableDnssecValidation,omitempty"`
	Egress                          *struct {
		IPv4         string `json:"ipv4,omitempty"`
		IPv6         string `json:"ipv6,omitempty"`
		IPv4Fallback string `json:"ipv4Fallback,omitempty"`
	} `json:"egress,omitempty"`
	PayloadLog *struct {
		Enabled bool `json:"enabled"`
	} `json:"payloadLog,omitempty"`
	UntrustedCertificateAction string `json:"untrustedCertificateAction,omitempty"`
	AuditSSH                   *struct {
		CommandLogging bool `json:"commandLogging"`
	} `json:"auditSsh,omitempty"`
	ResolveDNSInternally *struct {
		ViewID   string `json:"viewId,omitempty"`
		Fallback *bool  `json:"fallback,omitempty"`
	} `json:"resolveDnsInternally,omitempty"`
	ResolveDNSThroughCloudflare *bool `json:"resolveDnsThroughCloudflare,omitempty"`
	DNSResolvers                *struct {
		IPv4 []gatewayResolver `json:"ipv4,omitempty"`
		IPv6 []gatewayResolver `json:"ipv6,omitempty"`
	} `json:"dnsResolvers,omitempty"`
	NotificationSettings *struct {
		Enabled    bool   `json:"enabled"`
		Message    string `json:"message,omitempty"`
		SupportURL string `json:"supportUrl,omitempty"`
	} `json:"notificationSettings,omitempty"`
	AllowChildBypass           *bool `json:"allowChildBypass,omitempty"`
	BypassParentRule           *bool `json:"bypassParentRule,omitempty"`
	IgnoreCNAMECategoryMatches *bool `json:"ignoreCnameCategoryMatches,omitempty"`
	IPCategories               *bool `json:"ipCategories,omitempty"`
	IPIndicatorFeeds           *bool `json:"ipIndicatorFeeds,omitempty"`
	Quarantine                 *struct {
		FileTypes []string `json:"fileTypes,omitempty"`
	} `json:"quarantine,omitempty"`
}

type gatewayResolver struct {
	IP                         string `json:"ip"`
	Port                       int    `json:"port,omitempty"`
	VNetID                     string `json:"vnetId,omitempty"`
	RouteThroughPrivateNetwork *bool  `json:"routeThroughPrivateNetwork,omitempty"`
}

// decodeSpec decodes a kept-as-written spec of an object of kind into v
// strictly, naming the first field v does not know (or that has the
// wrong type) in ps.
func decodeSpec(kind string, spec []byte, v any, ps *problems) bool {
	if len(spec) == 0 {
		spec = []byte("{}")
	}
	if fe := api.CheckJSON(spec, reflect.TypeOf(v), "spec"); fe != nil {
		reason := fe.Reason
		if reason == "unknown field" {
			reason = "is not a field of cloudflare-operator's " + kind
		}
		ps.add(fe.Field, "%s", reason)
		return false
	}
	d := json.NewDecoder(bytes.NewReader(spec))
	if err := d.Decode(v); err != nil {
		ps.add("spec", "%v", err)
		return false
	}
	return true
}

// GatewayListTarget names the cloudflare.GatewayList target of
// cloudflare-operator's (cluster-scoped) GatewayList name; a GatewayRule's
// expression names that list as ${GatewayList/<name>}.
func GatewayListTarget(name string) string { return "GatewayList/" + name }

// GatewayList translates a GatewayList as cloudflare-operator syncs it:
// one Gateway list, named spec.name (else the object's name), in the
// account of spec.cloudflare. The list cloudflare-operator made (its
// status.listId) is taken over.
func GatewayList(gl *v1alpha2.GatewayList, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&gl.ObjectMeta)}
	var s gatewayListSpec
	var raw []byte
	if gl.Spec != nil {
		raw = gl.Spec.Raw
	}
	if !decodeSpec("GatewayList", raw, &s, &ps) {
		return b.result(ps)
	}
	if s.ItemsFromConfigMap != nil {
		ps.addUnsupported("spec.itemsFromConfigMap", "items read from a ConfigMap are not supported yet: list them in spec.items")
	}
	spec := api.GatewayListSpec{
		Name:        cmp.Or(s.Name, gl.Name),
		Description: s.Description,
		Type:        s.Type,
		Items:       s.Items,
	}
	if id := strings.ToLower(strings.TrimSpace(gl.Status.ListID)); uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindGatewayList, GatewayListTarget(gl.Name), spec)
	res := b.result(ps)
	if len(res.Problems) == 0 {
		res.Status = map[string]any{"itemCount": int64(len(spec.Items))}
	}
	return res
}

// GatewayRuleTarget names the rule set the GatewayRules of one account
// and one API token form: every GatewayRule with them is a source of
// this one cloudflare.GatewayRule target, so their rules are ordered
// together and a rule name given twice is a conflict.
func GatewayRuleTarget(accountID string, creds *api.SecretRef) string {
	if creds == nil {
		return "GatewayRule/" + accountID
	}
	return "GatewayRule/" + accountID + "/" + creds.Namespace + "/" + creds.Name + "/" + creds.Key
}

// GatewayRule translates a GatewayRule as cloudflare-operator syncs it:
// one Gateway rule named spec.name (else the object's name), placed by
// spec.precedence, in the rule set of its account and token
// (GatewayRuleTarget). The rule cloudflare-operator made (its
// status.ruleId) is taken over.
func GatewayRule(gr *v1alpha2.GatewayRule, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&gr.ObjectMeta)}
	var s gatewayRuleSpec
	var raw []byte
	if gr.Spec != nil {
		raw = gr.Spec.Raw
	}
	if !decodeSpec("GatewayRule", raw, &s, &ps) {
		return b.result(ps)
	}
	rule := api.GatewayRule{
		Name:          cmp.Or(s.Name, gr.Name),
		Description:   s.Description,
		Action:        s.Action,
		Filters:       s.Filters,
		Traffic:       s.Traffic,
		Identity:      s.Identity,
		DevicePosture: s.DevicePosture,
		// Absent is true, cloudflare-operator's CRD default (and the kind's).
		Enabled: s.Enabled,
	}
	switch {
	case s.Precedence == nil:
		ps.add("spec.precedence", "is required")
	case *s.Precedence < 0:
		ps.add("spec.precedence", "must not be negative, is %d", *s.Precedence)
	default:
		p := uint64(*s.Precedence)
		rule.Precedence = &p
	}
	if s.Expiration != nil {
		ps.addUnsupported("spec.expiration", "rule expiration is not supported yet (cloudflare-go v0's expiration is read-only in part); remove it, or keep cloudflare-operator for this rule")
	}
	if s.RuleSettings != nil {
		rule.RuleSettings = ruleSettings(s.RuleSettings, &ps)
	}
	if sc := s.Schedule; sc != nil {
		m := map[string]string{"time_zone": sc.TimeZone, "mon": sc.Mon, "tue": sc.Tue, "wed": sc.Wed, "thu": sc.Thu, "fri": sc.Fri, "sat": sc.Sat, "sun": sc.Sun}
		for k, v := range m {
			if v == "" {
				delete(m, k)
			}
		}
		rule.Schedule, _ = json.Marshal(m)
	}
	if id := strings.ToLower(strings.TrimSpace(gr.Status.RuleID)); uuidRE.MatchString(id) {
		rule.TakeOver = id
	}
	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	acct := account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	spec := api.GatewayRuleSpec{AccountID: acct, Credentials: c.ref, Rules: []api.GatewayRule{rule}}
	b.add(api.KindGatewayRule, GatewayRuleTarget(acct, c.ref), spec)
	return b.result(ps)
}

// ruleSettings renders cloudflare-operator's ruleSettings as the API's
// rule_settings, field by field.
func ruleSettings(s *gatewayRuleSettings, ps *problems) json.RawMessage {
	m := map[string]any{}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("block_page_enabled", deref(s.BlockPageEnabled), s.BlockPageEnabled != nil)
	set("block_reason", s.BlockReason, s.BlockReason != "")
	set("override_ips", s.OverrideIPs, len(s.OverrideIPs) > 0)
	set("override_host", s.OverrideHost, s.OverrideHost != "")
	if v := s.L4Override; v != nil {
		m["l4override"] = map[string]any{"ip": v.IP, "port": v.Port}
	}
	if v := s.BISOAdminControls; v != nil {
		m["biso_admin_controls"] = map[string]any{"dp": deref(v.DisablePrinting), "dcp": deref(v.DisableCopyPaste), "dd": deref(v.DisableDownload),
			"du": deref(v.DisableUpload), "dk": deref(v.DisableKeyboard), "dcr": deref(v.DisableClipboardRedirection)}
	}
	if v := s.CheckSession; v != nil {
		m["check_session"] = map[string]any{"enforce": v.Enforce, "duration": v.Duration}
	}
	if len(s.AddHeaders) > 0 {
		h := map[string][]string{}
		for k, v := range s.AddHeaders {
			h[k] = []string{v}
		}
		m["add_headers"] = h
	}
	set("insecure_disable_dnssec_validation", deref(s.InsecureDisableDNSSECValidation), s.InsecureDisableDNSSECValidation != nil)
	if v := s.Egress; v != nil {
		m["egress"] = map[string]any{"ipv4": v.IPv4, "ipv6": v.IPv6, "ipv4_fallback": v.IPv4Fallback}
	}
	if v := s.PayloadLog; v != nil {
		m["payload_log"] = map[string]any{"enabled": v.Enabled}
	}
	switch a := s.UntrustedCertificateAction; a {
	case "":
	case "pass_through", "block", "error":
		m["untrusted_cert"] = map[string]any{"action": a}
	default:
		ps.add("spec.ruleSettings.untrustedCertificateAction", "%q is not one of pass_through, block, error", a)
	}
	if v := s.AuditSSH; v != nil {
		m["audit_ssh"] = map[string]any{"command_logging": v.CommandLogging}
	}
	if v := s.ResolveDNSInternally; v != nil {
		fallback := "none"
		if deref(v.Fallback) {
			fallback = "public_dns"
		}
		m["resolve_dns_internally"] = map[string]any{"view_id": v.ViewID, "fallback": fallback}
	}
	set("resolve_dns_through_cloudflare", deref(s.ResolveDNSThroughCloudflare), s.ResolveDNSThroughCloudflare != nil)
	if v := s.DNSResolvers; v != nil {
		m["dns_resolvers"] = map[string]any{"ipv4": resolvers(v.IPv4), "ipv6": resolvers(v.IPv6)}
	}
	if v := s.NotificationSettings; v != nil {
		m["notification_settings"] = map[string]any{"enabled": v.Enabled, "msg": v.Message, "support_url": v.SupportURL}
	}
	set("allow_child_bypass", deref(s.AllowChildBypass), s.AllowChildBypass != nil)
	set("bypass_parent_rule", deref(s.BypassParentRule), s.BypassParentRule != nil)
	set("ignore_cname_category_matches", deref(s.IgnoreCNAMECategoryMatches), s.IgnoreCNAMECategoryMatches != nil)
	set("ip_categories", deref(s.IPCategories), s.IPCategories != nil)
	if s.IPIndicatorFeeds != nil {
		ps.addUnsupported("spec.ruleSettings.ipIndicatorFeeds", "is not supported yet (the Cloudflare client conflux-sync uses does not carry it)")
	}
	if v := s.Quarantine; v != nil {
		m["quarantine"] = map[string]any{"file_types": v.FileTypes}
	}
	out, err := json.Marshal(m)
	if err != nil {
		ps.add("spec.ruleSettings", "%v", err)
		return nil
	}
	return out
}

func resolvers(rs []gatewayResolver) []map[string]any {
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		e := map[string]any{"ip": r.IP}
		if r.Port != 0 {
			e["port"] = r.Port
		}
		if r.VNetID != "" {
			e["vnet_id"] = r.VNetID
		}
		if r.RouteThroughPrivateNetwork != nil {
			e["route_through_private_network"] = *r.RouteThroughPrivateNetwork
		}
		out = append(out, e)
	}
	return out
}

// ruleIDKey is the downstream id key of the rule a GatewayRule's fragment
// asks for, in its rule set's status.
func ruleIDKey(spec json.RawMessage) string {
	var s api.GatewayRuleSpec
	if json.Unmarshal(spec, &s) != nil || len(s.Rules) != 1 {
		return ""
	}
	return fmt.Sprintf("rule:%s", s.Rules[0].Name)
}

// GatewayRuleIDKey is the key under which the rule set target of a
// GatewayRule's fragments records that rule's id ("" when none).
func GatewayRuleIDKey(res Result) string {
	for _, f := range res.Fragments {
		if f.Target.Kind == api.KindGatewayRule {
			return ruleIDKey(f.Spec)
		}
	}
	return ""
}
