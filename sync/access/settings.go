package access

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/conflux-sync/conflux-sync/api"
)

// The settings beyond name, domain, type and the lists: which application
// types take which, their validation and canonical form. Types and fields
// follow the API's application schemas: self_hosted, ssh and vnc share the
// self-hosted schema; saas has saas_app and no domain, session or cookie
// settings; bookmark is a link in the App Launcher (domain, logo, tags).

// Values the settings take.
const (
	DestinationPublic  = "public"
	DestinationPrivate = "private"

	SaaSAuthSAML = "saml"
	SaaSAuthOIDC = "oidc"

	// DefaultNameIDFormat is the API's name_id_format of a SAML
	// application that gives none.
	DefaultNameIDFormat = "email"
)

var (
	// notSynced are the API's application types this kind refuses, with why.
	notSynced = map[string]string{
		"app_launcher":   "the App Launcher is the account's one built-in application, with no domain of its own",
		"warp":           "the WARP login application is the account's one built-in application, with no domain of its own",
		"biso":           "the browser isolation application is the account's one built-in application, with no domain of its own",
		"dash_sso":       "the dashboard SSO application is managed by Cloudflare",
		"infrastructure": "infrastructure applications' target criteria are not synced",
	}
	sameSiteValues  = []string{"strict", "lax", "none"}
	corsMethods     = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
	nameIDFormats   = []string{"email", "id"}
	samlNameFormats = []string{
		"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
		"urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
		"urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
	}
	grantTypes  = []string{"authorization_code", "authorization_code_with_pkce", "refresh_tokens", "hybrid", "implicit"}
	oidcScopes  = []string{"openid", "groups", "email", "profile"}
	l4Protocols = []string{"tcp", "udp"}
)

const (
	maxCORSMaxAge  = 86400
	maxDenyMessage = 1024
	maxURLLen      = 2048
)

// setting is a field of the spec and whether the spec sets it.
type setting struct {
	field string
	set   bool
}

// selfHosted says whether typ has the self-hosted schema (domain,
// destinations, session, cookies, deny pages, CORS).
func selfHosted(typ string) bool {
	return typ == "" || typ == TypeSelfHosted || typ == TypeSSH || typ == TypeVNC
}

func checkType(typ string) *api.FieldError {
	switch typ {
	case "", TypeSelfHosted, TypeSSH, TypeVNC, TypeSaaS, TypeBookmark:
		return nil
	}
	if why, ok := notSynced[typ]; ok {
		return &api.FieldError{Field: "spec.type", Reason: fmt.Sprintf("%s applications are not synced (%s); conflux-sync syncs %s", typ, why, syncedTypes)}
	}
	return &api.FieldError{Field: "spec.type", Reason: fmt.Sprintf("is %q; must be one of %s", typ, syncedTypes)}
}

const syncedTypes = "self_hosted, ssh, vnc, saas and bookmark"

func notForType(field, typ string) *api.FieldError {
	if typ == "" {
		typ = DefaultType
	}
	return &api.FieldError{Field: field, Reason: fmt.Sprintf("is not a setting of %s applications", typ)}
}

// firstPublic is the first public destination's URI, the application's
// domain when the spec gives none.
func firstPublic(ds []api.AccessDestination) string {
	for _, d := range ds {
		if d.Type == DestinationPublic {
			return canonicalDomain(d.URI)
		}
	}
	return ""
}

