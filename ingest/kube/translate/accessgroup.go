package translate

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// AccessGroupTarget names the cloudflare.AccessGroup target of
// cloudflare-operator's cluster-scoped AccessGroup of that name:
// "AccessGroup/<name>". Objects that refer to an AccessGroup by its
// Kubernetes name (AccessPolicy, AccessApplication) name this target.
func AccessGroupTarget(name string) string { return "AccessGroup/" + name }

// AccessGroup translates an AccessGroup as cloudflare-operator syncs it:
// the group spec.name (default the object's name) with its include,
// exclude and require rules, each rule of the CRD becoming the Access
// API's rule object, in the account and with the credentials of
// spec.cloudflare (a Secret of Options.Namespace: the object is
// cluster-scoped). The group cloudflare-operator created (status.groupId)
// is taken over; like the operator, an existing group of that name is
// adopted rather than clashed with, but an adopted one is left in place
// when the object goes.
//
// Where the operator sent something other than what the manifest says,
// conflux-sync sends what it says: a list of IP ranges or countries
// becomes one rule per entry (the operator sent the first only), GitHub
// teams one rule per team (it sent none), and the GitHub and Azure rules
// under the API's keys (github-organization, azureAD). A list in a
// require rule cannot be one rule (every require rule must match, and
// each API rule holds one value), so it is refused, as is a rule that sets
// no rule type or several. isDefault never reached the API; set true it is
// reported as not applied. The zone fields of spec.cloudflare (domain,
// zoneId) are not used: a group belongs to the account.
func AccessGroup(g *v1alpha2.AccessGroup, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&g.ObjectMeta)}
	s := &g.Spec
	spec := api.AccessGroupSpec{Name: strings.TrimSpace(s.Name), Adopt: true}
	if spec.Name == "" {
		spec.Name = g.Name
	}
	if len(s.Include) == 0 {
		ps.add("spec.include", "needs at least one rule")
	}
	spec.Include = accessRules(s.Include, "spec.include", false, l, &ps)
	spec.Exclude = accessRules(s.Exclude, "spec.exclude", false, l, &ps)
	spec.Require = accessRules(s.Require, "spec.require", true, l, &ps)
	if id := strings.ToLower(strings.TrimSpace(g.Status.GroupID)); uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindAccessGroup, AccessGroupTarget(g.Name), spec)
	res := b.result(ps)
	if s.IsDefault != nil && *s.IsDefault && len(res.Problems) == 0 {
		res.Degraded = []Problem{{Field: "spec.isDefault", Reason: "is not applied: the Access API client conflux-sync uses has no default flag for groups, and cloudflare-operator never sent it either"}}
	}
	return res
}

// accessRules converts a rule list; require says every rule must match
// (a list of values cannot be split into several rules there).
func accessRules(rules []v1alpha2.AccessGroupRule, field string, require bool, l Lookup, ps *problems) []json.RawMessage {
	var out []json.RawMessage
	for i := range rules {
		for _, r := range accessRule(&rules[i], fmt.Sprintf("%s[%d]", field, i), require, l, ps) {
			raw, err := json.Marshal(r)
			if err != nil {
				// Only maps of strings are marshalled.
				panic("translate: marshal Access rule: " + err.Error())
			}
			out = append(out, raw)
		}
	}
	return out
}

// rule is one Access API rule object: {"<type>": {fields}}.
type rule map[string]map[string]string

// ruleBuilder converts one rule of the CRD: the rule types it sets (set,
// in the CRD's names) and the API rule objects they make (out).
type ruleBuilder struct {
	field   string // e.g. "spec.include[0]"
	require bool   // in a require list: a list of values cannot be split
	l       Lookup
	ps      *problems
	set     []string
	out     []rule
}

// one makes the single rule {key: fields} of the rule type name; need are
// the CRD's required fields of it (name: value), each a problem if blank.
func (b *ruleBuilder) one(name, key string, need, fields map[string]string) {
	b.set = append(b.set, name)
	for _, k := range slices.Sorted(maps.Keys(need)) {
		if strings.TrimSpace(need[k]) == "" {
			b.ps.add(b.field+"."+name+"."+k, "is required")
		}
	}
	b.out = []rule{{key: fields}}
}

