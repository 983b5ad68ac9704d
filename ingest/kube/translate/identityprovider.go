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
// in the API's field names and spec.scimConfig. The client secret comes
// from configSecretRef (a field cloudflare-operator declared but never
// read), in conflux-sync's namespace unless it names one. A secret
// written into the object (config.clientSecret, config.apiToken), as
// upstream manifests do, is synced without entering conflux-sync's log:
// the fragment carries a reference to the object's field
// (api.ObjectFieldRef) and the leader reads the value from the API server
// when it flushes; a Degraded note recommends configSecretRef, since
// whoever may read the object reads the secret. scimConfig.secret is not
// applied (Cloudflare makes the SCIM secret). The provider
// cloudflare-operator recorded in status.providerId is taken over.
func AccessIdentityProvider(p *v1alpha2.AccessIdentityProvider, l Lookup, o Options) Result {
	var ps, deg problems
	b := &builder{gen: generation(&p.ObjectMeta)}
	s := &p.Spec
	spec := api.AccessIdentityProviderSpec{Name: cmp.Or(s.Name, p.Name), Type: s.Type}
	if c := s.Config; c != nil {
		spec.Config = idpConfig(c, &ps)
		spec.ObjectSecrets = inlineSecrets(p, s.ConfigSecretRef != nil, &deg)
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
			deg.add("spec.scimConfig.secret", "is not applied: Cloudflare makes the SCIM secret (shown once, when SCIM is first enabled) and takes none from the client; remove it from the object, where whoever may read the object reads it")
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
	res := b.result(ps)
	if len(res.Problems) == 0 {
		res.Degraded = deg
	}
	return res
}

// inlineSecrets are references to the secrets written into p's
// spec.config, by the API's field name; deg gets a note for each (or, when
// configSecretRef is given, says the inline client secret is not used).
// The references carry the object's generation, so an edited value
// changes the fragment and the provider is written again; the value
// itself, or anything derived from it, never enters the fragment.
func inlineSecrets(p *v1alpha2.AccessIdentityProvider, secretRef bool, deg *problems) map[string]api.ObjectFieldRef {
	const note = "is applied, read from this object when conflux-sync writes the provider (never stored in its log); but whoever may read this object reads the secret: put it in a Secret and name it in spec.configSecretRef"
	out := map[string]api.ObjectFieldRef{}
	ref := func(path string) api.ObjectFieldRef {
		return api.ObjectFieldRef{APIVersion: v1alpha2.GroupVersion.String(), Kind: "AccessIdentityProvider", Name: p.Name,
			Field: path, Generation: generation(&p.ObjectMeta)}
	}
	c := p.Spec.Config
	switch {
	case c.ClientSecret != "" && secretRef:
		deg.add("spec.config.clientSecret", "is not used: spec.configSecretRef gives the client secret; remove it from the object, where whoever may read the object reads it")
	case c.ClientSecret != "":
		out["client_secret"] = ref("spec.config.clientSecret")
		deg.addApplied("spec.config.clientSecret", note)
	}
	if c.APIToken != "" {
		out["api_token"] = ref("spec.config.apiToken")
		deg.addApplied("spec.config.apiToken", note+" (configSecretRef carries the client secret only, so the API token has no other place yet)")
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// idpConfig is c in the API's field names without the secrets (see
// inlineSecrets); SAML header attributes are not synced.
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