// checkSettings checks the settings and which type may have them, as the
// API refuses them.
func checkSettings(s *Spec) *api.FieldError {
	st := &s.AccessApplicationSettings
	typ := s.Type
	// Fields of the self-hosted schema only.
	if !selfHosted(typ) {
		for _, f := range []setting{
			{"spec.destinations", len(st.Destinations) > 0},
			{"spec.customDenyMessage", st.CustomDenyMessage != ""},
			{"spec.customDenyUrl", st.CustomDenyURL != ""},
			{"spec.customNonIdentityDenyUrl", st.CustomNonIdentityDenyURL != ""},
			{"spec.enableBindingCookie", st.EnableBindingCookie},
			{"spec.httpOnlyCookieAttribute", st.HTTPOnlyCookieAttribute != nil},
			{"spec.sameSiteCookieAttribute", st.SameSiteCookieAttribute != ""},
			{"spec.pathCookieAttribute", st.PathCookieAttribute},
			{"spec.optionsPreflightBypass", st.OptionsPreflightBypass},
			{"spec.serviceAuth401Redirect", st.ServiceAuth401Redirect},
			{"spec.skipInterstitial", st.SkipInterstitial},
			{"spec.allowAuthenticateViaWarp", st.AllowAuthenticateViaWarp != nil},
			{"spec.corsHeaders", st.CORSHeaders != nil},
		} {
			if f.set {
				return notForType(f.field, typ)
			}
		}
	}
	if typ == TypeBookmark {
		for _, f := range []setting{
			{"spec.policies", len(s.Policies) > 0},
			{"spec.allowedIdps", len(s.AllowedIdps) > 0},
			{"spec.autoRedirectToIdentity", s.AutoRedirectToIdentity},
			{"spec.customPages", len(st.CustomPages) > 0},
		} {
			if f.set {
				return notForType(f.field, typ)
			}
		}
	}
	switch {
	case typ == TypeSaaS && st.SaaSApp == nil:
		return &api.FieldError{Field: "spec.saasApp", Reason: "is required for a saas application"}
	case typ != TypeSaaS && st.SaaSApp != nil:
		return &api.FieldError{Field: "spec.saasApp", Reason: "is only for type saas"}
	}
	if fe := checkDestinations(s); fe != nil {
		return fe
	}
	if st.CustomDenyMessage != "" {
		switch {
		case utf8.RuneCountInString(st.CustomDenyMessage) > maxDenyMessage:
			return &api.FieldError{Field: "spec.customDenyMessage", Reason: fmt.Sprintf("is longer than %d characters", maxDenyMessage)}
		case strings.IndexFunc(st.CustomDenyMessage, unicode.IsControl) >= 0:
			return &api.FieldError{Field: "spec.customDenyMessage", Reason: "must not contain control characters"}
		}
	}
	for _, u := range []struct{ field, value string }{
		{"spec.customDenyUrl", st.CustomDenyURL},
		{"spec.customNonIdentityDenyUrl", st.CustomNonIdentityDenyURL},
		{"spec.logoUrl", st.LogoURL},
	} {
		if fe := checkURL(u.field, u.value); fe != nil {
			return fe
		}
	}
	if fe := checkList("spec.customPages", st.CustomPages); fe != nil {
		return fe
	}
	if v := st.SameSiteCookieAttribute; v != "" && !slices.Contains(sameSiteValues, v) {
		return &api.FieldError{Field: "spec.sameSiteCookieAttribute", Reason: fmt.Sprintf("is %q; must be \"strict\", \"lax\" or \"none\"", v)}
	}
	if st.CORSHeaders != nil {
		if st.OptionsPreflightBypass {
			return &api.FieldError{Field: "spec.optionsPreflightBypass", Reason: "cannot be turned on with corsHeaders: Access either answers preflight requests itself (corsHeaders) or lets them through to the origin"}
		}
		if fe := checkCORS(st.CORSHeaders); fe != nil {
			return fe
		}
	}
	if st.SaaSApp != nil {
		return checkSaaS(st.SaaSApp)
	}
	return nil
}

func checkURL(field, v string) *api.FieldError {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	switch {
	case len(v) > maxURLLen:
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("is longer than %d characters", maxURLLen)}
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(v, " \t\r\n"):
		return &api.FieldError{Field: field, Reason: fmt.Sprintf("%q is not an absolute http(s) URL", v)}
	}
	return nil
}

func checkDestinations(s *Spec) *api.FieldError {
	ds := s.Destinations
	if len(ds) > maxList {
		return &api.FieldError{Field: "spec.destinations", Reason: fmt.Sprintf("has %d entries; at most %d", len(ds), maxList)}
	}
	seen := make(map[api.AccessDestination]int, len(ds))
	for i, d := range ds {
		f := "spec.destinations[" + strconv.Itoa(i) + "]"
		switch d.Type {
		case DestinationPublic:
			if d.Hostname != "" || d.CIDR != "" || d.PortRange != "" || d.L4Protocol != "" || d.VnetID != "" {
				return &api.FieldError{Field: f, Reason: "a public destination has only a uri (hostname, cidr, portRange, l4Protocol and vnetId are for private destinations)"}
			}
			if reason := checkDomain(d.URI); reason != "" {
				return &api.FieldError{Field: f + ".uri", Reason: reason}
			}
			d.URI = canonicalDomain(d.URI)
		case DestinationPrivate:
			if fe := checkPrivate(f, d); fe != nil {
				return fe
			}
			d.Hostname = strings.ToLower(d.Hostname)
		default:
			return &api.FieldError{Field: f + ".type", Reason: fmt.Sprintf("is %q; must be \"public\" or \"private\"", d.Type)}
		}
		if j, dup := seen[d]; dup {
			return &api.FieldError{Field: f, Reason: fmt.Sprintf("duplicates spec.destinations[%d]", j)}
		}
		seen[d] = i
	}
	if first := firstPublic(ds); first != "" && s.Domain != "" && canonicalDomain(s.Domain) != first {
		return &api.FieldError{Field: "spec.domain", Reason: fmt.Sprintf("must be the first public destination's uri (%q) when destinations are given: the API shows the application under it", first)}
	}
	return nil
}

