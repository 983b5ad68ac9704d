package access

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
)

// Between the spec's settings and cloudflare-go's application: what
// Create and Update send, and what the diff reads back. The OIDC client
// secret Cloudflare returns is never read out of a cloudflare.SaasApplication
// here, so it cannot reach the recorded ids, the diff (logs, status) or an
// error.

// wantDestinations is what the application's destinations must be: the
// spec's, or the domain alone when it gives none (the API's default).
func wantDestinations(s Spec) []api.AccessDestination {
	if !selfHosted(s.Type) {
		return nil
	}
	if len(s.Destinations) > 0 {
		return s.Destinations
	}
	return []api.AccessDestination{{Type: DestinationPublic, URI: s.Domain}}
}

func toCFDestinations(ds []api.AccessDestination) []cloudflare.AccessDestination {
	if ds == nil {
		return nil
	}
	out := make([]cloudflare.AccessDestination, len(ds))
	for i, d := range ds {
		out[i] = cloudflare.AccessDestination{Type: cloudflare.AccessDestinationType(d.Type), URI: d.URI, Hostname: d.Hostname,
			CIDR: d.CIDR, PortRange: d.PortRange, L4Protocol: d.L4Protocol, VnetID: d.VnetID}
	}
	return out
}

func fromCFDestinations(ds []cloudflare.AccessDestination) []api.AccessDestination {
	out := make([]api.AccessDestination, len(ds))
	for i, d := range ds {
		out[i] = api.AccessDestination{Type: string(d.Type), URI: canonicalDomain(d.URI), Hostname: strings.ToLower(d.Hostname),
			CIDR: d.CIDR, PortRange: d.PortRange, L4Protocol: d.L4Protocol, VnetID: strings.ToLower(d.VnetID)}
	}
	return out
}

func toCFCORS(c *api.AccessCORSHeaders) *cloudflare.AccessApplicationCorsHeaders {
	if c == nil {
		return nil
	}
	return &cloudflare.AccessApplicationCorsHeaders{
		AllowedMethods: c.AllowedMethods, AllowedOrigins: c.AllowedOrigins, AllowedHeaders: c.AllowedHeaders,
		AllowAllMethods: c.AllowAllMethods, AllowAllHeaders: c.AllowAllHeaders, AllowAllOrigins: c.AllowAllOrigins,
		AllowCredentials: c.AllowCredentials, MaxAge: c.MaxAge,
	}
}

func fromCFCORS(c *cloudflare.AccessApplicationCorsHeaders) *api.AccessCORSHeaders {
	if c == nil {
		return nil
	}
	out := &api.AccessCORSHeaders{
		AllowedMethods: sortedSet(c.AllowedMethods), AllowedOrigins: sortedSet(c.AllowedOrigins), AllowedHeaders: sortedSet(c.AllowedHeaders),
		AllowAllMethods: c.AllowAllMethods, AllowAllHeaders: c.AllowAllHeaders, AllowAllOrigins: c.AllowAllOrigins,
		AllowCredentials: c.AllowCredentials, MaxAge: c.MaxAge,
	}
	if zeroCORS(out) {
		return nil
	}
	return out
}

// zeroCORS: CORS settings that set nothing are no CORS settings.
func zeroCORS(c *api.AccessCORSHeaders) bool {
	return len(c.AllowedMethods) == 0 && len(c.AllowedOrigins) == 0 && len(c.AllowedHeaders) == 0 &&
		!c.AllowAllMethods && !c.AllowAllHeaders && !c.AllowAllOrigins && !c.AllowCredentials && c.MaxAge == 0
}