// each makes one rule {key: {apiField: value}} (plus base's fields) per
// value of the rule type name's list listField: any of them matches. In a
// require list every rule must match, so only one value can be given.
func (b *ruleBuilder) each(name, listField, key, apiField string, values []string, check func(string) string, base map[string]string) {
	b.set = append(b.set, name)
	b.out = nil
	f := b.field + "." + name + "." + listField
	switch {
	case len(values) == 0:
		b.ps.add(f, "needs at least one value")
		return
	case b.require && len(values) > 1:
		b.ps.add(f, "lists %d values, but every require rule must match and an Access rule holds one value (cloudflare-operator sent only the first, %s): put the alternatives in the include rules of another AccessGroup and require that group (group.id: its status.groupId), or keep one value", len(values), values[0])
		return
	}
	for j, v := range values {
		v = strings.TrimSpace(v)
		if reason := check(v); reason != "" {
			b.ps.add(fmt.Sprintf("%s[%d]", f, j), "%s", reason)
			continue
		}
		fields := maps.Clone(base)
		if fields == nil {
			fields = map[string]string{}
		}
		fields[apiField] = v
		b.out = append(b.out, rule{key: fields})
	}
}

// idp adds the identity provider idpRef names to fields, as the API's
// identity_provider_id; an absent idpRef leaves it out.
func (b *ruleBuilder) idp(name string, ref *v1alpha2.ObjectRef, fields map[string]string) map[string]string {
	if ref == nil || *ref == (v1alpha2.ObjectRef{}) {
		return fields
	}
	if id := accessRef(*ref, b.field+"."+name+".idpRef", "AccessIdentityProvider", "providerId", "identity provider", "identity providers", b.l, b.ps); id != "" {
		fields["identity_provider_id"] = id
	}
	return fields
}

