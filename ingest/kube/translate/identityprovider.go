package translate

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// AccessIdentityProviderTarget names the cloudflare.AccessIdentityProvider
// target of a (cluster-scoped) AccessIdentityProvider.
func AccessIdentityProviderTarget(name string) string { return "AccessIdentityProvider/" + name }

// AccessIdentityProvider translates an AccessIdentityProvider: a provider
// named spec.name (else the object's name) of spec.type with spec.config
// in the API's field names and spec.scimConfig. A secret written into the
// object (config.clientSecret, config.apiToken, scimConfig.secret) is
// refused: it would be stored in conflux-sync's log. The client secret
// comes from configSecretRef instead (a field cloudflare-operator
// declared but never read), in conflux-sync's namespace unless it names
// one. The provider cloudflare-operator recorded in status.providerId is
// taken over.
func AccessIdentityProvider(p *v1alpha2.AccessIdentityProvider, l Lookup, o Options) Result {
	var ps problems
	b := &builder{gen: generation(&p.ObjectMeta)}
	s := &p.Spec
	spec := api.AccessIdentityProviderSpec{Name: cmp.Or(s.Name, p.Name), Type: s.Type}
	if c := s.Config; c != nil {
		spec.Config = idpConfig(c, &ps)
	}
	if r := s.ConfigSecretRef; r != nil {
		ref := api.SecretRef{Namespace: cmp.Or(r.Namespace, o.Namespace), Name: r.Name, Key: r.Key}
		if keys, ok := l.SecretKeys(ref.Namespace, ref.Name); !ok {
			ps.add("spec.configSecretRef", "Secret %s/%s not found", ref.Namespace, ref.Name)
		} else if !containsString(keys, ref.Key) {
			ps.add("spec.configSecretRef.key", "Secret %s/%s has no key %s", ref.Namespace, ref.Name, ref.Key)
		}
		spec.Secrets = map[string]api.SecretRef{"client_secret": ref}
	}
	if sc := s.ScimConfig; sc != nil {
		if sc.Secret != "" {
			ps.add("spec.scimConfig.secret", "is not taken: Cloudflare makes the SCIM secret, and a secret in the object would be stored in conflux-sync's log")
		}
		spec.ScimConfig = &api.AccessIdentityProviderScim{Enabled: deref(sc.Enabled), UserDeprovision: deref(sc.UserDeprovision),
			SeatDeprovision: deref(sc.SeatDeprovision), GroupMemberDeprovision: deref(sc.GroupMemberDeprovision), IdentityUpdateBehavior: sc.IdentityUpdateBehavior}
	}
	if id := strings.ToLower(strings.TrimSpace(p.Status.ProviderID)); id != "" && uuidRE.MatchString(id) {
		spec.TakeOver = id
	}
	c := credentials(&s.Cloudflare, o.Namespace, "spec.cloudflare", true, l, o, &ps)
	spec.Credentials = c.ref
	spec.AccountID = account(&s.Cloudflare, c, "spec.cloudflare", &ps)
	b.add(api.KindAccessIdentityProvider, AccessIdentityProviderTarget(p.Name), spec)
	return b.result(ps)
}

// idpConfig is c in the API's field names; secrets are refused, SAML
// header attributes are not synced.
func idpConfig(c *v1alpha2.IdentityProviderConfig, ps *problems) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	str := func(k, v string) {
		if v != "" {
			out[k], _ = json.Marshal(v)
		}
	}
	list := func(k string, v []string) {
		if len(v) > 0 {
			out[k], _ = json.Marshal(v)
		}
	}
	flag := func(k string, v *bool) {
		if v != nil {
			out[k], _ = json.Marshal(*v)
		}
	}
	const stored = "is not taken: a secret in the object would be stored in conflux-sync's log; put it in a Secret and name it in spec.configSecretRef"
	if c.ClientSecret != "" {
		ps.add("spec.config.clientSecret", "%s", stored)
	}
	if c.APIToken != "" {
		ps.addUnsupported("spec.config.apiToken", "is not synced: a secret in the object would be stored in conflux-sync's log, and configSecretRef carries the client secret only")
	}
	if len(c.HeaderAttributes) > 0 {
		ps.addUnsupported("spec.config.headerAttributes", "is not synced yet (the Cloudflare client conflux-sync uses has no field for it), so the provider is not synced while it is set")
	}
	str("client_id", c.ClientID)
	str("apps_domain", c.AppsDomain)
	str("auth_url", c.AuthURL)
	str("token_url", c.TokenURL)
	str("certs_url", c.CertsURL)
	list("scopes", c.Scopes)
	list("attributes", c.Attributes)
	str("idp_public_cert", c.IdPPublicCert)
	str("issuer_url", c.IssuerURL)
	str("sso_target_url", c.SSOTargetURL)
	flag("sign_request", c.SignRequest)
	str("email_claim_name", c.EmailClaimName)
	str("directory_id", c.DirectoryID)
	flag("support_groups", c.SupportGroups)
	flag("pkce_enabled", c.PKCEEnabled)
	flag("conditional_access_enabled", c.ConditionalAccessEnabled)
	list("claims", c.Claims)
	str("email_attribute_name", c.EmailAttributeName)
	str("okta_account", c.OktaAccount)
	str("authorization_server_id", c.OktaAuthorizationServerID)
	str("onelogin_account", c.OneloginAccount)
	str("ping_env_id", c.PingEnvID)
	str("centrify_account", c.CentrifyAccount)
	str("centrify_app_id", c.CentrifyAppID)
	str("redirect_url", c.RedirectURL)
	if len(out) == 0 {
		return nil
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