// toCFSaaS is the saas_app to send. A SAML application without a
// nameIdFormat gets the API's default, so what is sent is what is read back.
func toCFSaaS(a *api.AccessSaaSApp) *cloudflare.SaasApplication {
	if a == nil {
		return nil
	}
	out := &cloudflare.SaasApplication{AuthType: a.AuthType}
	if a.AuthType == SaaSAuthSAML {
		out.SPEntityID, out.ConsumerServiceUrl, out.NameIDFormat = a.SPEntityID, a.ConsumerServiceURL, a.NameIDFormat
		if out.NameIDFormat == "" {
			out.NameIDFormat = DefaultNameIDFormat
		}
		out.DefaultRelayState = a.DefaultRelayState
		out.NameIDTransformJsonata, out.SamlAttributeTransformJsonata = a.NameIDTransformJsonata, a.SAMLAttributeTransformJsonata
		attrs := make([]cloudflare.SAMLAttributeConfig, len(a.CustomAttributes))
		for i, at := range a.CustomAttributes {
			attrs[i] = cloudflare.SAMLAttributeConfig{Name: at.Name, NameFormat: at.NameFormat, FriendlyName: at.FriendlyName,
				Required: at.Required, Source: cloudflare.SourceConfig{Name: at.Source.Name, NameByIDP: at.Source.NameByIdP}}
		}
		out.CustomAttributes = &attrs
		return out
	}
	out.RedirectURIs, out.GrantTypes, out.Scopes = a.RedirectURIs, a.GrantTypes, a.Scopes
	out.AppLauncherURL, out.GroupFilterRegex, out.AccessTokenLifetime = a.AppLauncherURL, a.GroupFilterRegex, a.AccessTokenLifetime
	pkce := a.AllowPKCEWithoutClientSecret
	out.AllowPKCEWithoutClientSecret = &pkce
	if a.RefreshTokenLifetime != "" {
		out.RefreshTokenOptions = &cloudflare.RefreshTokenOptions{Lifetime: a.RefreshTokenLifetime}
	}
	if h := a.HybridAndImplicitOptions; h != nil {
		id, access := h.ReturnIDTokenFromAuthorizationEndpoint, h.ReturnAccessTokenFromAuthorizationEndpoint
		out.HybridAndImplicitOptions = &cloudflare.AccessApplicationHybridAndImplicitOptions{
			ReturnIDTokenFromAuthorizationEndpoint: &id, ReturnAccessTokenFromAuthorizationEndpoint: &access}
	}
	claims := make([]cloudflare.OIDCClaimConfig, len(a.CustomClaims))
	for i, c := range a.CustomClaims {
		req := c.Required
		claims[i] = cloudflare.OIDCClaimConfig{Name: c.Name, Required: &req, Scope: c.Scope,
			Source: cloudflare.SourceConfig{Name: c.Source.Name, NameByIDP: c.Source.NameByIdP}}
	}
	out.CustomClaims = &claims
	return out
}

// fromCFSaaS reads the managed SaaS fields back in canonical form; what
// Cloudflare generates (client id and secret, SSO endpoint, entity id,
// public key) is left out.
func fromCFSaaS(r *cloudflare.SaasApplication) *api.AccessSaaSApp {
	if r == nil {
		return nil
	}
	a := api.AccessSaaSApp{AuthType: r.AuthType}
	if a.AuthType == "" {
		a.AuthType = SaaSAuthSAML // the API's default, and the only kind before OIDC
	}
	if a.AuthType == SaaSAuthSAML {
		a.SPEntityID, a.ConsumerServiceURL, a.NameIDFormat = r.SPEntityID, r.ConsumerServiceUrl, r.NameIDFormat
		a.DefaultRelayState = r.DefaultRelayState
		a.NameIDTransformJsonata, a.SAMLAttributeTransformJsonata = r.NameIDTransformJsonata, r.SamlAttributeTransformJsonata
		if r.CustomAttributes != nil {
			for _, at := range *r.CustomAttributes {
				a.CustomAttributes = append(a.CustomAttributes, api.AccessSAMLAttribute{Name: at.Name, NameFormat: at.NameFormat,
					FriendlyName: at.FriendlyName, Required: at.Required, Source: fromCFSource(at.Source)})
			}
		}
		return canonicalSaaS(a)
	}
	a.RedirectURIs, a.GrantTypes, a.Scopes = r.RedirectURIs, r.GrantTypes, r.Scopes
	a.AppLauncherURL, a.GroupFilterRegex, a.AccessTokenLifetime = r.AppLauncherURL, r.GroupFilterRegex, r.AccessTokenLifetime
	a.AllowPKCEWithoutClientSecret = boolOr(r.AllowPKCEWithoutClientSecret, false)
	if r.RefreshTokenOptions != nil {
		a.RefreshTokenLifetime = r.RefreshTokenOptions.Lifetime
	}
	if h := r.HybridAndImplicitOptions; h != nil {
		o := api.AccessOIDCHybridOptions{
			ReturnIDTokenFromAuthorizationEndpoint:     boolOr(h.ReturnIDTokenFromAuthorizationEndpoint, false),
			ReturnAccessTokenFromAuthorizationEndpoint: boolOr(h.ReturnAccessTokenFromAuthorizationEndpoint, false),
		}
		if o != (api.AccessOIDCHybridOptions{}) {
			a.HybridAndImplicitOptions = &o
		}
	}
	if r.CustomClaims != nil {
		for _, c := range *r.CustomClaims {
			a.CustomClaims = append(a.CustomClaims, api.AccessOIDCClaim{Name: c.Name, Required: boolOr(c.Required, false),
				Scope: c.Scope, Source: fromCFSource(c.Source)})
		}
	}
	return canonicalSaaS(a)
}

