package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/kube/apis/networking/v1alpha2"
)

// The AccessApplication settings beyond the basics, from cloudflare-operator's
// schema (the JSON-typed fields are decoded in its field names) onto the
// cloudflare.AccessApplication spec. The kind validates the values (and
// which application type takes which); this only moves them across.

// skDestination is cloudflare-operator's AccessDestination.
type skDestination struct {
	Type       string       `json:"type"`
	URI        string       `json:"uri,omitempty"`
	Hostname   string       `json:"hostname,omitempty"`
	CIDR       string       `json:"cidr,omitempty"`
	PortRange  string       `json:"portRange,omitempty"`
	L4Protocol string       `json:"l4Protocol,omitempty"`
	VnetRef    *skObjectRef `json:"vnetRef,omitempty"`
}

type skObjectRef struct {
	Name           string `json:"name,omitempty"`
	CloudflareID   string `json:"cloudflareId,omitempty"`
	CloudflareName string `json:"cloudflareName,omitempty"`
}

// skSaaSApp is cloudflare-operator's SaasApplicationConfig: the spec's
// AccessSaaSApp but for refreshTokenOptions.
type skSaaSApp struct {
	AuthType                      string                    `json:"authType"`
	ConsumerServiceURL            string                    `json:"consumerServiceUrl,omitempty"`
	SPEntityID                    string                    `json:"spEntityId,omitempty"`
	NameIDFormat                  string                    `json:"nameIdFormat,omitempty"`
	DefaultRelayState             string                    `json:"defaultRelayState,omitempty"`
	CustomAttributes              []api.AccessSAMLAttribute `json:"customAttributes,omitempty"`
	NameIDTransformJsonata        string                    `json:"nameIdTransformJsonata,omitempty"`
	SAMLAttributeTransformJsonata string                    `json:"samlAttributeTransformJsonata,omitempty"`
	RedirectURIs                  []string                  `json:"redirectUris,omitempty"`
	GrantTypes                    []string                  `json:"grantTypes,omitempty"`
	Scopes                        []string                  `json:"scopes,omitempty"`
	AppLauncherURL                string                    `json:"appLauncherUrl,omitempty"`
	GroupFilterRegex              string                    `json:"groupFilterRegex,omitempty"`
	CustomClaims                  []api.AccessOIDCClaim     `json:"customClaims,omitempty"`
	AllowPKCEWithoutClientSecret  *bool                     `json:"allowPkceWithoutClientSecret,omitempty"`
	AccessTokenLifetime           string                    `json:"accessTokenLifetime,omitempty"`
	RefreshTokenOptions           *struct {
		Lifetime string `json:"lifetime,omitempty"`
	} `json:"refreshTokenOptions,omitempty"`
	HybridAndImplicitOptions *struct {
		ReturnIDTokenFromAuthorizationEndpoint     *bool `json:"returnIdTokenFromAuthorizationEndpoint,omitempty"`
		ReturnAccessTokenFromAuthorizationEndpoint *bool `json:"returnAccessTokenFromAuthorizationEndpoint,omitempty"`
	} `json:"hybridAndImplicitOptions,omitempty"`
}

// decodeSK decodes one JSON-typed field strictly: a member the schema
// does not have is a Problem naming it, not silently dropped.
func decodeSK(raw []byte, field string, v any, ps *problems) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ps.add(field, "is not what cloudflare-operator's schema allows: %v", err)
		return false
	}
	return true
}

// accessSettings moves the settings of s onto spec. A saas application's
// domain is Cloudflare's, so the one the manifest must give is not sent.
func accessSettings(s *v1alpha2.AccessApplicationSpec, spec *api.AccessApplicationSpec, l Lookup, ps *problems) {
	st := &spec.AccessApplicationSettings
	st.CustomDenyMessage, st.CustomDenyURL, st.CustomNonIdentityDenyURL = s.CustomDenyMessage, s.CustomDenyURL, s.CustomNonIdentityDenyURL
	st.CustomPages = s.CustomPages
	st.EnableBindingCookie = deref(s.EnableBindingCookie)
	st.HTTPOnlyCookieAttribute = cloneBool(s.HTTPOnlyCookieAttribute)
	st.SameSiteCookieAttribute = s.SameSiteCookieAttribute
	st.PathCookieAttribute = deref(s.PathCookieAttribute)
	st.LogoURL = s.LogoURL
	st.OptionsPreflightBypass = deref(s.OptionsPreflightBypass)
	st.ServiceAuth401Redirect = deref(s.ServiceAuth401Redirect)
	st.SkipInterstitial = deref(s.SkipInterstitial)
	st.AllowAuthenticateViaWarp = cloneBool(s.AllowAuthenticateViaWarp)
	if s.CorsHeaders != nil {
		var c api.AccessCORSHeaders
		if decodeSK(s.CorsHeaders.Raw, "spec.corsHeaders", &c, ps) {
			st.CORSHeaders = &c
		}
	}
	if s.SaasApp != nil {
		st.SaaSApp = saasApp(s.SaasApp, ps)
	}
	if spec.Type == "saas" {
		spec.Domain = ""
	}
	if (spec.Type == "saas" || spec.Type == "bookmark") && spec.SessionDuration == "24h" {
		// The schema's default, not the user's: these types have no session.
		spec.SessionDuration = ""
	}
	st.Destinations = accessDestinations(s, spec.Domain, l, ps)
}