func checkPrivate(f string, d api.AccessDestination) *api.FieldError {
	switch {
	case d.URI != "":
		return &api.FieldError{Field: f + ".uri", Reason: "is for public destinations; a private one has hostname or cidr"}
	case (d.Hostname == "") == (d.CIDR == ""):
		return &api.FieldError{Field: f, Reason: "a private destination has exactly one of hostname and cidr"}
	}
	if d.Hostname != "" {
		if reason := checkHostname(d.Hostname); reason != "" || strings.HasPrefix(d.Hostname, "*") {
			if reason == "" {
				reason = "must not be a wildcard"
			}
			return &api.FieldError{Field: f + ".hostname", Reason: reason}
		}
	}
	if d.CIDR != "" {
		if p, err := netip.ParsePrefix(d.CIDR); err != nil || p.Masked() != p {
			return &api.FieldError{Field: f + ".cidr", Reason: fmt.Sprintf("%q is not a network in CIDR notation (e.g. 10.0.0.0/24; host bits zero)", d.CIDR)}
		}
	}
	if d.PortRange != "" {
		lo, hi, isRange := strings.Cut(d.PortRange, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return &api.FieldError{Field: f + ".portRange", Reason: fmt.Sprintf("%q is not a port or a range such as 8000-8099 (1-65535)", d.PortRange)}
		}
	}
	if d.L4Protocol != "" && !slices.Contains(l4Protocols, d.L4Protocol) {
		return &api.FieldError{Field: f + ".l4Protocol", Reason: fmt.Sprintf("is %q; must be \"tcp\" or \"udp\"", d.L4Protocol)}
	}
	if d.VnetID != "" && checkID(d.VnetID) != "" {
		return &api.FieldError{Field: f + ".vnetId", Reason: "must be a virtual network id (a UUID)"}
	}
	return nil
}

func checkCORS(c *api.AccessCORSHeaders) *api.FieldError {
	for i, m := range c.AllowedMethods {
		if !slices.Contains(corsMethods, m) {
			return &api.FieldError{Field: fmt.Sprintf("spec.corsHeaders.allowedMethods[%d]", i), Reason: fmt.Sprintf("is %q; must be one of %s", m, strings.Join(corsMethods, ", "))}
		}
	}
	for _, l := range []struct {
		field string
		vals  []string
	}{{"spec.corsHeaders.allowedOrigins", c.AllowedOrigins}, {"spec.corsHeaders.allowedHeaders", c.AllowedHeaders}} {
		if fe := checkList(l.field, l.vals); fe != nil {
			return fe
		}
	}
	if c.MaxAge < -1 || c.MaxAge > maxCORSMaxAge {
		return &api.FieldError{Field: "spec.corsHeaders.maxAge", Reason: fmt.Sprintf("is %d; must be between -1 and %d seconds", c.MaxAge, maxCORSMaxAge)}
	}
	return nil
}

// samlOnly and oidcOnly name each protocol's fields, to refuse them on the other.
func samlOnly(a *api.AccessSaaSApp) []setting {
	return []setting{
		{"spEntityId", a.SPEntityID != ""}, {"consumerServiceUrl", a.ConsumerServiceURL != ""},
		{"nameIdFormat", a.NameIDFormat != ""}, {"defaultRelayState", a.DefaultRelayState != ""},
		{"customAttributes", len(a.CustomAttributes) > 0}, {"nameIdTransformJsonata", a.NameIDTransformJsonata != ""},
		{"samlAttributeTransformJsonata", a.SAMLAttributeTransformJsonata != ""},
	}
}

func oidcOnly(a *api.AccessSaaSApp) []setting {
	return []setting{
		{"redirectUris", len(a.RedirectURIs) > 0}, {"grantTypes", len(a.GrantTypes) > 0}, {"scopes", len(a.Scopes) > 0},
		{"appLauncherUrl", a.AppLauncherURL != ""}, {"groupFilterRegex", a.GroupFilterRegex != ""},
		{"customClaims", len(a.CustomClaims) > 0}, {"allowPkceWithoutClientSecret", a.AllowPKCEWithoutClientSecret},
		{"accessTokenLifetime", a.AccessTokenLifetime != ""}, {"refreshTokenLifetime", a.RefreshTokenLifetime != ""},
		{"hybridAndImplicitOptions", a.HybridAndImplicitOptions != nil},
	}
}