func fromCFSource(s cloudflare.SourceConfig) api.AccessAttributeSource {
	out := api.AccessAttributeSource{Name: s.Name}
	if len(s.NameByIDP) > 0 {
		out.NameByIdP = s.NameByIDP
	}
	return out
}

// sameSaaS compares two canonical SaaS configurations, lifetimes by
// duration ("5m" is "5m0s").
func sameSaaS(remote, want *api.AccessSaaSApp) bool {
	norm := func(a *api.AccessSaaSApp) string {
		if a == nil {
			return "null"
		}
		c := *a
		c.AccessTokenLifetime, c.RefreshTokenLifetime = normDuration(c.AccessTokenLifetime), normDuration(c.RefreshTokenLifetime)
		if len(c.CustomAttributes) == 0 {
			c.CustomAttributes = nil
		}
		if len(c.CustomClaims) == 0 {
			c.CustomClaims = nil
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	return norm(remote) == norm(want)
}

func normDuration(s string) string {
	if d, ok := lifetime(s); ok {
		return d.String()
	}
	return s
}

// asJSON renders a setting for a difference line.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// settingsDifferences appends the settings in which app differs from
// spec, with the API's defaults for absent values.
func settingsDifferences(app *cloudflare.AccessApplication, spec Spec, differ func(string, bool, any, any)) {
	st := spec.AccessApplicationSettings
	differ("logo_url", app.LogoURL == st.LogoURL, app.LogoURL, st.LogoURL)
	if spec.Type != TypeBookmark {
		pages := orEmpty(sortedSet(app.CustomPages))
		differ("custom_pages", slices.Equal(pages, orEmpty(st.CustomPages)), pages, orEmpty(st.CustomPages))
	}
	if spec.Type == TypeSaaS {
		remote := fromCFSaaS(app.SaasApplication)
		differ("saas_app", sameSaaS(remote, st.SaaSApp), asJSON(remote), asJSON(st.SaaSApp))
	}
	if !selfHosted(spec.Type) {
		return
	}
	dests, want := fromCFDestinations(app.Destinations), wantDestinations(spec)
	differ("destinations", slices.Equal(dests, want), asJSON(dests), asJSON(want))
	differ("custom_deny_message", app.CustomDenyMessage == st.CustomDenyMessage, app.CustomDenyMessage, st.CustomDenyMessage)
	differ("custom_deny_url", app.CustomDenyURL == st.CustomDenyURL, app.CustomDenyURL, st.CustomDenyURL)
	differ("custom_non_identity_deny_url", app.CustomNonIdentityDenyURL == st.CustomNonIdentityDenyURL, app.CustomNonIdentityDenyURL, st.CustomNonIdentityDenyURL)
	differ("same_site_cookie_attribute", app.SameSiteCookieAttribute == st.SameSiteCookieAttribute, app.SameSiteCookieAttribute, st.SameSiteCookieAttribute)
	for _, b := range []struct {
		field      string
		remote     *bool
		def, value bool
	}{
		{"enable_binding_cookie", app.EnableBindingCookie, false, st.EnableBindingCookie},
		{"http_only_cookie_attribute", app.HttpOnlyCookieAttribute, true, boolOr(st.HTTPOnlyCookieAttribute, true)},
		{"path_cookie_attribute", app.PathCookieAttribute, false, st.PathCookieAttribute},
		{"options_preflight_bypass", app.OptionsPreflightBypass, false, st.OptionsPreflightBypass},
		{"service_auth_401_redirect", app.ServiceAuth401Redirect, false, st.ServiceAuth401Redirect},
		{"skip_interstitial", app.SkipInterstitial, false, st.SkipInterstitial},
	} {
		r := boolOr(b.remote, b.def)
		differ(b.field, r == b.value, r, b.value)
	}
	// Absent is its own value here: the account's setting applies.
	differ("allow_authenticate_via_warp", equalBoolPtr(app.AllowAuthenticateViaWarp, st.AllowAuthenticateViaWarp),
		asJSON(app.AllowAuthenticateViaWarp), asJSON(st.AllowAuthenticateViaWarp))
	cors := fromCFCORS(app.CorsHeaders)
	differ("cors_headers", asJSON(cors) == asJSON(st.CORSHeaders), asJSON(cors), asJSON(st.CORSHeaders))
}

func equalBoolPtr(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