func saasApp(j *apiextensionsv1.JSON, ps *problems) *api.AccessSaaSApp {
	var sk skSaaSApp
	if !decodeSK(j.Raw, "spec.saasApp", &sk, ps) {
		return nil
	}
	a := &api.AccessSaaSApp{
		AuthType: sk.AuthType, SPEntityID: sk.SPEntityID, ConsumerServiceURL: sk.ConsumerServiceURL, NameIDFormat: sk.NameIDFormat,
		DefaultRelayState: sk.DefaultRelayState, CustomAttributes: sk.CustomAttributes,
		NameIDTransformJsonata: sk.NameIDTransformJsonata, SAMLAttributeTransformJsonata: sk.SAMLAttributeTransformJsonata,
		RedirectURIs: sk.RedirectURIs, GrantTypes: grantTypes(sk.GrantTypes), Scopes: sk.Scopes, AppLauncherURL: sk.AppLauncherURL,
		GroupFilterRegex: sk.GroupFilterRegex, CustomClaims: sk.CustomClaims,
		AllowPKCEWithoutClientSecret: deref(sk.AllowPKCEWithoutClientSecret), AccessTokenLifetime: sk.AccessTokenLifetime,
	}
	if sk.RefreshTokenOptions != nil {
		a.RefreshTokenLifetime = sk.RefreshTokenOptions.Lifetime
	}
	if h := sk.HybridAndImplicitOptions; h != nil {
		o := api.AccessOIDCHybridOptions{
			ReturnIDTokenFromAuthorizationEndpoint:     deref(h.ReturnIDTokenFromAuthorizationEndpoint),
			ReturnAccessTokenFromAuthorizationEndpoint: deref(h.ReturnAccessTokenFromAuthorizationEndpoint),
		}
		if o != (api.AccessOIDCHybridOptions{}) {
			a.HybridAndImplicitOptions = &o
		}
	}
	return a
}

// grantTypes reads StringKe's OIDC grant types. Its documented sample
// spells the refresh grant "refresh_token", which cloudflare-operator
// passed on and the API refuses; the API's name is "refresh_tokens", and
// there is no other grant it could mean.
func grantTypes(in []string) []string {
	out := slices.Clone(in)
	for i, g := range out {
		if g == "refresh_token" {
			out[i] = "refresh_tokens"
		}
	}
	return out
}

// accessDestinations joins what cloudflare-operator protects: the domain,
// selfHostedDomains and destinations, the domain first (the API shows the
// application under its first public destination), each once. Only the
// domain: none (the kind's default). A vnetRef resolves to an id as a
// route's virtualNetworkRef does: cloudflareId, or the VirtualNetwork's
// status.virtualNetworkId.
func accessDestinations(s *v1alpha2.AccessApplicationSpec, domain string, l Lookup, ps *problems) []api.AccessDestination {
	if len(s.SelfHostedDomains) == 0 && len(s.Destinations) == 0 {
		return nil
	}
	var out []api.AccessDestination
	seen := map[api.AccessDestination]bool{}
	add := func(d api.AccessDestination) {
		key := d
		key.URI, key.Hostname = strings.ToLower(key.URI), strings.ToLower(key.Hostname)
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	if domain != "" {
		add(api.AccessDestination{Type: "public", URI: domain})
	}
	for _, h := range s.SelfHostedDomains {
		add(api.AccessDestination{Type: "public", URI: strings.TrimSpace(h)})
	}
	for i, raw := range s.Destinations {
		f := fmt.Sprintf("spec.destinations[%d]", i)
		var sk skDestination
		if !decodeSK(raw.Raw, f, &sk, ps) {
			continue
		}
		d := api.AccessDestination{Type: sk.Type, URI: sk.URI, Hostname: sk.Hostname, CIDR: sk.CIDR, PortRange: sk.PortRange, L4Protocol: sk.L4Protocol}
		if sk.VnetRef != nil {
			d.VnetID = destinationVnet(*sk.VnetRef, f+".vnetRef", l, ps)
		}
		add(d)
	}
	return out
}

func destinationVnet(ref skObjectRef, field string, l Lookup, ps *problems) string {
	switch {
	case ref.CloudflareID != "":
		id := strings.ToLower(strings.TrimSpace(ref.CloudflareID))
		if !uuidRE.MatchString(id) {
			ps.add(field+".cloudflareId", "%q is not a virtual network id (a UUID)", ref.CloudflareID)
		}
		return id
	case ref.Name != "":
		v, ok := l.StatusField("VirtualNetwork", "", ref.Name, "virtualNetworkId")
		v = strings.ToLower(strings.TrimSpace(v))
		switch {
		case !ok:
			ps.add(field+".name", "VirtualNetwork %s not found: conflux-sync reads the id recorded in its status.virtualNetworkId; give the id as cloudflareId", ref.Name)
		case v == "":
			ps.addUnsupported(field+".name", "VirtualNetwork %s has no status.virtualNetworkId yet: the destination needs the network's id; give it as cloudflareId", ref.Name)
		case !uuidRE.MatchString(v):
			ps.add(field+".name", "VirtualNetwork %s has status.virtualNetworkId %q, which is not a virtual network id (a UUID)", ref.Name, v)
		}
		return v
	case ref.CloudflareName != "":
		ps.addUnsupported(field+".cloudflareName", "finding the virtual network by its Cloudflare name is not supported yet: give its id as cloudflareId, or name the VirtualNetwork object")
	}
	return ""
}