func checkSaaS(a *api.AccessSaaSApp) *api.FieldError {
	const p = "spec.saasApp."
	var other []setting
	switch a.AuthType {
	case SaaSAuthSAML:
		other = oidcOnly(a)
	case SaaSAuthOIDC:
		other = samlOnly(a)
	case "":
		return &api.FieldError{Field: p + "authType", Reason: "is required: \"saml\" or \"oidc\""}
	default:
		return &api.FieldError{Field: p + "authType", Reason: fmt.Sprintf("is %q; must be \"saml\" or \"oidc\"", a.AuthType)}
	}
	for _, f := range other {
		if f.set {
			return &api.FieldError{Field: p + f.field, Reason: fmt.Sprintf("is not a setting of %s SaaS applications", a.AuthType)}
		}
	}
	if a.AuthType == SaaSAuthSAML {
		return checkSAML(a)
	}
	return checkOIDC(a)
}

func checkSAML(a *api.AccessSaaSApp) *api.FieldError {
	const p = "spec.saasApp."
	switch {
	case strings.TrimSpace(a.SPEntityID) == "":
		return &api.FieldError{Field: p + "spEntityId", Reason: "is required for a SAML application"}
	case a.ConsumerServiceURL == "":
		return &api.FieldError{Field: p + "consumerServiceUrl", Reason: "is required for a SAML application"}
	}
	if fe := checkURL(p+"consumerServiceUrl", a.ConsumerServiceURL); fe != nil {
		return fe
	}
	if a.NameIDFormat != "" && !slices.Contains(nameIDFormats, a.NameIDFormat) {
		return &api.FieldError{Field: p + "nameIdFormat", Reason: fmt.Sprintf("is %q; must be \"email\" or \"id\"", a.NameIDFormat)}
	}
	names := map[string]int{}
	for i, at := range a.CustomAttributes {
		f := fmt.Sprintf("%scustomAttributes[%d]", p, i)
		switch {
		case strings.TrimSpace(at.Name) == "":
			return &api.FieldError{Field: f + ".name", Reason: "is required"}
		case at.NameFormat != "" && !slices.Contains(samlNameFormats, at.NameFormat):
			return &api.FieldError{Field: f + ".nameFormat", Reason: fmt.Sprintf("is %q; must be one of %s", at.NameFormat, strings.Join(samlNameFormats, ", "))}
		}
		if fe := checkSource(f+".source", at.Source); fe != nil {
			return fe
		}
		if j, dup := names[at.Name]; dup {
			return &api.FieldError{Field: f + ".name", Reason: fmt.Sprintf("duplicates %scustomAttributes[%d]", p, j)}
		}
		names[at.Name] = i
	}
	return nil
}

func checkOIDC(a *api.AccessSaaSApp) *api.FieldError {
	const p = "spec.saasApp."
	for i, u := range a.RedirectURIs {
		// Native applications register custom schemes (myapp://callback).
		if pu, err := url.Parse(u); err != nil || pu.Scheme == "" || strings.ContainsAny(u, " \t\r\n") {
			return &api.FieldError{Field: fmt.Sprintf("%sredirectUris[%d]", p, i), Reason: fmt.Sprintf("%q is not an absolute URI", u)}
		}
	}
	for _, l := range []struct {
		field   string
		vals    []string
		allowed []string
	}{{"grantTypes", a.GrantTypes, grantTypes}, {"scopes", a.Scopes, oidcScopes}} {
		for i, v := range l.vals {
			if !slices.Contains(l.allowed, v) {
				return &api.FieldError{Field: fmt.Sprintf("%s%s[%d]", p, l.field, i), Reason: fmt.Sprintf("is %q; must be one of %s", v, strings.Join(l.allowed, ", "))}
			}
		}
	}
	if fe := checkURL(p+"appLauncherUrl", a.AppLauncherURL); fe != nil {
		return fe
	}
	if a.GroupFilterRegex != "" {
		if _, err := regexp.Compile(a.GroupFilterRegex); err != nil {
			return &api.FieldError{Field: p + "groupFilterRegex", Reason: fmt.Sprintf("is not a regular expression: %v", err)}
		}
	}
	if v := a.AccessTokenLifetime; v != "" {
		if d, ok := lifetime(v); !ok || d < time.Minute || d > 24*time.Hour {
			return &api.FieldError{Field: p + "accessTokenLifetime", Reason: fmt.Sprintf("%q is not a duration from 1m to 24h such as \"5m\"", v)}
		}
	}
	if v := a.RefreshTokenLifetime; v != "" {
		if d, ok := lifetime(v); !ok || d <= time.Minute {
			return &api.FieldError{Field: p + "refreshTokenLifetime", Reason: fmt.Sprintf("%q is not a duration longer than 1m such as \"720h\" or \"30d\"", v)}
		}
	}
	names := map[string]int{}
	for i, c := range a.CustomClaims {
		f := fmt.Sprintf("%scustomClaims[%d]", p, i)
		switch {
		case strings.TrimSpace(c.Name) == "":
			return &api.FieldError{Field: f + ".name", Reason: "is required"}
		case c.Scope != "" && !slices.Contains(oidcScopes, c.Scope):
			return &api.FieldError{Field: f + ".scope", Reason: fmt.Sprintf("is %q; must be one of %s", c.Scope, strings.Join(oidcScopes, ", "))}
		}
		if fe := checkSource(f+".source", c.Source); fe != nil {
			return fe
		}
		if j, dup := names[c.Name]; dup {
			return &api.FieldError{Field: f + ".name", Reason: fmt.Sprintf("duplicates %scustomClaims[%d]", p, j)}
		}
		names[c.Name] = i
	}
	return nil
}

