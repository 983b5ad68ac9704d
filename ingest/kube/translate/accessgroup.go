package translate

import (
	"encoding/json"
	"fmt"
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

// accessRule converts one rule of the CRD to the API's rule objects (one,
// or one per value of a list outside require).
func accessRule(r *v1alpha2.AccessGroupRule, field string, require bool, l Lookup, ps *problems) []rule {
	var set []string
	var out []rule
	one := func(name, key string, fields map[string]string) {
		set = append(set, name)
		out = []rule{{key: fields}}
	}
	// each makes one rule per value; in a require list only one value is
	// possible.
	each := func(name, listField, key, apiField string, values []string, check func(string) string) {
		set = append(set, name)
		out = nil
		f := field + "." + name + "." + listField
		switch {
		case len(values) == 0:
			ps.add(f, "needs at least one value")
			return
		case require && len(values) > 1:
			ps.add(f, "lists %d values, but every require rule must match and an Access rule holds one value (cloudflare-operator sent only the first, %s): put the alternatives in the include rules of another AccessGroup and require that group (group.id: its status.groupId), or keep one value", len(values), values[0])
			return
		}
		for j, v := range values {
			v = strings.TrimSpace(v)
			if reason := check(v); reason != "" {
				ps.add(fmt.Sprintf("%s[%d]", f, j), "%s", reason)
				continue
			}
			out = append(out, rule{key: {apiField: v}})
		}
	}
	required := func(name string, values map[string]string) bool {
		ok := true
		for _, k := range sortedKeys(values) {
			if strings.TrimSpace(values[k]) == "" {
				ps.add(field+"."+name+"."+k, "is required")
				ok = false
			}
		}
		return ok
	}
	idp := func(name string, ref *v1alpha2.ObjectRef, fields map[string]string) map[string]string {
		if ref == nil || *ref == (v1alpha2.ObjectRef{}) {
			return fields
		}
		if id := accessRef(*ref, field+"."+name+".idpRef", "AccessIdentityProvider", "providerId", "identity provider", "identity providers", l, ps); id != "" {
			fields["identity_provider_id"] = id
		}
		return fields
	}

	if x := r.Email; x != nil && required("email", map[string]string{"email": x.Email}) {
		one("email", "email", map[string]string{"email": strings.TrimSpace(x.Email)})
	} else if x != nil {
		set = append(set, "email")
	}
	if x := r.EmailDomain; x != nil && required("emailDomain", map[string]string{"domain": x.Domain}) {
		one("emailDomain", "email_domain", map[string]string{"domain": strings.TrimSpace(x.Domain)})
	} else if x != nil {
		set = append(set, "emailDomain")
	}
	if x := r.EmailList; x != nil && required("emailList", map[string]string{"id": x.ID}) {
		one("emailList", "email_list", map[string]string{"id": strings.TrimSpace(x.ID)})
	} else if x != nil {
		set = append(set, "emailList")
	}
	if r.Everyone {
		one("everyone", "everyone", map[string]string{})
	}
	if x := r.IPRanges; x != nil {
		each("ipRanges", "ip", "ip", "ip", x.IP, checkIPRange)
	}
	if x := r.IPList; x != nil && required("ipList", map[string]string{"id": x.ID}) {
		one("ipList", "ip_list", map[string]string{"id": strings.TrimSpace(x.ID)})
	} else if x != nil {
		set = append(set, "ipList")
	}
	if x := r.Country; x != nil {
		each("country", "country", "geo", "country_code", upper(x.Country), checkCountry)
	}
	if x := r.Group; x != nil && required("group", map[string]string{"id": x.ID}) {
		one("group", "group", map[string]string{"id": strings.TrimSpace(x.ID)})
	} else if x != nil {
		set = append(set, "group")
	}
	if x := r.ServiceToken; x != nil && required("serviceToken", map[string]string{"tokenId": x.TokenID}) {
		one("serviceToken", "service_token", map[string]string{"token_id": strings.TrimSpace(x.TokenID)})
	} else if x != nil {
		set = append(set, "serviceToken")
	}
	if r.AnyValidServiceToken {
		one("anyValidServiceToken", "any_valid_service_token", map[string]string{})
	}
	if r.Certificate {
		one("certificate", "certificate", map[string]string{})
	}
	if x := r.CommonName; x != nil && required("commonName", map[string]string{"commonName": x.CommonName}) {
		one("commonName", "common_name", map[string]string{"common_name": strings.TrimSpace(x.CommonName)})
	} else if x != nil {
		set = append(set, "commonName")
	}
	if x := r.DevicePosture; x != nil && required("devicePosture", map[string]string{"integrationUid": x.IntegrationUID}) {
		one("devicePosture", "device_posture", map[string]string{"integration_uid": strings.TrimSpace(x.IntegrationUID)})
	} else if x != nil {
		set = append(set, "devicePosture")
	}
	if x := r.GSuite; x != nil && required("gsuite", map[string]string{"email": x.Email}) {
		one("gsuite", "gsuite", idp("gsuite", x.IdpRef, map[string]string{"email": strings.TrimSpace(x.Email)}))
	} else if x != nil {
		set = append(set, "gsuite")
	}
	if x := r.GitHub; x != nil && required("github", map[string]string{"name": x.Name}) {
		base := idp("github", x.IdpRef, map[string]string{"name": strings.TrimSpace(x.Name)})
		if len(x.Teams) == 0 {
			one("github", "github-organization", base)
		} else {
			each("github", "teams", "github-organization", "team", x.Teams, func(v string) string {
				if v == "" {
					return "is empty"
				}
				return ""
			})
			for _, o := range out {
				for k, v := range base {
					o["github-organization"][k] = v
				}
			}
		}
	} else if x != nil {
		set = append(set, "github")
	}
	if x := r.Azure; x != nil && required("azure", map[string]string{"id": x.ID}) {
		one("azure", "azureAD", idp("azure", x.IdpRef, map[string]string{"id": strings.TrimSpace(x.ID)}))
	} else if x != nil {
		set = append(set, "azure")
	}
	if x := r.Okta; x != nil && required("okta", map[string]string{"name": x.Name}) {
		one("okta", "okta", idp("okta", x.IdpRef, map[string]string{"name": strings.TrimSpace(x.Name)}))
	} else if x != nil {
		set = append(set, "okta")
	}
	if x := r.OIDC; x != nil && required("oidc", map[string]string{"claimName": x.ClaimName, "claimValue": x.ClaimValue}) {
		one("oidc", "oidc", idp("oidc", x.IdpRef, map[string]string{"claim_name": strings.TrimSpace(x.ClaimName), "claim_value": x.ClaimValue}))
	} else if x != nil {
		set = append(set, "oidc")
	}
	if x := r.SAML; x != nil && required("saml", map[string]string{"attributeName": x.AttributeName, "attributeValue": x.AttributeValue}) {
		one("saml", "saml", idp("saml", x.IdpRef, map[string]string{"attribute_name": strings.TrimSpace(x.AttributeName), "attribute_value": x.AttributeValue}))
	} else if x != nil {
		set = append(set, "saml")
	}
	if x := r.AuthMethod; x != nil && required("authMethod", map[string]string{"authMethod": x.AuthMethod}) {
		one("authMethod", "auth_method", map[string]string{"auth_method": strings.TrimSpace(x.AuthMethod)})
	} else if x != nil {
		set = append(set, "authMethod")
	}
	if x := r.AuthContext; x != nil && required("authContext", map[string]string{"id": x.ID, "acId": x.AcID}) {
		one("authContext", "auth_context", idp("authContext", x.IdpRef, map[string]string{"id": strings.TrimSpace(x.ID), "ac_id": strings.TrimSpace(x.AcID)}))
	} else if x != nil {
		set = append(set, "authContext")
	}
	if x := r.LoginMethod; x != nil {
		fields := idp("loginMethod", x.IdpRef, map[string]string{})
		if x.IdpRef == nil || *x.IdpRef == (v1alpha2.ObjectRef{}) {
			ps.add(field+".loginMethod.idpRef", "is required: the identity provider users must have logged in with")
		}
		// The API's login_method rule names the provider as id.
		if id := fields["identity_provider_id"]; id != "" {
			one("loginMethod", "login_method", map[string]string{"id": id})
		} else {
			set = append(set, "loginMethod")
		}
	}
	if x := r.ExternalEvaluation; x != nil && required("externalEvaluation", map[string]string{"evaluateUrl": x.EvaluateURL, "keysUrl": x.KeysURL}) {
		one("externalEvaluation", "external_evaluation", map[string]string{"evaluate_url": strings.TrimSpace(x.EvaluateURL), "keys_url": strings.TrimSpace(x.KeysURL)})
	} else if x != nil {
		set = append(set, "externalEvaluation")
	}

	switch {
	case len(set) == 0:
		ps.add(field, "sets no rule type (e.g. email, emailDomain, everyone: true)")
		return nil
	case len(set) > 1:
		ps.add(field, "sets %s: a rule has exactly one rule type; give each its own list entry", strings.Join(set, " and "))
		return nil
	}
	return out
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
