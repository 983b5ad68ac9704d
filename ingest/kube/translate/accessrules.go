package translate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// AccessRule is one include, exclude or require rule of cloudflare-operator's
// Access groups and policies (its AccessGroupRule): one typed field per
// rule type, in the operator's camelCase. conflux-sync turns it into the
// API's rule object(s), as the operator's controller does.
type AccessRule struct {
	Email                *AccessEmailRule              `json:"email,omitempty"`
	EmailDomain          *AccessEmailDomainRule        `json:"emailDomain,omitempty"`
	EmailList            *AccessIDRule                 `json:"emailList,omitempty"`
	Everyone             bool                          `json:"everyone,omitempty"`
	IPRanges             *AccessIPRangesRule           `json:"ipRanges,omitempty"`
	IPList               *AccessIDRule                 `json:"ipList,omitempty"`
	Country              *AccessCountryRule            `json:"country,omitempty"`
	Group                *AccessIDRule                 `json:"group,omitempty"`
	ServiceToken         *AccessServiceTokenRule       `json:"serviceToken,omitempty"`
	AnyValidServiceToken bool                          `json:"anyValidServiceToken,omitempty"`
	Certificate          bool                          `json:"certificate,omitempty"`
	CommonName           *AccessCommonNameRule         `json:"commonName,omitempty"`
	DevicePosture        *AccessDevicePostureRule      `json:"devicePosture,omitempty"`
	GSuite               *AccessIdPEmailRule           `json:"gsuite,omitempty"`
	GitHub               *AccessGitHubRule             `json:"github,omitempty"`
	Azure                *AccessIdPIDRule              `json:"azure,omitempty"`
	Okta                 *AccessIdPNameRule            `json:"okta,omitempty"`
	OIDC                 *AccessOIDCRule               `json:"oidc,omitempty"`
	SAML                 *AccessSAMLRule               `json:"saml,omitempty"`
	AuthMethod           *AccessAuthMethodRule         `json:"authMethod,omitempty"`
	AuthContext          *AccessAuthContextRule        `json:"authContext,omitempty"`
	LoginMethod          *AccessLoginMethodRule        `json:"loginMethod,omitempty"`
	ExternalEvaluation   *AccessExternalEvaluationRule `json:"externalEvaluation,omitempty"`
}