// lifetime parses a token lifetime: a Go duration, or whole days ("30d"),
// which the API takes for refresh tokens.
func lifetime(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, err == nil && n > 0
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

func checkSource(f string, s api.AccessAttributeSource) *api.FieldError {
	if strings.TrimSpace(s.Name) == "" {
		return &api.FieldError{Field: f + ".name", Reason: "is required: the identity provider attribute to take the value from"}
	}
	for idp, name := range s.NameByIdP {
		if strings.TrimSpace(idp) == "" || strings.TrimSpace(name) == "" {
			return &api.FieldError{Field: f + ".nameByIdp", Reason: "maps identity provider ids to attribute names; neither may be empty"}
		}
	}
	return nil
}

// canonicalSettings normalises st so equal meanings marshal to equal
// bytes: sets sorted, defaults (httpOnlyCookieAttribute true, a SAML
// nameIdFormat "email") written as absent, and destinations that are just
// the domain dropped.
func canonicalSettings(st api.AccessApplicationSettings) api.AccessApplicationSettings {
	st.Destinations = canonicalDestinations(st.Destinations)
	st.CustomPages = sortedSet(st.CustomPages)
	if st.HTTPOnlyCookieAttribute != nil && *st.HTTPOnlyCookieAttribute {
		st.HTTPOnlyCookieAttribute = nil
	}
	st.HTTPOnlyCookieAttribute = cloneBool(st.HTTPOnlyCookieAttribute)
	st.AllowAuthenticateViaWarp = cloneBool(st.AllowAuthenticateViaWarp)
	if st.CORSHeaders != nil {
		c := *st.CORSHeaders
		c.AllowedMethods = sortedSet(c.AllowedMethods)
		c.AllowedOrigins = sortedSet(c.AllowedOrigins)
		c.AllowedHeaders = sortedSet(c.AllowedHeaders)
		st.CORSHeaders = &c
		if zeroCORS(&c) {
			st.CORSHeaders = nil
		}
	}
	if st.SaaSApp != nil {
		st.SaaSApp = canonicalSaaS(*st.SaaSApp)
	}
	return st
}

func canonicalDestinations(ds []api.AccessDestination) []api.AccessDestination {
	if len(ds) == 0 {
		return nil
	}
	out := slices.Clone(ds)
	for i := range out {
		out[i].URI = canonicalDomain(out[i].URI)
		out[i].Hostname = strings.ToLower(out[i].Hostname)
		out[i].VnetID = strings.ToLower(out[i].VnetID)
	}
	if len(out) == 1 && out[0].Type == DestinationPublic {
		// The domain alone, which is what absent destinations mean.
		return nil
	}
	return out
}

func canonicalSaaS(a api.AccessSaaSApp) *api.AccessSaaSApp {
	if a.AuthType == SaaSAuthSAML && a.NameIDFormat == DefaultNameIDFormat {
		a.NameIDFormat = ""
	}
	a.RedirectURIs = sortedSet(a.RedirectURIs)
	a.GrantTypes = sortedSet(a.GrantTypes)
	a.Scopes = sortedSet(a.Scopes)
	a.CustomAttributes = slices.Clone(a.CustomAttributes)
	a.CustomClaims = slices.Clone(a.CustomClaims)
	if a.HybridAndImplicitOptions != nil {
		h := *a.HybridAndImplicitOptions
		a.HybridAndImplicitOptions = &h
	}
	return &a
}

func cloneBool(p *bool) *bool {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