// accessRule converts one rule of the CRD to the API's rule objects (one,
// or one per value of a list outside require).
func accessRule(r *v1alpha2.AccessGroupRule, field string, require bool, l Lookup, ps *problems) []rule {
	b := &ruleBuilder{field: field, require: require, l: l, ps: ps}
	trim := strings.TrimSpace
	type m = map[string]string
	if x := r.Email; x != nil {
		b.one("email", "email", m{"email": x.Email}, m{"email": trim(x.Email)})
	}
	if x := r.EmailDomain; x != nil {
		b.one("emailDomain", "email_domain", m{"domain": x.Domain}, m{"domain": trim(x.Domain)})
	}
	if x := r.EmailList; x != nil {
		b.one("emailList", "email_list", m{"id": x.ID}, m{"id": trim(x.ID)})
	}
	if r.Everyone {
		b.one("everyone", "everyone", nil, m{})
	}
	if x := r.IPRanges; x != nil {
		b.each("ipRanges", "ip", "ip", "ip", x.IP, checkIPRange, nil)
	}
	if x := r.IPList; x != nil {
		b.one("ipList", "ip_list", m{"id": x.ID}, m{"id": trim(x.ID)})
	}
	if x := r.Country; x != nil {
		b.each("country", "country", "geo", "country_code", upper(x.Country), checkCountry, nil)
	}
	if x := r.Group; x != nil {
		b.one("group", "group", m{"id": x.ID}, m{"id": trim(x.ID)})
	}
	if x := r.ServiceToken; x != nil {
		b.one("serviceToken", "service_token", m{"tokenId": x.TokenID}, m{"token_id": trim(x.TokenID)})
	}
	if r.AnyValidServiceToken {
		b.one("anyValidServiceToken", "any_valid_service_token", nil, m{})
	}
	if r.Certificate {
		b.one("certificate", "certificate", nil, m{})
	}
	if x := r.CommonName; x != nil {
		b.one("commonName", "common_name", m{"commonName": x.CommonName}, m{"common_name": trim(x.CommonName)})
	}
	if x := r.DevicePosture; x != nil {
		b.one("devicePosture", "device_posture", m{"integrationUid": x.IntegrationUID}, m{"integration_uid": trim(x.IntegrationUID)})
	}
	if x := r.GSuite; x != nil {
		b.one("gsuite", "gsuite", m{"email": x.Email}, b.idp("gsuite", x.IdpRef, m{"email": trim(x.Email)}))
	}
	if x := r.GitHub; x != nil {
		// The API's rule names one team; the CRD's list is any of them.
		org := b.idp("github", x.IdpRef, m{"name": trim(x.Name)})
		if len(x.Teams) == 0 {
			b.one("github", "github-organization", m{"name": x.Name}, org)
		} else {
			if trim(x.Name) == "" {
				ps.add(field+".github.name", "is required")
			}
			b.each("github", "teams", "github-organization", "team", x.Teams, nonEmptyValue, org)
		}
	}
	if x := r.Azure; x != nil {
		b.one("azure", "azureAD", m{"id": x.ID}, b.idp("azure", x.IdpRef, m{"id": trim(x.ID)}))
	}
	if x := r.Okta; x != nil {
		b.one("okta", "okta", m{"name": x.Name}, b.idp("okta", x.IdpRef, m{"name": trim(x.Name)}))
	}
	if x := r.OIDC; x != nil {
		b.one("oidc", "oidc", m{"claimName": x.ClaimName, "claimValue": x.ClaimValue},
			b.idp("oidc", x.IdpRef, m{"claim_name": trim(x.ClaimName), "claim_value": x.ClaimValue}))
	}
	if x := r.SAML; x != nil {
		b.one("saml", "saml", m{"attributeName": x.AttributeName, "attributeValue": x.AttributeValue},
			b.idp("saml", x.IdpRef, m{"attribute_name": trim(x.AttributeName), "attribute_value": x.AttributeValue}))
	}
	if x := r.AuthMethod; x != nil {
		b.one("authMethod", "auth_method", m{"authMethod": x.AuthMethod}, m{"auth_method": trim(x.AuthMethod)})
	}
	if x := r.AuthContext; x != nil {
		b.one("authContext", "auth_context", m{"id": x.ID, "acId": x.AcID},
			b.idp("authContext", x.IdpRef, m{"id": trim(x.ID), "ac_id": trim(x.AcID)}))
	}
	if x := r.LoginMethod; x != nil {
		// The API's login_method rule names the provider as its id.
		if x.IdpRef == nil || *x.IdpRef == (v1alpha2.ObjectRef{}) {
			ps.add(field+".loginMethod.idpRef", "is required: the identity provider users must have logged in with")
		}
		id := b.idp("loginMethod", x.IdpRef, m{})["identity_provider_id"]
		b.one("loginMethod", "login_method", nil, m{"id": id})
	}
	if x := r.ExternalEvaluation; x != nil {
		b.one("externalEvaluation", "external_evaluation", m{"evaluateUrl": x.EvaluateURL, "keysUrl": x.KeysURL},
			m{"evaluate_url": trim(x.EvaluateURL), "keys_url": trim(x.KeysURL)})
	}

	switch {
	case len(b.set) == 0:
		ps.add(field, "sets no rule type (e.g. email, emailDomain, everyone: true)")
		return nil
	case len(b.set) > 1:
		ps.add(field, "sets %s: a rule has exactly one rule type; give each its own list entry", strings.Join(b.set, " and "))
		return nil
	}
	return b.out
}

func nonEmptyValue(v string) string {
	if v == "" {
		return "is empty"
	}
	return ""
}

// checkIPRange returns why s is not an IP address or CIDR range the
// Access ip rule takes, or "".
func checkIPRange(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			return fmt.Sprintf("%s has host bits set; the range is %s", s, p.Masked())
		}
		return ""
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return ""
	}
	return fmt.Sprintf("%q is not an IP address or CIDR range such as 10.0.0.0/8", s)
}

// checkCountry returns why s is not a two-letter country code, or "".
func checkCountry(s string) string {
	if len(s) != 2 || strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return fmt.Sprintf("%q is not a two-letter ISO 3166-1 country code such as US", s)
	}
	return ""
}

func upper(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	return out
}