// The rule types' fields.
type (
	AccessEmailRule struct {
		Email string `json:"email"`
	}
	AccessEmailDomainRule struct {
		Domain string `json:"domain"`
	}
	// AccessIDRule is a rule naming a Cloudflare object by id: an email
	// list, an IP list, an Access group.
	AccessIDRule struct {
		ID string `json:"id"`
	}
	AccessIPRangesRule struct {
		IP []string `json:"ip"`
	}
	AccessCountryRule struct {
		Country []string `json:"country"`
	}
	AccessServiceTokenRule struct {
		TokenID string `json:"tokenId"`
	}
	AccessCommonNameRule struct {
		CommonName string `json:"commonName"`
	}
	AccessDevicePostureRule struct {
		IntegrationUID string `json:"integrationUid"`
	}
	AccessIdPEmailRule struct {
		Email  string     `json:"email"`
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessGitHubRule struct {
		Name   string     `json:"name"`
		Teams  []string   `json:"teams,omitempty"`
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessIdPIDRule struct {
		ID     string     `json:"id"`
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessIdPNameRule struct {
		Name   string     `json:"name"`
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessOIDCRule struct {
		ClaimName  string     `json:"claimName"`
		ClaimValue string     `json:"claimValue"`
		IdpRef     *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessSAMLRule struct {
		AttributeName  string     `json:"attributeName"`
		AttributeValue string     `json:"attributeValue"`
		IdpRef         *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessAuthMethodRule struct {
		AuthMethod string `json:"authMethod"`
	}
	AccessAuthContextRule struct {
		ID     string     `json:"id"`
		AcID   string     `json:"acId"`
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessLoginMethodRule struct {
		IdpRef *AccessIdP `json:"idpRef,omitempty"`
	}
	AccessExternalEvaluationRule struct {
		EvaluateURL string `json:"evaluateUrl"`
		KeysURL     string `json:"keysUrl"`
	}
	// AccessIdP names an identity provider: an AccessIdentityProvider
	// object (name), its id (cloudflareId) or its Cloudflare name.
	AccessIdP struct {
		Name           string `json:"name,omitempty"`
		CloudflareID   string `json:"cloudflareId,omitempty"`
		CloudflareName string `json:"cloudflareName,omitempty"`
	}
)

// accessRules turns a rule list into the API's rule objects. A rule sets
// exactly one rule type. A rule listing several IP ranges, countries or
// GitHub teams becomes one API rule each (the API's rule takes one), which
// keeps its meaning in include (any) and exclude (none); in require
// (all) it would not, so there several are refused (allOf).
func accessRules(field string, rules []AccessRule, allOf bool, l Lookup, ps *problems) []json.RawMessage {
	var out []json.RawMessage
	for i, r := range rules {
		f := fmt.Sprintf("%s[%d]", field, i)
		objs := accessRule(f, r, allOf, l, ps)
		for _, o := range objs {
			raw, err := json.Marshal(o)
			if err != nil {
				panic("translate: marshal an Access rule: " + err.Error())
			}
			out = append(out, raw)
		}
	}
	return out
}

type obj = map[string]any

// accessRule is one rule's API rule objects; nil with a problem when it
// cannot be one.
func accessRule(f string, r AccessRule, allOf bool, l Lookup, ps *problems) []obj {
	var set []string
	var out []obj
	one := func(name string, v obj) {
		set = append(set, name)
		out = []obj{v}
	}
	// many is a rule over a list, one API rule per entry.
	many := func(name, apiKey, apiField string, values []string) {
		set = append(set, name)
		switch {
		case len(values) == 0:
			ps.add(f+"."+name, "needs at least one entry")
			return
		case allOf && len(values) > 1:
			ps.add(f+"."+name, "lists %d entries: a require rule matches one, and all require rules must match; give one per rule, or put the list in include", len(values))
			return
		}
		out = nil
		for _, v := range values {
			out = append(out, obj{apiKey: obj{apiField: strings.TrimSpace(v)}})
		}
	}
	idp := func(name string, ref *AccessIdP) string {
		return accessIdP(f+"."+name+".idpRef", ref, l, ps)
	}
	if r.Email != nil {
		one("email", obj{"email": obj{"email": r.Email.Email}})
	}
	if r.EmailDomain != nil {
		one("emailDomain", obj{"email_domain": obj{"domain": r.EmailDomain.Domain}})
	}
	if r.EmailList != nil {
		one("emailList", obj{"email_list": obj{"id": r.EmailList.ID}})
	}
	if r.Everyone {
		one("everyone", obj{"everyone": obj{}})
	}
	if r.IPRanges != nil {
		many("ipRanges", "ip", "ip", r.IPRanges.IP)
	}
	if r.IPList != nil {
		one("ipList", obj{"ip_list": obj{"id": r.IPList.ID}})
	}
	if r.Country != nil {
		many("country", "geo", "country_code", r.Country.Country)
	}
	if r.Group != nil {
		one("group", obj{"group": obj{"id": r.Group.ID}})
	}
	if r.ServiceToken != nil {
		one("serviceToken", obj{"service_token": obj{"token_id": r.ServiceToken.TokenID}})
	}
	if r.AnyValidServiceToken {
		one("anyValidServiceToken", obj{"any_valid_service_token": obj{}})
	}
	if r.Certificate {
		one("certificate", obj{"certificate": obj{}})
	}
	if r.CommonName != nil {
		one("commonName", obj{"common_name": obj{"common_name": r.CommonName.CommonName}})
	}
	if r.DevicePosture != nil {
		one("devicePosture", obj{"device_posture": obj{"integration_uid": r.DevicePosture.IntegrationUID}})
	}
	if r.GSuite != nil {
		one("gsuite", obj{"gsuite": obj{"email": r.GSuite.Email, "identity_provider_id": idp("gsuite", r.GSuite.IdpRef)}})
	}
	if r.GitHub != nil {
		gh := r.GitHub
		id := idp("github", gh.IdpRef)
		if len(gh.Teams) == 0 {
			one("github", obj{"github-organization": obj{"name": gh.Name, "identity_provider_id": id}})
		} else {
			many("github", "github-organization", "team", gh.Teams)
			for _, o := range out {
				inner := o["github-organization"].(obj)
				inner["name"], inner["identity_provider_id"] = gh.Name, id
			}
		}
	}
	if r.Azure != nil {
		one("azure", obj{"azureAD": obj{"id": r.Azure.ID, "identity_provider_id": idp("azure", r.Azure.IdpRef)}})
	}
	if r.Okta != nil {
		one("okta", obj{"okta": obj{"name": r.Okta.Name, "identity_provider_id": idp("okta", r.Okta.IdpRef)}})
	}
	if r.OIDC != nil {
		one("oidc", obj{"oidc": obj{"claim_name": r.OIDC.ClaimName, "claim_value": r.OIDC.ClaimValue, "identity_provider_id": idp("oidc", r.OIDC.IdpRef)}})
	}
	if r.SAML != nil {
		one("saml", obj{"saml": obj{"attribute_name": r.SAML.AttributeName, "attribute_value": r.SAML.AttributeValue, "identity_provider_id": idp("saml", r.SAML.IdpRef)}})
	}
	if r.AuthMethod != nil {
		one("authMethod", obj{"auth_method": obj{"auth_method": r.AuthMethod.AuthMethod}})
	}
	if r.AuthContext != nil {
		one("authContext", obj{"auth_context": obj{"id": r.AuthContext.ID, "ac_id": r.AuthContext.AcID, "identity_provider_id": idp("authContext", r.AuthContext.IdpRef)}})
	}
	if r.LoginMethod != nil {
		one("loginMethod", obj{"login_method": obj{"id": idp("loginMethod", r.LoginMethod.IdpRef)}})
	}
	if r.ExternalEvaluation != nil {
		one("externalEvaluation", obj{"external_evaluation": obj{"evaluate_url": r.ExternalEvaluation.EvaluateURL, "keys_url": r.ExternalEvaluation.KeysURL}})
	}
	switch {
	case len(set) == 0:
		ps.add(f, "sets no rule type: give one, such as emailDomain or everyone: true")
		return nil
	case len(set) > 1:
		ps.add(f, "sets %d rule types (%s): give each its own rule", len(set), strings.Join(set, ", "))
		return nil
	}
	return out
}

// accessIdP resolves an identity provider reference to its id, the way
// an AccessApplication's identityProviderRefs are: cloudflareId as
// written, an AccessIdentityProvider object through the id
// cloudflare-operator recorded in its status.providerId.
func accessIdP(field string, ref *AccessIdP, l Lookup, ps *problems) string {
	if ref == nil {
		ps.add(field, "is required: the API needs the identity provider this rule is evaluated with")
		return ""
	}
	return accessRef(v1alpha2.ObjectRef{Name: ref.Name, CloudflareID: ref.CloudflareID, CloudflareName: ref.CloudflareName}, field, "AccessIdentityProvider", "providerId", "identity provider", "identity providers", l, ps)
}
